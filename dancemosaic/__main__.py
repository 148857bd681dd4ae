"""Command line: ``python -m dancemosaic {prepare,train,generate,open-project,evaluate} ...``.

Errors that the user can fix (a missing folder, a broken file) end with a one-line message and
exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

DEFAULT_CACHE = Path("cache/corpus")


def _summary_table(entries: list[dict]) -> str:
    """Clips and minutes per source and split; mirrored copies are counted apart, not in minutes."""
    totals: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0, 0.0, 0])
    for entry in entries:
        row = totals[(entry["source"], entry["split"])]
        row[2 if entry["mirrored"] else 0] += 1
        row[1] += 0.0 if entry["mirrored"] else entry["seconds"] / 60
    lines = [f"{'source':<18} {'split':<6} {'clips':>6} {'mirrored':>9} {'minutes':>8}"]
    for (source, split), (clips, minutes, mirrored) in sorted(totals.items()):
        lines.append(f"{source:<18} {split:<6} {clips:>6} {mirrored:>9} {minutes:>8.1f}")
    clips = sum(v[0] for v in totals.values())
    mirrored = sum(v[2] for v in totals.values())
    minutes = sum(v[1] for v in totals.values())
    lines.append(f"{'total':<18} {'':<6} {clips:>6} {mirrored:>9} {minutes:>8.1f}")
    return "\n".join(lines)


def _retarget_summary(entries: list[dict]) -> str:
    """Bone direction error per source: median over clips of each clip's median, and the maxima."""
    reports = [e for e in entries if not e["mirrored"]]
    lines = ["retargeting, bone direction error in degrees (median | max, all bones | max, limb bones)"]
    lines.append("  and joint position error after leg-length scaling in mm (mean over clips)")
    for source in sorted({e["source"] for e in reports}):
        rows = [e["retarget"] for e in reports if e["source"] == source]
        median = float(np.median([r["bone_error_median_deg"] for r in rows]))
        worst = max(r["bone_error_max_deg"] for r in rows)
        limbs = max(r["limb_error_max_deg"] for r in rows)
        mm = float(np.mean([r["joint_error_mean_mm"] for r in rows]))
        lines.append(f"  {source:<12} {median:7.4f} | {worst:6.2f} | {limbs:7.4f}   {mm:6.1f} mm")
    return "\n".join(lines)


def prepare(args: argparse.Namespace) -> None:
    from dancemosaic.datasets.aistpp import read_aistpp
    from dancemosaic.datasets.corpus import add_dataset, load_index, prepare_corpus
    from dancemosaic.datasets.finedance import read_finedance
    from dancemosaic.datasets.pairs import build_pairs, pair_summary

    if not (args.data or args.aistpp or args.finedance):
        raise ValueError("give --data (the shared data folder), --aistpp ROOT or --finedance ROOT")
    if args.data:
        prepare_corpus(args.data, args.cache, workers=args.workers)
    for root, reader in ((args.aistpp, read_aistpp), (args.finedance, read_finedance)):
        if root:
            for split in ("train", "test"):
                add_dataset(args.cache, reader(root, split), split)
    index = load_index(args.cache)
    entries = index["clips"]
    print(_summary_table(entries))
    if index.get("held_out_copies"):
        from dancemosaic.datasets.dedup import describe

        print(describe(index["held_out_copies"]))
    print(_retarget_summary([e for e in entries if e["retarget"]]))
    if not args.skip_pairs:
        print(pair_summary(build_pairs(args.data, args.cache)))
    print(f"cache: {args.cache.resolve()}")


def train(args: argparse.Namespace) -> None:
    from dancemosaic.config import ModelConfig
    from dancemosaic.recipe import RECIPES, STAGES, train

    presets = {"tiny": ModelConfig.tiny, "small": ModelConfig.small, "base": ModelConfig.base}
    if args.recipe not in RECIPES:
        raise ValueError(f"unknown recipe {args.recipe!r}; choose from {', '.join(RECIPES)}")
    recipe = RECIPES[args.recipe]
    stages = tuple(args.stages or recipe.stages)
    unknown = sorted(set(stages) - set(STAGES))
    if unknown:
        raise ValueError(f"unknown stages {unknown}; choose from {', '.join(STAGES)}")
    recipe = replace(recipe, stages=stages)
    if args.steps:  # smoke runs: the same recipe, N steps per stage
        shortened = {s: replace(getattr(recipe, s), steps=args.steps, save_every=args.steps) for s in STAGES}
        recipe = replace(recipe, **shortened)
    model = train(args.cache, args.out, presets[args.preset](), recipe, init=args.init)
    from dancemosaic import distributed

    if args.export and distributed.setup().is_main:
        from dancemosaic.engine import DanceEngine

        print(DanceEngine(model, "export").save_pretrained(args.export))


