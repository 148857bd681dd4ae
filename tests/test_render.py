"""MP4 rendering: geometry helpers, cheap import, and a real offscreen render with the song muxed in."""

from __future__ import annotations

import re
import subprocess
import sys

import imageio_ffmpeg
import numpy as np
import pytest
import soundfile

from dancemosaic import percussion, render
from dancemosaic.dance import Request
from dancemosaic.sampling import SamplingOptions
from dancemosaic.timing import SAMPLE_RATE

SIZE = (96, 64)  # small: the test checks plumbing, not looks


@pytest.fixture(scope="module")
def dance(engine):
    return engine.generate(Request("a person dances", duration=1.0, seed=0), SamplingOptions(steps=2))


@pytest.fixture(scope="module")
def gl() -> str:
    try:
        return render.gl_platform()
    except ValueError as err:  # a user's machine without libEGL or libOSMesa
        pytest.skip(f"no offscreen OpenGL platform: {err}")


@pytest.fixture(scope="module")
def song(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("song") / "song.wav"
    audio, _ = percussion.synthesize(120.0, 2.0, seed=1)  # longer than the dance: the video cuts it
    soundfile.write(path, audio, SAMPLE_RATE)
    return str(path)


def probe(path) -> str:
    """ffmpeg's description of a file's streams (``ffmpeg -i`` prints it to stderr)."""
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(path)]
    return subprocess.run(command, capture_output=True, text=True, check=False).stderr


def test_align_z_and_bone_poses(dance):
    directions = np.array([[0, 0, 1.0], [0, 0, -1.0], [1.0, 0, 0], [0.6, -0.8, 0], [0.48, 0.6, -0.64]])
    rotations = render.align_z(directions)
    np.testing.assert_allclose(rotations[:, :, 2], directions, atol=1e-9)
    np.testing.assert_allclose(
        rotations @ rotations.transpose(0, 2, 1), np.tile(np.eye(3), (5, 1, 1)), atol=1e-9
    )
    np.testing.assert_allclose(np.linalg.det(rotations), 1.0, atol=1e-9)
    joints = dance.joints()[0].astype(np.float64)
    poses = render.bone_poses(joints)
    parents = list(render.skeleton.PARENTS[1:])
    np.testing.assert_allclose(poses[:, :3, 3], (joints[1:] + joints[parents]) / 2, atol=1e-9)
    along = joints[1:] - joints[parents]
    np.testing.assert_allclose(np.cross(poses[:, :3, 2], along), 0.0, atol=1e-9)


def test_camera_looks_at_the_dancer(dance):
    joints = dance.joints().astype(np.float64)
    poses = render.camera_poses(joints, dance.motion.fps, floor=float(joints[..., 1].min()))
    to_root = joints[:, 0] - poses[:, :3, 3]
    to_root /= np.linalg.norm(to_root, axis=-1, keepdims=True)
    assert (np.einsum("tc,tc->t", -poses[:, :3, 2], to_root) > 0.95).all()  # the root is near screen centre
    np.testing.assert_allclose(render.moving_average(np.ones((7, 3)), 4), 1.0)


def test_import_does_not_load_opengl():
    code = "import sys, dancemosaic.render; assert not {'pyrender', 'OpenGL'} & set(sys.modules)"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_bad_options_are_value_errors(dance, tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="even"):
        render.video(dance, tmp_path / "odd.mp4", size=(641, 480))
    with pytest.raises(ValueError, match="not found"):
        render.video(dance, tmp_path / "x.mp4", tmp_path / "missing.wav")
    render.gl_platform.cache_clear()
    try:
        monkeypatch.setenv(render.GL_ENV, "vulkan")
        with pytest.raises(ValueError, match="egl, osmesa"):
            render.gl_platform()
        monkeypatch.delenv(render.GL_ENV)
        monkeypatch.setattr(render, "_probe", lambda platform: False)  # a machine without EGL or OSMesa
        monkeypatch.delitem(sys.modules, "OpenGL", raising=False)
        with pytest.raises(ValueError, match="libosmesa6"):
            render.gl_platform()
    finally:
        render.gl_platform.cache_clear()


def test_video_with_song(gl, dance, song, tmp_path):
    calls = []
    path = render.video(dance, tmp_path / "dance.mp4", song, size=SIZE, progress=lambda f, m: calls.append(f))
    frames, _ = imageio_ffmpeg.count_frames_and_secs(str(path))
    assert frames == dance.motion.num_frames
    info = probe(path)
    assert re.search(r"Video: h264.*yuv420p.*96x64", info) and "Audio: aac" in info
    h, m, s = re.search(r"Duration: (\d+):(\d+):([\d.]+)", info).groups()
    assert abs(3600 * int(h) + 60 * int(m) + float(s) - dance.duration) < 0.1  # the 2 s song is cut
    assert calls == sorted(calls) and calls[-1] == 1.0
    reader = imageio_ffmpeg.read_frames(str(path))
    next(reader)  # metadata
    frame = np.frombuffer(next(reader), np.uint8).reshape(SIZE[1], SIZE[0], 3)
    reader.close()
    assert frame.std() > 10  # floor, sky and a mannequin, not a blank image
    red, blue = frame[..., 0].astype(int), frame[..., 2].astype(int)
    assert (np.abs(red - blue) > 40).sum() >= 10  # the blue left and orange right limbs (floor and sky: grey)


def test_video_without_song_is_silent(gl, dance, tmp_path):
    path = render.video(dance, tmp_path / "silent.mp4", size=SIZE)
    assert "Video: h264" in probe(path) and "Audio:" not in probe(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["silent.mp4"]  # no temporary files left
