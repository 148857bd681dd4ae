"""How close 5 s windows of one motion come to windows of another, compared as poses.

Shared by the no-copying measure (``copying.py``), the evaluation's reference of novel held-out
motion (``novel_reference.py``) and the corpus's cut of training spans that copy held-out dances
(``datasets/dedup.py``).

A window is compared as its root-relative joints, every SUBSAMPLE-th frame, turned so that its first
frame faces the same way (where on the floor and which way the dancer faces do not matter). The
distance is the RMS coordinate difference in metres.

Two recordings of the same motion lie at distance ~0 only when their windows start on the same
frame of it: one frame apart, a dancer moving at 0.5 m/s is ~1 cm away, a quarter second apart
~5 cm, as far as a different dance. So one side of a comparison has windows starting on every
frame (hop 1) wherever a copy must be found, not merely measured.

COPY_THRESHOLD, from the distances of every training Dance with Melody window (every 5 frames) to
its nearest held-out window (every frame): identical recordings lie 0-6 mm apart (the peak: 7500 of
27 000 windows under 2 mm); a second group at 10-14 mm is the same figures danced again so alike
that a model replaying them would be as close (e.g. DANCE_R_10 at 92-95 s and DANCE_R_8 at 59 s,
moving at 0.4 m/s); the density is lowest from 15 to 30 mm (35-58 windows per mm, against 160 at
10-12 mm and 60-190 above 3 cm, where the different dances and the windows half over a copy lie).
2 cm sits in that valley.
"""

from __future__ import annotations

import numpy as np

from dancemosaic.features import as_positions
from dancemosaic.style import facing_yaw, in_body_frame
from dancemosaic.timing import seconds_to_frames

WINDOW = seconds_to_frames(5.0)
SUBSAMPLE = 5  # 6 frames per second are compared
COPY_THRESHOLD = 0.02  # m: a window this close to another is a copy of it (see the module doc)
_FRAMES = np.arange(0, WINDOW, SUBSAMPLE)
DIMENSIONS = len(_FRAMES) * 21 * 3


def window_starts(frames: int, hop: int) -> np.ndarray:
    """First frames of the full windows of a ``frames``-long motion, every ``hop`` frames."""
    return np.arange(0, max(frames - WINDOW + 1, 0), hop)


def window_vectors(joints: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """(N, DIMENSIONS) float32 vectors of the windows of ``joints`` (T, J>=22, 3) starting at ``starts``."""
    starts = np.asarray(starts, dtype=np.int64)
    if len(starts) == 0:
        return np.zeros((0, DIMENSIONS), np.float32)
    p = as_positions(joints, min_joints=22)[:, :22]
    if starts.max() + WINDOW > len(p):
        raise ValueError(f"a window starting at {starts.max()} runs past the motion's {len(p)} frames")
    relative = (p[:, 1:] - p[:, :1])[starts[:, None] + _FRAMES]  # (N, F, 21, 3)
    yaw = np.repeat(facing_yaw(p)[starts], len(_FRAMES))
    turned = in_body_frame(relative.reshape(-1, 21, 3), yaw)
    return turned.reshape(len(starts), -1).astype(np.float32)


def motion_vectors(joints: np.ndarray, hop: int) -> np.ndarray:
    """Vectors of every full window of one motion, every ``hop`` frames."""
    return window_vectors(joints, window_starts(len(joints), hop))


def nearest_distances(queries: np.ndarray, pool: np.ndarray, chunk: int = 256) -> np.ndarray:
    """(M,) RMS coordinate distance (m) from each query vector to its nearest pool vector."""
    if len(pool) == 0:
        raise ValueError("the pool to compare with holds no full 5 s window: it needs longer motion")
    pool = pool.astype(np.float32)
    pool_norms = (pool.astype(np.float64) ** 2).sum(axis=1)
    out = []
    for start in range(0, len(queries), chunk):
        q = queries[start : start + chunk].astype(np.float32)
        cross = (q @ pool.T).astype(np.float64)
        squared = (q.astype(np.float64) ** 2).sum(axis=1)[:, None] + pool_norms[None] - 2 * cross
        out.append(np.sqrt(np.maximum(squared.min(axis=1), 0.0) / q.shape[1]))
    return np.concatenate(out) if out else np.zeros(0)


def copied_frames(
    joints: np.ndarray, pool: np.ndarray, hop: int, threshold: float = COPY_THRESHOLD
) -> np.ndarray:
    """(T,) True on each frame of ``joints`` inside a window (every ``hop`` frames) whose nearest
    ``pool`` window is within ``threshold``. The pool's windows should start on every frame, so
    that a copy is found wherever it starts (see the module doc)."""
    starts = window_starts(len(joints), hop)
    mask = np.zeros(len(joints), dtype=bool)
    if len(starts) == 0:
        return mask
    close = nearest_distances(window_vectors(joints, starts), pool) < threshold
    for start in starts[close]:
        mask[start : start + WINDOW] = True
    return mask
