"""The BVH format: parsing, writing, the rig's own forward kinematics, and errors on bad input.

The synthetic rig mixes channel orders on purpose (root ZXY, a YXZ child, a joint with its own
position channels, a one-axis joint, end sites); its expected positions are worked out by hand from
90-degree rotations, so they do not depend on the code under test.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dancemosaic import bvh

HEADER = """HIERARCHY
ROOT Hips
{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
  JOINT Chest
  {
    OFFSET 0 10 0
    CHANNELS 3 Yrotation Xrotation Zrotation
    JOINT Arm
    {
      OFFSET 5 0 0
      CHANNELS 6 Xposition Yposition Zposition Xrotation Zrotation Yrotation
      End Site
      {
        OFFSET 0 -4 0
      }
    }
  }
  JOINT Leg
  {
    OFFSET 2 -3 0
    CHANNELS 1 Xrotation
    End Site
    {
      OFFSET 0 -6 0
    }
  }
}
"""
# Columns: Hips (x y z, Z X Y), Chest (Y X Z), Arm (x y z, X Z Y), Leg (X).
FRAMES = [
    [1, 2, 3, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0],  # rest pose, root moved
    [1, 2, 3, 90, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0],  # root turned about z
    [0, 0, 0, 0, 0, 0, 90, 90, 0, 5, 1, 0, 0, 90, 0, 90],  # chest Y then X; arm moved and turned
    [0, 0, 0, 90, 90, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0],  # root Z then X
]
NAMES = ["Hips", "Chest", "Arm", "Arm_End", "Leg", "Leg_End"]
# Worked by hand with Rx(90): (x, y, z) -> (x, -z, y), Ry(90): -> (z, y, -x), Rz(90): -> (-y, x, z).
EXPECTED = [
    [(1, 2, 3), (1, 12, 3), (6, 12, 3), (6, 8, 3), (3, -1, 3), (3, -7, 3)],
    [(1, 2, 3), (-9, 2, 3), (-9, 7, 3), (-5, 7, 3), (4, 4, 3), (10, 4, 3)],
    [(0, 0, 0), (0, 10, 0), (1, 10, -5), (1, 10, -9), (2, -3, 0), (2, -3, -6)],
    [(0, 0, 0), (0, 0, 10), (0, 5, 10), (0, 5, 6), (0, 2, -3), (0, 2, -9)],
]


def rig_text(frames: list[list[float]] = FRAMES, frame_time: str = "0.0333333") -> str:
    rows = "\n".join(" ".join(str(v) for v in row) for row in frames)
    return f"{HEADER}MOTION\nFrames: {len(frames)}\nFrame Time: {frame_time}\n{rows}\n"


# ----------------------------------------------------------------------------- parsing
def test_parse_reads_the_hierarchy_and_channels() -> None:
    parsed = bvh.parse_bvh(rig_text())
    assert parsed.names == NAMES
    assert [j.parent for j in parsed.joints] == [-1, 0, 1, 2, 0, 4]
    assert [j.rotation_order for j in parsed.joints] == ["ZXY", "YXZ", "XZY", "", "X", ""]
    assert [j.is_end_site for j in parsed.joints] == [False, False, False, True, False, True]
    assert parsed.joints[3].offset == (0.0, -4.0, 0.0)
    assert parsed.channel_offsets() == [0, 6, 9, 15, 15, 16]
    assert parsed.frames.shape == (4, 16) and parsed.frames.dtype == np.float64
    np.testing.assert_array_equal(parsed.frames, np.array(FRAMES, dtype=float))
    assert parsed.fps == pytest.approx(30.0, rel=1e-5)


def test_forward_kinematics_matches_hand_computed_positions() -> None:
    positions, rotations = bvh.forward_kinematics(bvh.parse_bvh(rig_text()))
    assert positions.shape == (4, 6, 3) and rotations.shape == (4, 6, 3, 3)
    torch.testing.assert_close(positions, torch.tensor(EXPECTED, dtype=torch.float64), atol=1e-9, rtol=0)
    # Frame 2: the arm's global rotation is Ry(90) Rx(90) Rz(90), which takes x -> x, y -> z, z -> -y.
    arm = torch.tensor([[1.0, 0, 0], [0, 0, -1], [0, 1, 0]], dtype=torch.float64)
    torch.testing.assert_close(rotations[2, 2], arm, atol=1e-12, rtol=0)
    eye = torch.eye(3, dtype=torch.float64)
    torch.testing.assert_close(rotations[0], eye.expand(6, 3, 3))


def test_rest_frame_puts_position_channels_at_the_offsets() -> None:
    parsed = bvh.parse_bvh(rig_text())
    rest = bvh.rest_frame(parsed)
    assert rest.shape == (1, 16)
    np.testing.assert_array_equal(rest[0, 9:12], [5, 0, 0])  # Arm's own position channels
    assert not rest[0, :9].any() and not rest[0, 12:].any()
    positions, _ = bvh.forward_kinematics(parsed, rest)
    expected = torch.tensor(EXPECTED[0], dtype=torch.float64) - torch.tensor(
        [1.0, 2.0, 3.0], dtype=torch.float64
    )
    torch.testing.assert_close(positions[0], expected)


def test_tolerant_of_layout_details() -> None:
    """Tabs, CRLF line ends, several values per line and wrapped frames all read the same."""
    text = rig_text().replace("  ", "\t").replace("\n", "\r\n")
    text = text.replace("\r\n{", " {")  # braces on the joint's own line
    parsed = bvh.parse_bvh(text)
    assert parsed.names == NAMES
    wrapped = rig_text().replace("0 0 0 0 0 0 0\n", "0 0 0\n0 0 0 0\n")
    np.testing.assert_array_equal(bvh.parse_bvh(wrapped).frames, np.array(FRAMES, dtype=float))


# ----------------------------------------------------------------------------- writing
def test_format_parse_round_trip(tmp_path) -> None:
    parsed = bvh.parse_bvh(rig_text())
    text = bvh.format_bvh(parsed)
    again = bvh.parse_bvh(text)
    assert again.joints == parsed.joints
    assert again.frame_time == pytest.approx(parsed.frame_time, abs=1e-8)
    np.testing.assert_allclose(again.frames, parsed.frames, atol=1e-6)
    assert bvh.format_bvh(again) == text  # a written file is a fixed point
    path = bvh.write_bvh(parsed, tmp_path / "rig.bvh")
    from_disk = bvh.read_bvh(path)
    assert from_disk.joints == parsed.joints
    np.testing.assert_allclose(from_disk.frames, parsed.frames, atol=1e-6)


def test_format_writes_joints_depth_first_and_keeps_their_channels() -> None:
    """A Bvh built in code may list a sibling before its cousin's children: the writer must reorder
    both the hierarchy and the frame columns so that every joint keeps its own values."""
    joints = (
        bvh.BvhJoint("root", -1, (0.0, 1.0, 0.0), ("Xposition", "Yposition", "Zposition", "Yrotation")),
        bvh.BvhJoint("a", 0, (1.0, 0.0, 0.0), ("Zrotation",)),
        bvh.BvhJoint("b", 0, (-1.0, 0.0, 0.0), ("Xrotation", "Yrotation")),
        bvh.BvhJoint("a1", 1, (0.0, 2.0, 0.0), ("Yrotation", "Xrotation", "Zrotation")),
        bvh.BvhJoint("a1_End", 3, (0.0, 0.5, 0.0), ()),
    )
    frames = np.random.default_rng(0).uniform(-90, 90, size=(3, 10))
    original = bvh.Bvh(joints, 0.05, frames)
    again = bvh.parse_bvh(bvh.format_bvh(original))
    assert again.names == ["root", "a", "a1", "a1_End", "b"]
    pos_a, rot_a = bvh.forward_kinematics(original)
    pos_b, rot_b = bvh.forward_kinematics(again)
    order = [original.names.index(n) for n in again.names]
    torch.testing.assert_close(pos_b, pos_a[:, order], atol=1e-5, rtol=0)
    torch.testing.assert_close(rot_b, rot_a[:, order], atol=1e-6, rtol=0)


# ----------------------------------------------------------------------------- errors
MALFORMED = [
    ("missing HIERARCHY", lambda t: t.replace("HIERARCHY\n", ""), "HIERARCHY"),
    ("leading junk", lambda t: "hello\n" + t, "HIERARCHY"),
    ("missing MOTION", lambda t: t.replace("MOTION\n", ""), "MOTION"),
    ("missing ROOT", lambda t: t.replace("ROOT Hips", "JOINT Hips"), "expected 'ROOT' on line 2"),
    (
        "bad offset number",
        lambda t: t.replace("OFFSET 0 10 0", "OFFSET 0 ten 0"),
        "OFFSET of Chest on line 8",
    ),
    ("bad channel count", lambda t: t.replace("CHANNELS 3", "CHANNELS three"), "channel count of Chest"),
    ("infinite channel count", lambda t: t.replace("CHANNELS 3", "CHANNELS inf"), "channel count"),
    ("negative channel count", lambda t: t.replace("CHANNELS 3", "CHANNELS -3"), "channel count"),
    ("fractional channel count", lambda t: t.replace("CHANNELS 3", "CHANNELS 2.5"), "channel count"),
    (
        "unknown channel",
        lambda t: t.replace("Yrotation Xrotation Zrotation", "Yrotation Wrotation Zrotation"),
        "unknown channels",
    ),
    ("missing closing brace", lambda t: t.replace("}\nMOTION", "MOTION"), "file ends"),
    ("extra closing brace", lambda t: t.replace("}\nMOTION", "}\n}\nMOTION"), "unexpected '}'"),
    ("second root", lambda t: t.replace("}\nMOTION", "}\nROOT Other\n{\n}\nMOTION"), "unexpected 'ROOT'"),
    ("stray word in a joint", lambda t: t.replace("    JOINT Arm", "    JIONT Arm"), "unexpected 'JIONT'"),
    ("bad motion number", lambda t: t.replace("\n1 2 3 90", "\n1 2 x 90"), "not a number"),
    ("NaN", lambda t: t.replace("\n1 2 3 90", "\n1 2 nan 90"), "NaN"),
    ("infinity", lambda t: t.replace("\n1 2 3 90", "\n1 2 3 1e999"), "infinite"),
    ("truncated frames", lambda t: t.rsplit("\n", 2)[0] + "\n", "Truncated BVH.*4 frames of 16 channels"),
    ("missing frame count", lambda t: t.replace("Frames: 4", "Frame Count 4"), "Frames"),
    ("frame count without colon", lambda t: t.replace("Frames: 4", "Frames 4"), "Frames"),
    ("bad frame count", lambda t: t.replace("Frames: 4", "Frames: four"), "Malformed BVH"),
    ("zero frames", lambda t: t.replace("Frames: 4", "Frames: 0"), "0 frames"),
    ("bad frame time", lambda t: t.replace("Frame Time: 0.0333333", "Frame Time: 0"), "s per frame"),
    ("MOTION without headers", lambda t: t.split("Frames:")[0], "lacks 'Frames:'"),
]


@pytest.mark.parametrize(("mutate", "message"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED])
def test_malformed_input_raises_a_helpful_value_error(mutate, message: str) -> None:
    text = mutate(rig_text())
    assert text != rig_text()
    with pytest.raises(ValueError, match=message):
        bvh.parse_bvh(text)


def test_deeply_nested_joints_raise_value_error() -> None:
    depth = 5000
    body = "".join(f"JOINT j{i}\n{{\nOFFSET 0 1 0\nCHANNELS 1 Xrotation\n" for i in range(depth))
    text = f"HIERARCHY\nROOT r\n{{\nOFFSET 0 0 0\nCHANNELS 0\n{body}{'}' * (depth + 1)}\n"
    text += f"MOTION\nFrames: 1\nFrame Time: 0.1\n{' '.join(['0'] * depth)}\n"
    with pytest.raises(ValueError, match="nested"):
        bvh.parse_bvh(text)


def test_read_bvh_rejects_missing_and_binary_files(tmp_path) -> None:
    with pytest.raises(ValueError, match="not found"):
        bvh.read_bvh(tmp_path / "nope.bvh")
    binary = tmp_path / "binary.bvh"
    binary.write_bytes(b"HIERARCHY\n\xff\xfe\x00garbage")
    with pytest.raises(ValueError, match="not a text BVH"):
        bvh.read_bvh(binary)


def test_repeated_rotation_channels_fail_in_kinematics_with_value_error() -> None:
    text = rig_text().replace("CHANNELS 1 Xrotation", "CHANNELS 1 Zrotation")
    bvh.forward_kinematics(bvh.parse_bvh(text))  # a single other axis is fine
    doubled = rig_text().replace("Yrotation Xrotation Zrotation", "Yrotation Xrotation Xrotation")
    with pytest.raises(ValueError, match="permutation of XYZ"):
        bvh.forward_kinematics(bvh.parse_bvh(doubled))


# ----------------------------------------------------------------------------- robustness (property)
VOCAB = [
    "HIERARCHY", "ROOT", "JOINT", "End", "Site", "OFFSET", "CHANNELS", "MOTION", "Frames:", "Frame",
    "Time:", "{", "}", "\n", "0", "1", "3", "6", "-1", "2.5", "1e9", "1e999", "inf", "-inf", "nan",
    "Xposition", "Yposition", "Zposition", "Xrotation", "Yrotation", "Zrotation", "Wrotation", ":", "x",
    "Frames", "Time", "-0", "1e-9", "",
]  # fmt: skip
SLOW_OK = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def parses_or_raises_value_error(text: str) -> None:
    try:
        result = bvh.parse_bvh(text)
    except ValueError:
        return
    assert isinstance(result, bvh.Bvh)
    assert result.frames.shape[1] == sum(len(j.channels) for j in result.joints)
    assert np.isfinite(result.frames).all()


@SLOW_OK
@given(st.text(max_size=400))
def test_random_text_parses_or_raises_value_error(text: str) -> None:
    parses_or_raises_value_error(text)
    parses_or_raises_value_error("HIERARCHY\n" + text + "\nMOTION\n")


@SLOW_OK
@given(st.lists(st.sampled_from(VOCAB), max_size=80))
def test_random_bvh_words_parse_or_raise_value_error(words: list[str]) -> None:
    parses_or_raises_value_error("HIERARCHY\n" + " ".join(words))


@st.composite
def mutated_rig(draw: st.DrawFn) -> str:
    """The valid rig text with a few random edits, mostly in the hierarchy and the MOTION header
    (where the parser makes its decisions): replace, insert or delete a word, a character or a line."""
    lines = [line.split() for line in rig_text().splitlines()]
    header = len(lines) - len(FRAMES)
    for _ in range(draw(st.integers(1, 3))):
        if not lines:
            break
        in_header = draw(st.integers(0, 9)) > 0
        row = draw(
            st.integers(0, min(header, len(lines)) - 1) if in_header else st.integers(0, len(lines) - 1)
        )
        op = draw(
            st.sampled_from(["replace", "replace", "insert", "delete", "char", "drop_line", "dup_line"])
        )
        words = lines[row]
        col = draw(st.integers(0, max(len(words) - 1, 0)))
        if op == "drop_line":
            del lines[row]
        elif op == "dup_line":
            lines.insert(row, list(words))
        elif op == "insert" or not words:
            words.insert(col, draw(st.sampled_from(VOCAB)))
        elif op == "replace":
            words[col] = draw(st.sampled_from(VOCAB))
        elif op == "delete":
            del words[col]
        else:  # change, add or remove one character of a word
            at = draw(st.integers(0, len(words[col])))
            char = draw(st.sampled_from(list("{}:.-+0123456789eEnaix") + [""]))
            words[col] = words[col][:at] + char + words[col][at + draw(st.integers(0, 1)) :]
    return "\n".join(" ".join(words) for words in lines)


@SLOW_OK
@given(mutated_rig())
def test_mutated_bvh_parses_or_raises_value_error(text: str) -> None:
    parses_or_raises_value_error(text)
