"""Edits by description on a checkpoint: does each instruction do what it says, and only that?

    python benchmarks/instruction_effects.py [--json] [--songs 3] [--seeds 2] [--checkpoint DIR]

For each synthesised song and seed: generate a 12 s dance, then give each instruction alone over
4-7 s (``DanceEngine.instruct``), each time on the original dance. Per instruction, over the
trials: the share where the effect went the right way by at least its stated amount (the median
measured change beside it); the same share for a plain prompt edit of the span with the effect's
own prompt (``prompt only``: what text alone did before); the most any joint the instruction may
not move moved (kept-joint error, cm; arm instructions only, the others may move the whole body);
the most anything moved outside the span (mm); the change of the whole dance's BAS; and the foot
skating (FSR, %) over the span before and after.
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

from dancemosaic import instructions, metrics, percussion  # noqa: E402
from dancemosaic.dance import Dance, Edit, Request  # noqa: E402
from dancemosaic.engine import DEFAULT_CHECKPOINT, DanceEngine  # noqa: E402
from dancemosaic.sampling import SamplingOptions  # noqa: E402
from dancemosaic.splice import joint_drift  # noqa: E402
from dancemosaic.studio.demo_songs import DEMO_SONGS  # noqa: E402
from dancemosaic.studio.service import beat_alignment  # noqa: E402
from dancemosaic.timing import SAMPLE_RATE, seconds_to_frames  # noqa: E402

SONG_SECONDS, DANCE_SECONDS, SPAN = 14.0, 12.0, (4.0, 7.0)


def trial(engine: DanceEngine, base: Dance, effect: instructions.Effect, seed: int) -> dict:
    first, last = (seconds_to_frames(s) for s in SPAN)
    started = time.perf_counter()
    edited, _ = engine.instruct(base, *SPAN, effect.name, seed=seed)
    seconds = time.perf_counter() - started
    (outcome,) = instructions.outcomes((effect,), base.motion, edited.motion, first, last)
    prompted = engine.edit(base, Edit(*SPAN, effect.prompt, (), seed), SamplingOptions(steps=10))
    (plain,) = instructions.outcomes((effect,), base.motion, prompted.motion, first, last)
    frames = base.motion.num_frames
    moved = joint_drift(base.motion, edited.motion, range(22), 0, frames)  # (T, 22) m
    outside = np.concatenate([moved[:first].numpy(), moved[last:].numpy()])
    row = {
        "reached": outcome.reached, "change": outcome.change, "prompt_reached": plain.reached,
        "prompt_change": plain.change, "outside_drift_mm": float(outside.max() * 1000),
        "bas_change": (beat_alignment(edited) or 0.0) - (beat_alignment(base) or 0.0),
        "fsr_before": metrics.foot_skate_ratio(base.joints()[first:last]),
        "fsr_after": metrics.foot_skate_ratio(edited.joints()[first:last]), "seconds": seconds,
    }  # fmt: skip
    if effect.joints is not None:
        still = [j for j in range(22) if j not in effect.joints]
        row["kept_error_cm"] = float(moved[first:last, still].max() * 100)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--songs", type=int, default=3)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--checkpoint", type=Path, default=DEFAULT_CHECKPOINT)
    args = parser.parse_args()
    engine = DanceEngine.from_pretrained(args.checkpoint)
    rows: dict[str, list[dict]] = {effect.name: [] for effect in instructions.EFFECTS}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for i, demo in enumerate(DEMO_SONGS[: args.songs]):
            song = Path(tmp) / f"{demo.name}.wav"
            audio, _ = percussion.synthesize(demo.bpm, SONG_SECONDS, demo.style, i)
            soundfile.write(song, audio, SAMPLE_RATE)
            for seed in range(args.seeds):
                request = Request(demo.prompt, song=song, seed=seed, duration=DANCE_SECONDS)
                base = engine.generate(request, SamplingOptions(steps=10))
                for effect in instructions.EFFECTS:
                    rows[effect.name].append(trial(engine, base, effect, seed))
    summary = {name: _summarise(instructions.BY_NAME[name], values) for name, values in rows.items()}
    summary["_meta"] = {"checkpoint": str(args.checkpoint), "songs": args.songs, "seeds": args.seeds,
                        "seconds": round(time.perf_counter() - started, 1)}  # fmt: skip
    print(json.dumps(summary, indent=2) if args.json else _table(summary))


def _summarise(effect: instructions.Effect, values: list[dict]) -> dict:
    def median(key: str) -> float:
        return float(np.nanmedian([v[key] for v in values]))

    out = {
        "target": effect.target, "trials": len(values),
        "reached_pct": 100 * float(np.mean([v["reached"] for v in values])),
        "median_change": median("change"),
        "prompt_only_pct": 100 * float(np.mean([v["prompt_reached"] for v in values])),
        "prompt_only_change": median("prompt_change"),
        "outside_drift_mm": max(v["outside_drift_mm"] for v in values), "bas_change": median("bas_change"),
        "fsr_before": median("fsr_before"), "fsr_after": median("fsr_after"), "seconds": median("seconds"),
    }  # fmt: skip
    if "kept_error_cm" in values[0]:
        out["kept_error_cm"] = max(v["kept_error_cm"] for v in values)
    return out


def _table(summary: dict) -> str:
    lines = [
        "| instruction | target | reached | median change | prompt only: reached, change | kept-joint "
        "error (cm) | outside drift (mm) | BAS change | FSR % before -> after | s |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, s in summary.items():
        if name.startswith("_"):
            continue
        kept = f"{s['kept_error_cm']:.2f}" if "kept_error_cm" in s else "(whole body)"
        lines.append(
            f"| {name} | {s['target']} | {s['reached_pct']:.0f}% of {s['trials']} | "
            f"{s['median_change']:.3g} | {s['prompt_only_pct']:.0f}%, {s['prompt_only_change']:.3g} | "
            f"{kept} | {s['outside_drift_mm']:.2g} | "
            f"{s['bas_change']:+.3f} | {s['fsr_before']:.1f} -> {s['fsr_after']:.1f} | {s['seconds']:.1f} |"
        )  # fmt: skip
    return "\n".join(lines) + f"\n{summary['_meta']}"


if __name__ == "__main__":
    main()
