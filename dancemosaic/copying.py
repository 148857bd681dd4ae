"""No copying: how close each window of a dance comes to the nearest window of the training data.

A model that replays training dances would score well on every measure against real dancers; its
windows would also lie much closer to training windows than a new real dancer's do. Windows are
compared as poses by ``window_distance.py`` (root-relative joints, first frame facing +z, RMS
metres). Training windows start every POOL_HOP frames, so a copy that starts between two of them
still lies within a few frames' motion of one.

A still or barely moving dance also lies close to training windows (people standing), so this is
a guard against memorising, reported beside the held-out real dancers' distances, not a measure a
frozen dancer fails.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from dancemosaic.datasets.corpus import load_index, load_joints
from dancemosaic.timing import seconds_to_frames
from dancemosaic.window_distance import DIMENSIONS, motion_vectors, nearest_distances

QUERY_HOP = seconds_to_frames(2.5)
POOL_HOP = seconds_to_frames(0.5)


def vectors(dances: Sequence[np.ndarray], hop: int) -> np.ndarray:
    found = [motion_vectors(d, hop) for d in dances]
    return np.concatenate(found) if found else np.zeros((0, DIMENSIONS), np.float32)


def training_pool(cache: Path) -> np.ndarray:
    """(N, D) vectors of every training window (mirrored copies too: the model saw them)."""
    index = load_index(cache)
    return vectors([load_joints(cache, e) for e in index["clips"] if e["split"] == "train"], POOL_HOP)


def copy_distances(dances: Sequence[np.ndarray], pool: np.ndarray) -> np.ndarray:
    """Nearest-training-window distance (m) of each QUERY_HOP window of ``dances``."""
    if len(pool) == 0:
        raise ValueError("the training pool holds no full window: prepare the corpus first")
    return nearest_distances(vectors(dances, QUERY_HOP), pool)
