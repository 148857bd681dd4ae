"""Splicing regenerated frames into a dance: nothing moves outside the span, kept joints stay put in
world space, the root path rejoins the old one and the borders join without a jump."""

from __future__ import annotations

import pytest
import torch

from dancemosaic import rotation, skeleton
from dancemosaic import splice as splicing
from dancemosaic.motion import Motion
from dancemosaic.skeleton import BODY_PARTS, JOINT_INDEX
from dancemosaic.splice import (
    BLEND_FRAMES,
    FADE_JUMP,
    border_jump_ratio,
    carry,
    joint_drift,
    kinematic_chain,
    speed_jumps,
    splice,
)
from dancemosaic.timing import FPS


def decoded_again(old: Motion, new: Motion, start: int, end: int) -> Motion:
    """What a new decoding looks like: the old motion, off by a small rotation on every joint and
    shifted on the floor (the root path is integrated from velocities), with ``new``'s moves inside
    [start, end) joined smoothly to the old ones over 10 frames each side."""
    weight = torch.zeros(old.num_frames)
    ramp = torch.linspace(0, 1, 12)[1:-1]
    weight[start : start + 10], weight[start + 10 : end - 10], weight[end - 10 : end] = ramp, 1, ramp.flip(0)
    quat = rotation.slerp(
        rotation.matrix_to_quaternion(old.rotations), rotation.matrix_to_quaternion(new.rotations),
        weight[:, None].expand(-1, 22),
    )  # fmt: skip
    nudge = rotation.axis_angle_to_matrix(torch.full((22, 3), 0.08))
    steps = [
        torch.diff(m.root, dim=0, prepend=m.root[:1]) * torch.tensor([1.0, 0.0, 1.0]) for m in (old, new)
    ]
    velocity = steps[0] + weight[:, None] * (steps[1] - steps[0])
    root = torch.cumsum(velocity, 0) + torch.tensor([0.3, 0.0, -0.2])  # drifts off from the start
    root[:, 1] = old.root[:, 1] + weight * (new.root[:, 1] - old.root[:, 1]) + 0.02
    return Motion(nudge @ rotation.quaternion_to_matrix(quat), root)


def swaying(frames: int, seed: int) -> Motion:
    """A smooth dance-like motion: every joint swings at 0.5-2 Hz, the root wanders slowly."""
    gen = torch.Generator().manual_seed(seed)
    t = torch.arange(frames, dtype=torch.float32)[:, None, None] / FPS  # (T, 1, 1)
    hertz, phase = 0.5 + 1.5 * torch.rand(2, 22, 3, generator=gen)
    angles = 0.4 * torch.sin(2 * torch.pi * hertz * t + 6.3 * phase)  # (T, 22, 3)
    path = torch.cat([torch.sin(t[:, 0] * hertz[0, :1] * 2), 0.05 * torch.sin(t[:, 0] * 4) + 0.95,
                      torch.cos(t[:, 0] * hertz[1, :1] * 2)], dim=1)  # fmt: skip
    return Motion(rotation.axis_angle_to_matrix(angles), path)


@pytest.fixture
def pair() -> tuple[Motion, Motion]:
    old = swaying(150, seed=0)
    return old, decoded_again(old, swaying(150, seed=1), 50, 100)


def test_outside_the_span_nothing_moves_and_inside_it_is_the_new_motion(pair):
    old, fresh = pair
    joined = splice(old, fresh, 50, 100)
    moved = joint_drift(old, joined.motion, range(22), 0, 150)  # (T, 22) metres
    assert moved[:50].max() == 0 and moved[100:].max() == 0
    middle = slice(50 + BLEND_FRAMES, 100 - BLEND_FRAMES)
    assert torch.allclose(joined.motion.rotations[middle], fresh.rotations[middle], atol=1e-5)
    assert joined.blends == ((50, 50 + BLEND_FRAMES), (100 - BLEND_FRAMES, 100))
    assert BLEND_FRAMES / FPS <= 0.25


