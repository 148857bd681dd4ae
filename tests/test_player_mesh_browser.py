"""The player draws the user's SMPL body (a three.js SkinnedMesh) when the payload carries one.

The real SMPL model can't ship, so a stand-in is built as in test_smpl_mesh.py: a small box of
vertices at every rest joint weighted 70/30 between the joint and its parent, plus a box along every
bone (so the screenshot looks like a figure), with faces wound outwards. The browser skins it with
the payload's quaternions and the result must match ``smpl_mesh.skin`` (the numpy reference that is
checked against smplx) within a millimetre. A mesh URL that fails keeps the mannequin, quietly.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch

from dancemosaic import percussion, rotation, skeleton
from dancemosaic.smpl_mesh import SmplMesh, load_smpl_mesh, mesh_payload, rotations_payload, skin
from dancemosaic.timing import FPS, SAMPLE_RATE, seconds_to_frames
from tests.browser import (
    open_page,
    screenshot,
    static_server,
)

pytest.importorskip("smplx")

STATIC = Path(__file__).resolve().parents[1] / "dancemosaic" / "studio" / "static"
SECONDS = 2.0
LEFT_WRIST = skeleton.JOINT_INDEX["left_wrist"]
KEPT = [skeleton.JOINT_INDEX[n] for n in ("left_shoulder", "left_elbow", "left_wrist", "left_hand")]
ROOT = "document.querySelector('#player')"
RESOURCES = "performance.getEntriesByType('resource').map((e) => e.name)"
CORNERS = np.array([[x, y, z] for x in (0, 1) for y in (0, 1) for z in (0, 1)])  # bit k: axis k


def box_faces(corners: np.ndarray) -> np.ndarray:
    """(12, 3) triangles over 8 box corners (indexed as CORNERS), wound counter-clockwise outside."""
    faces = []
    for axis in range(3):
        a, b = [k for k in range(3) if k != axis]
        for side in (0, 1):
            ring = []
            for u, v in ((0, 0), (1, 0), (1, 1), (0, 1)):
                bits = np.zeros(3, int)
                bits[[axis, a, b]] = side, u, v
                ring.append(int(np.flatnonzero((bits == CORNERS).all(axis=1))[0]))
            faces += [[ring[0], ring[1], ring[2]], [ring[0], ring[2], ring[3]]]
    faces = np.array(faces)
    centre = corners.mean(axis=0)
    tri = corners[faces]
    normal = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    inward = ((tri.mean(axis=1) - centre) * normal).sum(axis=1) < 0
    faces[inward] = faces[inward][:, ::-1]
    return faces


def model_arrays() -> dict[str, np.ndarray]:
    """A stand-in SMPL model: a 5 cm box at every joint (70/30 joint/parent, which also regresses
    the joint) and a 5 cm thick box along every bone (bound to the bone's parent joint)."""
    joints = skeleton.rest_pose_joints().numpy()
    parents = np.array(skeleton.PARENTS)
    vertices, faces, weights, owners = [], [], [], []

    def add_box(corners: np.ndarray, corner_weights: np.ndarray, owner: int) -> None:
        faces.append(box_faces(corners) + 8 * len(vertices))
        vertices.append(corners)
        weights.append(corner_weights)
        owners.append(owner)

    for j, centre in enumerate(joints):
        w = np.zeros((8, 24), np.float32)
        w[:, j] = 0.7
        w[:, max(parents[j], 0)] += 0.3
        add_box(centre + (CORNERS - 0.5) * 0.05, w, j)
    for child in range(1, 24):
        bone = parents[child]
        start, end = joints[bone], joints[child]
        along = (end - start) / np.linalg.norm(end - start)
        side = np.cross(along, [0.0, 0.0, 1.0] if abs(along[2]) < 0.9 else [1.0, 0.0, 0.0])
        side /= np.linalg.norm(side)
        up = np.cross(along, side)  # (side, up, along) is right-handed
        offsets = (CORNERS[:, :1] - 0.5) * 0.05 * side + (CORNERS[:, 1:2] - 0.5) * 0.05 * up
        corners = np.where(CORNERS[:, 2:] == 1, end, start) + offsets
        w = np.zeros((8, 24), np.float32)
        w[:, bone] = 0.7
        w[:, max(parents[bone], 0)] += np.where(CORNERS[:, 2] == 0, 0.3, 0.0)  # near the parent joint
        w[:, child] += np.where(CORNERS[:, 2] == 1, 0.3, 0.0)  # near the child joint
        add_box(corners, w, -1)
    vertices, weights = np.concatenate(vertices).astype(np.float32), np.concatenate(weights)
    regressor = np.zeros((24, len(vertices)), np.float32)
    for box, owner in enumerate(owners):
        if owner >= 0:
            regressor[owner, 8 * box : 8 * box + 8] = 1.0 / 8
    kintree = np.stack([parents.astype(np.int64) % 2**32, np.arange(24)])
    return {
        "v_template": vertices, "f": np.concatenate(faces), "weights": weights,
        "J_regressor": regressor, "kintree_table": kintree,
        "shapedirs": np.zeros((len(vertices), 3, 10), np.float32),
        "posedirs": np.zeros((len(vertices), 3, 207), np.float32),
    }  # fmt: skip


def motion(frames: int) -> tuple[np.ndarray, np.ndarray]:
    """(T, 24, 3, 3) local rotations and (T, 3) pelvis positions (whole millimetres, as the payload
    carries them): turned and leaning a little, the left arm rising, the right elbow bending."""
    t = torch.arange(frames) / FPS
    axis_angle = torch.zeros(frames, skeleton.NUM_JOINTS, 3)
    axis_angle[:, 0, 1] = 0.4  # the pelvis turns to the dancer's left
    axis_angle[:, skeleton.JOINT_INDEX["spine2"], 0] = 0.2  # a slight forward lean
    axis_angle[:, skeleton.JOINT_INDEX["left_shoulder"], 2] = 1.2 * t / SECONDS  # the arm rises
    axis_angle[:, skeleton.JOINT_INDEX["right_elbow"], 1] = -1.0 * t / SECONDS
    axis_angle[:, skeleton.JOINT_INDEX["left_knee"], 0] = 0.5 * torch.sin(math.pi * t)
    rest = skeleton.rest_pose_joints()
    height = float(rest[0, 1] - rest[:, 1].min())
    root = np.stack([0.2 * np.sin(np.pi * t.numpy()), np.full(frames, height), np.zeros(frames)], axis=-1)
    return rotation.axis_angle_to_matrix(axis_angle).numpy(), np.round(root * 1000) / 1000


def make_payload(local: np.ndarray, root: np.ndarray, mesh: str, audio: str) -> dict:
    positions, _ = skeleton.forward_kinematics(torch.from_numpy(local), torch.from_numpy(root).float())
    millimetres = np.round(positions.numpy() * 1000).astype("<i2")
    return {
        "version": 1, "id": "v1", "fps": FPS, "frames": len(local), "joints": skeleton.NUM_JOINTS,
        "names": list(skeleton.JOINT_NAMES), "parents": list(skeleton.PARENTS),
        "positions": base64.b64encode(millimetres.tobytes()).decode("ascii"),
        "audio": audio, "duration": SECONDS, "beats": [], "segments": [], "selection": [],
        "kept_joints": KEPT, "mesh": mesh, "rotations": rotations_payload(torch.from_numpy(local)),
    }  # fmt: skip


@pytest.fixture(scope="module")
def scene(tmp_path_factory) -> Iterator[tuple[str, SmplMesh, np.ndarray, np.ndarray]]:
    """(base URL, the stand-in mesh, local rotations, pelvis positions); the static folder at / and
    the song, mesh and payloads at /data/."""
    data = tmp_path_factory.mktemp("player-mesh")
    np.savez(data / "SMPL_NEUTRAL.npz", **model_arrays())
    mesh = load_smpl_mesh(data / "SMPL_NEUTRAL.npz")
    (data / "mesh.json").write_text(json.dumps(mesh_payload(mesh)))
    audio, _ = percussion.synthesize(120.0, SECONDS)
    soundfile.write(data / "song.wav", audio, SAMPLE_RATE)
    local, root = motion(seconds_to_frames(SECONDS))
    for name, mesh_url in (("payload.json", "data/mesh.json"), ("no-mesh.json", "data/no-such-mesh.json")):
        (data / name).write_text(json.dumps(make_payload(local, root, mesh_url, "data/song.wav")))
    with static_server({"/": STATIC, "/data/": data}) as base:
        yield base, mesh, local, root


def open_player(browser, site: str, payload: str):
    """Context manager: the harness page showing a payload from /data/."""
    return open_page(browser, f"{site}/harness.html?payload=/data/{payload}", width=1000, height=700)


def body_vertices(page, count: int) -> np.ndarray:
    """(count, 3) world positions of the body's first vertices, as three.js skins them."""
    script = """(n) => Array.from({length: n}, (_, i) => {
        const v = window.player.bodyVertex(i);
        return [v.x, v.y, v.z];
    })"""
    return np.array(page.evaluate(script, count))


def mesh_fetches(page) -> int:
    return len([url for url in page.evaluate(RESOURCES) if url.endswith("/mesh.json")])


def test_the_body_is_skinned_as_the_reference(scene, webgl_browser):
    base, mesh, local, root = scene
    with open_player(webgl_browser, base, "payload.json") as (page, errors):
        page.wait_for_function(f"{ROOT}.dataset.ready === '1' && window.player.state().body", timeout=10_000)
        state = page.evaluate("window.player.state()")
        assert state["webgl"] is True and state["body"] is True
        reference = skin(mesh, local, root)
        count = len(mesh.vertices)
        assert np.abs(body_vertices(page, count) - reference[0]).max() < 1e-3

        page.wait_for_function(f"{ROOT}.querySelector('audio').readyState >= 2", timeout=10_000)
        page.evaluate(f"{ROOT}.querySelector('audio').currentTime = 1.5")  # the arm is well up
        page.wait_for_function(f"{ROOT}.dataset.frame === '45'")
        assert np.abs(body_vertices(page, count) - reference[45]).max() < 1e-3

        # Joints stay clickable over the body (no follow: the camera stays put).
        page.locator(".dm-follow input").uncheck()
        page.wait_for_timeout(100)
        point = page.evaluate(f"window.player.jointScreenPosition({LEFT_WRIST})")
        page.mouse.click(point["x"], point["y"])
        joint_events = page.evaluate("window.events.filter((e) => e.type === 'joint')")
        assert joint_events == [{"type": "joint", "index": LEFT_WRIST, "name": "left_wrist"}]
        page.wait_for_timeout(200)
        screenshot(page, "player-mesh.png")

        # A new dance with the same mesh reuses the body: shown at once, the mesh not fetched again.
        reload = """async () => {
            window.player.load(await (await fetch('/data/payload.json')).json());
            await new Promise((r) => requestAnimationFrame(r));
            return window.player.state().body;
        }"""
        assert mesh_fetches(page) == 1
        assert page.evaluate(reload) is True
        assert mesh_fetches(page) == 1
        assert errors == []


def test_a_mesh_that_fails_keeps_the_mannequin(scene, webgl_browser):
    with open_player(webgl_browser, scene[0], "no-mesh.json") as (page, errors):
        warnings: list[str] = []
        page.on("console", lambda m: warnings.append(m.text) if m.type == "warning" else None)
        page.wait_for_function(f"{ROOT}.dataset.ready === '1'", timeout=10_000)
        # Load it again now that warnings are heard: a failed mesh is not cached, so it is tried again.
        page.evaluate("async () => window.player.load(await (await fetch('/data/no-mesh.json')).json())")
        for _ in range(50):
            if any("could not be loaded" in w for w in warnings):
                break
            page.wait_for_timeout(100)
        assert any("SMPL body" in w and "could not be loaded" in w for w in warnings), warnings
        state = page.evaluate("window.player.state()")
        assert state["webgl"] is True and state["body"] is False
        assert page.evaluate("window.player.bodyVertex(0)") is None
        # Chrome logs the failed resource load itself as a console error; nothing else may show.
        assert [e for e in errors if "status of 404" not in e] == []
        page.wait_for_timeout(200)
        screenshot(page, "player-mesh-missing.png")


def test_the_2d_view_ignores_the_mesh(scene, plain_browser):
    with open_player(plain_browser, scene[0], "payload.json") as (page, errors):
        page.wait_for_function(f"{ROOT}.dataset.ready === '1'", timeout=10_000)
        state = page.evaluate("window.player.state()")
        assert state["webgl"] is False and state["body"] is False
        assert errors == []
