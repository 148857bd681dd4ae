"""Rotation conversions: round trips, proper rotations, conventions, gradients at zero, slerp."""

from __future__ import annotations

import math

import pytest
import torch

from dancemosaic import rotation

ORDERS = ("XYZ", "XZY", "YXZ", "YZX", "ZXY", "ZYX")


def random_axis_angle(*shape: int, max_angle: float = math.pi, seed: int = 0) -> torch.Tensor:
    """(*shape, 3) float64 axis-angles with angles uniform in [0, max_angle)."""
    gen = torch.Generator().manual_seed(seed)
    axis = torch.nn.functional.normalize(torch.randn(*shape, 3, generator=gen, dtype=torch.float64), dim=-1)
    return axis * torch.rand(*shape, 1, generator=gen, dtype=torch.float64) * max_angle


def assert_proper_rotation(matrix: torch.Tensor, atol: float = 1e-5) -> None:
    eye = torch.eye(3, dtype=matrix.dtype).expand_as(matrix)
    torch.testing.assert_close(matrix @ matrix.transpose(-1, -2), eye, atol=atol, rtol=0)
    torch.testing.assert_close(torch.det(matrix), torch.ones(matrix.shape[:-2], dtype=matrix.dtype))


def explicit_axis_matrix(axis: str, degrees: float) -> torch.Tensor:
    """The textbook right-handed rotation about one coordinate axis, written out by hand."""
    c, s = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
    rows = {
        "X": [[1, 0, 0], [0, c, -s], [0, s, c]],
        "Y": [[c, 0, s], [0, 1, 0], [-s, 0, c]],
        "Z": [[c, -s, 0], [s, c, 0], [0, 0, 1]],
    }[axis]
    return torch.tensor(rows, dtype=torch.float64)


def angle_between(q0: torch.Tensor, q1: torch.Tensor) -> torch.Tensor:
    """Rotation angle (rad) taking unit quaternion q0 to q1."""
    return 2 * torch.acos((q0 * q1).sum(-1).abs().clamp(max=1.0))


# ----------------------------------------------------------------------------- round trips
def test_axis_angle_matrix_round_trip() -> None:
    axis_angle = random_axis_angle(4, 50, max_angle=math.pi - 1e-3)
    matrix = rotation.axis_angle_to_matrix(axis_angle)
    assert matrix.shape == (4, 50, 3, 3)
    # Below pi the axis-angle is unique, so the vectors themselves must come back.
    torch.testing.assert_close(rotation.matrix_to_axis_angle(matrix), axis_angle, atol=1e-9, rtol=0)


def test_axis_angle_matches_rodrigues_formula() -> None:
    axis_angle = random_axis_angle(200, seed=1)
    angle = axis_angle.norm(dim=-1)[:, None, None]
    k = axis_angle / axis_angle.norm(dim=-1, keepdim=True)
    skew = torch.zeros(200, 3, 3, dtype=torch.float64)
    skew[:, 0, 1], skew[:, 0, 2], skew[:, 1, 2] = -k[:, 2], k[:, 1], -k[:, 0]
    skew = skew - skew.transpose(-1, -2)
    rodrigues = torch.eye(3, dtype=torch.float64) + angle.sin() * skew + (1 - angle.cos()) * skew @ skew
    torch.testing.assert_close(rotation.axis_angle_to_matrix(axis_angle), rodrigues, atol=1e-12, rtol=0)


def test_half_turn_round_trips_as_a_matrix() -> None:
    # At pi the axis is only defined up to sign: compare the rotations, not the vectors.
    axis_angle = torch.nn.functional.normalize(torch.randn(20, 3, dtype=torch.float64), dim=-1) * math.pi
    matrix = rotation.axis_angle_to_matrix(axis_angle)
    back = rotation.matrix_to_axis_angle(matrix)
    torch.testing.assert_close(back.norm(dim=-1), torch.full((20,), math.pi, dtype=torch.float64))
    torch.testing.assert_close(rotation.axis_angle_to_matrix(back), matrix, atol=1e-9, rtol=0)


def test_small_angles_are_accurate_on_both_sides_of_the_taylor_switch() -> None:
    for angle in (1e-9, 5e-7, 2e-6, 1e-4):
        axis_angle = torch.tensor([angle, 0.0, 0.0], dtype=torch.float64)
        quat = rotation.axis_angle_to_quaternion(axis_angle)
        expected = torch.tensor([math.cos(angle / 2), math.sin(angle / 2), 0, 0], dtype=torch.float64)
        torch.testing.assert_close(quat, expected, atol=1e-15, rtol=0)
        torch.testing.assert_close(rotation.quaternion_to_axis_angle(quat), axis_angle, atol=1e-15, rtol=1e-9)


