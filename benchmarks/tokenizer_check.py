"""How much movement does a checkpoint's tokenizer keep, and what does its residual transformer add?
Encode each held-out clip (first 30 s) and decode it three ways:

- the tokenizer alone (raw decoder output): joint-speed, pose-spread, body-frame spread and
  acceleration ratios (decoded / real), root-relative MPJPE, distinct first-quantizer codes, and
  the body-frame spread when only the first 1 or 2 quantizers are decoded (what the backbone's
  codes alone carry);
- "engine": the same codes through the engine's decoding (low-pass, floor, planted feet), which is
  what a user sees;
- "residual": the dancer's own first-quantizer codes with quantizers 1..Q-1 filled by the residual
  transformer (the clip's text prompt, the shipped residual temperature, seed 0), through the
  engine's decoding: a perfect backbone's dance. Acceleration far above the engine column is
  jitter the residual codes add.

    python benchmarks/tokenizer_check.py [--checkpoint DIR]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from dancemosaic.datasets.corpus import load_index, load_motion  # noqa: E402
from dancemosaic.engine import DanceEngine, decoded_motion  # noqa: E402
from dancemosaic.movement import body_spread, movement_ratios  # noqa: E402
from dancemosaic.representation import features_to_motion, motion_to_features  # noqa: E402
from dancemosaic.sampling import SamplingOptions, decode_residual  # noqa: E402
from dancemosaic.timing import FPS  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=None, help="default: the starter checkpoint")
    parser.add_argument("--cache", type=Path, default=Path("cache/corpus"))
    args = parser.parse_args()
    engine = DanceEngine.from_pretrained(*([args.checkpoint] if args.checkpoint else []))
    tokenizer = engine.model.tokenizer
    for entry in (e for e in load_index(args.cache)["clips"] if e["split"] == "test"):
        real = load_motion(args.cache, entry).slice(0, int(30 * FPS))
        with torch.no_grad():
            codes = tokenizer.encode(motion_to_features(real)[None])
            features = tokenizer.decode(codes)[0]  # decoded once: raw below, and the engine's view
        a, b = real.joints().numpy(), features_to_motion(features, FPS).joints().numpy()
        a, b = a[: len(b)], b[: len(a)]
        mpjpe = np.linalg.norm((a - a[:, :1]) - (b - b[:, :1]), axis=-1).mean() * 1000
        used = len(np.unique(codes[0, :, 0].numpy()))
        real_body = body_spread(a)
        coarse = [body_spread(_decoded(tokenizer, codes[..., :q])[: len(a)]) / real_body for q in (1, 2)]
        engine_view = _through_engine(features)
        with torch.no_grad():
            residual_features = tokenizer.decode(
                _residual_filled(engine, codes[0, :, 0], entry["text"])[None]
            )[0]
        residual_view = _through_engine(residual_features)
        print(
            f"{entry['name']:<30} {_ratios(b, a)} (quantizers 1 / 2: {coarse[0]:.2f} / {coarse[1]:.2f}) "
            f"MPJPE {mpjpe:4.0f} mm codes {used}\n{'':<30} engine: {_ratios(engine_view, a)}; "
            f"residual: {_ratios(residual_view, a)}"
        )


def _ratios(dance: np.ndarray, real: np.ndarray) -> str:
    """ "speed 0.79 spread 0.88 body spread 0.76 accel 0.61" (dance / real, over their common frames)."""
    r = movement_ratios(dance[: len(real)], real[: len(dance)])
    return (
        f"speed {r['speed_ratio']:.2f} spread {r['spread_ratio']:.2f} "
        f"body spread {r['body_spread_ratio']:.2f} accel {r['acceleration_ratio']:.2f}"
    )


@torch.no_grad()
def _decoded(tokenizer, codes: torch.Tensor) -> np.ndarray:
    """(1, L, Q') codes -> (4L, J, 3) joint positions."""
    return features_to_motion(tokenizer.decode(codes)[0], FPS).joints().numpy()


@torch.no_grad()
def _through_engine(features: torch.Tensor) -> np.ndarray:
    """(T, C) decoded features -> joint positions as the engine returns a dance."""
    return decoded_motion(features.float()).joints().numpy()


@torch.no_grad()
def _residual_filled(engine: DanceEngine, first: torch.Tensor, text: str) -> torch.Tensor:
    """(L,) first-quantizer codes -> (L, Q) with the rest sampled by the residual transformer, one
    decoding window at a time (its positions go no further)."""
    model, window = engine.model, engine.model.window
    embedding = engine.text_encoder.encode([text])
    present = torch.ones(1, dtype=torch.bool)
    generator = torch.Generator().manual_seed(0)
    filled = [
        decode_residual(
            model.residual, model.tokenizer, first[None, start : start + window], embedding, present,
            options=SamplingOptions(), generator=generator,
        )[0]
        for start in range(0, len(first), window)
    ]  # fmt: skip
    return torch.cat(filled)


if __name__ == "__main__":
    main()
