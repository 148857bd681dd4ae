"""The per-frame motion features the networks see, and back to a ``Motion``.

Layout (139 channels, FineDance-sized): root height (1), root horizontal velocity in metres per
second (2: x, z), 22 x 6D local rotations (132), foot contacts (4). Velocity instead of absolute
position makes the features independent of where on the floor a window starts, so windows of a
long song can be generated and stitched; positions come back by integrating from a start point.
"""

from __future__ import annotations

import torch

from dancemosaic import rotation, skeleton
from dancemosaic.motion import Motion, foot_contacts

NUM_JOINTS = skeleton.NUM_BODY_JOINTS
ROOT_HEIGHT = slice(0, 1)
ROOT_VELOCITY = slice(1, 3)
ROTATIONS = slice(3, 3 + NUM_JOINTS * 6)
CONTACTS = slice(3 + NUM_JOINTS * 6, 7 + NUM_JOINTS * 6)
FEATURE_DIM = CONTACTS.stop  # 139


def motion_to_features(motion: Motion) -> torch.Tensor:
    """Motion -> (T, FEATURE_DIM); the last frame repeats the previous velocity."""
    root = motion.root
    velocity = (root[1:, [0, 2]] - root[:-1, [0, 2]]) * motion.fps  # (T-1, 2)
    velocity = torch.cat([velocity, velocity[-1:]], dim=0) if len(velocity) else root[:, [0, 2]] * 0
    rot6d = rotation.matrix_to_rot6d(motion.rotations).reshape(motion.num_frames, -1)
    contacts = foot_contacts(motion.joints(), motion.fps)
    return torch.cat([root[:, 1:2], velocity, rot6d, contacts], dim=-1)


def features_to_motion(features: torch.Tensor, fps: float, start: torch.Tensor | None = None) -> Motion:
    """(T, FEATURE_DIM) -> Motion whose root starts at ``start`` (x, z; default the origin)."""
    rotations, root = features_to_rotations_root(features, fps, start)
    return Motion(rotations, root, fps)


def features_to_rotations_root(
    features: torch.Tensor, fps: float, start: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """(..., T, FEATURE_DIM) -> local rotations (..., T, 22, 3, 3) and root (..., T, 3).

    Differentiable, batched: the training losses run forward kinematics on decoded features.
    """
    rotations = rotation.rot6d_to_matrix(features[..., ROTATIONS].unflatten(-1, (NUM_JOINTS, 6)))
    steps = features[..., ROOT_VELOCITY] / fps  # (..., T, 2)
    horizontal = torch.cumsum(steps, dim=-2) - steps  # frame 0 sits at the start point
    if start is not None:
        horizontal = horizontal + start.to(horizontal)
    root = torch.stack([horizontal[..., 0], features[..., 0], horizontal[..., 1]], dim=-1)
    return rotations, root


def joints_from_features(features: torch.Tensor, fps: float) -> torch.Tensor:
    """(..., T, FEATURE_DIM) -> (..., T, 22, 3) joint positions, differentiable."""
    rotations, root = features_to_rotations_root(features, fps)
    return skeleton.forward_kinematics(rotations, root)[0]
