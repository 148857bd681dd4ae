"""Edits by description with measurable effects: "raise the arms", "spin", "jump", "slower"...

Each instruction names an ``Effect``: a kinematic measure of a span of motion (``measure``, on
world joint positions), the way it must go (``sign``), by how much at least (``amount``, compared
as a difference or a ratio of the edited span's measure to the old one's), and the joints it may
move (``joints``; None: the whole body). The measures are differentiable torch functions, so the
same function is the effect the studio reports and the objective the engine's token steering
follows (``steering.py``): what is checked is what was asked for.

One effect is an exact motion-space operation instead (``method="motion"``): a spin adds a full
yaw turn to the pelvis in the middle of the span and turns the root's path with it, leaving every
other joint's local rotation as it was. A decoded turn would have to come from a tokenizer that
has seen few full turns; the operation gives exactly one, and at a full turn the body faces
where it faced and the path continues, so nothing jumps (the planted feet pivot with the body).

Parsing is a phrase table with synonyms; "and" and commas join instructions. A part that matches
no phrase is kept as text: the engine regenerates the span with it as its prompt and says so.

This module is geometry: no networks, engine or UI imports.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

import torch

from dancemosaic import skeleton
from dancemosaic.motion import Motion, yaw_matrix
from dancemosaic.splice import joint_speed_jumps, ramp

J = skeleton.JOINT_INDEX
WRISTS = (J["left_wrist"], J["right_wrist"])
FEET = (J["left_ankle"], J["left_foot"], J["right_ankle"], J["right_foot"])
ARMS = (J["left_collar"], J["right_collar"], J["left_shoulder"], J["right_shoulder"],
        J["left_elbow"], J["right_elbow"], *WRISTS)  # fmt: skip
SPIN_SECONDS = 1.5  # how long a full turn takes (or the whole span, when it is shorter)
SMOOTH_FRAMES = 5  # moving average before speeds and path lengths, so jitter does not count

Measure = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def _smooth(x: torch.Tensor) -> torch.Tensor:
    """(..., T, ...) moving average over time (dim -3 of joints), edge frames repeated."""
    pad = SMOOTH_FRAMES // 2
    padded = torch.cat([x[..., :1, :, :].expand(*x.shape[:-3], pad, *x.shape[-2:]), x,
                        x[..., -1:, :, :].expand(*x.shape[:-3], pad, *x.shape[-2:])], dim=-3)  # fmt: skip
    return padded.unfold(-3, SMOOTH_FRAMES, 1).mean(-1)


def wrist_height(joints: torch.Tensor, floor: torch.Tensor) -> torch.Tensor:
    """(..., N, 22, 3) -> (...): mean height of the wrists over the neck (m)."""
    return (joints[..., list(WRISTS), 1].mean(-1) - joints[..., J["neck"], 1]).mean(-1)


def foot_clearance(joints: torch.Tensor, floor: torch.Tensor) -> torch.Tensor:
    """(..., N, 22, 3) -> (...): the most both feet are off the floor at once (m): a jump."""
    lowest = joints[..., list(FEET), 1].min(-1).values  # (..., N)
    return lowest.max(-1).values - floor


def pelvis_height(joints: torch.Tensor, floor: torch.Tensor) -> torch.Tensor:
    """(..., N, 22, 3) -> (...): the pelvis' mean height over the floor (m): the stance."""
    return joints[..., 0, 1].mean(-1) - floor


def pose_spread(joints: torch.Tensor, floor: torch.Tensor) -> torch.Tensor:
    """(..., N, 22, 3) -> (...): mean distance of the pelvis-relative joints from their mean pose
    over the span, in the body's own frame (m): how big the movements are. Each frame is turned so
    the hips face one way first, so turning on the spot is not a bigger movement (measured in world
    axes, "bigger movements" was reached partly by spinning: the waltz turned 1.6x as fast)."""
    facing = yaw_matrix(-hip_yaw(joints))  # (..., N, 3, 3) hips onto +x
    body = (joints - joints[..., :1, :]) @ facing.transpose(-1, -2)  # as movement.body_frame
    return (body - body.mean(-3, keepdim=True)).norm(dim=-1).mean((-1, -2))


def joint_speed(joints: torch.Tensor, floor: torch.Tensor) -> torch.Tensor:
    """(..., N, 22, 3) -> (...): mean speed of the joints, smoothed positions (m per frame)."""
    smooth = _smooth(joints)
    return (smooth[..., 1:, :, :] - smooth[..., :-1, :, :]).norm(dim=-1).mean((-1, -2))


