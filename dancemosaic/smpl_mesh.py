"""The user's own SMPL body model as a skinned mesh for the studio's player.

SMPL's licence forbids shipping the model, so the studio draws a mannequin unless the user points
it to their copy (``python app.py --smpl-model SMPL_NEUTRAL.npz``). The file is read without
pickle's code execution: ``.npz`` with ``allow_pickle=False``, ``.pkl`` through the numpy-only
unpickler (official ``.pkl`` files that hold chumpy or scipy objects must be converted to ``.npz``
first; the error says how). ``smplx`` builds the body from the arrays, so the rest mesh and joints
are exactly what smplx computes for the mean shape; the player then skins it with the dance's
local joint rotations (linear blend skinning, the four strongest bone weights per vertex).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from dancemosaic import rotation
from dancemosaic.datasets.aistpp import safe_unpickle
from dancemosaic.skeleton import NUM_JOINTS, PARENTS

KEYS = ("v_template", "f", "weights", "J_regressor", "kintree_table", "shapedirs", "posedirs")
CONVERT_HINT = (
    'convert it once to .npz on your machine: python -c "import pickle, numpy as np, sys; '
    "d = pickle.load(open(sys.argv[1], 'rb'), encoding='latin1'); "
    "np.savez(sys.argv[2], **{k: np.asarray(d[k].toarray() if hasattr(d[k], 'toarray') else d[k]) "
    "for k in ('v_template', 'f', 'weights', 'J_regressor', 'kintree_table', 'shapedirs', 'posedirs')})\" "
    "SMPL_NEUTRAL.pkl SMPL_NEUTRAL.npz"
)
SKIN_INFLUENCES = 4  # three.js skins with four bones per vertex


@dataclass(frozen=True, eq=False)
class SmplMesh:
    vertices: np.ndarray  # (V, 3) float32 rest mesh, mean shape, metres, y up
    faces: np.ndarray  # (F, 3) uint32
    joints: np.ndarray  # (24, 3) float32 rest joint positions
    skin_index: np.ndarray  # (V, 4) uint16 bone indices
    skin_weight: np.ndarray  # (V, 4) float32, rows sum to 1


def _read_arrays(path: Path) -> dict[str, np.ndarray]:
    if path.suffix == ".npz":
        try:
            with np.load(path, allow_pickle=False) as data:
                return {key: data[key] for key in data.files}
        except ValueError as err:
            raise ValueError(
                f"{path.name} holds Python objects, which are not loaded; {CONVERT_HINT}"
            ) from err
    if path.suffix == ".pkl":
        try:
            data = safe_unpickle(path)
        except ValueError as err:
            raise ValueError(f"{path.name} holds more than numpy arrays ({err}); {CONVERT_HINT}") from err
        if not isinstance(data, dict):
            raise ValueError(f"{path.name} is not an SMPL model file (it holds a {type(data).__name__})")
        return data
    raise ValueError(f"{path.name}: give an SMPL model file (.npz or .pkl)")


def smplx_body(arrays: dict[str, np.ndarray], batch_size: int = 1) -> torch.nn.Module:
    """An ``smplx.SMPL`` body built from the model's arrays (never from a file smplx would unpickle)."""
    import smplx  # only needed when the user has a model file
    from smplx.utils import Struct
    from smplx.vertex_ids import vertex_ids

    # smplx adds face and foot keypoints picked by vertex id; we only use the 24 joints, so point
    # them all at vertex 0 (valid for any mesh size).
    no_extras = {name: 0 for name in vertex_ids["smplh"]}
    struct = Struct(**{key: np.asarray(arrays[key]) for key in KEYS})
    return smplx.SMPL(model_path="", data_struct=struct, vertex_ids=no_extras, batch_size=batch_size)


