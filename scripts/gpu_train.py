"""Train the masked transformer stages on a lent GPU, against a wall-clock budget.

The GPU machine is bare (no audio libraries, no text-encoder weights) and only a small bundle can
travel with the working tree, so the CPU side packs the training data first
(``scripts/gpu_bundle.py``: the corpus's tokens under the checkpoint's tokenizer, the pairs' music
features and the prompts' embeddings). This script then trains backbone, residual transformer,
music tower and pose tower in that order, each for its share of ``--seconds``, with a cosine
learning rate, and writes the masked model and residual transformer (fp16) after every stage.
The tokenizer is the checkpoint's own and is not trained here, so its codes keep their meaning.

    python scripts/gpu_train.py --bundle .gpu/bundle.pt --checkpoint assets/checkpoints/starter \
        --out $OUT/run.safetensors --seconds 420 [--scratch] [--keep-towers] [--mix 0.6,0.3,0.1]

The small model leaves an H100 mostly idle, so several variants can run side by side (each is its
own process, with its own --out). Back on the CPU side, ``scripts/gpu_merge.py`` makes an engine
checkpoint of a run. Without a GPU it runs on the CPU too: 0.6 backbone steps (batch 64) a second
on one core of this project's machine.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import types
from dataclasses import replace
from pathlib import Path

# Training reads no audio: stand in for the audio libraries that the device image lacks and that
# dancemosaic.music imports at the top (the constants it defines are all that training uses).
for _name in ("librosa", "soundfile"):
    sys.modules.setdefault(_name, types.ModuleType(_name))

import torch  # noqa: E402
from safetensors.torch import save_file  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from dancemosaic import checkpoint, distributed  # noqa: E402
from dancemosaic.config import ModelConfig  # noqa: E402
from dancemosaic.datasets import windows  # noqa: E402
from dancemosaic.datasets.tokens import TokenClip  # noqa: E402
from dancemosaic.model import DanceModel  # noqa: E402
from dancemosaic.train import StageOptions, adamw, cosine_decay, optimise, warm_up  # noqa: E402
from dancemosaic.train_model import (  # noqa: E402
    backbone_step,
    music_tower_step,
    pose_tower_step,
    residual_step,
)

KINDS = tuple(windows.TRAINING_MIX)  # the order scripts/gpu_bundle.py stores kinds in
# Share of the budget per stage, and each stage's options (steps are set by the clock instead).
STAGES = {
    "backbone": (0.45, StageOptions(steps=0, batch=64, lr=4e-4, window=40)),
    "residual": (0.12, StageOptions(steps=0, batch=64, lr=4e-4, window=40)),
    "music_tower": (0.30, StageOptions(steps=0, batch=32, lr=2e-4, window=40)),
    "pose_tower": (0.13, StageOptions(steps=0, batch=32, lr=2e-4, window=40)),
}


class TableEncoder:
    """The bundle's prompt embeddings, looked up by prompt (the prompts of the training data)."""

    def __init__(self, texts: list[str], table: torch.Tensor) -> None:
        self.index = {t: i for i, t in enumerate(texts)}
        self.table = table.float()
        self.dim = table.shape[1]

    def encode(self, texts: list[str]) -> torch.Tensor:
        return self.table[[self.index[t] for t in texts]]


@torch.no_grad()
def _clips(part: dict, texts: list[str], tokenizer, device: torch.device) -> list[TokenClip]:
    """TokenClips whose features are the tokenizer's decoding of their own codes: the targets of
    the kinematic and pose losses are then motion the tokens can reach."""
    codes = part["codes"].long().split(part["code_len"].tolist())
    music = part["music"].float().split(part["music_len"].tolist()) if "music" in part else None
    clips = []
    for i, c in enumerate(codes):
        features = tokenizer.decode(c[None].to(device))[0].float().cpu()
        m = music[i][: len(features)] if music is not None else None
        features = features[: len(m)] if m is not None else features
        clips.append(TokenClip(texts[part["text"][i]], c, features, m, KINDS[part["kind"][i]]))
    return clips


