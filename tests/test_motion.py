"""Motion: the 139-d exchange layout, the canonical frame, resampling, foot contacts, mirroring."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from dancemosaic import motion as motion_ops
from dancemosaic import rotation, skeleton
from dancemosaic.motion import FEATURE_DIM, Motion

LEFT_FEET, RIGHT_FEET = [0, 1], [2, 3]  # columns of foot_contacts: (left ankle, left toe, right ...)


def yaw_matrix(radians: float) -> torch.Tensor:
    return rotation.axis_angle_to_matrix(torch.tensor([0.0, radians, 0.0]))


def turned(motion: Motion, radians: float, shift: tuple[float, float, float]) -> Motion:
    """The same performance turned about +y by ``radians`` and moved by ``shift`` (metres)."""
    yaw = yaw_matrix(radians)
    rotations = motion.rotations.clone()
    rotations[:, 0] = yaw @ rotations[:, 0]
    return Motion(rotations, motion.root @ yaw.T + torch.tensor(shift), motion.fps)


def standing(frames: int = 30) -> Motion:
    """Rest pose held still with the lowest joint (a toe) on the floor."""
    rest = skeleton.rest_pose_joints()[: skeleton.NUM_BODY_JOINTS]
    root = torch.tensor([0.0, float(rest[0, 1] - rest[:, 1].min()), 0.0]).repeat(frames, 1)
    return Motion(torch.eye(3).repeat(frames, skeleton.NUM_BODY_JOINTS, 1, 1), root)


def with_left_hip(motion: Motion, axis_angle: torch.Tensor) -> Motion:
    """``motion`` with the left hip's local rotation replaced by (T, 3) axis-angles."""
    rotations = motion.rotations.clone()
    rotations[:, skeleton.JOINT_INDEX["left_hip"]] = rotation.axis_angle_to_matrix(axis_angle)
    return Motion(rotations, motion.root, motion.fps)


def assert_same_motion(a: Motion, b: Motion, atol: float = 1e-5) -> None:
    assert a.num_frames == b.num_frames and a.fps == b.fps
    torch.testing.assert_close(a.rotations, b.rotations, atol=atol, rtol=0)
    torch.testing.assert_close(a.root, b.root, atol=atol, rtol=0)


def original_heading(motion: Motion) -> float:
    return float(motion_ops.heading(motion.joints()[0]))


# ----------------------------------------------------------------------------- construction and layout
def test_motion_validates_shapes() -> None:
    with pytest.raises(ValueError, match="rotations"):
        Motion(torch.eye(3).repeat(5, 24, 1, 1), torch.zeros(5, 3))
    with pytest.raises(ValueError, match="root"):
        Motion(torch.eye(3).repeat(5, 22, 1, 1), torch.zeros(4, 3))
    with pytest.raises(ValueError, match="139"):
        Motion.from_features(torch.zeros(5, 151))


def test_features_round_trip(make_motion) -> None:
    motion = make_motion(frames=40, seed=1)
    features = motion.to_features()
    assert FEATURE_DIM == 139 and features.shape == (40, 139)
    torch.testing.assert_close(features[:, 4:7], motion.root)
    torch.testing.assert_close(features[:, 7:13], motion.rotations[:, 0, :2].reshape(40, 6))
    assert set(features[:, :4].unique().tolist()) <= {0.0, 1.0}
    back = Motion.from_features(features)
    assert_same_motion(back, motion)
    torch.testing.assert_close(back.to_features(), features, atol=1e-5, rtol=0)


def test_from_features_projects_noisy_6d_onto_rotations(make_motion) -> None:
    features = make_motion(frames=10, seed=2).to_features()
    noisy = features + torch.randn(features.shape, generator=torch.Generator().manual_seed(0)) * 0.05
    rotations = Motion.from_features(noisy).rotations
    eye = torch.eye(3).expand_as(rotations)
    torch.testing.assert_close(rotations @ rotations.transpose(-1, -2), eye, atol=1e-5, rtol=0)


