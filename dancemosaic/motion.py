"""A body motion on the canonical skeleton, its 139-d exchange layout, and the clip-level operations.

``Motion`` holds local joint rotations and the root trajectory (metres, y up). Its exchange layout is
FineDance's 139-d body layout: 4 foot contacts + root position (3) + 22 x 6D rotations. Operations:
forward kinematics, foot contacts, the canonical frame, resampling, mirroring, slicing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from dancemosaic import rotation, skeleton
from dancemosaic.timing import FPS

FEATURE_DIM = 4 + 3 + skeleton.NUM_BODY_JOINTS * 6  # 139
CONTACT_SPEED = 0.3  # m/s: a foot slower than this (and low enough) is planted
CONTACT_HEIGHT = 0.10  # m above the floor


@dataclass(frozen=True)
class Motion:
    """Local rotations (T, 22, 3, 3) and root (pelvis) positions (T, 3) at ``fps`` frames/s."""

    rotations: torch.Tensor
    root: torch.Tensor
    fps: float = FPS

    def __post_init__(self) -> None:
        if self.rotations.dim() != 4 or self.rotations.shape[1:] != (
            skeleton.NUM_BODY_JOINTS,
            3,
            3,
        ):
            raise ValueError(f"rotations must be (T, 22, 3, 3), got {tuple(self.rotations.shape)}")
        if self.root.shape != (self.rotations.shape[0], 3):
            raise ValueError(f"root must be (T, 3) with T = {self.rotations.shape[0]}")

    @property
    def num_frames(self) -> int:
        return self.rotations.shape[0]

    @property
    def duration(self) -> float:
        return self.num_frames / self.fps

    def joints(self) -> torch.Tensor:
        """(T, 22, 3) joint positions."""
        return skeleton.forward_kinematics(self.rotations, self.root)[0]

    def joints24(self) -> torch.Tensor:
        """(T, 24, 3) joint positions with the palms following the wrists (for export)."""
        return skeleton.forward_kinematics(with_palms(self.rotations), self.root)[0]

    def to_features(self) -> torch.Tensor:
        """(T, 139): foot contacts, root position, 6D rotations (FineDance layout)."""
        contacts = foot_contacts(self.joints(), self.fps)
        rot6d = rotation.matrix_to_rot6d(self.rotations).reshape(self.num_frames, -1)
        return torch.cat([contacts, self.root, rot6d], dim=-1)

    @classmethod
    def from_features(cls, features: torch.Tensor, fps: float = FPS) -> Motion:
        """Inverse of ``to_features`` (contacts are derived data and are dropped)."""
        if features.dim() != 2 or features.shape[1] != FEATURE_DIM:
            raise ValueError(f"features must be (T, {FEATURE_DIM}), got {tuple(features.shape)}")
        rot6d = features[:, 7:].reshape(-1, skeleton.NUM_BODY_JOINTS, 6)
        return cls(rotation.rot6d_to_matrix(rot6d), features[:, 4:7], fps)

    def slice(self, start: int, end: int) -> Motion:
        return Motion(self.rotations[start:end], self.root[start:end], self.fps)

    def to_numpy(self) -> dict[str, np.ndarray]:
        """Arrays for an npz file: 6D rotations, root, fps."""
        rot6d = rotation.matrix_to_rot6d(self.rotations)
        return {
            "rot6d": rot6d.numpy().astype(np.float32),
            "root": self.root.numpy(),
            "fps": self.fps,
        }

    @classmethod
    def from_numpy(cls, arrays: dict[str, np.ndarray]) -> Motion:
        rot6d = torch.as_tensor(np.asarray(arrays["rot6d"], dtype=np.float32))
        root = torch.as_tensor(np.asarray(arrays["root"], dtype=np.float32))
        return cls(rotation.rot6d_to_matrix(rot6d), root, float(arrays["fps"]))


def smpl_motion(poses: np.ndarray, trans: np.ndarray, fps: float) -> Motion:
    """SMPL parameters -> the 22-joint body Motion at ``fps`` (palms dropped), float64.

    poses: (T, 24, 3) axis-angle; trans: (T, 3) SMPL translation in metres. SMPL rotates the body
    about the template pelvis, so the pelvis sits at ``trans + J_pelvis`` (the canonical skeleton's
    ``REST_OFFSETS[0]``).
    """
    axis_angle = torch.as_tensor(poses[:, : skeleton.NUM_BODY_JOINTS], dtype=torch.float64)
    root = torch.as_tensor(trans, dtype=torch.float64) + skeleton.rest_offsets(torch.float64)[0]
    return Motion(rotation.axis_angle_to_matrix(axis_angle), root, fps)


def with_palms(rotations: torch.Tensor) -> torch.Tensor:
    """(..., 22, 3, 3) -> (..., 24, 3, 3): the palms get identity local rotations."""
    eye = torch.eye(3, dtype=rotations.dtype).expand(rotations.shape[:-3] + (2, 3, 3))
    return torch.cat([rotations, eye], dim=-3)


def foot_contacts(joints: torch.Tensor, fps: float, floor: torch.Tensor | None = None) -> torch.Tensor:
    """(T, J, 3) -> (T, 4) contact flags for left ankle, left toe, right ankle, right toe.

    A foot joint is planted when it moves slower than CONTACT_SPEED (EDGE's 1 cm per 30 fps frame)
    and is within CONTACT_HEIGHT of the floor: the height test stops a jump's apex, where the speed
    is momentarily zero, from counting as contact. The floor is the clip's lowest joint, or
    ``floor`` (T,) per frame.
    """
    feet = joints[:, list(skeleton.FOOT_JOINTS)]  # (T, 4, 3)
    speed = (feet[1:] - feet[:-1]).norm(dim=-1) * fps  # (T-1, 4)
    speed = torch.cat([speed, speed[-1:]], dim=0) if len(speed) else torch.zeros_like(feet[..., 0])
    floor = joints[..., 1].min() if floor is None else floor[:, None]
    low = feet[..., 1] - floor < CONTACT_HEIGHT
    return ((speed < CONTACT_SPEED) & low).to(joints.dtype)


def yaw_matrix(angle: torch.Tensor) -> torch.Tensor:
    """(...) angles (rad) -> (..., 3, 3) rotations about +y by them."""
    c, s = torch.cos(angle), torch.sin(angle)
    zero, one = torch.zeros_like(c), torch.ones_like(c)
    return torch.stack([c, zero, s, zero, one, zero, -s, zero, c], -1).reshape(*angle.shape, 3, 3)


def heading(joints: torch.Tensor) -> torch.Tensor:
    """(J, 3) one frame's joints -> the yaw angle (rad) of the body's forward direction about +y.

    Forward is perpendicular to the left-right axis through the hips and shoulders; 0 means +z.
    """
    across = joints[1] - joints[2] + joints[16] - joints[17]  # right -> left
    return torch.atan2(-across[2], across[0])


def canonicalize(motion: Motion) -> Motion:
    """Floor at y = 0, frame-0 root above the origin, frame 0 facing +z."""
    joints = motion.joints()
    yaw = yaw_matrix(-heading(joints[0])).to(motion.root)
    rotations = motion.rotations.clone()
    rotations[:, 0] = yaw @ rotations[:, 0]
    root = motion.root - motion.root[0] * torch.tensor([1.0, 0.0, 1.0])
    root = root @ yaw.T
    root[:, 1] -= joints[..., 1].min()
    return Motion(rotations, root, motion.fps)


def sample_frames(motion: Motion, positions: torch.Tensor, fps: float) -> Motion:
    """The motion at fractional frame ``positions`` (N,): slerp for rotations, linear for the root.

    Shared by resampling (evenly spaced positions) and time-warping (any monotone positions).
    """
    positions = positions.to(torch.float64).clamp(0, motion.num_frames - 1)
    lo = positions.floor().long()
    hi = (lo + 1).clamp(max=motion.num_frames - 1)
    t = (positions - lo).to(motion.root.dtype)
    quat = rotation.matrix_to_quaternion(motion.rotations)  # (T, J, 4)
    t_j = t[:, None].expand(-1, quat.shape[1])
    rotations = rotation.quaternion_to_matrix(rotation.slerp(quat[lo], quat[hi], t_j))
    root = motion.root[lo] * (1 - t[:, None]) + motion.root[hi] * t[:, None]
    return Motion(rotations, root, fps)


def resample(motion: Motion, fps: float = FPS) -> Motion:
    """Resample to ``fps``, keeping the duration."""
    if abs(motion.fps - fps) < 1e-6:
        return motion
    num_out = max(1, int(round(motion.duration * fps)))
    return sample_frames(motion, torch.arange(num_out, dtype=torch.float64) * motion.fps / fps, fps)


def mirror(motion: Motion) -> Motion:
    """The same motion performed with left and right swapped (reflection about x = 0)."""
    rotations = skeleton.mirror_rotations(motion.rotations)
    return Motion(rotations, skeleton.reflect_x(motion.root), motion.fps)
