"""Does the prompt tell the model which dance to dance? The masked-token cross-entropy of real
ballroom dances (no music) under each style's prompt, on the training and the held-out dances:

    python benchmarks/text_fit.py [--checkpoint DIR] [--cache cache/corpus] [--batches 40] [--json]

Each dance's own prompt is rephrased with another style's name (and once with no text), over the
same windows and masks, at the training's cosine mask ratios and with every token masked (where
a generation starts, and the prompt is all the model has). A model that learnt the styles scores
each dance lowest under its own style's prompt, by a margin; one that ignores the text scores
every prompt alike. "own lowest" is the share of windows whose own prompt scores lowest.
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout
sys.path.insert(0, str(Path(__file__).resolve().parent))

from music_fit import WINDOW, command_line, held_out_pairs, training_pairs  # noqa: E402

from dancemosaic import conditioning  # noqa: E402
from dancemosaic.datasets.dance_with_melody import STYLES  # noqa: E402
from dancemosaic.datasets.tokens import TokenClip, token_windows  # noqa: E402
from dancemosaic.engine import DanceEngine  # noqa: E402
from dancemosaic.train_model import corrupt, cosine_mask  # noqa: E402
from dancemosaic.transformer import Conditions  # noqa: E402

NO_TEXT = "no text"


@torch.no_grad()
def window_losses(engine: DanceEngine, clips: list[TokenClip], style: str, all_masked: bool, batches: int,
                  seed: int) -> dict[str, torch.Tensor]:  # fmt: skip
    """(windows,) masked cross-entropy of ``style``'s dances under each style's prompt and none."""
    masked, generator = engine.model.masked, torch.Generator().manual_seed(seed)
    own = [c for c in clips if c.style == style]
    losses: dict[str, list[torch.Tensor]] = {}
    for _ in range(batches):
        batch = token_windows(own, 16, WINDOW, generator)
        mask = ~batch.padding if all_masked else cosine_mask(batch.padding, generator)
        inputs = corrupt(batch.codes[..., 0], mask, masked.backbone.mask_id, generator)
        if all_masked:
            inputs = inputs.masked_fill(mask, masked.backbone.mask_id)
        size = len(batch.texts)
        yes, no = torch.ones(size, dtype=torch.bool), torch.zeros(size, dtype=torch.bool)
        for prompt in (*STYLES.values(), NO_TEXT):
            texts = [t.replace(style, prompt if prompt != NO_TEXT else style) for t in batch.texts]
            cond = Conditions(
                engine.text_encoder.encode(texts), no if prompt == NO_TEXT else yes,
                torch.zeros(size, WINDOW, conditioning.MUSIC_DIM), no,
                torch.zeros(size, WINDOW, conditioning.POSE_DIM), no,
            )  # fmt: skip
            logits = masked(inputs, cond, batch.padding)
            token_loss = F.cross_entropy(logits.transpose(1, 2), batch.codes[..., 0], reduction="none")
            per_window = (token_loss * mask).sum(1) / mask.sum(1).clamp(min=1)
            losses.setdefault(prompt, []).append(per_window)
    return {prompt: torch.cat(values) for prompt, values in losses.items()}


def style_table(
    engine: DanceEngine, clips: list[TokenClip], all_masked: bool, batches: int, seed: int
) -> dict:
    """{dance style: {prompt: mean cross-entropy, ..., "own lowest": share}}."""
    table = {}
    for style in tqdm(STYLES.values(), desc="styles", leave=False):
        if not any(c.style == style for c in clips):
            continue
        losses = window_losses(engine, clips, style, all_masked, batches, seed)
        row = {prompt: round(float(values.mean()), 4) for prompt, values in losses.items()}
        prompted = torch.stack([losses[p] for p in STYLES.values()])  # (styles, windows)
        own = list(STYLES.values()).index(style)
        row["own lowest"] = round(float((prompted.argmin(0) == own).float().mean()), 3)
        table[style] = row
    return table


def main() -> None:
    args, engine = command_line(__doc__, 40, "batches of 16 windows per style")
    sets = {"training": training_pairs(engine, args.cache), "held-out": held_out_pairs(engine, args.cache)}
    results = {
        f"{name}, {'every token masked' if all_masked else 'cosine masks'}": style_table(
            engine, [replace(c, music=None) for c in clips], all_masked, args.batches, args.seed
        )
        for name, clips in sets.items()
        for all_masked in (False, True)
    }
    if args.json:
        print(json.dumps(results, indent=2))
        return
    columns = (*STYLES.values(), NO_TEXT, "own lowest")
    for name, table in results.items():
        print(f"\n{name}\n{'dance':10}" + "".join(f"{c:>11}" for c in columns))
        for style, row in table.items():
            print(f"{style:10}" + "".join(f"{row[c]:11.3f}" for c in columns))


if __name__ == "__main__":
    main()
