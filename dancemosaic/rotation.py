"""Rotation conversions: axis-angle, matrices, 6D, quaternions and Euler angles (torch, batched).

All functions take any leading batch shape and are differentiable. Quaternions are (w, x, y, z).
The 6D representation is the first two *rows* of the matrix, as pytorch3d's
``matrix_to_rotation_6d`` writes it, so FineDance/EDGE files read without conversion.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

_EPS = 1e-8


def axis_angle_to_quaternion(axis_angle: torch.Tensor) -> torch.Tensor:
    """(..., 3) -> (..., 4). Uses sin(x/2)/x's Taylor series near 0 so gradients stay finite."""
    angle = axis_angle.norm(dim=-1, keepdim=True)  # (..., 1)
    half = angle / 2
    small = angle < 1e-6
    safe = torch.where(small, torch.ones_like(angle), angle)
    scale = torch.where(small, 0.5 - angle**2 / 48, torch.sin(half) / safe)
    return torch.cat([torch.cos(half), axis_angle * scale], dim=-1)


def quaternion_to_axis_angle(quat: torch.Tensor) -> torch.Tensor:
    """(..., 4) -> (..., 3), angle in [0, pi]."""
    quat = torch.where(quat[..., :1] < 0, -quat, quat)  # same rotation, w >= 0
    sin_half = quat[..., 1:].norm(dim=-1, keepdim=True)
    half = torch.atan2(sin_half, quat[..., :1])
    angle = 2 * half
    small = sin_half < 1e-6
    safe = torch.where(small, torch.ones_like(sin_half), sin_half)
    scale = torch.where(small, 2.0 + half**2 / 3, angle / safe)
    return quat[..., 1:] * scale


def quaternion_to_matrix(quat: torch.Tensor) -> torch.Tensor:
    """(..., 4) -> (..., 3, 3); the quaternion need not be unit length."""
    w, x, y, z = F.normalize(quat, dim=-1).unbind(-1)
    rows = [
        1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
        2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
        2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
    ]  # fmt: skip
    return torch.stack(rows, dim=-1).reshape(quat.shape[:-1] + (3, 3))


def matrix_to_quaternion(matrix: torch.Tensor) -> torch.Tensor:
    """(..., 3, 3) -> (..., 4) with w >= 0.

    Computes all four candidate solutions and keeps, per element, the one with the largest
    denominator: the numerically stable branch (Shepperd's method) without data-dependent control flow.
    """
    m = matrix
    m00, m11, m22 = m[..., 0, 0], m[..., 1, 1], m[..., 2, 2]
    four_sq = torch.stack(
        [1 + m00 + m11 + m22, 1 + m00 - m11 - m22, 1 - m00 + m11 - m22, 1 - m00 - m11 + m22], dim=-1
    )  # (..., 4): 4 * (w^2, x^2, y^2, z^2)
    roots = torch.sqrt(four_sq.clamp_min(_EPS))
    d21, d02, d10 = (
        m[..., 2, 1] - m[..., 1, 2],
        m[..., 0, 2] - m[..., 2, 0],
        m[..., 1, 0] - m[..., 0, 1],
    )
    s21, s02, s10 = (
        m[..., 2, 1] + m[..., 1, 2],
        m[..., 0, 2] + m[..., 2, 0],
        m[..., 1, 0] + m[..., 0, 1],
    )
    candidates = torch.stack(
        [
            torch.stack([four_sq[..., 0], d21, d02, d10], dim=-1),
            torch.stack([d21, four_sq[..., 1], s10, s02], dim=-1),
            torch.stack([d02, s10, four_sq[..., 2], s21], dim=-1),
            torch.stack([d10, s02, s21, four_sq[..., 3]], dim=-1),
        ],
        dim=-2,
    ) / (2 * roots[..., None])  # (..., 4 candidates, 4)
    best = four_sq.argmax(dim=-1)
    quat = torch.gather(candidates, -2, best[..., None, None].expand(best.shape + (1, 4)))[..., 0, :]
    quat = F.normalize(quat, dim=-1)
    return torch.where(quat[..., :1] < 0, -quat, quat)


def axis_angle_to_matrix(axis_angle: torch.Tensor) -> torch.Tensor:
    """(..., 3) -> (..., 3, 3)."""
    return quaternion_to_matrix(axis_angle_to_quaternion(axis_angle))


def matrix_to_axis_angle(matrix: torch.Tensor) -> torch.Tensor:
    """(..., 3, 3) -> (..., 3)."""
    return quaternion_to_axis_angle(matrix_to_quaternion(matrix))


def matrix_to_rot6d(matrix: torch.Tensor) -> torch.Tensor:
    """(..., 3, 3) -> (..., 6): the first two rows (pytorch3d / FineDance convention)."""
    return matrix[..., :2, :].reshape(matrix.shape[:-2] + (6,))


def rot6d_to_matrix(rot6d: torch.Tensor) -> torch.Tensor:
    """(..., 6) -> (..., 3, 3) by Gram-Schmidt (Zhou et al. 2019); any 6 numbers give a rotation."""
    a1, a2 = rot6d[..., :3], rot6d[..., 3:]
    b1 = F.normalize(a1, dim=-1)
    b2 = F.normalize(a2 - (b1 * a2).sum(-1, keepdim=True) * b1, dim=-1)
    b3 = torch.cross(b1, b2, dim=-1)
    return torch.stack([b1, b2, b3], dim=-2)


