"""Edits by description on a checkpoint: does each instruction do what it says, and only that?

    python benchmarks/instruction_effects.py [--json] [--songs 3] [--seeds 8] [--checkpoint DIR]
                                             [--no-prompt-only]

The editing table of ``python -m dancemosaic evaluate --editing`` (``dancemosaic/editing_evaluation.py``
measures it), with one more column by default: the same share for a plain prompt edit of the span
with the effect's own prompt (``prompt only``: what text alone did before instructions existed).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from dancemosaic import editing_evaluation, instructions  # noqa: E402
from dancemosaic.engine import DEFAULT_CHECKPOINT, DanceEngine  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--songs", type=int, default=3)
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--checkpoint", type=Path, default=DEFAULT_CHECKPOINT)
    parser.add_argument("--no-prompt-only", action="store_true", help="skip the prompt-only edits")
    args = parser.parse_args()
    engine = DanceEngine.from_pretrained(args.checkpoint)
    protocol = editing_evaluation.Protocol(args.songs, args.seeds, prompt_only=not args.no_prompt_only)
    with tqdm(total=args.songs * args.seeds * len(instructions.EFFECTS), desc="editing") as bar:
        summary = editing_evaluation.evaluate(engine, protocol, progress=lambda name: bar.update())
    print(json.dumps(summary, indent=2) if args.json else editing_evaluation.markdown(summary))


if __name__ == "__main__":
    main()
