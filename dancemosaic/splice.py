"""Joining regenerated frames into the dance they replace, in the motion domain, after decoding.

Tokens alone cannot keep an edit local: the decoder's receptive field crosses the span's borders,
the root's horizontal path is integrated from velocities (so a new span shifts everything after
it), and a 4-frame token from a coarse codebook cannot hold a kept joint to a centimetre. So an
edit decodes its new tokens (``fresh``, the whole dance) and ``splice`` builds the result:

- **Outside the span nothing moves**: those frames are the old motion, exactly.
- **Blend zones**: at each border with old motion, the new frames carry the offset (a rotation per
  joint, and the root's height) between old and fresh at the frame just outside the border; the
  offset fades out over at most BLEND_FRAMES frames inside the span with a smoothstep, whose zero
  slope at both ends leaves the joint speeds continuous. Only the first and last BLEND_FRAMES of
  the span differ from the fresh motion; those zones are returned for the timeline.
- **The root path rejoins the old one**: the span's horizontal root path is the fresh one, moved
  so it starts where the old one is at the frame before the span and bent (a smoothstep share of
  the difference, spread over the whole span) so it ends where the old one is at the frame after
  it. Positions on the stage after the edit are kept.
- **Kept joints stay where they were in the world.** A joint's world position depends on the root
  position and on the rotations of every joint above it (its own rotation only moves the joints
  below it). So keeping joint j keeps its whole kinematic chain, from the pelvis (root position
  and pelvis rotation included) down to j, and j's own rotation: those are copied from the old
  motion, while the other joints keep their fresh local rotations under them. Ticking any joint
  therefore keeps the root's path and facing too: without IK that is the only way the kept
  joint's world position can hold exactly. (The engine's pose refinement has already pulled the
  fresh tokens towards the kept joints, so the free joints fit the kept chain.) Past the old
  dance's end, where there is nothing to keep, the chain joins the fresh motion through a blend
  zone like any other border.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import torch

from dancemosaic import rotation, skeleton
from dancemosaic.motion import Motion
from dancemosaic.planted_feet import with_planted_feet
from dancemosaic.timing import FPS

BLEND_SECONDS = 0.25
BLEND_FRAMES = int(BLEND_SECONDS * FPS)  # 7 frames (0.23 s): the most a border zone lasts


@dataclass(frozen=True)
class Spliced:
    """The joined motion and its blend zones, [start, end) frames where new motion meets old."""

    motion: Motion
    blends: tuple[tuple[int, int], ...]


def kinematic_chain(joints: Iterable[int]) -> tuple[int, ...]:
    """The joints and all their ancestors up to the pelvis, sorted; () for no joints."""
    chain: set[int] = set()
    for joint in joints:
        while joint >= 0 and joint not in chain:
            chain.add(joint)
            joint = skeleton.PARENTS[joint]
    return tuple(sorted(chain))


def splice(old: Motion, fresh: Motion, start: int, end: int, kept: Iterable[int] = ()) -> Spliced:
    """``old`` with frames [start, end) taken from ``fresh`` (the new decoding of the whole dance).

    ``fresh`` may be longer than ``old`` (an extension); then the span must run to its end. The
    ``kept`` joints (body joint indices) stay as in ``old`` over the span, with their chains.
    """
    n_old, frames = old.num_frames, fresh.num_frames
    if not (0 <= start < end <= frames and start <= n_old <= frames and (end <= n_old or end == frames)):
        raise ValueError(
            f"cannot splice frames {start}-{end} of a {frames}-frame motion into a {n_old}-frame one"
        )
    chain = list(kinematic_chain(kept))
    free = [j for j in range(skeleton.NUM_BODY_JOINTS) if j not in chain]
    chain_start = max(start, n_old) if chain else start  # kept joints follow the old dance to its end
    rotations = torch.cat([old.rotations, fresh.rotations[n_old:]])
    root = torch.cat([old.root, fresh.root[n_old:]])
    blends: list[tuple[int, int]] = []
    for joints, first in ((free, start), (chain, chain_start)):
        if not joints or first >= end:
            continue
        span = slice(first, end)
        rotations[span, joints] = _blend_rotations(old.rotations[:, joints], fresh.rotations[:, joints],
                                                   first, end)  # fmt: skip
        if 0 in joints:
            root[span] = _blend_root(old.root, fresh.root, first, end)
        blends += border_zones(first, end, n_old)
    return Spliced(Motion(rotations, root, old.fps), tuple(sorted(set(blends))))


def border_zones(start: int, end: int, n_old: int) -> list[tuple[int, int]]:
    """The blend zones of a span: its first frames after old motion, its last frames before it."""
    width = min(BLEND_FRAMES, end - start)
    zones = [(start, start + width)] if start > 0 else []
    return zones + ([(end - width, end)] if end < n_old else [])


def _smoothstep(x: torch.Tensor) -> torch.Tensor:
    x = x.clamp(0.0, 1.0)
    return x * x * (3 - 2 * x)


def ramp(count: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """(count,) 0 -> 1 with zero slope at both ends (smoothstep); 0 before the first frame, 1 after
    the last: the share of a change a span's frames take, from the frame before it to the one after."""
    return _smoothstep(torch.arange(1, count + 1, dtype=dtype) / (count + 1))


