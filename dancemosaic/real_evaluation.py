"""The evaluation against real dancers: dances scored against the held-out real music-dance pairs.

Ground truth: every held-out clip recorded with its song (``split == "test"`` with ``music``: the
Dance with Melody ballroom dances). For each, the first ``seconds`` of the real dance and of its
song (from where the dance starts) form one evaluated ``Segment``; a row puts one or more dances on
each segment (``real_rows.py``) and ``score_row`` measures them:

- **FID_k / FID_g** against the held-out real dances, on WINDOW_SECONDS windows every second of
  the segments (FineDance protocol features). Why windows: with four real sequences a Gaussian
  over 66 kinetic dimensions has rank 3 and FID means little; 5 s windows every second give about
  100 real samples (overlapping, so fewer independent ones). **Novel motion only** (by default):
  held-out windows with a training copy (``novel_reference.py``) leave the reference, and every
  row's windows at those places of its song leave too, so each song weighs the same in a row as
  in the reference. The floor is the **real-vs-real** row: every training real dance of the same
  styles (its first ``seconds``), windowed the same way, each style weighing in the Gaussian as
  its songs' reference windows do. Every window, weighted, rather than as many per style as the
  scarcest style has: after the copy cut tango keeps 8 training windows, and a floor drawn 8 per
  style read FID_k 17-101 depending on the draw (``benchmarks/floor_stability.py``; 24-539 on the
  feature scale those 32 windows gave).
- **movement**: root-relative joint speed and pose spread of each dance divided by those of the
  real dance on the same segment (``movement.py``); the pose spread also in the body's own frame
  (``body_spread_ratio``: turning in place does not count) and the turning speed beside it.
- **BAS** (Bailando variant, 30 fps, sigma 3 frames) against two beat trackers: the project's
  (``music.music_beats``) and librosa's defaults, as LODGE (``librosa_beats``).
- **FSR** (LODGE) of each whole dance.
- **style**: the classifier of ``style.py`` (trained on real training dances) names each dance;
  accuracy is the share named as its song's style.
- **no copying** (``copying.py``): each window's distance to its nearest training window, against
  the held-out real dances' own.

``verdicts`` checks which measures reject the sanity rows (frozen, shrunk) while the real dances
pass: only those are headline measures; and which targets of issue 10 a model row meets.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import librosa
import numpy as np
import soundfile

from dancemosaic import copying, metrics, movement, music, novel_reference, style
from dancemosaic.datasets.corpus import load_index, load_joints, recorded_pairs, style_label
from dancemosaic.timing import FPS, HOP_LENGTH, SAMPLE_RATE, seconds_to_frames

log = logging.getLogger(__name__)

WINDOW_SECONDS = 5.0
WINDOW = seconds_to_frames(WINDOW_SECONDS)
WINDOW_HOP = seconds_to_frames(1.0)
DEFAULT_SECONDS = 30.0
CONSTANT_STD = 1e-6  # a feature whose std over the real windows is below this is dropped from FID
COPY_NEAR = 0.01  # m: a window this close to a training window is (nearly) a copy of it


@dataclass(frozen=True)
class Segment:
    """One held-out real dance over the evaluated span, with its song from where it starts."""

    name: str  # DANCE_C_8
    style: str
    prompt: str
    song: Path
    music_offset: float  # seconds into ``song`` where the dance starts
    real: np.ndarray  # (T, 22, 3) the real dance over the segment

    @property
    def frames(self) -> int:
        return len(self.real)


def has_real_pairs(cache: Path) -> bool:
    """Whether the cache holds a held-out real dance recorded with its song."""
    return bool(recorded_pairs(cache, "test"))


def held_out_segments(cache: Path, seconds: float = DEFAULT_SECONDS) -> list[Segment]:
    """The held-out real music-dance pairs, each cut to its first ``seconds`` (and to its song)."""
    segments = real_segments(cache, seconds, split="test")
    if not segments:
        raise ValueError(
            f"the cache at {cache} holds no held-out real music-dance pair: prepare it with the "
            "dance_with_melody folder and its splits/test.txt"
        )
    return segments


def real_segments(cache: Path, seconds: float = DEFAULT_SECONDS, split: str = "test") -> list[Segment]:
    """The real music-dance pairs of ``split`` (not mirrored), each cut to its first ``seconds``
    (and to its song)."""
    segments = []
    for entry in recorded_pairs(cache, split):
        song = Path(entry["music"])
        if not song.is_file():
            raise ValueError(f"the song of {entry['name']} is missing ({song}): pass the shared data folder")
        song_frames = int((soundfile.info(song).duration - entry["music_offset"]) * FPS)
        frames = min(seconds_to_frames(seconds), entry["frames"], song_frames)
        real = load_joints(cache, entry)[:frames]
        name = entry["name"].split("/")[-1]
        segments.append(Segment(name, style_label(entry), entry["text"], song, entry["music_offset"], real))
    return segments


def song_segment(segment: Segment, folder: Path) -> Path:
    """The song from where the real dance starts, as a file the engine can read."""
    if segment.music_offset == 0:
        return segment.song
    rate = soundfile.info(segment.song).samplerate
    audio, rate = soundfile.read(segment.song, start=int(segment.music_offset * rate))
    path = Path(folder) / f"{segment.name}.wav"
    soundfile.write(path, audio, rate)
    return path


def librosa_beats(audio: np.ndarray) -> np.ndarray:
    """Beat frames at 30 fps with librosa's defaults, as LODGE computes them.

    ``onset.onset_strength`` and ``beat.beat_track`` with default settings (tightness 100, trim
    on, start_bpm 120) on audio at SAMPLE_RATE = 30 fps x 512 hop, so beat frames are motion frames.
    """
    onset = librosa.onset.onset_strength(y=audio, sr=SAMPLE_RATE, hop_length=HOP_LENGTH)
    _, beats = librosa.beat.beat_track(onset_envelope=onset, sr=SAMPLE_RATE, hop_length=HOP_LENGTH)
    return np.asarray(beats, dtype=np.int64)


@dataclass(frozen=True)
class Beats:
    project: np.ndarray  # music.music_beats
    librosa: np.ndarray  # librosa_beats


def segment_beats(song: Path, frames: int) -> Beats:
    """Both trackers' beats over the first ``frames`` motion frames of ``song``."""
    audio = music.load_audio(song)[: frames * HOP_LENGTH]
    return Beats(music.music_beats(audio), librosa_beats(audio))


