"""One- and two-frame pops out of decoded motion: a joint that leaves its path and comes back.

Now and then neighbouring tokens decode to a pose that lasts a frame or two: the pelvis twists, a
leg flicks 30-120 cm away and returns, and the hands and feet move at 15-45 m/s. A dancer's fast
moves are not like that: they follow a path, so a frame sits close to the straight line between
its neighbours. Measured on the prepared corpus (30 fps), the farthest any joint strays from the
line through its neighbouring frames exceeds 15 cm (``pop_frames``) in 19 of 156 153 frames of the
recorded ballroom dances and 16 of 149 120 Bandai frames; in the starter's held-out dances (8 seeds
x 4 songs) in 77 of 28 800. (CMU salsa has 253 such frames in 24 382: mocap marker swaps, which the
model learnt from.)

Such frames are replaced by the rotations interpolated (nlerp) and the root position
interpolated (linearly) between the nearest good frames on either side. Differentiable in the
kept frames: token steering measures its objective through the engine's decoding (slerp's
arccos gave it NaN gradients where the rotations around a pop agree).
"""

from __future__ import annotations

import torch

from dancemosaic import rotation
from dancemosaic.motion import Motion

MAX_EXCURSION = 0.15  # m a joint may stray from the line between its neighbouring frames
PASSES = 3  # a repaired pop can show its neighbour was one too (a longer pop): look again


def pop_frames(joints: torch.Tensor, limit: float = MAX_EXCURSION) -> torch.Tensor:
    """(T, J, 3) joint positions -> (T,) bool: frames in a one- or two-frame pop."""
    joints = joints.detach()
    bad = torch.zeros(len(joints), dtype=torch.bool)
    if len(joints) >= 3:
        midpoint = (joints[:-2] + joints[2:]) / 2
        bad[1:-1] |= _farthest(joints[1:-1] - midpoint) > limit
    if len(joints) >= 4:
        start, end = joints[:-3], joints[3:]
        first = _farthest(joints[1:-2] - (2 * start + end) / 3) > limit
        second = _farthest(joints[2:-1] - (start + 2 * end) / 3) > limit
        both = first & second  # both frames off the line: a two-frame pop
        bad[1:-2] |= both
        bad[2:-1] |= both
    return bad


def _farthest(offsets: torch.Tensor) -> torch.Tensor:
    """(T, J, 3) -> (T,) the largest joint offset of each frame."""
    return offsets.norm(dim=-1).amax(-1)


def without_pops(motion: Motion, limit: float = MAX_EXCURSION) -> tuple[Motion, int]:
    """``motion`` with its pops interpolated over; also how many frames were replaced."""
    replaced = 0
    for _ in range(PASSES):
        bad = pop_frames(motion.joints(), limit)
        if not bad.any():
            break
        replaced += int(bad.sum())
        motion = _interpolated(motion, bad)
    return motion, replaced


def _interpolated(motion: Motion, bad: torch.Tensor) -> Motion:
    """Each run of ``bad`` frames replaced by interpolation between the good frames around it."""
    frames = torch.arange(len(bad))
    good = frames[~bad]
    if len(good) == 0:
        return motion
    # For every frame, the nearest good frame at or before it and at or after it (the ends clamp).
    before = good[torch.searchsorted(good, frames, right=True).sub(1).clamp(min=0)]
    after = good[torch.searchsorted(good, frames).clamp(max=len(good) - 1)]
    span = (after - before).clamp(min=1)
    weight = ((frames - before) / span).clamp(0, 1).to(motion.root.dtype)[bad]
    before, after = before[bad], after[bad]
    quat = rotation.matrix_to_quaternion(motion.rotations)
    mixed = rotation.nlerp(quat[before], quat[after], weight[:, None, None])
    rotations, root = motion.rotations.clone(), motion.root.clone()
    rotations[bad] = rotation.quaternion_to_matrix(mixed)
    root[bad] = torch.lerp(motion.root[before], motion.root[after], weight[:, None])
    return Motion(rotations, root, motion.fps)