def root_wander(joints: torch.Tensor, floor: torch.Tensor) -> torch.Tensor:
    """(..., N, 22, 3) -> (...): how far the pelvis travels off the smooth straight way between
    where it is at the span's ends, smoothed (m): the travelling a span can add or drop while the
    dance still rejoins its stage positions after it."""
    root = _smooth(joints[..., :1, :])[..., 0, :][..., [0, 2]]  # (..., N, 2)
    share = straight_share(root.shape[-2], root.dtype).to(root.device)[:, None]
    off = root - (root[..., :1, :] + share * (root[..., -1:, :] - root[..., :1, :]))
    return (off[..., 1:, :] - off[..., :-1, :]).norm(dim=-1).sum(-1)


def straight_share(count: int, dtype: torch.dtype) -> torch.Tensor:
    """(count,) how far along the smooth straight way between a span's first and last frames each
    frame is: 0 at the first, 1 at the last, with zero slope at both."""
    share = ramp(count - 2, dtype)
    return torch.cat([share.new_zeros(1), share, share.new_ones(1)])


def hip_yaw(joints: torch.Tensor) -> torch.Tensor:
    """(..., N, 22, 3) -> (..., N): the yaw (rad, anticlockwise seen from above) of the line
    through the hips."""
    across = joints[..., J["left_hip"], :] - joints[..., J["right_hip"], :]
    return torch.atan2(-across[..., 2], across[..., 0])


def turn(joints: torch.Tensor, floor: torch.Tensor) -> torch.Tensor:
    """(..., N, 22, 3) -> (...): the body's net turn about the vertical over the span (degrees,
    anticlockwise seen from above): the turn of the line through the hips, which only the pelvis
    turns. (``motion.heading`` adds the shoulders, which the arm instructions move: with them,
    "arms lower and spin" measured a full turn as 335 degrees.)"""
    yaw = hip_yaw(joints)  # (..., N)
    step = torch.remainder(yaw[..., 1:] - yaw[..., :-1] + math.pi, 2 * math.pi) - math.pi
    return torch.rad2deg(step.sum(-1))


@dataclass(frozen=True)
class Effect:
    """What an instruction must do to the span, measurably."""

    name: str
    phrases: tuple[str, ...]
    prompt: str  # the segment's text afterwards
    measure: Measure
    unit: str
    sign: int  # +1: the measure must grow, -1: shrink
    amount: float  # by at least this much (a difference, or a ratio's distance from 1)
    ratio: bool = False
    joints: tuple[int, ...] | None = None  # the joints it may move; None: the whole body
    method: str = "tokens"  # or "motion": an exact motion-space operation

    def change(self, old: torch.Tensor, new: torch.Tensor) -> float:
        """The measured change, new against old (a ratio or a difference)."""
        return float(new / old.clamp_min(1e-6)) if self.ratio else float(new - old)

    def reached(self, change: float) -> bool:
        """The change goes the right way by at least the stated amount."""
        if self.ratio:
            return change >= 1 + self.amount if self.sign > 0 else change <= 1 - self.amount
        return self.sign * change >= self.amount

    @property
    def target(self) -> str:
        if self.ratio:
            return f"x{1 + self.sign * self.amount:.2f}"
        return f"{self.sign * self.amount:+g} {self.unit}"


def _effect(name: str, phrases: str, prompt: str, measure: Measure, unit: str, sign: int, amount: float,
            **more) -> Effect:  # fmt: skip
    return Effect(name, (name, *phrases.split("|")), prompt, measure, unit, sign, amount, **more)


# fmt: off
EFFECTS = (
    _effect("raise the arms", "raise both arms|arms up|raise arms|lift the arms|hands up|"
            "arms higher|hands above the head|arms above the head",
            "a person dances with both arms raised above the head", wrist_height, "m", +1, 0.15, joints=ARMS),
    _effect("arms lower", "lower the arms|arms down|lower arms|hands down|drop the arms|arms low",
            "a person dances with the arms low by the sides", wrist_height, "m", -1, 0.10, joints=ARMS),
    _effect("jump", "jumps|jumping|hop|leap|jump high", "a person jumps high", foot_clearance, "m", +1, 0.15),
    _effect("spin", "spins|spin around|turn around|full turn|a full turn|twirl|pirouette",
            "a person spins around", turn, "deg", +1, 355.0, method="motion"),
    _effect("lower the stance", "lower stance|get lower|bend the knees|crouch|squat|go lower|lower",
            "a person dances low with bent knees", pelvis_height, "m", -1, 0.08),
    _effect("bigger movements", "bigger|bigger moves|larger movements|move more|more energy|more energetic",
            "a person dances with big energetic movements", pose_spread, "", +1, 0.2, ratio=True),
    _effect("smaller movements", "smaller|smaller moves|move less|less energy|more subtle|calmer",
            "a person dances with small subtle movements", pose_spread, "", -1, 0.2, ratio=True),
    _effect("travel more", "travel|move around|cover more ground|move across the stage|more travelling",
            "a person travels across the floor while dancing", root_wander, "", +1, 0.5, ratio=True),
    _effect("stay in place", "stay put|dance in place|don't travel|do not travel|travel less|on the spot",
            "a person dances on the spot", root_wander, "", -1, 0.5, ratio=True),
    _effect("faster", "speed up|quicker|more quickly|move faster|fast",
            "a person dances fast", joint_speed, "", +1, 0.2, ratio=True),
    _effect("slower", "slow down|more slowly|move slower|slow", "a person dances slowly",
            joint_speed, "", -1, 0.2, ratio=True),
)
# fmt: on
BY_NAME = {effect.name: effect for effect in EFFECTS}
_PHRASES = sorted(((p, e) for e in EFFECTS for p in e.phrases), key=lambda pe: -len(pe[0]))
_SPLIT = re.compile(r"\s*(?:,|;|\band then\b|\bthen\b|\band\b|&|\+)\s*", re.IGNORECASE)
_FILLER = re.compile(r"^(?:please|now|also|and|a bit|a little|more|some)\s+|[.!]+$")


