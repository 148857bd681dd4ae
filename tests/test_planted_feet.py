"""The foot a dancer stands on does not slide; a dancer in the air keeps the decoded travel."""

from __future__ import annotations

import torch

from dancemosaic import skeleton
from dancemosaic.dance import Request
from dancemosaic.engine import DEFAULT_CHECKPOINT, DanceEngine
from dancemosaic.motion import Motion
from dancemosaic.planted_feet import STANDING_HEIGHT, with_planted_feet

FRAMES = 60


def gliding(lift: float) -> Motion:
    """The rest pose gliding forward at 0.6 m/s with its feet ``lift`` metres above the floor."""
    rotations = torch.eye(3).repeat(FRAMES, 22, 1, 1)
    rest = skeleton.forward_kinematics(rotations[:1], torch.zeros(1, 3))[0][0]
    root = torch.zeros(FRAMES, 3)
    root[:, 1] = lift - rest[:, 1].min()
    root[:, 2] = 0.02 * torch.arange(FRAMES)
    return Motion(rotations, root, 30.0)


def feet_slide(motion: Motion) -> torch.Tensor:
    """(T-1, 4) horizontal world motion of each foot joint per frame."""
    feet = motion.joints()[:, list(skeleton.FOOT_JOINTS)]
    return (feet[1:] - feet[:-1])[..., [0, 2]].norm(dim=-1)


def test_a_standing_dancer_stops_skating():
    skating = gliding(lift=0.0)
    assert feet_slide(skating).min() > 0.019  # every foot joint slides 2 cm a frame
    planted = with_planted_feet(skating)
    assert feet_slide(planted).min(dim=-1).values.max() < 1e-5  # the standing joint stays put
    assert torch.equal(planted.rotations, skating.rotations)
    assert torch.equal(planted.root[:, 1], skating.root[:, 1])


def test_a_dancer_in_the_air_keeps_the_decoded_travel():
    flying = gliding(lift=float(STANDING_HEIGHT.max()) + 0.05)
    assert torch.equal(with_planted_feet(flying).root, flying.root)


def test_the_engine_hands_out_dances_whose_standing_foot_stays():
    # The shipped checkpoint, not the tiny random one: a random pose's lowest joint is seldom a foot.
    engine = DanceEngine.from_pretrained(DEFAULT_CHECKPOINT)
    motion = engine.generate(Request("a person dances salsa", duration=6.0, seed=4)).motion
    feet = motion.joints()[:, list(skeleton.FOOT_JOINTS)]
    on_floor = feet[..., 1] < STANDING_HEIGHT
    standing = (on_floor[1:] & on_floor[:-1]).any(dim=-1)
    assert standing.float().mean() > 0.5  # the dance is on the floor most of the time
    slide = feet_slide(motion).masked_fill(~(on_floor[1:] & on_floor[:-1]), float("inf")).min(dim=-1).values
    assert slide[standing].median() < 1e-4
