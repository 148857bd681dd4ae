"""The BVH file format: a reader for any rig, the rig's own forward kinematics, and a writer.

A BVH joint's local transform is its translation (the position channels when it has them, as
Blender reads them, else its OFFSET) followed by its rotation channels in the order its CHANNELS
line lists them (intrinsic Euler angles in degrees). Units are whatever the file uses. "End Site"
blocks become channel-less joints named ``<parent>_End`` so that, for example, a toe that a rig
stores only as its foot's end site can still be mapped.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from dancemosaic import rotation

_POSITION_CHANNELS = ("Xposition", "Yposition", "Zposition")
_ROTATION_CHANNELS = ("Xrotation", "Yrotation", "Zrotation")
MAX_BVH_BYTES = 512 * 1024 * 1024


@dataclass(frozen=True)
class BvhJoint:
    name: str
    parent: int  # index into Bvh.joints, -1 for the root
    offset: tuple[float, float, float]
    channels: tuple[str, ...]  # empty for an end site

    @property
    def is_end_site(self) -> bool:
        return not self.channels

    @property
    def rotation_order(self) -> str:
        return "".join(c[0] for c in self.channels if c in _ROTATION_CHANNELS)


@dataclass(frozen=True)
class Bvh:
    joints: tuple[BvhJoint, ...]
    frame_time: float
    frames: np.ndarray  # (F, C) channel values, in the order of the joints' CHANNELS lines

    @property
    def fps(self) -> float:
        return 1.0 / self.frame_time

    @property
    def names(self) -> list[str]:
        return [j.name for j in self.joints]

    def channel_offsets(self) -> list[int]:
        """Index of each joint's first channel in a frame row."""
        starts, total = [], 0
        for joint in self.joints:
            starts.append(total)
            total += len(joint.channels)
        return starts


class _Tokens:
    """Whitespace tokens of the HIERARCHY section with their line numbers, for error messages."""

    def __init__(self, lines: list[str], first_line: int = 1) -> None:
        self.items = [(tok, n + first_line) for n, line in enumerate(lines) for tok in line.split()]
        self.pos = 0

    def next(self, what: str) -> tuple[str, int]:
        if self.pos >= len(self.items):
            raise ValueError(f"Malformed BVH: the file ends where {what} was expected")
        self.pos += 1
        return self.items[self.pos - 1]

    def expect(self, word: str) -> None:
        tok, line = self.next(repr(word))
        if tok != word:
            raise ValueError(f"Malformed BVH: expected {word!r} on line {line}, found {tok!r}")

    def number(self, what: str) -> float:
        tok, line = self.next(what)
        try:
            return float(tok)
        except ValueError:
            raise ValueError(f"Malformed BVH: {what} on line {line} is {tok!r}, not a number") from None


def _parse_joint(
    tokens: _Tokens, name: str, parent: int, joints: list[BvhJoint], end_site: bool = False
) -> None:
    tokens.expect("{")
    tokens.expect("OFFSET")
    offset = tuple(tokens.number(f"the OFFSET of {name}") for _ in range(3))
    index = len(joints)
    channels: tuple[str, ...] = ()
    if end_site:
        joints.append(BvhJoint(name, parent, offset, ()))
    else:
        tokens.expect("CHANNELS")
        count = tokens.number(f"the channel count of {name}")
        if not (count >= 0 and count.is_integer()):
            raise ValueError(f"Malformed BVH: joint {name} has a channel count of {count}")
        count = int(count)
        channels = tuple(tokens.next(f"a channel of {name}")[0] for _ in range(count))
        unknown = [c for c in channels if c not in _POSITION_CHANNELS + _ROTATION_CHANNELS]
        if unknown:
            raise ValueError(f"Malformed BVH: joint {name} has unknown channels {unknown}")
        joints.append(BvhJoint(name, parent, offset, channels))
    while True:
        tok, line = tokens.next(f"the end of joint {name}")
        if tok == "}":
            return
        if tok == "JOINT":
            _parse_joint(tokens, tokens.next("a joint name")[0], index, joints)
        elif tok == "End":
            tokens.expect("Site")
            _parse_joint(tokens, f"{name}_End", index, joints, end_site=True)
        else:
            raise ValueError(f"Malformed BVH: unexpected {tok!r} on line {line} inside joint {name}")


