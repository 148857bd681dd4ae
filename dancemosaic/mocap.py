"""Motion capture import and export: joint maps for known rigs, retargeting onto the canonical skeleton.

Retargeting by bone directions: each canonical joint gets the global rotation that points its
bones where the source's corresponding bones point. The twist about a bone comes from the source
joint's own rotation (aligned once, in a reference pose), then a per-frame correction makes the
bone directions exact (one child: the shortest rotation; several: a least-squares Kabsch fit).
The root trajectory is scaled by the ratio of leg lengths, which also converts the rig's units.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path

import torch

from dancemosaic import bvh as bvh_format
from dancemosaic import motion as motion_ops
from dancemosaic import rotation, skeleton
from dancemosaic.motion import Motion
from dancemosaic.rigs import RIGS, Rig, detect_rig
from dancemosaic.timing import FPS

log = logging.getLogger(__name__)
BODY = skeleton.NUM_BODY_JOINTS
CHILDREN = {j: [c for c in range(1, BODY) if skeleton.PARENTS[c] == j] for j in range(BODY)}


@dataclass(frozen=True)
class RetargetReport:
    """How closely the canonical bones follow the source's: angles in degrees, positions in mm."""

    rig: str
    bone_error_median_deg: float  # all 21 bones, all frames
    bone_error_max_deg: float
    # Bones out of a joint with one child follow the source exactly; the others (pelvis to hips,
    # chest to collars) are a least-squares fit, off by the rigs' differing rest geometry.
    limb_error_max_deg: float
    joint_error_mean_mm: float
    scale: float  # metres per source unit, from the leg-length ratio


