"""Training data from the prepared corpus: per-clip model features and random windows of them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm import tqdm

from dancemosaic.datasets.corpus import load_index, load_motion
from dancemosaic.representation import motion_to_features


@dataclass(frozen=True)
class ClipFeatures:
    name: str
    text: str
    features: torch.Tensor  # (T, FEATURE_DIM)


def load_clip_features(cache: Path, split: str = "train") -> list[ClipFeatures]:
    """Every clip of ``split`` (mirrors included for train) as model features."""
    entries = [e for e in load_index(cache)["clips"] if e["split"] == split]
    return [
        ClipFeatures(e["name"], e["text"], motion_to_features(load_motion(cache, e)))
        for e in tqdm(entries, desc=f"load {split} clips", leave=False)
    ]


def random_windows(
    clips: list[ClipFeatures], batch: int, window: int, generator: torch.Generator
) -> tuple[torch.Tensor, list[int]]:
    """(batch, window, C) random crops of clips at least ``window`` long, and which clip each is."""
    long_enough = [i for i, c in enumerate(clips) if len(c.features) >= window]
    if not long_enough:
        raise ValueError(f"No training clip is {window} frames long; shorten the window")
    picks = [long_enough[i] for i in torch.randint(len(long_enough), (batch,), generator=generator)]
    crops = []
    for i in picks:
        start = int(torch.randint(len(clips[i].features) - window + 1, (), generator=generator))
        crops.append(clips[i].features[start : start + window])
    return torch.stack(crops), picks


def feature_statistics(clips: list[ClipFeatures]) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and std over every frame of every clip."""
    frames = torch.cat([c.features for c in clips])
    return frames.mean(0), frames.std(0)