def generate(args: argparse.Namespace) -> None:
    # The song is analysed while this process imports torch and loads the checkpoint (a forked
    # child when a core is to spare, else a second thread: early_analysis.py says what each saves).
    from dancemosaic import early_analysis

    analysed = early_analysis.start(args.song)
    from dancemosaic import export
    from dancemosaic.dance import Request
    from dancemosaic.engine import DanceEngine
    from dancemosaic.rhythm import BeatOptions
    from dancemosaic.sampling import SamplingOptions

    engine = (
        DanceEngine.from_pretrained(args.checkpoint) if args.checkpoint else DanceEngine.from_pretrained()
    )
    request = Request(args.text, song=args.song, seed=args.seed, duration=args.duration)
    bars: list[tqdm] = []  # opened at the first progress report: a refused song prints no bar

    def progress(fraction: float, _message: str) -> None:
        if not bars:
            bars.append(tqdm(total=100, desc="generate", bar_format="{l_bar}{bar}| {elapsed}<{remaining}"))
        bars[0].update(round(fraction * 100) - bars[0].n)

    analysed()  # generate finds the analysis in music's cache
    try:
        options = SamplingOptions(steps=args.steps, beat=BeatOptions(steps=args.beat_steps))
        dance = engine.generate(request, options, progress)
    finally:
        for bar in bars:
            bar.close()
    for path in export.write_all(dance, args.out, Path(args.song).stem):
        print(path)
    if args.project:  # the studio opens it, to edit the dance further
        from dancemosaic.studio.project import write_project
        from dancemosaic.studio.session import History

        history = History()
        history.push(dance, f"Generate: {request.text} (seed {args.seed})")
        print(write_project(history, Path(args.out) / f"{Path(args.song).stem}-project.zip"))


def open_project(args: argparse.Namespace) -> None:
    """List a project file's versions and export one of them (default: its current version)."""
    import tempfile

    from dancemosaic import export
    from dancemosaic.studio.project import read_project

    with tempfile.TemporaryDirectory() as songs:
        history = read_project(args.project, songs).history
        for i, version in enumerate(history.versions):
            mark = "*" if i == history.current else " "
            print(f"{mark}{i + 1:>3}  {version.dance.duration:6.1f} s  {version.label}")
        index = history.current if args.version is None else args.version - 1
        if not 0 <= index < len(history.versions):
            raise ValueError(f"there is no version {args.version}; the project has 1-{len(history.versions)}")
        dance = history.versions[index].dance
        stem = f"{Path(dance.song).stem if dance.song else 'dance'}-v{index + 1}"
        for path in export.write_all(dance, args.out, stem, tuple(args.formats)):
            print(path)


def instruct(args: argparse.Namespace) -> None:
    """Dance to the song (or start from a BVH take), then edit it turn after turn by description."""
    import re

    from dancemosaic import export
    from dancemosaic.dance import Request
    from dancemosaic.engine import DEFAULT_CHECKPOINT, DanceEngine
    from dancemosaic.mocap import import_bvh
    from dancemosaic.sampling import SamplingOptions

    turns = []
    for turn in args.do:
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*-\s*(\d+(?:\.\d+)?)\s*:\s*(.+)", turn)
        if match is None:
            raise ValueError(
                f"can't read --do {turn!r}: write START-END: INSTRUCTION, e.g. '4-7: raise the arms'"
            )
        turns.append((float(match[1]), float(match[2]), match[3]))
    engine = DanceEngine.from_pretrained(args.checkpoint or DEFAULT_CHECKPOINT)
    options = SamplingOptions(steps=args.steps)
    if args.bvh:
        dance = engine.dance_from_motion(import_bvh(args.bvh)[0], args.text, args.song)
    else:
        dance = engine.generate(
            Request(args.text, song=args.song, seed=args.seed, duration=args.duration), options
        )
    for start, end, instruction in turns:
        dance, said = engine.instruct(dance, start, end, instruction, args.seed, options)
        print(f"{start:g}-{end:g} s '{instruction}'\n  " + said.replace("\n", "\n  "))
    for path in export.write_all(dance, args.out, Path(args.song or args.bvh or "dance").stem):
        print(path)


