"""Whole-body flips out of decoded motion: the root may not turn faster than a dancer can.

The features hold the root's orientation per frame, not its turning, so when neighbouring tokens
disagree on which way the dancer faces (a ballroom couple turns 2000-3000 degrees in 30 s), the
decoding jumps between the two: the whole body turns 90-180 degrees in one frame and the hands
and feet move at 20-40 m/s. Real dancers on the held-out songs turn at most 28 degrees per frame
(854 deg/s at 30 fps). A frame whose turn about the vertical is over ``MAX_TURN_PER_FRAME`` is
such a jump: its turn is taken out of it and every later frame (pose and travel turned back
together), so the dance goes on from where the body was. The whole turn goes, not only what is
over the limit: a 180 degree flip has no direction, and a remainder of the limit per flip would
add up to turns the decoding never meant (20 flips, 600 degrees).
"""

from __future__ import annotations

import math

import torch

from dancemosaic.motion import Motion, yaw_matrix

MAX_TURN_PER_FRAME = math.radians(30)  # 900 deg/s at 30 fps: just over the fastest real turn seen


def heading(orientations: torch.Tensor) -> torch.Tensor:
    """(..., 3, 3) root orientations -> (...,) yaw (radians) of the pelvis's forward axis on the floor."""
    forward = orientations[..., :, 2]
    return torch.atan2(forward[..., 0], forward[..., 2])


def without_flips(motion: Motion, limit: float = MAX_TURN_PER_FRAME) -> tuple[Motion, int]:
    """``motion`` with the turns over ``limit`` taken out; also how many frames had one.

    Only the turn about the vertical is taken out: a jump is a change of facing, and undoing its
    tilt too would leave the later frames leaning.
    """
    yaw = heading(motion.rotations[:, 0].double())
    turn = torch.remainder(torch.diff(yaw) + math.pi, 2 * math.pi) - math.pi  # (T-1,) in [-pi, pi)
    jumps = torch.where(turn.abs() > limit, turn, 0.0)
    count = int((jumps != 0).sum())
    if count == 0:
        return motion, 0
    return _turned(motion, -torch.cat([jumps.new_zeros(1), jumps.cumsum(0)])), count


def _turned(motion: Motion, turn: torch.Tensor) -> Motion:
    """Turn each frame's body by ``turn`` (T,) radians about the vertical through its pelvis, and
    its travel on the floor with it."""
    yaw = yaw_matrix(turn)  # (T, 3, 3)
    rotations = motion.rotations.clone()
    rotations[:, 0] = (yaw @ motion.rotations[:, 0].double()).to(rotations)
    step = torch.diff(motion.root.double(), dim=0) * torch.tensor([1.0, 0.0, 1.0], dtype=torch.float64)
    turned = (yaw[1:] @ step[..., None])[..., 0]  # (T-1, 3) travel on the floor, turned
    root = motion.root.clone()
    root[1:, [0, 2]] = (motion.root[:1, [0, 2]].double() + turned[:, [0, 2]].cumsum(0)).to(root)
    return Motion(rotations, root, motion.fps)
