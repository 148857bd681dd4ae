"""Whole-body flips come out of decoded motion; real turns, the pose and the travel stay."""

from __future__ import annotations

import math

import pytest
import torch

from dancemosaic.motion import Motion, yaw_matrix
from dancemosaic.root_continuity import MAX_TURN_PER_FRAME, heading, without_flips

FRAMES = 90


def turning_dance(yaw: torch.Tensor) -> Motion:
    """A dancer facing ``yaw`` (T,) with a bent right elbow, walking forward along its own facing."""
    rotations = torch.eye(3).repeat(len(yaw), 22, 1, 1)
    rotations[:, 0] = yaw_matrix(yaw)
    rotations[:, 19] = yaw_matrix(torch.full((len(yaw),), 0.7))
    step = 0.02 * torch.stack([torch.sin(yaw), torch.cos(yaw)], -1)  # 0.6 m/s along the facing
    root = torch.zeros(len(yaw), 3)
    root[:, 1] = 0.9
    root[1:, [0, 2]] = step[1:].cumsum(0)
    return Motion(rotations, root, 30.0)


def turns(motion: Motion) -> torch.Tensor:
    yaw = heading(motion.rotations[:, 0].double())
    return torch.remainder(torch.diff(yaw) + math.pi, 2 * math.pi) - math.pi


def test_a_flip_is_taken_out_and_the_dance_goes_on_from_where_the_body_was():
    yaw = torch.linspace(0.0, 1.0, FRAMES)
    yaw[40:] += math.pi  # the decoding jumps to facing backwards at frame 40
    flipped = turning_dance(yaw)
    fixed, count = without_flips(flipped)
    assert count == 1
    assert turns(fixed).abs().max() < math.radians(1)  # the walk's own slow turn only
    assert torch.equal(fixed.rotations[:40], flipped.rotations[:40])  # before the jump: untouched
    assert torch.equal(fixed.rotations[:, 1:], flipped.rotations[:, 1:])  # the pose itself: untouched
    speed = lambda m: torch.diff(m.root[:, [0, 2]], dim=0).norm(dim=-1)  # noqa: E731
    torch.testing.assert_close(speed(fixed), speed(flipped))  # travel turned with the body, not lost
    assert fixed.root[:, 1].equal(flipped.root[:, 1])


def test_a_flip_and_its_return_cancel_out():
    yaw = torch.linspace(0.0, 1.0, FRAMES)
    yaw[30:60] += math.pi
    flipped = turning_dance(yaw)
    fixed, count = without_flips(flipped)
    assert count == 2
    slow_turn = 1.0 / (FRAMES - 1)  # the walk's own turn per frame, lost on the two jump frames
    back = heading(fixed.rotations[60:, 0].double()) - heading(flipped.rotations[60:, 0].double())
    torch.testing.assert_close(back, torch.full_like(back, -2 * slow_turn), atol=1e-5, rtol=0)


@pytest.mark.parametrize("degrees_per_frame", [5.0, 20.0, 29.0])
def test_real_turns_are_kept_however_fast(degrees_per_frame):
    spin = turning_dance(torch.arange(FRAMES) * math.radians(degrees_per_frame))
    fixed, count = without_flips(spin)
    assert count == 0 and fixed is spin


def test_the_engine_never_hands_out_a_flip(engine):
    from dancemosaic.dance import Request

    dance = engine.generate(Request("a person dances salsa", duration=6.0, seed=3))
    assert turns(dance.motion).abs().max() <= MAX_TURN_PER_FRAME + 1e-5
