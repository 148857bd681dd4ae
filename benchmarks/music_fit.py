"""Does the music tower help on songs it never heard? The masked-token cross-entropy of real dances
given their songs, with the music tower on and off (the same windows, masks and text), on the
training ballroom pairs and on the held-out ones:

    python benchmarks/music_fit.py [--checkpoint DIR] [--cache cache/corpus] [--batches 100] [--json]

A tower that learnt how dancers move to music lowers the cross-entropy on both; one that learnt
its training songs by heart lowers it on the training songs only, and can raise it on new ones.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from dancemosaic import conditioning, music  # noqa: E402
from dancemosaic.datasets.corpus import recorded_pairs, style_label  # noqa: E402
from dancemosaic.datasets.tokens import TokenClip, token_windows, tokenize_pairs  # noqa: E402
from dancemosaic.datasets.windows import load_clip_features  # noqa: E402
from dancemosaic.engine import DEFAULT_CHECKPOINT, DanceEngine  # noqa: E402
from dancemosaic.timing import FRAMES_PER_TOKEN, seconds_to_frames  # noqa: E402
from dancemosaic.train_model import corrupt, cosine_mask  # noqa: E402
from dancemosaic.transformer import Conditions  # noqa: E402

WINDOW = 40  # tokens, as the music tower was trained


def training_pairs(engine: DanceEngine, cache: Path) -> list[TokenClip]:
    """The recorded training dances with the songs they were danced to (no built pairs)."""
    clips = [c for c in load_clip_features(cache) if c.kind == "recorded"]
    return tokenize_pairs(cache, engine.model.tokenizer, clips)  # pairs of other clips are skipped


@torch.no_grad()
def held_out_pairs(engine: DanceEngine, cache: Path) -> list[TokenClip]:
    """The held-out recorded dances (mirrors left out) with their songs from where they start."""
    clips = {c.name: c for c in load_clip_features(cache, "test")}
    pairs = []
    for entry in recorded_pairs(cache, "test"):
        song = music.analyse_file(entry["music"]).features
        start = seconds_to_frames(entry["music_offset"])
        tokens = min(len(clips[entry["name"]].features), len(song) - start) // FRAMES_PER_TOKEN
        features = clips[entry["name"]].features[: tokens * FRAMES_PER_TOKEN]
        song_part = torch.from_numpy(song[start : start + len(features)]).float()
        codes = engine.model.tokenizer.encode(features[None])[0]
        pairs.append(TokenClip(entry["text"], codes, features, song_part, "recorded", style_label(entry)))
    return pairs


@torch.no_grad()
def cross_entropies(engine: DanceEngine, pairs: list[TokenClip], batches: int, seed: int) -> dict:
    """Mean masked cross-entropy with and without the music tower over the same random windows."""
    masked, generator = engine.model.masked, torch.Generator().manual_seed(seed)
    sums = {"music": 0.0, "no_music": 0.0}
    for _ in tqdm(range(batches), desc="windows", leave=False):
        batch = token_windows(pairs, 16, WINDOW, generator)
        mask = cosine_mask(batch.padding, generator)
        inputs = corrupt(batch.codes[..., 0], mask, masked.backbone.mask_id, generator)
        size = len(batch.texts)
        yes, no = torch.ones(size, dtype=torch.bool), torch.zeros(size, dtype=torch.bool)
        cond = Conditions(
            engine.text_encoder.encode(batch.texts), yes,
            conditioning.music_signal(batch.music, WINDOW), yes,
            torch.zeros(size, WINDOW, conditioning.POSE_DIM), no,
        )  # fmt: skip
        target = batch.codes[..., 0][mask]
        for key, present in (("music", yes), ("no_music", no)):
            logits = masked(inputs, replace(cond, music_present=present), batch.padding)
            sums[key] += float(F.cross_entropy(logits[mask], target)) / batches
    return {key: round(value, 4) for key, value in sums.items()}


def command_line(doc: str, batches: int, batches_help: str) -> tuple[argparse.Namespace, DanceEngine]:
    """The fits' shared arguments (checkpoint, cache, batches, seed, json) and the engine to fit."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--checkpoint", type=Path, default=DEFAULT_CHECKPOINT, help="default: the starter")
    parser.add_argument("--cache", type=Path, default=Path("cache/corpus"))
    parser.add_argument("--batches", type=int, default=batches, help=batches_help)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    return args, DanceEngine.from_pretrained(args.checkpoint)


def main() -> None:
    args, engine = command_line(__doc__, 100, "batches of 16 windows per set")
    sets = {
        "training pairs": training_pairs(engine, args.cache),
        "held-out pairs": held_out_pairs(engine, args.cache),
    }
    rows = {name: cross_entropies(engine, pairs, args.batches, args.seed) for name, pairs in sets.items()}
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print(f"{'':16} {'with music':>10} {'no music':>10} {'gain':>7}")
    for name, row in rows.items():
        gain = row["no_music"] - row["music"]
        print(f"{name:16} {row['music']:10.3f} {row['no_music']:10.3f} {gain:+7.3f}")


if __name__ == "__main__":
    main()
