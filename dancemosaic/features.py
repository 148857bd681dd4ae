"""Per-clip motion features behind FID_k / FID_g and diversity, and the protocols that feed them.

The numbers in dance papers come from one family of feature code (AIST++ API, copied into Bailando
and LODGE); see ``shared/reference/metrics.md``. This module reproduces it, vectorised over frames:

- ``kinetic_features``: 3 per joint (horizontal / vertical kinetic energy, energy expenditure).
- ``geometric_features``: 32 Mueller-style boolean relations, averaged over frames.
- ``prepare``: the two evaluation protocols (which joints, frame rate, length, origin).

Inputs are joint positions (T, J, 3) in metres, y up, SMPL joint order, float32 or float64; all
arithmetic runs in float64.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dancemosaic import skeleton
from dancemosaic.timing import FPS

# Reference constants of the feature code: kept whatever the real frame rate, so that our numbers
# are comparable with published ones (they are not physical time steps for 30 fps motion).
KINETIC_FRAME_TIME = 1 / 60
KINETIC_WINDOW = 2  # frames either side of the sliding average
GEOMETRIC_FRAME_TIME = 1 / 120
HUMERUS_LENGTH = 0.25684  # hl (m)
SHOULDER_WIDTH = 0.39085  # sw (m)
HIP_WIDTH = 0.11925  # hw (m)

# The AIST++ feature code's names for the 24 SMPL joints, in skeleton order.
AIST_JOINT_NAMES = (
    "root", "lhip", "rhip", "belly", "lknee", "rknee", "spine", "lankle", "rankle", "chest",
    "ltoes", "rtoes", "neck", "linshoulder", "rinshoulder", "head", "lshoulder", "rshoulder",
    "lelbow", "relbow", "lwrist", "rwrist", "lhand", "rhand",
)  # fmt: skip
# Virtual points are appended after the real joints, so negative indices work for J = 22 and 24.
_VIRTUAL = {"zero": -4, "y_unit": -3, "minus_y_unit": -2, "y_min": -1}
_INDEX = {**{name: i for i, name in enumerate(AIST_JOINT_NAMES)}, **_VIRTUAL}

hl, sw, hw = HUMERUS_LENGTH, SHOULDER_WIDTH, HIP_WIDTH
# The 32 relations in published order. ``move`` takes the reference call's first three joints:
# the reference ``f_move(j1, j2, j3, j4)`` ignores j4, so features 5-6, called there as
# ("belly", "chest", "chest", "rwrist"), measure the chest's velocity, not the wrist's
# (metrics.md lists them as "belly, chest, rwrist"); we keep the reference behaviour so FID_g
# stays comparable with published tables.
GEOMETRIC_RELATIONS: tuple[tuple[str, tuple[str, ...], float | tuple[float, float]], ...] = (
    ("nmove", ("neck", "rhip", "lhip", "rwrist"), 1.8 * hl),
    ("nmove", ("neck", "lhip", "rhip", "lwrist"), 1.8 * hl),
    ("nplane", ("chest", "neck", "neck", "rwrist"), 0.2 * hl),
    ("nplane", ("chest", "neck", "neck", "lwrist"), 0.2 * hl),
    ("move", ("belly", "chest", "chest"), 1.8 * hl),
    ("move", ("belly", "chest", "chest"), 1.8 * hl),
    ("angle", ("relbow", "rshoulder", "relbow", "rwrist"), (0.0, 110.0)),
    ("angle", ("lelbow", "lshoulder", "lelbow", "lwrist"), (0.0, 110.0)),
    ("nplane", ("lshoulder", "rshoulder", "lwrist", "rwrist"), 2.5 * sw),
    ("move", ("lwrist", "rwrist", "rwrist"), 1.4 * hl),
    ("move", ("rwrist", "root", "lwrist"), 1.4 * hl),
    ("move", ("lwrist", "root", "rwrist"), 1.4 * hl),
    ("fast", ("rwrist",), 2.5 * hl),
    ("fast", ("lwrist",), 2.5 * hl),
    ("plane", ("root", "lhip", "ltoes", "rankle"), 0.38 * hl),
    ("plane", ("root", "rhip", "rtoes", "lankle"), 0.38 * hl),
    ("nplane", ("zero", "y_unit", "y_min", "rankle"), 1.2 * hl),
    ("nplane", ("zero", "y_unit", "y_min", "lankle"), 1.2 * hl),
    ("nplane", ("lhip", "rhip", "lankle", "rankle"), 2.1 * hw),
    ("angle", ("rknee", "rhip", "rknee", "rankle"), (0.0, 110.0)),
    ("angle", ("lknee", "lhip", "lknee", "lankle"), (0.0, 110.0)),
    ("fast", ("rankle",), 2.5 * hl),
    ("fast", ("lankle",), 2.5 * hl),
    ("angle", ("neck", "root", "rshoulder", "relbow"), (25.0, 180.0)),
    ("angle", ("neck", "root", "lshoulder", "lelbow"), (25.0, 180.0)),
    ("angle", ("neck", "root", "rhip", "rknee"), (50.0, 180.0)),
    ("angle", ("neck", "root", "lhip", "lknee"), (50.0, 180.0)),
    ("plane", ("rankle", "neck", "lankle", "root"), 0.5 * hl),
    ("angle", ("neck", "root", "zero", "y_unit"), (70.0, 110.0)),
    ("nplane", ("zero", "minus_y_unit", "y_min", "rwrist"), -1.2 * hl),
    ("nplane", ("zero", "minus_y_unit", "y_min", "lwrist"), -1.2 * hl),
    ("fast", ("root",), 2.3 * hl),
)
del hl, sw, hw


@dataclass(frozen=True)
class Protocol:
    """How a clip is cut and placed before feature extraction."""

    name: str
    num_joints: int
    fps: int  # the protocol's frame rate; clips at another rate are resampled linearly
    max_frames: int
    root_relative: bool  # joints 1.. relative to the per-frame root (the root keeps its path)


AISTPP = Protocol("aist++", num_joints=24, fps=60, max_frames=1200, root_relative=False)
FINEDANCE = Protocol("finedance", num_joints=22, fps=30, max_frames=1024, root_relative=True)
# Our motions are 30 fps and 22 joints, as FineDance's: its protocol needs no resampling and no
# invented palms, so it is the project default.
DEFAULT_PROTOCOL = FINEDANCE
PROTOCOLS = {p.name: p for p in (AISTPP, FINEDANCE)}


def get_protocol(protocol: Protocol | str) -> Protocol:
    if isinstance(protocol, Protocol):
        return protocol
    if protocol not in PROTOCOLS:
        raise ValueError(f"Unknown protocol {protocol!r}; use one of {sorted(PROTOCOLS)}")
    return PROTOCOLS[protocol]


def as_positions(joints: np.ndarray, min_frames: int = 2, min_joints: int = 1) -> np.ndarray:
    """(T, J, 3) joint positions as a checked float64 array."""
    p = np.asarray(joints, dtype=np.float64)
    if p.ndim != 3 or p.shape[-1] != 3:
        raise ValueError(f"joints must be (T, J, 3) positions, got shape {p.shape}")
    if p.shape[0] < min_frames or p.shape[1] < min_joints:
        raise ValueError(f"need at least {min_frames} frames and {min_joints} joints, got shape {p.shape}")
    if not np.isfinite(p).all():
        raise ValueError("joints contain NaN or inf; fix the motion before measuring it")
    return p


def resample_linear(joints: np.ndarray, fps: float, target_fps: float) -> np.ndarray:
    """(T, J, 3) at ``fps`` -> (T', J, 3) at ``target_fps`` by linear interpolation, no extrapolation."""
    p = as_positions(joints, min_frames=1)
    if abs(fps - target_fps) < 1e-9:
        return p
    num_out = int(np.floor((len(p) - 1) * target_fps / fps + 1e-9)) + 1
    src = np.arange(num_out) * (fps / target_fps)  # (T',) source frame of each output frame
    lo = np.minimum(np.floor(src).astype(int), len(p) - 1)
    hi = np.minimum(lo + 1, len(p) - 1)
    t = (src - lo)[:, None, None]
    return p[lo] * (1 - t) + p[hi] * t


def _append_palms(p: np.ndarray) -> np.ndarray:
    """(T, 22, 3) -> (T, 24, 3): each palm extends its forearm by the rest palm length.

    An approximation (it ignores wrist flexion); pass 24 joints (``Motion.joints24()``) for the
    exact palms of export.
    """
    offsets = np.asarray(skeleton.REST_OFFSETS)
    palms = []
    for hand, wrist in ((22, 20), (23, 21)):
        elbow = skeleton.PARENTS[wrist]
        forearm = p[:, wrist] - p[:, elbow]  # (T, 3)
        unit = forearm / np.maximum(np.linalg.norm(forearm, axis=-1, keepdims=True), 1e-12)
        palms.append(p[:, wrist] + unit * np.linalg.norm(offsets[hand]))
    return np.concatenate([p, np.stack(palms, axis=1)], axis=1)


def prepare(joints: np.ndarray, fps: float = FPS, protocol: Protocol | str = DEFAULT_PROTOCOL) -> np.ndarray:
    """(T, J, 3) clip at ``fps`` -> the protocol's view of it, ready for feature extraction.

    AIST++ (Bailando): 24 joints (22-joint input gets approximate palms), resampled linearly to
    60 fps (a 30 fps clip becomes 2T - 1 frames), first 1200 frames, frame-0 root moved to the origin.
    FineDance (LODGE): 22 joints, 30 fps, first 1024 frames, frame-0 root at the origin, then joints
    1..21 made relative to the per-frame root (the root keeps its trajectory).
    """
    spec = get_protocol(protocol)
    p = as_positions(joints, min_joints=22)
    if p.shape[1] not in (22, 24):
        raise ValueError(f"expected 22 or 24 SMPL joints, got {p.shape[1]}")
    p = p[:, : spec.num_joints] if p.shape[1] >= spec.num_joints else _append_palms(p)
    p = resample_linear(p, fps, spec.fps)[: spec.max_frames]
    p = p - p[:1, :1]
    if spec.root_relative:
        p[:, 1:] -= p[:, :1]
    return p


def _windowed_velocity(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Horizontal and vertical sliding-window speeds (T-1, J) for frames i = 1..T-1.

    The reference sums the per-frame displacements p[m+1] - p[m], m = i-3..i+1 inside the clip;
    that sum telescopes to one difference, and c counts its terms.
    """
    num = len(p)
    i = np.arange(1, num)
    hi = np.minimum(i + KINETIC_WINDOW, num - 1)
    lo = np.maximum(i - KINETIC_WINDOW - 1, 0)
    d = p[hi] - p[lo]  # (T-1, J, 3)
    scale = ((hi - lo) * KINETIC_FRAME_TIME)[:, None]  # (T-1, 1): c * frame_time
    horizontal = np.linalg.norm(d[..., [0, 2]], axis=-1) / scale
    vertical = np.abs(d[..., 1]) / scale
    return horizontal, vertical


def _windowed_acceleration(p: np.ndarray, reference_slip: bool) -> np.ndarray:
    """Energy expenditure |mean of (v2 - v1) / frame_time| over the window, (T-1, J)."""
    ft = KINETIC_FRAME_TIME
    v2 = (p[2:] - p[1:-1]) / ft  # (T-2, J, 3) at n = 1..T-2
    # The reference divides only p[n-1] by frame_time (operator precedence); published numbers
    # include it, so it is the default. It makes the feature depend on absolute position.
    v1 = p[1:-1] - p[:-2] / ft if reference_slip else (p[1:-1] - p[:-2]) / ft
    terms = (v2 - v1) / ft
    # Frame i averages the terms n = i-2..i+2 that exist; term row n-1, output row i-1.
    w = KINETIC_WINDOW
    padded = np.pad(terms, ((w, 2 * w), (0, 0), (0, 0)))
    counts = np.pad(np.ones(len(terms)), (w, 2 * w))
    rows = len(p) - 1
    total = sum(padded[s : s + rows] for s in range(2 * w + 1))  # (T-1, J, 3)
    count = sum(counts[s : s + rows] for s in range(2 * w + 1))  # (T-1,)
    return np.linalg.norm(total, axis=-1) / count[:, None]


def kinetic_features(joints: np.ndarray, reference_slip: bool = True) -> np.ndarray:
    """(T, J, 3) -> (3J,) per joint: horizontal energy, vertical energy, energy expenditure.

    frame_time is the reference 1/60 s whatever the clip's rate. ``reference_slip=False`` gives
    the corrected acceleration (later AIST++ API and Bailando copies), not comparable with tables
    computed with the slip.
    """
    p = as_positions(joints, min_frames=3)
    horizontal, vertical = _windowed_velocity(p)
    expenditure = _windowed_acceleration(p, reference_slip)
    per_joint = np.stack(
        [(horizontal**2).mean(0), (vertical**2).mean(0), expenditure.mean(0)], axis=1
    )  # (J, 3)
    return per_joint.reshape(-1)


def _with_virtual_points(p: np.ndarray) -> np.ndarray:
    """(T, J, 3) -> (T, J + 4, 3) with zero, y_unit, minus_y_unit and y_min appended."""
    num = len(p)
    fixed = np.broadcast_to(np.array([[0.0, 0, 0], [0, 1, 0], [0, -1, 0]]), (num, 3, 3))
    y_min = np.zeros((num, 1, 3))
    y_min[:, 0, 1] = p[..., 1].min(axis=1)
    return np.concatenate([p, fixed, y_min], axis=1)


def _component_along(v: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """(N, 3), (N, 3) -> (N,) v . unit(direction); -inf where the direction is degenerate.

    The reference divides by zero there, giving NaN, and NaN > threshold is False; -inf keeps that
    outcome for every threshold without the warning.
    """
    norm = np.linalg.norm(direction, axis=-1)
    dot = np.einsum("nc,nc->n", v, direction)
    return np.where(norm > 0, dot / np.where(norm > 0, norm, 1.0), -np.inf)


def _angle_within(j: np.ndarray, k: np.ndarray, bounds: tuple[float, float]) -> np.ndarray:
    """(N, 3), (N, 3) -> (N,) lo < angle(j, k) in degrees < hi; False for a zero-length vector."""
    denom = np.linalg.norm(j, axis=-1) * np.linalg.norm(k, axis=-1)
    dot = np.einsum("nc,nc->n", j, k)
    cosine = np.divide(dot, denom, out=np.full_like(dot, 2.0), where=denom > 0)
    # Clipping only moves rounding noise to exactly 0 or 180 degrees, which no range includes.
    degrees = np.degrees(np.arccos(np.clip(cosine, -1.0, 1.0)))
    return (denom > 0) & (bounds[0] < degrees) & (degrees < bounds[1])


def _relation(
    kind: str, cur: np.ndarray, prev: np.ndarray, idx: tuple[int, ...], arg: float | tuple
) -> np.ndarray:
    """One boolean relation for every frame t = 1..T-1: (T-1,)."""
    c = [cur[:, i] for i in idx]
    if kind == "move":
        velocity = (c[2] - c[0]) - (prev[:, idx[2]] - prev[:, idx[0]])
        return _component_along(velocity, c[1] - c[0]) / GEOMETRIC_FRAME_TIME > arg
    if kind == "nmove":
        velocity = (c[3] - c[0]) - (prev[:, idx[3]] - prev[:, idx[0]])
        normal = np.cross(c[2] - c[0], c[1] - c[0])
        return _component_along(velocity, normal) / GEOMETRIC_FRAME_TIME > arg
    if kind == "plane":
        return _component_along(c[3] - c[0], np.cross(c[2] - c[0], c[1] - c[0])) > arg
    if kind == "nplane":
        return _component_along(c[3] - c[2], c[1] - c[0]) > arg
    if kind == "angle":
        return _angle_within(c[1] - c[0], c[3] - c[2], arg)
    if kind == "fast":
        return np.linalg.norm(c[0] - prev[:, idx[0]], axis=-1) / GEOMETRIC_FRAME_TIME > arg
    raise ValueError(f"unknown relation kind {kind!r}")


def geometric_features(joints: np.ndarray) -> np.ndarray:
    """(T, J, 3) with J >= 22 -> (32,): share of frames t = 1..T-1 where each relation holds.

    y_min is the lowest joint of the frame over all J joints given (as in the reference).
    """
    p = _with_virtual_points(as_positions(joints, min_frames=2, min_joints=22))
    cur, prev = p[1:], p[:-1]  # (T-1, J+4, 3)
    flags = [
        _relation(kind, cur, prev, tuple(_INDEX[n] for n in names), arg)
        for kind, names, arg in GEOMETRIC_RELATIONS
    ]
    return np.stack(flags, axis=1).mean(axis=0)  # (32,)
