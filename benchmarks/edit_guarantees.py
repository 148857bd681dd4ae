"""Editing guarantees, measured in world space on exported dances (BVH written, read back, FK).

    python benchmarks/edit_guarantees.py [--json] [--songs 3] [--seeds 2] [--checkpoint DIR]

For each synthesised 26 s song and seed: generate the first 20 s, then edit that dance:
- **legs**: regenerate 7-9 s keeping the legs (the issue's case); **wrists**: 8-11 s keeping both
  wrists; **root**: 4-8 s keeping the root trajectory: kept-joint error over the span (median and
  max, cm);
- **prompt**: regenerate 8-11 s with another prompt, nothing kept;
- **extend**: extend to the song's end (20 -> 26 s);
and for every edit: the largest move of any joint outside the span and its blend zones (mm), the
root's largest move after the span (cm), the longest blend zone (s) and the border speed-jump
ratio (largest joint-velocity change per frame next to a blend zone over the largest one elsewhere
in the dance; <= 1 means no jerkier than the dance itself). "tokens only" rows measure the same
edits on the plain decoding of the edited tokens, as every edit was before splicing (the border
frames are the spliced edit's blend zones).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from dancemosaic import bvh, export, percussion  # noqa: E402
from dancemosaic.dance import Dance, Edit, Request  # noqa: E402
from dancemosaic.engine import DEFAULT_CHECKPOINT, DanceEngine  # noqa: E402
from dancemosaic.sampling import SamplingOptions  # noqa: E402
from dancemosaic.skeleton import BODY_PARTS, JOINT_INDEX  # noqa: E402
from dancemosaic.splice import border_jump_ratio  # noqa: E402
from dancemosaic.studio.demo_songs import DEMO_SONGS  # noqa: E402
from dancemosaic.timing import FPS, SAMPLE_RATE, seconds_to_frames  # noqa: E402

SONG_SECONDS, DANCE_SECONDS = 26.0, 20.0
EDITS = {
    "legs": Edit(7.0, 9.0, joints=BODY_PARTS["legs"]),
    "wrists": Edit(8.0, 11.0, joints=(JOINT_INDEX["left_wrist"], JOINT_INDEX["right_wrist"])),
    "root": Edit(4.0, 8.0, joints=BODY_PARTS["root_trajectory"]),
    "prompt": Edit(8.0, 11.0, text="a person jumps"),
    "extend": Edit(DANCE_SECONDS, SONG_SECONDS),
}


def exported_joints(dance: Dance, folder: Path) -> np.ndarray:
    """(T, 24, 3) world positions read back from the dance's BVH export."""
    path = export.write(dance, folder / "dance.bvh")
    take = bvh.read_bvh(path)
    positions = bvh.forward_kinematics(take)[0].numpy()
    return positions[:, [take.names.index(name) for name in JOINT_INDEX if name in take.names]]


def measure(before: np.ndarray, after: np.ndarray, edit: Edit, blends: list[tuple[int, int]]) -> dict:
    start, n_old = seconds_to_frames(edit.start), len(before)
    end = min(seconds_to_frames(edit.end), len(after))
    moved = np.linalg.norm(after[:n_old] - before, axis=-1)  # (T, 24)
    inside = np.zeros(n_old, dtype=bool)
    for a, b in [(start, end), *blends]:
        inside[a:b] = True
    outside = moved[~inside]
    row = {
        "outside_drift_mm": float(outside.max() * 1000) if len(outside) else 0.0,
        "root_after_span_cm": float(moved[end:, 0].max() * 100) if end < n_old else 0.0,
        "blend_s": max((b - a) / FPS for a, b in blends) if blends else 0.0,
        "border_jump_ratio": border_jump_ratio(after[:, :22], blends) if blends else None,
    }
    if edit.joints:
        kept = moved[start:end][:, list(edit.joints)]
        row |= {"kept_median_cm": float(np.median(kept) * 100), "kept_max_cm": float(kept.max() * 100)}
    return row


def tokens_only(engine: DanceEngine, edited: Dance) -> Dance:
    """The edited tokens' plain decoding (what every edit returned before splicing)."""
    motion = engine._decode(edited.codes, edited.motion.num_frames)
    return Dance(motion, edited.codes, edited.segments, edited.song, edited.request, edited.checkpoint)


def frames(zones: tuple[tuple[float, float], ...]) -> list[tuple[int, int]]:
    return [(round(a * FPS), round(b * FPS)) for a, b in zones]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--songs", type=int, default=3)
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--checkpoint", type=Path, default=DEFAULT_CHECKPOINT)
    args = parser.parse_args()
    engine = DanceEngine.from_pretrained(args.checkpoint)
    options = SamplingOptions(steps=10)
    rows: dict[str, list[dict]] = {}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for i, demo in enumerate(DEMO_SONGS[: args.songs]):
            song = folder / f"{demo.name}.wav"
            audio, _ = percussion.synthesize(demo.bpm, SONG_SECONDS, demo.style, i)
            soundfile.write(song, audio, SAMPLE_RATE)
            for seed in range(args.seeds):
                request = Request(demo.prompt, song=song, seed=seed, duration=DANCE_SECONDS)
                base = engine.generate(request, options)
                before = exported_joints(base, folder)
                for name, edit in EDITS.items():
                    edited = engine.edit(
                        base, Edit(edit.start, edit.end, edit.text, edit.joints, seed), options
                    )
                    for label, dance in (("spliced", edited), ("tokens only", tokens_only(engine, edited))):
                        after = exported_joints(dance, folder)
                        row = measure(before, after, edit, frames(edited.blends))
                        if label == "spliced" and edited.kept_error is not None:
                            row["reported_kept_cm"] = edited.kept_error * 100
                        rows.setdefault(f"{name} ({label})", []).append(row)
    summary = {name: _summarise(values) for name, values in rows.items()}
    summary["_meta"] = {"checkpoint": str(args.checkpoint), "songs": args.songs, "seeds": args.seeds,
                        "seconds": round(time.perf_counter() - started, 1)}  # fmt: skip
    if args.json:
        print(json.dumps(summary, indent=2))
        return
    for name, values in summary.items():
        print(f"{name:22s} " + "  ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}"
                                         for k, v in values.items()))  # fmt: skip


def _summarise(values: list[dict]) -> dict:
    """Worst case over the trials (largest error, drift, blend and jump ratio; median of medians)."""
    out = {"trials": len(values)}
    for key in values[0]:
        numbers = [v[key] for v in values if v[key] is not None]
        if numbers:
            out[key] = float(np.median(numbers) if key == "kept_median_cm" else max(numbers))
    return out


if __name__ == "__main__":
    main()
