"""Server-side MP4 of a dance: a mannequin rendered offscreen with pyrender, the song muxed in.

OpenGL is chosen once per process: ``DANCEMOSAIC_GL`` (``egl`` or ``osmesa``) if set, else the first
of EGL and OSMesa that can create a context, probed in a child process so a broken driver cannot take
the server down. pyrender and OpenGL are imported only when a video is asked for, after
``PYOPENGL_PLATFORM`` is set (PyOpenGL reads it once, at import). Known fixes: pyrender 0.1.45 pins
PyOpenGL 3.1.0, whose OSMesa support is broken, so requirements.txt installs ``arcade-pyrender``
(the same module without that pin) with PyOpenGL 3.1.10; and pyrender uses ``np.infty``, which
numpy 2 removed. Frames stream into imageio-ffmpeg (libx264, yuv420p); the song is
then muxed in (AAC, cut to the dance's length) by the same ffmpeg binary.
"""

from __future__ import annotations

import contextlib
import functools
import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import numpy as np

from dancemosaic import gltf, skeleton
from dancemosaic.dance import Dance

GL_ENV = "DANCEMOSAIC_GL"
PLATFORMS = ("egl", "osmesa")  # in the order they are tried
INSTALL_HINT = (
    "no offscreen OpenGL platform works here: install EGL (Debian: apt-get install libegl1 libegl-mesa0) "
    "or OSMesa (apt-get install libosmesa6), and pip install arcade-pyrender==0.1.45 PyOpenGL==3.1.10"
)
BACKGROUND = (0.93, 0.94, 0.96)
LEFT, RIGHT, CENTRE = (0.20, 0.45, 0.85), (0.88, 0.38, 0.20), (0.82, 0.82, 0.84)  # linear RGB
TILE_COLOURS = ((0.78, 0.79, 0.81), (0.62, 0.63, 0.66))
TILE = 0.5  # m, floor checker size
JOINT_RADIUS, BONE_RADIUS, HEAD_RADIUS = 0.04, 0.03, 0.10  # m
HEAD = skeleton.JOINT_INDEX["head"]
CAMERA_DISTANCE, CAMERA_HEIGHT, CAMERA_FOV = 3.3, 1.4, np.pi / 4  # m in front and above the floor, rad
FOLLOW_SECONDS = 1.5  # the camera follows a moving average of the root over this window
_GL_LOCK = threading.Lock()  # one render at a time: GL contexts and pyrender are not thread-safe

_PROBE = """
import os, sys
os.environ["PYOPENGL_PLATFORM"] = sys.argv[1]
import numpy as np
np.infty = np.inf
import pyrender
pyrender.OffscreenRenderer(8, 8).delete()
"""

Progress = Callable[[float, str], None]
Geometry = tuple[np.ndarray, np.ndarray, np.ndarray]  # positions (V, 3), normals (V, 3), triangles (F, 3)


def _probe(platform: str) -> bool:
    """Can pyrender open an offscreen context with ``platform``? (in a child process)"""
    command = [sys.executable, "-c", _PROBE, platform]
    try:
        result = subprocess.run(command, capture_output=True, timeout=120, check=False)
    except subprocess.TimeoutExpired:
        return False
    return result.returncode == 0


@functools.cache
def gl_platform() -> str:
    """The offscreen OpenGL platform this process renders with; ValueError (what to install) if none."""
    chosen = os.environ.get(GL_ENV, "").strip().lower()
    if chosen and chosen not in PLATFORMS:
        raise ValueError(f"{GL_ENV}={chosen!r}: use one of {', '.join(PLATFORMS)}, or unset it")
    if "OpenGL" in sys.modules:  # PyOpenGL is already bound to a platform; it cannot switch
        current = os.environ.get("PYOPENGL_PLATFORM", "")
        if current not in PLATFORMS or (chosen and chosen != current):
            raise ValueError(f"OpenGL was imported with PYOPENGL_PLATFORM={current!r}; set {GL_ENV} first")
        return current
    for platform in [chosen] if chosen else PLATFORMS:
        if _probe(platform):
            return platform
    raise ValueError(f"{GL_ENV}={chosen} does not work here; {INSTALL_HINT}" if chosen else INSTALL_HINT)


def _pyrender() -> ModuleType:
    """pyrender, imported on first use with the chosen platform."""
    platform = gl_platform()
    os.environ["PYOPENGL_PLATFORM"] = platform
    if not hasattr(np, "infty"):
        np.infty = np.inf  # noqa: NPY201 - pyrender 0.1.45 still uses the alias numpy 2 removed
    try:
        import pyrender
    except ImportError as err:
        raise ValueError(f"video needs pyrender ({err}): pip install pyrender PyOpenGL==3.1.10") from err
    return pyrender


