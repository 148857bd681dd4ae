"""Dance with Melody reader: real ballroom dances with the songs they were danced to.

Tang, Jia and Mao, "Dance with Melody: An LSTM-autoencoder Approach to Music-oriented Dance
Synthesis", ACM Multimedia 2018. Layout of the folder (``shared/data/dance_with_melody``)::

    DANCE_<S>_<n>.npz   poses (N, 72) SMPL axis-angle (24 joints), trans (N, 3) metres y up,
                        betas (10,), fps (25); plain arrays, read with allow_pickle=False
    DANCE_<S>_<n>.mp3   the song, trimmed so that audio time 0 is motion frame 0
                        (S: C cha-cha, R rumba, T tango, W waltz)

The recordings have real faults; each is handled here and logged:
- **NaN frames** (``DANCE_R_1`` has 606): the sequence is split into its finite runs; runs shorter
  than MIN_SECONDS are dropped, and each kept run remembers where its music starts.
- **A song shorter than its dance** (``DANCE_T_5``: 234 s of motion, 109 s of music): the clip keeps
  all its motion for the motion-only stages; the music pairing uses only the frames the song covers.
- **Jitter**: each clip's mean joint jerk is measured; a clip above JITTER_LIMIT times the median of
  the folder is low-pass filtered (Gaussian, SMOOTH_SIGMA frames) before resampling.
- **Unwrapped axis-angles** (magnitudes past pi): Rodrigues' formula is exact for any magnitude.
- **SMPL translation, not the pelvis**: the feet sit 0.3-0.6 m below y = 0; ``canonicalize`` puts
  each clip on the floor (its lowest joint at y = 0) at the origin, facing +z.
Every clip is resampled from 25 to 30 fps. Licence: research use only (no licence file; the songs
are commercial recordings): models trained on it are for research use.
"""

from __future__ import annotations

import logging
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile
import torch
from scipy.ndimage import gaussian_filter1d

from dancemosaic import rotation
from dancemosaic.datasets.clip import Clip
from dancemosaic.motion import Motion, canonicalize, resample, smpl_motion
from dancemosaic.timing import FPS

log = logging.getLogger(__name__)

SOURCE = "dance_with_melody"
LICENCE = (
    "Dance with Melody (Tang, Jia and Mao, ACM Multimedia 2018): research use only; "
    "the songs are commercial recordings and never ship with the project"
)
STYLES = {"C": "cha-cha", "R": "rumba", "T": "tango", "W": "waltz"}
SONG_SUFFIXES = (".mp3", ".wav", ".ogg", ".flac")
MIN_SECONDS = 4.0  # a finite run shorter than this is too short to train or evaluate on
JITTER_LIMIT = 1.5  # times the folder's median jerk
SMOOTH_SIGMA = 1.0  # frames at the recording's rate
SONG_SLACK = 2.0  # seconds of dance past the song's end that are not worth a log line
_NAME = re.compile(r"DANCE_(?P<style>[CRTW])_(?P<number>\d+)")
_PHRASINGS = (
    "a person dances {a} {style}",
    "a person dances the {style}",
    "someone dances {a} {style}",
    "a dancer performs {a} {style}",
    "a person dances {style}",
    "a person dances {a} {style} to the music",
)


def style_of(stem: str) -> str:
    """'DANCE_W_12' -> 'waltz'."""
    match = _NAME.fullmatch(stem)
    if not match:
        raise ValueError(f"{stem!r} is not a Dance with Melody name like 'DANCE_W_12'")
    return STYLES[match["style"]]


def style_prompt(style: str, name: str) -> str:
    """A prompt naming the style, its phrasing picked by the clip's name (stable across runs)."""
    phrasing = _PHRASINGS[zlib.crc32(name.encode()) % len(_PHRASINGS)]
    return phrasing.format(a="an" if style[0] in "aeiou" else "a", style=style)


@dataclass(frozen=True)
class Sequence:
    """One recording as stored: poses (N, 24, 3) axis-angle, trans (N, 3), at ``fps``."""

    stem: str
    poses: np.ndarray
    trans: np.ndarray
    fps: float


