"""End-to-end generation speed: music features, masked decoding, residual codes, decoder and FK.

    python benchmarks/speed.py [--json] [--checkpoint DIR] [--runs 5]

Reports the median seconds per 9 s clip (fresh audio file each run, so music analysis is
included), seconds for a 3-minute song, and the process's peak resident memory.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import soundfile

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from dancemosaic import percussion  # noqa: E402
from dancemosaic.dance import Request  # noqa: E402
from dancemosaic.engine import DEFAULT_CHECKPOINT, DanceEngine  # noqa: E402
from dancemosaic.timing import SAMPLE_RATE  # noqa: E402


def _song(folder: Path, name: str, seconds: float, bpm: float) -> Path:
    audio, _ = percussion.synthesize(bpm, seconds, seed=int(bpm))
    path = folder / f"{name}.wav"
    soundfile.write(path, audio, SAMPLE_RATE)
    return path


def _timed(engine: DanceEngine, song: Path, seed: int) -> float:
    start = time.perf_counter()
    dance = engine.generate(Request("a person dances salsa", song=song, seed=seed))
    dance.motion.joints24()  # forward kinematics, as a player needs
    return time.perf_counter() - start


def measure(checkpoint: Path, runs: int) -> dict:
    started = time.perf_counter()
    engine = DanceEngine.from_pretrained(checkpoint)
    load = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as folder:
        warmup = _timed(engine, _song(Path(folder), "warmup", 9.0, 100.0), 0)
        clips = [_timed(engine, _song(Path(folder), f"clip{i}", 9.0, 96.0 + 8 * i), i) for i in range(runs)]
        song = _timed(engine, _song(Path(folder), "song", 180.0, 124.0), 0)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "device": engine.device,
        "load_s": load,
        "first_clip_s": warmup,
        "clip_9s_median_s": statistics.median(clips),
        "clip_9s_runs_s": clips,
        "song_3min_s": song,
        "peak_memory_mb": peak_mb,
        "targets": {"clip_9s_median_s": 0.8, "song_3min_s": 15.0, "peak_memory_mb": 1536},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--checkpoint", type=Path, default=DEFAULT_CHECKPOINT)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    result = measure(args.checkpoint, args.runs)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for key, value in result.items():
            print(f"{key:<20} {value}")


if __name__ == "__main__":
    main()