def parse_bvh(text: str) -> Bvh:
    """Parse BVH text. Raises ValueError naming the line and what is wrong."""
    lines = text.removeprefix("\ufeff").splitlines()  # a byte-order mark is harmless
    start = next((i for i, line in enumerate(lines) if line.strip()), len(lines))  # skip blank lines
    motion_line = next((i for i, line in enumerate(lines) if line.strip() == "MOTION"), None)
    if start == len(lines) or lines[start].strip() != "HIERARCHY" or motion_line is None:
        raise ValueError("Not a BVH file: it must start with HIERARCHY and contain a MOTION section")
    tokens = _Tokens(lines[start + 1 : motion_line], first_line=start + 2)  # 1-based, after HIERARCHY
    tokens.expect("ROOT")
    joints: list[BvhJoint] = []
    try:
        _parse_joint(tokens, tokens.next("the root joint name")[0], -1, joints)
    except RecursionError:
        raise ValueError("Malformed BVH: the joints are nested too deeply") from None
    if tokens.pos < len(tokens.items):  # a stray "}" or a second ROOT would otherwise be ignored
        tok, line = tokens.items[tokens.pos]
        raise ValueError(f"Malformed BVH: unexpected {tok!r} on line {line} after the root joint")
    frame_time, frames = _parse_motion(lines[motion_line + 1 :], joints)
    return Bvh(tuple(joints), frame_time, frames)


def _header_value(line: str, key: str) -> str:
    if not line.strip().startswith(key) or ":" not in line:
        raise ValueError(f"Malformed BVH: expected '{key}' after MOTION, found {line.strip()!r}")
    return line.split(":", 1)[1].strip()


def _parse_motion(lines: list[str], joints: list[BvhJoint]) -> tuple[float, np.ndarray]:
    if len(lines) < 2:
        raise ValueError("Malformed BVH: the MOTION section lacks 'Frames:' and 'Frame Time:'")
    try:
        num_frames = int(_header_value(lines[0], "Frames"))
        frame_time = float(_header_value(lines[1], "Frame Time"))
    except ValueError as err:
        raise ValueError(f"Malformed BVH: {err}") from None
    if num_frames < 1 or not 0 < frame_time < 10:
        raise ValueError(f"Malformed BVH: {num_frames} frames at {frame_time} s per frame")
    num_channels = sum(len(j.channels) for j in joints)
    try:
        values = np.array(" ".join(lines[2:]).split(), dtype=np.float64)
    except ValueError:
        raise ValueError("Malformed BVH: the MOTION section holds a value that is not a number") from None
    if values.size < num_frames * num_channels:
        found = values.size / max(num_channels, 1)
        raise ValueError(
            f"Truncated BVH: the header promises {num_frames} frames of {num_channels} channels "
            f"but the file holds {found:.1f}; re-export the file"
        )
    frames = values[: num_frames * num_channels].reshape(num_frames, num_channels)
    if not np.isfinite(frames).all():
        raise ValueError("Malformed BVH: the MOTION section holds NaN or infinite values")
    return frame_time, frames


def read_bvh(path: str | Path) -> Bvh:
    """Read a BVH file from disk (refuses files over MAX_BVH_BYTES before reading them)."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"BVH file not found: {path}")
    if path.stat().st_size > MAX_BVH_BYTES:
        raise ValueError(f"BVH file {path.name} is over {MAX_BVH_BYTES >> 20} MB; trim it first")
    try:
        text = path.read_text(encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        raise ValueError(f"{path.name} is not a text BVH file") from None
    return parse_bvh(text)


def rest_frame(bvh: Bvh) -> np.ndarray:
    """(1, C) channel values of the rig's rest pose: zero rotations, position channels at the offsets."""
    frame = np.zeros((1, bvh.frames.shape[1]))
    for joint, start in zip(bvh.joints, bvh.channel_offsets(), strict=True):
        for axis, name in enumerate(_POSITION_CHANNELS):
            if name in joint.channels:
                frame[0, start + joint.channels.index(name)] = joint.offset[axis]
    return frame