def read_sequence(path: Path) -> Sequence:
    """Validated arrays of one ``DANCE_X_n.npz`` (NaN frames kept: ``finite_runs`` splits them)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            poses, trans, fps = data["poses"], data["trans"], float(data["fps"])
    except (OSError, KeyError, ValueError) as err:
        raise ValueError(f"{path.name}: not a Dance with Melody npz (poses, trans, fps): {err}") from err
    frames = len(poses)
    if poses.shape != (frames, 72) or trans.shape != (frames, 3) or frames == 0 or fps <= 0:
        raise ValueError(
            f"{path.name}: poses must be (N, 72) and trans (N, 3) with N > 0 and fps > 0, "
            f"got {poses.shape}, {trans.shape}, fps {fps}"
        )
    return Sequence(path.stem, poses.reshape(frames, 24, 3).astype(np.float64), trans.astype(np.float64), fps)


def finite_runs(valid: np.ndarray, min_frames: int) -> list[tuple[int, int]]:
    """[start, end) of each run of True in ``valid`` (N,) lasting at least ``min_frames``."""
    edges = np.diff(np.concatenate([[0], valid.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return [(int(s), int(e)) for s, e in zip(starts, ends, strict=True) if e - s >= min_frames]


def jerk(joints: np.ndarray, fps: float) -> float:
    """Mean joint jerk (m/s^3) of (T, J, 3) positions: what jittery capture raises most."""
    return float(np.linalg.norm(np.diff(joints, 3, axis=0), axis=-1).mean() * fps**3)


def smooth(motion: Motion, sigma: float) -> Motion:
    """Gaussian low-pass over time of the 6D rotations (re-orthonormalised) and the root."""
    rot6d = rotation.matrix_to_rot6d(motion.rotations).numpy()
    rot6d = torch.from_numpy(gaussian_filter1d(rot6d, sigma, axis=0, mode="nearest"))
    root = torch.from_numpy(gaussian_filter1d(motion.root.numpy(), sigma, axis=0, mode="nearest"))
    return Motion(rotation.rot6d_to_matrix(rot6d), root, motion.fps)


def find_song(path: Path) -> Path | None:
    """The song beside a motion file (mp3 in the shared folder; wav, ogg or flac also accepted)."""
    return next((p for p in (path.with_suffix(s) for s in SONG_SUFFIXES) if p.is_file()), None)


def song_seconds(song: Path | None) -> float:
    return soundfile.info(song).duration if song else 0.0


@dataclass(frozen=True)
class Part:
    """One finite run of a recording, at the recording's rate, with where its music starts."""

    name: str
    motion: Motion
    music_offset: float  # seconds into the song


def sequence_parts(sequence: Sequence) -> list[Part]:
    """The finite runs of a recording as Motions (NaN spans dropped, short runs dropped)."""
    valid = np.isfinite(sequence.poses).all(axis=(1, 2)) & np.isfinite(sequence.trans).all(axis=1)
    runs = finite_runs(valid, int(MIN_SECONDS * sequence.fps))
    dropped = len(valid) - sum(e - s for s, e in runs)
    if dropped:
        log.info("%s: dropped %d frames (NaN or runs under %g s); %d part(s) kept", sequence.stem, dropped,
                 MIN_SECONDS, len(runs))  # fmt: skip
    parts = []
    for i, (start, end) in enumerate(runs):
        name = sequence.stem if len(runs) == 1 else f"{sequence.stem}-part{i + 1}"
        motion = smpl_motion(sequence.poses[start:end], sequence.trans[start:end], sequence.fps)
        parts.append(Part(name, motion, start / sequence.fps))
    return parts


def read_dance_with_melody(root: Path, held_out: set[str], split: str = "train") -> Iterator[Clip]:
    """The clips of ``split`` at ``timing.FPS``, on the floor, each with its song.

    ``held_out``: stems (``DANCE_C_8``) of the test split. Files that fail to load are logged and
    skipped; a clip whose song is shorter than the dance is logged (its pairing is cut to the song).
    """
    root = Path(root).resolve()  # the cache index names each song by its full path
    paths = sorted(root.glob("DANCE_*.npz"))
    if not paths:
        raise ValueError(f"{root} holds no DANCE_*.npz files: pass the dance_with_melody folder")
    paths = [p for p in paths if (p.stem in held_out) == (split == "test")]
    parts = [(path, part) for path in paths for part in _read_parts(path)]
    jerks = [jerk(part.motion.joints().numpy(), part.motion.fps) for _, part in parts]
    limit = JITTER_LIMIT * float(np.median(jerks)) if jerks else np.inf
    for (path, part), clip_jerk in zip(parts, jerks, strict=True):
        motion = part.motion
        if clip_jerk > limit:
            log.info("%s: jerk %.0f m/s^3 is over %.0f; smoothed (sigma %g frames)", part.name, clip_jerk,
                     limit, SMOOTH_SIGMA)  # fmt: skip
            motion = smooth(motion, SMOOTH_SIGMA)
        yield _clip(path, part, canonicalize(resample(motion, FPS)))


def _read_parts(path: Path) -> list[Part]:
    try:
        return sequence_parts(read_sequence(path))
    except ValueError as err:
        log.warning("skipping %s", err)
        return []


def _clip(path: Path, part: Part, motion: Motion) -> Clip:
    song = find_song(path)
    covered = song_seconds(song) - part.music_offset
    if song is None:
        log.warning("%s: no song beside it; it joins the corpus without music", path.name)
    elif covered < motion.duration - SONG_SLACK:
        log.info("%s: the song covers %.1f s of the %.1f s dance; only those are paired with music",
                 part.name, max(covered, 0.0), motion.duration)  # fmt: skip
    style = style_of(path.stem)
    motion = Motion(motion.rotations.float(), motion.root.float(), motion.fps)
    return Clip(f"{SOURCE}/{part.name}", SOURCE, motion, style_prompt(style, part.name), LICENCE, song,
                part.music_offset)  # fmt: skip
