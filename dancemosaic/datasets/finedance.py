"""FineDance reader: SMPL-X 6D motion arrays, the official splits, music and genre labels.

Layout of a FineDance root (github.com/li-ronghui/FineDance, README and ``dataset/FineDance_dataset.py``)::

    motion/<id>.npy        float (T, 315) = root translation (3) + 52 SMPL-X/SMPL-H joints x 6D rotation,
                           or (T, 319) = 4 foot contacts + those 315 (the repo's ``motion_fea319``); 30 fps
    music_wav/<id>.wav     the paired music (``music_npy/`` holds librosa features, not audio)
    label_json/<id>.json   {"name": song, "style1": coarse style, "style2": fine-grained genre}

The first 22 joints are the SMPL body in the canonical order; the other 30 (the fingers; FineDance
stores no jaw or eyes) are dropped. The 6D rotation is the first two rows of the matrix (pytorch3d's
``matrix_to_rotation_6d``, which FineDance and EDGE use), as ``rotation.rot6d_to_matrix`` reads it.
The translation is SMPL-X's ``transl``: it moves the whole body, which rotates about the template
pelvis, so ``Motion.root`` = translation + ``skeleton.REST_OFFSETS[0]`` (the canonical skeleton's
template pelvis, a few millimetres from SMPL-X's). Foot contacts are derived data: ``Motion``
recomputes them.

Files are read with ``np.load(allow_pickle=False)``: an ``.npy`` with pickled objects is refused.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from dancemosaic import rotation, skeleton
from dancemosaic.datasets.clip import Clip
from dancemosaic.motion import Motion, resample
from dancemosaic.timing import FPS

log = logging.getLogger(__name__)

FINEDANCE_FPS = 30
SOURCE = "finedance"
LICENCE = (
    "FineDance (Li et al., ICCV 2023): non-commercial scientific research, education or artistic use "
    "only, no redistribution (see the FineDance LICENSE); models trained on it inherit these terms."
)
NUM_JOINTS = 52  # SMPL-X body + hands, without jaw and eyes
MOTION_DIM = 3 + NUM_JOINTS * 6  # 315
CONTACTS_DIM = 4
SPLITS = ("train", "val", "test")
DEFAULT_PROMPT = "a person dances"


@dataclass(frozen=True)
class SplitScheme:
    """Held-out sequence ids of one official FineDance split (``get_train_test_list``)."""

    test: tuple[str, ...]
    val: tuple[str, ...]
    ignore: tuple[str, ...]  # left out of every split


def _ids(*numbers: int) -> tuple[str, ...]:
    return tuple(f"{n:03d}" for n in numbers)


SCHEMES = {
    # FineDance@Genre: the split behind the paper's results (and LODGE's)
    "cross_genre": SplitScheme(
        test=_ids(
            63, 132, 143, 36, 98, 198, 130, 12, 211, 193, 179, 65, 137, 161, 92, 120, 37, 109, 204, 144
        ),
        val=(),
        ignore=_ids(116, 117, 118, 119, 120, 121, 122, 123, 202, 130),
    ),
    # FineDance@Dancer: no dancer in two splits
    "cross_dancer": SplitScheme(
        test=_ids(*range(1, 14), 124, 126, 128, 130, 132),
        val=_ids(115, 117, 119, 121, 122, 135, 137, 139, 141, 143, 145, 147),
        ignore=_ids(116, 118, 120, 123, 202, 159, 130),
    ),
}

# FineDance "style2" labels -> the dance's name as a prompt phrase (unknown labels are lower-cased).
GENRES = {
    "Breaking": "break dance", "Popping": "popping", "Locking": "locking", "Hiphop": "hip-hop",
    "Urban": "urban dance", "Jazz": "jazz", "Dai": "Dai folk dance", "Tai": "Dai folk dance",
    "Wei": "Uyghur folk dance", "Uighur": "Uyghur folk dance", "Miao": "Miao folk dance",
    "Hmong": "Miao folk dance", "HanTang": "Han-Tang classical Chinese dance",
    "ShenYun": "Shenyun classical Chinese dance", "Kun": "Kunqu opera dance",
    "DunHuang": "Dunhuang dance", "Korean": "Korean dance", "Choreography": "a choreographed routine",
    "Chinese": "Chinese dance",
}  # fmt: skip


def finedance_prompt(genre: str | None) -> str:
    """'Popping' -> 'a person dances popping'; no label -> 'a person dances'."""
    if not genre or not genre.strip():
        return DEFAULT_PROMPT
    genre = genre.strip()
    phrase = next((v for k, v in GENRES.items() if k.lower() == genre.lower()), genre.lower())
    return f"{DEFAULT_PROMPT} {phrase}"


def finedance_motion(features: np.ndarray, name: str = "motion") -> Motion:
    """A (T, 315) or (T, 319) FineDance array -> the 22-joint body Motion at 30 fps (float32)."""
    if features.ndim != 2 or features.shape[1] not in (MOTION_DIM, CONTACTS_DIM + MOTION_DIM):
        raise ValueError(
            f"{name}: a FineDance motion must be (T, {MOTION_DIM}) or (T, {CONTACTS_DIM + MOTION_DIM}), "
            f"got {features.shape}"
        )
    if features.shape[0] == 0:
        raise ValueError(f"{name}: the motion has no frames")
    if not np.isfinite(features).all():
        raise ValueError(f"{name}: the motion contains NaN or infinite values")
    data = torch.as_tensor(features[:, -MOTION_DIM:], dtype=torch.float64)  # contacts dropped
    rot6d = data[:, 3:].reshape(-1, NUM_JOINTS, 6)[:, : skeleton.NUM_BODY_JOINTS]
    root = data[:, :3] + skeleton.rest_offsets(torch.float64)[0]
    return Motion(rotation.rot6d_to_matrix(rot6d).float(), root.float(), FINEDANCE_FPS)


def load_finedance_motion(path: Path, fps: float = FPS) -> Motion:
    """One ``motion/<id>.npy`` -> its body Motion at ``fps``."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"FineDance motion file not found: {path}")
    try:
        array = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as err:
        raise ValueError(f"{path} is not a plain numeric .npy array ({err})") from err
    if not isinstance(array, np.ndarray) or not np.issubdtype(array.dtype, np.number):
        raise ValueError(f"{path} must hold one numeric (T, {MOTION_DIM}) array")
    return resample(finedance_motion(array.astype(np.float64), str(path)), fps)


