"""Writing dances for other tools: npz (joints + SMPL parameters), BVH, JSON metadata.

SMPL parameters follow AIST++: ``smpl_poses`` (T, 72) axis-angle for 24 joints (palms identity),
``smpl_trans`` (T, 3) = pelvis position minus the template's pelvis offset, ``smpl_scaling`` 1.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from dancemosaic import mocap, rotation, skeleton
from dancemosaic.dance import Dance
from dancemosaic.motion import with_palms


def smpl_parameters(dance: Dance) -> dict[str, np.ndarray]:
    motion = dance.motion
    poses = rotation.matrix_to_axis_angle(with_palms(motion.rotations)).reshape(motion.num_frames, 72)
    trans = motion.root - skeleton.rest_offsets()[0]
    return {"smpl_poses": poses.numpy(), "smpl_trans": trans.numpy(), "smpl_scaling": np.ones(1, np.float32)}


def metadata(dance: Dance) -> dict:
    return {
        "duration": dance.duration,
        "fps": dance.motion.fps,
        "song": dance.song,
        "checkpoint": dance.checkpoint,
        "segments": [{"start": s.start, "end": s.end, "text": s.text} for s in dance.segments],
        "pose_distance": dance.pose_distance,
    }


def write_npz(dance: Dance, path: str | Path) -> Path:
    """joints (T, 24, 3) metres y up, fps, SMPL parameters and the token codes."""
    path = Path(path)
    np.savez(path, joints=dance.joints().astype(np.float32), fps=np.float32(dance.motion.fps),
             codes=dance.codes.numpy(), **smpl_parameters(dance))  # fmt: skip
    return path


def write_all(dance: Dance, folder: str | Path, stem: str = "dance") -> list[Path]:
    """npz, BVH and JSON side by side in ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{stem}.json").write_text(json.dumps(metadata(dance), indent=2))
    return [
        write_npz(dance, folder / f"{stem}.npz"),
        mocap.export_bvh(dance.motion, folder / f"{stem}.bvh"),
        folder / f"{stem}.json",
    ]
