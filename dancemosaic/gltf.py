"""Binary glTF 2.0 (GLB) export of a dance: an animated 24-joint skeleton with visible geometry.

One node per SMPL joint (translation = rest offset, children from ``skeleton.PARENTS``), one
animation with a rotation channel per joint (unit quaternions x, y, z, w) and a translation channel
for the pelvis, sampled at the dance's fps with LINEAR interpolation. glTF and the canonical skeleton
agree on axes (metres, +y up, the body faces +z, its left is +x), so no conversion is needed.
Viewers such as babylon.js show nodes only through meshes, so each joint node carries a small
sphere and an octahedral bone towards each child; nothing is skinned. Written with numpy,
struct and json alone.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import torch

from dancemosaic import rotation, skeleton
from dancemosaic.dance import Dance
from dancemosaic.motion import with_palms

GLB_MAGIC = 0x46546C67  # "glTF"
CHUNK_JSON = 0x4E4F534A  # "JSON"
CHUNK_BIN = 0x004E4942  # "BIN\0"
FLOAT, UINT16 = 5126, 5123  # accessor component types
ARRAY_BUFFER, ELEMENT_ARRAY_BUFFER = 34962, 34963  # buffer view targets
JOINT_RADIUS = 0.025  # m
JOINT_COLOUR = (0.95, 0.55, 0.15, 1.0)  # linear RGBA
BONE_COLOUR = (0.75, 0.80, 0.90, 1.0)


class _Buffer:
    """The BIN chunk under construction, with the buffer views and accessors that describe it."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.views: list[dict] = []
        self.accessors: list[dict] = []

    def add(self, array: np.ndarray, kind: str, target: int | None = None, bounds: bool = False) -> int:
        """Append ``array`` (float32 or uint16) 4-byte aligned; returns its accessor index."""
        array = np.ascontiguousarray(array)
        self.data.extend(b"\0" * (-len(self.data) % 4))  # every view starts on a 4-byte boundary
        view = {"buffer": 0, "byteOffset": len(self.data), "byteLength": array.nbytes}
        if target is not None:
            view["target"] = target
        self.data.extend(array.tobytes())
        self.views.append(view)
        count = array.shape[0]
        accessor = {"bufferView": len(self.views) - 1, "count": count, "type": kind}
        accessor["componentType"] = FLOAT if array.dtype == np.float32 else UINT16
        if bounds:
            flat = array.reshape(count, -1)
            accessor["min"], accessor["max"] = flat.min(0).tolist(), flat.max(0).tolist()
        self.accessors.append(accessor)
        return len(self.accessors) - 1

    def add_mesh_data(self, positions: np.ndarray, normals: np.ndarray, indices: np.ndarray) -> dict:
        """A primitive's attributes and indices (POSITION needs min/max, by the spec)."""
        return {
            "attributes": {
                "POSITION": self.add(positions.astype(np.float32), "VEC3", ARRAY_BUFFER, bounds=True),
                "NORMAL": self.add(normals.astype(np.float32), "VEC3", ARRAY_BUFFER),
            },
            "indices": self.add(indices.astype(np.uint16).ravel(), "SCALAR", ELEMENT_ARRAY_BUFFER),
        }