def test_the_root_path_rejoins_the_old_one_without_a_jump(pair):
    old, fresh = pair
    root = splice(old, fresh, 50, 100).motion.root
    steps = (root[1:] - root[:-1]).norm(dim=-1)
    old_steps = (old.root[1:] - old.root[:-1]).norm(dim=-1)
    assert torch.equal(root[100:], old.root[100:])  # positions on the stage after the edit are kept
    assert steps[45:105].max() < 2 * old_steps.max()  # the 0.36 m shift is spread, not jumped
    naive = torch.cat([old.root[:50], fresh.root[50:100], old.root[100:]])
    assert (naive[1:] - naive[:-1]).norm(dim=-1).max() > 0.3


def test_borders_are_no_jerkier_than_the_dance_while_a_plain_cut_is(pair):
    old, fresh = pair
    joined = splice(old, fresh, 50, 100)
    assert border_jump_ratio(joined.motion.joints().numpy(), joined.blends) <= 1.0
    cut = Motion(torch.cat([old.rotations[:50], fresh.rotations[50:100], old.rotations[100:]]),
                 torch.cat([old.root[:50], fresh.root[50:100], old.root[100:]]))  # fmt: skip
    assert border_jump_ratio(cut.joints().numpy(), joined.blends) > 1.0  # the measure can fail


def calm(frames: int = 150) -> torch.Tensor:
    """(T, 22, 3) axis-angles of a gently swaying dancer."""
    return rotation.matrix_to_axis_angle(swaying(frames, seed=0).rotations) * 0.3


def test_a_span_that_meets_the_old_motion_at_another_speed_hands_the_speed_over(monkeypatch):
    """Old travels one way at 1 m/s and the new span the other way: the positions join either way,
    the velocities only through the hand-over."""
    t = torch.arange(150, dtype=torch.float32)
    floor = torch.full_like(t, 0.95)
    old = Motion(rotation.axis_angle_to_matrix(calm()), torch.stack([t / FPS, floor, 0 * t], -1))
    fresh = Motion(old.rotations, torch.stack([-t / FPS, floor, 0 * t], -1))
    joined = splice(old, fresh, 50, 100)
    assert border_jump_ratio(joined.motion.joints().numpy(), joined.blends) <= 1.0
    monkeypatch.setattr(splicing, "_handovers", lambda *args: [])
    positions_only = splice(old, fresh, 50, 100)
    assert border_jump_ratio(positions_only.motion.joints().numpy(), positions_only.blends) > 2


def test_a_large_offset_gets_a_longer_zone_that_keeps_the_fade_gentle(monkeypatch):
    """The new span has the arms raised 2.5 rad: faded over BLEND_FRAMES the hands would jump
    by more than FADE_JUMP on top of the motion's own jumps."""
    raised = calm()
    raised[:, [JOINT_INDEX["left_shoulder"], JOINT_INDEX["right_shoulder"]], 2] += torch.tensor([-2.5, 2.5])
    root = swaying(150, seed=0).root
    old = Motion(rotation.axis_angle_to_matrix(calm()), root)
    fresh = Motion(rotation.axis_angle_to_matrix(raised), root)
    own = max(speed_jumps(old.joints().numpy()).max(), speed_jumps(fresh.joints().numpy()).max())
    joined = splice(old, fresh, 50, 100)
    assert all(b - a > BLEND_FRAMES for a, b in joined.blends)
    assert speed_jumps(joined.motion.joints().numpy())[45:105].max() < own + FADE_JUMP
    monkeypatch.setattr(splicing, "MAX_BLEND_FRAMES", BLEND_FRAMES)
    short = splice(old, fresh, 50, 100)
    assert speed_jumps(short.motion.joints().numpy())[45:105].max() > own + FADE_JUMP


def test_kept_joints_keep_their_chain_to_the_pelvis_and_stay_put_in_world_space(pair):
    old, fresh = pair
    wrist = JOINT_INDEX["left_wrist"]
    assert kinematic_chain([wrist]) == (0, 3, 6, 9, 13, 16, 18, 20)
    for kept in ([wrist], BODY_PARTS["legs"], BODY_PARTS["root_trajectory"]):
        joined = splice(old, fresh, 50, 100, kept)
        assert joint_drift(old, joined.motion, kept, 0, 150).max() < 1e-5
        assert torch.equal(joined.motion.root, old.root)
    free = JOINT_INDEX["right_wrist"]  # not on the left wrist's chain: it regenerates
    assert joint_drift(old, splice(old, fresh, 50, 100, [wrist]).motion, [free], 60, 90).min() > 0.01