def test_numpy_round_trip_and_slice(make_motion) -> None:
    motion = make_motion(frames=20, seed=3, fps=60.0)
    arrays = motion.to_numpy()
    assert arrays["rot6d"].shape == (20, 22, 6) and arrays["rot6d"].dtype == np.float32
    assert_same_motion(Motion.from_numpy(arrays), motion)
    part = motion.slice(5, 12)
    assert part.num_frames == 7 and part.fps == 60.0
    torch.testing.assert_close(part.joints(), motion.joints()[5:12])


def test_joints24_adds_palms_that_follow_the_wrists(make_motion) -> None:
    motion = make_motion(frames=8, seed=4)
    joints, joints24 = motion.joints(), motion.joints24()
    assert joints.shape == (8, 22, 3) and joints24.shape == (8, 24, 3)
    torch.testing.assert_close(joints24[:, :22], joints)
    palm = (joints24[:, 22:] - joints24[:, 20:22]).norm(dim=-1)
    torch.testing.assert_close(palm, skeleton.bone_lengths()[22:].expand(8, 2))


# ----------------------------------------------------------------------------- canonical frame
def test_heading_of_a_turned_rest_pose() -> None:
    rest = skeleton.rest_pose_joints()
    base = float(motion_ops.heading(rest))
    assert abs(base) < 0.01  # the T-pose faces +z (up to SMPL's slight asymmetry)
    for angle in (0.5, -2.0, 3.0):
        assert float(motion_ops.heading(rest @ yaw_matrix(angle).T)) == pytest.approx(base + angle, abs=1e-5)


@pytest.mark.parametrize("yaw", [0.0, 1.3, -2.9, math.pi - 0.01])
def test_canonicalize_puts_the_motion_in_the_canonical_frame(make_motion, yaw: float) -> None:
    original = make_motion(frames=30, seed=5)
    moved = turned(original, yaw, (3.0, 0.7, -1.5))
    canonical = motion_ops.canonicalize(moved)
    joints = canonical.joints()
    assert abs(float(joints[..., 1].min())) < 1e-5
    torch.testing.assert_close(canonical.root[0, [0, 2]], torch.zeros(2), atol=1e-5, rtol=0)
    assert abs(float(motion_ops.heading(joints[0]))) < 1e-4
    # Canonicalising removes exactly the yaw and shift: every variant lands on the same motion.
    assert_same_motion(canonical, motion_ops.canonicalize(original), atol=1e-4)
    # The body itself is untouched: only the root's rotation changes.
    torch.testing.assert_close(canonical.rotations[:, 1:], moved.rotations[:, 1:])
    canonical_rel = joints - joints[:, :1]
    moved_rel = (moved.joints() - moved.joints()[:, :1]) @ yaw_matrix(-yaw - original_heading(original)).T
    torch.testing.assert_close(canonical_rel, moved_rel, atol=1e-5, rtol=0)


# ----------------------------------------------------------------------------- resampling
def test_resample_60_to_30_keeps_duration_and_samples_every_other_frame(make_motion) -> None:
    motion = make_motion(frames=120, seed=6, fps=60.0)
    half = motion_ops.resample(motion, 30)
    assert half.fps == 30 and half.num_frames == 60
    assert half.duration == pytest.approx(motion.duration)
    torch.testing.assert_close(half.rotations, motion.rotations[::2], atol=1e-6, rtol=0)
    torch.testing.assert_close(half.root, motion.root[::2], atol=1e-6, rtol=0)


def test_resample_to_the_same_rate_is_a_no_op(make_motion) -> None:
    motion = make_motion(frames=12, seed=7)
    assert motion_ops.resample(motion, 30) is motion


def test_resample_up_interpolates_between_frames(make_motion) -> None:
    motion = make_motion(frames=20, seed=8, fps=30.0)
    double = motion_ops.resample(motion, 60)
    assert double.num_frames == 40 and double.duration == pytest.approx(motion.duration)
    torch.testing.assert_close(double.rotations[::2], motion.rotations, atol=1e-6, rtol=0)
    torch.testing.assert_close(
        double.root[1:-1:2], (motion.root[:-1] + motion.root[1:]) / 2, atol=1e-6, rtol=0
    )
    # An in-between rotation lies halfway (in angle) between its neighbours.
    quat = rotation.matrix_to_quaternion(motion.rotations)
    mid = rotation.matrix_to_quaternion(double.rotations[1:-1:2])
    gap = (quat[:-1] * quat[1:]).sum(-1).abs().clamp(max=1).acos()
    half_gap = (quat[:-1] * mid).sum(-1).abs().clamp(max=1).acos()
    torch.testing.assert_close(half_gap, gap / 2, atol=1e-3, rtol=0)


