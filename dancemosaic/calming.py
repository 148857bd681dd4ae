"""Exact top-ups for the instructions that ask for less: smaller movements, slower, stay in place.

Token steering reaches them in most spans but not all: a span that barely moves has little left
for a re-quantised token to take away, and the steering stops where no single code change lowers
its objective (on the starter's editing table: 2, 6 and 5 of 24 trials short of the three). Less
of a motion needs no new material, so when the steered span falls short, the span is blended
towards a calm version of itself, by the least share that reaches the stated effect:

- **smaller movements:** every joint below the pelvis towards its mean rotation over the span
  (the pose the dancer moves about), the pelvis towards its mean tilt under its own facing; the
  turns and the path are left as they are;
- **slower:** the rotations and the path towards a copy low-passed over ``SLOW_SECONDS`` (the
  same poses, reached more slowly; the fast detail goes);
- **stay in place:** the path's horizontal wander towards the smooth straight way between where
  the span starts and ends (what ``instructions.root_wander`` measures travel from).

The share fades to 0 over the span's blend zones (``splice.inner_weight``), so the top-up joins
the rest of the dance without a jump. The share is found by bisection on the effect measured on
the dance as it will be returned (``join``): what is reached is what the user gets.

This module is geometry: no networks, engine or UI imports.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from dancemosaic import instructions, rotation
from dancemosaic.low_pass import low_passed
from dancemosaic.motion import Motion, yaw_matrix
from dancemosaic.splice import inner_weight

SLOW_SECONDS = 0.3  # the low-pass' Gaussian width (standard deviation) for "slower"
BISECTIONS = 12  # the share is found to 1/4096


def _still_pose(motion: Motion, start: int, end: int) -> Motion:
    """The span's joints below the pelvis held at their mean rotation over it, and the pelvis at
    its mean tilt under its own facing (the dancer still turns where it turned)."""
    rotations = motion.rotations.clone()
    pelvis = motion.rotations[start:end, 0]
    facing = _facing(pelvis)
    local = torch.cat([(facing.transpose(-1, -2) @ pelvis)[:, None], motion.rotations[start:end, 1:]], 1)
    quats = rotation.sign_continuous(rotation.matrix_to_quaternion(local))
    mean = rotation.quaternion_to_matrix(torch.nn.functional.normalize(quats.mean(0), dim=-1))  # (22, 3, 3)
    rotations[start:end] = mean.expand(end - start, -1, -1, -1)
    rotations[start:end, 0] = facing @ _facing(mean[0]).transpose(-1, -2) @ mean[0]  # the mean tilt, level
    return Motion(rotations, motion.root, motion.fps)


def _facing(pelvis: torch.Tensor) -> torch.Tensor:
    """(..., 3, 3) pelvis rotations -> (..., 3, 3) the turns about +y that face where they face."""
    return yaw_matrix(torch.atan2(pelvis[..., 0, 2], pelvis[..., 2, 2]))


def _low_passed(motion: Motion, start: int, end: int) -> Motion:
    """The span's rotations and path low-passed over SLOW_SECONDS (Gaussian width)."""
    return low_passed(motion, SLOW_SECONDS * motion.fps, start, end)


def _on_the_spot(motion: Motion, start: int, end: int) -> Motion:
    """The span's horizontal path on the smooth straight way between its first and last frames."""
    share = instructions.straight_share(end - start, motion.root.dtype)[:, None]  # (N, 1)
    ends = motion.root[[start, end - 1]][:, [0, 2]]
    root = motion.root.clone()
    root[start:end, [0, 2]] = ends[0] + share * (ends[1] - ends[0])
    return Motion(motion.rotations, root, motion.fps)


CALM: dict[str, Callable[[Motion, int, int], Motion]] = {
    "smaller movements": _still_pose,
    "slower": _low_passed,
    "stay in place": _on_the_spot,
}


def blend(motion: Motion, calm: Motion, start: int, end: int, share: torch.Tensor) -> Motion:
    """``motion`` with frames [start, end) moved towards ``calm`` by ``share`` (N,) in [0, 1]:
    rotations slerped, the path interpolated."""
    rotations, root = motion.rotations.clone(), motion.root.clone()
    old = rotation.matrix_to_quaternion(motion.rotations[start:end])
    new = rotation.matrix_to_quaternion(calm.rotations[start:end])
    weights = share[:, None].expand(-1, old.shape[1]).to(old)
    rotations[start:end] = rotation.quaternion_to_matrix(rotation.slerp(old, new, weights))
    root[start:end] = root[start:end] + share[:, None].to(root) * (calm.root[start:end] - root[start:end])
    return Motion(rotations, root, motion.fps)


def top_up(
    effect: instructions.Effect, before: Motion, motion: Motion, start: int, end: int,
    join: Callable[[Motion], Motion],
) -> Motion:  # fmt: skip
    """``motion`` (the edit so far) blended towards its calm version over frames [start, end) by the
    least share for which ``effect``, measured on ``join(motion)`` against ``before``, is reached
    (``least_share``). Unchanged when the effect has no calm version or is reached already."""
    if effect.name not in CALM:
        return motion
    calm = CALM[effect.name](motion, start, end)
    share = least_share(effect, before, motion, calm, start, end, join)
    if share == 0.0:
        return motion
    return blend(motion, calm, start, end, share * inner_weight(start, end, motion.num_frames))


def least_share(
    effect: instructions.Effect, before: Motion, motion: Motion, calm: Motion, start: int, end: int,
    join: Callable[[Motion], Motion],
) -> float:  # fmt: skip
    """The least share (to 1 / 2**BISECTIONS) of the way from ``motion`` to ``calm`` at which
    ``effect`` is reached: 0 when it is reached already, 1 when even the full share falls short
    (the engine then says "NOT reached")."""
    fade = inner_weight(start, end, motion.num_frames).to(motion.root)

    def reached(share: float) -> bool:
        candidate = join(blend(motion, calm, start, end, share * fade))
        (outcome,) = instructions.outcomes((effect,), before, candidate, start, end)
        return outcome.reached

    if reached(0.0):
        return 0.0
    if not reached(1.0):
        return 1.0
    low, high = 0.0, 1.0
    for _ in range(BISECTIONS):
        middle = (low + high) / 2
        low, high = (low, middle) if reached(middle) else (middle, high)
    return high
