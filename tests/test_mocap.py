"""Mocap export and import: our BVH read back by us and by an independent reader (bvhio), retargeting
a rig with other names, units and proportions, rig detection, and (when present) the real data."""

from __future__ import annotations

from pathlib import Path

import bvhio
import pytest
import torch

from dancemosaic import bvh, mocap, rigs, rotation, skeleton
from dancemosaic import motion as motion_ops
from dancemosaic.motion import Motion

MOCAP_DATA = Path("/work/shared/data/mocap")
BANDAI_CHANNELS = ("Xposition", "Yposition", "Zposition", "Zrotation", "Xrotation", "Yrotation")
# Bandai joint -> (canonical joint, parent Bandai joint); Chest spans spine2 + spine3.
BANDAI_TREE = {
    "Hips": ("pelvis", "joint_Root"), "Spine": ("spine1", "Hips"), "Chest": ("spine3", "Spine"),
    "Neck": ("neck", "Chest"), "Head": ("head", "Neck"),
    **{f"{src}_{s}": (f"{side}_{dst}", parent.format(s=s))
       for s, side in (("L", "left"), ("R", "right"))
       for src, dst, parent in (
           ("Shoulder", "collar", "Chest"), ("UpperArm", "shoulder", "Shoulder_{s}"),
           ("LowerArm", "elbow", "UpperArm_{s}"), ("Hand", "wrist", "LowerArm_{s}"),
           ("UpperLeg", "hip", "Hips"), ("LowerLeg", "knee", "UpperLeg_{s}"),
           ("Foot", "ankle", "LowerLeg_{s}"), ("Toes", "foot", "Foot_{s}"))},
}  # fmt: skip
LEG_JOINTS = [1, 2, 4, 5, 7, 8]  # hips, knees, ankles
LIMB_BONES = [4, 5, 7, 8, 16, 17, 18, 19, 20, 21]  # bones ending at knees, ankles, shoulders, elbows, wrists


def export_and_read(motion: Motion, path: Path) -> bvh.Bvh:
    mocap.export_bvh(motion, path)
    return bvh.read_bvh(path)


def bone_angles(a: torch.Tensor, b: torch.Tensor, bones: list[int]) -> torch.Tensor:
    """(F, J, 3) two poses -> (F, len(bones)) angle (deg) between their bones parent -> joint."""
    parents = [skeleton.PARENTS[j] for j in bones]
    da, db = a[:, bones] - a[:, parents], b[:, bones] - b[:, parents]
    cos = torch.nn.functional.cosine_similarity(da.double(), db.double(), dim=-1)
    return torch.rad2deg(torch.acos(cos.clamp(-1, 1)))


# ----------------------------------------------------------------------------- our own export
def test_export_structure(make_motion, tmp_path) -> None:
    motion = make_motion(frames=6, seed=1)
    source = export_and_read(motion, tmp_path / "dance.bvh")
    order = [source.names.index(name) for name in skeleton.JOINT_NAMES]  # the file lists them depth first
    assert source.fps == pytest.approx(30.0, rel=1e-6)
    assert source.frames.shape == (6, 6 + 23 * 3)
    end_sites = [j for j in source.joints if j.is_end_site]
    assert {source.names[j.parent] for j in end_sites} == {
        "head",
        "left_foot",
        "right_foot",
        "left_hand",
        "right_hand",
    }
    # The file's own kinematics put every joint where ours do.
    positions, _ = bvh.forward_kinematics(source)
    torch.testing.assert_close(positions[:, order].float(), motion.joints24(), atol=1e-5, rtol=0)


def test_export_then_retarget_gives_back_the_motion(make_motion, tmp_path) -> None:
    motion = make_motion(frames=20, seed=2, amplitude=0.8)
    source = export_and_read(motion, tmp_path / "dance.bvh")
    rig = rigs.detect_rig(source.names)
    assert rig is rigs.CANONICAL and rig.name == "smpl"
    back, report = mocap.retarget(source, rig)
    assert back.fps == 30.0 and back.num_frames == 20
    torch.testing.assert_close(back.joints(), motion.joints(), atol=1e-4, rtol=0)
    torch.testing.assert_close(back.rotations, motion.rotations, atol=1e-4, rtol=0)
    torch.testing.assert_close(back.root, motion.root, atol=1e-5, rtol=0)
    assert report.scale == pytest.approx(1.0)
    assert report.bone_error_max_deg < 0.01 and report.joint_error_mean_mm < 0.1


def test_import_bvh_resamples_and_canonicalizes(make_motion, tmp_path) -> None:
    motion = make_motion(frames=40, seed=3, fps=60.0)
    mocap.export_bvh(motion, tmp_path / "dance60.bvh")
    imported, report = mocap.import_bvh(tmp_path / "dance60.bvh")
    assert report.rig == "smpl"
    expected = motion_ops.canonicalize(motion_ops.resample(motion, 30))
    assert imported.fps == 30 and imported.num_frames == 20
    torch.testing.assert_close(imported.joints(), expected.joints(), atol=1e-4, rtol=0)
    forced, _ = mocap.import_bvh(tmp_path / "dance60.bvh", rig="smpl")
    torch.testing.assert_close(forced.joints(), imported.joints())