def test_an_extension_keeps_the_old_frames_and_joins_past_the_old_end():
    old = swaying(100, seed=0)
    fresh = decoded_again(swaying(150, seed=0), swaying(150, seed=2), 100, 150)
    joined = splice(old, fresh, 100, 150, BODY_PARTS["legs"])
    assert joined.motion.num_frames == 150 and joined.blends == ((100, 100 + BLEND_FRAMES),)
    assert joint_drift(old, joined.motion.slice(0, 100), range(22), 0, 100).max() == 0
    step = (joined.motion.root[100] - joined.motion.root[99]).norm()
    assert step < 2 * (old.root[1:] - old.root[:-1]).norm(dim=-1).max()  # not the 0.36 m shift


def test_impossible_splices_are_refused(pair):
    old, fresh = pair
    with pytest.raises(ValueError, match="cannot splice"):
        splice(old, fresh, 100, 50)
    with pytest.raises(ValueError, match="cannot splice"):
        splice(old.slice(0, 100), fresh, 20, 120)  # past the old end, but short of the new end


def test_a_carried_change_stays_in_the_span_and_joins_the_old_motion_without_a_jump(make_motion):
    """A steered span: the change from one decoding to another (a turn of every joint, a rise and a
    path that ends 0.4 m away) applied to the dance, faded in and out at the borders."""
    old = make_motion(120, seed=8)
    before = make_motion(40, seed=9)
    lift = rotation.axis_angle_to_matrix(torch.full((22, 3), 0.3))
    travel = torch.linspace(0, 1, 40)[:, None] * torch.tensor([0.4, 0.1, 0.0])
    after = Motion(lift @ before.rotations, before.root + travel)
    carried = carry(old, before, after, 40, 80)
    moved = (carried.joints() - old.joints()).norm(dim=-1)
    assert moved[:40].max() == 0 and moved[80:].max() == 0 and moved[50:70].max(-1).values.min() > 0.05
    assert (
        border_jump_ratio(carried.joints().numpy(), [(40, 40 + BLEND_FRAMES), (80 - BLEND_FRAMES, 80)]) <= 1
    )
    inside = (carried.rotations[50:70] @ old.rotations[50:70].transpose(-1, -2)) - lift
    assert inside.abs().max() < 1e-5  # the change itself, in full, away from the borders
    # The path rejoins the old one: no sideways step at the end, and the rise is kept inside.
    assert (carried.root[79] - old.root[79]).norm() < 0.02
    assert carried.root[60, 1] - old.root[60, 1] == pytest.approx(0.05, abs=0.005)
    with pytest.raises(ValueError, match="span's 50 frames"):
        carry(old, before, after, 40, 90)


def test_a_carried_change_does_not_slide_the_standing_feet():
    """A steered span that moves a standing dancer's root sideways and back: the feet on the floor
    stay put, because the span's travel is taken from the standing foot again."""
    frames = 40
    rotations = torch.eye(3).repeat(120, 22, 1, 1)
    rest = skeleton.forward_kinematics(rotations[:1], torch.zeros(1, 3))[0][0]
    root = torch.zeros(120, 3)
    root[:, 1] = -rest[:, 1].min()  # the lowest foot joint on the floor
    old = Motion(rotations, root)
    before = old.slice(40, 80)
    sway = torch.sin(torch.linspace(0, torch.pi, frames))[:, None] * torch.tensor([0.4, 0.0, 0.0])
    carried = carry(old, before, Motion(before.rotations, before.root + sway), 40, 80)
    feet = carried.joints()[:, list(skeleton.FOOT_JOINTS)]
    assert (feet[1:] - feet[:-1]).norm(dim=-1).max() < 1e-5
    assert torch.equal(carried.root[80:], old.root[80:])
