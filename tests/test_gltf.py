"""GLB export: the container is valid glTF 2.0 and its animated nodes reproduce the dance's joints."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest

from dancemosaic import gltf, skeleton
from dancemosaic.dance import Request
from dancemosaic.sampling import SamplingOptions

COMPONENTS = {"SCALAR": 1, "VEC3": 3, "VEC4": 4}
DTYPES = {5126: np.float32, 5123: np.uint16}


@pytest.fixture(scope="module")
def dance(engine):
    return engine.generate(Request("a person dances", duration=2.0, seed=0), SamplingOptions(steps=2))


@pytest.fixture(scope="module")
def glb(dance, tmp_path_factory):
    return gltf.write_glb(dance, tmp_path_factory.mktemp("glb") / "dance.glb")


def read_glb(path) -> tuple[dict, bytes]:
    """Parse a GLB by the spec: 12-byte header, then a JSON chunk and a BIN chunk, 4-byte aligned."""
    data = path.read_bytes()
    magic, version, length = struct.unpack_from("<III", data)
    assert (magic, version, length) == (gltf.GLB_MAGIC, 2, len(data))
    json_length, json_kind = struct.unpack_from("<II", data, 12)
    assert json_kind == gltf.CHUNK_JSON and json_length % 4 == 0
    document = json.loads(data[20 : 20 + json_length])
    bin_start = 20 + json_length
    bin_length, bin_kind = struct.unpack_from("<II", data, bin_start)
    assert bin_kind == gltf.CHUNK_BIN and bin_length % 4 == 0 and bin_start + 8 + bin_length == len(data)
    assert document["buffers"][0]["byteLength"] <= bin_length
    return document, data[bin_start + 8 : bin_start + 8 + bin_length]


def accessor(document: dict, binary: bytes, index: int) -> np.ndarray:
    spec = document["accessors"][index]
    view = document["bufferViews"][spec["bufferView"]]
    dtype = np.dtype(DTYPES[spec["componentType"]])
    start = view["byteOffset"] + spec.get("byteOffset", 0)
    assert start % dtype.itemsize == 0 and start % 4 == 0
    array = np.frombuffer(binary, dtype, spec["count"] * COMPONENTS[spec["type"]], start)
    return array.reshape(spec["count"], -1)


def quaternion_matrix(q: np.ndarray) -> np.ndarray:
    """(..., 4) x, y, z, w -> (..., 3, 3), written out independently of dancemosaic.rotation."""
    x, y, z, w = np.moveaxis(q, -1, 0)
    rows = [
        1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
        2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
        2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
    ]  # fmt: skip
    return np.stack(rows, -1).reshape(q.shape[:-1] + (3, 3))


def node_positions(document: dict, translations: dict, rotations: dict) -> np.ndarray:
    """World positions of the scene's nodes, walking the node tree from the scene root."""
    positions = {}

    def visit(node: int, parent_rotation: np.ndarray, parent_position: np.ndarray) -> None:
        spec = document["nodes"][node]
        local = np.asarray(translations.get(node, spec.get("translation", [0, 0, 0])))
        quat = np.asarray(rotations.get(node, spec.get("rotation", [0, 0, 0, 1])))
        positions[node] = parent_position + parent_rotation @ local
        rot = parent_rotation @ quaternion_matrix(quat)
        for child in spec.get("children", []):
            visit(child, rot, positions[node])

    for root in document["scenes"][document["scene"]]["nodes"]:
        visit(root, np.eye(3), np.zeros(3))
    return np.stack([positions[j] for j in range(skeleton.NUM_JOINTS)])


def test_glb_container_and_skeleton(glb):
    document, _ = read_glb(glb)
    assert document["asset"]["version"] == "2.0"
    nodes = document["nodes"]
    assert [n["name"] for n in nodes[: skeleton.NUM_JOINTS]] == list(skeleton.JOINT_NAMES)
    for j, parent in enumerate(skeleton.PARENTS[1:], start=1):
        assert j in nodes[parent]["children"]
        np.testing.assert_allclose(nodes[j]["translation"], skeleton.REST_OFFSETS[j], atol=1e-6)
    for view in document["bufferViews"]:
        assert view["byteOffset"] % 4 == 0
    for mesh in document["meshes"]:  # visible geometry on every joint; POSITION has its bounds
        for primitive in mesh["primitives"]:
            position = document["accessors"][primitive["attributes"]["POSITION"]]
            assert "min" in position and "max" in position and "material" in primitive
    assert all("mesh" in n for n in nodes[: skeleton.NUM_JOINTS])


def test_animation_reproduces_the_joints(dance, glb):
    document, binary = read_glb(glb)
    (animation,) = document["animations"]
    samplers = animation["samplers"]
    times = accessor(document, binary, samplers[0]["input"])[:, 0]
    frames = dance.motion.num_frames
    np.testing.assert_allclose(times, np.arange(frames) / dance.motion.fps, atol=1e-6)
    time_spec = document["accessors"][samplers[0]["input"]]
    assert time_spec["min"] == [0.0] and time_spec["max"][0] == pytest.approx(times[-1])
    assert {s["interpolation"] for s in samplers} == {"LINEAR"}
    outputs = {}
    for channel in animation["channels"]:
        target = channel["target"]
        outputs[target["node"], target["path"]] = accessor(
            document, binary, samplers[channel["sampler"]]["output"]
        )
    assert sorted(n for n, p in outputs if p == "rotation") == list(range(skeleton.NUM_JOINTS))
    quats = np.stack([outputs[j, "rotation"] for j in range(skeleton.NUM_JOINTS)], 1)  # (T, 24, 4)
    np.testing.assert_allclose(np.linalg.norm(quats, axis=-1), 1.0, atol=1e-5)
    assert (np.sum(quats[1:] * quats[:-1], axis=-1) >= 0).all()  # no sign flips between frames
    joints = dance.joints()
    for frame in (0, frames // 2, frames - 1):
        rotations = {j: quats[frame, j] for j in range(skeleton.NUM_JOINTS)}
        positions = node_positions(document, {0: outputs[0, "translation"][frame]}, rotations)
        np.testing.assert_allclose(positions, joints[frame], atol=1e-4)


def test_continuous_quaternions_remove_sign_flips():
    angles = np.linspace(0, 4 * np.pi, 50)  # two full turns: matrix_to_quaternion flips w >= 0 twice
    c, s = np.cos(angles), np.sin(angles)
    matrices = np.zeros((50, 1, 3, 3))
    matrices[:, 0] = np.stack([c, -s, 0 * c, s, c, 0 * c, 0 * c, 0 * c, 1 + 0 * c], -1).reshape(50, 3, 3)
    quats = gltf.continuous_quaternions(matrices)
    assert (np.sum(quats[1:] * quats[:-1], axis=-1) > 0.9).all()
    np.testing.assert_allclose(quaternion_matrix(quats), matrices, atol=1e-9)


def test_trimesh_reads_the_rest_pose(dance, glb):
    """An independent reader (trimesh, installed with pyrender) finds the meshes and frame 0's pose."""
    trimesh = pytest.importorskip("trimesh", reason="trimesh comes with pyrender (the video extra)")
    scene = trimesh.load(glb, force="scene")
    assert len(scene.geometry) > 0 and not scene.is_empty
    positions = np.stack([scene.graph.get(name)[0][:3, 3] for name in skeleton.JOINT_NAMES])
    np.testing.assert_allclose(positions, dance.joints()[0], atol=1e-4)
