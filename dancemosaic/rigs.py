"""Joint maps from known BVH rigs onto the 22 canonical SMPL body joints.

Each rig names, per canonical joint, the source joint(s) whose position it takes (two names: their
midpoint) and the source joint whose rotation supplies its twist. Maps for the three rigs in the
shared data follow ``shared/reference/rigs.md``; the canonical rig reads our own BVH exports back,
and the Mixamo map covers the most common rig users bring.
"""

from __future__ import annotations

from dataclasses import dataclass

from dancemosaic.skeleton import JOINT_NAMES, NUM_BODY_JOINTS


@dataclass(frozen=True)
class Rig:
    name: str
    positions: tuple[tuple[str, ...], ...]  # 22 entries: source joint names (midpoint when two)
    rotation_sources: tuple[str, ...]  # 22 entries
    first_frame_is_tpose: bool = False  # iClone exports prepend a T-pose frame: drop it
    # Degrees to raise the toes so that a planted foot has the SMPL foot's pitch (the ankle
    # 5.6 cm above the toe joint): rigs place their ankle and toe joints differently.
    foot_pitch_deg: float = 0.0

    def __post_init__(self) -> None:
        if len(self.positions) != NUM_BODY_JOINTS or len(self.rotation_sources) != NUM_BODY_JOINTS:
            raise ValueError(f"rig {self.name} must map all {NUM_BODY_JOINTS} body joints")


def _rig(
    name: str, table: dict[str, str], first_frame_is_tpose: bool = False, foot_pitch_deg: float = 0.0
) -> Rig:
    """Build a rig from {canonical name: "src" | "srcA+srcB" (midpoint) | "src@rot" (rotation)}."""
    positions, rotations = [], []
    for joint in JOINT_NAMES[:NUM_BODY_JOINTS]:
        spec, _, rot = table[joint].partition("@")
        names = tuple(spec.split("+"))
        positions.append(names)
        rotations.append(rot or names[0])
    return Rig(name, tuple(positions), tuple(rotations), first_frame_is_tpose, foot_pitch_deg)


def _sided(left: str, right: str, table: dict[str, str]) -> dict[str, str]:
    """Expand "{s}" entries into left_/right_ canonical names with the rig's side markers."""
    out = {}
    for key, value in table.items():
        if "{s}" in key:
            out[key.format(s="left")] = value.format(s=left)
            out[key.format(s="right")] = value.format(s=right)
        else:
            out[key] = value
    return out


_LIMBS = ("hip", "knee", "ankle", "foot", "collar", "shoulder", "elbow", "wrist")


def _limb_table(names: tuple[str, ...]) -> dict[str, str]:
    return {f"{{s}}_{limb}": name for limb, name in zip(_LIMBS, names, strict=True)}


CMU = _rig(
    "cmu",
    {
        "pelvis": "hip", "spine1": "abdomen", "spine2": "abdomen+chest@abdomen", "spine3": "chest",
        "neck": "neck", "head": "head",
        **_sided("l", "r", _limb_table(
            ("{s}Thigh", "{s}Shin", "{s}Foot", "{s}Foot_End", "{s}Collar", "{s}Shldr", "{s}ForeArm",
             "{s}Hand"))),
    },
    foot_pitch_deg=-10.5,
)  # fmt: skip

CC_BASE = _rig(
    "cc_base",
    {
        "pelvis": "CC_Base_Pelvis", "spine1": "CC_Base_Waist", "spine2": "CC_Base_Spine01",
        "spine3": "CC_Base_Spine02", "neck": "CC_Base_NeckTwist01", "head": "CC_Base_Head",
        **_sided("L", "R", _limb_table(
            ("CC_Base_{s}_Thigh", "CC_Base_{s}_Calf", "CC_Base_{s}_Foot", "CC_Base_{s}_ToeBase",
             "CC_Base_{s}_Clavicle", "CC_Base_{s}_Upperarm", "CC_Base_{s}_Forearm",
             "CC_Base_{s}_Hand"))),
    },
    first_frame_is_tpose=True,
    foot_pitch_deg=-11.5,
)  # fmt: skip

BANDAI = _rig(
    "bandai",
    {
        "pelvis": "Hips", "spine1": "Spine", "spine2": "Spine+Chest@Spine", "spine3": "Chest",
        "neck": "Neck", "head": "Head",
        **_sided("L", "R", _limb_table(
            ("UpperLeg_{s}", "LowerLeg_{s}", "Foot_{s}", "Toes_{s}", "Shoulder_{s}", "UpperArm_{s}",
             "LowerArm_{s}", "Hand_{s}"))),
    },
    foot_pitch_deg=15.0,
)  # fmt: skip

MIXAMO = _rig(
    "mixamo",
    {
        "pelvis": "mixamorig:Hips", "spine1": "mixamorig:Spine", "spine2": "mixamorig:Spine1",
        "spine3": "mixamorig:Spine2", "neck": "mixamorig:Neck", "head": "mixamorig:Head",
        **_sided("Left", "Right", _limb_table(
            ("mixamorig:{s}UpLeg", "mixamorig:{s}Leg", "mixamorig:{s}Foot", "mixamorig:{s}ToeBase",
             "mixamorig:{s}Shoulder", "mixamorig:{s}Arm", "mixamorig:{s}ForeArm",
             "mixamorig:{s}Hand"))),
    },
)  # fmt: skip

CANONICAL = _rig("smpl", {name: name for name in JOINT_NAMES[:NUM_BODY_JOINTS]})

RIGS = {rig.name: rig for rig in (CANONICAL, CMU, CC_BASE, BANDAI, MIXAMO)}


def _required(rig: Rig) -> set[str]:
    return {n for names in rig.positions for n in names} | set(rig.rotation_sources)


def detect_rig(names: list[str]) -> Rig:
    """The rig whose joint names all appear in ``names``; a Mixamo file without the prefix counts."""
    present = set(names) | {f"mixamorig:{n.split(':')[-1]}" for n in names}
    for rig in RIGS.values():
        if _required(rig) <= present:
            return rig
    raise ValueError(
        "Unknown BVH rig: its joint names match none of the supported rigs "
        f"({', '.join(RIGS)}). Rename the joints to one of them (e.g. SMPL names such as "
        "'pelvis', 'left_hip', ...) or export from a supported tool."
    )
