"""Does the model dance as much as a dancer? Movement of generated dances against the real dance on
the same song, for decoding settings side by side. Training songs only (the recorded training pairs
of ``dance_with_melody``): settings are chosen here, never on the held-out songs.

    python benchmarks/movement.py --checkpoint runs/x/export --seeds 2 --json
    python benchmarks/movement.py --settings default "residual=0 music=1"

A setting is one of the names below or ``key=value`` pairs over the defaults, as in
``benchmarks/decoding_grid.py``. Prints, per setting, the mean over songs and seeds of the
pose-spread, joint-speed and joint-acceleration ratios (generated / real, 1.0 = moves like the
dancer; acceleration well above speed is jitter), and BAS on the song's beats.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from decoding_grid import options  # noqa: E402

from dancemosaic import metrics, movement, music  # noqa: E402
from dancemosaic.dance import Request  # noqa: E402
from dancemosaic.datasets.corpus import load_index, load_joints  # noqa: E402
from dancemosaic.datasets.dance_with_melody import style_of, style_prompt  # noqa: E402
from dancemosaic.engine import DanceEngine  # noqa: E402
from dancemosaic.guidance import GuidanceOptions  # noqa: E402
from dancemosaic.rhythm import BeatOptions  # noqa: E402
from dancemosaic.sampling import SamplingOptions  # noqa: E402
from dancemosaic.timing import FPS  # noqa: E402

SONGS = ("DANCE_C_2", "DANCE_R_2", "DANCE_T_2", "DANCE_W_1")  # training pairs, one per style
BASE = SamplingOptions()
SETTINGS = {
    "default": BASE,
    "temperature 1.0": replace(BASE, temperature=1.0),
    "beat off": replace(BASE, beat=BeatOptions(steps=0)),
    "1 step": replace(BASE, steps=1),
    "30 steps": replace(BASE, steps=30),
    "guidance 1/1": replace(BASE, guidance=GuidanceOptions(text=1.0, music=1.0)),
    "no music": replace(BASE, guidance=GuidanceOptions(music=0.0), beat=BeatOptions(steps=0)),
    "temperature 1.2": replace(BASE, temperature=1.2),
    "temperature 1.3": replace(BASE, temperature=1.3),
    "temperature 1.4": replace(BASE, temperature=1.4),
    "temperature 1.6": replace(BASE, temperature=1.6),
    "temperature 1.8": replace(BASE, temperature=1.8),
    "top-k off": replace(BASE, top_k=None),
    "confidence noise 2": replace(BASE, confidence_noise=2.0),
    "confidence noise 4": replace(BASE, confidence_noise=4.0),
    "confidence noise 6": replace(BASE, confidence_noise=6.0),
    "noise 4, beat off": replace(BASE, confidence_noise=4.0, beat=BeatOptions(steps=0)),
    "noise 4, residual T1": replace(BASE, confidence_noise=4.0, residual_temperature=1.0),
    "noise 4, 20 steps": replace(BASE, confidence_noise=4.0, steps=20),
    "noise 2, beat off": replace(BASE, confidence_noise=2.0, beat=BeatOptions(steps=0)),
    "noise 3, beat off": replace(BASE, confidence_noise=3.0, beat=BeatOptions(steps=0)),
    "noise 6, beat off": replace(BASE, confidence_noise=6.0, beat=BeatOptions(steps=0)),
    "noise 8, beat off": replace(BASE, confidence_noise=8.0, beat=BeatOptions(steps=0)),
    "noise 6, T 1.2, beat off": replace(
        BASE, confidence_noise=6.0, temperature=1.2, beat=BeatOptions(steps=0)
    ),
    "noise 6, top-k off, beat off": replace(
        BASE, confidence_noise=6.0, top_k=None, beat=BeatOptions(steps=0)
    ),
    "noise 6, text 3, beat off": replace(
        BASE, confidence_noise=6.0, guidance=GuidanceOptions(text=3.0), beat=BeatOptions(steps=0)
    ),
}


def real_dances(cache: Path) -> list[tuple[str, Path, np.ndarray]]:
    entries = {e["name"]: e for e in load_index(cache)["clips"]}
    picked = [(stem, entries[f"dance_with_melody/{stem}"]) for stem in SONGS]
    return [(stem, Path(entry["music"]), load_joints(cache, entry)) for stem, entry in picked]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=None, help="default: the starter checkpoint")
    parser.add_argument("--cache", type=Path, default=Path("cache/corpus"))
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--settings", nargs="*", default=list(SETTINGS), help="names or key=value pairs")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    chosen = {name: SETTINGS.get(name) or options(name) for name in args.settings}  # typos before dancing
    engine = (
        DanceEngine.from_pretrained(args.checkpoint) if args.checkpoint else DanceEngine.from_pretrained()
    )
    songs = real_dances(args.cache)
    frames = int(args.seconds * FPS)
    rows = {}
    jobs = [(name, song) for name in chosen for song in songs]
    for name, (stem, song, real) in tqdm(jobs, desc="dance"):
        beats = music.analyse_file(song).beat_frames
        beats = beats[beats < frames]
        for seed in range(args.seeds):
            request = Request(style_prompt(style_of(stem), stem), song=song, seed=seed, duration=args.seconds)
            joints = engine.generate(request, chosen[name]).motion.joints().numpy()
            ratios = movement.movement_ratios(joints, real[:frames])
            bas = metrics.beat_alignment_score(
                metrics.motion_beats(joints), beats, num_frames=len(joints) - 1
            )
            row = (ratios["spread_ratio"], ratios["speed_ratio"], ratios["acceleration_ratio"])
            rows.setdefault(name, []).append((*row, movement.pose_spread(joints) * 100, bas))
    table = {
        name: dict(
            zip(
                ("spread_ratio", "speed_ratio", "acceleration_ratio", "spread_cm", "BAS"),
                np.mean(v, 0).round(3).tolist(),
                strict=True,
            )
        )
        for name, v in rows.items()
    }
    if args.json:
        print(json.dumps(table, indent=1))
        return
    for name, row in table.items():
        print(f"{name:<20} " + "  ".join(f"{k} {v:.3f}" for k, v in row.items()))


if __name__ == "__main__":
    main()