@dataclass(frozen=True)
class FeatureSet:
    """Kinetic and geometric features (FineDance protocol) of a list of windows."""

    kinetic: np.ndarray
    geometric: np.ndarray
    weights: np.ndarray | None = None  # per window, its weight in the FID's Gaussian (None: equal)

    @classmethod
    def of_windows(cls, dances: Sequence[np.ndarray], hop: int = WINDOW_HOP) -> FeatureSet:
        return cls(*metrics.extract_features([w for d in dances for w in style.windows(d, hop, WINDOW)]))

    @classmethod
    def at_kept_places(cls, flat: Sequence[tuple[Segment, np.ndarray]], kept: dict[str, np.ndarray] | None):
        """Windows (every WINDOW_HOP) of dances on segments, only where ``kept[segment]`` is True
        (the k-th window of a dance sits where the k-th window of its segment's real dance does);
        ``kept`` None keeps every window."""
        windows = [
            w
            for segment, dance in flat
            for k, w in enumerate(style.windows(dance, WINDOW_HOP, WINDOW))
            if kept is None or (k < len(kept[segment.name]) and kept[segment.name][k])
        ]
        if not windows:
            raise ValueError("no window of these dances lies where the reference has novel motion")
        return cls(*metrics.extract_features(windows))

    def __len__(self) -> int:
        return len(self.kinetic)


