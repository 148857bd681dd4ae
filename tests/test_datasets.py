"""AIST++ and FineDance readers on tiny fixtures written in the official formats.

Fixtures are built from known poses; the expected joints come from scipy's rotations and the
skeleton's FK, so the readers' unit conventions (AIST++ scaling, pelvis offset, 6D layout, 60 -> 30
fps) are checked against the format definitions rather than against themselves.
"""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.io import wavfile
from scipy.spatial.transform import Rotation

from dancemosaic import skeleton
from dancemosaic.datasets import aistpp, finedance

TOL = 1e-4  # metres
SEQ_TRAIN = "gBR_sBM_cAll_d04_mBR0_ch01"
SEQ_IGNORED = "gPO_sFM_cAll_d10_mPO1_ch02"
SEQ_TEST = "gLH_sFM_cAll_d16_mLH4_ch04"
SEQ_MISSING = "gHO_sBM_cAll_d19_mHO2_ch03"  # listed in the split, no motion file


def smooth_rotvecs(seed: int, frames: int, joints: int) -> np.ndarray:
    """(T, J, 3) axis-angles: a random pose per joint plus a slow swing, up to about 1 rad."""
    rng = np.random.default_rng(seed)
    base = rng.uniform(-0.6, 0.6, (1, joints, 3))
    swing = rng.uniform(-0.4, 0.4, (1, joints, 3)) * np.sin(np.linspace(0, 3, frames))[:, None, None]
    return base + swing


def expected_joints(matrices: np.ndarray, pelvis: np.ndarray) -> np.ndarray:
    """(T, 22, 3) FK of local rotation matrices (T, 22, 3, 3) with the pelvis at ``pelvis`` (T, 3)."""
    rot = torch.as_tensor(matrices, dtype=torch.float64)
    return skeleton.forward_kinematics(rot, torch.as_tensor(pelvis, dtype=torch.float64))[0].numpy()


def to_matrices(rotvecs: np.ndarray) -> np.ndarray:
    return Rotation.from_rotvec(rotvecs.reshape(-1, 3)).as_matrix().reshape(rotvecs.shape[:-1] + (3, 3))


def write_wav(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    wavfile.write(path, 15360, np.zeros(1536, dtype=np.int16))


# ---------------------------------------------------------------------------------------------
# AIST++


def aistpp_dict(frames: int = 20, scaling: float = 95.0, seed: int = 0) -> dict:
    """An AIST++ motion dict as the official pickles hold it (float32 arrays, trans in scaled units)."""
    poses = smooth_rotvecs(seed, frames, 24).reshape(frames, 72).astype(np.float32)
    trans_m = np.stack([np.linspace(0, 1, frames), np.full(frames, 1.1), np.linspace(0, -0.5, frames)], 1)
    return {
        "smpl_loss": 1.59,
        "smpl_poses": poses,
        "smpl_scaling": np.array([scaling], dtype=np.float32),
        "smpl_trans": (trans_m * scaling).astype(np.float32),
    }


def write_pickle(path: Path, data: object, protocol: int = 4) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(data, protocol=protocol))
    return path


def check_aistpp_motion(motion, data: dict) -> None:
    """30 fps frame i is 60 fps frame 2i; pelvis = trans / scaling + template pelvis."""
    frames = len(data["smpl_poses"])
    assert motion.fps == 30 and motion.num_frames == frames // 2
    poses = data["smpl_poses"].astype(np.float64).reshape(frames, 24, 3)[::2, :22]
    scaling = float(np.asarray(data["smpl_scaling"]).item())
    pelvis = data["smpl_trans"][::2].astype(np.float64) / scaling + np.asarray(skeleton.REST_OFFSETS[0])
    np.testing.assert_allclose(motion.root.numpy(), pelvis, atol=TOL)
    np.testing.assert_allclose(motion.joints().numpy(), expected_joints(to_matrices(poses), pelvis), atol=TOL)


def test_aistpp_motion_matches_fk_at_30_fps(tmp_path):
    data = aistpp_dict()
    path = write_pickle(tmp_path / "motions" / f"{SEQ_TRAIN}.pkl", data)
    check_aistpp_motion(aistpp.load_aistpp_motion(path), data)


