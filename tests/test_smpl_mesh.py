"""A user's SMPL model file: read safely, built with smplx, skinned as the player skins it."""

from __future__ import annotations

import base64
import pickle

import numpy as np
import pytest
import torch

from dancemosaic import rotation, skeleton
from dancemosaic.smpl_mesh import load_smpl_mesh, mesh_payload, rotations_payload, skin, smplx_body

CUBE = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], np.float32) * 0.02


@pytest.fixture
def model_arrays() -> dict[str, np.ndarray]:
    """A stand-in SMPL model (the real one can't ship): a small cube of vertices at every joint,
    each vertex weighted 70/30 between its joint and the joint's parent, no blend shapes."""
    joints = skeleton.rest_pose_joints().numpy()
    vertices = (joints[:, None] + CUBE[None]).reshape(-1, 3)
    owner = np.repeat(np.arange(24), 8)
    weights = np.zeros((len(vertices), 24), np.float32)
    weights[np.arange(len(vertices)), owner] = 0.7
    parents = np.maximum(np.array(skeleton.PARENTS), 0)[owner]
    weights[np.arange(len(vertices)), parents] += 0.3
    regressor = np.zeros((24, len(vertices)), np.float32)
    regressor[owner, np.arange(len(vertices))] = 1.0 / 8
    kintree = np.stack([np.array(skeleton.PARENTS, np.int64) % 2**32, np.arange(24)])
    return {
        "v_template": vertices, "f": np.arange(len(vertices) // 3 * 3).reshape(-1, 3), "weights": weights,
        "J_regressor": regressor, "kintree_table": kintree,
        "shapedirs": np.zeros((len(vertices), 3, 10), np.float32),
        "posedirs": np.zeros((len(vertices), 3, 207), np.float32),
    }  # fmt: skip


def test_the_players_skinning_matches_smplx(model_arrays, tmp_path, make_motion):
    np.savez(tmp_path / "SMPL_NEUTRAL.npz", **model_arrays)
    mesh = load_smpl_mesh(tmp_path / "SMPL_NEUTRAL.npz")
    assert np.allclose(mesh.joints, skeleton.rest_pose_joints().numpy(), atol=1e-5)
    motion = make_motion(frames=4)
    local = torch.cat([motion.rotations, torch.eye(3).expand(4, 2, 3, 3)], dim=1)  # palms: identity
    ours = skin(mesh, local.numpy(), motion.root.numpy())
    body = smplx_body(model_arrays, batch_size=4)
    axis_angle = rotation.matrix_to_axis_angle(local)
    with torch.no_grad():
        theirs = body(global_orient=axis_angle[:, 0], body_pose=axis_angle[:, 1:].reshape(4, 69),
                      transl=motion.root - torch.from_numpy(mesh.joints[0])).vertices  # fmt: skip
    assert np.abs(ours - theirs.numpy()).max() < 1e-4


def test_the_payload_carries_the_mesh_and_unit_quaternions(model_arrays, tmp_path, make_motion):
    np.savez(tmp_path / "model.npz", **model_arrays)
    payload = mesh_payload(load_smpl_mesh(tmp_path / "model.npz"))
    assert len(base64.b64decode(payload["vertices"])) == 24 * 8 * 3 * 4 and len(payload["joints"]) == 24
    weights = np.frombuffer(base64.b64decode(payload["skin_weight"]), "<f4").reshape(-1, 4)
    assert np.allclose(weights.sum(axis=1), 1.0, atol=1e-6)
    motion = make_motion(frames=3)
    quats = np.frombuffer(base64.b64decode(rotations_payload(motion.rotations)), "<i2").reshape(3, 22, 4)
    assert np.allclose(np.linalg.norm(quats / 32767.0, axis=-1), 1.0, atol=1e-3)


def test_unsafe_or_wrong_model_files_are_refused_with_a_way_out(model_arrays, tmp_path):
    with open(tmp_path / "evil.pkl", "wb") as handle:
        pickle.dump({"v_template": object()}, handle)
    with pytest.raises(ValueError, match="convert it once to .npz"):
        load_smpl_mesh(tmp_path / "evil.pkl")
    np.savez(tmp_path / "partial.npz", v_template=model_arrays["v_template"])
    with pytest.raises(ValueError, match="not a 24-joint SMPL model"):
        load_smpl_mesh(tmp_path / "partial.npz")
    with pytest.raises(ValueError, match="not found"):
        load_smpl_mesh(tmp_path / "missing.npz")