@dataclass(frozen=True)
class Scale:
    """Feature standardisation from the real dances (mean, std per kind; constant features dropped).

    The field normalises by the ground-truth pool, but four held-out dances never show some of the
    32 geometric relations: their std is 0, the 1e-10 guard divides by it and one such relation in
    a generated window sends FID_g to 1e17. The scale therefore comes from every real dance of the
    held-out styles (held-out and training windows); a feature constant over all of them is dropped
    and counted (``n_dropped_features``).
    """

    mean_k: np.ndarray
    std_k: np.ndarray
    mean_g: np.ndarray
    std_g: np.ndarray

    @classmethod
    def of(cls, features: FeatureSet) -> Scale:
        return cls(features.kinetic.mean(0), features.kinetic.std(0), features.geometric.mean(0),
                   features.geometric.std(0))  # fmt: skip

    def apply(self, features: FeatureSet) -> tuple[np.ndarray, np.ndarray]:
        keep_k, keep_g = self.std_k > CONSTANT_STD, self.std_g > CONSTANT_STD
        kinetic = (features.kinetic - self.mean_k)[:, keep_k] / self.std_k[keep_k]
        geometric = (features.geometric - self.mean_g)[:, keep_g] / self.std_g[keep_g]
        return kinetic, geometric

    @property
    def dropped(self) -> int:
        return int((self.std_k <= CONSTANT_STD).sum() + (self.std_g <= CONSTANT_STD).sum())


def fid_scores(generated: FeatureSet, reference: FeatureSet, scale: Scale, prefix: str = "") -> dict:
    """FID_k, FID_g and Div of ``generated`` against ``reference``, both standardised by ``scale``."""
    gen_k, gen_g = scale.apply(generated)
    ref_k, ref_g = scale.apply(reference)
    return {
        f"{prefix}FID_k": metrics.frechet_distance(gen_k, ref_k, generated.weights),
        f"{prefix}FID_g": metrics.frechet_distance(gen_g, ref_g, generated.weights),
        f"{prefix}Div_k": metrics.diversity(gen_k),
        f"{prefix}Div_g": metrics.diversity(gen_g),
        f"{prefix}n_windows": len(generated),
        f"{prefix}n_reference_windows": len(reference),
        f"{prefix}n_dropped_features": scale.dropped,
    }


def style_classifier(cache: Path) -> style.StyleClassifier:
    """The style classifier of the corpus's real training dances, trained once and kept in the cache."""
    index = load_index(cache)
    entries = [e for e in index["clips"] if e["split"] == "train" and not e["mirrored"] and style_label(e)]
    key = style.training_key([e["name"] for e in entries], [e["frames"] for e in entries])
    path = Path(cache) / style.CACHE_FILE
    classifier = style.StyleClassifier.load(path, key)
    if classifier is None:
        log.info("training the style classifier on %d real dances", len(entries))
        classifier = style.train([load_joints(cache, e) for e in entries], [style_label(e) for e in entries])
        classifier.save(path, key)
    return classifier


@dataclass(frozen=True)
class Context:
    """What every row is scored against, computed once."""

    segments: list[Segment]
    beats: dict[str, Beats]
    reference: FeatureSet  # windows of the held-out real segments
    scale: Scale  # from every real window of the held-out styles
    real_training: FeatureSet  # windows of the training real dances, styles weighted as the reference
    classifier: style.StyleClassifier
    copy_pool: np.ndarray | None = None  # copying.training_pool; None skips the no-copying measure
    training_pool: FeatureSet | None = None  # the former protocol's pool: secondary FID only
    kept: dict[str, np.ndarray] | None = None  # per segment, its windows in the reference (None: all)
    reference_summary: dict | None = None  # novel_reference.reference_summary


