"""How much movement does a checkpoint's tokenizer keep? Encode and decode each held-out clip (first
30 s) and print the joint-speed, pose-spread and body-frame pose-spread ratios (decoded / real), the
root-relative MPJPE, how many distinct first-quantizer codes it used, and the body-frame spread
ratio when only the first 1 or 2 quantizers are decoded (what the backbone's codes alone carry).

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
from dancemosaic.engine import DanceEngine  # noqa: E402
from dancemosaic.movement import body_spread, movement_ratios  # noqa: E402
from dancemosaic.representation import features_to_motion, motion_to_features  # noqa: E402
from dancemosaic.timing import FPS  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=None, help="default: the starter checkpoint")
    parser.add_argument("--cache", type=Path, default=Path("cache/corpus"))
    args = parser.parse_args()
    tokenizer = DanceEngine.from_pretrained(*([args.checkpoint] if args.checkpoint else [])).model.tokenizer
    for entry in (e for e in load_index(args.cache)["clips"] if e["split"] == "test"):
        real = load_motion(args.cache, entry).slice(0, int(30 * FPS))
        codes = tokenizer.encode(motion_to_features(real)[None])
        a, b = real.joints().numpy(), _decoded(tokenizer, codes)
        a, b = a[: len(b)], b[: len(a)]
        ratios = movement_ratios(b, a)
        speed, spread, body = ratios["speed_ratio"], ratios["spread_ratio"], ratios["body_spread_ratio"]
        mpjpe = np.linalg.norm((a - a[:, :1]) - (b - b[:, :1]), axis=-1).mean() * 1000
        used = len(np.unique(codes[0, :, 0].numpy()))
        real_body = body_spread(a)
        coarse = [body_spread(_decoded(tokenizer, codes[..., :q])[: len(a)]) / real_body for q in (1, 2)]
        print(
            f"{entry['name']:<30} speed {speed:.2f} spread {spread:.2f} body spread {body:.2f} "
            f"(quantizers 1 / 2: {coarse[0]:.2f} / {coarse[1]:.2f}) MPJPE {mpjpe:4.0f} mm codes {used}"
        )


@torch.no_grad()
def _decoded(tokenizer, codes: torch.Tensor) -> np.ndarray:
    """(1, L, Q') codes -> (4L, J, 3) joint positions."""
    return features_to_motion(tokenizer.decode(codes)[0], FPS).joints().numpy()


if __name__ == "__main__":
    main()
