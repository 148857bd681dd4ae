"""The command line against the warm engine, on the same song, measured in one run.

    python benchmarks/cli_speed.py [--seconds 60] [--runs 3] [--beat-steps 0] [--root DIR] [--json]

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
Both decode with 10 steps and ``--beat-steps`` of beat sync, given to the CLI explicitly (its
default is 0). ``--root`` measures another checkout (an older commit, unpacked with ``git
archive``): its CLI and its engine, so "before" and "after" run on the same machine in one sitting.
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
PROMPT = "a person dances hip-hop"
STEPS = 10  # the CLI's default decoding steps


def write_song(path: Path, seconds: float, seed: int = 4) -> Path:
    from dancemosaic import percussion

    audio, _ = percussion.synthesize(120.0, seconds, "hiphop", seed=seed, sample_rate=44100)
    soundfile.write(path, audio, 44100)
    return path


def cli_seconds(root: Path, song: Path, out: Path, beat_steps: int) -> float:
    command = [sys.executable, "-m", "dancemosaic", "generate", str(song), "--text", PROMPT,
               "--out", str(out), "--steps", str(STEPS), "--beat-steps", str(beat_steps)]  # fmt: skip
    started = time.perf_counter()
    subprocess.run(command, cwd=root, check=True, capture_output=True)
    return time.perf_counter() - started


def engine_seconds(engine: object, options: object, song: Path, folder: Path, run: int) -> float:
    from dancemosaic.dance import Request

    fresh = shutil.copy(song, folder / f"engine-{run}.wav")  # a new path: analysed again
    started = time.perf_counter()
    engine.generate(Request(PROMPT, song=fresh), options)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--beat-steps", type=int, default=0, help="beat sync steps (the CLI's default: 0)")
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout to measure (default: this one)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    root = args.root.resolve()
    sys.path.insert(0, str(root))  # its engine, not this checkout's
    from dancemosaic.dance import Request
    from dancemosaic.engine import DanceEngine
    from dancemosaic.rhythm import BeatOptions
    from dancemosaic.sampling import SamplingOptions

    options = SamplingOptions(steps=STEPS, beat=BeatOptions(steps=args.beat_steps))
    folder = Path(tempfile.mkdtemp(prefix="cli-speed-"))
    song = write_song(folder / "song.wav", args.seconds)
    engine = DanceEngine.from_pretrained()
    engine.generate(Request(PROMPT, song=write_song(folder / "warm-up.wav", 4.0, seed=1)), options)
    # the first run fills numba's and the text embedding's caches
    first_cli = cli_seconds(root, song, folder / "out-0", args.beat_steps)
    cli, warm = [], []
    for run in range(args.runs):
        cli.append(cli_seconds(root, song, folder / f"out-{run + 1}", args.beat_steps))
        warm.append(engine_seconds(engine, options, song, folder, run))
    result = {
        "root": str(root),
        "song_seconds": args.seconds,
        "beat_steps": args.beat_steps,
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
