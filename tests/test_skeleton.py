"""The SMPL skeleton: reference facts, forward kinematics, mirroring, body parts and joint parsing."""

from __future__ import annotations

import pytest
import torch

from dancemosaic import rotation, skeleton

REFLECT = torch.tensor([-1.0, 1.0, 1.0], dtype=torch.float64)


def random_rotations(*shape: int, seed: int = 0, amplitude: float = 1.0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return rotation.axis_angle_to_matrix(
        torch.randn(*shape, 3, generator=gen, dtype=torch.float64) * amplitude
    )


def symmetric_offsets() -> torch.Tensor:
    """(24, 3) rest offsets averaged with their mirror partners': an exactly symmetric skeleton."""
    offsets = skeleton.rest_offsets(torch.float64)
    return (offsets + offsets[skeleton.mirror_permutation()] * REFLECT) / 2


# ----------------------------------------------------------------------------- reference facts
def test_tables_match_the_reference() -> None:
    assert len(skeleton.JOINT_NAMES) == len(skeleton.PARENTS) == len(skeleton.REST_OFFSETS) == 24
    assert skeleton.PARENTS == (
        -1,
        0,
        0,
        0,
        1,
        2,
        3,
        4,
        5,
        6,
        7,
        8,
        9,
        9,
        9,
        12,
        13,
        14,
        16,
        17,
        18,
        19,
        20,
        21,
    )
    assert all(skeleton.PARENTS[j] < j for j in range(1, 24))
    assert skeleton.FOOT_JOINTS == (7, 10, 8, 11)
    assert skeleton.REST_OFFSETS[18] == (0.259612, -0.012772, -0.027456)


def test_mirror_pairs_swap_left_and_right_names() -> None:
    for left, right in skeleton.MIRROR_PAIRS:
        assert skeleton.JOINT_NAMES[left].startswith("left_")
        assert skeleton.JOINT_NAMES[right] == skeleton.JOINT_NAMES[left].replace("left_", "right_")
    sided = [n for n in skeleton.JOINT_NAMES if n.startswith(("left_", "right_"))]
    assert len(sided) == 2 * len(skeleton.MIRROR_PAIRS)
    perm = skeleton.mirror_permutation()
    assert sorted(perm) == list(range(24)) and [perm[p] for p in perm] == list(range(24))
    assert skeleton.mirror_permutation(22) == perm[:22]


def test_rest_pose_is_a_t_pose_facing_plus_z() -> None:
    rest = skeleton.rest_pose_joints()
    idx = skeleton.JOINT_INDEX
    # Left is +x; arms stretch out sideways; toes point forward (+z); head above pelvis above feet.
    assert rest[idx["left_hip"], 0] > 0 > rest[idx["right_hip"], 0]
    assert rest[idx["left_wrist"], 0] > rest[idx["left_elbow"], 0] > rest[idx["left_shoulder"], 0] > 0
    assert rest[idx["right_wrist"], 0] < rest[idx["right_elbow"], 0] < rest[idx["right_shoulder"], 0] < 0
    assert rest[idx["left_foot"], 2] > rest[idx["left_ankle"], 2]
    assert rest[idx["head"], 1] > rest[idx["pelvis"], 1] > rest[idx["left_ankle"], 1]
    height = rest[idx["head"], 1] - rest[:, 1].min()
    assert 1.4 < height < 1.7  # head joint of the neutral body, metres


def test_bone_lengths() -> None:
    offsets = skeleton.rest_offsets()
    lengths = skeleton.bone_lengths(offsets)
    assert lengths[0] == 0 and (lengths[1:] > 0.05).all()
    assert offsets[0].norm() > 0  # not zeroed in place by bone_lengths
    torch.testing.assert_close(lengths[1:], offsets[1:].norm(dim=-1))
    torch.testing.assert_close(skeleton.bone_lengths(), lengths)


# ----------------------------------------------------------------------------- forward kinematics
@pytest.mark.parametrize("num_joints", [22, 24])
def test_fk_keeps_bone_lengths_for_random_batched_poses(num_joints: int) -> None:
    rotations = random_rotations(3, 5, num_joints, seed=1)  # (B, T, J, 3, 3)
    root = torch.randn(3, 5, 3, dtype=torch.float64)
    positions, global_rot = skeleton.forward_kinematics(rotations, root)
    assert positions.shape == (3, 5, num_joints, 3) and global_rot.shape == (3, 5, num_joints, 3, 3)
    parents = list(skeleton.PARENTS[1:num_joints])
    bones = (positions[..., 1:, :] - positions[..., parents, :]).norm(dim=-1)
    expected = skeleton.bone_lengths(skeleton.rest_offsets(torch.float64))[1:num_joints]
    torch.testing.assert_close(bones, expected.expand_as(bones), atol=1e-12, rtol=0)
    torch.testing.assert_close(positions[..., 0, :], root)
    # Global rotations compose down the chain.
    for j in range(1, num_joints):
        torch.testing.assert_close(
            global_rot[..., j, :, :], global_rot[..., skeleton.PARENTS[j], :, :] @ rotations[..., j, :, :]
        )


def test_fk_of_identity_rotations_is_the_rest_pose_shifted() -> None:
    root = torch.tensor([[0.3, 1.1, -2.0], [0.0, 0.0, 0.0]])
    eye = torch.eye(3).expand(2, 24, 3, 3)
    positions, global_rot = skeleton.forward_kinematics(eye, root)
    rest = skeleton.rest_pose_joints()
    torch.testing.assert_close(positions, rest - rest[0] + root[:, None], atol=1e-6, rtol=0)
    torch.testing.assert_close(global_rot, eye)


def test_fk_root_rotation_turns_the_whole_body() -> None:
    turn = rotation.axis_angle_to_matrix(torch.tensor([0.0, torch.pi / 2, 0.0], dtype=torch.float64))
    rotations = torch.eye(3, dtype=torch.float64).repeat(24, 1, 1)
    rotations[0] = turn
    positions, _ = skeleton.forward_kinematics(rotations, torch.zeros(3, dtype=torch.float64))
    rest = skeleton.rest_pose_joints(torch.float64)
    # A quarter turn about +y maps (x, y, z) to (z, y, -x): the left arm now points to -z.
    rel = rest - rest[0]
    torch.testing.assert_close(positions, torch.stack([rel[:, 2], rel[:, 1], -rel[:, 0]], dim=-1))


def test_fk_is_differentiable() -> None:
    axis_angle = (torch.randn(2, 24, 3, dtype=torch.float64) * 0.5).requires_grad_(True)
    root = torch.randn(2, 3, dtype=torch.float64, requires_grad=True)
    positions, _ = skeleton.forward_kinematics(rotation.axis_angle_to_matrix(axis_angle), root)
    positions[:, skeleton.JOINT_INDEX["left_wrist"]].sum().backward()
    assert torch.isfinite(axis_angle.grad).all()
    # The wrist depends on its own chain of ancestors and on nothing else.
    chain, j = set(), skeleton.JOINT_INDEX["left_wrist"]
    while j > 0:
        j = skeleton.PARENTS[j]
        chain.add(j)
    moved = {j for j in range(24) if axis_angle.grad[:, j].abs().sum() > 0}
    assert moved == chain
    torch.testing.assert_close(root.grad, torch.full((2, 3), 1.0, dtype=torch.float64))


def test_fk_gradient_matches_finite_differences() -> None:
    axis_angle = (torch.randn(1, 22, 3, dtype=torch.float64) * 0.5).requires_grad_(True)

    def fk(aa: torch.Tensor) -> torch.Tensor:
        return skeleton.forward_kinematics(
            rotation.axis_angle_to_matrix(aa), torch.zeros(1, 3, dtype=aa.dtype)
        )[0]

    assert torch.autograd.gradcheck(fk, (axis_angle,))


# ----------------------------------------------------------------------------- mirroring
def test_mirroring_twice_is_the_identity() -> None:
    rotations = random_rotations(4, 24, seed=2)
    torch.testing.assert_close(skeleton.mirror_rotations(skeleton.mirror_rotations(rotations)), rotations)
    joints = torch.randn(4, 22, 3)
    torch.testing.assert_close(
        skeleton.mirror_joint_positions(skeleton.mirror_joint_positions(joints)), joints
    )
    points = torch.randn(7, 3)
    torch.testing.assert_close(skeleton.reflect_x(skeleton.reflect_x(points)), points)


def test_mirrored_rotations_negate_y_and_z_of_axis_angle() -> None:
    axis_angle = torch.randn(24, 3, dtype=torch.float64)
    mirrored = skeleton.mirror_rotations(rotation.axis_angle_to_matrix(axis_angle))
    expected = (axis_angle * torch.tensor([1.0, -1.0, -1.0], dtype=torch.float64))[
        skeleton.mirror_permutation()
    ]
    torch.testing.assert_close(mirrored, rotation.axis_angle_to_matrix(expected), atol=1e-12, rtol=0)


def test_mirrored_pose_on_a_symmetric_skeleton_is_exactly_the_mirror_image() -> None:
    rotations = random_rotations(6, 24, seed=3)
    root = torch.randn(6, 3, dtype=torch.float64)
    offsets = symmetric_offsets()
    positions, _ = skeleton.forward_kinematics(rotations, root, offsets)
    mirrored, _ = skeleton.forward_kinematics(
        skeleton.mirror_rotations(rotations), skeleton.reflect_x(root), offsets
    )
    torch.testing.assert_close(mirrored, skeleton.mirror_joint_positions(positions), atol=1e-12, rtol=0)


def test_mirrored_pose_on_smpl_is_the_mirror_image_up_to_rest_asymmetry() -> None:
    rotations = random_rotations(50, 24, seed=4, amplitude=0.4)
    root = torch.randn(50, 3, dtype=torch.float64)
    positions, _ = skeleton.forward_kinematics(rotations, root)
    mirrored, _ = skeleton.forward_kinematics(skeleton.mirror_rotations(rotations), skeleton.reflect_x(root))
    error = (mirrored - skeleton.mirror_joint_positions(positions)).norm(dim=-1)  # (50, 24)
    # Rotations keep lengths, so a joint can be off by at most the summed asymmetry of its chain.
    offsets = skeleton.rest_offsets(torch.float64)
    asym = (offsets - offsets[skeleton.mirror_permutation()] * REFLECT).norm(dim=-1)
    asym[0] = 0.0
    bound = asym.clone()
    for j in range(1, 24):
        bound[j] = bound[skeleton.PARENTS[j]] + asym[j]
    assert (error <= bound + 1e-9).all()
    assert error.mean() < 0.02 and error[:, :22].max() < 0.05  # metres
    assert error.max() > 1e-4  # the SMPL rest skeleton really is slightly asymmetric


# ----------------------------------------------------------------------------- parts and names
def test_body_parts_match_the_reference() -> None:
    parts = skeleton.BODY_PARTS
    assert set(parts["lower_body"]) == {0, 1, 2, 4, 5, 7, 8, 10, 11}
    assert set(parts["upper_body"]) == {3, 6, 9} | set(range(12, 24))
    assert set(parts["left_arm"]) == {13, 16, 18, 20, 22}
    assert set(parts["right_arm"]) == {14, 17, 19, 21, 23}
    assert set(parts["left_leg"]) == {1, 4, 7, 10}
    assert set(parts["right_leg"]) == {2, 5, 8, 11}
    assert set(parts["head"]) == {12, 15}
    assert set(parts["root_trajectory"]) == {0}
    assert set(parts["arms"]) == set(parts["left_arm"]) | set(parts["right_arm"])
    assert set(parts["legs"]) == set(parts["left_leg"]) | set(parts["right_leg"])
    # Lower and upper body split the skeleton in two.
    assert set(parts["lower_body"]) | set(parts["upper_body"]) == set(range(24))
    assert not set(parts["lower_body"]) & set(parts["upper_body"])
    # Left and right limbs are mirror images of each other.
    perm = skeleton.mirror_permutation()
    assert [perm[j] for j in parts["left_arm"]] == list(parts["right_arm"])
    assert [perm[j] for j in parts["left_leg"]] == list(parts["right_leg"])


def test_parse_joints_accepts_joints_parts_and_loose_spelling() -> None:
    assert skeleton.parse_joints(["head"]) == [12, 15]
    assert skeleton.parse_joints(["left_wrist"]) == [20]
    assert skeleton.parse_joints(["Left Arm", " right_wrist "]) == [13, 16, 18, 20, 21, 22]
    assert skeleton.parse_joints(("left_arm", "left_wrist", "left_arm")) == [13, 16, 18, 20, 22]
    assert skeleton.parse_joints(["lower_body", "upper_body"]) == list(range(24))
    assert skeleton.parse_joints([]) == []


def test_parse_joints_rejects_unknown_names_and_lists_valid_ones() -> None:
    with pytest.raises(ValueError, match="'left_tentacle'") as err:
        skeleton.parse_joints(["head", "left_tentacle"])
    assert "upper_body" in str(err.value) and "right_elbow" in str(err.value)
