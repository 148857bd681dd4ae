"""The evaluation protocol on the prepared corpus: held-out windows against the training pool.

The held-out clips (``splits/test.txt``) are cut into WINDOW_SECONDS windows with 50 % overlap and
compared with non-overlapping windows of every original (unmirrored) training clip, so that FID
has more than a handful of samples; the sample counts are reported next to every number. BAS is
measured on the held-out track: the held-out dances time-warped onto it (built pairs, as in
training) and the same dances laid on it unwarped (the chance level).
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import torch

from dancemosaic import metrics
from dancemosaic.datasets.corpus import load_index, load_joints, load_motion
from dancemosaic.datasets.pairs import held_out_track_bas, load_pair_summary
from dancemosaic.representation import joints_from_features, motion_to_features
from dancemosaic.timing import FPS, seconds_to_frames
from dancemosaic.tokenizer import MotionTokenizer

WINDOW_SECONDS = 5.0
WINDOW = seconds_to_frames(WINDOW_SECONDS)


def windows(joints: np.ndarray, hop: int) -> list[np.ndarray]:
    """(T, J, 3) -> windows of WINDOW frames every ``hop`` frames (a clip shorter than one: itself)."""
    if len(joints) <= WINDOW:
        return [joints]
    return [joints[s : s + WINDOW] for s in range(0, len(joints) - WINDOW + 1, hop)]


def split_windows(cache: Path, index: dict, split: str, hop: int) -> list[np.ndarray]:
    """Windows of every original (unmirrored) clip of ``split``."""
    entries = [e for e in index["clips"] if e["split"] == split and not e["mirrored"]]
    return [w for e in entries for w in windows(load_joints(cache, e), hop)]


def training_pool(cache: Path) -> list[np.ndarray]:
    """The reference pool: non-overlapping windows of the training clips, read once per cache state."""
    index_file = Path(cache) / "index.json"
    return _training_pool(
        str(Path(cache).resolve()), index_file.stat().st_mtime if index_file.is_file() else 0.0
    )


@functools.lru_cache(maxsize=2)
def _training_pool(cache: str, index_mtime: float) -> list[np.ndarray]:
    return split_windows(Path(cache), load_index(Path(cache)), "train", WINDOW)


def reference_row(cache: Path, data_root: Path | None = None) -> dict:
    """The ground-truth row: held-out windows vs the training pool, plus BAS of built pairs."""
    index = load_index(cache)
    held_out = split_windows(cache, index, "test", WINDOW // 2)
    pool = training_pool(cache)
    if not held_out:
        raise ValueError(f"The cache at {cache} has no held-out clips: check splits/test.txt")
    row = {"name": "ground truth (held-out clips)"}
    row |= metrics.evaluate_motions(held_out, pool, FPS)
    row["window_seconds"] = WINDOW_SECONDS
    row |= _held_out_bas(cache, index, data_root)
    return row


def _held_out_bas(cache: Path, index: dict, data_root: Path | None) -> dict:
    out = {f"train_pairs_{k}": v for k, v in load_pair_summary(cache).items()}
    if data_root is not None and index.get("test_music"):
        out |= held_out_track_bas(cache, index, Path(data_root))
    return out


@torch.no_grad()
def tokenizer_row(tokenizer: MotionTokenizer, cache: Path) -> dict:
    """Held-out reconstruction: joint error (mm), FID of the reconstructions, codebook usage."""
    index = load_index(cache)
    errors, global_errors, recon_windows, used = [], [], [], []
    for entry in (e for e in index["clips"] if e["split"] == "test" and not e["mirrored"]):
        features = motion_to_features(load_motion(cache, entry))[None]
        codes = tokenizer.encode(features)
        recon = tokenizer.decode(codes)[:, : features.shape[1]]
        truth, joints = joints_from_features(features, FPS)[0], joints_from_features(recon, FPS)[0]
        errors.append(((joints - joints[:, :1]) - (truth - truth[:, :1])).norm(dim=-1).mean() * 1000)
        global_errors.append((joints - truth).norm(dim=-1).mean() * 1000)
        recon_windows += windows(joints.numpy(), WINDOW // 2)
        used.append(codes[0])
    pool = training_pool(cache)
    row = metrics.evaluate_motions(recon_windows, pool, FPS)
    codes = torch.cat(used)
    train = [e for e in index["clips"] if e["split"] == "train" and not e["mirrored"]]
    train_codes = torch.cat(
        [tokenizer.encode(motion_to_features(load_motion(cache, e))[None])[0] for e in train]
    )
    size = tokenizer.config.codebook_size
    return {
        "name": "tokenizer reconstruction (held-out clips)",
        "MPJPE_mm": float(torch.stack(errors).mean()),
        "global_position_error_mm": float(torch.stack(global_errors).mean()),
        "FID_k": row["FID_k"],
        "FID_g": row["FID_g"],
        "codebook_usage_heldout": [len(codes[:, q].unique()) / size for q in range(codes.shape[1])],
        "codebook_usage_training": [len(train_codes[:, q].unique()) / size for q in range(codes.shape[1])],
        "n_windows": row["n_generated"],
    }
