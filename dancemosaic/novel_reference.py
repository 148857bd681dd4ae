"""Which held-out real windows repeat training motion, so that the evaluation can leave them out.

The Dance with Melody recordings reuse choreography captured once: most of the held-out tango and
cha-cha, and parts of the rumba and waltz, lie within a centimetre of windows of *training*
recordings. Against such a reference a model that memorised its training data would score like a
real dancer. The reference of the evaluation against real dancers is therefore the held-out
windows with no training copy: a held-out window whose nearest training window lies within
``window_distance.COPY_THRESHOLD`` is a copy.

Training windows start every ``copying.POOL_HOP`` frames (every frame would be 15 times the memory),
so the held-out side is compared at every frame instead and a window counts as copied when one of
the POOL_HOP windows starting around it (SHIFT frames either side, fewer at the ends) has a copy:
wherever a training copy starts, one of those starts lines up with a training window exactly.

Comparing every held-out frame against the whole training pool takes a minute or more, so the
distances are kept in the cache folder (CACHE_FILE), keyed by the cache's index and the segments.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np

from dancemosaic import copying
from dancemosaic.window_distance import COPY_THRESHOLD, SUBSAMPLE, WINDOW, motion_vectors, nearest_distances

log = logging.getLogger(__name__)

CACHE_FILE = "held_out_copies.json"
SHIFT = copying.POOL_HOP // 2
FEW_WINDOWS = 5  # a song with fewer novel windows than this weighs little in the reference


def window_copy_distances(real: np.ndarray, pool: np.ndarray, hop: int) -> np.ndarray:
    """Per window of ``real`` every ``hop`` frames (as ``style.windows`` cuts them): the distance (m)
    to the nearest ``pool`` window, allowing the match to start up to SHIFT frames off. A dance
    shorter than a window is one window that cannot be compared: infinitely far (novel)."""
    if len(real) < WINDOW:
        return np.array([np.inf])
    every = nearest_distances(motion_vectors(real, 1), pool)
    return np.array([every[_shifts(s, len(every))].min() for s in range(0, len(every), hop)])


def _shifts(start: int, starts: int) -> slice:
    """POOL_HOP consecutive window starts around ``start`` (SHIFT either side, moved inwards at the
    ends of the dance): one of them lines up with the training windows wherever a copy starts."""
    first = min(max(start - SHIFT, 0), max(starts - copying.POOL_HOP, 0))
    return slice(first, first + copying.POOL_HOP)


def cache_key(index_text: str, segments: dict[str, np.ndarray], hop: int) -> str:
    """Changes with the corpus (its index), the segments' names and lengths, and the comparison."""
    spec = json.dumps([sorted((n, len(r)) for n, r in segments.items()), hop, SHIFT, WINDOW, SUBSAMPLE,
                       copying.POOL_HOP])  # fmt: skip
    return hashlib.sha256((index_text + spec).encode()).hexdigest()


def held_out_copy_distances(
    cache: Path, segments: dict[str, np.ndarray], hop: int, pool: Callable[[], np.ndarray]
) -> dict[str, np.ndarray]:
    """``window_copy_distances`` of each segment (name -> real dance) against the training pool,
    read from the cache folder when it holds them for this corpus; ``pool`` builds the training
    pool when they must be computed."""
    path = Path(cache) / CACHE_FILE
    key = cache_key((Path(cache) / "index.json").read_text(), segments, hop)
    if path.is_file():
        stored = json.loads(path.read_text())
        if stored.get("key") == key:
            return {n: np.array(d, dtype=np.float64) for n, d in stored["distances"].items()}
    log.info("finding training copies of %d held-out segments (kept in %s)", len(segments), path)
    vectors = pool()
    distances = {n: window_copy_distances(real, vectors, hop) for n, real in segments.items()}
    as_json = {n: [float(x) if np.isfinite(x) else None for x in d] for n, d in distances.items()}
    path.write_text(json.dumps({"key": key, "distances": as_json}))
    return distances


def novel_windows(
    distances: dict[str, np.ndarray], threshold: float = COPY_THRESHOLD
) -> dict[str, np.ndarray]:
    """Per segment, True on each window with no training copy within ``threshold`` metres."""
    return {n: ~(d < threshold) for n, d in distances.items()}  # NaN (not comparable): novel


def reference_summary(novel: dict[str, np.ndarray], include_copied: bool) -> dict:
    """The JSON row that says how many windows of each song are novel and how many the reference keeps."""
    per_song = {}
    for name, mask in novel.items():
        song = {"windows": int(len(mask)), "novel_windows": int(mask.sum())}
        if mask.sum() < FEW_WINDOWS and not include_copied:
            song["note"] = (
                f"fewer than {FEW_WINDOWS} novel windows: this song weighs little in FID; its movement "
                "ratios still compare with its whole real segment"
            )
        per_song[name] = song
    return {
        "name": "reference: held-out real windows"
        + (" (training copies included)" if include_copied else " without a training copy"),
        "copy_threshold_m": COPY_THRESHOLD,
        "include_copied": include_copied,
        "reference_windows": int(sum(len(m) if include_copied else m.sum() for m in novel.values())),
        "novel_windows": int(sum(m.sum() for m in novel.values())),
        "all_windows": int(sum(len(m) for m in novel.values())),
        "per_song": per_song,
    }
