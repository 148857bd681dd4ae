"""Token-level training data: clips and music-dance pairs encoded by a trained tokenizer, and
fixed-length token windows (shorter clips padded, with a padding mask)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from dancemosaic.datasets.windows import DEFAULT_MIX, ClipFeatures, Mix
from dancemosaic.motion import sample_frames
from dancemosaic.representation import features_to_motion, motion_to_features
from dancemosaic.timing import FPS, FRAMES_PER_TOKEN
from dancemosaic.tokenizer import MotionTokenizer


@dataclass(frozen=True)
class TokenClip:
    text: str
    codes: torch.Tensor  # (L, Q)
    features: torch.Tensor  # (T, C), T <= 4L
    music: torch.Tensor | None = None  # (T, 38) for music-dance pairs
    kind: str = "other"  # a key of windows.TRAINING_MIX
    style: str | None = None  # windows.ClipFeatures.style


@torch.no_grad()
def tokenize(tokenizer: MotionTokenizer, clips: list[ClipFeatures]) -> list[TokenClip]:
    return [
        TokenClip(c.text, tokenizer.encode(c.features[None])[0], c.features, kind=c.kind, style=c.style)
        for c in tqdm(clips, desc="tokenize clips", leave=False)
    ]


@torch.no_grad()
def tokenize_pairs(cache: Path, tokenizer: MotionTokenizer, clips: list[ClipFeatures]) -> list[TokenClip]:
    """Every built music-dance pair: the warped dance's tokens with its music features."""
    cache = Path(cache)
    by_name = {c.name: c for c in clips}
    built = json.loads((cache / "pairs.json").read_text())["pairs"]
    warps = np.load(cache / "pairs.npz", allow_pickle=False)["source_frames"]
    tracks: dict[str, np.ndarray] = {}
    out = []
    for pair in tqdm(built, desc="tokenize pairs", leave=False):
        if pair["clip"] not in by_name:
            continue
        clip = by_name[pair["clip"]]
        frames = torch.from_numpy(warps[pair["offset"] : pair["offset"] + pair["frames"]].astype(np.float64))
        motion = sample_frames(features_to_motion(clip.features, FPS), frames, FPS)
        features = motion_to_features(motion)
        if pair["track"] not in tracks:
            with np.load(cache / "music" / f"{pair['track']}.npz", allow_pickle=False) as data:
                tracks[pair["track"]] = data["features"]
        music = torch.from_numpy(
            tracks[pair["track"]][pair["music_start"] : pair["music_start"] + len(features)]
        )
        features = features[: len(music)]
        codes = tokenizer.encode(features[None])[0]
        out.append(TokenClip(clip.text, codes, features, music.float(), clip.kind, clip.style))
    return out


@dataclass(frozen=True)
class TokenBatch:
    codes: torch.Tensor  # (B, W, Q)
    padding: torch.Tensor  # (B, W) True where there is no token
    features: torch.Tensor  # (B, 4W, C), padded by repeating the last frame
    music: torch.Tensor | None  # (B, 4W, 38)
    texts: list[str]

    def to(self, device: torch.device) -> TokenBatch:
        music = None if self.music is None else self.music.to(device)
        return TokenBatch(
            self.codes.to(device), self.padding.to(device), self.features.to(device), music, self.texts
        )


def token_windows(
    items: list[TokenClip],
    batch: int,
    window: int,
    generator: torch.Generator,
    mix: Mix = DEFAULT_MIX,
) -> TokenBatch:
    """Random windows of ``window`` tokens (whole clips when shorter, then padded), drawn by the
    training ``mix`` (``windows.Mix``)."""
    weights = mix.weights([i.kind for i in items], [len(i.codes) for i in items], [i.style for i in items])
    picks = torch.multinomial(weights, batch, replacement=True, generator=generator).tolist()
    codes, padding, features, music = [], [], [], []
    for i in picks:
        item = items[i]
        length = len(item.codes)
        start = int(torch.randint(max(1, length - window + 1), (), generator=generator))
        n = min(window, length - start)
        codes.append(torch.cat([item.codes[start : start + n], item.codes[-1:].expand(window - n, -1)]))
        padding.append(torch.arange(window) >= n)
        features.append(_frames(item.features, start, window))
        if item.music is not None:
            music.append(_frames(item.music, start, window))
    return TokenBatch(
        torch.stack(codes), torch.stack(padding), torch.stack(features),
        torch.stack(music) if music else None, [items[i].text for i in picks],
    )  # fmt: skip


def _frames(values: torch.Tensor, start_token: int, window: int) -> torch.Tensor:
    """The frames of tokens [start, start + window), padded by repeating the last frame."""
    chunk = values[start_token * FRAMES_PER_TOKEN : (start_token + window) * FRAMES_PER_TOKEN]
    missing = window * FRAMES_PER_TOKEN - len(chunk)
    return torch.cat([chunk, chunk[-1:].expand(missing, -1)]) if missing else chunk
