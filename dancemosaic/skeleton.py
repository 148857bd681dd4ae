"""The canonical SMPL body skeleton: joint tree, rest offsets, forward kinematics, body parts, mirroring.

Facts from ``shared/reference/smpl_skeleton.md``: 24 joints, y up, metres, T-pose rest facing +z.
The first 22 joints are generated; the two palms (22, 23) follow the wrists for export.
"""

from __future__ import annotations

import torch

JOINT_NAMES = (
    "pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2",
    "left_ankle", "right_ankle", "spine3", "left_foot", "right_foot", "neck", "left_collar",
    "right_collar", "head", "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
    "left_wrist", "right_wrist", "left_hand", "right_hand",
)  # fmt: skip
PARENTS = (-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21)
NUM_JOINTS = 24
NUM_BODY_JOINTS = 22  # the joints the model generates
JOINT_INDEX = {name: i for i, name in enumerate(JOINT_NAMES)}

# Each joint's position relative to its parent in the rest pose (metres); the root row is the
# pelvis position in the SMPL template frame.
REST_OFFSETS = (
    (-0.001795, -0.223333, +0.028219), (+0.069520, -0.091406, -0.006815),
    (-0.067670, -0.090522, -0.004320), (-0.002533, +0.108963, -0.026696),
    (+0.034277, -0.375199, -0.004496), (-0.038290, -0.382569, -0.008850),
    (+0.005487, +0.135180, +0.001092), (-0.013596, -0.397960, -0.043693),
    (+0.015774, -0.398415, -0.042312), (+0.001457, +0.052922, +0.025425),
    (+0.026358, -0.055791, +0.119288), (-0.025372, -0.048144, +0.123348),
    (-0.002778, +0.213870, -0.042857), (+0.078845, +0.121749, -0.034090),
    (-0.081759, +0.118833, -0.038615), (+0.005152, +0.064970, +0.051349),
    (+0.090977, +0.030469, -0.008868), (-0.096012, +0.032551, -0.009143),
    (+0.259612, -0.012772, -0.027456), (-0.253742, -0.013329, -0.021401),
    (+0.249234, +0.008986, -0.001171), (-0.255298, +0.007772, -0.005559),
    (+0.084042, -0.008162, -0.014945), (-0.084622, -0.006117, -0.010315),
)  # fmt: skip

FOOT_JOINTS = (7, 10, 8, 11)  # left ankle, left toe, right ankle, right toe: the contact channels
MIRROR_PAIRS = ((1, 2), (4, 5), (7, 8), (10, 11), (13, 14), (16, 17), (18, 19), (20, 21), (22, 23))

BODY_PARTS = {
    "lower_body": (0, 1, 2, 4, 5, 7, 8, 10, 11),
    "upper_body": (3, 6, 9, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23),
    "left_arm": (13, 16, 18, 20, 22),
    "right_arm": (14, 17, 19, 21, 23),
    "arms": (13, 16, 18, 20, 22, 14, 17, 19, 21, 23),
    "left_leg": (1, 4, 7, 10),
    "right_leg": (2, 5, 8, 11),
    "legs": (1, 4, 7, 10, 2, 5, 8, 11),
    "head": (12, 15),
    "root_trajectory": (0,),
}


def rest_offsets(dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """(24, 3) rest offsets as a tensor."""
    return torch.tensor(REST_OFFSETS, dtype=dtype)


def rest_pose_joints(dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """(24, 3) joint positions of the T-pose, pelvis at the template's pelvis position."""
    offsets = rest_offsets(dtype)
    positions = [offsets[0]]
    for j in range(1, NUM_JOINTS):
        positions.append(positions[PARENTS[j]] + offsets[j])
    return torch.stack(positions)


def bone_lengths(offsets: torch.Tensor | None = None) -> torch.Tensor:
    """(24,) length of the bone from each joint's parent to the joint (root: 0)."""
    offsets = rest_offsets() if offsets is None else offsets
    lengths = offsets.norm(dim=-1)
    lengths[0] = 0.0
    return lengths


def forward_kinematics(
    local_rotations: torch.Tensor,
    root_position: torch.Tensor,
    offsets: torch.Tensor | None = None,
    parents: tuple[int, ...] = PARENTS,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Joint positions and global rotations from local rotations.

    local_rotations: (..., J, 3, 3) each joint's rotation relative to its parent (J <= 24: a
    22-joint body drops the palms). root_position: (..., 3) world position of joint 0.
    Returns positions (..., J, 3) and global rotations (..., J, 3, 3).
    """
    num_joints = local_rotations.shape[-3]
    offsets = rest_offsets(local_rotations.dtype) if offsets is None else offsets
    offsets = offsets.to(local_rotations)[:num_joints, :, None]  # (J, 3, 1)
    # One unbind instead of a select per joint: each select's backward writes a zero tensor the
    # size of the whole input, which made the backward pass quadratic in the number of joints.
    local = local_rotations.unbind(-3)
    global_rot = [local[0]]
    positions = [root_position]
    for j in range(1, num_joints):
        parent = parents[j]
        positions.append(positions[parent] + (global_rot[parent] @ offsets[j])[..., 0])
        global_rot.append(global_rot[parent] @ local[j])
    return torch.stack(positions, dim=-2), torch.stack(global_rot, dim=-3)


def mirror_permutation(num_joints: int = NUM_JOINTS) -> list[int]:
    """Index list that swaps left and right joints."""
    perm = list(range(num_joints))
    for left, right in MIRROR_PAIRS:
        if right < num_joints:
            perm[left], perm[right] = right, left
    return perm


_REFLECT_X = torch.diag(torch.tensor([-1.0, 1.0, 1.0]))


def mirror_rotations(local_rotations: torch.Tensor) -> torch.Tensor:
    """(..., J, 3, 3) -> mirrored about the x = 0 plane: M R M with M = diag(-1, 1, 1), left<->right.

    In axis-angle terms this negates the y and z components, as the reference states.
    """
    reflect = _REFLECT_X.to(local_rotations)
    mirrored = reflect @ local_rotations @ reflect
    return mirrored[..., mirror_permutation(local_rotations.shape[-3]), :, :]


def reflect_x(points: torch.Tensor) -> torch.Tensor:
    """(..., 3) points reflected about the x = 0 plane (no joint swap: use for root trajectories)."""
    return points * torch.tensor([-1.0, 1.0, 1.0], dtype=points.dtype, device=points.device)


def mirror_joint_positions(joints: torch.Tensor) -> torch.Tensor:
    """(..., J, 3) joint positions reflected about x = 0 with left and right joints swapped."""
    return reflect_x(joints)[..., mirror_permutation(joints.shape[-2]), :]


def parse_joints(names: list[str] | tuple[str, ...]) -> list[int]:
    """Joint indices from joint or body-part names; raises on unknown names, listing the valid ones."""
    indices: list[int] = []
    for name in names:
        key = name.strip().lower().replace(" ", "_")
        if key in BODY_PARTS:
            indices.extend(BODY_PARTS[key])
        elif key in JOINT_INDEX:
            indices.append(JOINT_INDEX[key])
        else:
            valid = ", ".join(list(BODY_PARTS) + list(JOINT_NAMES))
            raise ValueError(f"Unknown joint or body part {name!r}; use one of: {valid}")
    return sorted(set(indices))
