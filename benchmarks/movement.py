"""Does the model dance as much as a dancer? Movement of generated dances against the real dance on
the same song, for decoding settings side by side. Training songs only (per style, the longest
recorded training dance of ``dance_with_melody`` that the copy cut left, from where it starts in
its song): settings are chosen here, never on the held-out songs.

    python benchmarks/movement.py --checkpoint runs/x/export --seeds 2 --json
    python benchmarks/movement.py --settings default "residual=0 music=1"

A setting is one of the names below or ``key=value`` pairs over the defaults, as in
``benchmarks/decoding_grid.py``. Prints, per setting, the mean over songs and seeds of the
pose-spread, body-frame pose-spread, joint-speed and joint-acceleration ratios (generated / real,
1.0 = moves like the dancer; acceleration well above speed is jitter), BAS on the song's beats,
and two statistics of the first-quantizer codes against those of the real dance encoded by the
same tokenizer: how often a code repeats its neighbour (``code_repeat``) and the entropy of the
codes a dance uses (``code_entropy``, nats). Too many repeats and too few codes is a dance that
settles into a few poses; none at all is codes drawn one by one, with no phrase.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from decoding_grid import options  # noqa: E402

from dancemosaic import metrics, movement, music  # noqa: E402
from dancemosaic.dance import Request  # noqa: E402
from dancemosaic.datasets.corpus import BALLROOM_SOURCE, load_index, load_motion  # noqa: E402
from dancemosaic.engine import DanceEngine  # noqa: E402
from dancemosaic.guidance import GuidanceOptions  # noqa: E402
from dancemosaic.real_evaluation import Segment, real_segments, song_segment  # noqa: E402
from dancemosaic.representation import motion_to_features  # noqa: E402
from dancemosaic.rhythm import BeatOptions  # noqa: E402
from dancemosaic.sampling import SamplingOptions  # noqa: E402
from dancemosaic.timing import FPS  # noqa: E402

COLUMNS = (
    "spread_ratio",
    "body_spread_ratio",
    "speed_ratio",
    "acceleration_ratio",
    "spread_cm",
    "BAS",
    "code_repeat",
    "code_entropy",
)
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


def training_segments(cache: Path, seconds: float) -> list[Segment]:
    """Per style, the longest recorded training dance, cut to ``seconds``: the copy cut
    (``datasets/dedup.py``) leaves few whole training songs, and tango only fragments of 4-6 s."""
    longest: dict[str, Segment] = {}
    for segment in real_segments(cache, seconds, split="train"):
        if segment.style not in longest or segment.frames > longest[segment.style].frames:
            longest[segment.style] = segment
    if not longest:
        raise SystemExit(
            f"no recorded training dance in {cache}: prepare it with the dance_with_melody folder"
        )
    return [longest[name] for name in sorted(longest)]


def real_codes(engine: DanceEngine, cache: Path, segment: Segment) -> np.ndarray:
    """(L,) first-quantizer codes of the real dance over ``segment``, from the engine's tokenizer."""
    entries = {e["name"]: e for e in load_index(cache)["clips"]}
    motion = load_motion(cache, entries[f"{BALLROOM_SOURCE}/{segment.name}"])
    features = motion_to_features(motion)[: segment.frames][None].to(engine.device)
    return engine.model.tokenizer.encode(features)[0, :, 0].cpu().numpy()


def song_beats(song: Path, frames: int) -> np.ndarray:
    beats = music.analyse_file(song).beat_frames
    return beats[beats < frames]


def code_statistics(codes: np.ndarray) -> tuple[float, float]:
    """(L,) codes -> share of codes equal to the one before, entropy (nats) of the codes used."""
    _, counts = np.unique(codes, return_counts=True)
    shares = counts / counts.sum()
    return float((codes[1:] == codes[:-1]).mean()), float(-(shares * np.log(shares)).sum())


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
    segments = training_segments(args.cache, args.seconds)
    print(
        "training dances: " + ", ".join(f"{s.name} ({s.frames / FPS:.1f} s)" for s in segments),
        file=sys.stderr,
    )
    with tempfile.TemporaryDirectory() as folder:
        songs = {s.name: song_segment(s, Path(folder)) for s in segments}
        beats = {s.name: song_beats(songs[s.name], s.frames) for s in segments}
        rows = {"real dances": [(1.0, 1.0, 1.0, 1.0, movement.pose_spread(s.real) * 100,
                                 metrics.dance_bas(s.real, beats[s.name]),
                                 *code_statistics(real_codes(engine, args.cache, s)))
                                for s in segments]}  # fmt: skip
        jobs = [(name, segment) for name in chosen for segment in segments]
        for name, segment in tqdm(jobs, desc="dance"):
            for seed in range(args.seeds):
                request = Request(
                    segment.prompt, song=songs[segment.name], seed=seed, duration=segment.frames / FPS
                )
                dance = engine.generate(request, chosen[name])
                joints = dance.motion.joints().numpy()[: segment.frames]
                ratios = movement.movement_ratios(joints, segment.real)
                row = tuple(ratios[k] for k in COLUMNS[:4])
                codes = code_statistics(dance.codes[:, 0].numpy())
                bas = metrics.dance_bas(joints, beats[segment.name])
                rows.setdefault(name, []).append((*row, movement.pose_spread(joints) * 100, bas, *codes))
    table = {
        name: dict(
            zip(
                COLUMNS,
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
