"""The rows of the evaluation against real dancers (``real_evaluation.py`` scores them).

Per held-out segment (a real dance and its song, ~30 s): the real dance; the full model (the
style's prompt and the song, from where the real dance starts); the model without music (no song:
the prompt alone, so no beat refinement either); without text (text guidance weight 0); retrieval
(the training real dance of the same style whose song's tempo is nearest, cut to length; seed k
takes the k-th nearest); and the sanity rows that must fail: frozen (the real dance's first
pose held), shrunk (the real dance's root-relative movement scaled to 20 %) and the turning statue
(the first pose held while it turns and travels as the dancer did). Model rows dance
each segment once per seed; the other rows hold one dance per segment (retrieval: one per seed).
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

from dancemosaic import movement, music
from dancemosaic.dance import Request
from dancemosaic.datasets.corpus import load_joints, recorded_pairs, style_label
from dancemosaic.engine import DanceEngine
from dancemosaic.real_evaluation import (
    DEFAULT_SECONDS,
    Context,
    Segment,
    build_context,
    held_out_segments,
    held_out_style_row,
    real_vs_real_row,
    sanity,
    score_row,
    song_segment,
    targets,
)
from dancemosaic.sampling import SamplingOptions
from dancemosaic.timing import FPS

log = logging.getLogger(__name__)
Dances = dict[str, list[np.ndarray]]  # segment name -> dances on it

FULL = "full model"
NO_MUSIC = "without music (no song given)"
NO_TEXT = "without text (text guidance 0)"
RETRIEVAL = "retrieval: nearest-tempo training dance of the style"
REAL = "real held-out dances"
FROZEN = "sanity: frozen (first real pose held)"
SHRUNK = "sanity: shrunk (real movement x 0.2)"
STATUE = "sanity: turning statue (first pose, turned as the dancer turns)"
PROBES = {"frozen": (FROZEN, movement.frozen), "shrunk": (SHRUNK, movement.shrunk),
          "statue": (STATUE, movement.turning_statue)}  # fmt: skip


def model_dances(
    engine: DanceEngine, segments: list[Segment], songs: dict[str, Path], seeds: range, with_music: bool,
    options: SamplingOptions, store: Path | None = None,
) -> Dances:  # fmt: skip
    """Each segment danced once per seed. ``store``: a folder where each dance is kept (and found
    again by checkpoint, segment, length and seed), so that a rerun of the scoring needs no decoding."""
    dances: Dances = {}
    for segment in segments:
        seconds = segment.frames / FPS
        song = songs[segment.name] if with_music else None
        for seed in seeds:
            path = (
                store / f"{engine.checkpoint_id}-{segment.name}-{segment.frames}-{seed}.npy"
                if store
                else None
            )
            if path is not None and path.is_file():
                joints = np.load(path, allow_pickle=False)
            else:
                request = Request(segment.prompt, song=song, seed=seed, duration=seconds)
                joints = engine.generate(request, options).motion.joints().numpy()[: segment.frames]
                if path is not None:
                    path.parent.mkdir(parents=True, exist_ok=True)
                    np.save(path, joints)
            dances.setdefault(segment.name, []).append(joints)
            log.info("%s seed %d: %.2f m/s", segment.name, seed, movement.joint_speed(joints))
    return dances


_NO_TEXT = SamplingOptions(guidance=replace(SamplingOptions().guidance, text=0.0))
MODEL_ROWS = (  # name, with the song, options, store subfolder
    (FULL, True, SamplingOptions(), "full"),
    (NO_MUSIC, False, SamplingOptions(), "no-music"),
    (NO_TEXT, True, _NO_TEXT, "no-text"),
)


def _tempo(cache: Path, song: Path) -> float:
    """A training song's tempo: from the pairs' analysis in the cache when there, else analysed."""
    cached = Path(cache) / "music" / f"recorded-{song.stem}.npz"
    if cached.is_file():
        with np.load(cached, allow_pickle=False) as data:
            return float(data["tempo_bpm"])
    return music.analyse_file(song).tempo_bpm


def retrieval_dances(cache: Path, segments: list[Segment], seeds: int) -> Dances:
    """Per segment and seed k: the k-th nearest-tempo training real dance of the style, cut to length."""
    training = recorded_pairs(cache, "train")
    dances: Dances = {}
    for segment in segments:
        candidates = [e for e in training if style_label(e) == segment.style]
        if not candidates:
            raise ValueError(f"no training dance of style {segment.style!r} to retrieve from")
        tempo = music.analyse_file(segment.song).tempo_bpm
        candidates.sort(key=lambda e: abs(_tempo(cache, Path(e["music"])) - tempo))
        picks = [candidates[k % len(candidates)] for k in range(seeds)]
        dances[segment.name] = [load_joints(cache, e)[: segment.frames] for e in picks]
    return dances


def sanity_dances(segments: list[Segment], probe: Callable[[np.ndarray], np.ndarray]) -> Dances:
    return {s.name: [probe(s.real)] for s in segments}


def evaluate(
    cache: Path, engine: DanceEngine | None = None, seeds: int = 8, seconds: float = DEFAULT_SECONDS,
    copy: bool = True, store: Path | None = None, include_copied: bool = False,
) -> list[dict]:  # fmt: skip
    """Every row against the held-out real dances, then the sanity and target verdicts.

    ``include_copied``: the reference keeps the held-out windows that have a training copy
    (by default only novel held-out motion is the reference: ``novel_reference.py``)."""
    segments = held_out_segments(cache, seconds)
    with tempfile.TemporaryDirectory() as folder:
        songs = {s.name: song_segment(s, Path(folder)) for s in segments}
        context = build_context(cache, segments, songs, copy, include_copied=include_copied)
        rows = _rows(cache, engine, segments, songs, context, seeds, store)
    named = {r["name"]: r for r in rows}
    floor = real_vs_real_row(context)
    verdicts = [sanity(named[REAL], floor, {label: named[name] for label, (name, _) in PROBES.items()})]
    if FULL in named:
        others = [named[n] for n in (NO_MUSIC, NO_TEXT, RETRIEVAL)]
        verdicts.append(targets(named[FULL], named[REAL], floor, others))
    return [context.reference_summary, *rows, floor, held_out_style_row(cache, context.classifier), *verdicts]


def _rows(
    cache: Path, engine: DanceEngine | None, segments: list[Segment], songs: dict[str, Path],
    context: Context, seeds: int, store: Path | None,
) -> list[dict]:  # fmt: skip
    rows = [score_row(REAL, {s.name: [s.real] for s in segments}, context, is_reference=True)]
    if engine is not None:
        for name, with_music, options, folder in MODEL_ROWS:
            log.info("dancing: %s", name)
            where = Path(store) / folder if store else None
            dances = model_dances(engine, segments, songs, range(seeds), with_music, options, where)
            rows.append(score_row(name, dances, context))
    rows.append(score_row(RETRIEVAL, retrieval_dances(cache, segments, seeds), context))
    for name, probe in PROBES.values():
        rows.append(score_row(name, sanity_dances(segments, probe), context))
    return rows
