"""Decoding settings side by side on the held-out real songs: the evaluation's "full model" row
(FID, movement, style, BAS, foot skating, copying) for each setting, one checkpoint.

    python benchmarks/decoding_grid.py "temperature=1.0" "temperature=1.2" "music=0.5 temperature=1.2"
        [--checkpoint DIR] [--cache cache/corpus] [--seeds 8] [--first-seed 0] [--no-song]
        [--keep-dances DIR] [--json]

A setting is ``key=value`` pairs over the defaults (``SamplingOptions()``): temperature, noise
(confidence noise), steps, top_k, residual (residual temperature), text, music (guidance weights).
Each setting's dances are those ``evaluate`` would make with it (same segments, prompts, seeds;
30 s; ``--no-song``: the "no song given" row's dances), and its row is scored by the evaluation's
own ``score_row`` against the same reference, so the row of the defaults is the official
full-model row. Settings chosen this way are chosen on the held-out songs: report them as such
(``benchmarks/movement.py`` compares settings on training songs instead), and check the choice on
a second draw of seeds (``--first-seed 8``).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from dancemosaic.engine import DEFAULT_CHECKPOINT, DanceEngine  # noqa: E402
from dancemosaic.real_evaluation import build_context, held_out_segments, score_row, song_segment  # noqa: E402
from dancemosaic.real_rows import model_dances  # noqa: E402
from dancemosaic.sampling import SamplingOptions  # noqa: E402

FIELDS = {"temperature": ("temperature", float), "noise": ("confidence_noise", float),
          "steps": ("steps", int), "top_k": ("top_k", int),
          "residual": ("residual_temperature", float)}  # fmt: skip
KEYS = ("FID_k", "FID_g", "speed_ratio", "spread_ratio", "body_spread_ratio", "turning_ratio",
        "acceleration_ratio", "style_accuracy",
        "BAS_librosa_beats", "FSR", "copy_distance_median_m")  # fmt: skip


def options(setting: str) -> SamplingOptions:
    """ "temperature=1.2 music=0.5" -> the default SamplingOptions with those values."""
    base = SamplingOptions()
    pairs = dict(part.split("=", 1) for part in setting.split())
    weights = {k: float(pairs.pop(k)) for k in ("text", "music") if k in pairs}
    unknown = set(pairs) - set(FIELDS)
    if unknown:
        raise SystemExit(f"unknown setting {sorted(unknown)}: use {sorted(FIELDS) + ['text', 'music']}")
    changes = {FIELDS[k][0]: FIELDS[k][1](v) for k, v in pairs.items()}
    return replace(base, guidance=replace(base.guidance, **weights), **changes)


def value(row: dict, key: str) -> str:
    """ "spread_ratio 0.789 +- 0.020": the seeds' standard error where the row has one."""
    error = row.get(f"{key}_se")
    return f"{key} {row[key]:.3f}" + (f" +- {error:.3f}" if error is not None else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("settings", nargs="+", help='e.g. "temperature=1.2 music=0.5"')
    parser.add_argument("--checkpoint", type=Path, default=DEFAULT_CHECKPOINT)
    parser.add_argument("--cache", type=Path, default=Path("cache/corpus"))
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--first-seed", type=int, default=0, help="a second draw of seeds checks a choice")
    parser.add_argument("--no-song", action="store_true", help="dance without the songs (the no-song row)")
    parser.add_argument("--keep-dances", type=Path, default=None, help="a folder per setting under it")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    chosen = {setting: options(setting) for setting in args.settings}  # refuse a typo before dancing
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    engine = DanceEngine.from_pretrained(args.checkpoint)
    segments = held_out_segments(args.cache)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        songs = {s.name: song_segment(s, Path(folder)) for s in segments}
        context = build_context(args.cache, segments, songs, copy=True, old_pool=False)
        for setting, sampling in chosen.items():
            store = args.keep_dances / setting.replace(" ", "_") if args.keep_dances else None
            dances = model_dances(engine, segments, songs, seeds, not args.no_song, sampling, store)
            rows.append(score_row(setting, dances, context))
            if not args.json:
                print(setting + ": " + ", ".join(value(rows[-1], k) for k in KEYS if k in rows[-1]))
    if args.json:
        print(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