def split_ids(
    ids: list[str], split: str, scheme: str = "cross_genre", test_list: Path | None = None
) -> list[str]:
    """The ids of ``split`` among ``ids`` under an official scheme (ignored ids never appear).

    ``test_list`` (a file of ids, one a line) replaces the scheme's test ids.
    """
    if split not in SPLITS:
        raise ValueError(f"FineDance split must be one of {SPLITS}, got {split!r}")
    if scheme not in SCHEMES:
        raise ValueError(f"FineDance split scheme must be one of {tuple(SCHEMES)}, got {scheme!r}")
    held = SCHEMES[scheme]
    held_out = {"test": set(_read_list(Path(test_list)) if test_list else held.test), "val": set(held.val)}
    ignore = set(held.ignore)
    if split == "train":
        excluded = held_out["test"] | held_out["val"] | ignore
        return [i for i in ids if i not in excluded]
    return [i for i in ids if i in held_out[split] and i not in ignore]


def _read_list(path: Path) -> list[str]:
    if not path.is_file():
        raise ValueError(f"FineDance test list not found: {path} (one sequence id a line, e.g. 063)")
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [Path(line).stem for line in lines if line and not line.startswith("#")]


def read_genres(path: Path) -> dict[str, str]:
    """A json object {id: genre} (the alternative to FineDance's per-file label_json)."""
    try:
        table = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"cannot read the genre table {path}: {err}") from err
    if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
        raise ValueError(f"{path} must be a json object mapping sequence ids to genre names")
    return {str(k): v for k, v in table.items()}


def label_genre(root: Path, clip_id: str) -> str | None:
    """The fine-grained genre ("style2", else "style1") in ``label_json/<id>.json``, if present."""
    path = Path(root) / "label_json" / f"{clip_id}.json"
    if not path.is_file():
        return None
    try:
        label = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        log.warning("ignoring unreadable label %s: %s", path, err)
        return None
    if not isinstance(label, dict):
        return None
    genre = label.get("style2") or label.get("style1")
    return genre if isinstance(genre, str) else None


def find_music(root: Path, clip_id: str) -> Path | None:
    path = Path(root) / "music_wav" / f"{clip_id}.wav"
    return path if path.is_file() else None


def read_finedance(
    root: Path,
    split: str = "train",
    scheme: str = "cross_genre",
    test_list: Path | None = None,
    genres: Path | None = None,
) -> Iterator[Clip]:
    """The clips of a FineDance split at ``timing.FPS``; files that fail to load are logged and skipped.

    Text comes from ``genres`` (a json {id: genre}) when it names the id, else from
    ``label_json/<id>.json``, else "a person dances".
    """
    root = Path(root)
    if not (root / "motion").is_dir():
        raise ValueError(f"{root} has no motion/ folder: pass the FineDance data folder")
    table = read_genres(genres) if genres else {}
    ids = sorted(path.stem for path in (root / "motion").glob("*.npy"))
    for clip_id in split_ids(ids, split, scheme, test_list):
        path = root / "motion" / f"{clip_id}.npy"
        try:
            motion = load_finedance_motion(path)
        except ValueError as err:
            log.warning("skipping %s: %s", path, err)
            continue
        text = finedance_prompt(table.get(clip_id) or label_genre(root, clip_id))
        yield Clip(f"{SOURCE}/{clip_id}", SOURCE, motion, text, LICENCE, find_music(root, clip_id))
