"""Training recordings lose the spans that copy held-out recordings.

The Dance with Melody recordings reuse choreography captured once: the held-out tango's motion lies
in seven training tangos, the held-out cha-cha inside DANCE_C_1, and so on. Training on those
spans teaches the model the held-out answers, and a model that memorised them would score like a
real dancer. So, when the corpus is prepared, each training window (every HOP frames) whose
nearest held-out window is within ``window_distance.COPY_THRESHOLD`` is a copy; the frames of the
copied windows are cut out like NaN spans: the clip splits into the parts between them, parts
under ``MIN_SECONDS`` are dropped, and each part keeps where its music starts.

The held-out windows start on every frame (they are few: minutes, not hours), so a copy is found
wherever it starts in the training recording (see ``window_distance.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from dancemosaic.datasets.clip import Clip
from dancemosaic.datasets.dance_with_melody import MIN_SECONDS, finite_runs
from dancemosaic.motion import Motion, canonicalize
from dancemosaic.window_distance import COPY_THRESHOLD, DIMENSIONS, copied_frames, motion_vectors

log = logging.getLogger(__name__)

HOP = 5  # frames between training windows: a cut edge is found to within HOP - 1 frames


def held_out_pool(clips: Sequence[Clip]) -> np.ndarray:
    """(N, D) vectors of every held-out window, one starting on each frame."""
    found = [motion_vectors(c.motion.joints().numpy(), 1) for c in clips]
    return np.concatenate(found) if found else np.zeros((0, DIMENSIONS), np.float32)


@dataclass(frozen=True)
class Cut:
    """A training clip without its copies of held-out motion."""

    parts: list[Clip]
    frames: int  # of the clip before the cut
    copied: int  # frames inside windows that copy held-out motion
    removed: int  # frames gone: the copied ones and leftovers shorter than MIN_SECONDS

    def as_json(self, fps: float) -> dict:
        return {"seconds": self.frames / fps, "copied_seconds": self.copied / fps,
                "removed_seconds": self.removed / fps, "parts": [p.name for p in self.parts]}  # fmt: skip


def cut_copies(clip: Clip, pool: np.ndarray, threshold: float = COPY_THRESHOLD) -> Cut:
    """``clip`` split around its spans that copy a ``held_out_pool`` window (itself when none does)."""
    motion = clip.motion
    if len(pool) == 0:
        return Cut([clip], motion.num_frames, 0, 0)
    copied = copied_frames(motion.joints().numpy(), pool, HOP, threshold)
    if not copied.any():
        return Cut([clip], motion.num_frames, 0, 0)
    runs = finite_runs(~copied, int(MIN_SECONDS * motion.fps))
    parts = [_part(clip, start, end, i + 1) for i, (start, end) in enumerate(runs)]
    removed = motion.num_frames - sum(end - start for start, end in runs)
    log.info("%s: cut %.1f s that copy held-out recordings (%.1f s removed in all); %d part(s) kept",
             clip.name, copied.sum() / motion.fps, removed / motion.fps, len(parts))  # fmt: skip
    return Cut(parts, motion.num_frames, int(copied.sum()), removed)


def _part(clip: Clip, start: int, end: int, number: int) -> Clip:
    m = clip.motion
    motion = canonicalize(Motion(m.rotations[start:end], m.root[start:end], m.fps))  # on the floor again
    return replace(clip, name=f"{clip.name}-novel{number}", motion=motion,
                   music_offset=clip.music_offset + start / m.fps)  # fmt: skip


def describe(report: dict) -> str:
    """One line for ``prepare``'s summary from the index's ``held_out_copies`` report."""
    cuts = report.get("clips", {})
    removed = sum(c["removed_seconds"] for c in cuts.values()) / 60
    copied = sum(c["copied_seconds"] for c in cuts.values()) / 60
    return (
        f"training recordings that copy held-out ones: {len(cuts)} of {report.get('training_clips', 0)} "
        f"clips cut, {removed:.1f} min removed ({copied:.1f} min copied, the rest leftovers under "
        f"{MIN_SECONDS:g} s; {report.get('threshold_m', COPY_THRESHOLD) * 100:g} cm threshold)"
    )