def axis_angle_to_rot6d(axis_angle: torch.Tensor) -> torch.Tensor:
    return matrix_to_rot6d(axis_angle_to_matrix(axis_angle))


def rot6d_to_axis_angle(rot6d: torch.Tensor) -> torch.Tensor:
    return matrix_to_axis_angle(rot6d_to_matrix(rot6d))


def euler_to_matrix(degrees: torch.Tensor, order: str) -> torch.Tensor:
    """(..., 3) intrinsic Euler angles in degrees -> (..., 3, 3).

    ``order`` names the axes as a BVH CHANNELS line lists them (e.g. "ZXY"): the rotation is
    R = R_first @ R_second @ R_third, each about the joint's local (intrinsic) axis.
    """
    _check_order(order)
    radians = torch.deg2rad(degrees)
    result = None
    for i, axis in enumerate(order.upper()):
        rot = _axis_rotation(radians[..., i], "XYZ".index(axis))
        result = rot if result is None else result @ rot
    return result


def _axis_rotation(radians: torch.Tensor, axis: int) -> torch.Tensor:
    """(...,) angles about coordinate axis ``axis`` (0, 1, 2) -> (..., 3, 3)."""
    axis_angle = torch.zeros(radians.shape + (3,), dtype=radians.dtype, device=radians.device)
    axis_angle[..., axis] = radians
    return axis_angle_to_matrix(axis_angle)


def matrix_to_euler(matrix: torch.Tensor, order: str) -> torch.Tensor:
    """(..., 3, 3) -> (..., 3) intrinsic Euler angles in degrees for ``order`` (inverse of above).

    For R = R_a(t0) R_b(t1) R_c(t2) with axes (a, b, c) a permutation of XYZ and parity sign s:
    sin(t1) = s * R[a, c], cos(t1) = |(R[a, a], R[a, b])|, t2 = atan2(-s * R[a, b], R[a, a]), and
    t0 is read from R R_c(t2)^T R_b(t1)^T = R_a(t0). Taking t0 from that remainder keeps the result
    exact next to gimbal lock, where t2 is ill-conditioned; at lock (cos(t1) = 0) t2 is set to 0
    and t0 absorbs the whole remaining rotation.
    """
    _check_order(order)
    a, b, c = ("XYZ".index(axis) for axis in order.upper())
    sign = 1.0 if (b - a) % 3 == 1 else -1.0
    m = matrix
    cos_t1 = torch.hypot(m[..., a, a], m[..., a, b])
    t1 = torch.atan2(sign * m[..., a, c], cos_t1)
    t2 = torch.atan2(-sign * m[..., a, b], m[..., a, a])
    t2 = torch.where(cos_t1 < 16 * torch.finfo(m.dtype).eps, torch.zeros_like(t2), t2)
    remainder = m @ (_axis_rotation(t1, b) @ _axis_rotation(t2, c)).transpose(-1, -2)
    a1, a2 = (a + 1) % 3, (a + 2) % 3
    t0 = torch.atan2(remainder[..., a2, a1], remainder[..., a1, a1])
    return torch.rad2deg(torch.stack([t0, t1, t2], dim=-1))


def _check_order(order: str) -> None:
    if sorted(order.upper()) != ["X", "Y", "Z"]:
        raise ValueError(f"Euler order must be a permutation of XYZ, got {order!r}")


def sign_continuous(quat: torch.Tensor) -> torch.Tensor:
    """(T, ..., 4) unit quaternions over time -> the same rotations, each frame's sign chosen to
    agree with the previous frame's (q and -q are one rotation, but averages and filters over time
    would cancel them)."""
    agree = torch.where((quat[1:] * quat[:-1]).sum(-1) < 0, -1.0, 1.0).to(quat)  # (T-1, ...)
    signs = torch.cat([torch.ones_like(agree[:1]), torch.cumprod(agree, dim=0)])
    return quat * signs[..., None]


def nlerp(q0: torch.Tensor, q1: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Normalised linear interpolation between unit quaternions (..., 4) with weights t (..., 1),
    the short way round. Close to slerp for nearby rotations, and unlike slerp's arccos its
    gradient stays finite where the two agree (token steering decodes through it)."""
    q1 = torch.where((q0 * q1).sum(-1, keepdim=True) < 0, -q1, q1)
    return F.normalize(torch.lerp(q0, q1, t), dim=-1)


def slerp(q0: torch.Tensor, q1: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation between unit quaternions (..., 4) with weights t (...,) in [0, 1]."""
    dot = (q0 * q1).sum(-1, keepdim=True)
    q1 = torch.where(dot < 0, -q1, q1)  # take the short way round
    dot = dot.abs().clamp(max=1.0)
    theta = torch.acos(dot)
    sin_theta = torch.sin(theta)
    t = t[..., None]
    near = sin_theta < 1e-6
    safe = torch.where(near, torch.ones_like(sin_theta), sin_theta)
    w0 = torch.where(near, 1 - t, torch.sin((1 - t) * theta) / safe)
    w1 = torch.where(near, t, torch.sin(t * theta) / safe)
    return F.normalize(w0 * q0 + w1 * q1, dim=-1)
