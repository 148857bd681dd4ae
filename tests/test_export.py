"""Export: one entry point per suffix, and an SMPL pickle that AIST++/EDGE tools and our reader load."""

from __future__ import annotations

import dataclasses
import json
import pickle
import pickletools

import numpy as np
import pytest

from dancemosaic import export
from dancemosaic.dance import Request
from dancemosaic.datasets.aistpp import aistpp_motion, safe_unpickle
from dancemosaic.sampling import SamplingOptions


@pytest.fixture(scope="module")
def dance(engine):
    return engine.generate(Request("a person dances", duration=2.0, seed=0), SamplingOptions(steps=2))


@pytest.mark.parametrize("suffix", [".bvh", ".glb", ".json", ".npz", ".pkl", ".GLB"])
def test_write_dispatches_on_the_suffix(dance, tmp_path, suffix):
    path = export.write(dance, tmp_path / f"out{suffix}")
    assert path == tmp_path / f"out{suffix}" and path.stat().st_size > 0
    if suffix.lower() == ".glb":
        assert path.read_bytes()[:4] == b"glTF"
    if suffix == ".json":
        assert json.loads(path.read_text())["fps"] == dance.motion.fps


def test_unknown_suffix_names_the_supported_ones(dance, tmp_path):
    with pytest.raises(ValueError, match=r"\.bvh, \.glb, \.json, \.npz, \.pkl"):
        export.write(dance, tmp_path / "out.fbx")
    assert not (tmp_path / "out.fbx").exists()


def test_write_all_keeps_its_order_and_takes_formats(dance, tmp_path):
    paths = export.write_all(dance, tmp_path / "a", "song")
    assert [p.name for p in paths] == ["song.npz", "song.bvh", "song.json"]
    assert all(p.is_file() for p in paths)
    paths = export.write_all(dance, tmp_path / "b", formats=("glb", ".pkl"))
    assert [p.name for p in paths] == ["dance.glb", "dance.pkl"]


def test_pkl_reads_back_through_the_restricted_unpickler(dance, tmp_path):
    data = safe_unpickle(export.write_pkl(dance, tmp_path / "dance.pkl"))
    frames = dance.motion.num_frames
    assert set(data) == {"smpl_poses", "smpl_trans", "smpl_scaling", "full_pose"}
    shapes = {"smpl_poses": (frames, 72), "smpl_trans": (frames, 3), "smpl_scaling": (1,)}
    for key, value in export.smpl_parameters(dance).items():
        assert data[key].dtype == np.float32 and data[key].shape == shapes[key]
        np.testing.assert_allclose(data[key], value, atol=1e-6)
    np.testing.assert_allclose(data["full_pose"], dance.joints(), atol=1e-6)
    # the AIST++ reading of these parameters puts every body joint where the dance has it
    motion = aistpp_motion(data["smpl_poses"].reshape(frames, 24, 3), data["smpl_trans"], 1.0)
    np.testing.assert_allclose(motion.joints().numpy(), dance.joints()[:, :22], atol=1e-4)


def test_pkl_uses_names_that_numpy_1_can_load(dance, tmp_path):
    raw = export.write_pkl(dance, tmp_path / "dance.pkl").read_bytes()
    names = {arg for op, arg, _ in pickletools.genops(raw) if "GLOBAL" in op.name}
    assert names == {"numpy.core.multiarray _reconstruct", "numpy ndarray", "numpy dtype", "_codecs encode"}
    np.testing.assert_array_equal(pickle.loads(raw)["full_pose"], dance.joints().astype(np.float32))


@pytest.mark.parametrize("suffix", [".bvh", ".glb", ".json", ".npz", ".pkl"])
def test_exports_name_the_song_but_hold_no_server_path(dance, tmp_path, suffix):
    song = tmp_path / "server-temp-3f9c1a" / "songs" / "ab12" / "my_song.wav"
    path = export.write(dataclasses.replace(dance, song=str(song)), tmp_path / f"out{suffix}")
    data = path.read_bytes()
    assert b"server-temp-3f9c1a" not in data and str(tmp_path).encode() not in data
    if suffix == ".json":
        assert json.loads(data)["song"] == "my_song.wav"
