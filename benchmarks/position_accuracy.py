"""Does the backbone read every position of its window? One forward pass over real dances with a
share of their first-quantizer codes masked: how often the masked code is predicted exactly, by
the token's position in the window, beside copying the code on its left.

    python benchmarks/position_accuracy.py [--checkpoint DIR ...] [--masked 0.15] [--seeds 6]

Real dances (held-out and training recorded ballroom, their first 126 tokens = 16.8 s, text
only) are encoded by the checkpoint's own tokenizer. Positions the backbone never trained on keep
their random initial embeddings and predict little better than chance: this found the starter
decoding 128-token windows after training on 40-token ones (stop 26, ``benchmarks/REPORT.md``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from dancemosaic import conditioning  # noqa: E402
from dancemosaic.datasets.corpus import load_index, load_motion  # noqa: E402
from dancemosaic.engine import DEFAULT_CHECKPOINT, DanceEngine  # noqa: E402
from dancemosaic.real_evaluation import real_segments  # noqa: E402
from dancemosaic.representation import motion_to_features  # noqa: E402
from dancemosaic.timing import FPS, FRAMES_PER_TOKEN  # noqa: E402
from dancemosaic.transformer import Conditions  # noqa: E402

BUCKETS = ((0, 40), (40, 80), (80, 128))  # token positions [start, end)
TOKENS = 126


def real_codes(engine: DanceEngine, cache: Path, split: str, count: int) -> list[tuple[str, torch.Tensor]]:
    """(prompt, first-quantizer codes) of the first ``count`` recorded dances of ``split``."""
    entries = {e["name"].split("/")[-1]: e for e in load_index(cache)["clips"] if e["split"] == split}
    items = []
    for segment in real_segments(cache, TOKENS * FRAMES_PER_TOKEN / FPS, split=split)[:count]:
        motion = load_motion(cache, entries[segment.name]).slice(0, segment.frames)
        codes = engine.model.tokenizer.encode(motion_to_features(motion)[None])[0, :, 0]
        items.append((segment.prompt, codes))
    return items


@torch.no_grad()
def accuracy_by_position(
    engine: DanceEngine, items: list[tuple[str, torch.Tensor]], masked: float, seeds: int
) -> dict[str, dict[str, float]]:
    """Per position bucket: the model's exact-code accuracy and copying the left neighbour's."""
    model = engine.model.masked
    hits: dict[tuple[int, int], list[tuple[float, float]]] = {b: [] for b in BUCKETS}
    for prompt, codes in items:
        length = len(codes)
        absent = torch.zeros(1, dtype=torch.bool)
        cond = Conditions(
            engine.text_encoder.encode([prompt]), torch.ones(1, dtype=torch.bool),
            torch.zeros(1, length, conditioning.MUSIC_DIM), absent,
            torch.zeros(1, length, conditioning.POSE_DIM), absent,
        )  # fmt: skip
        for seed in range(seeds):
            mask = torch.rand(length, generator=torch.Generator().manual_seed(seed)) < masked
            mask[0] = False  # every masked token has a left neighbour to copy
            inputs = torch.where(mask, torch.full_like(codes, model.backbone.mask_id), codes)
            predicted = model(inputs[None], cond)[0].argmax(-1)
            for i in mask.nonzero()[:, 0].tolist():
                bucket = next(b for b in BUCKETS if b[0] <= i < b[1])
                hits[bucket].append((float(predicted[i] == codes[i]), float(codes[i - 1] == codes[i])))
    rows = {}
    for (start, end), pairs in hits.items():
        if pairs:
            model_hits, copy_hits = np.array(pairs).T
            rows[f"{start}-{end}"] = {
                "model": model_hits.mean(),
                "copy_left": copy_hits.mean(),
                "n": len(pairs),
            }
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, nargs="+", default=[DEFAULT_CHECKPOINT])
    parser.add_argument("--cache", type=Path, default=Path("cache/corpus"))
    parser.add_argument("--masked", type=float, default=0.15, help="share of the codes masked")
    parser.add_argument("--seeds", type=int, default=6, help="mask draws per dance")
    args = parser.parse_args()
    for checkpoint in args.checkpoint:
        engine = DanceEngine.from_pretrained(checkpoint)
        print(f"{checkpoint} (decoding window {engine.model.window} tokens)")
        for split, count in (("test", 4), ("train", 12)):
            rows = accuracy_by_position(
                engine, real_codes(engine, args.cache, split, count), args.masked, args.seeds
            )
            cells = [f"{k}: {r['model']:.2f} (copy-left {r['copy_left']:.2f})" for k, r in rows.items()]
            print(f"  {split:<5} positions " + ", ".join(cells))


if __name__ == "__main__":
    main()