def _check_size(size: tuple[int, int]) -> tuple[int, int]:
    width, height = (int(n) for n in size)
    if width < 16 or height < 16 or width % 2 or height % 2:
        raise ValueError(f"video size must be even and at least 16 x 16 pixels, got {width} x {height}")
    return width, height


# ---------------------------------------------------------------------------------------------
# Geometry and camera: numpy only


def align_z(directions: np.ndarray) -> np.ndarray:
    """(N, 3) unit vectors -> (N, 3, 3) rotations taking +z onto each (Rodrigues, no flip at -z)."""
    x, y, z = directions.T
    zero = np.zeros_like(x)
    cross = np.stack([zero, zero, x, zero, zero, y, -x, -y, zero], -1).reshape(-1, 3, 3)  # [z x d]_x
    scale = 1.0 / np.maximum(1.0 + z, 1e-9)
    rotations = np.eye(3) + cross + cross @ cross * scale[:, None, None]
    return np.where((z < -1 + 1e-9)[:, None, None], np.diag([1.0, -1.0, -1.0]), rotations)


def bone_poses(joints: np.ndarray) -> np.ndarray:
    """(J, 3) one frame's joints -> (J - 1, 4, 4) poses of tubes along z, centred between parent and child."""
    children = np.arange(1, len(joints))
    parents = np.array(skeleton.PARENTS[1 : len(joints)])
    vectors = joints[children] - joints[parents]
    lengths = np.maximum(np.linalg.norm(vectors, axis=-1, keepdims=True), 1e-9)
    poses = np.tile(np.eye(4), (len(children), 1, 1))
    poses[:, :3, :3] = align_z(vectors / lengths)
    poses[:, :3, 3] = (joints[children] + joints[parents]) / 2
    return poses