def load_smpl_mesh(path: str | Path) -> SmplMesh:
    """Read an SMPL model file and build its rest mesh with smplx; ValueError when it isn't one."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"SMPL model file not found: {path}")
    data = _read_arrays(path)
    missing = [key for key in KEYS if key not in data]
    if missing or np.shape(data["v_template"])[1:] != (3,) or np.shape(data["weights"])[1] != NUM_JOINTS:
        what = f"missing {', '.join(missing)}" if missing else "wrong array shapes"
        raise ValueError(f"{path.name} is not a 24-joint SMPL model file ({what})")
    body = smplx_body(data)
    with torch.no_grad():
        rest = body(return_verts=True)
    order = np.argsort(-body.lbs_weights.numpy(), axis=1)[:, :SKIN_INFLUENCES]
    weights = np.take_along_axis(body.lbs_weights.numpy(), order, axis=1)
    return SmplMesh(
        vertices=rest.vertices[0].numpy().astype(np.float32),
        faces=np.asarray(body.faces, dtype=np.uint32),
        joints=rest.joints[0, :NUM_JOINTS].numpy().astype(np.float32),
        skin_index=order.astype(np.uint16),
        skin_weight=(weights / weights.sum(axis=1, keepdims=True)).astype(np.float32),
    )


def _b64(array: np.ndarray, dtype: str) -> str:
    return base64.b64encode(np.ascontiguousarray(array, dtype=dtype).tobytes()).decode("ascii")


def mesh_payload(mesh: SmplMesh) -> dict:
    """The mesh for the player, sent once per page (little-endian binary in base64)."""
    return {
        "vertices": _b64(mesh.vertices, "<f4"),
        "faces": _b64(mesh.faces, "<u4"),
        "skin_index": _b64(mesh.skin_index, "<u2"),
        "skin_weight": _b64(mesh.skin_weight, "<f4"),
        "joints": mesh.joints.round(5).tolist(),
        "parents": list(PARENTS),
    }


def rotations_payload(local_rotations: torch.Tensor) -> str:
    """(T, 24, 3, 3) local joint rotations -> base64 int16 quaternions (x, y, z, w) x 32767."""
    quat = rotation.matrix_to_quaternion(local_rotations)  # (T, 24, 4) w, x, y, z
    xyzw = torch.cat([quat[..., 1:], quat[..., :1]], dim=-1).numpy()
    return _b64(np.round(xyzw * 32767.0), "<i2")


def skin(mesh: SmplMesh, local_rotations: np.ndarray, root: np.ndarray) -> np.ndarray:
    """(T, 24, 3, 3) local rotations and (T, 3) pelvis positions -> (T, V, 3) skinned vertices.

    The same linear blend skinning the player does with three.js, kept here so tests can check
    the data we send against smplx's own forward pass."""
    t = len(local_rotations)
    world = np.zeros((t, NUM_JOINTS, 4, 4), np.float32)
    offsets = mesh.joints - np.where(
        np.array(PARENTS)[:, None] >= 0, mesh.joints[list(np.maximum(PARENTS, 0))], 0
    )
    for j, parent in enumerate(PARENTS):
        local = np.zeros((t, 4, 4), np.float32)
        local[:, :3, :3], local[:, 3, 3] = local_rotations[:, j], 1.0
        local[:, :3, 3] = root if parent < 0 else offsets[j]
        world[:, j] = local if parent < 0 else world[:, parent] @ local
    bind = np.eye(4, dtype=np.float32)[None].repeat(NUM_JOINTS, 0)
    bind[:, :3, 3] = -mesh.joints  # inverse bind matrices: rest pose has identity rotations
    skinning = world @ bind  # (T, 24, 4, 4)
    homogeneous = np.concatenate([mesh.vertices, np.ones((len(mesh.vertices), 1), np.float32)], axis=1)
    per_bone = np.einsum("tjab,vb->tvja", skinning[:, :, :3], homogeneous)  # (T, V, 24, 3)
    chosen = np.take_along_axis(per_bone, mesh.skin_index.astype(np.int64)[None, :, :, None], axis=2)
    return (chosen * mesh.skin_weight[None, :, :, None]).sum(axis=2)