def _fades(start: int, end: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(N,) weights of the entry and exit offsets over the span's N frames: 1 at the frame outside
    the border, 0 from BLEND_FRAMES inside it on, with zero slope at both ends."""
    width = min(BLEND_FRAMES, end - start)
    k = torch.arange(end - start, dtype=torch.float32)
    entry = _smoothstep(1 - (k + 1) / (width + 1))
    return entry, entry.flip(0)


def inner_weight(start: int, end: int, num_frames: int) -> torch.Tensor:
    """(N,) how much of a change over frames [start, end) of a ``num_frames`` motion shows: 0 at a
    border with untouched frames, rising to 1 over the blend zone (smoothstep, zero slope), 1 at a
    border that is the motion's own start or end."""
    entry, exit_ = _fades(start, end)
    return (1 - entry * (start > 0)) * (1 - exit_ * (end < num_frames))


def _toward(target: torch.Tensor, source: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """(J, 3, 3) target and source rotations, (N,) weights -> (N, J, 3, 3): the share ``weight`` of
    the rotation that carries ``source`` onto ``target`` (left-multiplied: target = D @ source)."""
    offset = rotation.matrix_to_quaternion(target @ source.transpose(-1, -2))  # (J, 4)
    identity = torch.zeros_like(offset)
    identity[:, 0] = 1.0
    shares = rotation.slerp(identity.expand(len(weight), -1, -1), offset.expand(len(weight), -1, -1),
                            weight[:, None].expand(-1, offset.shape[0]))  # fmt: skip
    return rotation.quaternion_to_matrix(shares)


def _blend_rotations(old: torch.Tensor, fresh: torch.Tensor, start: int, end: int) -> torch.Tensor:
    """(T, J, 3, 3) local rotations -> (end - start, J, 3, 3): fresh, with the offsets to old at
    the borders faded in (entry from frame start - 1, exit from frame end, where old has them)."""
    span = fresh[start:end].to(old.dtype)
    entry, exit_ = _fades(start, end)
    if start > 0:
        span = _toward(old[start - 1], fresh[start - 1], entry.to(old.dtype)) @ span
    if end < len(old):
        span = _toward(old[end], fresh[end], exit_.to(old.dtype)) @ span
    return span


def _blend_root(old: torch.Tensor, fresh: torch.Tensor, start: int, end: int) -> torch.Tensor:
    """(T, 3) root positions -> (end - start, 3): the fresh path moved to start at the old one and
    bent to end at it (horizontal), with the height offsets faded at the borders (vertical)."""
    before = old[start - 1] - fresh[start - 1] if start > 0 else None
    after = old[end] - fresh[end] if end < len(old) else None
    if before is None and after is None:
        return fresh[start:end].clone()  # the whole dance is new: it starts where fresh starts
    before = after if before is None else before
    after = before if after is None else after
    bend = ramp(end - start, old.dtype)[:, None]  # (N, 1): 0 before the span, 1 after it
    offset = before + bend * (after - before)  # (N, 3)
    entry, exit_ = _fades(start, end)
    height = before[1] * entry * (start > 0) + after[1] * exit_ * (end < len(old))
    offset[:, 1] = height.to(old.dtype)
    return fresh[start:end] + offset


def carry(motion: Motion, before: Motion, after: Motion, start: int, end: int) -> Motion:
    """``motion`` with the change from ``before`` to ``after`` (two decodings of frames [start, end),
    e.g. a span's tokens before and after steering) applied over those frames: per joint, the
    rotation carrying before onto after, and the root's offset. Outside the span nothing moves.
    Differentiable in ``after`` (token steering measures its objective on the result).

    The change joins the untouched frames without a jump: the rotations and the root's height
    fade it in over the span's first BLEND_FRAMES and out over its last (smoothstep, zero slope);
    the horizontal offset loses a smoothstep blend, over the whole span, of its values at the
    span's two ends, so the path leaves and rejoins the old one where it meets it, with no step
    in speed (a steered root path, integrated from velocities, would otherwise jump back at the
    span's end). The blend is the "smooth straight way" ``instructions.root_wander`` measures
    travel from, so it adds no wander. Last, the span's travel is taken from its standing foot
    again (``_replanted``), so a carried change does not slide the feet."""
    n = end - start
    if before.num_frames != n or after.num_frames != n:
        raise ValueError(f"before and after must hold the span's {n} frames")
    weight = inner_weight(start, end, motion.num_frames).to(motion.root)  # (N,)
    change = rotation.matrix_to_quaternion(after.rotations @ before.rotations.transpose(-1, -2))  # w >= 0
    identity = torch.zeros_like(change)
    identity[..., 0] = 1.0
    faded = rotation.nlerp(identity, change, weight[:, None, None].to(change))
    span = rotation.quaternion_to_matrix(faded) @ motion.rotations[start:end].to(change)
    offset = after.root - before.root
    share = ramp(n)[:, None].to(offset)  # 0 before the span, 1 after
    ends = offset[[0, -1]][:, [0, 2]]
    horizontal = (
        offset[:, [0, 2]] - (1 - share) * ends[0] * (start > 0) - share * ends[1] * (end < motion.num_frames)
    )
    offset = torch.stack([horizontal[:, 0], offset[:, 1] * weight.to(offset), horizontal[:, 1]], -1)
    rotations = torch.cat([motion.rotations[:start], span.to(motion.rotations), motion.rotations[end:]])
    root = torch.cat(
        [motion.root[:start], motion.root[start:end] + offset.to(motion.root), motion.root[end:]]
    )
    return _replanted(Motion(rotations, root, motion.fps), start, end, share.to(root))


def _replanted(motion: Motion, start: int, end: int, share: torch.Tensor) -> Motion:
    """``motion`` whose travel over frames [start, end) comes from its standing foot again
    (``planted_feet``: a carried change moves the root under feet that stood still), bent by
    ``share`` (N, 1) back onto the old path where the span ends, as ``carry`` bends its offset."""
    span = motion.slice(start, end)
    drift = with_planted_feet(span).root[:, [0, 2]] - span.root[:, [0, 2]]  # (N, 2), 0 at the first frame
    if end < motion.num_frames:
        drift = drift - share * drift[-1]
    root = motion.root.clone()
    root[start:end, [0, 2]] = root[start:end, [0, 2]] + drift
    return Motion(motion.rotations, root, motion.fps)


def joint_drift(old: Motion, new: Motion, joints: Iterable[int], start: int, end: int) -> torch.Tensor:
    """(end - start, len(joints)) world-space distances (m) between where ``joints`` are in ``new``
    and where they were in ``old`` over frames [start, end): the measured figure, not a proxy."""
    joints = list(joints)
    before = skeleton.forward_kinematics(old.rotations[start:end], old.root[start:end])[0]
    after = skeleton.forward_kinematics(new.rotations[start:end], new.root[start:end])[0]
    return (after[:, joints] - before[:, joints]).norm(dim=-1)


def joint_speed_jumps(joints: torch.Tensor, fps: float = FPS) -> torch.Tensor:
    """(..., T, J, 3) positions -> (..., T-2, J): each joint's change of velocity from one frame to
    the next (m/s), differentiable (token steering holds it under a cap). A jump at index t involves
    frames t, t+1 and t+2."""
    velocity = (joints[..., 1:, :, :] - joints[..., :-1, :, :]) * fps
    return (velocity[..., 1:, :, :] - velocity[..., :-1, :, :]).norm(dim=-1)


def speed_jumps(joints: np.ndarray, fps: float = FPS) -> np.ndarray:
    """(T, J, 3) positions -> (T-2,): at each frame, the largest change of any joint's velocity
    from one frame to the next (m/s)."""
    positions = torch.as_tensor(np.asarray(joints, dtype=np.float64))
    return joint_speed_jumps(positions, fps).max(-1).values.numpy()


def border_jump_ratio(joints: np.ndarray, zones: Iterable[tuple[int, int]], fps: float = FPS) -> float:
    """The largest speed jump in or next to the blend ``zones`` ([start, end) frames) over the
    largest one anywhere else in the dance: at most 1 means the borders are no jerkier than the
    dance itself."""
    jumps = speed_jumps(joints, fps)
    border = np.zeros(len(jumps), dtype=bool)
    for start, end in zones:
        border[max(0, start - 2) : end + 1] = True
    if not border.any() or border.all():
        raise ValueError("the zones must cover some frames of the dance, and not all of them")
    return float(jumps[border].max() / max(jumps[~border].max(), 1e-9))