def test_independent_reader_bvhio_sees_the_same_joints(make_motion, tmp_path) -> None:
    motion = make_motion(frames=12, seed=4, amplitude=0.8)
    path = mocap.export_bvh(motion, tmp_path / "dance.bvh")
    root = bvhio.readAsHierarchy(str(path))
    expected = motion.joints24()
    for frame in (0, 5, 11):
        root.loadPose(frame)
        seen = {}
        for joint, _, _ in root.layout():
            p = joint.PositionWorld
            seen[joint.Name] = (p.x, p.y, p.z)
        assert set(seen) == set(skeleton.JOINT_NAMES)
        positions = torch.tensor([seen[name] for name in skeleton.JOINT_NAMES])
        torch.testing.assert_close(positions, expected[frame], atol=1e-4, rtol=0)


# ----------------------------------------------------------------------------- another rig
def bandai_copy(motion: Motion, leg_scale: float, arm_scale: float) -> bvh.Bvh:
    """``motion`` performed by a Bandai-rigged actor in centimetres: legs ``leg_scale`` and arms
    ``arm_scale`` times the SMPL lengths, every joint with 6 channels (ZXY rotations).

    The motion must keep spine2 unrotated, as the Bandai spine has no joint for it.
    """
    assert torch.allclose(motion.rotations[:, 6], torch.eye(3))
    offsets = skeleton.rest_offsets(torch.float64) * 100 * leg_scale
    offsets[[13, 14, 16, 17, 18, 19, 20, 21]] *= arm_scale / leg_scale
    offsets[9] += offsets[6]  # Chest = spine2 + spine3
    root = motion.root.double() * 100 * leg_scale
    on_floor = root * torch.tensor([1.0, 0.0, 1.0], dtype=torch.float64)
    joints = [bvh.BvhJoint("joint_Root", -1, (0.0, 0.0, 0.0), BANDAI_CHANNELS)]
    columns = [torch.cat([on_floor, torch.zeros_like(on_floor)], dim=-1)]
    names = ["joint_Root"]
    for name, (canonical, parent) in BANDAI_TREE.items():
        j = skeleton.JOINT_INDEX[canonical]
        offset = (0.0, 0.0, 0.0) if j == 0 else tuple(offsets[j].tolist())
        translation = (root - on_floor) if j == 0 else torch.tensor(offset).expand(motion.num_frames, 3)
        euler = rotation.matrix_to_euler(motion.rotations[:, j].double(), "ZXY")
        joints.append(bvh.BvhJoint(name, names.index(parent), offset, BANDAI_CHANNELS))
        columns.append(torch.cat([translation.double(), euler], dim=-1))
        names.append(name)
    for leaf in ("Head", "Hand_L", "Hand_R", "Toes_L", "Toes_R"):
        joints.append(bvh.BvhJoint(f"{leaf}_End", names.index(leaf), (0.0, 5.0, 0.0), ()))
    return bvh.Bvh(tuple(joints), 1 / 30, torch.cat(columns, dim=-1).numpy())


def bandai_source_joints(source: bvh.Bvh, scale: float) -> torch.Tensor:
    """(F, 22, 3) canonical joints read off the source rig's own FK (metres; spine2 left at 0)."""
    positions, _ = bvh.forward_kinematics(source)
    joints = torch.zeros(positions.shape[0], 22, 3, dtype=torch.float64)
    for name, (canonical, _) in BANDAI_TREE.items():
        joints[:, skeleton.JOINT_INDEX[canonical]] = positions[:, source.names.index(name)] * scale
    return joints