def build_context(
    cache: Path, segments: list[Segment], songs: dict[str, Path], copy: bool = True, old_pool: bool = True,
    include_copied: bool = False,
) -> Context:  # fmt: skip
    """``include_copied``: keep held-out windows that have a training copy in the reference (the
    former protocol; optimistic for a model that memorises, see ``novel_reference.py``)."""
    from dancemosaic.evaluation import training_pool

    beats = {s.name: segment_beats(songs[s.name], s.frames) for s in segments}
    pool = copying.training_pool(cache) if copy else None
    novel = novel_reference.novel_windows(
        novel_reference.held_out_copy_distances(
            cache, {s.name: s.real for s in segments}, WINDOW_HOP,
            lambda: pool if pool is not None else copying.training_pool(cache),
        )
    )  # fmt: skip
    kept = None if include_copied else novel
    if kept is not None and sum(int(m.sum()) for m in kept.values()) < 2:
        raise ValueError(
            "fewer than 2 held-out windows have no training copy, too few for FID: evaluate longer "
            "segments (--seconds) or include the copies (--include-copied)"
        )
    reference = FeatureSet.at_kept_places([(s, s.real) for s in segments], kept)
    weights = {name: n for name, n in windows_per_style(segments, kept).items() if n > 0}
    frames = max(s.frames for s in segments)
    real_training = weighted_windows(training_real_dances(cache, sorted(weights), frames), weights)
    everything = FeatureSet.of_windows([s.real for s in segments])
    both = FeatureSet(
        np.concatenate([everything.kinetic, real_training.kinetic]),
        np.concatenate([everything.geometric, real_training.geometric]),
    )
    old = FeatureSet(*metrics.extract_features(training_pool(cache))) if old_pool else None
    return Context(
        segments, beats, reference, Scale.of(both), real_training, style_classifier(cache), pool, old,
        kept, novel_reference.reference_summary(novel, include_copied),
    )  # fmt: skip


def windows_per_style(segments: list[Segment], kept: dict[str, np.ndarray] | None) -> dict[str, int]:
    """How many reference windows each style's held-out songs give."""
    counts: dict[str, int] = {}
    for s in segments:
        n = len(style.windows(s.real, WINDOW_HOP, WINDOW)) if kept is None else int(kept[s.name].sum())
        counts[s.style] = counts.get(s.style, 0) + n
    return counts


def training_real_dances(cache: Path, styles: Sequence[str], frames: int) -> dict[str, list[np.ndarray]]:
    """Per style, the first ``frames`` of every training real dance recorded with its song."""
    entries = recorded_pairs(cache, "train")
    return {
        name: [load_joints(cache, e)[:frames] for e in entries if style_label(e) == name] for name in styles
    }


def weighted_windows(dances: dict[str, list[np.ndarray]], weights: dict[str, int]) -> FeatureSet:
    """Every window of ``dances`` (style -> dances), each style weighing as ``weights[style]``."""
    windows, window_weights = [], []
    for name, style_dances in dances.items():
        found = [w for d in style_dances for w in style.windows(d, WINDOW_HOP, WINDOW)]
        if not found:
            raise ValueError(f"no training real dance of style {name!r}: the real-vs-real row needs one")
        windows += found
        window_weights += [weights[name] / len(found)] * len(found)
    return FeatureSet(*metrics.extract_features(windows), np.asarray(window_weights))


def score_row(
    name: str, dances: dict[str, list[np.ndarray]], context: Context, is_reference: bool = False
) -> dict:
    """One table row for ``dances`` (segment name -> the dances on that segment).

    ``is_reference``: the dances are the reference windows themselves (FID 0 by construction).
    """
    by_name = {s.name: s for s in context.segments}
    flat = [(by_name[n], d) for n, ds in dances.items() for d in ds]
    everything = [d for _, d in flat]
    row: dict = {"name": name, "n_dances": len(flat)}
    if is_reference:
        row |= {
            "FID_k": 0.0,
            "FID_g": 0.0,
            "FID_note": "the reference set itself (its novel windows): see the real-vs-real row",
        }
    else:
        row |= fid_scores(FeatureSet.at_kept_places(flat, context.kept), context.reference, context.scale)
    row |= _movement_scores(flat)
    row["BAS_librosa_beats"] = _nanmean(
        [metrics.dance_bas(d, context.beats[s.name].librosa) for s, d in flat]
    )
    row["BAS_project_beats"] = _nanmean(
        [metrics.dance_bas(d, context.beats[s.name].project) for s, d in flat]
    )
    row["FSR"] = _nanmean([metrics.foot_skate_ratio(d) for d in everything])
    row |= _style_scores(flat, context.classifier)
    if context.copy_pool is not None:
        row |= _copy_scores(copying.copy_distances(everything, context.copy_pool))
    if context.training_pool is not None:
        row |= _training_pool_scores(everything, context.training_pool)
    row["per_song"] = {n: _movement_scores([(by_name[n], d) for d in ds]) for n, ds in dances.items()}
    return row


