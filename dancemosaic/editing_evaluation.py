"""The editing table: does each instruction do what it says, and only that, on a checkpoint?

For each synthesised song and seed, a dance is generated, then each instruction alone is given
over the same span of it (``DanceEngine.instruct``), each time on the original dance. A trial
measures, in world space on the final motion:

- the effect as stated (``instructions.outcomes``): whether it went the right way by at least its
  amount; the table's headline is the share of trials where it did (target >= 80 %);
- the kept-joint error: the most any joint the instruction may not move moved over the span (cm;
  the arm instructions keep every other joint, the others may move the whole body);
- the outside-span drift: the most anything moved outside the span (mm);
- the border jump ratio (``splice.border_jump_ratio``): the largest joint-velocity change next to
  the edit's blend zones over the largest anywhere else in the dance (at most 1: the new motion
  joins the old no jerkier than the dance itself), and the same on the dance before the edit (a
  dance whose own largest jump lies next to a border breaks the rule before any edit);
- the change of the whole dance's beat alignment (BAS) and the foot skating over the span;
- optionally, the same effect after a plain prompt edit of the span with the effect's own prompt
  (what text alone did before instructions existed).

The songs are the project's own percussion tracks (no shared data needed). The effect a trial
scores against is the stated one from ``instructions.BY_NAME``, never what the engine says it did.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import soundfile

from dancemosaic import instructions, metrics, music, percussion
from dancemosaic.dance import Dance, Edit, Request
from dancemosaic.engine import DanceEngine
from dancemosaic.sampling import SamplingOptions
from dancemosaic.splice import border_jump_ratio, joint_drift
from dancemosaic.studio.demo_songs import DEMO_SONGS
from dancemosaic.timing import FPS, SAMPLE_RATE, seconds_to_frames

TARGET_PCT = 80.0  # the share of trials an instruction must reach its stated effect in


@dataclass(frozen=True)
class Protocol:
    """How many songs and seeds, how long the dances, the span every instruction edits."""

    songs: int = 3
    seeds: int = 8
    song_seconds: float = 14.0
    dance_seconds: float = 12.0
    span: tuple[float, float] = (4.0, 7.0)
    steps: int = 10  # decoding steps of the dances (and of the prompt-only edits)
    prompt_only: bool = False  # also edit each span with the effect's prompt alone

    def __post_init__(self) -> None:
        if not 1 <= self.songs <= len(DEMO_SONGS):
            raise ValueError(f"songs={self.songs}: the editing table has 1-{len(DEMO_SONGS)} songs")
        if self.seeds < 1:
            raise ValueError(f"seeds={self.seeds} must be >= 1")
        start, end = self.span
        if not 0 <= start < end <= self.dance_seconds <= self.song_seconds:
            raise ValueError(
                f"the span {start:g}-{end:g} s must lie inside the {self.dance_seconds:g} s dance, "
                f"and the dance inside the {self.song_seconds:g} s song"
            )


def beat_alignment(dance: Dance) -> float:
    """The whole dance's BAS against its song's beats (NaN where it has none)."""
    joints = dance.joints()[:, :22]
    beats = music.analyse_file(dance.song).beat_frames
    return metrics.dance_bas(joints, beats)


def trial(
    engine: DanceEngine, base: Dance, effect: instructions.Effect, seed: int, protocol: Protocol
) -> dict:
    """One instruction on ``base`` over the protocol's span, measured on the final motion."""
    first, last = (seconds_to_frames(s) for s in protocol.span)
    started = time.perf_counter()
    edited, _ = engine.instruct(base, *protocol.span, effect.name, seed=seed)
    seconds = time.perf_counter() - started
    (outcome,) = instructions.outcomes((effect,), base.motion, edited.motion, first, last)
    moved = joint_drift(base.motion, edited.motion, range(22), 0, base.motion.num_frames)  # (T, 22) m
    outside = np.concatenate([moved[:first].numpy(), moved[last:].numpy()])
    zones = [(round(a * FPS), round(b * FPS)) for a, b in edited.blends]
    row = {
        "reached": outcome.reached,
        "change": outcome.change,
        "outside_drift_mm": float(outside.max() * 1000) if len(outside) else 0.0,
        "border_jump_ratio": border_jump_ratio(edited.joints()[:, :22], zones),
        # the same zones on the dance before the edit: over 1 there, the dance broke the rule itself
        "dance_border_jump_ratio": border_jump_ratio(base.joints()[:, :22], zones),
        "bas_change": beat_alignment(edited) - beat_alignment(base),
        "fsr_before": metrics.foot_skate_ratio(base.joints()[first:last]),
        "fsr_after": metrics.foot_skate_ratio(edited.joints()[first:last]),
        "seconds": seconds,
    }
    if effect.joints is not None:
        still = [j for j in range(22) if j not in effect.joints]
        row["kept_error_cm"] = float(moved[first:last, still].max() * 100)
    if protocol.prompt_only:
        edit = Edit(*protocol.span, effect.prompt, (), seed)
        prompted = engine.edit(base, edit, SamplingOptions(steps=protocol.steps))
        (plain,) = instructions.outcomes((effect,), base.motion, prompted.motion, first, last)
        row |= {"prompt_reached": plain.reached, "prompt_change": plain.change}
    return row


