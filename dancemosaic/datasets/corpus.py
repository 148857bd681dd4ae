"""The shared training corpus: which folders hold what, their labels and licences, and the cache
that ``python -m dancemosaic prepare`` builds from them.

Cache layout (git-ignored, rebuilt on demand)::

    <cache>/index.json                       one entry per clip: name, source, split, text, ...
    <cache>/clips/<source>/<stem>[-mirror].npz   rot6d (T,22,6), root (T,3), joints (T,22,3), fps

Held-out clips listed in ``splits/test.txt`` go to the test split only and are never mirrored;
every training clip also gets a mirrored copy (left and right swapped in the motion and the text).
Training recordings lose their spans that copy held-out recordings (``dedup.py``); the index's
``held_out_copies`` says what was cut from which clip.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, replace
from functools import partial
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from dancemosaic.datasets import dedup, labels
from dancemosaic.datasets.bvh_folder import load_bvh_clip
from dancemosaic.datasets.clip import Clip
from dancemosaic.datasets.dance_with_melody import read_dance_with_melody, style_of
from dancemosaic.motion import Motion, mirror

INDEX_VERSION = 1
BALLROOM_SOURCE = "dance_with_melody"  # the real dances recorded with their songs
CMU_LICENCE = (
    "CMU Graphics Lab Motion Capture Database: free for research and commercial use. "
    "The data used in this project was obtained from mocap.cs.cmu.edu. The database was created "
    "with funding from NSF EIA-0196217."
)
BANDAI_LICENCE = "Bandai-Namco-Research-Motiondataset: CC BY-NC 4.0 (non-commercial)"


@dataclass(frozen=True)
class Source:
    folder: str  # under <data>/mocap
    licence: str
    label: Callable[[Path], str]


def _cmu_label(index: dict[tuple[int, int], str], path: Path) -> str:
    return labels.cmu_prompt(index.get(labels.cmu_key(path.stem), "moves"))


def _bandai_label(path: Path) -> str:
    return labels.bandai_prompt(path.stem)


def shared_sources(data_root: Path) -> list[Source]:
    """The mocap folders of ``shared/data`` (see its README) with their label functions."""
    cmu_index = labels.read_cmu_index(data_root / "mocap" / "cmu_index.csv")
    cmu = partial(_cmu_label, cmu_index)
    return [
        Source("cmu_salsa", CMU_LICENCE, cmu),
        Source("cmu_modern", CMU_LICENCE, cmu),
        Source("cmu_misc", CMU_LICENCE, cmu),
        Source("bandai_ds1", BANDAI_LICENCE, _bandai_label),
        Source("bandai_ds2", BANDAI_LICENCE, _bandai_label),
    ]


def read_test_list(data_root: Path) -> set[str]:
    """Paths (relative to the data root) of the held-out clips and tracks."""
    path = data_root / "splits" / "test.txt"
    if not path.is_file():
        raise ValueError(f"{path} is missing: the held-out list decides what never reaches training")
    lines = (line.strip() for line in path.read_text().splitlines())
    return {line for line in lines if line and not line.startswith("#")}


@dataclass(frozen=True)
class Entry:
    """One cached clip, as stored in index.json."""

    name: str
    source: str
    split: str
    text: str
    licence: str
    frames: int
    seconds: float
    mirrored: bool
    file: str  # relative to the cache folder
    retarget: dict  # the RetargetReport of the source file (empty for SMPL datasets)
    music: str | None = None  # the recorded music of a real music-dance pair (AIST++, FineDance, ...)
    music_offset: float = 0.0  # seconds into ``music`` where the clip's first frame plays


def _save(clip: Clip, cache: Path, relative: str) -> None:
    path = cache / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = clip.motion.to_numpy() | {"joints": clip.motion.joints().numpy()}
    np.savez(path, **arrays)


def _variants(clip: Clip, split: str) -> list[tuple[Clip, bool]]:
    """The clip, and for training also its mirror (left and right swapped in motion and text)."""
    variants = [(clip, False)]
    if split == "train":
        text = labels.mirror_prompt(clip.text)
        variants.append((replace(clip, motion=mirror(clip.motion), text=text), True))
    return variants


def _entries(clip: Clip, split: str, cache: Path, retarget: dict) -> list[dict]:
    entries = []
    for variant, is_mirror in _variants(clip, split):
        stem = clip.name.split("/")[-1] + ("-mirror" if is_mirror else "")
        file = f"clips/{clip.source}/{stem}.npz"
        _save(variant, cache, file)
        music = str(clip.music) if clip.music else None
        name = variant.name + ("-mirror" if is_mirror else "")
        motion = variant.motion
        entry = Entry(
            name, clip.source, split, variant.text, variant.licence, motion.num_frames, motion.duration,
            is_mirror, file, retarget, music, clip.music_offset,
        )  # fmt: skip
        entries.append(asdict(entry))
    return entries


def add_dataset(cache: Path, clips: Iterable[Clip], split: str) -> int:
    """Add a dataset's clips (AIST++, FineDance, a BVH folder) to a prepared cache's index."""
    index = (
        load_index(cache)
        if (Path(cache) / "index.json").is_file()
        else {"version": INDEX_VERSION, "clips": []}
    )
    index.setdefault("test_music", [])
    added = [
        e for clip in tqdm(clips, desc=f"add {split} clips") for e in _entries(clip, split, Path(cache), {})
    ]
    names = {e["name"] for e in added}
    index["clips"] = sorted(
        [e for e in index["clips"] if e["name"] not in names] + added, key=lambda e: e["name"]
    )
    (Path(cache) / "index.json").write_text(json.dumps(index, indent=1))
    return len(added)


def _import_one(job: tuple[Path, str, Source, Path, str]) -> list[dict]:
    """Worker: import one BVH, write it (and its mirror for training) to the cache."""
    path, relative, source, cache, split = job
    torch.set_num_threads(1)  # one process per core does better than threads on small FK loops
    clip, report = load_bvh_clip(path, source.label(path), source.folder, source.licence)
    return _entries(clip, split, cache, asdict(report))


def _jobs(data_root: Path, cache: Path) -> Iterator[tuple[Path, str, Source, Path, str]]:
    held_out = read_test_list(data_root)
    for source in shared_sources(data_root):
        folder = data_root / "mocap" / source.folder
        for path in sorted(folder.glob("*.bvh")):
            relative = f"mocap/{source.folder}/{path.name}"
            yield path, relative, source, cache, "test" if relative in held_out else "train"


def prepare_corpus(data_root: Path, cache: Path, workers: int | None = None) -> list[dict]:
    """Import every shared BVH, and the recorded dances with their songs, into the cache; returns
    the index entries (also in index.json)."""
    data_root, cache = Path(data_root), Path(cache)
    if not (data_root / "mocap").is_dir():
        raise ValueError(f"{data_root} has no mocap/ folder: pass the shared data folder (../shared/data)")
    jobs = list(_jobs(data_root, cache))
    workers = workers or min(len(jobs), os.cpu_count() or 1)
    entries: list[dict] = []
    with get_context("spawn").Pool(workers) as pool:
        for result in tqdm(pool.imap_unordered(_import_one, jobs), total=len(jobs), desc="import mocap"):
            entries.extend(result)
    recorded, copies = _recorded_pairs(data_root, cache)
    entries = sorted(entries + recorded, key=lambda e: e["name"])
    held_out_music = sorted(p for p in read_test_list(data_root) if p.startswith("music/"))
    index = {
        "version": INDEX_VERSION,
        "clips": entries,
        "test_music": held_out_music,
        "held_out_copies": copies,
    }
    (cache / "index.json").write_text(json.dumps(index, indent=1))
    return entries


def _recorded_pairs(data_root: Path, cache: Path) -> tuple[list[dict], dict]:
    """The real dances recorded with their songs (``dance_with_melody/``), when the folder exists,
    the training ones without their copies of held-out motion; and what was cut from which clip."""
    folder = data_root / "dance_with_melody"
    if not folder.is_dir():
        return [], {}
    prefix = f"{folder.name}/"
    held_out = {Path(p).stem for p in read_test_list(data_root) if p.startswith(prefix)}
    test = list(read_dance_with_melody(folder, held_out, "test"))
    pool = dedup.held_out_pool(test)
    entries, cuts, count = [], {}, 0
    for clip in tqdm(read_dance_with_melody(folder, held_out, "train"), desc="import recorded dances"):
        cut = dedup.cut_copies(clip, pool)
        count += 1
        if cut.removed:
            cuts[clip.name] = cut.as_json(clip.motion.fps)
        entries += [e for part in cut.parts for e in _entries(part, "train", cache, {})]
    entries += [e for clip in test for e in _entries(clip, "test", cache, {})]
    report = {"threshold_m": dedup.COPY_THRESHOLD, "training_clips": count, "clips": cuts}
    return entries, report


def load_index(cache: Path) -> dict:
    path = Path(cache) / "index.json"
    if not path.is_file():
        raise ValueError(
            f"No corpus cache at {cache}: run `python -m dancemosaic prepare --data ../shared/data`"
        )
    index = json.loads(path.read_text())
    if index.get("version") != INDEX_VERSION:
        raise ValueError(f"The corpus cache at {cache} is from another version: run prepare again")
    return index


def recorded_pairs(cache: Path, split: str) -> list[dict]:
    """The index entries of ``split``'s real dances recorded with their songs (mirrors left out)."""
    clips = load_index(cache)["clips"]
    return [e for e in clips if e["split"] == split and e.get("music") and not e["mirrored"]]


def style_label(entry: dict) -> str | None:
    """The style a real dance of the corpus shows, or None when it is not a styled dance."""
    if entry["source"] == BALLROOM_SOURCE:
        return style_of(re.search(r"DANCE_[CRTW]_\d+", entry["name"])[0])
    if entry["source"] == "cmu_salsa" and "dance" in entry["text"]:
        return "salsa"
    if entry["source"] == "cmu_modern" and "dance" in entry["text"]:
        return "modern"
    return None


def load_motion(cache: Path, entry: dict) -> Motion:
    with np.load(Path(cache) / entry["file"], allow_pickle=False) as arrays:
        return Motion.from_numpy(dict(arrays))


def load_joints(cache: Path, entry: dict) -> np.ndarray:
    """(T, 22, 3) joint positions of a cached clip (stored, so metrics need no FK)."""
    with np.load(Path(cache) / entry["file"], allow_pickle=False) as arrays:
        return arrays["joints"]