def _train(stage, model, part, step_fn, options, seconds, log) -> None:
    """Optimise ``part`` alone for ``seconds`` of wall clock: warm-up, then a cosine learning rate."""
    model.train_only(part)
    params = [p for p in part.parameters() if p.requires_grad]
    optimizer, world = adamw(params, options.lr), distributed.setup()
    generator = torch.Generator().manual_seed(options.seed)
    start, step, recent = time.time(), 0, []
    model.train()
    while (elapsed := time.time() - start) < seconds:
        rate = options.lr * warm_up(step) * cosine_decay(elapsed / seconds, floor=0.1)
        losses = step_fn(generator)
        optimise(losses["loss"], optimizer, params, rate, world)
        step += 1
        recent.append({k: float(v.detach()) for k, v in losses.items()})
        if step % 200 == 0:
            mean = {k: round(sum(r[k] for r in recent) / len(recent), 4) for k in recent[0]}
            log({"stage": stage, "step": step, "seconds": round(elapsed, 1), **mean})
            recent = []
    model.eval()
    log({"stage": stage, "done_steps": step, "seconds": round(time.time() - start, 1)})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundle", type=Path, required=True)
    parser.add_argument("--checkpoint", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True, help="the .safetensors to write")
    parser.add_argument("--seconds", type=float, required=True, help="training budget, all stages")
    parser.add_argument("--scratch", action="store_true", help="fresh transformers")
    parser.add_argument("--keep-towers", action="store_true", help="towers not re-copied")
    parser.add_argument("--mix", default=None, help="recorded,dance,other shares of the windows")
    parser.add_argument("--stages", default=",".join(STAGES))
    args = parser.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.set_num_threads(2)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    log_path = args.out.with_suffix(".jsonl")

    def log(record: dict) -> None:
        print(json.dumps({"run": args.out.stem, **record}), flush=True)
        with open(log_path, "a") as f:
            f.write(json.dumps(record) + "\n")

    mix = (
        windows.Mix(dict(zip(KINDS, map(float, args.mix.split(",")), strict=True)))
        if args.mix
        else windows.DEFAULT_MIX
    )
    saved = checkpoint.read_config(args.checkpoint)
    config = ModelConfig.from_dict(saved["model"])
    model = DanceModel(config, saved["text_dim"])
    checkpoint.load_weights(model, args.checkpoint)
    if args.scratch:
        fresh = DanceModel(config, saved["text_dim"])
        model.masked.backbone.load_state_dict(fresh.masked.backbone.state_dict())
        model.residual.load_state_dict(fresh.residual.state_dict())
    model.to(device).eval()
    bundle = torch.load(args.bundle, weights_only=True)
    encoder = TableEncoder(bundle["texts"], bundle["table"])
    items = _clips(bundle["items"], bundle["texts"], model.tokenizer, device)
    pairs = _clips(bundle["pairs"], bundle["texts"], model.tokenizer, device)
    log(
        {
            "items": len(items),
            "pairs": len(pairs),
            "device": str(device),
            "args": vars(args)
            | {"bundle": str(args.bundle), "checkpoint": str(args.checkpoint), "out": str(args.out)},
        }
    )
    masked, tokenizer = model.masked, model.tokenizer
    plan = {
        "backbone": lambda o: (masked.backbone, backbone_step(masked, items, encoder, o)),
        "residual": lambda o: (model.residual, residual_step(model.residual, tokenizer, items, encoder, o)),
        "music_tower": lambda o: (masked.music_tower, music_tower_step(masked, tokenizer, pairs, encoder, o)),
        "pose_tower": lambda o: (masked.pose_tower, pose_tower_step(masked, tokenizer, items, encoder, o)),
    }
    chosen = args.stages.split(",")
    total = sum(STAGES[s][0] for s in chosen)
    for stage in chosen:
        share, options = STAGES[stage]
        options = replace(options, mix=mix)
        if stage.endswith("tower") and not args.keep_towers:
            getattr(masked, stage).copy_backbone(masked.backbone)
        part, step_fn = plan[stage](options)
        _train(stage, model, part, step_fn, options, args.seconds * share / total, log)
        state = {f"masked.{k}": v for k, v in masked.state_dict().items()}
        state |= {f"residual.{k}": v for k, v in model.residual.state_dict().items()}
        save_file(
            {
                k: v.detach().half().contiguous() if v.is_floating_point() else v.contiguous()
                for k, v in state.items()
            },
            args.out,
        )
        log({"saved_after": stage})


if __name__ == "__main__":
    main()
