"""Music-dance training pairs for the prepared corpus (see ``dancemosaic.pairing`` for the warp).

Tracks: the shared training music (the held-out track excluded) plus percussion tracks the
project synthesises itself at many tempos. Each training clip is paired with PAIRS_PER_CLIP
tracks whose beat rate suits its own; a pair stores only the warp (source frame per output frame)
and where on the track it starts, so the dance is rebuilt exactly at training time.

Cache additions::

    <cache>/music/<track>.npz    features (T, C), beat_frames, onset, tempo_bpm (+ audio for synth)
    <cache>/pairs.json           one entry per pair: clip, track, music_start, frames, BAS
    <cache>/pairs.npz            the warps, concatenated (offsets in pairs.json)
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile
from tqdm import tqdm

from dancemosaic import metrics, music, percussion
from dancemosaic.datasets.corpus import load_index, load_joints, read_test_list
from dancemosaic.pairing import Warp, fit_warp
from dancemosaic.timing import FPS, SAMPLE_RATE

SYNTH_TEMPOS = (84, 92, 100, 108, 116, 124, 132, 140, 150, 160, 172)
SYNTH_SECONDS = 90.0
PAIRS_PER_CLIP = 2
CANDIDATE_TRACKS = 4  # a clip's tracks are drawn from the ones whose beat rate suits it best
MIN_MOTION_BEATS = 4
MIN_RECORDED_FRAMES = 4 * FPS  # a recorded pair needs this much of its song left to be kept


@dataclass(frozen=True)
class Track:
    name: str
    beat_frames: np.ndarray
    num_frames: int
    tempo_bpm: float


def _analyse(audio: np.ndarray, path: Path) -> Track:
    feats = music.extract_features(audio)
    np.savez(path, features=feats.features, beat_frames=feats.beat_frames, onset=feats.onset_strength,
             tempo_bpm=feats.tempo_bpm)  # fmt: skip
    return Track(path.stem, feats.beat_frames, len(feats.features), feats.tempo_bpm)


def _load_track(path: Path) -> Track:
    with np.load(path, allow_pickle=False) as data:
        return Track(path.stem, data["beat_frames"], len(data["features"]), float(data["tempo_bpm"]))


def prepare_tracks(data_root: Path | None, cache: Path) -> list[Track]:
    """Analyse the shared training tracks (when ``data_root`` is given) and synthesise the percussion
    ones; both are cached after the first run."""
    folder = Path(cache) / "music"
    folder.mkdir(parents=True, exist_ok=True)
    real = []
    if data_root is not None:
        held_out = read_test_list(data_root)
        real = [p for p in sorted((data_root / "music").glob("*.ogg")) if f"music/{p.name}" not in held_out]
    synth = [
        (bpm, sorted(percussion.STYLES)[i % len(percussion.STYLES)]) for i, bpm in enumerate(SYNTH_TEMPOS)
    ]
    tracks = []
    for path in tqdm(real, desc="analyse music"):
        target = folder / f"{path.name.split('.')[0]}.npz"
        tracks.append(_load_track(target) if target.is_file() else _analyse(music.load_audio(path), target))
    for i, (bpm, style) in enumerate(tqdm(synth, desc="synthesise tracks")):
        target = folder / f"synth-{bpm}bpm-{style}.npz"
        if target.is_file():
            tracks.append(_load_track(target))
            continue
        audio, _ = percussion.synthesize(bpm, SYNTH_SECONDS, style=style, seed=i)
        soundfile.write(target.with_suffix(".wav"), audio, SAMPLE_RATE)
        tracks.append(_analyse(audio, target))
    return tracks


def _beat_period(beats: np.ndarray) -> float:
    return float(np.median(np.diff(beats))) if len(beats) > 1 else float("nan")


def _candidates(motion_period: float, tracks: list[Track], seed: int) -> list[Track]:
    """PAIRS_PER_CLIP tracks drawn from those whose beat rate is closest to the dance's (up to 2x)."""

    def mismatch(track: Track) -> float:
        ratios = [k * _beat_period(track.beat_frames) / motion_period for k in (0.5, 1.0, 2.0)]
        return min(abs(np.log(r)) for r in ratios)

    best = sorted(tracks, key=mismatch)[:CANDIDATE_TRACKS]
    rng = np.random.default_rng(seed)
    return [best[i] for i in rng.choice(len(best), size=min(PAIRS_PER_CLIP, len(best)), replace=False)]


def warp_joints(joints: np.ndarray, source_frames: np.ndarray) -> np.ndarray:
    """(T, J, 3) joints linearly interpolated at fractional frames (N,) -> (N, J, 3)."""
    lo = np.floor(source_frames).astype(int)
    hi = np.minimum(lo + 1, len(joints) - 1)
    t = (source_frames - lo)[:, None, None]
    return joints[lo] * (1 - t) + joints[hi] * t


def _recorded_track(cache: Path, audio: Path) -> Track:
    """The analysed music of a recorded pair (cached beside the synthesised tracks)."""
    target = Path(cache) / "music" / f"recorded-{audio.stem}.npz"
    target.parent.mkdir(parents=True, exist_ok=True)
    return _load_track(target) if target.is_file() else _analyse(music.load_audio(audio), target)