def test_matrix_quaternion_round_trip_and_sign() -> None:
    matrix = rotation.axis_angle_to_matrix(random_axis_angle(500, seed=2))
    quat = rotation.matrix_to_quaternion(matrix)
    torch.testing.assert_close(quat.norm(dim=-1), torch.ones(500, dtype=torch.float64))
    assert (quat[:, 0] >= 0).all()
    torch.testing.assert_close(rotation.quaternion_to_matrix(quat), matrix, atol=1e-12, rtol=0)
    # q and -q are the same rotation.
    torch.testing.assert_close(rotation.quaternion_to_matrix(-quat), matrix, atol=1e-12, rtol=0)


def test_matrix_to_quaternion_handles_every_largest_component() -> None:
    # Half turns about x, y, z and the identity: each picks a different Shepperd branch.
    for axis_angle, expected in [
        ([0.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0]),
        ([math.pi, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0]),
        ([0.0, math.pi, 0.0], [0.0, 0.0, 1.0, 0.0]),
        ([0.0, 0.0, math.pi], [0.0, 0.0, 0.0, 1.0]),
    ]:
        matrix = rotation.axis_angle_to_matrix(torch.tensor(axis_angle, dtype=torch.float64))
        quat = rotation.matrix_to_quaternion(matrix)
        sign = 1.0 if (quat * torch.tensor(expected, dtype=torch.float64)).sum() >= 0 else -1.0
        torch.testing.assert_close(
            quat * sign, torch.tensor(expected, dtype=torch.float64), atol=1e-12, rtol=0
        )


def test_quaternion_axis_angle_uses_the_short_way() -> None:
    quat = rotation.axis_angle_to_quaternion(random_axis_angle(100, seed=3))
    back = rotation.quaternion_to_axis_angle(-quat)  # w < 0: same rotation
    assert (back.norm(dim=-1) <= math.pi + 1e-9).all()
    torch.testing.assert_close(
        rotation.axis_angle_to_matrix(back), rotation.quaternion_to_matrix(quat), atol=1e-12, rtol=0
    )


def test_rot6d_is_the_first_two_rows_and_round_trips() -> None:
    matrix = rotation.axis_angle_to_matrix(random_axis_angle(3, 7, seed=4))
    rot6d = rotation.matrix_to_rot6d(matrix)
    assert rot6d.shape == (3, 7, 6)
    torch.testing.assert_close(rot6d[..., :3], matrix[..., 0, :])
    torch.testing.assert_close(rot6d[..., 3:], matrix[..., 1, :])
    torch.testing.assert_close(rotation.rot6d_to_matrix(rot6d), matrix, atol=1e-12, rtol=0)
    axis_angle = random_axis_angle(50, max_angle=3.0, seed=5)
    torch.testing.assert_close(
        rotation.rot6d_to_axis_angle(rotation.axis_angle_to_rot6d(axis_angle)), axis_angle, atol=1e-9, rtol=0
    )


# ----------------------------------------------------------------------------- proper rotations
def test_every_constructor_returns_proper_rotations() -> None:
    gen = torch.Generator().manual_seed(6)
    assert_proper_rotation(rotation.axis_angle_to_matrix(torch.randn(300, 3, generator=gen) * 3))
    # Unnormalised quaternions and arbitrary 6D vectors must still give rotations.
    assert_proper_rotation(rotation.quaternion_to_matrix(torch.randn(300, 4, generator=gen) * 5))
    assert_proper_rotation(rotation.rot6d_to_matrix(torch.randn(300, 6, generator=gen) * 5))
    for order in ORDERS:
        assert_proper_rotation(rotation.euler_to_matrix(torch.rand(300, 3, generator=gen) * 720 - 360, order))


# ----------------------------------------------------------------------------- Euler angles
@pytest.mark.parametrize("order", ORDERS)
def test_euler_to_matrix_is_intrinsic_in_channel_order(order: str) -> None:
    angles = (30.0, -50.0, 110.0)
    expected = torch.eye(3, dtype=torch.float64)
    for axis, degrees in zip(order, angles, strict=True):
        expected = expected @ explicit_axis_matrix(axis, degrees)
    result = rotation.euler_to_matrix(torch.tensor(angles, dtype=torch.float64), order)
    torch.testing.assert_close(result, expected, atol=1e-12, rtol=0)