def test_sample_frames_clamps_and_interpolates_the_root(make_motion) -> None:
    motion = make_motion(frames=10, seed=9)
    out = motion_ops.sample_frames(motion, torch.tensor([-3.0, 2.25, 9.0, 40.0]), fps=30)
    expected = torch.stack(
        [motion.root[0], 0.75 * motion.root[2] + 0.25 * motion.root[3], motion.root[9], motion.root[9]]
    )
    torch.testing.assert_close(out.root, expected, atol=1e-6, rtol=0)
    torch.testing.assert_close(out.rotations[[0, 2, 3]], motion.rotations[[0, 9, 9]], atol=1e-6, rtol=0)


# ----------------------------------------------------------------------------- foot contacts
def test_standing_still_is_in_contact() -> None:
    motion = standing()
    contacts = motion_ops.foot_contacts(motion.joints(), motion.fps)
    assert contacts.shape == (30, 4) and (contacts == 1).all()


def test_a_lifted_foot_is_not_in_contact() -> None:
    motion = with_left_hip(standing(), torch.tensor([-1.0, 0.0, 0.0]).repeat(30, 1))  # knee up, held
    contacts = motion_ops.foot_contacts(motion.joints(), motion.fps)
    assert (contacts[:, LEFT_FEET] == 0).all() and (contacts[:, RIGHT_FEET] == 1).all()


def test_a_fast_foot_near_the_floor_is_not_in_contact() -> None:
    t = torch.linspace(-0.25, 0.25, 30)
    swing = torch.stack([t, 0 * t, 0 * t], dim=-1)  # the leg sweeps forward at a steady 0.4 m/s
    motion = with_left_hip(standing(), swing)
    joints = motion.joints()
    assert joints[:, 7, 1].max() < motion_ops.CONTACT_HEIGHT  # it stays low ...
    contacts = motion_ops.foot_contacts(joints, motion.fps)
    assert (contacts[:, LEFT_FEET] == 0).all()  # ... but it slides, so it is not planted
    assert (contacts[:, RIGHT_FEET] == 1).all()


def test_the_apex_of_a_jump_is_not_contact() -> None:
    motion = standing(31)
    t = torch.arange(31.0) / 30
    lift = torch.clamp(0.5 - 4.0 * (t - 0.5) ** 2, min=0.0)  # airborne from 0.15 s to 0.85 s, apex 0.5 m
    jump = Motion(motion.rotations, motion.root + lift[:, None] * torch.tensor([0.0, 1.0, 0.0]))
    contacts = motion_ops.foot_contacts(jump.joints(), jump.fps)
    assert (contacts[14:17] == 0).all()  # at the apex the feet barely move but are high
    assert (contacts[:3] == 1).all() and (contacts[-3:] == 1).all()


# ----------------------------------------------------------------------------- mirroring
def test_mirroring_a_motion_twice_is_the_identity(make_motion) -> None:
    motion = make_motion(frames=15, seed=10)
    assert_same_motion(motion_ops.mirror(motion_ops.mirror(motion)), motion, atol=1e-6)


def test_mirror_swaps_sides_and_reflects_the_trajectory(make_motion) -> None:
    motion = make_motion(frames=15, seed=11)
    mirrored = motion_ops.mirror(motion)
    torch.testing.assert_close(mirrored.root, motion.root * torch.tensor([-1.0, 1.0, 1.0]))
    error = (mirrored.joints() - skeleton.mirror_joint_positions(motion.joints())).norm(dim=-1)
    assert error.max() < 0.05  # only SMPL's slight rest asymmetry separates them
    # A raised left knee becomes a raised right knee.
    lifted = motion_ops.mirror(with_left_hip(standing(), torch.tensor([-1.0, 0.0, 0.0]).repeat(30, 1)))
    contacts = motion_ops.foot_contacts(lifted.joints(), lifted.fps)
    assert (contacts[:, RIGHT_FEET] == 0).all() and (contacts[:, LEFT_FEET] == 1).all()
