"""Pack a prepared corpus into the small bundle that ``scripts/gpu_train.py`` trains from.

Only the working tree travels to a lent GPU machine (64 MiB in all), and that machine has no audio
libraries and no text-encoder weights. So this runs on the CPU side and keeps what the transformer
stages need and nothing more: every training clip's and music-dance pair's tokens under the
checkpoint's tokenizer (the GPU side decodes them back to motion), the pairs' music features in
fp16, and the embedding of every training prompt. About 28 MB for the deduplicated corpus.

    python scripts/gpu_bundle.py --cache cache/corpus-dedup --checkpoint assets/checkpoints/starter \
        --out .gpu/bundle.pt      # .gpu/ is listed in .git/info/exclude, and carried by the run
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from dancemosaic.datasets.tokens import TokenClip, tokenize, tokenize_pairs  # noqa: E402
from dancemosaic.datasets.windows import TRAINING_MIX, load_clip_features  # noqa: E402
from dancemosaic.engine import DanceEngine  # noqa: E402

KINDS = tuple(TRAINING_MIX)  # a clip's kind is stored as its index here


def _packed(clips: list[TokenClip], texts: list[str]) -> dict[str, torch.Tensor]:
    packed = {
        "codes": torch.cat([c.codes for c in clips]).short(),
        "code_len": torch.tensor([len(c.codes) for c in clips]),
        "text": torch.tensor([texts.index(c.text) for c in clips]),
        "kind": torch.tensor([KINDS.index(c.kind) for c in clips]),
    }
    if clips and clips[0].music is not None:
        packed["music"] = torch.cat([c.music for c in clips]).half()
        packed["music_len"] = torch.tensor([len(c.music) for c in clips])
    return packed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, required=True, help="a corpus made by `prepare`")
    parser.add_argument("--checkpoint", type=Path, required=True, help="its tokenizer and text encoder")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    engine = DanceEngine.from_pretrained(args.checkpoint)
    tokenizer = engine.model.tokenizer.eval()
    clips = load_clip_features(args.cache)
    items = tokenize(tokenizer, clips)
    pairs = tokenize_pairs(args.cache, tokenizer, clips)
    texts = sorted({c.text for c in items} | {p.text for p in pairs})
    bundle = {
        "texts": texts,
        "table": engine.text_encoder.encode(texts).half(),
        "items": _packed(items, texts),
        "pairs": _packed(pairs, texts),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(bundle, args.out)
    print(
        f"{args.out}: {len(items)} clips, {len(pairs)} pairs, {len(texts)} prompts, "
        f"{args.out.stat().st_size / 1e6:.1f} MB"
    )


if __name__ == "__main__":
    main()
