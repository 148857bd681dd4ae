"""Choose guidance weights on TRAINING music and prompts (never the held-out track or clips).

    python benchmarks/guidance_sweep.py [--json] [--cache cache/corpus] [--data ../shared/data]
        [--checkpoint DIR] [--weights 2.0/1.0 ...] [--seeds 2]

For each (text, music) weight pair: dances to the first minute of the training track Vibe Ace
for several training prompts, scored by FID_k/FID_g against the training pool and BAS.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from dancemosaic import metrics, music  # noqa: E402
from dancemosaic.dance import Request  # noqa: E402
from dancemosaic.engine import DanceEngine  # noqa: E402
from dancemosaic.evaluation import WINDOW, training_pool, windows  # noqa: E402
from dancemosaic.guidance import GuidanceOptions  # noqa: E402
from dancemosaic.sampling import SamplingOptions  # noqa: E402
from dancemosaic.timing import FPS  # noqa: E402

TRACK = "music/Kevin_MacLeod_-_Vibe_Ace.hq.ogg"  # a training track
PROMPTS = ("a person dances salsa", "a person dances", "a person dances ballet: pirouette, jete")
WEIGHTS = ((1.0, 1.0), (1.5, 1.0), (2.0, 1.0), (1.0, 2.0), (1.5, 2.0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--cache", type=Path, default=Path("cache/corpus"))
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--checkpoint", type=Path, default=None, help="default: the starter checkpoint")
    parser.add_argument("--weights", nargs="*", default=None, help="text/music pairs, e.g. 2.0/1.0")
    parser.add_argument("--seeds", type=int, default=2, help="dances per prompt and weight pair")
    args = parser.parse_args()
    engine = (
        DanceEngine.from_pretrained(args.checkpoint) if args.checkpoint else DanceEngine.from_pretrained()
    )
    weights = [tuple(map(float, w.split("/"))) for w in args.weights] if args.weights else WEIGHTS
    pool = training_pool(args.cache)
    track = args.data / TRACK
    beats = music.extract_features(music.load_audio(track)).beat_frames
    rows = []
    for text_w, music_w in weights:
        options = SamplingOptions(guidance=GuidanceOptions(text=text_w, music=music_w, pose=2.0))
        dances = [
            engine.generate(Request(p, song=track, seed=s, duration=60.0), options).motion.joints().numpy()
            for p in PROMPTS
            for s in range(args.seeds)
        ]
        clips = [w for d in dances for w in windows(d, WINDOW // 2)]
        row = metrics.evaluate_motions(clips, pool, FPS)
        bas = [
            metrics.beat_alignment_score(metrics.motion_beats(d), beats, num_frames=len(d) - 1)
            for d in dances
        ]
        rows.append({"text": text_w, "music": music_w, "FID_k": row["FID_k"], "FID_g": row["FID_g"],
                     "FSR": row["FSR"], "BAS": float(np.mean(bas))})  # fmt: skip
    print(json.dumps(rows, indent=2) if args.json else "\n".join(str(r) for r in rows))


if __name__ == "__main__":
    main()