def forward_kinematics(bvh: Bvh, frames: np.ndarray | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """World positions (F, J, 3) and global rotations (F, J, 3, 3) of every joint (float64).

    ``frames`` overrides the file's channel values, e.g. zeros for the rig's rest pose.
    """
    values = torch.as_tensor(bvh.frames if frames is None else frames, dtype=torch.float64)
    starts = bvh.channel_offsets()
    positions: list[torch.Tensor] = []
    rotations: list[torch.Tensor] = []
    for j, joint in enumerate(bvh.joints):
        channels = values[:, starts[j] : starts[j] + len(joint.channels)]
        local_t, local_r = _local_transform(joint, channels)
        if joint.parent < 0:
            positions.append(local_t)
            rotations.append(local_r)
        else:
            parent_r = rotations[joint.parent]
            positions.append(positions[joint.parent] + (parent_r @ local_t[..., None])[..., 0])
            rotations.append(parent_r @ local_r)
    return torch.stack(positions, dim=1), torch.stack(rotations, dim=1)


def _local_transform(joint: BvhJoint, channels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(F, n) channel values -> local translation (F, 3) and rotation (F, 3, 3)."""
    num_frames = channels.shape[0]
    translation = torch.tensor(joint.offset, dtype=torch.float64).expand(num_frames, 3).clone()
    names = list(joint.channels)
    for axis, name in enumerate(_POSITION_CHANNELS):
        if name in names:
            translation[:, axis] = channels[:, names.index(name)]
    order = joint.rotation_order
    if not order:
        return translation, torch.eye(3, dtype=torch.float64).expand(num_frames, 3, 3)
    angles = torch.stack([channels[:, names.index(f"{a}rotation")] for a in order], dim=-1)
    if len(order) < 3:  # a joint that rotates about fewer axes: pad with zero angles
        missing = "".join(a for a in "XYZ" if a not in order)
        angles = torch.cat([angles, angles.new_zeros(num_frames, len(missing))], dim=-1)
        order += missing
    return translation, rotation.euler_to_matrix(angles, order)


def _depth_first(bvh: Bvh) -> list[int]:
    """Joint indices in the order a BVH file lists them (parents before their subtrees)."""
    children: dict[int, list[int]] = {}
    for j, joint in enumerate(bvh.joints):
        children.setdefault(joint.parent, []).append(j)
    order: list[int] = []
    stack = list(reversed(children[-1]))
    while stack:
        j = stack.pop()
        order.append(j)
        stack.extend(reversed(children.get(j, [])))
    return order


def format_bvh(bvh: Bvh, precision: int = 6) -> str:
    """BVH text for ``bvh`` (the inverse of ``parse_bvh``; joints are written depth first)."""
    order = _depth_first(bvh)
    depth = {-1: -1}
    lines = ["HIERARCHY"]
    for position, j in enumerate(order):
        joint = bvh.joints[j]
        depth[j] = depth[joint.parent] + 1
        next_depth = depth[bvh.joints[order[position + 1]].parent] + 1 if position + 1 < len(order) else 0
        pad = "  " * depth[j]
        if joint.is_end_site:
            lines.append(f"{pad}End Site")
        else:
            lines.append(f"{pad}{'ROOT' if joint.parent < 0 else 'JOINT'} {joint.name}")
        lines += [
            pad + "{",
            f"{pad}  OFFSET " + " ".join(f"{v:.{precision}f}" for v in joint.offset),
        ]
        if not joint.is_end_site:
            lines.append(f"{pad}  CHANNELS {len(joint.channels)} " + " ".join(joint.channels))
        lines += ["  " * d + "}" for d in range(depth[j], next_depth - 1, -1)]
    starts = bvh.channel_offsets()
    columns = [starts[j] + c for j in order for c in range(len(bvh.joints[j].channels))]
    lines += ["MOTION", f"Frames: {len(bvh.frames)}", f"Frame Time: {bvh.frame_time:.8f}"]
    lines += [" ".join(f"{v:.{precision}f}" for v in row) for row in bvh.frames[:, columns]]
    return "\n".join(lines) + "\n"


def write_bvh(bvh: Bvh, path: str | Path) -> Path:
    path = Path(path)
    path.write_text(format_bvh(bvh), encoding="utf-8")
    return path
