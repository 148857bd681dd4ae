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

import json
import sys
import time
from pathlib import Path

from training_music import dance_prompts, load_engine, score, sweep_parser  # puts the checkout on sys.path

from dancemosaic import music, rhythm
from dancemosaic.evaluation import training_pool
from dancemosaic.sampling import SamplingOptions

TRACKS = {"Vibe Ace": "{data}/music/Kevin_MacLeod_-_Vibe_Ace.hq.ogg",
          "synth 172 BPM": "{cache}/music/synth-172bpm-four_on_floor.wav",
          "synth 160 BPM": "{cache}/music/synth-160bpm-clave.wav"}  # fmt: skip


def main() -> None:
    parser = sweep_parser(__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, nargs="*", default=[0, 25, 50])
    parser.add_argument("--eta", type=float, default=rhythm.BeatOptions.eta, help="relative step size")
    parser.add_argument("--plant", type=float, default=rhythm.BeatOptions.plant, help="planted-feet weight")
    parser.add_argument("--half-time-above", type=float, default=music.HALF_TIME_ABOVE_BPM,
                        help="songs faster than this (BPM) are danced on every other beat")  # fmt: skip
    parser.add_argument("--tracks", nargs="*", choices=list(TRACKS), default=["Vibe Ace", "synth 172 BPM"])
    args = parser.parse_args()
    engine = load_engine(args)
    music.HALF_TIME_ABOVE_BPM = args.half_time_above
    pool = training_pool(args.cache)
    rows = []
    for name in args.tracks:
        track = Path(TRACKS[name].format(data=args.data, cache=args.cache))
        beats = music.analyse_file(track).beat_frames
        for steps in args.steps:
            options = SamplingOptions(beat=rhythm.BeatOptions(steps=steps, eta=args.eta, plant=args.plant))
            started = time.perf_counter()
            dances = dance_prompts(engine, track, options, args.seeds)
            seconds = (time.perf_counter() - started) / len(dances)
            setting = {"track": name, "steps": steps, "eta": args.eta, "plant": args.plant,
                       "half_time_above": args.half_time_above}  # fmt: skip
            scores = {
                key: round(value, 3 if key == "BAS" else 1)
                for key, value in score(dances, pool, beats).items()
            }
            rows.append(setting | scores | {"seconds_per_60s": round(seconds, 2)})
            print(rows[-1], file=sys.stderr)
    print(json.dumps(rows, indent=2) if args.json else "\n".join(str(r) for r in rows))


if __name__ == "__main__":
    main()