def evaluate(args: argparse.Namespace) -> None:
    from dancemosaic.evaluation import reference_row, tokenizer_row
    from dancemosaic.real_evaluation import has_real_pairs

    corpus = (args.cache / "index.json").is_file() or not args.editing  # the editing table needs none
    if not corpus:
        logging.warning("no prepared corpus at %s: only the editing table", args.cache)
    rows = [reference_row(args.cache, args.data)] if corpus else []
    engine = None
    if args.checkpoint:
        from dancemosaic.engine import DanceEngine

        engine = DanceEngine.from_pretrained(args.checkpoint)
        if corpus:
            rows.append(tokenizer_row(engine.model.tokenizer, args.cache))
    if corpus and has_real_pairs(args.cache):
        from dancemosaic.real_rows import evaluate as evaluate_real

        rows += evaluate_real(
            args.cache, engine, seeds=args.seeds, seconds=args.seconds, copy=not args.no_copy,
            store=args.keep_dances, include_copied=args.include_copied,
        )  # fmt: skip
    if engine is not None and args.track_rows:
        from dancemosaic.model_evaluation import model_rows

        rows += model_rows(engine, args.cache, args.data, seeds=args.seeds, max_seconds=args.seconds)
    if args.editing:
        rows.append(_editing_row(engine, args.editing_songs, args.editing_seeds))
    if args.json:
        print(json.dumps(rows if len(rows) > 1 else rows[0], indent=2))
        return
    for row in rows:
        if "instructions" in row:
            from dancemosaic.editing_evaluation import markdown

            print(f"{row['name']}\n{markdown(row['instructions'] | {'_meta': row['meta']})}", end="\n\n")
            continue
        width = max(len(k) for k in row)
        print("\n".join(f"{k:<{width}}  {v}" for k, v in row.items()), end="\n\n")