def moving_average(values: np.ndarray, width: int) -> np.ndarray:
    """(T, C) smoothed along T with a centred window, edges padded with the end values."""
    width = max(1, min(width, len(values)))
    padded = np.pad(values, ((width // 2, width - 1 - width // 2), (0, 0)), mode="edge")
    kernel = np.ones(width) / width
    return np.stack([np.convolve(padded[:, c], kernel, mode="valid") for c in range(values.shape[1])], -1)


def look_at(eye: np.ndarray, target: np.ndarray) -> np.ndarray:
    """(4, 4) camera pose at ``eye`` looking at ``target`` (the camera looks down its -z, y up)."""
    back = eye - target
    back /= np.linalg.norm(back)
    right = np.cross([0.0, 1.0, 0.0], back)
    right /= np.linalg.norm(right)
    pose = np.eye(4)
    pose[:3, :3] = np.stack([right, np.cross(back, right), back], -1)
    pose[:3, 3] = eye
    return pose


def camera_poses(joints: np.ndarray, fps: float, floor: float) -> np.ndarray:
    """(T, 4, 4): in front of the dancer (+z, where the canonical frame faces), following the root."""
    follow = moving_average(joints[:, 0], int(round(FOLLOW_SECONDS * fps)))
    target = follow.copy()
    target[:, 1] = floor + 0.5 * (follow[:, 1] - floor) + 0.45  # between the pelvis and the chest
    eye = follow + np.array([0.0, 0.0, CAMERA_DISTANCE])
    eye[:, 1] = floor + CAMERA_HEIGHT
    return np.stack([look_at(e, t) for e, t in zip(eye, target, strict=True)])


def tube(length: float, radius: float, segments: int = 10) -> Geometry:
    """An open cylinder along z centred on the origin: positions, normals, triangles."""
    angle = np.linspace(0.0, 2 * np.pi, segments, endpoint=False)
    ring = np.stack([np.cos(angle), np.sin(angle), np.zeros(segments)], -1)
    ends = np.array([[0.0, 0.0, -length / 2], [0.0, 0.0, length / 2]])
    positions = (radius * ring[None] + ends[:, None]).reshape(-1, 3)  # (2 * segments, 3)
    a = np.arange(segments)
    b = (a + 1) % segments
    triangles = np.concatenate(
        [np.stack([a, b, b + segments], -1), np.stack([a, b + segments, a + segments], -1)]
    )
    return positions, np.tile(ring, (2, 1)), triangles


class Mannequin:
    """Triangles of a sphere per joint, a head and a tube per bone, posed in numpy (one draw call)."""

    def __init__(self, rest: np.ndarray) -> None:
        """``rest``: (J, 3) the joints of any frame, for the bone lengths (FK keeps them)."""
        num = len(rest)
        lengths = np.linalg.norm(rest[1:] - rest[list(skeleton.PARENTS[1:num])], axis=-1)
        parts = [gltf.sphere(JOINT_RADIUS)] * num + [gltf.sphere(HEAD_RADIUS, 8, 14)]
        parts += [tube(length, BONE_RADIUS) for length in lengths]
        sizes = [len(p[0]) for p in parts]
        self.positions = np.concatenate([p[0] for p in parts])  # (V, 3) each part in its own frame
        self.normals = np.concatenate([p[1] for p in parts])
        starts = np.cumsum([0] + sizes[:-1])
        self.triangles = np.concatenate([p[2] + s for p, s in zip(parts, starts, strict=True)])
        self.part = np.repeat(np.arange(len(parts)), sizes)  # (V,) the part each vertex belongs to
        colours = [_side(j) for j in range(num)] + [CENTRE] + [_side(j) for j in range(1, num)]
        self.colours = np.array([(*c, 1.0) for c in colours])[self.part]  # (V, 4)

    def pose(self, joints: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(J, 3) joints -> world positions and normals (V, 3) of every vertex."""
        bones = bone_poses(joints)
        neck_to_head = joints[HEAD] - joints[skeleton.PARENTS[HEAD]]
        head = joints[HEAD] + 0.6 * HEAD_RADIUS * neck_to_head / max(np.linalg.norm(neck_to_head), 1e-9)
        eye = np.tile(np.eye(3), (len(joints) + 1, 1, 1))
        rotations = np.concatenate([eye, bones[:, :3, :3]])[self.part]  # (V, 3, 3)
        offsets = np.concatenate([joints, head[None], bones[:, :3, 3]])[self.part]
        positions = np.einsum("vij,vj->vi", rotations, self.positions) + offsets
        return positions, np.einsum("vij,vj->vi", rotations, self.normals)


def _side(joint: int) -> tuple[float, float, float]:
    name = skeleton.JOINT_NAMES[joint]
    return LEFT if name.startswith("left") else RIGHT if name.startswith("right") else CENTRE


def checkerboard(centre: np.ndarray, half: float, height: float) -> tuple[np.ndarray, ...]:
    """Tiles around ``centre`` (x, z) at ``height``: positions, normals, colours (V, 4), triangles."""
    n = int(np.ceil(2 * half / TILE))
    i, k = (a.ravel() for a in np.meshgrid(np.arange(n), np.arange(n), indexing="ij"))
    x0, z0 = centre[0] + (i - n / 2) * TILE, centre[1] + (k - n / 2) * TILE
    x = np.stack([x0, x0, x0 + TILE, x0 + TILE], -1).ravel()  # corners counter-clockwise seen from +y
    z = np.stack([z0, z0 + TILE, z0 + TILE, z0], -1).ravel()
    positions = np.stack([x, np.full_like(x, height), z], -1)
    normals = np.tile([0.0, 1.0, 0.0], (len(positions), 1))
    colours = np.repeat(np.array([(*c, 1.0) for c in TILE_COLOURS])[(i + k) % 2], 4, axis=0)
    base = np.arange(n * n)[:, None] * 4
    return positions, normals, colours, np.concatenate([base + [0, 1, 2], base + [0, 2, 3]])


# ---------------------------------------------------------------------------------------------
# The pyrender scene


class _Stage:
    """A pyrender scene of the floor, a light, a camera and the mannequin, posed frame by frame."""

    def __init__(self, pyrender: ModuleType, joints: np.ndarray, fps: float) -> None:
        self.pyrender, self.joints = pyrender, joints  # (T, J, 3)
        floor = float(joints[..., 1].min())
        self.cameras = camera_poses(joints, fps, floor)
        self.scene = pyrender.Scene(bg_color=(*BACKGROUND, 1.0), ambient_light=(0.35, 0.35, 0.35))
        # vertex colours times a white material; colours as floats in [0, 1] (the design notes' fix)
        self.material = pyrender.MetallicRoughnessMaterial(
            baseColorFactor=(1.0, 1.0, 1.0, 1.0), metallicFactor=0.0, roughnessFactor=0.7
        )
        root = joints[:, 0, [0, 2]]  # (T, 2) x, z
        half = np.ptp(root, axis=0).max() / 2 + CAMERA_DISTANCE + 2.0  # the floor reaches past the camera
        self.scene.add(self._mesh(*checkerboard((root.max(0) + root.min(0)) / 2, half, floor)))
        self.mannequin = Mannequin(joints[0])
        self.body = None
        self.camera = self.scene.add(pyrender.PerspectiveCamera(yfov=CAMERA_FOV), pose=self.cameras[0])
        # a directional light has no position, only a direction: from above, front and left of the dancer
        light = pyrender.DirectionalLight(color=(1.0, 1.0, 1.0), intensity=3.0)
        self.scene.add(light, pose=look_at(np.array([-2.0, 4.0, 4.0]), np.zeros(3)))

    def _mesh(
        self, positions: np.ndarray, normals: np.ndarray, colours: np.ndarray, triangles: np.ndarray
    ) -> object:
        primitive = self.pyrender.Primitive(
            positions, normals, color_0=colours, indices=triangles, material=self.material
        )
        return self.pyrender.Mesh([primitive])

    def pose(self, frame: int) -> None:
        """Swap in this frame's body mesh (pyrender frees the last one's buffers) and move the camera."""
        if self.body is not None:
            self.scene.remove_node(self.body)
        positions, normals = self.mannequin.pose(self.joints[frame])
        mesh = self._mesh(positions, normals, self.mannequin.colours, self.mannequin.triangles)
        self.body = self.scene.add(mesh)
        self.scene.set_pose(self.camera, self.cameras[frame])


def frames(dance: Dance, size: tuple[int, int], progress: Progress | None = None) -> Iterator[np.ndarray]:
    """Render the dance's frames, (H, W, 3) uint8 each; holds the GL lock while it runs."""
    width, height = _check_size(size)
    pyrender = _pyrender()
    joints = dance.joints().astype(np.float64)
    report = progress or (lambda fraction, message: None)
    every = -(-len(joints) // 50)  # about 50 progress updates per video
    with _GL_LOCK:
        stage = _Stage(pyrender, joints, dance.motion.fps)
        renderer = pyrender.OffscreenRenderer(width, height)
        try:
            for frame in range(len(joints)):
                stage.pose(frame)
                colour, _ = renderer.render(stage.scene)
                yield colour
                if frame % every == every - 1 or frame == len(joints) - 1:
                    report((frame + 1) / len(joints), f"rendered frame {frame + 1} of {len(joints)}")
        finally:
            renderer.delete()


# ---------------------------------------------------------------------------------------------
# Encoding


def video(
    dance: Dance,
    path: str | Path,
    song: str | Path | None = None,
    *,
    size: tuple[int, int] = (640, 480),
    progress: Progress | None = None,
) -> Path:
    """Render ``dance`` to an H.264 MP4 at its fps; with ``song``, its audio (AAC) from 0 s is muxed in."""
    path = Path(path)
    if song is not None and not Path(song).is_file():
        raise ValueError(f"song {song} not found: give an audio file, or no song for a silent video")
    size = _check_size(size)
    if song is None:
        return _encode(dance, path, size, progress)
    handle, name = tempfile.mkstemp(suffix=".mp4", dir=path.parent)  # the silent video, then muxed
    os.close(handle)
    try:
        _mux(_encode(dance, Path(name), size, progress), Path(song), path, dance.duration)
    finally:
        Path(name).unlink(missing_ok=True)
    if progress is not None:
        progress(1.0, "added the song")
    return path


def _encode(dance: Dance, path: Path, size: tuple[int, int], progress: Progress | None) -> Path:
    """Stream the rendered frames into ffmpeg (libx264, yuv420p)."""
    import imageio_ffmpeg

    writer = imageio_ffmpeg.write_frames(
        str(path), size, fps=dance.motion.fps, codec="libx264", pix_fmt_out="yuv420p",
        macro_block_size=2, ffmpeg_log_level="error", output_params=["-movflags", "+faststart"],
    )  # fmt: skip
    writer.send(None)
    try:
        # closing(): an error mid-way must end the generator now, releasing the GL lock it holds
        with contextlib.closing(frames(dance, size, progress)) as images:
            for image in images:
                writer.send(np.ascontiguousarray(image))
    finally:
        writer.close()
    return path


def _mux(video_path: Path, song: Path, out: Path, seconds: float) -> None:
    """Copy the video stream and add the song's first ``seconds`` as AAC."""
    import imageio_ffmpeg

    command = [
        imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-v", "error", "-i", str(video_path), "-i", str(song),
        "-map", "0:v:0", "-map", "1:a:0", "-c:v", "copy", "-c:a", "aac", "-b:a", "192k",
        "-t", f"{seconds:.6f}", "-movflags", "+faststart", str(out),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        detail = result.stderr.strip().splitlines()[-1:] or ["unknown error"]
        raise ValueError(f"could not add the song {song.name} to the video: {detail[0]}")