@pytest.mark.parametrize("protocol", [0, 2, 4, 5])
def test_aistpp_reads_every_pickle_protocol_and_array_layout(tmp_path, protocol):
    data = aistpp_dict(scaling=88.5) | {"smpl_scaling": 88.5}  # a plain float works too
    data["smpl_poses"] = np.asfortranarray(data["smpl_poses"].astype(np.float64))
    data["smpl_trans"] = np.asfortranarray(data["smpl_trans"].astype(">f8"))  # big-endian
    path = write_pickle(tmp_path / "m.pkl", data, protocol)
    check_aistpp_motion(aistpp.load_aistpp_motion(path), data)


def test_aistpp_reads_numpy1_pickles(tmp_path):
    """Files written under numpy 1 name numpy.core.multiarray, which numpy 2 moved to numpy._core."""
    data = aistpp_dict()
    legacy = pickle.dumps(data, protocol=2).replace(b"numpy._core", b"numpy.core")
    assert b"numpy.core.multiarray" in legacy
    (tmp_path / "m.pkl").write_bytes(legacy)
    check_aistpp_motion(aistpp.load_aistpp_motion(tmp_path / "m.pkl"), data)


def make_aistpp_root(root: Path, splits: Path | None = None) -> Path:
    for seed, name in enumerate((SEQ_TRAIN, SEQ_IGNORED, SEQ_TEST)):
        write_pickle(root / "motions" / f"{name}.pkl", aistpp_dict(seed=seed))
    splits = splits or root / "splits"
    splits.mkdir(parents=True, exist_ok=True)
    (splits / "crossmodal_train.txt").write_text(f"{SEQ_TRAIN}\n{SEQ_IGNORED}\n{SEQ_MISSING}\n")
    (splits / "crossmodal_test.txt").write_text(f"{SEQ_TEST}\n")
    (splits / "ignore_list.txt").write_text(f"{SEQ_IGNORED}\n")
    write_wav(root / "wavs" / "mBR0.wav")
    return root


def test_aistpp_splits_ignore_list_prompts_and_music(tmp_path):
    root = make_aistpp_root(tmp_path / "aist")
    train = list(aistpp.read_aistpp(root, "train"))
    assert [c.name for c in train] == [f"aistpp/{SEQ_TRAIN}"]
    clip = train[0]
    assert clip.source == "aistpp" and clip.text == "a person dances basic break dance"
    assert clip.music == root / "wavs" / "mBR0.wav" and "CC BY 4.0" in clip.licence
    assert clip.motion.fps == 30 and clip.motion.num_frames == 10
    (test,) = aistpp.read_aistpp(root, "test")
    assert test.name == f"aistpp/{SEQ_TEST}" and test.music is None
    assert test.text == "a person dances advanced LA-style hip-hop"
    write_wav(root / "music" / "mLH4.wav")
    assert next(aistpp.read_aistpp(root, "test")).music == root / "music" / "mLH4.wav"


def test_aistpp_explicit_splits_dir_and_root_ignore_list(tmp_path):
    root = make_aistpp_root(tmp_path / "aist", splits=tmp_path / "lists")
    (tmp_path / "lists" / "ignore_list.txt").rename(root / "ignore_list.txt")  # the download's place
    assert [c.name for c in aistpp.read_aistpp(root, "train", splits_dir=tmp_path / "lists")] == [
        f"aistpp/{SEQ_TRAIN}"
    ]
    with pytest.raises(ValueError, match="crossmodal_train.txt"):
        list(aistpp.read_aistpp(root, "train"))  # root/splits does not exist


def test_aistpp_refuses_missing_root_split_and_ignore_list(tmp_path):
    with pytest.raises(ValueError, match="motions/"):
        list(aistpp.read_aistpp(tmp_path / "nowhere"))
    root = make_aistpp_root(tmp_path / "aist")
    with pytest.raises(ValueError, match="one of"):
        list(aistpp.read_aistpp(root, "dev"))
    (root / "splits" / "ignore_list.txt").unlink()
    with pytest.raises(ValueError, match="ignore_list.txt"):
        list(aistpp.read_aistpp(root))