@dataclass(frozen=True)
class Parsed:
    """The effects an instruction names, in order, and the parts that matched none (as typed)."""

    effects: tuple[Effect, ...]
    unknown: tuple[str, ...]


def parse(instruction: str) -> Parsed:
    """Split on "and", "then" and commas; each part is an effect's phrase or stays unknown."""
    parts = [p.strip(" .!?") for p in _SPLIT.split(instruction.strip())]
    parts = [p for p in parts if p]
    if not parts:
        raise ValueError("type an instruction, e.g. 'raise the arms and spin'; known: " + known())
    effects: list[Effect] = []
    unknown: list[str] = []
    for part in parts:
        effect = _match(part.lower())
        if effect is None:
            unknown.append(part)
        elif effect not in effects:
            effects.append(effect)
    names = {e.name for e in effects}
    for a, b in (("raise the arms", "arms lower"), ("bigger movements", "smaller movements"),
                 ("travel more", "stay in place"), ("faster", "slower")):  # fmt: skip
        if {a, b} <= names:
            raise ValueError(f"'{a}' and '{b}' contradict each other: ask for one of them")
    return Parsed(tuple(effects), tuple(unknown))


def _match(part: str) -> Effect | None:
    """The effect whose phrase the part is, as typed or without fillers like "please" and "a bit"."""
    text = part.replace("your ", "the ").replace("his ", "the ").replace("her ", "the ")
    while True:
        effect = next((effect for phrase, effect in _PHRASES if text == phrase), None)
        stripped = _FILLER.sub("", text).strip()
        if effect is not None or stripped == text:
            return effect
        text = stripped


def known() -> str:
    return ", ".join(effect.name for effect in EFFECTS)


def floor_height(joints: torch.Tensor) -> torch.Tensor:
    """(N, 22, 3) -> (): the floor under a span: its lowest foot point."""
    return joints[:, list(FEET), 1].min()


# Exact motion-space operations (method="motion"): they change the root rotation and path only.


def spin(motion: Motion, start: int, end: int) -> Motion:
    """One full turn (anticlockwise seen from above) in the middle of [start, end): the pelvis
    turns and the root's path turns with it about the turn's first position. At a full turn the
    body faces where it faced and the path continues from where it would have, so nothing jumps."""
    length = min(end - start, round(SPIN_SECONDS * motion.fps))
    first = start + (end - start - length) // 2
    angle = torch.zeros(end - start, dtype=motion.root.dtype)
    angle[first - start : first - start + length] = 2 * math.pi * ramp(length, motion.root.dtype)
    angle[first - start + length :] = 2 * math.pi
    yaw = yaw_matrix(angle)
    rotations, root = motion.rotations.clone(), motion.root.clone()
    rotations[start:end, 0] = yaw @ rotations[start:end, 0]
    pivot = motion.root[max(first - 1, 0)]
    root[start:end] = pivot + ((motion.root[start:end] - pivot)[:, None, :] @ yaw.transpose(-1, -2))[:, 0]
    return Motion(rotations, root, motion.fps)


OPERATIONS: dict[str, Callable[[Motion, int, int], Motion]] = {"spin": spin}


# The objective that token steering follows (method="tokens"), on the decoded joints of a window.

OVERSHOOT = 1.5  # aim past the stated amount: re-quantisation and the blend zones give some back


def moving_joints(effects: tuple[Effect, ...]) -> tuple[int, ...] | None:
    """The joints the effects may move together; None when one of them moves the whole body."""
    if any(effect.joints is None for effect in effects):
        return None
    return tuple(sorted({j for effect in effects for j in effect.joints}))


Finish = Callable[[torch.Tensor, torch.Tensor], Motion]  # a span's new decoding -> the dance's motion there


