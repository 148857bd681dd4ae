"""Filling free tokens window by window: generation, in-betweening, out-painting, body-part editing
and long-form songs are all this one routine with different free tokens and conditions.

The model sees at most ``window`` tokens at a time. Each window covers the first still-free run of
tokens plus some already-decided context on either side, which it keeps token-exact; so a whole
song is generated as overlapping windows that continue one another, and an edit regenerates only
its span while its neighbours stay exactly as they were.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from dancemosaic import conditioning
from dancemosaic.dance import PoseTarget
from dancemosaic.model import DanceModel
from dancemosaic.refine import RefineOptions, refine_codes
from dancemosaic.rhythm import BeatOptions, beat_codes
from dancemosaic.sampling import SamplingOptions, decode_residual, decode_tokens
from dancemosaic.timing import FRAMES_PER_TOKEN
from dancemosaic.transformer import Conditions

CONTEXT_TOKENS = 16  # decided tokens shown on each side of a window's free run (about 2 s)
HEAL_TOKENS = 4  # tokens regenerated on each side of a seam between windows (about 0.5 s)
BEAT_WINDOW_TOKENS = 480  # beat refinement optimises up to a minute at once (bounded memory)


@dataclass(frozen=True)
class Signals:
    """Conditions over the whole dance: one text embedding, music frames, optional pose targets.

    ``root`` (T, 3) is the current root trajectory, used to express pose targets in each window's
    own frame (a window decodes with its first root position at the origin). ``beats`` are the
    song's beat frames, for beat refinement.
    """

    text: torch.Tensor  # (Dt,)
    music: torch.Tensor | None  # (T, 38)
    pose: PoseTarget | None
    root: torch.Tensor | None  # (T, 3)
    beats: np.ndarray | None = None  # (B,) int frames


def next_window(free: torch.Tensor, window: int) -> tuple[int, int]:
    """(L,) bool -> [start, end) token window around the first free run, with context both sides.

    A free run that ends the sequence (a generation, an extension) is finished in this window
    when half the context is enough to fit it, rather than left as a sliver for one more window:
    each window costs a whole decoding, and each seam a healing one."""
    length = len(free)
    first = int(free.nonzero()[0])
    context = _context(window)
    free_end = first
    while free_end < length and free[free_end]:
        free_end += 1
    last = free_end == length and free_end - first <= window - context // 2
    run_end = free_end if last else min(free_end, first + window - context)
    spare = window - (run_end - first)
    left = min(first, max(min(context, spare), spare - (length - run_end)))
    start = first - left
    return start, min(length, start + window)


def _context(window: int) -> int:
    """Decided tokens shown beside a window's free run: a short window still decides a token."""
    return min(CONTEXT_TOKENS, window // 2)


def _window_conditions(signals: Signals, start: int, end: int, device: torch.device) -> Conditions:
    n, frames = end - start, slice(start * FRAMES_PER_TOKEN, end * FRAMES_PER_TOKEN)
    yes, no = torch.ones(1, dtype=torch.bool), torch.zeros(1, dtype=torch.bool)
    music = torch.zeros(1, n, conditioning.MUSIC_DIM)
    if signals.music is not None:
        music = conditioning.music_signal(signals.music[frames][None], n)
    pose = torch.zeros(1, n, conditioning.POSE_DIM)
    if signals.pose is not None:
        target, mask = _window_pose(signals, frames)
        pose = conditioning.pose_signal(target[None], mask[None], n)
    cond = (signals.text[None], yes, music, yes if signals.music is not None else no, pose,
            yes if signals.pose is not None else no)  # fmt: skip
    return Conditions(*(t.to(device) for t in cond))


def _window_pose(signals: Signals, frames: slice) -> tuple[torch.Tensor, torch.Tensor]:
    """Pose targets of a window, moved so that the window's first root position is at x = z = 0."""
    target, mask = signals.pose.joints[frames], signals.pose.mask[frames]
    origin = signals.root[frames.start] * torch.tensor([1.0, 0.0, 1.0]) if signals.root is not None else 0.0
    return target - origin, mask


def fill(
    model: DanceModel,
    codes: torch.Tensor,
    free: torch.Tensor,
    signals: Signals,
    options: SamplingOptions,
    generator: torch.Generator,
    progress: Callable[[float], None] | None = None,
) -> torch.Tensor:
    """Codes (L, Q) with ``free`` (L,) tokens regenerated; the others are returned token-exact.

    Where a window continued from tokens an earlier window decided (a seam), a second pass
    regenerates HEAL_TOKENS on each side of the seam with context on both sides: a window only
    sees its left neighbour, so its first tokens can jump; the healing pass sees both.
    """
    report = progress or (lambda fraction: None)
    codes, seams = _fill_pass(model, codes, free, signals, options, generator, lambda f: report(0.8 * f))
    band = torch.zeros_like(free)
    for seam in seams:
        band[max(0, seam - HEAL_TOKENS) : seam + HEAL_TOKENS] = True
    band &= free  # never touch tokens the caller keeps
    if band.any():
        codes = _heal(model, codes, band, signals, options, generator)
    report(1.0)
    return codes


def _runs(mask: torch.Tensor) -> list[tuple[int, int]]:
    """(L,) bool -> the [start, end) runs of True."""
    edge = torch.zeros(1, dtype=torch.int)
    steps = torch.diff(mask.int(), prepend=edge, append=edge)
    return list(zip(steps.eq(1).nonzero()[:, 0].tolist(), steps.eq(-1).nonzero()[:, 0].tolist(), strict=True))


def _heal(
    model: DanceModel,
    codes: torch.Tensor,
    band: torch.Tensor,
    signals: Signals,
    options: SamplingOptions,
    generator: torch.Generator,
) -> torch.Tensor:
    """Regenerate each run of ``band`` in its own window (in pieces, where a run is longer than a
    window decides), all in one batched decoding: each sees the first pass's tokens on both sides.
    A long song has a seam every 3 s; one decoding per seam made healing half the decoding time."""
    most = model.window - _context(model.window)  # what one window decides
    runs = [(a, min(a + most, end)) for start, end in _runs(band) for a in range(start, end, most)]
    windows = []
    for first, end in runs:
        run = torch.zeros_like(band)
        run[first:end] = True
        windows.append(next_window(run, model.window))
    width = max(end - start for start, end in windows)
    device = next(model.parameters()).device
    cond = _stacked([_window_conditions(signals, start, end, device) for start, end in windows], width)
    known, keep, padding = _batched_codes(codes, windows, runs, width, device)
    base = decode_tokens(
        model.masked, cond, width, known[..., 0], keep, options=options, generator=generator, padding=padding
    )
    filled = decode_residual(
        model.residual, model.tokenizer, base, cond.text, cond.text_present, known, keep,
        options=options, generator=generator, padding=padding,
    ).cpu()  # fmt: skip
    codes = codes.clone()
    for i, ((start, _), (first, last)) in enumerate(zip(windows, runs, strict=True)):
        codes[first:last] = filled[i, first - start : last - start]
    return codes


def _batched_codes(
    codes: torch.Tensor, windows: list[tuple[int, int]], runs: list[tuple[int, int]], width: int,
    device: torch.device,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:  # fmt: skip
    """Each window's codes (B, width, Q), what it keeps (all but its run) and its padding (B, width)."""
    known = torch.zeros(len(windows), width, codes.shape[1], dtype=codes.dtype, device=device)
    keep = torch.ones(len(windows), width, dtype=torch.bool, device=device)
    padding = torch.ones(len(windows), width, dtype=torch.bool, device=device)
    for i, ((start, end), (first, last)) in enumerate(zip(windows, runs, strict=True)):
        known[i, : end - start] = codes[start:end].to(device)
        keep[i, first - start : last - start] = False
        padding[i, : end - start] = False
    return known, keep, padding


def _stacked(conds: list[Conditions], width: int) -> Conditions:
    """Single-window conditions (1, n, ...) as one batch, the per-token signals padded to ``width``."""

    def padded(signal: torch.Tensor) -> torch.Tensor:
        return F.pad(signal, (0, 0, 0, width - signal.shape[1]))

    return Conditions(
        torch.cat([c.text for c in conds]),
        torch.cat([c.text_present for c in conds]),
        torch.cat([padded(c.music) for c in conds]),
        torch.cat([c.music_present for c in conds]),
        torch.cat([padded(c.pose) for c in conds]),
        torch.cat([c.pose_present for c in conds]),
    )


def _fill_pass(
    model: DanceModel,
    codes: torch.Tensor,
    free: torch.Tensor,
    signals: Signals,
    options: SamplingOptions,
    generator: torch.Generator,
    progress: Callable[[float], None],
) -> tuple[torch.Tensor, list[int]]:
    """One left-to-right pass over the free tokens; returns the codes and the seams it made."""
    codes, free, total, seams = codes.clone(), free.clone(), int(free.sum()), []
    window = model.window
    device = next(model.parameters()).device
    started = False
    while free.any():
        start, end = next_window(free, window)
        first = int(free.nonzero()[0])
        if started and start < first:
            seams.append(first)
        started = True
        cond = _window_conditions(signals, start, end, device)
        keep = ~free[start:end][None].to(device)
        known = codes[start:end][None].to(device)
        base = decode_tokens(
            model.masked, cond, end - start, known[..., 0], keep, options=options, generator=generator
        )
        filled = decode_residual(
            model.residual, model.tokenizer, base, cond.text, cond.text_present, known, keep,
            options=options, generator=generator,
        )  # fmt: skip
        codes[start:end] = filled[0].cpu()
        free[start:end] = False
        progress(1 - int(free.sum()) / max(total, 1))
    return codes, seams


def span_windows(span: torch.Tensor, window: int) -> Iterator[tuple[int, int, float, float]]:
    """[start, end) token windows, context included, that together cover ``span`` (L,) once, each
    with the share of the span covered before it and the share it covers (for progress)."""
    todo, total = span.clone(), max(int(span.sum()), 1)
    while todo.any():
        start, end = next_window(todo, window)
        done, share = 1 - int(todo.sum()) / total, int(todo[start:end].sum()) / total
        todo[start:end] = False
        yield start, end, done, share


def refine_span(
    model: DanceModel, codes: torch.Tensor, span: torch.Tensor, signals: Signals, options: RefineOptions
) -> tuple[torch.Tensor, float]:
    """Inference-time token optimisation towards the pose targets, over windows covering ``span``."""
    codes, distances = codes.clone(), []
    device = next(model.parameters()).device
    for start, end, _, _ in span_windows(span, model.window):
        frames = slice(start * FRAMES_PER_TOKEN, end * FRAMES_PER_TOKEN)
        target, mask = _window_pose(signals, frames)
        window_codes, keep = codes[start:end][None].to(device), ~span[start:end][None].to(device)
        refined, distance = refine_codes(
            model.tokenizer, window_codes, target[None].to(device), mask[None].to(device), keep, options
        )
        codes[start:end] = refined[0].cpu()
        distances.append(float(distance[0]))
    return codes, sum(distances) / len(distances)


def refine_beats_span(
    model: DanceModel,
    codes: torch.Tensor,
    span: torch.Tensor,
    beats: np.ndarray,
    options: BeatOptions,
    progress: Callable[[float], None] | None = None,
) -> torch.Tensor:
    """Beat-guided token optimisation of the ``span`` tokens, over windows with kept context."""
    codes = codes.clone()
    device = next(model.parameters()).device
    report = progress or (lambda fraction: None)
    for start, end, done, share in span_windows(span, BEAT_WINDOW_TOKENS):
        frames = (end - start) * FRAMES_PER_TOKEN
        local = beats - start * FRAMES_PER_TOKEN
        local = local[(local >= 0) & (local < frames)]
        window_codes, keep = codes[start:end][None].to(device), ~span[start:end][None].to(device)
        refined = beat_codes(
            model.tokenizer, window_codes, local, keep, frames, options,
            lambda f, done=done, share=share: report(done + share * f),
        )  # fmt: skip
        codes[start:end] = refined[0].cpu()
    return codes
