"""Joining regenerated frames into the dance they replace, in the motion domain, after decoding.

Tokens alone cannot keep an edit local: the decoder's receptive field crosses the span's borders,
the root's horizontal path is integrated from velocities (so a new span shifts everything after
it), and a 4-frame token from a coarse codebook cannot hold a kept joint to a centimetre. So an
edit decodes its new tokens (``fresh``, the whole dance) and ``splice`` builds the result:

- **Outside the span nothing moves**: those frames are the old motion, exactly.
- **Blend zones**: at each border with old motion, fresh's velocity first turns into old's over
  the zone (``_handovers``), then the new frames carry the offset (a rotation per joint, and the
  root's height) between old and fresh at the frame just outside the border; the offset fades out
  inside the span with a smoothstep, whose zero slope at both ends leaves the joint speeds
  continuous. A zone lasts BLEND_FRAMES, longer where the offset is large (``blend_width``): a
  smoothstep's bend is what a joint feels as a jump in speed. Only the zones differ from the fresh
  motion; they are returned for the timeline.
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

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import torch

from dancemosaic import rotation, skeleton
from dancemosaic.motion import Motion
from dancemosaic.planted_feet import with_planted_feet
from dancemosaic.timing import FPS

BLEND_SECONDS = 0.25
BLEND_FRAMES = int(BLEND_SECONDS * FPS)  # 7 frames (0.23 s): the least a splice's border zone lasts
MAX_BLEND_FRAMES = 2 * BLEND_FRAMES  # the most (0.47 s)
FADE_JUMP = 1.5  # m/s: the most a fading offset may add to a joint's frame-to-frame change of velocity


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
    widths = (blend_width(old, fresh, start - 1), blend_width(old, fresh, end) if end < n_old else 0)
    if start < n_old < end:  # an extension joins within the old frames (the engine's choice of start)
        widths = (min(widths[0], n_old - start), widths[1])
    chain_start = max(start, n_old) if chain else start  # kept joints follow the old dance to its end
    rotations = torch.cat([old.rotations, fresh.rotations[n_old:]])
    root = torch.cat([old.root, fresh.root[n_old:]])
    blends: list[tuple[int, int]] = []
    for joints, first in ((free, start), (chain, chain_start)):
        if not joints or first >= end:
            continue
        span = slice(first, end)
        rotations[span, joints] = _blend_rotations(old.rotations[:, joints], fresh.rotations[:, joints],
                                                   first, end, widths)  # fmt: skip
        if 0 in joints:
            root[span] = _blend_root(old.root, fresh.root, first, end, widths)
        blends += border_zones(first, end, n_old, widths)
    return Spliced(Motion(rotations, root, old.fps), tuple(sorted(set(blends))))


def blend_width(old: Motion, fresh: Motion, frame: int) -> int:
    """Frames of the zone that fades the offset between ``old`` and ``fresh`` at ``frame`` (a frame
    just outside a border): BLEND_FRAMES, or as many as keep the fade's own jump in joint speed
    under FADE_JUMP. A smoothstep fading d metres over w frames bends by at most 6 d / (w + 1)^2
    per frame squared."""
    if frame < 0:
        return BLEND_FRAMES
    pair = torch.stack([old.rotations[frame], fresh.rotations[frame].to(old.rotations)])
    joints = skeleton.forward_kinematics(pair, torch.zeros(2, 3, dtype=pair.dtype))[0]
    offset = float((joints[0] - joints[1]).norm(dim=-1).max())  # metres, root-relative
    needed = math.ceil(math.sqrt(6 * offset * old.fps / FADE_JUMP)) - 1
    return min(max(BLEND_FRAMES, needed), MAX_BLEND_FRAMES)


def border_zones(
    start: int, end: int, n_old: int, widths: tuple[int, int] = (BLEND_FRAMES, BLEND_FRAMES)
) -> list[tuple[int, int]]:
    """The blend zones of a span: its first frames after old motion, its last frames before it
    (``widths``: entry and exit zone, at most the span)."""
    entry, exit_ = _within(widths, start, end)
    zones = [(start, start + entry)] if start > 0 else []
    return zones + ([(end - exit_, end)] if end < n_old else [])


def _within(widths: tuple[int, int], start: int, end: int) -> tuple[int, int]:
    """Entry and exit zone widths, each at most the span [start, end)."""
    return min(widths[0], end - start), min(widths[1], end - start)


def _smoothstep(x: torch.Tensor) -> torch.Tensor:
    x = x.clamp(0.0, 1.0)
    return x * x * (3 - 2 * x)


def ramp(count: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """(count,) 0 -> 1 with zero slope at both ends (smoothstep); 0 before the first frame, 1 after
    the last: the share of a change a span's frames take, from the frame before it to the one after."""
    return _smoothstep(torch.arange(1, count + 1, dtype=dtype) / (count + 1))


