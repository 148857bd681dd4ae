"""The command line against the warm engine, on the same song, measured in one run.

    python benchmarks/cli_speed.py [--seconds 60] [--runs 3] [--json]

Writes a percussion song of ``--seconds`` and reports:
  - cli: wall seconds of ``python -m dancemosaic generate SONG --text ...`` in a fresh process
    (imports, loading the checkpoint, the song's analysis, decoding, beat sync, writing npz, BVH
    and JSON), each run; the first run after an install also fills the caches that later runs use
    (numba's compiled kernels, the prompt's text embedding), so it is reported apart;
  - engine: seconds of ``engine.generate`` for the same song and settings in this process once the
    engine is loaded and warmed up on another song, the song's analysis included (a fresh copy of
    the file each run, so nothing is reused from the previous one);
  - ratio: median cli over median engine (the issue's target: at most 2).
The CLI runs and the engine runs alternate, so a machine whose load changes treats both alike.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import soundfile

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dancemosaic import percussion  # noqa: E402
from dancemosaic.dance import Request  # noqa: E402
from dancemosaic.engine import DanceEngine  # noqa: E402
from dancemosaic.rhythm import BeatOptions  # noqa: E402
from dancemosaic.sampling import SamplingOptions  # noqa: E402

PROMPT = "a person dances hip-hop"
OPTIONS = SamplingOptions(steps=10, beat=BeatOptions(steps=25))  # the CLI's defaults


def write_song(path: Path, seconds: float, seed: int = 4) -> Path:
    audio, _ = percussion.synthesize(120.0, seconds, "hiphop", seed=seed, sample_rate=44100)
    soundfile.write(path, audio, 44100)
    return path


def cli_seconds(song: Path, out: Path) -> float:
    command = [
        sys.executable,
        "-m",
        "dancemosaic",
        "generate",
        str(song),
        "--text",
        PROMPT,
        "--out",
        str(out),
    ]
    started = time.perf_counter()
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
    return time.perf_counter() - started


def engine_seconds(engine: DanceEngine, song: Path, folder: Path, run: int) -> float:
    fresh = shutil.copy(song, folder / f"engine-{run}.wav")  # a new path: analysed again
    started = time.perf_counter()
    engine.generate(Request(PROMPT, song=fresh), OPTIONS)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="cli-speed-"))
    song = write_song(folder / "song.wav", args.seconds)
    engine = DanceEngine.from_pretrained()
    engine.generate(Request(PROMPT, song=write_song(folder / "warm-up.wav", 4.0, seed=1)), OPTIONS)
    first_cli = cli_seconds(song, folder / "out-0")  # fills numba's and the text embedding's caches
    cli, warm = [], []
    for run in range(args.runs):
        cli.append(cli_seconds(song, folder / f"out-{run + 1}"))
        warm.append(engine_seconds(engine, song, folder, run))
    result = {
        "song_seconds": args.seconds,
        "cli_first_run_s": round(first_cli, 2),
        "cli_s": [round(s, 2) for s in cli],
        "engine_s": [round(s, 2) for s in warm],
        "ratio": round(statistics.median(cli) / statistics.median(warm), 2),
    }
    shutil.rmtree(folder, ignore_errors=True)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"song: {args.seconds:g} s; CLI {result['cli_s']} s (first run {first_cli:.1f} s, filling caches)")
    print(f"warm engine.generate, analysis included: {result['engine_s']} s")
    print(f"CLI / engine (medians): {result['ratio']}x (target: at most 2x)")


if __name__ == "__main__":
    main()