def songs(folder: Path, protocol: Protocol) -> list[tuple[Path, str]]:
    """The protocol's songs synthesised into ``folder``: (wav path, the dance's prompt)."""
    made = []
    for i, demo in enumerate(DEMO_SONGS[: protocol.songs]):  # the studio's songs, at the model's rate
        path = folder / f"editing-{demo.style}-{demo.bpm:g}bpm.wav"
        audio, _ = percussion.synthesize(demo.bpm, protocol.song_seconds, demo.style, i)
        soundfile.write(path, audio, SAMPLE_RATE)
        made.append((path, demo.prompt))
    return made


def evaluate(
    engine: DanceEngine,
    protocol: Protocol = Protocol(),
    effects: Iterable[instructions.Effect] = instructions.EFFECTS,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """Every trial of every instruction, summarised per instruction (``summarise``), with ``_meta``.
    ``progress`` is called after each trial with the instruction's name (a progress bar)."""
    effects = tuple(effects)
    rows: dict[str, list[dict]] = {effect.name: [] for effect in effects}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        for song, prompt in songs(Path(folder), protocol):
            for seed in range(protocol.seeds):
                request = Request(prompt, song=song, seed=seed, duration=protocol.dance_seconds)
                base = engine.generate(request, SamplingOptions(steps=protocol.steps))
                for effect in effects:
                    rows[effect.name].append(trial(engine, base, effect, seed, protocol))
                    if progress is not None:
                        progress(effect.name)
    summary = {effect.name: summarise(effect, rows[effect.name]) for effect in effects}
    meta = {"checkpoint": engine.checkpoint_id, **asdict(protocol), "trials": protocol.songs * protocol.seeds,
            "target_pct": TARGET_PCT, "seconds": round(time.perf_counter() - started, 1)}  # fmt: skip
    return summary | {"_meta": meta}


def summarise(effect: instructions.Effect, values: list[dict]) -> dict:
    """An instruction's trials: the share reaching the stated effect, median changes, worst drifts."""

    def median(key: str) -> float:
        return float(np.nanmedian([v[key] for v in values]))

    reached = 100 * float(np.mean([v["reached"] for v in values]))
    out = {
        "target": effect.target, "trials": len(values), "reached_pct": reached,
        "meets_target": reached >= TARGET_PCT, "median_change": median("change"),
        "worst_change": min((v["change"] for v in values), key=lambda c: effect.sign * c),
        "outside_drift_mm": max(v["outside_drift_mm"] for v in values),
        "border_jump_ratio": max(v["border_jump_ratio"] for v in values),
        "border_jumps_over_1": int(sum(v["border_jump_ratio"] > 1 for v in values)),
        "border_jumps_over_1_in_the_dance": int(
            sum(v["border_jump_ratio"] > 1 and v["dance_border_jump_ratio"] > 1 for v in values)
        ),
        "bas_change": median("bas_change"),
        "fsr_before": median("fsr_before"), "fsr_after": median("fsr_after"), "seconds": median("seconds"),
    }  # fmt: skip
    if "kept_error_cm" in values[0]:
        out["kept_error_cm"] = max(v["kept_error_cm"] for v in values)
    if "prompt_reached" in values[0]:
        out["prompt_only_pct"] = 100 * float(np.mean([v["prompt_reached"] for v in values]))
        out["prompt_only_change"] = median("prompt_change")
    return out


def markdown(summary: dict) -> str:
    """The editing table as markdown, one row per instruction, and the protocol under it."""
    prompt = any("prompt_only_pct" in s for name, s in summary.items() if not name.startswith("_"))
    head = ["instruction", "target", "reached", "median change", "worst change", "kept joints, max (cm)",
            "outside drift, max (mm)", "border jump ratio, max (trials > 1; of them over 1 before the edit)",
            "BAS change (median)",
            "FSR % before -> after", "s per edit"]  # fmt: skip
    if prompt:
        head.insert(5, "prompt only: reached, change")
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for name, s in summary.items():
        if name.startswith("_"):
            continue
        kept = f"{s['kept_error_cm']:.2f}" if "kept_error_cm" in s else "(whole body)"
        cells = [name, s["target"], f"{s['reached_pct']:.0f}% of {s['trials']}", f"{s['median_change']:.3g}",
                 f"{s['worst_change']:.3g}", kept, f"{s['outside_drift_mm']:.2g}",
                 _border(s), f"{s['bas_change']:+.3f}",
                 f"{s['fsr_before']:.1f} -> {s['fsr_after']:.1f}", f"{s['seconds']:.1f}"]  # fmt: skip
        if prompt:
            cells.insert(5, f"{s['prompt_only_pct']:.0f}%, {s['prompt_only_change']:.3g}")
        lines.append("| " + " | ".join(cells) + " |")
    meta = summary.get("_meta", {})
    if meta:
        lines.append(
            f"\n{meta['songs']} songs x {meta['seeds']} seeds, "
            f"span {meta['span'][0]:g}-{meta['span'][1]:g} s of {meta['dance_seconds']:g} s dances, "
            f"checkpoint {meta['checkpoint']}, {meta['seconds']:.0f} s"
        )
    return "\n".join(lines)


def _border(summary: dict) -> str:
    """ "1.30 (2; 1)": the largest border jump ratio, the trials over 1, and of those the ones
    whose dance was over 1 at the same zones before the edit."""
    over, before = summary["border_jumps_over_1"], summary["border_jumps_over_1_in_the_dance"]
    return f"{summary['border_jump_ratio']:.2f} ({over}; {before})"
