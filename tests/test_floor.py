"""Decoded dances stand on the floor, and a jump keeps its height."""

from __future__ import annotations

import math

import torch

from dancemosaic.floor import FLOOR_WINDOW, on_the_floor
from dancemosaic.motion import Motion

FRAMES = 150  # 5 s at 30 fps


def standing(height: torch.Tensor) -> Motion:
    """A dancer in the rest pose whose root is at ``height`` (T,) above the origin."""
    root = torch.zeros(len(height), 3)
    root[:, 1] = height
    return Motion(torch.eye(3).repeat(len(height), 22, 1, 1), root, 30.0)


def lowest(motion: Motion) -> torch.Tensor:
    return motion.joints()[..., 1].min(-1).values


def test_a_floating_dance_is_put_on_the_floor():
    floating = standing(torch.full((FRAMES,), 1.1) + 0.02 * torch.sin(torch.arange(FRAMES) / 5))
    grounded = on_the_floor(floating)
    assert lowest(floating).min() > 0.1
    assert lowest(grounded).min().abs() < 0.005  # standing on it at the bottom of each bounce
    assert lowest(grounded).max() < 0.045  # and the 4 cm bounce itself stays
    assert torch.equal(grounded.rotations, floating.rotations)
    assert torch.equal(grounded.root[:, [0, 2]], floating.root[:, [0, 2]])


def test_a_jump_keeps_its_height():
    t = torch.arange(FRAMES) / 30.0
    air = (t > 2.0) & (t < 2.5)  # half a second in the air, shorter than the floor window
    height = 1.05 + torch.where(air, 0.3 * torch.sin(math.pi * (t - 2.0) / 0.5), torch.zeros(FRAMES))
    grounded = on_the_floor(standing(height))
    apex = lowest(grounded)[air].max()
    assert 0.25 < apex < 0.35
    assert lowest(grounded)[~air].abs().max() < 0.02
    assert FLOOR_WINDOW > 0.5


def test_a_one_frame_dance_stands_on_the_floor():
    grounded = on_the_floor(standing(torch.tensor([1.4])))
    assert abs(float(lowest(grounded)[0])) < 1e-6


def test_the_engine_puts_its_dances_on_the_floor(engine):
    from dancemosaic.dance import Request

    dance = engine.generate(Request("a person dances salsa", duration=6.0, seed=2))
    assert lowest(dance.motion).min().abs() < 0.05