def _editing_row(engine: object, songs: int, seeds: int) -> dict:
    """The editing table (``editing_evaluation``) on ``engine`` (default: the starter checkpoint)."""
    from dancemosaic import editing_evaluation, instructions
    from dancemosaic.engine import DanceEngine

    protocol = editing_evaluation.Protocol(songs, seeds)
    engine = engine or DanceEngine.from_pretrained()
    with tqdm(total=songs * seeds * len(instructions.EFFECTS), desc="editing", unit="edit") as bar:
        summary = editing_evaluation.evaluate(engine, protocol, progress=lambda name: bar.update())
    meta = summary.pop("_meta")
    target = editing_evaluation.TARGET_PCT
    name = f"editing: instructions ({songs} songs x {seeds} seeds, target {target:g} %)"
    return {"name": name, "instructions": summary, "meta": meta}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m dancemosaic", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    commands = parser.add_subparsers(dest="command", required=True)
    prep = commands.add_parser("prepare", help="import the mocap corpus and build music-dance pairs")
    prep.add_argument("--data", type=Path, default=None, help="the shared data folder (../shared/data)")
    prep.add_argument("--aistpp", type=Path, default=None, help="an AIST++ root (motions/, wavs/, splits/)")
    prep.add_argument("--finedance", type=Path, default=None, help="a FineDance root (motion/, music_wav/)")
    prep.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="where the cache goes")
    prep.add_argument("--workers", type=int, default=None, help="processes (default: one per core)")
    prep.add_argument("--skip-pairs", action="store_true", help="import motion only")
    prep.set_defaults(run=prepare)
    gen = commands.add_parser("generate", help="dance to a song and write npz, BVH and JSON")
    gen.add_argument("song", help="audio file (wav, ogg, flac, mp3)")
    gen.add_argument("--text", required=True, help='e.g. "a person dances salsa"')
    gen.add_argument("--out", type=Path, default=Path("out"), help="output folder")
    gen.add_argument("--seed", type=int, default=0)
    gen.add_argument("--steps", type=int, default=10, help="decoding iterations")
    gen.add_argument("--beat-steps", type=int, default=0, help="beat refinement steps (0: off; 25 syncs)")
    gen.add_argument("--duration", type=float, default=None, help="seconds (default: the whole song)")
    gen.add_argument("--checkpoint", type=Path, default=None, help="default: the starter checkpoint")
    gen.add_argument("--project", action="store_true", help="also write a project file the studio opens")
    gen.set_defaults(run=generate)
    op = commands.add_parser("open-project", help="list a studio project's versions and export one")
    op.add_argument("project", type=Path, help="a project file (.zip) saved by the studio")
    op.add_argument("--out", type=Path, default=Path("out"), help="output folder")
    op.add_argument("--version", type=int, default=None, help="which version (default: the current one)")
    op.add_argument("--formats", nargs="+", default=["npz", "bvh", "json"], help="npz bvh json glb pkl")
    op.set_defaults(run=open_project)
    ins = commands.add_parser("instruct", help="dance, then edit spans by description, turn after turn")
    ins.add_argument("song", nargs="?", default=None, help="audio file (optional with --bvh)")
    ins.add_argument("--do", action="append", required=True, metavar="START-END: INSTRUCTION",
                     help="a turn, e.g. '4-7: raise the arms and spin' (repeat for more turns)")  # fmt: skip
    ins.add_argument("--text", default="a person dances", help="the dance's prompt")
    ins.add_argument("--bvh", type=Path, default=None, help="start from this BVH take instead of generating")
    ins.add_argument("--out", type=Path, default=Path("out"), help="output folder")
    ins.add_argument("--seed", type=int, default=0)
    ins.add_argument("--steps", type=int, default=10, help="decoding iterations")
    ins.add_argument("--duration", type=float, default=None, help="seconds (default: the whole song)")
    ins.add_argument("--checkpoint", type=Path, default=None, help="default: the starter checkpoint")
    ins.set_defaults(run=instruct)
    tr = commands.add_parser("train", help="train (or resume) the model stage by stage")
    tr.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="the prepared corpus cache")
    tr.add_argument("--out", type=Path, default=Path("runs/starter"), help="where stages are saved")
    tr.add_argument("--preset", choices=("tiny", "small", "base"), default="small")
    tr.add_argument("--recipe", default="full",
                    help="full: every stage; anneal: an annealed backbone fine-tune (--init); "
                         "balanced: anneal on a mix with more recorded dance, styles evened out; "
                         "long: anneal with an 8000-step backbone (made the starter, --init)")  # fmt: skip
    tr.add_argument("--stages", nargs="*", help="stages to run (default: the recipe's, in order)")
    tr.add_argument("--steps", type=int, default=None, help="override every stage's step count")
    tr.add_argument("--export", type=Path, default=None, help="save the trained engine here (fp16)")
    tr.add_argument("--init", type=Path, default=None, help="fine-tune this engine checkpoint (same preset)")
    tr.set_defaults(run=train)
    ev = commands.add_parser("evaluate", help="print the metrics table row")
    ev.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="the prepared corpus cache")
    ev.add_argument("--data", type=Path, default=Path("../shared/data"), help="the shared data folder")
    ev.add_argument("--json", action="store_true", help="print JSON")
    ev.add_argument("--checkpoint", type=Path, default=None, help="also evaluate this engine checkpoint")
    ev.add_argument("--seeds", type=int, default=1, help="dances per held-out song (or track prompt)")
    ev.add_argument(
        "--seconds",
        type=float,
        default=30.0,
        help="seconds of each held-out song (or of the track) per dance",
    )
    ev.add_argument(
        "--no-copy", action="store_true", help="skip the no-copying distance (the slowest measure)"
    )
    ev.add_argument(
        "--include-copied", action="store_true",
        help="keep held-out real windows that repeat training motion in the FID reference (default: novel)",
    )  # fmt: skip
    ev.add_argument(
        "--keep-dances", type=Path, default=None,
        help="folder where generated dances are kept and reused by checkpoint, song, length and seed",
    )  # fmt: skip
    ev.add_argument(
        "--track-rows", action="store_true",
        help="also the former rows: dances on the held-out track, FID against the training pool",
    )  # fmt: skip
    ev.add_argument(
        "--editing", action="store_true",
        help="also the editing table: each instruction on synthesised songs (no corpus needed; "
        "the starter checkpoint without --checkpoint)",
    )  # fmt: skip
    ev.add_argument("--editing-songs", type=int, default=3, help="songs of the editing table (1-3)")
    ev.add_argument("--editing-seeds", type=int, default=8, help="dances per song of the editing table")
    ev.set_defaults(run=evaluate)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
    try:
        args.run(args)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    status = main()
    # Leave at once: tearing the interpreter down (torch's and numba's modules, the engine) takes
    # about a second and writes nothing; every file this wrote is closed by now.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