def sphere(radius: float, rings: int = 6, segments: int = 10) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A UV sphere: positions (V, 3), normals (V, 3), triangles (F, 3) counter-clockwise from outside."""
    theta = np.linspace(0.0, np.pi, rings + 1)[:, None]  # from +y down to -y
    phi = np.linspace(0.0, 2 * np.pi, segments + 1)[None, :]
    normals = np.stack(
        [np.sin(theta) * np.sin(phi), np.cos(theta) * np.ones_like(phi), np.sin(theta) * np.cos(phi)], -1
    ).reshape(-1, 3)
    row = segments + 1
    a = (np.arange(rings)[:, None] * row + np.arange(segments)[None, :]).ravel()
    quads = np.stack([a, a + row, a + row + 1, a + 1], -1).reshape(rings, segments, 4)
    # the first and last rings meet at a pole, where one triangle of each quad has no area
    triangles = np.concatenate([quads[:-1, :, [0, 1, 2]], quads[1:, :, [0, 2, 3]]]).reshape(-1, 3)
    return normals * radius, normals, triangles


def bone(offset: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """An octahedral bone from the origin to ``offset`` (3,), flat-shaded: positions, normals, triangles."""
    length = float(np.linalg.norm(offset))
    axis = offset / length
    helper = np.array([1.0, 0.0, 0.0]) if abs(axis[0]) < 0.9 else np.array([0.0, 0.0, 1.0])
    side = np.cross(axis, helper)
    side /= np.linalg.norm(side)
    up = np.cross(axis, side)
    width = np.clip(0.12 * length, 0.012, 0.035)
    ring = [0.15 * offset + width * (c * side + s * up) for c, s in ((1, 0), (0, 1), (-1, 0), (0, -1))]
    tip, base = offset, np.zeros(3)
    triangles = []
    for k in range(4):
        this, following = ring[k], ring[(k + 1) % 4]
        triangles += [(base, following, this), (this, following, tip)]
    corners = np.array(triangles)  # (8, 3, 3): duplicated vertices give each face its own normal
    normals = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    normals /= np.linalg.norm(normals, axis=-1, keepdims=True)
    return corners.reshape(-1, 3), np.repeat(normals, 3, axis=0), np.arange(24).reshape(8, 3)


def _merged(parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> tuple[np.ndarray, ...]:
    starts = np.cumsum([0] + [len(p[0]) for p in parts[:-1]])
    positions = np.concatenate([p[0] for p in parts])
    normals = np.concatenate([p[1] for p in parts])
    return positions, normals, np.concatenate([p[2] + s for p, s in zip(parts, starts, strict=True)])


def _meshes(buffer: _Buffer, offsets: np.ndarray) -> list[dict]:
    """One mesh per joint: the shared joint sphere, plus bones to its children in its own frame."""
    ball = {**buffer.add_mesh_data(*sphere(JOINT_RADIUS)), "material": 0}
    meshes = []
    for j, name in enumerate(skeleton.JOINT_NAMES):
        children = [c for c, p in enumerate(skeleton.PARENTS) if p == j]
        primitives = [ball]
        if children:
            bones = _merged([bone(offsets[c]) for c in children])
            primitives.append({**buffer.add_mesh_data(*bones), "material": 1})
        meshes.append({"name": name, "primitives": primitives})
    return meshes


def continuous_quaternions(matrices: np.ndarray) -> np.ndarray:
    """(T, J, 3, 3) rotation matrices -> (T, J, 4) unit quaternions (x, y, z, w) without sign flips.

    q and -q are the same rotation, but LINEAR interpolation between them passes through zero: each
    frame takes the sign closer to the previous frame's quaternion.
    """
    wxyz = rotation.matrix_to_quaternion(torch.as_tensor(matrices, dtype=torch.float64))
    quat = rotation.sign_continuous(wxyz).numpy()[..., [1, 2, 3, 0]]
    return quat / np.linalg.norm(quat, axis=-1, keepdims=True)


def _animation(buffer: _Buffer, dance: Dance) -> tuple[dict, np.ndarray, np.ndarray]:
    """The animation over the 24 joint nodes; also returns frame 0's root and quaternions."""
    motion = dance.motion
    times = (np.arange(motion.num_frames) / motion.fps).astype(np.float32)
    quats = continuous_quaternions(with_palms(motion.rotations).numpy()).astype(np.float32)  # (T, 24, 4)
    root = motion.root.numpy().astype(np.float32)  # (T, 3)
    time_accessor = buffer.add(times, "SCALAR", bounds=True)  # the spec requires input min/max
    samplers = [{"input": time_accessor, "output": buffer.add(root, "VEC3"), "interpolation": "LINEAR"}]
    channels = [{"sampler": 0, "target": {"node": 0, "path": "translation"}}]
    for j in range(skeleton.NUM_JOINTS):
        output = buffer.add(np.ascontiguousarray(quats[:, j]), "VEC4")
        samplers.append({"input": time_accessor, "output": output, "interpolation": "LINEAR"})
        channels.append({"sampler": j + 1, "target": {"node": j, "path": "rotation"}})
    return {"name": "dance", "samplers": samplers, "channels": channels}, root[0], quats[0]


def _nodes(offsets: np.ndarray, root: np.ndarray, quats: np.ndarray) -> list[dict]:
    """Joint nodes posed as frame 0, so a viewer that does not play the animation still shows a body."""
    nodes = []
    for j, name in enumerate(skeleton.JOINT_NAMES):
        node = {"name": name, "mesh": j, "rotation": quats[j].tolist()}
        node["translation"] = (root if j == 0 else offsets[j]).tolist()
        children = [c for c, p in enumerate(skeleton.PARENTS) if p == j]
        if children:
            node["children"] = children
        nodes.append(node)
    return nodes


def _material(name: str, colour: tuple[float, ...]) -> dict:
    pbr = {"baseColorFactor": list(colour), "metallicFactor": 0.0, "roughnessFactor": 0.6}
    return {"name": name, "pbrMetallicRoughness": pbr}


def gltf_document(dance: Dance) -> tuple[dict, bytes]:
    """The glTF JSON and its binary buffer for ``dance``."""
    if dance.motion.num_frames == 0:
        raise ValueError("the dance has no frames: there is nothing to export")
    offsets = skeleton.rest_offsets(torch.float64).numpy()
    buffer = _Buffer()
    meshes = _meshes(buffer, offsets)
    animation, root, quats = _animation(buffer, dance)
    document = {
        "asset": {"version": "2.0", "generator": "DanceMosaic Studio"},
        "scene": 0,
        "scenes": [{"name": "dance", "nodes": [0]}],
        "nodes": _nodes(offsets, root, quats),
        "meshes": meshes,
        "materials": [_material("joint", JOINT_COLOUR), _material("bone", BONE_COLOUR)],
        "animations": [animation],
        "accessors": buffer.accessors,
        "bufferViews": buffer.views,
        "buffers": [{"byteLength": len(buffer.data)}],
    }
    return document, bytes(buffer.data)


def _chunk(kind: int, payload: bytes, pad: bytes) -> bytes:
    payload += pad * (-len(payload) % 4)  # chunks are 4-byte aligned: JSON pads with spaces, BIN with zeros
    return struct.pack("<II", len(payload), kind) + payload


def write_glb(dance: Dance, path: str | Path) -> Path:
    """Write ``dance`` as a binary glTF 2.0 file (.glb) with one animation; returns the path."""
    path = Path(path)
    document, binary = gltf_document(dance)
    text = json.dumps(document, separators=(",", ":")).encode("utf-8")
    body = _chunk(CHUNK_JSON, text, b" ") + _chunk(CHUNK_BIN, binary, b"\0")
    path.write_bytes(struct.pack("<III", GLB_MAGIC, 2, 12 + len(body)) + body)
    return path
