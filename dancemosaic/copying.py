"""No copying: how close each window of a dance comes to the nearest window of the training data.

A model that replays training dances would score well on every measure against real dancers; its
windows would also lie much closer to training windows than a new real dancer's do. A window is
compared as its root-relative joints, every SUBSAMPLE-th frame, turned so that its first frame
faces the same way (where on the floor and which way the dancer faces do not matter). The
distance is the RMS coordinate difference in metres. Training windows start every POOL_HOP frames,
so a copy that starts between two of them still lies within a few frames' motion of one.

A still or barely moving dance also lies close to training windows (people standing), so this is
a guard against memorising, reported beside the held-out real dancers' distances, not a measure a
frozen dancer fails.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from dancemosaic.datasets.corpus import load_index, load_joints
from dancemosaic.features import as_positions
from dancemosaic.style import facing_yaw, in_body_frame, windows
from dancemosaic.timing import seconds_to_frames

WINDOW = seconds_to_frames(5.0)
QUERY_HOP = seconds_to_frames(2.5)
POOL_HOP = seconds_to_frames(0.5)
SUBSAMPLE = 5  # 6 frames per second are compared


def window_vector(window: np.ndarray) -> np.ndarray:
    """(WINDOW, J, 3) -> flat root-relative joints of every SUBSAMPLE-th frame, first frame facing +z."""
    p = as_positions(window, min_joints=22)[::SUBSAMPLE, :22]
    relative = p[:, 1:] - p[:, :1]
    yaw = np.full(len(p), facing_yaw(p[:1])[0])
    return in_body_frame(relative, yaw).reshape(-1).astype(np.float32)


def vectors(dances: Sequence[np.ndarray], hop: int) -> np.ndarray:
    found = [window_vector(w) for d in dances for w in windows(d, hop, WINDOW) if len(w) == WINDOW]
    return np.stack(found) if found else np.zeros((0, (WINDOW // SUBSAMPLE) * 21 * 3), np.float32)


def training_pool(cache: Path) -> np.ndarray:
    """(N, D) vectors of every training window (mirrored copies too: the model saw them)."""
    index = load_index(cache)
    return vectors([load_joints(cache, e) for e in index["clips"] if e["split"] == "train"], POOL_HOP)


def nearest_distances(queries: np.ndarray, pool: np.ndarray, chunk: int = 256) -> np.ndarray:
    """(M,) RMS coordinate distance (m) from each query vector to its nearest pool vector."""
    if len(pool) == 0:
        raise ValueError("the training pool holds no full window: prepare the corpus first")
    pool = pool.astype(np.float32)
    pool_norms = (pool.astype(np.float64) ** 2).sum(axis=1)
    out = []
    for start in range(0, len(queries), chunk):
        q = queries[start : start + chunk].astype(np.float32)
        cross = (q @ pool.T).astype(np.float64)
        squared = (q.astype(np.float64) ** 2).sum(axis=1)[:, None] + pool_norms[None] - 2 * cross
        out.append(np.sqrt(np.maximum(squared.min(axis=1), 0.0) / q.shape[1]))
    return np.concatenate(out) if out else np.zeros(0)


def copy_distances(dances: Sequence[np.ndarray], pool: np.ndarray) -> np.ndarray:
    """Nearest-training-window distance (m) of each QUERY_HOP window of ``dances``."""
    return nearest_distances(vectors(dances, QUERY_HOP), pool)
