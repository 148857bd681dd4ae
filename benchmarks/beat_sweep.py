"""Choose the beat refinement's settings on TRAINING music (never the held-out track or clips).

    python benchmarks/beat_sweep.py [--json] [--cache cache/corpus] [--data ../shared/data]
        [--checkpoint DIR] [--steps 0 25 50] [--eta 0.04] [--plant 1.0] [--seeds 2]
        [--half-time-above 150] [--tracks ...]

Dances to the first minute of training tracks, by default a real one (Vibe Ace, 129 BPM) and one
of the project's synthesised percussion tracks at 172 BPM (fast: danced on the half-time), for several
training prompts, with each number of beat refinement steps. Scored by FID_k/FID_g against the
training pool, FSR and BAS; seconds are the mean time per dance (generation included).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from dancemosaic import metrics, music, rhythm  # noqa: E402
from dancemosaic.dance import Request  # noqa: E402
from dancemosaic.engine import DanceEngine  # noqa: E402
from dancemosaic.evaluation import WINDOW, training_pool, windows  # noqa: E402
from dancemosaic.sampling import SamplingOptions  # noqa: E402
from dancemosaic.timing import FPS  # noqa: E402

TRACKS = {"Vibe Ace": "{data}/music/Kevin_MacLeod_-_Vibe_Ace.hq.ogg",
          "synth 172 BPM": "{cache}/music/synth-172bpm-four_on_floor.wav",
          "synth 160 BPM": "{cache}/music/synth-160bpm-clave.wav"}  # fmt: skip
PROMPTS = ("a person dances salsa", "a person dances", "a person dances ballet: pirouette, jete")


def score(dances: list[np.ndarray], pool: list[np.ndarray], beats: np.ndarray) -> dict:
    clips = [w for d in dances for w in windows(d, WINDOW // 2)]
    row = metrics.evaluate_motions(clips, pool, FPS)
    bas = [
        metrics.beat_alignment_score(metrics.motion_beats(d), beats, num_frames=len(d) - 1) for d in dances
    ]
    return {k: round(row[k], 1) for k in ("FID_k", "FID_g", "FSR")} | {"BAS": round(float(np.mean(bas)), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--cache", type=Path, default=Path("cache/corpus"))
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--checkpoint", type=Path, default=None, help="default: the starter checkpoint")
    parser.add_argument("--steps", type=int, nargs="*", default=[0, 25, 50])
    parser.add_argument("--eta", type=float, default=rhythm.BeatOptions.eta, help="relative step size")
    parser.add_argument("--plant", type=float, default=rhythm.BeatOptions.plant, help="planted-feet weight")
    parser.add_argument("--seeds", type=int, default=2, help="dances per prompt")
    parser.add_argument("--half-time-above", type=float, default=music.HALF_TIME_ABOVE_BPM,
                        help="songs faster than this (BPM) are danced on every other beat")  # fmt: skip
    parser.add_argument("--tracks", nargs="*", choices=list(TRACKS), default=["Vibe Ace", "synth 172 BPM"])
    args = parser.parse_args()
    engine = (
        DanceEngine.from_pretrained(args.checkpoint) if args.checkpoint else DanceEngine.from_pretrained()
    )
    music.HALF_TIME_ABOVE_BPM = args.half_time_above
    pool = training_pool(args.cache)
    rows = []
    for name in args.tracks:
        track = Path(TRACKS[name].format(data=args.data, cache=args.cache))
        beats = music.analyse_file(track).beat_frames
        for steps in args.steps:
            options = SamplingOptions(beat=rhythm.BeatOptions(steps=steps, eta=args.eta, plant=args.plant))
            dances, started = [], time.perf_counter()
            for prompt in PROMPTS:
                for seed in range(args.seeds):
                    request = Request(prompt, song=track, seed=seed, duration=60.0)
                    dance = engine.generate(request, options)
                    dances.append(dance.motion.joints().numpy())
            seconds = (time.perf_counter() - started) / len(dances)
            setting = {"track": name, "steps": steps, "eta": args.eta, "plant": args.plant,
                       "half_time_above": args.half_time_above}  # fmt: skip
            rows.append(setting | score(dances, pool, beats) | {"seconds_per_60s": round(seconds, 2)})
            print(rows[-1], file=sys.stderr)
    print(json.dumps(rows, indent=2) if args.json else "\n".join(str(r) for r in rows))


if __name__ == "__main__":
    main()