@pytest.mark.parametrize("order", ORDERS)
def test_euler_round_trip_for_random_rotations(order: str) -> None:
    matrix = rotation.axis_angle_to_matrix(random_axis_angle(1000, seed=7))
    euler = rotation.matrix_to_euler(matrix, order)
    assert (euler.abs() <= 180 + 1e-9).all() and (euler[:, 1].abs() <= 90 + 1e-9).all()
    torch.testing.assert_close(rotation.euler_to_matrix(euler, order), matrix, atol=1e-12, rtol=0)
    # Inside the principal ranges the angles themselves are unique.
    angles = torch.tensor(
        [[10.0, 20.0, 30.0], [-170.0, 80.0, 95.0], [45.0, -89.0, -120.0]], dtype=torch.float64
    )
    torch.testing.assert_close(
        rotation.matrix_to_euler(rotation.euler_to_matrix(angles, order), order), angles, atol=1e-9, rtol=0
    )


@pytest.mark.parametrize("order", ORDERS)
def test_euler_round_trip_at_and_near_gimbal_lock(order: str) -> None:
    middles = [89.0, 89.9, 89.99, 89.9999, 89.999999, 90.0, 90.0001, 90.01]
    middles += [-m for m in middles]
    angles = torch.tensor(
        [[first, middle, last] for middle in middles for first, last in [(37, -121), (-170, 15), (0, 0)]],
        dtype=torch.float64,
    )
    for dtype, atol in [(torch.float64, 1e-12), (torch.float32, 2e-5)]:
        matrix = rotation.euler_to_matrix(angles.to(dtype), order)
        euler = rotation.matrix_to_euler(matrix, order)
        assert torch.isfinite(euler).all()
        torch.testing.assert_close(rotation.euler_to_matrix(euler, order), matrix, atol=atol, rtol=0)


def test_exact_gimbal_lock_puts_the_whole_turn_in_the_first_angle() -> None:
    matrix = rotation.euler_to_matrix(torch.tensor([30.0, 90.0, 20.0], dtype=torch.float64), "XYZ")
    euler = rotation.matrix_to_euler(matrix, "XYZ")
    torch.testing.assert_close(euler, torch.tensor([50.0, 90.0, 0.0], dtype=torch.float64), atol=1e-9, rtol=0)


@pytest.mark.parametrize("order", ["XY", "XXY", "XYZW", "ABC"])
def test_invalid_euler_order_raises(order: str) -> None:
    with pytest.raises(ValueError, match="permutation of XYZ"):
        rotation.euler_to_matrix(torch.zeros(3), order)
    with pytest.raises(ValueError, match="permutation of XYZ"):
        rotation.matrix_to_euler(torch.eye(3), order)


def test_lowercase_orders_are_accepted() -> None:
    angles = torch.tensor([10.0, 20.0, 30.0])
    torch.testing.assert_close(
        rotation.euler_to_matrix(angles, "zxy"), rotation.euler_to_matrix(angles, "ZXY")
    )


# ----------------------------------------------------------------------------- gradients
def test_gradients_are_finite_at_zero_rotation() -> None:
    axis_angle = torch.zeros(5, 3, requires_grad=True)
    matrix = rotation.axis_angle_to_matrix(axis_angle)
    (matrix * torch.randn(5, 3, 3)).sum().backward()
    assert torch.isfinite(axis_angle.grad).all()

    identity = torch.eye(3).expand(5, 3, 3).clone().requires_grad_(True)
    rotation.matrix_to_axis_angle(identity).sum().backward()
    assert torch.isfinite(identity.grad).all()


def test_derivative_at_zero_is_the_cross_product_generator() -> None:
    jac = torch.autograd.functional.jacobian(
        rotation.axis_angle_to_matrix, torch.zeros(3, dtype=torch.float64)
    )
    # d R / d w_k at w = 0 is the skew matrix [e_k]_x.
    for k in range(3):
        e = torch.zeros(3, dtype=torch.float64)
        e[k] = 1.0
        skew = torch.linalg.cross(e.expand(3, 3), torch.eye(3, dtype=torch.float64)).T
        torch.testing.assert_close(jac[..., k], skew, atol=1e-12, rtol=0)


def test_euler_to_matrix_is_differentiable() -> None:
    degrees = torch.tensor([[10.0, 20.0, 30.0]], requires_grad=True)
    rotation.euler_to_matrix(degrees, "ZXY")[..., 0, 1].sum().backward()
    assert torch.isfinite(degrees.grad).all() and degrees.grad.abs().sum() > 0