def test_aistpp_prompt_covers_every_genre():
    assert aistpp.aistpp_prompt("gJB_sFM_cAll_d09_mJB1_ch09") == "a person dances advanced ballet jazz"
    assert aistpp.aistpp_prompt("gKR_sBM_c01_d28_mKR2_ch01") == "a person dances basic krump"
    with pytest.raises(ValueError, match="AIST\\+\\+ sequence name"):
        aistpp.parse_sequence_name("dance_01")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.pop("smpl_trans"), "has no 'smpl_trans'"),
        (lambda d: d.update(smpl_poses=np.zeros((20, 70), np.float32)), r"\(T, 72\)"),
        (lambda d: d.update(smpl_trans=np.zeros((19, 3), np.float32)), r"\(T, 3\) = \(20, 3\)"),
        (lambda d: d["smpl_poses"].__setitem__((3, 5), np.nan), "NaN"),
        (lambda d: d.update(smpl_scaling=np.array([0.0])), "positive"),
        (lambda d: d.update(smpl_poses="not numbers"), "numeric"),
    ],
)
def test_aistpp_malformed_files_say_what_is_wrong(tmp_path, change, message):
    data = aistpp_dict()
    change(data)
    path = write_pickle(tmp_path / "bad.pkl", data)
    with pytest.raises(ValueError, match=message):
        aistpp.load_aistpp_motion(path)


def test_aistpp_rejects_non_dicts_garbage_and_missing_files(tmp_path):
    with pytest.raises(ValueError, match="not the dict"):
        aistpp.load_aistpp_motion(write_pickle(tmp_path / "list.pkl", [1, 2]))
    (tmp_path / "junk.pkl").write_bytes(b"\x00not a pickle")
    with pytest.raises(ValueError, match="not a readable"):
        aistpp.load_aistpp_motion(tmp_path / "junk.pkl")
    with pytest.raises(ValueError, match="not found"):
        aistpp.load_aistpp_motion(tmp_path / "absent.pkl")


class _Reduce:
    """Pickles as ``target(*args)`` (then ``__setstate__(state)``): hand-made, hostile pickle content."""

    def __init__(self, target, args, state=None):
        self.target, self.args, self.state = target, args, state

    def __reduce__(self):
        return (self.target, self.args) if self.state is None else (self.target, self.args, self.state)


@pytest.mark.parametrize("target", [os.system, eval])
def test_aistpp_refuses_malicious_pickles(tmp_path, target):
    marker = tmp_path / "pwned"
    command = f"touch {marker}" if target is os.system else f"open({str(marker)!r}, 'w')"
    data = aistpp_dict() | {"smpl_loss": _Reduce(target, (command,))}
    path = write_pickle(tmp_path / "motions" / f"{SEQ_TRAIN}.pkl", data)
    with pytest.raises(ValueError, match="refusing to unpickle"):
        aistpp.load_aistpp_motion(path)
    assert not marker.exists()
    # The dataset reader skips the file instead of running it.
    splits = tmp_path / "splits"
    splits.mkdir()
    (splits / "crossmodal_train.txt").write_text(SEQ_TRAIN)
    (splits / "ignore_list.txt").write_text("")
    assert list(aistpp.read_aistpp(tmp_path)) == [] and not marker.exists()


@pytest.mark.parametrize(
    "poses",
    [
        # numpy itself crashes (segfault) on this dtype state; the reader must refuse it
        _Reduce(np.dtype, ("f4", False, True), (3, "<", (None, None), -1, -1, 0)),
        np.array([1.0, "x"], dtype=object),  # object arrays would unpickle arbitrary items
        np.zeros(3, dtype=[("a", "f4"), ("b", "f4")]),  # structured dtypes are not motion data
    ],
)
def test_aistpp_refuses_arrays_numpy_would_trust(tmp_path, poses):
    path = write_pickle(tmp_path / "m.pkl", aistpp_dict() | {"smpl_poses": poses})
    with pytest.raises(ValueError, match="refusing"):
        aistpp.load_aistpp_motion(path)


# ---------------------------------------------------------------------------------------------
# FineDance


def finedance_array(frames: int = 12, contacts: bool = False, seed: int = 0) -> np.ndarray:
    """(T, 315) or (T, 319): [contacts] + translation + 52 x 6D (the first two matrix rows)."""
    matrices = to_matrices(smooth_rotvecs(seed, frames, 52))  # (T, 52, 3, 3)
    rot6d = matrices[:, :, :2, :].reshape(frames, 52 * 6)
    trans = np.stack([np.linspace(0, 2, frames), np.full(frames, 0.9), np.zeros(frames)], 1)
    parts = ([np.ones((frames, 4))] if contacts else []) + [trans, rot6d]
    return np.concatenate(parts, axis=1).astype(np.float32)


