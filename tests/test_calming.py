"""The exact top-ups for "smaller movements", "slower" and "stay in place": each reaches its stated
effect on a lively motion by the least share it needs, touches nothing outside the span, joins the
dance without a speed jump, and leaves a span that already has the effect as it is."""

from __future__ import annotations

import math

import pytest
import torch

from dancemosaic import calming, instructions, rotation
from dancemosaic.motion import Motion
from dancemosaic.splice import BLEND_FRAMES, border_jump_ratio, inner_weight, splice

START, END = 60, 150


def lively(frames: int = 240) -> Motion:
    """Every joint swinging at its own pace about its own axis, the pelvis wandering in loops."""
    t = torch.arange(frames, dtype=torch.float32)[:, None] / 30
    joints = torch.arange(22, dtype=torch.float32)[None]
    angle = 0.5 * torch.sin(2 * math.pi * (0.8 + 0.1 * joints) * t + joints)  # (T, 22)
    axis = torch.stack([torch.ones(22), joints[0] % 3, (joints[0] + 1) % 2], -1)
    axis = torch.nn.functional.normalize(axis, dim=-1)
    rotations = rotation.axis_angle_to_matrix(angle[..., None] * axis)
    sideways, height = 0.6 * torch.sin(2.1 * t), 0.9 + 0.03 * torch.sin(9 * t)
    root = torch.cat([sideways, height, 0.5 * t + 0.4 * torch.cos(1.7 * t)], -1)
    return Motion(rotations, root)


def joined(base: Motion):
    return lambda candidate: splice(base, candidate, START, END).motion


def measured(name: str, before: Motion, after: Motion) -> instructions.Outcome:
    return instructions.outcomes((instructions.BY_NAME[name],), before, after, START, END)[0]


@pytest.mark.parametrize("name", sorted(calming.CALM))
def test_a_top_up_reaches_its_effect_by_the_least_share_and_only_inside_the_span(name):
    base = lively()
    effect = instructions.BY_NAME[name]
    assert not measured(name, base, base).reached
    topped = calming.top_up(effect, base, base, START, END, joined(base))
    result = splice(base, topped, START, END)
    assert measured(name, base, result.motion).reached
    # the least share: a little less misses
    calm = calming.CALM[name](base, START, END)
    share = calming.least_share(effect, base, base, calm, START, END, joined(base))
    assert 0 < share < 1
    fade = inner_weight(START, END, base.num_frames)
    less = calming.blend(base, calm, START, END, (share - 1 / 256) * fade)
    assert not measured(name, base, splice(base, less, START, END).motion).reached
    outside = torch.cat([torch.arange(START), torch.arange(END, base.num_frames)])
    assert torch.equal(result.motion.root[outside], base.root[outside])
    assert torch.equal(result.motion.rotations[outside], base.rotations[outside])
    assert border_jump_ratio(result.motion.joints().numpy(), result.blends) <= 1.0


@pytest.mark.parametrize("name", sorted(calming.CALM))
def test_a_span_that_has_the_effect_already_is_left_as_it_is(name):
    base = lively()
    calm = calming.CALM[name](base, START, END)
    already = calming.blend(base, calm, START, END, inner_weight(START, END, base.num_frames))
    assert measured(name, base, already).reached
    topped = calming.top_up(instructions.BY_NAME[name], base, already, START, END, joined(base))
    assert topped is already


def test_the_calm_versions_keep_what_their_instruction_does_not_ask_to_change():
    base = lively()
    still = calming.CALM["smaller movements"](base, START, END)
    assert torch.equal(still.root, base.root)
    held = still.rotations[START:END, 1:]
    assert float((held - held[0]).abs().max()) < 1e-6  # every joint below the pelvis holds one pose
    facing = still.rotations[:, 0, :, 2] @ torch.tensor([1.0, 0.0, 1.0]).diag()  # the pelvis' forward, level
    level = base.rotations[:, 0, :, 2] @ torch.tensor([1.0, 0.0, 1.0]).diag()
    cosine = torch.nn.functional.cosine_similarity(facing, level, dim=-1)
    assert float(cosine.min()) > 1 - 1e-5  # it faces where it faced: only the tilt was calmed
    spot = calming.CALM["stay in place"](base, START, END)
    assert torch.equal(spot.rotations, base.rotations) and torch.equal(spot.root[:, 1], base.root[:, 1])
    path = spot.root[START:END, [0, 2]]
    direction = torch.nn.functional.normalize(path[-1] - path[0], dim=0)
    across = (path - path[0]) @ torch.stack([-direction[1], direction[0]])
    assert float(across.abs().max()) < 1e-5  # on the straight way between the span's ends
    slow = calming.CALM["slower"](base, START, END)
    speed = instructions.joint_speed
    before, after = (float(speed(m.slice(START, END).joints(), 0)) for m in (base, slow))
    assert after < 0.75 * before
    assert BLEND_FRAMES < (END - START) // 2