def _copy_scores(distances: np.ndarray) -> dict:
    return {
        "copy_distance_median_m": float(np.median(distances)),
        "copy_distance_p05_m": float(np.percentile(distances, 5)),
        "copy_share_within_1cm": float((distances < COPY_NEAR).mean()),
    }


def _training_pool_scores(dances: list[np.ndarray], pool: FeatureSet) -> dict:
    """The former protocol: non-overlapping 5 s windows against the whole training pool."""
    windows = FeatureSet.of_windows(dances, hop=WINDOW)
    gen_k, gen_g = windows.kinetic, windows.geometric
    ref_k, gen_k = metrics.normalize(pool.kinetic, gen_k)
    ref_g, gen_g = metrics.normalize(pool.geometric, gen_g)
    return {
        "training_pool_FID_k": metrics.frechet_distance(gen_k, ref_k),
        "training_pool_FID_g": metrics.frechet_distance(gen_g, ref_g),
    }


def _movement_scores(flat: list[tuple[Segment, np.ndarray]]) -> dict:
    ratios = [movement.movement_ratios(d, s.real) for s, d in flat]
    songs = [s.name for s, _ in flat]
    scores = {}
    for key in ("speed_ratio", "spread_ratio", "body_spread_ratio"):  # the targets: with their error
        values = [r[key] for r in ratios]
        scores |= {key: float(np.mean(values)), f"{key}_se": seed_error(values, songs)}
    return scores | {
        "turning_ratio": _nanmean([r["turning_ratio"] for r in ratios]),
        "acceleration_ratio": float(np.mean([r["acceleration_ratio"] for r in ratios])),
        "speed_m_s": float(np.mean([movement.joint_speed(d) for _, d in flat])),
        "spread_m": float(np.mean([movement.pose_spread(d) for _, d in flat])),
    }


def seed_error(values: Sequence[float], songs: Sequence[str]) -> float | None:
    """Standard error of the mean of ``values`` that comes from the seeds alone (the songs are fixed):
    sqrt(sum over songs of n_s * var_s) / n. None when a song has a single dance (no spread to see).

    A ratio of 0.79 against a target of 0.8 means little when this is 0.02; nor does a style
    accuracy of 66 % against 70 % when it is 0.05.
    """
    by_song: dict[str, list[float]] = {}
    for value, song in zip(values, songs, strict=True):
        by_song.setdefault(song, []).append(value)
    if not by_song or min(len(v) for v in by_song.values()) < 2:
        return None
    return float(np.sqrt(sum(len(v) * np.var(v, ddof=1) for v in by_song.values())) / len(values))


def _style_scores(flat: list[tuple[Segment, np.ndarray]], classifier: style.StyleClassifier) -> dict:
    named = [(s.style, classifier.classify(d)) for s, d in flat]
    per_style: dict[str, list[bool]] = {}
    for truth, result in named:
        per_style.setdefault(truth, []).append(result["style"] == truth)
    windows = [w == truth for truth, r in named for w in r["window_styles"]]
    correct = [float(r["style"] == t) for t, r in named]
    return {
        "style_accuracy": float(np.mean(correct)),
        "style_accuracy_se": seed_error(correct, [s.name for s, _ in flat]),
        "style_window_accuracy": float(np.mean(windows)),
        "style_accuracy_per_prompt": {k: float(np.mean(v)) for k, v in per_style.items()},
        "styles_named": sorted({r["style"] for _, r in named}),
    }


