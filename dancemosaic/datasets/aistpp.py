"""AIST++ reader: SMPL motion pickles, the official cross-modal splits, music and genre prompts.

Layout of an AIST++ root (as the official download and ``google/aistplusplus_api`` use it)::

    motions/<seq>.pkl       dict: smpl_poses (T, 72) axis-angle for 24 SMPL joints, smpl_trans (T, 3),
                            smpl_scaling (1,) (or a scalar), smpl_loss (ignored); 60 fps, y up
    splits/crossmodal_{train,val,test}.txt, splits/ignore_list.txt (or ignore_list.txt at the root)
    wavs/ | wav/ | music/   <music id>.wav, e.g. mBR0.wav (the AIST Dance DB audio)

AIST++ joint positions are ``FK(poses) + smpl_trans / smpl_scaling`` in SMPL units (metres), with the
scaled-down translation added to every joint. SMPL rotates the body about the template pelvis, so the
pelvis itself sits at ``smpl_trans / smpl_scaling + J_pelvis``; ``Motion.root`` is that point, with the
canonical skeleton's template pelvis ``skeleton.REST_OFFSETS[0]`` as ``J_pelvis``.

Motion files are pickles, and a pickle can run any code while it loads: they are read with
``_ArrayUnpickler``, which builds only numpy arrays, dtypes and scalars and refuses everything else.
"""

from __future__ import annotations

import logging
import math
import pickle
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dancemosaic.datasets.clip import Clip
from dancemosaic.motion import Motion, resample, smpl_motion
from dancemosaic.timing import FPS

log = logging.getLogger(__name__)

AISTPP_FPS = 60
SOURCE = "aistpp"
LICENCE = (
    "AIST++ annotations (SMPL motion): CC BY 4.0, Google (https://google.github.io/aistplusplus_dataset). "
    "The paired music is from the AIST Dance Video Database: see its own terms of use."
)
SPLITS = ("train", "val", "test")
MUSIC_FOLDERS = ("wavs", "wav", "music")  # where users keep the AIST Dance DB audio, in search order

# AIST genre codes -> the dance's name as a prompt phrase.
GENRES = {
    "BR": "break dance", "PO": "popping", "LO": "locking", "MH": "middle hip-hop",
    "LH": "LA-style hip-hop", "HO": "house", "WA": "waacking", "KR": "krump",
    "JS": "street jazz", "JB": "ballet jazz",
}  # fmt: skip
SITUATIONS = {"BM": "basic", "FM": "advanced"}  # basic dance vs advanced choreography

# e.g. gBR_sBM_cAll_d04_mBR0_ch01: genre, situation, camera, dancer, music, choreography
_NAME = re.compile(
    r"g(?P<genre>[A-Z]{2})_s(?P<situation>[A-Z]{2})_c[A-Za-z0-9]+_d(?P<dancer>\d+)"
    r"_m(?P<music>[A-Z]{2}\d+)_ch(?P<choreo>\d+)"
)


@dataclass(frozen=True)
class SequenceName:
    """The fields an AIST++ sequence name encodes."""

    genre: str  # "BR"
    situation: str  # "BM" (basic) or "FM" (advanced)
    dancer: str
    music: str  # "mBR0": also the music file's stem
    choreography: str


def parse_sequence_name(name: str) -> SequenceName:
    """'gBR_sBM_cAll_d04_mBR0_ch01' -> its genre, situation, dancer, music id and choreography."""
    match = _NAME.fullmatch(name)
    if not match:
        raise ValueError(f"{name!r} is not an AIST++ sequence name like 'gBR_sBM_cAll_d04_mBR0_ch01'")
    return SequenceName(
        match["genre"], match["situation"], match["dancer"], "m" + match["music"], match["choreo"]
    )


def aistpp_prompt(name: str) -> str:
    """'gBR_sBM_cAll_d04_mBR0_ch01' -> 'a person dances basic break dance'."""
    info = parse_sequence_name(name)
    if info.genre not in GENRES:
        return "a person dances"
    level = SITUATIONS.get(info.situation, "")
    return " ".join(part for part in ("a person dances", level, GENRES[info.genre]) if part)


# ---------------------------------------------------------------------------------------------
# Restricted unpickling
#
# Loading a pickle calls whatever globals it names. The allow-list below maps the few names an
# array pickle uses to stand-ins that check their arguments and build arrays with np.frombuffer:
# numpy's own unpickling hooks trust their input (a malformed dtype state can crash the process).