def _shortest_rotation(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(..., 3) unit vectors -> (..., 3, 3) the smallest rotation taking a to b."""
    axis = torch.cross(a, b, dim=-1)
    sin = axis.norm(dim=-1, keepdim=True)
    cos = (a * b).sum(-1, keepdim=True)
    # Opposite vectors: any axis perpendicular to a works; pick one that is never parallel to it.
    fallback = torch.cross(a, torch.where(a[..., :1].abs() < 0.9, _unit(0, a), _unit(1, a)), dim=-1)
    opposite = (sin < 1e-9) & (cos < 0)
    axis = torch.where(opposite, fallback, axis)
    axis = axis / axis.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    return rotation.axis_angle_to_matrix(axis * torch.atan2(sin, cos))


def _unit(axis: int, like: torch.Tensor) -> torch.Tensor:
    e = torch.zeros_like(like)
    e[..., axis] = 1.0
    return e


def _kabsch(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(..., N, 3) directions -> (..., 3, 3) rotation R minimising sum |R a_i - b_i|^2."""
    h = a.transpose(-1, -2) @ b  # (..., 3, 3)
    u, _, vt = torch.linalg.svd(h)
    d = torch.sign(torch.det(vt.transpose(-1, -2) @ u.transpose(-1, -2)))
    fix = torch.diag_embed(torch.stack([torch.ones_like(d), torch.ones_like(d), d], dim=-1))
    return vt.transpose(-1, -2) @ fix @ u.transpose(-1, -2)


def _align(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Rotation taking directions a (..., N, 3) onto b: exact for one direction, Kabsch for more."""
    a = a / a.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    b = b / b.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    if a.shape[-2] == 1:
        return _shortest_rotation(a[..., 0, :], b[..., 0, :])
    return _kabsch(a, b)


def _mapped(values: torch.Tensor, rig: Rig, index: dict[str, int]) -> torch.Tensor:
    """(F, Js, 3) source positions -> (F, 22, 3) positions of the canonical joints."""
    columns = [values[:, [index[n] for n in names]].mean(dim=1) for names in rig.positions]
    return torch.stack(columns, dim=1)


def _pitch_feet(positions: torch.Tensor, degrees: float) -> torch.Tensor:
    """Raise each toe joint by ``degrees`` about the ankle, in the plane of the shin and the foot."""
    if degrees == 0:
        return positions
    out = positions.clone()
    for knee, ankle, toe in ((4, 7, 10), (5, 8, 11)):
        shin = positions[:, ankle] - positions[:, knee]
        foot = positions[:, toe] - positions[:, ankle]
        lateral = torch.cross(shin, foot, dim=-1)
        lateral = lateral / lateral.norm(dim=-1, keepdim=True).clamp_min(1e-12)
        turn = rotation.axis_angle_to_matrix(lateral * math.radians(degrees))
        out[:, toe] = positions[:, ankle] + (turn @ foot[..., None])[..., 0]
    return out


def retarget(source: bvh_format.Bvh, rig: Rig) -> tuple[Motion, RetargetReport]:
    """Source BVH -> canonical Motion at the source frame rate (not yet resampled or canonicalised)."""
    index = {name: i for i, name in enumerate(source.names)}
    missing = sorted({n for names in rig.positions for n in names} - set(index))
    if missing:
        raise ValueError(f"The BVH lacks joints that the {rig.name} rig map needs: {missing}")
    frames = source.frames[int(rig.first_frame_is_tpose) :]
    if len(frames) < 2:
        raise ValueError("The BVH holds fewer than two frames of motion")
    reference = source.frames[:1] if rig.first_frame_is_tpose else bvh_format.rest_frame(source)
    ref_pos, ref_rot = bvh_format.forward_kinematics(source, reference)
    src_pos, src_rot = bvh_format.forward_kinematics(source, frames)
    target = _pitch_feet(_mapped(src_pos, rig, index), rig.foot_pitch_deg)  # (F, 22, 3)
    target_ref = _pitch_feet(_mapped(ref_pos, rig, index), rig.foot_pitch_deg)[0]  # (22, 3)
    rot_src = [index[n] for n in rig.rotation_sources]
    global_rot = _global_rotations(src_rot[:, rot_src], ref_rot[0, rot_src], target, target_ref)
    scale = _leg_length(skeleton.rest_pose_joints(torch.float64)) / _leg_length(target_ref)
    local = _local_rotations(global_rot)
    result = Motion(local.float(), (target[:, 0] * scale).float(), _snap_fps(source.fps))
    return result, _report(rig.name, result, target, scale)


def _global_rotations(
    src_rot: torch.Tensor, ref_rot: torch.Tensor, target: torch.Tensor, target_ref: torch.Tensor
) -> torch.Tensor:
    """(F, 22, 3, 3) canonical global rotations; see the module docstring for the method."""
    rest = skeleton.rest_offsets(torch.float64)
    out: list[torch.Tensor | None] = [None] * BODY
    alignment: list[torch.Tensor | None] = [None] * BODY
    for j in range(BODY):  # parents come before children
        kids = CHILDREN[j]
        if not kids:
            continue
        # Align the canonical rest bones with the source joint's frame in the reference pose.
        local_dirs = (target_ref[kids] - target_ref[j]) @ ref_rot[j]  # = R_ref^T (child - joint)
        alignment[j] = _align(rest[kids], local_dirs)
        guess = src_rot[:, j] @ alignment[j]  # (F, 3, 3)
        posed = (guess[:, None] @ rest[kids][None, :, :, None])[..., 0]  # (F, K, 3)
        correction = _align(posed, target[:, kids] - target[:, j : j + 1])
        out[j] = correction @ guess
    for j in range(1, BODY):
        if out[j] is None:  # a leaf: keep its rotation relative to its parent as in the source
            p = skeleton.PARENTS[j]
            leaf_align = ref_rot[j].T @ ref_rot[p] @ alignment[p]
            source_relative = out[p] @ (src_rot[:, p] @ alignment[p]).transpose(-1, -2)
            out[j] = source_relative @ src_rot[:, j] @ leaf_align
    return torch.stack(out, dim=1)


def _local_rotations(global_rot: torch.Tensor) -> torch.Tensor:
    parents = [p if p >= 0 else 0 for p in skeleton.PARENTS[:BODY]]
    local = global_rot[:, parents].transpose(-1, -2) @ global_rot
    local[:, 0] = global_rot[:, 0]
    return local


def _leg_length(positions: torch.Tensor) -> float:
    """Mean hip-knee-ankle length of both legs in a (22, 3) pose."""
    left = (positions[4] - positions[1]).norm() + (positions[7] - positions[4]).norm()
    right = (positions[5] - positions[2]).norm() + (positions[8] - positions[5]).norm()
    return float(left + right) / 2


def _snap_fps(fps: float) -> float:
    """Files store 1/120 s as 0.008333: snap to the integer rate it stands for."""
    return float(round(fps)) if abs(fps - round(fps)) < 1e-3 * fps else fps


def _bone_directions(joints: torch.Tensor) -> torch.Tensor:
    parents = list(skeleton.PARENTS[1:BODY])
    bones = joints[:, 1:BODY] - joints[:, parents]
    return bones / bones.norm(dim=-1, keepdim=True).clamp_min(1e-9)


def _report(rig: str, result: Motion, target: torch.Tensor, scale: float) -> RetargetReport:
    joints = result.joints().double()
    cos = (_bone_directions(joints) * _bone_directions(target)).sum(-1).clamp(-1, 1)
    angles = torch.rad2deg(torch.acos(cos))  # (F, 21)
    limbs = [c - 1 for c in range(1, BODY) if len(CHILDREN[skeleton.PARENTS[c]]) == 1]
    rel = joints - joints[:, :1]
    rel_target = (target - target[:, :1]) * scale
    error_mm = (rel - rel_target).norm(dim=-1).mean() * 1000
    return RetargetReport(
        rig,
        float(angles.median()),
        float(angles.max()),
        float(angles[:, limbs].max()),
        float(error_mm),
        scale,
    )


def import_bvh(path: str | Path, rig: str | None = None, fps: float = FPS) -> tuple[Motion, RetargetReport]:
    """Any supported BVH -> canonical Motion at ``fps`` in the canonical frame, with its report."""
    source = bvh_format.read_bvh(path)
    spec = RIGS[rig] if rig else detect_rig(source.names)
    retargeted, report = retarget(source, spec)
    return motion_ops.canonicalize(motion_ops.resample(retargeted, fps)), report


# End sites give the leaf bones a length so that Blender and other tools draw them.
_END_SITES = {"head": (0.0, 0.10, 0.0), "left_foot": (0.0, -0.02, 0.05),
              "right_foot": (0.0, -0.02, 0.05), "left_hand": (0.08, 0.0, 0.0),
              "right_hand": (-0.08, 0.0, 0.0)}  # fmt: skip
_ROOT_CHANNELS = ("Xposition", "Yposition", "Zposition", "Zrotation", "Yrotation", "Xrotation")
_JOINT_CHANNELS = ("Zrotation", "Yrotation", "Xrotation")


def motion_to_bvh(motion: Motion) -> bvh_format.Bvh:
    """The motion on the canonical 24-joint skeleton (metres, y up) as a BVH."""
    joints: list[bvh_format.BvhJoint] = []
    offsets = skeleton.REST_OFFSETS
    for j, name in enumerate(skeleton.JOINT_NAMES):
        parent = skeleton.PARENTS[j]
        offset = (0.0, 0.0, 0.0) if j == 0 else offsets[j]
        channels = _ROOT_CHANNELS if j == 0 else _JOINT_CHANNELS
        joints.append(bvh_format.BvhJoint(name, parent, offset, channels))
    for name, offset in _END_SITES.items():
        joints.append(bvh_format.BvhJoint(f"{name}_End", skeleton.JOINT_INDEX[name], offset, ()))
    euler = rotation.matrix_to_euler(motion_ops.with_palms(motion.rotations).double(), "ZYX")
    frames = torch.cat([motion.root.double(), euler.reshape(motion.num_frames, -1)], dim=-1)
    return bvh_format.Bvh(tuple(joints), 1.0 / motion.fps, frames.numpy())


def export_bvh(motion: Motion, path: str | Path) -> Path:
    return bvh_format.write_bvh(motion_to_bvh(motion), path)