def _pair(
    joints: np.ndarray, beats: np.ndarray, track: Track, recorded_start: int | None = None
) -> tuple[Warp, float, float]:
    """Warp one dance onto one track; BAS with and without the warp. A recorded pair keeps its
    timing: the dance plays from track frame ``recorded_start``, cut where the song ends."""
    if recorded_start is not None:
        frames = min(len(joints), track.num_frames - recorded_start)
        warp = Warp(np.arange(frames, dtype=np.float64), recorded_start, 0)
    else:
        warp = fit_warp(beats, track.beat_frames, len(joints), track.num_frames)
    segment_beats = track.beat_frames - warp.music_start
    aligned = metrics.dance_bas(warp_joints(joints, warp.source_frames), segment_beats)
    plain = joints[: track.num_frames - warp.music_start]
    return warp, aligned, metrics.dance_bas(plain, segment_beats)


def build_pairs(data_root: Path | None, cache: Path) -> dict:
    """Pair every training clip with music; writes pairs.json/.npz and returns the BAS summary."""
    data_root, cache = (Path(data_root) if data_root else None), Path(cache)
    tracks = prepare_tracks(data_root, cache)
    entries = [e for e in load_index(cache)["clips"] if e["split"] == "train"]
    pairs, warps, offset = [], [], 0
    for entry in tqdm(entries, desc="build pairs"):
        joints = load_joints(cache, entry)
        beats = metrics.motion_beats(joints)
        if entry.get("music"):  # a recorded pair: the dance already follows its own music
            start = round(entry.get("music_offset", 0.0) * FPS)
            candidates = [(_recorded_track(cache, Path(entry["music"])), start)]
        elif len(beats) >= MIN_MOTION_BEATS:
            candidates = [
                (t, None)
                for t in _candidates(_beat_period(beats), tracks, zlib.crc32(entry["name"].encode()))
            ]
        else:
            continue
        for track, start in candidates:
            if start is not None and track.num_frames - start < MIN_RECORDED_FRAMES:
                continue
            warp, aligned, plain = _pair(joints, beats, track, start)
            pairs.append({"clip": entry["name"], "track": track.name, "music_start": warp.music_start,
                          "frames": warp.num_frames, "offset": offset, "anchors": warp.anchors,
                          "bas": aligned, "bas_unaligned": plain, "recorded": start is not None})  # fmt: skip
            warps.append(warp.source_frames.astype(np.float32))
            offset += warp.num_frames
    np.savez(cache / "pairs.npz", source_frames=np.concatenate(warps))
    (cache / "pairs.json").write_text(json.dumps({"tracks": [t.name for t in tracks], "pairs": pairs}))
    summary = _summarise(pairs, entries)
    (cache / "pairs_summary.json").write_text(json.dumps(summary, indent=1))
    return summary


def _summarise(pairs: list[dict], entries: list[dict]) -> dict:
    dance = {e["name"] for e in entries if "dance" in e["text"]}
    subset = [p for p in pairs if p["clip"] in dance]
    return {
        "pairs": len(pairs),
        "BAS": float(np.nanmean([p["bas"] for p in pairs])),
        "BAS_unaligned": float(np.nanmean([p["bas_unaligned"] for p in pairs])),
        "dance_pairs": len(subset),
        "dance_BAS": float(np.nanmean([p["bas"] for p in subset])) if subset else float("nan"),
        "dance_BAS_unaligned": float(np.nanmean([p["bas_unaligned"] for p in subset]))
        if subset
        else float("nan"),
    }


def pair_summary(summary: dict) -> str:
    return (
        f"music-dance pairs: {summary['pairs']} (dance clips: {summary['dance_pairs']})\n"
        f"  BAS built pairs {summary['BAS']:.4f} vs same dances on unaligned music "
        f"{summary['BAS_unaligned']:.4f}; dance clips only {summary['dance_BAS']:.4f} vs "
        f"{summary['dance_BAS_unaligned']:.4f} (Bailando variant)"
    )


def load_pair_summary(cache: Path) -> dict:
    path = Path(cache) / "pairs_summary.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def held_out_track_bas(cache: Path, index: dict, data_root: Path) -> dict:
    """BAS of the held-out dances on the held-out track: warped (built pairs) and unwarped."""
    track_path = data_root / index["test_music"][0]
    if not track_path.is_file():
        return {}
    feats = music.extract_features(music.load_audio(track_path))
    track = Track(track_path.stem, feats.beat_frames, len(feats.features), feats.tempo_bpm)
    scores = []
    for entry in (e for e in index["clips"] if e["split"] == "test"):
        joints = load_joints(cache, entry)
        scores.append(_pair(joints, metrics.motion_beats(joints), track)[1:])
    aligned, plain = np.array(scores).T
    return {
        "BAS_heldout_track_pairs": float(np.nanmean(aligned)),
        "BAS_heldout_track_unaligned": float(np.nanmean(plain)),
        "heldout_track_bpm": track.tempo_bpm,
    }