_PLAIN_DTYPES = frozenset({"b1", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f2", "f4", "f8"})


class _DType:
    """``numpy.dtype`` while unpickling: plain numbers only, their state checked."""

    def __init__(self, spec: object, align: object = False, copy: object = False) -> None:
        if not isinstance(spec, str) or spec not in _PLAIN_DTYPES:
            raise ValueError(f"refusing dtype {spec!r}: motion arrays hold plain numbers")
        self.dtype = np.dtype(spec)

    def __setstate__(self, state: object) -> None:
        # numpy writes (version, byte order, subarray, names, fields, ...); plain numbers have none
        valid = isinstance(state, tuple) and len(state) >= 5 and state[2:5] == (None, None, None)
        if not valid or state[1] not in ("<", ">", "|", "="):
            raise ValueError(f"refusing dtype state {state!r}")
        self.dtype = self.dtype.newbyteorder(state[1])


class _NDArrayType:
    """Stands for ``numpy.ndarray``, the class argument of ``_reconstruct``."""


class _Array:
    """An array being unpickled: ``_reconstruct`` makes it empty, ``__setstate__`` fills it."""

    array: np.ndarray | None = None

    def __setstate__(self, state: object) -> None:
        # numpy writes (version, shape, dtype, is_fortran, raw bytes)
        if not isinstance(state, tuple) or len(state) != 5:
            raise ValueError("refusing a malformed array state")
        _, shape, dtype, fortran, raw = state
        self.array = _array_from_bytes(raw, dtype, shape, "F" if fortran else "C")


def _array_from_bytes(raw: object, dtype: object, shape: object, order: object) -> np.ndarray:
    if not isinstance(dtype, _DType):
        raise ValueError("refusing an array whose dtype is not a plain number type")
    if isinstance(raw, str):
        raw = raw.encode("latin1")  # Python 2 pickles keep raw bytes in a str
    if isinstance(raw, bytearray):
        raw = bytes(raw)  # protocol 5 data: copy it rather than export the pickle's buffer
    shape_ok = isinstance(shape, tuple) and all(isinstance(n, int) and n >= 0 for n in shape)
    if not isinstance(raw, bytes) or not shape_ok or order not in ("C", "F"):
        raise ValueError("refusing a malformed array")
    count = math.prod(shape)
    if count * dtype.dtype.itemsize != len(raw):
        raise ValueError(f"array data ({len(raw)} bytes) does not match its shape {shape}")
    return np.frombuffer(raw, dtype.dtype, count).reshape(shape, order=order).copy()


def _reconstruct(cls: object, shape: object, typecode: object) -> _Array:
    if cls is not _NDArrayType:
        raise ValueError(f"refusing to reconstruct {cls!r}: only numpy arrays are allowed")
    return _Array()


def _scalar(dtype: object, raw: object = None) -> np.generic:
    return _array_from_bytes(raw, dtype, (), "C")[()]


def _from_buffer(buffer: object, dtype: object, shape: object, order: object) -> np.ndarray:
    return _array_from_bytes(buffer, dtype, shape, order)  # protocol 5's in-band array data


def _encode_latin1(text: object, encoding: object) -> bytes:
    if not isinstance(text, str) or encoding != "latin1":
        raise ValueError(f"refusing codecs.encode(..., {encoding!r})")
    return text.encode("latin1")  # how protocols 0-2 store bytes


_GLOBALS = {
    ("numpy", "ndarray"): _NDArrayType,
    ("numpy", "dtype"): _DType,
    ("_codecs", "encode"): _encode_latin1,
}
# numpy 1 pickles name numpy.core.<submodule>, numpy 2 numpy._core.<submodule>
_NUMPY_CORE = {
    ("multiarray", "_reconstruct"): _reconstruct,
    ("multiarray", "scalar"): _scalar,
    ("numeric", "_frombuffer"): _from_buffer,
}


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles containers, numbers, strings and plain numeric numpy arrays; refuses anything else.

    Every callable a pickle can invoke (``os.system``, ``builtins.eval``, ...) is looked up through
    ``find_class``, so the allow-list here is what makes an untrusted file safe to open.
    """

    def find_class(self, module: str, name: str) -> object:
        package, _, submodule = module.rpartition(".")
        if package in ("numpy.core", "numpy._core") and (submodule, name) in _NUMPY_CORE:
            return _NUMPY_CORE[submodule, name]
        if (module, name) in _GLOBALS:
            return _GLOBALS[module, name]
        raise ValueError(
            f"refusing to unpickle {module}.{name}: only numpy arrays are allowed in a motion file"
        )


def _unwrap(value: object) -> object:
    """Replace the stand-ins in a loaded structure by the arrays and dtypes they built."""
    if isinstance(value, dict):
        return {key: _unwrap(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_unwrap(item) for item in value)
    if isinstance(value, _Array):
        if value.array is None:
            raise ValueError("an array in the file has no data")
        return value.array
    return value.dtype if isinstance(value, _DType) else value


def safe_unpickle(path: Path) -> object:
    """Load a pickle that may only contain plain containers and numpy arrays (ValueError otherwise)."""
    with open(path, "rb") as handle:
        try:
            # latin1 reads the byte strings of Python 2 pickles, as numpy's own loaders do
            return _unwrap(_ArrayUnpickler(handle, encoding="latin1").load())
        except ValueError as err:
            raise ValueError(f"{path}: {err}") from err
        except Exception as err:  # truncation, bad lengths, bad opcodes...: all one answer to the user
            raise ValueError(
                f"{path} is not a readable AIST++ motion pickle ({type(err).__name__}: {err})"
            ) from err


# ---------------------------------------------------------------------------------------------
# Motion files


_KEYS = ("smpl_poses", "smpl_trans", "smpl_scaling")


def _finite_array(data: dict, key: str, path: Path) -> np.ndarray:
    if key not in data:
        raise ValueError(f"{path} has no {key!r}: an AIST++ motion pickle needs {_KEYS}")
    try:
        array = np.asarray(data[key], dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{path}: {key!r} must be numeric ({err})") from err
    if not np.isfinite(array).all():
        raise ValueError(f"{path}: {key!r} contains NaN or infinite values")
    return array


def _read_arrays(path: Path) -> tuple[np.ndarray, np.ndarray, float]:
    """Validated (poses (T, 24, 3), trans (T, 3), scaling) from an AIST++ pickle."""
    data = safe_unpickle(path)
    if not isinstance(data, dict):
        raise ValueError(f"{path} holds a {type(data).__name__}, not the dict of an AIST++ motion")
    poses, trans, scaling = (_finite_array(data, key, path) for key in _KEYS)
    frames = poses.shape[0] if poses.ndim else 0
    if poses.shape not in ((frames, 72), (frames, 24, 3)) or frames == 0:
        raise ValueError(f"{path}: smpl_poses must be (T, 72) with T > 0, got {poses.shape}")
    if trans.shape != (frames, 3):
        raise ValueError(f"{path}: smpl_trans must be (T, 3) = ({frames}, 3), got {trans.shape}")
    if scaling.size != 1 or scaling.item() <= 0:
        raise ValueError(f"{path}: smpl_scaling must be one positive number, got {scaling.tolist()}")
    return poses.reshape(frames, 24, 3), trans, float(scaling.item())


def aistpp_motion(poses: np.ndarray, trans: np.ndarray, scaling: float) -> Motion:
    """SMPL parameters at 60 fps -> the 22-joint body Motion at 60 fps (palms dropped).

    poses: (T, 24, 3) axis-angle; trans: (T, 3) in AIST++ units (SMPL metres x scaling).
    """
    return smpl_motion(poses, trans / scaling, AISTPP_FPS)


def load_aistpp_motion(path: Path, fps: float = FPS) -> Motion:
    """One ``motions/<seq>.pkl`` -> its body Motion resampled to ``fps`` (float32)."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"AIST++ motion file not found: {path}")
    motion = resample(aistpp_motion(*_read_arrays(path)), fps)
    return Motion(motion.rotations.float(), motion.root.float(), motion.fps)


# ---------------------------------------------------------------------------------------------
# Splits, music, the dataset


def _read_names(path: Path) -> list[str]:
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def read_split(splits_dir: Path, split: str, root: Path | None = None) -> list[str]:
    """Sequence names of an official cross-modal split, ignore-listed ones removed.

    The ignore list is ``splits_dir/ignore_list.txt``, else ``root/ignore_list.txt`` (where the
    AIST++ download puts it).
    """
    if split not in SPLITS:
        raise ValueError(f"AIST++ split must be one of {SPLITS}, got {split!r}")
    split_file = Path(splits_dir) / f"crossmodal_{split}.txt"
    if not split_file.is_file():
        raise ValueError(
            f"{split_file} not found: pass splits_dir= the folder with the AIST++ crossmodal_*.txt lists"
        )
    candidates = [Path(splits_dir) / "ignore_list.txt"] + ([Path(root) / "ignore_list.txt"] if root else [])
    ignore_file = next((p for p in candidates if p.is_file()), None)
    if ignore_file is None:
        raise ValueError(
            f"AIST++ ignore_list.txt not found in {' or '.join(str(p.parent) for p in candidates)}: "
            "it lists the sequences whose SMPL fits are broken; copy it there"
        )
    ignored = set(_read_names(ignore_file))
    return [name for name in _read_names(split_file) if name not in ignored]


def find_music(root: Path, name: str) -> Path | None:
    """The wav of a sequence's music (``wavs/mBR0.wav``, ``wav/`` or ``music/``), if the user has it."""
    stem = parse_sequence_name(name).music
    for folder in MUSIC_FOLDERS:
        path = Path(root) / folder / f"{stem}.wav"
        if path.is_file():
            return path
    return None


def read_aistpp(root: Path, split: str = "train", splits_dir: Path | None = None) -> Iterator[Clip]:
    """The clips of an AIST++ split at ``timing.FPS`` (ignore-listed sequences skipped).

    ``splits_dir`` defaults to ``root/splits``. Listed sequences without a motion file, and files
    that fail to load, are logged and skipped.
    """
    root = Path(root)
    if not (root / "motions").is_dir():
        raise ValueError(f"{root} has no motions/ folder: pass the AIST++ annotations folder")
    names = read_split(Path(splits_dir) if splits_dir else root / "splits", split, root)
    for name in names:
        path = root / "motions" / f"{name}.pkl"
        if not path.is_file():
            log.warning("AIST++ %s is in the %s split but %s is missing", name, split, path)
            continue
        try:
            motion = load_aistpp_motion(path)
            text, music = aistpp_prompt(name), find_music(root, name)
        except ValueError as err:
            log.warning("skipping %s: %s", path, err)
            continue
        yield Clip(f"{SOURCE}/{name}", SOURCE, motion, text, LICENCE, music)
