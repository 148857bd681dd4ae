"""A folder of BVH files with labels: the format of the shared mocap and of most users' own captures.

Labels come from, in order: an explicit ``label`` function, a ``labels.csv`` beside the files
(columns ``file,text``), or the file name ("side_step_02.bvh" -> "a person side step").
"""

from __future__ import annotations

import csv
import logging
import re
from collections.abc import Callable, Iterator
from pathlib import Path

from dancemosaic.datasets.clip import Clip
from dancemosaic.mocap import RetargetReport, import_bvh

log = logging.getLogger(__name__)


def load_bvh_clip(path: Path, text: str, source: str, licence: str) -> tuple[Clip, RetargetReport]:
    """One BVH file -> a canonical 30 fps Clip and its retargeting report."""
    motion, report = import_bvh(path)
    return Clip(f"{source}/{path.stem}", source, motion, text, licence), report


def name_prompt(path: Path) -> str:
    """'side_step_02.bvh' -> 'a person side step': the fallback when a folder has no labels."""
    words = re.sub(r"[_\-\s]+", " ", re.sub(r"\d+", " ", path.stem)).strip().lower()
    return f"a person {words}" if words else "a person moves"


def csv_labels(path: Path) -> dict[str, str]:
    """labels.csv with columns file,text -> {file stem: text}."""
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    if rows and not {"file", "text"} <= set(rows[0]):
        raise ValueError(f"{path} needs the columns 'file' and 'text'")
    return {Path(row["file"]).stem: row["text"].strip() for row in rows}


def read_bvh_folder(
    folder: Path,
    label: Callable[[Path], str] | None = None,
    source: str | None = None,
    licence: str = "unknown: check the data's own terms",
) -> Iterator[Clip]:
    """Every ``*.bvh`` under ``folder`` as a Clip; files that fail to import are logged and skipped."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"BVH folder not found: {folder}")
    table = csv_labels(folder / "labels.csv") if (folder / "labels.csv").is_file() else {}
    source = source or folder.name
    for path in sorted(folder.rglob("*.bvh")):
        text = label(path) if label else table.get(path.stem) or name_prompt(path)
        try:
            yield load_bvh_clip(path, text, source, licence)[0]
        except ValueError as err:
            log.warning("skipping %s: %s", path, err)
