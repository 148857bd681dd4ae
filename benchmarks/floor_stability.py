"""How steady is the real-vs-real FID floor? The evaluation's floor, then the same floor over draws:

    python benchmarks/floor_stability.py [--cache cache/corpus] [--draws 20] [--json]

- **weighted, a quarter left out:** the evaluation's floor (every training window of the held-out
  styles, each style weighted as its reference windows) with a random quarter of each style's
  training dances left out, once per draw;
- **8 per style (former protocol):** as many windows per style as the scarcest style has (tango
  keeps 8 after the copy cut), drawn at random, unweighted.

Both are scored against the same reference and feature scale as the evaluation. A floor that moves
a lot between draws cannot set the "at most 3x the floor" target.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from dancemosaic import metrics, style  # noqa: E402
from dancemosaic.real_evaluation import (  # noqa: E402
    WINDOW,
    WINDOW_HOP,
    FeatureSet,
    build_context,
    fid_scores,
    held_out_segments,
    real_vs_real_row,
    song_segment,
    training_real_dances,
    weighted_windows,
    windows_per_style,
)


def windows_of(dances: list[np.ndarray]) -> list[np.ndarray]:
    return [w for d in dances for w in style.windows(d, WINDOW_HOP, WINDOW)]


def quarter_left_out(dances: dict, weights: dict, rng: np.random.Generator) -> FeatureSet:
    kept = {
        name: [found[i] for i in rng.choice(len(found), max(1, round(0.75 * len(found))), replace=False)]
        for name, found in dances.items()
    }
    return weighted_windows(kept, weights)


def scarcest_per_style(dances: dict, rng: np.random.Generator) -> FeatureSet:
    per_style = {name: windows_of(found) for name, found in dances.items()}
    count = min(len(v) for v in per_style.values())
    chosen = [v[i] for v in per_style.values() for i in rng.choice(len(v), count, replace=False)]
    return FeatureSet(*metrics.extract_features(chosen))


def spread_of(values: np.ndarray) -> dict:
    return {"median": float(np.median(values)), "min": float(values.min()), "max": float(values.max())}


def summary(values: list[tuple[float, float]]) -> dict:
    kinetic, geometric = np.array(values).T
    return {"FID_k": spread_of(kinetic), "FID_g": spread_of(geometric)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path("cache/corpus"))
    parser.add_argument("--draws", type=int, default=20)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    segments = held_out_segments(args.cache)
    with tempfile.TemporaryDirectory() as folder:
        songs = {s.name: song_segment(s, Path(folder)) for s in segments}
        context = build_context(args.cache, segments, songs, copy=False, old_pool=False)
    weights = {k: n for k, n in windows_per_style(segments, context.kept).items() if n > 0}
    dances = training_real_dances(args.cache, sorted(weights), max(s.frames for s in segments))
    floor = real_vs_real_row(context)
    out = {"floor": {k: floor[k] for k in ("FID_k", "FID_g", "n_windows")}}
    draws = {
        "weighted, a quarter left out": lambda rng: quarter_left_out(dances, weights, rng),
        "8 per style (former protocol)": lambda rng: scarcest_per_style(dances, rng),
    }
    for label, draw in draws.items():
        scores = []
        for seed in range(args.draws):
            row = fid_scores(draw(np.random.default_rng(seed)), context.reference, context.scale)
            scores.append((row["FID_k"], row["FID_g"]))
        out[label] = summary(scores)
    if args.json:
        print(json.dumps(out, indent=2))
        return
    print(f"floor: FID_k {floor['FID_k']:.1f}, FID_g {floor['FID_g']:.1f} ({floor['n_windows']} windows)")
    for label, value in out.items():
        if label != "floor":
            k, g = value["FID_k"], value["FID_g"]
            print(f"{label}, {args.draws} draws: FID_k {k['median']:.1f} ({k['min']:.1f}-{k['max']:.1f}), "
                  f"FID_g {g['median']:.1f} ({g['min']:.1f}-{g['max']:.1f})")  # fmt: skip


if __name__ == "__main__":
    main()
