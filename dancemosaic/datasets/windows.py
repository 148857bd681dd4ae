"""Training data from the prepared corpus: per-clip model features, the training mix, and random
windows of them.

The mix is dance first: each kind of clip gets a fixed share of the windows a stage draws, and
within a kind a clip is drawn in proportion to its length (a 4-minute tango is worth more windows
than a 3-second wave). Drawing clips uniformly, as before, gave the ~500 short everyday-motion clips
90 % of the windows and taught the model to stand still. Within a kind, a stage may also even out
the styles (``Mix.style_power``): the recorded dances are 58 % waltz and 2 % tango by length.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import torch
from tqdm import tqdm

from dancemosaic.datasets.corpus import load_index, load_motion, style_label
from dancemosaic.representation import motion_to_features

# Shares of the training windows: real dances recorded with their music, other dances (CMU salsa
# and modern, Bandai's dance clips), and everyday motion (kept for the action prompts).
TRAINING_MIX = {"recorded": 0.5, "dance": 0.3, "other": 0.2}


@dataclass(frozen=True)
class ClipFeatures:
    name: str
    text: str
    features: torch.Tensor  # (T, FEATURE_DIM)
    kind: str = "other"  # a key of TRAINING_MIX
    style: str | None = None  # the dance style of a real styled dance (corpus.style_label)


def clip_kind(entry: dict) -> str:
    """Which share of the mix a corpus entry belongs to."""
    if entry.get("music"):
        return "recorded"
    return "dance" if "dance" in entry["text"] else "other"


def mix_weights(
    kinds: list[str],
    lengths: list[int],
    styles: list[str | None] | None = None,
    style_power: float = 1.0,
    mix: dict[str, float] = TRAINING_MIX,
) -> torch.Tensor:
    """(N,) probabilities of drawing each clip: its kind's share, split in proportion to length.

    With ``styles``, a kind's share is first split between its styles (unstyled clips count as one)
    in proportion to each style's total length to the power ``style_power`` (1: by length, as
    without styles; 0.5: square-root balanced; 0: equal), then by length within a style. A kind
    with no clips gives its share to the others (the weights are renormalised).
    """
    styles = styles if styles is not None else [None] * len(kinds)
    groups = list(zip(kinds, styles, strict=True))
    group_length: dict[tuple, float] = {}
    for group, length in zip(groups, lengths, strict=True):
        group_length[group] = group_length.get(group, 0.0) + length
    kind_mass: dict[str, float] = {}
    for (kind, _), total in group_length.items():
        kind_mass[kind] = kind_mass.get(kind, 0.0) + total**style_power
    weights = torch.tensor(
        [
            mix[g[0]] * group_length[g] ** style_power / kind_mass[g[0]] * n / group_length[g]
            for g, n in zip(groups, lengths, strict=True)
        ]
    )
    return weights / weights.sum()


@dataclass(frozen=True)
class Mix:
    """How a stage draws its training windows: each kind's share of them, and how evenly a kind's
    styles are drawn (``style_power`` 1: by length, 0.5: square-root balanced, 0: equal;
    ``mix_weights``)."""

    shares: Mapping[str, float] = field(default_factory=lambda: dict(TRAINING_MIX))
    style_power: float = 1.0

    def weights(self, kinds: list[str], lengths: list[int], styles: list[str | None]) -> torch.Tensor:
        return mix_weights(kinds, lengths, styles, self.style_power, self.shares)


DEFAULT_MIX = Mix()  # TRAINING_MIX, clips by length


def load_clip_features(cache: Path, split: str = "train") -> list[ClipFeatures]:
    """Every clip of ``split`` (mirrors included for train) as model features."""
    entries = [e for e in load_index(cache)["clips"] if e["split"] == split]
    return [
        ClipFeatures(
            e["name"], e["text"], motion_to_features(load_motion(cache, e)), clip_kind(e), style_label(e)
        )
        for e in tqdm(entries, desc=f"load {split} clips", leave=False)
    ]


def random_windows(
    clips: list[ClipFeatures],
    batch: int,
    window: int,
    generator: torch.Generator,
    mix: Mix = DEFAULT_MIX,
) -> tuple[torch.Tensor, list[int]]:
    """(batch, window, C) random crops of clips at least ``window`` long, drawn by the training
    ``mix``, and which clip each is."""
    long_enough = [i for i, c in enumerate(clips) if len(c.features) >= window]
    if not long_enough:
        raise ValueError(f"No training clip is {window} frames long; shorten the window")
    chosen = [clips[i] for i in long_enough]
    lengths = [len(c.features) for c in chosen]
    weights = mix.weights([c.kind for c in chosen], lengths, [c.style for c in chosen])
    draws = torch.multinomial(weights, batch, replacement=True, generator=generator)
    picks = [long_enough[i] for i in draws.tolist()]
    crops = []
    for i in picks:
        start = int(torch.randint(len(clips[i].features) - window + 1, (), generator=generator))
        crops.append(clips[i].features[start : start + window])
    return torch.stack(crops), picks


def feature_statistics(clips: list[ClipFeatures]) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and std over every frame of every clip."""
    frames = torch.cat([c.features for c in clips])
    return frames.mean(0), frames.std(0)