def test_retargeting_a_bandai_rig_in_centimetres(make_motion, tmp_path) -> None:
    motion = make_motion(frames=10, seed=5, amplitude=0.5)
    rotations = motion.rotations.clone()
    rotations[:, 6] = torch.eye(3)
    motion = Motion(rotations, motion.root, motion.fps)
    leg_scale, arm_scale = 1.1, 1.25
    path = bvh.write_bvh(bandai_copy(motion, leg_scale, arm_scale), tmp_path / "bandai.bvh")
    source = bvh.read_bvh(path)
    rig = rigs.detect_rig(source.names)
    assert rig is rigs.BANDAI

    result, report = mocap.retarget(source, rig)
    assert report.rig == "bandai" and result.fps == 30.0
    # Metres per centimetre of this 10% larger actor, from the leg length.
    assert report.scale == pytest.approx(1 / (100 * leg_scale), rel=1e-6)
    torch.testing.assert_close(result.root, motion.root, atol=1e-4, rtol=0)
    # The limbs point exactly where the source's do, whatever their lengths ...
    joints = result.joints()
    source_joints = bandai_source_joints(source, report.scale)
    assert bone_angles(joints, source_joints, LIMB_BONES).max() < 0.01
    assert report.bone_error_median_deg < 0.01 and report.limb_error_max_deg < 0.01
    # ... so legs, with the pelvis, land exactly on the original motion's (SMPL lengths) ...
    torch.testing.assert_close(joints[:, LEG_JOINTS], motion.joints()[:, LEG_JOINTS], atol=1e-4, rtol=0)
    # Hips and knees keep their local rotations, twist about the bone included.
    hips_knees = LEG_JOINTS[:4]
    torch.testing.assert_close(
        result.rotations[:, hips_knees], motion.rotations[:, hips_knees], atol=1e-4, rtol=0
    )
    # ... except that the rig map raises the Bandai toes by its foot pitch.
    toe_turn = bone_angles(joints, source_joints, [10, 11])
    torch.testing.assert_close(
        toe_turn, torch.full_like(toe_turn, abs(rigs.BANDAI.foot_pitch_deg)), atol=1e-3, rtol=0
    )


def test_retarget_rejects_incomplete_sources(make_motion, tmp_path) -> None:
    source = export_and_read(make_motion(frames=3, seed=6), tmp_path / "dance.bvh")
    with pytest.raises(ValueError, match="lacks joints.*Hips"):
        mocap.retarget(source, rigs.BANDAI)
    one_frame = bvh.Bvh(source.joints, source.frame_time, source.frames[:1])
    with pytest.raises(ValueError, match="fewer than two frames"):
        mocap.retarget(one_frame, rigs.CANONICAL)


# ----------------------------------------------------------------------------- rig detection
def rig_names(rig: rigs.Rig) -> list[str]:
    return sorted({n for names in rig.positions for n in names} | set(rig.rotation_sources))


@pytest.mark.parametrize("rig", list(rigs.RIGS.values()), ids=list(rigs.RIGS))
def test_detect_rig_recognises_every_known_rig(rig: rigs.Rig) -> None:
    names = rig_names(rig) + ["Extra_Twist_Bone", "Finger_01"]
    assert rigs.detect_rig(names) is rig


def test_detect_rig_accepts_mixamo_without_its_prefix() -> None:
    bare = [name.split(":")[-1] for name in rig_names(rigs.MIXAMO)]
    assert "LeftUpLeg" in bare
    assert rigs.detect_rig(bare) is rigs.MIXAMO


def test_rig_maps_name_all_22_body_joints() -> None:
    for rig in rigs.RIGS.values():
        assert len(rig.positions) == len(rig.rotation_sources) == skeleton.NUM_BODY_JOINTS
    assert rigs.BANDAI.positions[skeleton.JOINT_INDEX["spine2"]] == ("Spine", "Chest")
    assert rigs.CMU.positions[skeleton.JOINT_INDEX["left_foot"]] == ("lFoot_End",)
    assert rigs.CC_BASE.first_frame_is_tpose
    with pytest.raises(ValueError, match="22 body joints"):
        rigs.Rig("broken", (("a",),), ("a",))


@pytest.mark.parametrize(
    "names",
    [["root", "spine", "arm"], [n for n in rig_names(rigs.BANDAI) if n != "Toes_L"], []],
    ids=["unrelated", "bandai without a toe", "empty"],
)
def test_detect_rig_rejects_unknown_rigs_helpfully(names: list[str]) -> None:
    with pytest.raises(ValueError, match="Unknown BVH rig") as err:
        rigs.detect_rig(names)
    for rig in rigs.RIGS:
        assert rig in str(err.value)


# ----------------------------------------------------------------------------- the real data
REAL_FILES = [
    ("bandai", "bandai_ds1/dataset-1_dash_normal_001.bvh"),
    ("cc_base", "cmu_misc/002_03.bvh"),
    ("cmu", "cmu_salsa/60_10_scaled.bvh"),
]


@pytest.mark.parametrize(("rig", "name"), REAL_FILES, ids=[r for r, _ in REAL_FILES])
def test_real_rigs_import_to_a_sane_body(rig: str, name: str) -> None:
    path = MOCAP_DATA / name
    if not path.is_file():
        pytest.skip(f"{path} is not available")
    motion, report = mocap.import_bvh(path)
    joints = motion.joints()
    assert report.rig == rig
    assert motion.fps == 30 and motion.num_frames >= 10
    assert torch.isfinite(joints).all() and torch.isfinite(motion.rotations).all()
    assert abs(float(joints[..., 1].min())) < 1e-4
    head_height = joints[:, skeleton.JOINT_INDEX["head"], 1].max()
    assert 1.2 < head_height < 2.0
    assert report.bone_error_median_deg < 1.0
    # The scale converted the rig's units: the pelvis moves at a human height, in metres.
    assert 0.6 < joints[:, 0, 1].median() < 1.2