def _nanmean(values: Sequence[float]) -> float:
    finite = [v for v in values if np.isfinite(v)]
    return float(np.mean(finite)) if finite else float("nan")


def real_vs_real_row(context: Context) -> dict:
    """The FID floor: training real dances of the held-out styles (styles weighted) vs held-out."""
    row = {"name": "real-vs-real: training real dances of the same styles vs the held-out ones"}
    return row | fid_scores(context.real_training, context.reference, context.scale)


def held_out_style_row(cache: Path, classifier: style.StyleClassifier) -> dict:
    """Style accuracy on every held-out real dance of a known style (ballroom, salsa, modern)."""
    entries = [e for e in load_index(cache)["clips"] if e["split"] == "test" and style_label(e)]
    results = [(style_label(e), classifier.classify(load_joints(cache, e))) for e in entries]
    return {
        "name": "style classifier on every held-out real dance (whole clips)",
        "style_accuracy": float(np.mean([r["style"] == t for t, r in results])),
        "style_window_accuracy": float(np.mean([w == t for t, r in results for w in r["window_styles"]])),
        "named": {e["name"]: r["style"] for e, (_, r) in zip(entries, results, strict=True)},
        "n_dances": len(entries),
    }


# Verdicts ---------------------------------------------------------------------------------------

RATIO_BAND = (0.8, 1.25)
FID_FACTOR = 3.0  # FID at most this times the real-vs-real floor
STYLE_TARGET = 0.7
BAS_BAND = (-0.01, 0.1)  # around the real dancers' BAS
FSR_FACTOR = 1.2


def meets_target(measure: str, row: dict, real: dict, floor: dict) -> bool:
    """Whether ``row`` meets issue 10's target on ``measure`` (real: the real row, floor: real-vs-real)."""
    value = row.get(measure)
    if value is None or not np.isfinite(value):
        return False
    if measure in ("speed_ratio", "spread_ratio", "body_spread_ratio"):
        return RATIO_BAND[0] <= value <= RATIO_BAND[1]
    if measure in ("FID_k", "FID_g"):
        return value <= FID_FACTOR * floor[measure]
    if measure == "style_accuracy":
        return value >= STYLE_TARGET
    if measure.startswith("BAS"):
        return real[measure] + BAS_BAND[0] <= value <= real[measure] + BAS_BAND[1]
    if measure == "FSR":
        return value <= FSR_FACTOR * real[measure]
    raise ValueError(f"no target for {measure!r}")


MEASURES = (
    "speed_ratio", "spread_ratio", "body_spread_ratio", "FID_k", "FID_g", "style_accuracy",
    "BAS_librosa_beats", "BAS_project_beats", "FSR",
)  # fmt: skip


def sanity(real: dict, floor: dict, probes: dict[str, dict]) -> dict:
    """Per measure: does the real row meet its target while every probe row (frozen, shrunk,
    turning statue) misses?

    A measure for which that holds can fail, so it is a headline measure; the others are reported
    beside the table but cannot tell a frozen or shrunk dancer from a real one.
    """
    out = {}
    for measure in MEASURES:
        verdict = {"real": real.get(measure), "real_meets_target": meets_target(measure, real, real, floor)}
        for label, row in probes.items():
            verdict[label] = row.get(measure)
            verdict[f"{label}_fails"] = not meets_target(measure, row, real, floor)
        verdict["headline"] = verdict["real_meets_target"] and all(verdict[f"{k}_fails"] for k in probes)
        out[measure] = verdict
    name = "sanity: which measures reject the frozen, shrunk and turning-statue dancers"
    return {"name": name, "measures": out}


def targets(model_row: dict, real: dict, floor: dict, others: Sequence[dict]) -> dict:
    """Issue 10's targets for one model row: each measure met or not, and FID against ``others``."""
    met = {m: meets_target(m, model_row, real, floor) for m in MEASURES}
    for other in others:
        for measure in ("FID_k", "FID_g"):
            met[f"{measure} better than {other['name']}"] = bool(model_row[measure] < other[measure])
    return {"name": f"targets: {model_row['name']}", "met": met}