@pytest.mark.parametrize("contacts", [False, True])
def test_finedance_motion_matches_fk(tmp_path, contacts):
    array = finedance_array(contacts=contacts)
    assert array.shape == (12, 319 if contacts else 315)
    np.save(tmp_path / "001.npy", array)
    motion = finedance.load_finedance_motion(tmp_path / "001.npy")
    assert motion.fps == 30 and motion.num_frames == 12
    data = array[:, 4:] if contacts else array
    pelvis = data[:, :3].astype(np.float64) + np.asarray(skeleton.REST_OFFSETS[0])
    matrices = data[:, 3:].astype(np.float64).reshape(12, 52, 2, 3)
    third = np.cross(matrices[..., 0, :], matrices[..., 1, :])[..., None, :]
    full = np.concatenate([matrices, third], axis=-2)[:, :22]
    np.testing.assert_allclose(motion.root.numpy(), pelvis, atol=TOL)
    np.testing.assert_allclose(motion.joints().numpy(), expected_joints(full, pelvis), atol=TOL)


def make_finedance_root(root: Path) -> Path:
    for seed, clip_id in enumerate(("001", "063", "116", "130")):  # train, test, ignored, test+ignored
        (root / "motion").mkdir(parents=True, exist_ok=True)
        np.save(root / "motion" / f"{clip_id}.npy", finedance_array(seed=seed, contacts=seed % 2 == 1))
    (root / "label_json").mkdir()
    label = {"name": "some song", "style1": "Street", "style2": "Popping"}
    (root / "label_json" / "001.json").write_text(json.dumps(label))
    write_wav(root / "music_wav" / "001.wav")
    return root


def test_finedance_official_split_labels_and_music(tmp_path):
    root = make_finedance_root(tmp_path / "fd")
    (train,) = finedance.read_finedance(root, "train")
    assert train.name == "finedance/001" and train.source == "finedance"
    assert train.text == "a person dances popping" and train.music == root / "music_wav" / "001.wav"
    assert "non-commercial" in train.licence and train.motion.num_frames == 12
    (test,) = finedance.read_finedance(root, "test")
    assert test.name == "finedance/063" and test.text == "a person dances" and test.music is None
    assert list(finedance.read_finedance(root, "val")) == []


def test_finedance_genre_table_test_list_and_schemes(tmp_path):
    root = make_finedance_root(tmp_path / "fd")
    table = tmp_path / "genres.json"
    table.write_text(json.dumps({"063": "Korean", "001": "Waltz"}))
    (test,) = finedance.read_finedance(root, "test", genres=table)
    assert test.text == "a person dances Korean dance"
    held_out = tmp_path / "test.txt"
    held_out.write_text("# my split\n001\n")
    names = [c.name for c in finedance.read_finedance(root, "train", test_list=held_out, genres=table)]
    assert names == ["finedance/063"]  # 116 and 130 stay ignored
    assert finedance.split_ids(["001", "063", "115", "200"], "test", "cross_dancer") == ["001"]
    assert finedance.split_ids(["001", "063", "115", "200"], "val", "cross_dancer") == ["115"]
    assert finedance.split_ids(["001", "063", "115", "200"], "train", "cross_dancer") == ["063", "200"]


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.zeros((10, 300), np.float32), r"\(T, 315\) or \(T, 319\)"),
        (np.zeros(315, np.float32), r"\(T, 315\) or \(T, 319\)"),
        (np.zeros((0, 315), np.float32), "no frames"),
        (np.full((5, 315), np.nan, np.float32), "NaN"),
        (np.array(["a", "b"]), "numeric"),
    ],
)
def test_finedance_malformed_files_say_what_is_wrong(tmp_path, array, message):
    np.save(tmp_path / "bad.npy", array)
    with pytest.raises(ValueError, match=message):
        finedance.load_finedance_motion(tmp_path / "bad.npy")


def test_finedance_refuses_pickled_npy_and_bad_arguments(tmp_path):
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match="plain numeric"):
        finedance.load_finedance_motion(tmp_path / "obj.npy")
    with pytest.raises(ValueError, match="not found"):
        finedance.load_finedance_motion(tmp_path / "absent.npy")
    with pytest.raises(ValueError, match="motion/"):
        list(finedance.read_finedance(tmp_path / "nowhere"))
    root = make_finedance_root(tmp_path / "fd")
    with pytest.raises(ValueError, match="one of"):
        list(finedance.read_finedance(root, "dev"))
    with pytest.raises(ValueError, match="scheme"):
        list(finedance.read_finedance(root, scheme="cross_song"))
    with pytest.raises(ValueError, match="test list not found"):
        list(finedance.read_finedance(root, test_list=tmp_path / "absent.txt"))
    (tmp_path / "genres.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="json object"):
        list(finedance.read_finedance(root, genres=tmp_path / "genres.json"))