def _fades(
    start: int, end: int, widths: tuple[int, int] = (BLEND_FRAMES, BLEND_FRAMES)
) -> tuple[torch.Tensor, torch.Tensor]:
    """(N,) weights of the entry and exit offsets over the span's N frames: 1 at the frame outside
    the border, 0 from the zone's width (``widths``: entry, exit) inside it on, zero slope at both
    ends."""
    k = torch.arange(end - start, dtype=torch.float32)
    entry, exit_ = _within(widths, start, end)
    return _smoothstep(1 - (k + 1) / (entry + 1)), _smoothstep(1 - (k + 1) / (exit_ + 1)).flip(0)


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


def _blend_rotations(
    old: torch.Tensor, fresh: torch.Tensor, start: int, end: int, widths: tuple[int, int]
) -> torch.Tensor:
    """(T, J, 3, 3) local rotations -> (end - start, J, 3, 3): fresh, with the offsets to old at
    the borders faded in (entry from frame start - 1, exit from frame end, where old has them)."""
    fresh = fresh.to(old.dtype).clone()
    for frames, shares, mismatch in _handovers(old, fresh, start, end, widths, _turn):
        fresh[frames] = rotation.axis_angle_to_matrix(shares[:, None, None] * mismatch) @ fresh[frames]
    span = fresh[start:end]
    entry, exit_ = _fades(start, end, widths)
    if start > 0:
        span = _toward(old[start - 1], fresh[start - 1], entry.to(old.dtype)) @ span
    if end < len(old):
        span = _toward(old[end], fresh[end], exit_.to(old.dtype)) @ span
    return span


def _turn(motion: torch.Tensor, frame: int) -> torch.Tensor:
    """(J, 3) axis-angle turn of each rotation from ``frame`` to ``frame + 1``."""
    return rotation.matrix_to_axis_angle(motion[frame + 1] @ motion[frame].transpose(-1, -2))


def _step(motion: torch.Tensor, frame: int) -> torch.Tensor:
    return motion[frame + 1] - motion[frame]


def _handovers(
    old: torch.Tensor, fresh: torch.Tensor, start: int, end: int, widths: tuple[int, int],
    velocity: Callable[[torch.Tensor, int], torch.Tensor],
) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:  # fmt: skip
    """Per border with old motion: fresh's frames to change, how many frames' worth (signed) of
    the velocity mismatch each takes, and the mismatch (old's velocity across the border minus
    fresh's, per frame: an axis-angle turn per joint, or a root step). Carrying the offset joins
    the positions at a border but not the velocities: a span ending mid-jump stopped dead in one
    frame (6 m/s on a demo song). Adding these shares makes fresh's velocity turn into old's over
    the zone (its per-frame share rises as a smoothstep), before the offset is carried."""
    entry, exit_ = _within(widths, start, end)
    out = []
    # Velocities compared over the same pair of frames where old has both (an edit), else over
    # old's last pair (an extension's kept joints, which start at the old end).
    if start >= 1 and (start < len(old) or start >= 2):  # frames start-1 .. start+entry-2 move back
        ramp_in = _smoothstep(torch.arange(entry + 1, dtype=old.dtype) / entry)  # 0 -> 1
        shares = -torch.flip(torch.cumsum(ramp_in[1:], 0), [0])  # -(sum of the frames' steps after)
        frames = torch.arange(start - 1, start + entry - 1)
        old_velocity = velocity(old, min(start, len(old) - 1) - 1)
        out.append((frames, shares, old_velocity - velocity(fresh, start - 1)))
    if end < len(old):  # fresh's frames end-exit .. end move on by what precedes them
        ramp_in = _smoothstep(torch.arange(exit_ + 1, dtype=old.dtype) / exit_)
        frames = torch.arange(end - exit_, end + 1)
        out.append((frames, torch.cumsum(ramp_in, 0), velocity(old, end - 1) - velocity(fresh, end - 1)))
    return out


def _blend_root(
    old: torch.Tensor, fresh: torch.Tensor, start: int, end: int, widths: tuple[int, int]
) -> torch.Tensor:
    """(T, 3) root positions -> (end - start, 3): the fresh path moved to start at the old one and
    bent to end at it (horizontal), with the height offsets faded at the borders (vertical)."""
    fresh = fresh.to(old.dtype).clone()
    for frames, shares, mismatch in _handovers(old, fresh, start, end, widths, _step):
        fresh[frames] = fresh[frames] + shares[:, None] * mismatch
    before = old[start - 1] - fresh[start - 1] if start > 0 else None
    after = old[end] - fresh[end] if end < len(old) else None
    if before is None and after is None:
        return fresh[start:end].clone()  # the whole dance is new: it starts where fresh starts
    before = after if before is None else before
    after = before if after is None else after
    bend = ramp(end - start, old.dtype)[:, None]  # (N, 1): 0 before the span, 1 after it
    offset = before + bend * (after - before)  # (N, 3)
    entry, exit_ = _fades(start, end, widths)
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
