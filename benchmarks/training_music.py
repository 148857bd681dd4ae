"""What the training-music sweeps share (``guidance_sweep.py``, ``beat_sweep.py``): the options
every sweep takes, the training prompts, dancing them to a track, and scoring the dances with the
evaluation's own row. Settings are chosen here, on training music, never on the held-out set."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from dancemosaic.dance import Request  # noqa: E402
from dancemosaic.engine import DanceEngine  # noqa: E402
from dancemosaic.model_evaluation import score_dances  # noqa: E402
from dancemosaic.sampling import SamplingOptions  # noqa: E402

PROMPTS = ("a person dances salsa", "a person dances", "a person dances ballet: pirouette, jete")
SECONDS = 60.0  # the first minute of each track


def sweep_parser(description: str) -> argparse.ArgumentParser:
    """The options every sweep takes; a sweep adds its own."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--cache", type=Path, default=Path("cache/corpus"))
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--checkpoint", type=Path, default=None, help="default: the starter checkpoint")
    parser.add_argument("--seeds", type=int, default=2, help="dances per prompt and setting")
    return parser


def load_engine(args: argparse.Namespace) -> DanceEngine:
    return DanceEngine.from_pretrained(args.checkpoint) if args.checkpoint else DanceEngine.from_pretrained()


def dance_prompts(engine: DanceEngine, track: Path, options: SamplingOptions, seeds: int) -> list[np.ndarray]:
    """(T, 24, 3) joints of each training prompt danced to ``track`` with seeds 0..seeds-1."""
    return [
        engine.generate(Request(p, song=track, seed=s, duration=SECONDS), options).motion.joints().numpy()
        for p in PROMPTS
        for s in range(seeds)
    ]


def score(dances: list[np.ndarray], pool: list[np.ndarray], beats: np.ndarray) -> dict:
    """FID_k, FID_g, FSR against the training pool and the mean BAS against ``beats``."""
    row = score_dances("sweep", dances, pool, [beats] * len(dances))
    return {key: row[key] for key in ("FID_k", "FID_g", "FSR", "BAS")}
