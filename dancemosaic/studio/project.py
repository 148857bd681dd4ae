"""Project files: a session's whole work in one zip, to keep it past the session and open it again.

A project holds every version of a history (its motion, its tokens, its segments, what made it),
the history tree (each version's parent, the current version, where redo goes) and the songs the
versions dance to. Nothing in it is pickled:

    project.json    format, checkpoint, current version, redo links, one entry per version
    versions.npz    per version i: v{i}_rotations (T, 22, 3, 3), v{i}_root (T, 3), v{i}_codes (L, Q)
    songs/{k}.wav   the songs, numbered (wav, flac, ogg or mp3)

A project file is an upload like any other and is read as untrusted: its size, its entries (no
names but those above: nothing else is ever written, and no entry's name is used as a path), the
JSON's fields, the arrays' shapes and types and the songs are all checked, and anything wrong is a
ValueError that names the entry and what is wrong with it. The page, the API and the command line
(``python -m dancemosaic open-project``) read it with ``read_project``.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dancemosaic import music
from dancemosaic.dance import Dance, Edit, Request, Segment
from dancemosaic.motion import Motion
from dancemosaic.studio.session import MAX_VERSIONS, History, Version
from dancemosaic.timing import FPS

FORMAT = "dancemosaic-project"
FORMAT_VERSION = 1
MAX_FILE_BYTES = 512 * 2**20  # a project of long songs and many versions: about 1.3 MB per minute each
MAX_UNPACKED_BYTES = 2 * 2**30  # what its entries may unpack to (a zip bomb is refused before reading)
MAX_SONGS = 32
Model = tuple[str, int, int]  # checkpoint id, quantizers, codebook size
_SONG_ENTRY = re.compile(r"^songs/(\d{1,2})(\.wav|\.flac|\.ogg|\.mp3)$")


@dataclass(frozen=True)
class Project:
    """What a project file holds: a history, and the checkpoint that made its tokens."""

    history: History
    checkpoint: str


def write_project(history: History, path: str | Path) -> Path:
    """Write every version of ``history``, its tree and its songs to the zip ``path``."""
    if history.current is None:
        raise ValueError("generate a dance first: an empty session makes no project")
    songs = sorted({v.dance.song for v in history.versions if v.dance.song is not None})
    entries, arrays = [], {}
    for i, version in enumerate(history.versions):
        dance = version.dance
        arrays[f"v{i}_rotations"] = dance.motion.rotations.numpy().astype(np.float32)
        arrays[f"v{i}_root"] = dance.motion.root.numpy().astype(np.float32)
        arrays[f"v{i}_codes"] = dance.codes.numpy().astype(np.int32)
        entries.append(_version_entry(version, songs))
    song_entries = [f"songs/{k}{Path(song).suffix.lower()}" for k, song in enumerate(songs)]
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "checkpoint": history.dance.checkpoint,
        "current": history.current,
        "redo": sorted([parent, child] for parent, child in history.next_child.items()),
        "songs": song_entries,
        "song_names": [Path(song).name for song in songs],  # exports are named after them
        "versions": entries,
    }
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    path = Path(path)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("project.json", json.dumps(manifest, indent=1))
        archive.writestr("versions.npz", buffer.getvalue(), compress_type=zipfile.ZIP_STORED)
        for song, entry in zip(songs, song_entries, strict=True):
            archive.write(song, entry, compress_type=zipfile.ZIP_STORED)
    return path


def read_project(path: str | Path, song_folder: str | Path, model: Model | None = None) -> Project:
    """The project in the zip ``path``, its songs copied into ``song_folder``; a ValueError names
    anything wrong. With ``model`` (checkpoint id, quantizers, codebook size), the tokens of the
    versions that checkpoint made must fit its codebooks (others are the caller's to re-derive)."""
    path = Path(path)
    name = path.name
    if not path.is_file():
        raise ValueError(f"the project file {name} was not found")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise ValueError(f"{name} is larger than a project may be ({MAX_FILE_BYTES // 2**20} MB)")
    try:
        with zipfile.ZipFile(path) as archive:
            _check_entries(archive, name)
            manifest = _manifest(archive, name)
            arrays = _arrays(archive, name)
            songs = _songs(archive, manifest, Path(song_folder), name)
    except zipfile.BadZipFile as err:
        raise ValueError(f"{name} is not a DanceMosaic project file (not a readable zip: {err})") from None
    return _project(manifest, arrays, songs, name, model)


def _version_entry(version: Version, songs: list[str]) -> dict[str, Any]:
    dance = version.dance
    request = dance.request
    if isinstance(request, Request):
        made = {"kind": "request", "text": request.text, "seed": request.seed, "duration": request.duration,
                "guided": request.pose is not None}  # fmt: skip
    else:
        made = {"kind": "edit", "start": request.start, "end": request.end, "text": request.text,
                "joints": list(request.joints), "seed": request.seed}  # fmt: skip
    return {
        "label": version.label,
        "parent": version.parent,
        "song": None if dance.song is None else songs.index(dance.song),
        "segments": [[s.start, s.end, s.text] for s in dance.segments],
        "made_by": made,
        "checkpoint": dance.checkpoint,
        "pose_distance": dance.pose_distance,
        "blends": [list(zone) for zone in dance.blends],
        "kept_error": dance.kept_error,
    }


def _check_entries(archive: zipfile.ZipFile, name: str) -> None:
    """Only the entries a project has, of a size that fits (declared sizes bound what is read)."""
    infos = archive.infolist()
    if len(infos) > 2 + MAX_SONGS:
        raise ValueError(f"{name} holds {len(infos)} entries; a project has at most {2 + MAX_SONGS}")
    for info in infos:
        if info.filename not in ("project.json", "versions.npz") and not _SONG_ENTRY.match(info.filename):
            raise ValueError(
                f"{name} holds an entry {info.filename!r} that no project has (only project.json, "
                "versions.npz and songs/N.wav|flac|ogg|mp3): it is not a DanceMosaic project file"
            )
    if sum(info.file_size for info in infos) > MAX_UNPACKED_BYTES:
        raise ValueError(f"{name} unpacks to more than {MAX_UNPACKED_BYTES // 2**30} GB: refused")
    for needed in ("project.json", "versions.npz"):
        if needed not in archive.namelist():
            raise ValueError(f"{name} has no {needed}: it is not a DanceMosaic project file")


def _manifest(archive: zipfile.ZipFile, name: str) -> dict[str, Any]:
    try:
        manifest = json.loads(archive.read("project.json"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{name}: project.json is not valid JSON ({err})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ValueError(f"{name}: project.json does not say format {FORMAT!r}: not a DanceMosaic project")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"{name} is format version {manifest.get('format_version')!r}; this DanceMosaic reads "
            f"version {FORMAT_VERSION} (update DanceMosaic to open newer projects)"
        )
    return manifest


def _arrays(archive: zipfile.ZipFile, name: str) -> dict[str, np.ndarray]:
    try:
        with np.load(io.BytesIO(archive.read("versions.npz")), allow_pickle=False) as stored:
            return {key: stored[key] for key in stored.files}
    except (ValueError, OSError, zipfile.BadZipFile) as err:
        raise ValueError(f"{name}: versions.npz cannot be read as plain arrays ({err})") from None


def _songs(archive: zipfile.ZipFile, manifest: dict[str, Any], folder: Path, name: str) -> list[str]:
    """Each song copied to a fresh folder under a name of our own, and checked as any upload."""
    entries = manifest.get("songs")
    if not isinstance(entries, list) or len(entries) > MAX_SONGS:
        raise ValueError(f"{name}: project.json 'songs' must list at most {MAX_SONGS} song entries")
    names = manifest.get("song_names")
    names = names if isinstance(names, list) and len(names) == len(entries) else [None] * len(entries)
    target = folder / uuid.uuid4().hex[:8]
    paths = []
    for k, entry in enumerate(entries):
        match = _SONG_ENTRY.match(entry) if isinstance(entry, str) else None
        if match is None or int(match[1]) != k or entry not in archive.namelist():
            raise ValueError(f"{name}: project.json 'songs' entry {k + 1} ({entry!r}) is not in the file")
        # The song's own name, made safe (it names the exports), in a folder of its own.
        stem = re.sub(r"[^A-Za-z0-9_-]+", "_", Path(str(names[k] or "song")).stem)[:60].strip("_")
        song = target / str(k) / f"{stem or 'song'}{match[2]}"
        song.parent.mkdir(parents=True)
        with archive.open(entry) as source, open(song, "wb") as out:
            shutil.copyfileobj(source, out)
        try:
            music.load_audio(song)
        except ValueError as err:
            raise ValueError(f"{name}: {entry} is no usable song ({err})") from None
        paths.append(str(song))
    return paths


def _project(
    manifest: dict[str, Any], arrays: dict[str, np.ndarray], songs: list[str], name: str,
    model: Model | None,
) -> Project:  # fmt: skip
    entries = manifest.get("versions")
    if not isinstance(entries, list) or not 1 <= len(entries) <= MAX_VERSIONS:
        raise ValueError(f"{name}: project.json 'versions' must list 1-{MAX_VERSIONS} versions")
    history = History()
    for i, entry in enumerate(entries):
        where = f"{name}: version {i + 1}"
        try:
            version = _version(entry, i, arrays, songs, history, model)
        except (KeyError, TypeError, IndexError) as err:
            raise ValueError(f"{where}: a field is missing or of the wrong type ({err})") from None
        except ValueError as err:
            raise ValueError(f"{where}: {err}") from None
        history.versions.append(version)
    current, redo = manifest.get("current"), manifest.get("redo", [])
    if not _index(current, len(entries)):
        raise ValueError(f"{name}: project.json 'current' must be a version index 0-{len(entries) - 1}")
    if not isinstance(redo, list) or not all(
        isinstance(link, list) and len(link) == 2 and all(_index(j, len(entries)) for j in link)
        and history.versions[link[1]].parent == link[0]
        for link in redo
    ):  # fmt: skip
        raise ValueError(f"{name}: project.json 'redo' must list [parent, child] pairs of its versions")
    history.current, history.next_child = current, {parent: child for parent, child in redo}
    return Project(history, str(manifest.get("checkpoint", "")))


def _version(
    entry: dict[str, Any], i: int, arrays: dict[str, np.ndarray], songs: list[str], history: History,
    model: Model | None,
) -> Version:  # fmt: skip
    parent = entry["parent"]
    if parent is not None and not _index(parent, i):
        raise ValueError(f"its parent must be an earlier version, not {parent!r}")
    song = entry["song"]
    if song is not None and not _index(song, len(songs)):
        raise ValueError(f"its song must be one of the project's {len(songs)} songs, not {song!r}")
    same_model = model is not None and entry["checkpoint"] == model[0]
    motion, codes = _motion(arrays, i), _codes(arrays, i, model[1:] if same_model else None)
    segments = tuple(Segment(float(a), float(b), str(text)) for a, b, text in entry["segments"])
    made = entry["made_by"]
    path = None if song is None else songs[song]
    if made["kind"] == "request":
        duration = made["duration"] if path is not None else (made["duration"] or motion.duration)
        request = Request(made["text"], song=path, seed=int(made["seed"]), duration=duration)
    elif made["kind"] == "edit":
        joints = tuple(int(j) for j in made["joints"])
        request = Edit(float(made["start"]), float(made["end"]), made["text"], joints, int(made["seed"]))
    else:
        raise ValueError(f"made_by kind must be 'request' or 'edit', not {made['kind']!r}")
    dance = Dance(
        motion, codes, segments, path, request, str(entry["checkpoint"]),
        history.versions[parent].dance if parent is not None and isinstance(request, Edit) else None,
        _number(entry.get("pose_distance")), tuple((float(a), float(b)) for a, b in entry.get("blends", [])),
        _number(entry.get("kept_error")),
    )  # fmt: skip
    return Version(dance, str(entry["label"]), parent)


def _motion(arrays: dict[str, np.ndarray], i: int) -> Motion:
    rotations, root = arrays.get(f"v{i}_rotations"), arrays.get(f"v{i}_root")
    if rotations is None or root is None:
        raise ValueError(f"versions.npz has no v{i}_rotations or v{i}_root")
    if rotations.dtype.kind != "f" or root.dtype.kind != "f" or len(rotations) < 1:
        raise ValueError("its motion must be floating-point rotations and root positions")
    if not (np.isfinite(rotations).all() and np.isfinite(root).all()):
        raise ValueError("its motion holds NaN or infinite values")
    return Motion(
        torch.from_numpy(rotations.astype(np.float32)), torch.from_numpy(root.astype(np.float32)), FPS
    )


def _codes(arrays: dict[str, np.ndarray], i: int, codebook: tuple[int, int] | None) -> torch.Tensor:
    codes = arrays.get(f"v{i}_codes")
    if codes is None or codes.ndim != 2 or codes.dtype.kind not in "iu":
        raise ValueError(f"versions.npz v{i}_codes must be integer tokens (L, Q)")
    if codebook is not None:
        quantizers, size = codebook
        if codes.shape[1] != quantizers or codes.min(initial=0) < 0 or codes.max(initial=0) >= size:
            raise ValueError(
                f"its tokens ({codes.shape[1]} per step) do not fit this model's {quantizers} codebooks of "
                f"{size} codes"
            )
    return torch.from_numpy(codes.astype(np.int64))


def _index(value: Any, count: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < count


def _number(value: Any) -> float | None:
    return None if value is None else float(value)