def objective(
    effects: tuple[Effect, ...], rotations: torch.Tensor, root: torch.Tensor, span: slice,
    finish: Finish | None = None, jump_cap: float | None = None,
) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:  # fmt: skip
    """A loss on a window's decoded (B, T, 22, 3, 3) local rotations and (B, T, 3) root: a hinge
    per effect that is 0 once its measure over ``span`` has gone OVERSHOOT times the stated amount
    the right way from the start (``rotations`` (T, 22, 3, 3), ``root`` (T, 3)); with
    ``jump_cap``, plus a hinge on every speed jump over the span above it, or above the start's
    own jump there where that is larger (``over_cap``).

    The loss sees the body the dance will have. ``finish`` (differentiable) turns the span's
    decoding into the dance's motion over the span (the engine carries the change onto the dance
    and fades it at the borders); without it, the decoding is the dance. When the effects may
    move only some joints, those joints take their new local rotations under every other joint
    (and the root) as it was, as the splice will make them. So the steering is not held back by,
    nor credited for, changes that will not reach the dance."""
    finish = finish or (lambda r, t: Motion(r, t))
    start = finish(rotations[span], root[span]).joints()
    floor = floor_height(start)
    goals = []
    for effect in effects:
        old = effect.measure(start, floor).detach()
        step = effect.sign * OVERSHOOT * effect.amount
        goal, scale = (old * (1 + step), old * effect.amount) if effect.ratio else (old + step, effect.amount)
        goals.append((effect, goal, scale.clamp_min(1e-6) if torch.is_tensor(scale) else scale))
    # The cap, or the jump the span already has where it is larger: the steering must not add
    # jerks, and cannot be asked to take out the decoding's own (it would stall on them).
    allowed = None if jump_cap is None else joint_speed_jumps(start).clamp_min(jump_cap).detach()
    moving = moving_joints(effects)
    mask = torch.zeros(skeleton.NUM_BODY_JOINTS, 1, 1, dtype=torch.bool, device=rotations.device)
    mask[list(range(skeleton.NUM_BODY_JOINTS)) if moving is None else list(moving)] = True

    def loss(new_rotations: torch.Tensor, new_root: torch.Tensor) -> torch.Tensor:
        if moving is not None:
            new_rotations, new_root = torch.where(mask, new_rotations, rotations), root.expand_as(new_root)
        finished = [finish(r[span], t[span]) for r, t in zip(new_rotations, new_root, strict=True)]
        joints = torch.stack([motion.joints() for motion in finished])  # (B, N, 22, 3)
        hinges = sum(torch.relu(effect.sign * (goal - effect.measure(joints, floor))) / scale
                     for effect, goal, scale in goals)  # fmt: skip
        return hinges if jump_cap is None else hinges + over_cap(joints, allowed, jump_cap)

    return loss


def over_cap(joints: torch.Tensor, allowed: torch.Tensor | float, unit: float) -> torch.Tensor:
    """(..., N, 22, 3) -> (...): how far the joints' speed jumps go over ``allowed`` (a cap, or
    one per frame and joint), summed, in ``unit`` m/s. With the dance's own largest jump as the
    cap, steering is held to new motion no jerkier than the dance: on the starter, steered spans
    had made jumps of 25 m/s at a border where the dance itself jumped 7, in 20 of 264 edits."""
    return torch.relu(joint_speed_jumps(joints) - allowed).sum((-1, -2)) / unit


@dataclass(frozen=True)
class Outcome:
    """An effect as measured on the edited dance against the dance before, over the span."""

    effect: str
    change: float  # a ratio or a difference, in the effect's unit
    target: str
    reached: bool

    def __str__(self) -> str:
        effect = BY_NAME[self.effect]
        amount = f"x{self.change:.2f}" if effect.ratio else f"{self.change:+.2f} {effect.unit}"
        verdict = "reached" if self.reached else "NOT reached"
        return f"{self.effect}: {amount} (target {self.target}, {verdict})"


def outcomes(
    effects: tuple[Effect, ...], old: Motion, new: Motion, start: int, end: int
) -> tuple[Outcome, ...]:
    """Each effect measured on ``new`` against ``old`` over frames [start, end), world space."""
    before, after = old.slice(start, end).joints(), new.slice(start, end).joints()
    floor = floor_height(before)
    results = []
    for effect in effects:
        change = effect.change(effect.measure(before, floor), effect.measure(after, floor))
        results.append(Outcome(effect.name, change, effect.target, effect.reached(change)))
    return tuple(results)


def summary(results: tuple[Outcome, ...], unknown: tuple[str, ...]) -> str:
    """What the studio says after an instruction: each effect measured, and what fell back to text."""
    lines = [str(result) for result in results]
    if unknown:
        said = "; ".join(f"'{part}'" for part in unknown)
        lines.append(f"not a measurable instruction: {said}; the span was regenerated with it as its "
                     f"prompt (known: {known()})")  # fmt: skip
    return "\n".join(lines)
