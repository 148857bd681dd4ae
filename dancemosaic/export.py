"""Writing dances for other tools: npz (joints + SMPL parameters), BVH, GLB, SMPL pkl, JSON metadata.

``write`` picks the format from the file's suffix. SMPL parameters follow AIST++: ``smpl_poses``
(T, 72) axis-angle for 24 joints (palms identity), ``smpl_trans`` (T, 3) = pelvis position minus the
template's pelvis offset, ``smpl_scaling`` 1. Videos are ``render.video``'s job (it needs OpenGL).
"""

from __future__ import annotations

import json
import pickle
import pickletools
from collections.abc import Callable
from pathlib import Path

import numpy as np

from dancemosaic import gltf, mocap, rotation, skeleton
from dancemosaic.dance import Dance
from dancemosaic.motion import with_palms


def smpl_parameters(dance: Dance) -> dict[str, np.ndarray]:
    motion = dance.motion
    poses = rotation.matrix_to_axis_angle(with_palms(motion.rotations)).reshape(motion.num_frames, 72)
    trans = motion.root - skeleton.rest_offsets()[0]
    return {"smpl_poses": poses.numpy(), "smpl_trans": trans.numpy(), "smpl_scaling": np.ones(1, np.float32)}


def metadata(dance: Dance) -> dict:
    """What the JSON export holds. The song by its file name only: its full path is the server's
    (a temporary folder in the studio), meaningless to the reader and not theirs to know."""
    return {
        "duration": dance.duration,
        "fps": dance.motion.fps,
        "song": Path(dance.song).name if dance.song else None,
        "checkpoint": dance.checkpoint,
        "segments": [{"start": s.start, "end": s.end, "text": s.text} for s in dance.segments],
        "pose_distance": dance.pose_distance,
        "blends": [list(zone) for zone in dance.blends],  # seconds where the last edit joins the old motion
        "kept_error": dance.kept_error,  # metres: the kept joints' measured world-space error
    }


def write_npz(dance: Dance, path: str | Path) -> Path:
    """joints (T, 24, 3) metres y up, fps, SMPL parameters and the token codes."""
    path = Path(path)
    np.savez(path, joints=dance.joints().astype(np.float32), fps=np.float32(dance.motion.fps),
             codes=dance.codes.numpy(), **smpl_parameters(dance))  # fmt: skip
    return path


def write_json(dance: Dance, path: str | Path) -> Path:
    """The dance's metadata (duration, fps, song, checkpoint, segments)."""
    path = Path(path)
    path.write_text(json.dumps(metadata(dance), indent=2))
    return path


def write_bvh(dance: Dance, path: str | Path) -> Path:
    """The motion on the canonical skeleton as BVH (see ``mocap.export_bvh``)."""
    return mocap.export_bvh(dance.motion, path)


def write_pkl(dance: Dance, path: str | Path) -> Path:
    """An AIST++/EDGE motion pickle: smpl_poses (T, 72), smpl_trans (T, 3), smpl_scaling (1,) and
    full_pose (T, 24, 3) joint positions in metres, all float32, at the dance's fps (30, as EDGE
    writes; AIST++'s own files are 60 fps)."""
    path = Path(path)
    data = {key: value.astype(np.float32) for key, value in smpl_parameters(dance).items()}
    data["full_pose"] = dance.joints().astype(np.float32)
    # protocol 2 and numpy 1 names: readable by the numpy 1.x (even Python 2) setups of AIST++ and EDGE
    path.write_bytes(_numpy1_names(pickle.dumps(data, protocol=2)))
    return path


def _numpy1_names(data: bytes) -> bytes:
    """Rename numpy 2's ``numpy._core.*`` loaders in a protocol-2 pickle to ``numpy.core.*``.

    numpy < 1.26 has no ``numpy._core`` and cannot load numpy 2's pickles (numpy/numpy#28340);
    numpy 2 still loads the old names. GLOBAL opcodes are newline-terminated text, so a rename
    needs no length fix-ups; array bytes are never touched.
    """
    pieces, last = [], 0
    for opcode, arg, pos in pickletools.genops(data):
        if opcode.name == "GLOBAL" and arg.startswith("numpy._core."):
            module, name = arg.split(" ")
            renamed = module.replace("numpy._core.", "numpy.core.", 1)
            pieces += [data[last:pos], f"c{renamed}\n{name}\n".encode()]
            last = pos + len(f"c{module}\n{name}\n")
    return b"".join(pieces) + data[last:]


WRITERS: dict[str, Callable[[Dance, str | Path], Path]] = {
    ".bvh": write_bvh,
    ".glb": gltf.write_glb,
    ".json": write_json,
    ".npz": write_npz,
    ".pkl": write_pkl,
}


def write(dance: Dance, path: str | Path) -> Path:
    """Write ``dance`` in the format its suffix names (.bvh, .glb, .json, .npz, .pkl); returns the path."""
    path = Path(path)
    writer = WRITERS.get(path.suffix.lower())
    if writer is None:
        supported = ", ".join(WRITERS)
        raise ValueError(
            f"cannot export {path.name!r}: use one of the suffixes {supported} (videos: render.video, .mp4)"
        )
    return writer(dance, path)


def write_all(
    dance: Dance, folder: str | Path, stem: str = "dance", formats: tuple[str, ...] = ("npz", "bvh", "json")
) -> list[Path]:
    """``stem.<format>`` for each of ``formats`` side by side in ``folder``, in that order."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return [write(dance, folder / f"{stem}.{fmt.lstrip('.')}") for fmt in formats]
