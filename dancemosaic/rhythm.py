"""Beat-guided token optimisation: inference-time refinement that puts the dance's kinematic beats
on the song's beats, with every network frozen (the same machinery as the pose refinement in
``refine.py``, with a rhythm objective instead of joint targets).

Why: the music tower, trained on a few hundred built pairs, decides *what* to dance well but
places its accents loosely: its dances score BAS 0.21-0.23 on training music, where the built
pairs score 0.33. A kinematic beat is a local minimum of the body's smoothed speed
(``metrics.motion_beats``: mean joint displacement per frame, Gaussian sigma 5 frames), so the
objective asks for exactly that on each target beat:

- **beat**: on each target beat b, the smoothed speed is below its value 2, 3 and 4 frames to
  either side (a hinge with a small margin), so the nearest minimum lies within a frame of b;
- **plant**: feet that were planted before (slow, and low over the floor around them) stay put,
  so the new accents do not come from sliding feet;
- **proximity**: the latent stays near where it started, so the dance keeps its moves.

Target beats are every beat, or every other beat when the song's beats come less than
MIN_BEAT_FRAMES apart: a minimum needs room on both sides to survive the sigma 5 smoothing, and
dancers step on the half-time of fast music anyway. The half-time phase is the one where the
dance is already slower, which asks for the smaller change. (Songs above 150 BPM arrive already
counted on their half-time, ``music.danced_beats``, which the music tower hears too; between
about 112 and 150 BPM the tower hears every beat and only the accents land on every other one.)

Quantisation is straight-through: the forward pass decodes the re-quantised latent, so the
optimisation sees the codes it will end with. (Optimising the continuous latent alone reached BAS
0.49 on training music and lost most of it, down to 0.18-0.27, when re-quantised at the end.)
A result whose BAS against the song's beats is lower than before is discarded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from dancemosaic import metrics
from dancemosaic.adam import Adam
from dancemosaic.motion import foot_contacts
from dancemosaic.refine import latent_joints, quantize
from dancemosaic.skeleton import FOOT_JOINTS
from dancemosaic.timing import FPS
from dancemosaic.tokenizer import MotionTokenizer

SPEED_SIGMA = 5.0  # frames: the Gaussian of metrics.motion_beats
SPEED_RADIUS = int(4 * SPEED_SIGMA + 0.5)  # scipy's gaussian_filter1d truncates at 4 sigma
MIN_BEAT_FRAMES = 16  # beats closer than this are danced on the half-time
NEIGHBOURS = (2, 3, 4)  # frames either side that a beat's speed must stay below
MARGIN = 0.02  # of the mean speed: how clearly below
SLIDE_SCALE = 0.01  # m per frame: a planted foot moving this much costs 1
FLOOR_FRAMES = 30  # the floor under a frame is the lowest toe within a second either side


SYNC_STEPS = 25  # refinement steps that put most accents on the beat, when the user asks for it


@dataclass(frozen=True)
class BeatOptions:
    """``steps`` Adam steps of relative size ``eta``; weights of the plant and proximity terms.

    Off by default (``steps`` 0; SYNC_STEPS is the setting to turn it on with). Real dancers put
    only some of their accents on the beat: on the recorded Dance with Melody pairs their BAS is
    about 0.2, and 25 steps of refinement push a dance to 0.41-0.48 on the same training songs
    (`benchmarks/movement.py`), far past a dancer. The studio's Beat sync slider turns it on.
    """

    steps: int = 0
    eta: float = 0.04
    plant: float = 1.0
    proximity: float = 0.1

    def __post_init__(self) -> None:
        if self.steps < 0:
            raise ValueError(f"steps={self.steps} must be >= 0")
        if not self.eta > 0:
            raise ValueError(f"eta={self.eta} must be > 0")
        if self.plant < 0 or self.proximity < 0:
            raise ValueError("the plant and proximity weights must be >= 0")


def smoothed_speed(joints: torch.Tensor) -> torch.Tensor:
    """(B, T, J, 3) -> (B, T-1): mean joint displacement per frame, Gaussian-smoothed exactly as
    ``metrics.motion_beats`` does (sigma 5, scipy's "reflect" edges); needs T > SPEED_RADIUS + 1."""
    speed = (joints[:, 1:] - joints[:, :-1]).norm(dim=-1).mean(-1)  # (B, T-1)
    r = SPEED_RADIUS
    padded = torch.cat([speed[:, :r].flip(-1), speed, speed[:, -r:].flip(-1)], dim=-1)
    x = torch.arange(-r, r + 1, dtype=speed.dtype, device=speed.device)
    kernel = torch.exp(-(x**2) / (2 * SPEED_SIGMA**2))
    return F.conv1d(padded[:, None], (kernel / kernel.sum())[None, None])[:, 0]


def target_beats(beats: np.ndarray, speed: np.ndarray) -> np.ndarray:
    """The beat frames to put minima on, given the current smoothed ``speed`` (T-1,)."""
    reach = max(NEIGHBOURS)
    beats = np.asarray(beats, dtype=np.int64)
    beats = beats[(beats >= reach) & (beats < len(speed) - reach)]
    if len(beats) < 2 or np.median(np.diff(beats)) >= MIN_BEAT_FRAMES:
        return beats
    return min((beats[0::2], beats[1::2]), key=lambda phase: float(speed[phase].mean()))


def beat_loss(speed: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """(B, T-1) speed, (N,) target frames -> (B,): hinge on each target beat not being a minimum."""
    margin = MARGIN * speed.mean(-1, keepdim=True).detach()
    here = speed[:, targets]
    hinge = sum(
        F.relu(here - speed[:, targets + k] + margin) + F.relu(here - speed[:, targets - k] + margin)
        for k in NEIGHBOURS
    )
    return (hinge / speed.mean(-1, keepdim=True).detach()).mean(-1)


def planted_feet(joints: torch.Tensor) -> torch.Tensor:
    """(T, J, 3) -> (T, 4) ``motion.foot_contacts`` against the floor around each frame (the lowest
    toe within FLOOR_FRAMES either side), not one floor for the clip: decoded dances drift up and
    down by more than a foot's lift over a minute, which would leave no foot planted.
    """
    toes = joints[:, [FOOT_JOINTS[1], FOOT_JOINTS[3]], 1].min(-1).values  # (T,)
    floor = -F.max_pool1d(-toes[None, None], 2 * FLOOR_FRAMES + 1, 1, FLOOR_FRAMES)[0, 0]  # running min
    return foot_contacts(joints, FPS, floor)


def plant_loss(joints: torch.Tensor, planted: torch.Tensor) -> torch.Tensor:
    """(B, T, J, 3) joints, (B, T-1, 4) planted flags -> (B,): how far planted feet slide."""
    feet = joints[:, :, list(FOOT_JOINTS)]
    slide = (feet[:, 1:] - feet[:, :-1])[..., [0, 2]].norm(dim=-1)  # (B, T-1, 4)
    return (slide * planted).sum((1, 2)) / planted.sum((1, 2)).clamp_min(1.0) / SLIDE_SCALE


def beat_codes(
    tokenizer: MotionTokenizer,
    codes: torch.Tensor,
    beats: np.ndarray,
    keep: torch.Tensor,
    frames: int,
    options: BeatOptions = BeatOptions(),
    progress: Callable[[float], None] | None = None,
) -> torch.Tensor:
    """Codes (1, L, Q) of one window -> refined codes (1, L, Q); tokens where ``keep`` (1, L) is
    True come back exactly as given. ``beats`` are music-beat frames of the window's ``frames``;
    ``progress`` hears the fraction of steps done."""
    if options.steps == 0 or frames <= 2 * SPEED_RADIUS or keep.all():
        return codes
    with torch.no_grad():
        start = tokenizer.quantizer.decode_codes(codes)  # (1, L, D)
        joints = latent_joints(tokenizer, start, frames)
        speed = smoothed_speed(joints)[0].cpu().numpy()
        planted = planted_feet(joints[0])[None, :-1]  # (1, T-1, 4)
    targets = target_beats(beats, speed)
    if len(targets) == 0:
        return codes
    targets = torch.as_tensor(targets, device=codes.device)
    report = progress or (lambda fraction: None)
    latent = _descend(tokenizer, codes, keep, start, targets, planted, frames, options, report)
    with torch.no_grad():
        refined = _snap(tokenizer, latent, codes, keep)
    scores = [_bas(tokenizer, c, beats, frames) for c in (codes, refined)]
    return refined if scores[1] >= scores[0] else codes


def _snap(
    tokenizer: MotionTokenizer, latent: torch.Tensor, codes: torch.Tensor, keep: torch.Tensor
) -> torch.Tensor:
    """The latent re-quantised to codes (1, L, Q), with the kept tokens exactly as they were (greedy
    re-quantisation of an untouched row need not give back its own codes)."""
    return torch.where(keep[..., None], codes, quantize(tokenizer, latent))


def _descend(
    tokenizer: MotionTokenizer,
    codes: torch.Tensor,
    keep: torch.Tensor,
    start: torch.Tensor,
    targets: torch.Tensor,
    planted: torch.Tensor,
    frames: int,
    options: BeatOptions,
    progress: Callable[[float], None],
) -> torch.Tensor:
    """Adam on the latent's editable rows, straight through the re-quantisation; returns (1, L, D)."""
    editable = ~keep[..., None]
    latent = start.clone().requires_grad_(True)
    scale = float(start.pow(2).mean().sqrt().clamp_min(1e-6))
    optimizer = Adam(latent, lr=options.eta * scale)  # torch.optim's, without its import cost
    with torch.enable_grad():
        for step in range(options.steps):
            with torch.no_grad():
                snapped = tokenizer.quantizer.decode_codes(_snap(tokenizer, latent, codes, keep))
            joints = latent_joints(tokenizer, latent + (snapped - latent).detach(), frames)
            loss = (
                beat_loss(smoothed_speed(joints), targets)
                + options.plant * plant_loss(joints, planted)
                + options.proximity * (latent - start).pow(2).mean((1, 2)) / scale**2
            ).sum()
            (grad,) = torch.autograd.grad(loss, latent)
            latent.grad = grad * editable  # kept rows get zero steps from Adam
            optimizer.step()
            progress((step + 1) / options.steps)
    return latent.detach()


def _bas(tokenizer: MotionTokenizer, codes: torch.Tensor, beats: np.ndarray, frames: int) -> float:
    with torch.no_grad():
        joints = latent_joints(tokenizer, tokenizer.quantizer.decode_codes(codes), frames)[0]
    joints = joints.float().cpu().numpy()
    return metrics.beat_alignment_score(metrics.motion_beats(joints), beats, num_frames=frames - 1)
