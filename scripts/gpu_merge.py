"""Make an engine checkpoint of a ``scripts/gpu_train.py`` run: the checkpoint it started from
(its tokenizer, unchanged by the run) with the run's masked model and residual transformer.

The run writes only those two (14.5 MB in fp16) because the files that come back from a lent GPU
machine are limited to 16 MB each, and a whole small engine checkpoint is 17 MB.

    python scripts/gpu_merge.py RUN.safetensors --checkpoint assets/checkpoints/starter --out FOLDER
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from safetensors.torch import load_file

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from dancemosaic import checkpoint  # noqa: E402
from dancemosaic.config import ModelConfig  # noqa: E402
from dancemosaic.model import DanceModel  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=Path, help="the .safetensors that gpu_train.py wrote")
    parser.add_argument("--checkpoint", type=Path, required=True, help="the one the run started from")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    saved = checkpoint.read_config(args.checkpoint)
    model = DanceModel(ModelConfig.from_dict(saved["model"]), saved["text_dim"])
    checkpoint.load_weights(model, args.checkpoint)
    state = {k: v.float() for k, v in load_file(args.run).items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    if unexpected or any(not k.startswith("tokenizer.") for k in missing):
        raise SystemExit(f"{args.run} does not fit {args.checkpoint}: {unexpected[:3]} {missing[:3]}")
    checkpoint.save_module(model, args.out, saved, half=True)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