# ----------------------------------------------------------------------------- slerp
def test_slerp_endpoints_and_midpoint() -> None:
    axis_angle = random_axis_angle(100, max_angle=math.pi - 0.1, seed=8)
    q0 = rotation.axis_angle_to_quaternion(torch.zeros_like(axis_angle))
    q1 = rotation.axis_angle_to_quaternion(axis_angle)
    ones = torch.ones(100, dtype=torch.float64)
    torch.testing.assert_close(rotation.slerp(q0, q1, 0 * ones), q0, atol=1e-12, rtol=0)
    torch.testing.assert_close(rotation.slerp(q0, q1, ones), q1, atol=1e-12, rtol=0)
    half = rotation.slerp(q0, q1, 0.5 * ones)
    torch.testing.assert_close(rotation.quaternion_to_axis_angle(half), axis_angle / 2, atol=1e-9, rtol=0)


def test_slerp_moves_at_constant_speed_along_the_short_arc() -> None:
    q0 = rotation.axis_angle_to_quaternion(random_axis_angle(50, seed=9))
    q1 = rotation.axis_angle_to_quaternion(random_axis_angle(50, seed=10))
    total = angle_between(q0, q1)
    for t in (0.1, 0.25, 0.7):
        qt = rotation.slerp(q0, q1, torch.full((50,), t, dtype=torch.float64))
        torch.testing.assert_close(angle_between(q0, qt), t * total, atol=1e-9, rtol=0)
        torch.testing.assert_close(angle_between(qt, q1), (1 - t) * total, atol=1e-9, rtol=0)
        # -q1 is the same rotation: slerp must take the same (short) path.
        flipped = rotation.slerp(q0, -q1, torch.full((50,), t, dtype=torch.float64))
        torch.testing.assert_close(
            rotation.quaternion_to_matrix(flipped), rotation.quaternion_to_matrix(qt), atol=1e-9, rtol=0
        )


def test_slerp_between_equal_quaternions_is_finite() -> None:
    q = rotation.axis_angle_to_quaternion(random_axis_angle(10, seed=11))
    out = rotation.slerp(q, q, torch.full((10,), 0.3, dtype=torch.float64))
    torch.testing.assert_close(out, q, atol=1e-12, rtol=0)


def test_sign_continuous_keeps_each_rotation_and_makes_neighbours_agree():
    gen = torch.Generator().manual_seed(0)
    steps = torch.randn(50, 3, 4, generator=gen) * 0.05
    quat = torch.nn.functional.normalize(torch.cumsum(steps, 0) + torch.tensor([1.0, 0, 0, 0]), dim=-1)
    flipped = quat * torch.where(torch.rand(50, 3, 1, generator=gen) < 0.5, -1.0, 1.0)
    fixed = rotation.sign_continuous(flipped)
    assert bool(((fixed[1:] * fixed[:-1]).sum(-1) > 0).all())
    assert torch.allclose(fixed.abs(), flipped.abs())  # each one q or -q of what it was
    same = rotation.quaternion_to_matrix(fixed), rotation.quaternion_to_matrix(quat)
    assert torch.allclose(*same, atol=1e-6)


def test_nlerp_ends_on_its_inputs_halves_on_the_short_way_and_has_gradients_where_they_agree() -> None:
    axis_angle = random_axis_angle(100, max_angle=math.pi - 0.1, seed=11)
    q0 = rotation.axis_angle_to_quaternion(torch.zeros_like(axis_angle))
    q1 = rotation.axis_angle_to_quaternion(axis_angle)
    ones = torch.ones(100, 1, dtype=torch.float64)
    torch.testing.assert_close(rotation.nlerp(q0, q1, 0 * ones), q0, atol=1e-12, rtol=0)
    torch.testing.assert_close(rotation.nlerp(q0, -q1, ones), q1, atol=1e-12, rtol=0)  # -q1 taken as q1
    half = rotation.nlerp(q0, -q1, 0.5 * ones)  # the midpoint of the short arc, like slerp's
    torch.testing.assert_close(rotation.quaternion_to_axis_angle(half), axis_angle / 2, atol=1e-9, rtol=0)
    same = q1.clone().requires_grad_(True)
    rotation.nlerp(same, q1, 0.3 * ones).sum().backward()
    assert torch.isfinite(same.grad).all()
