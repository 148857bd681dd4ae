"""Choose guidance weights on TRAINING music and prompts (never the held-out track or clips).

    python benchmarks/guidance_sweep.py [--json] [--cache cache/corpus] [--data ../shared/data]
        [--checkpoint DIR] [--weights 2.0/1.0 ...] [--seeds 2]

For each (text, music) weight pair: dances to the first minute of the training track Vibe Ace
for several training prompts, scored by FID_k/FID_g against the training pool and BAS.
"""

from __future__ import annotations

import json

from training_music import dance_prompts, load_engine, score, sweep_parser  # puts the checkout on sys.path

from dancemosaic import music
from dancemosaic.evaluation import training_pool
from dancemosaic.guidance import GuidanceOptions
from dancemosaic.sampling import SamplingOptions

TRACK = "music/Kevin_MacLeod_-_Vibe_Ace.hq.ogg"  # a training track
WEIGHTS = ((1.0, 1.0), (1.5, 1.0), (2.0, 1.0), (1.0, 2.0), (1.5, 2.0))


def main() -> None:
    parser = sweep_parser(__doc__.splitlines()[0])
    parser.add_argument("--weights", nargs="*", default=None, help="text/music pairs, e.g. 2.0/1.0")
    args = parser.parse_args()
    engine = load_engine(args)
    weights = [tuple(map(float, w.split("/"))) for w in args.weights] if args.weights else WEIGHTS
    pool = training_pool(args.cache)
    track = args.data / TRACK
    beats = music.analyse_file(track).beat_frames
    rows = []
    for text_w, music_w in weights:
        options = SamplingOptions(guidance=GuidanceOptions(text=text_w, music=music_w, pose=2.0))
        dances = dance_prompts(engine, track, options, args.seeds)
        rows.append({"text": text_w, "music": music_w} | score(dances, pool, beats))
    print(json.dumps(rows, indent=2) if args.json else "\n".join(str(r) for r in rows))


if __name__ == "__main__":
    main()
