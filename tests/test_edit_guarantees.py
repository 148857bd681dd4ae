"""The editing guarantees on a tiny random engine, measured in world space on exported dances
(BVH written, read back and posed by its own forward kinematics): kept joints stay put, nothing
moves outside the edit, the borders join without a jump, the root path rejoins the old one."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from dancemosaic import bvh, export
from dancemosaic.dance import Dance, Edit, Request
from dancemosaic.sampling import SamplingOptions
from dancemosaic.skeleton import BODY_PARTS, JOINT_INDEX, JOINT_NAMES
from dancemosaic.splice import border_jump_ratio
from dancemosaic.timing import FPS

FAST = SamplingOptions(steps=2, refine_steps=5)
WRISTS = (JOINT_INDEX["left_wrist"], JOINT_INDEX["right_wrist"])


@pytest.fixture(scope="module")
def dance(engine) -> Dance:
    return engine.generate(Request("a person dances", duration=8.0, seed=3), FAST)


def exported(dance: Dance, folder: Path) -> np.ndarray:
    """(T, 24, 3) world positions of the dance's BVH export, read back."""
    take = bvh.read_bvh(export.write(dance, folder / "dance.bvh"))
    positions = bvh.forward_kinematics(take)[0].numpy()
    return positions[:, [take.names.index(name) for name in JOINT_NAMES]]


def frames(zones: tuple[tuple[float, float], ...]) -> list[tuple[int, int]]:
    return [(round(a * FPS), round(b * FPS)) for a, b in zones]


@pytest.mark.parametrize("kept", [BODY_PARTS["legs"], WRISTS, BODY_PARTS["root_trajectory"]])
def test_kept_joints_stay_where_they_were_in_world_space(engine, dance, kept, tmp_path):
    edited = engine.edit(dance, Edit(2.0, 5.0, text="a person jumps", joints=kept, seed=1), FAST)
    before, after = exported(dance, tmp_path), exported(edited, tmp_path)
    moved = np.linalg.norm(after - before, axis=-1)[60:150]  # (span frames, 24) metres
    assert np.median(moved[:, list(kept)]) <= 0.01 and moved[:, list(kept)].max() <= 0.03
    assert moved.max() > 0.05  # the rest of the body did regenerate
    # The studio's figure is this measured world-space error (to the BVH text's precision).
    assert edited.kept_error == pytest.approx(moved[:, list(kept)].max(), abs=1e-3)


def test_outside_the_edit_nothing_moves_and_the_borders_do_not_jump(engine, dance, tmp_path):
    edited = engine.edit(dance, Edit(2.0, 5.0, text="a person jumps", seed=2), FAST)
    before, after = exported(dance, tmp_path), exported(edited, tmp_path)
    moved = np.linalg.norm(after - before, axis=-1)
    assert moved[:60].max() <= 0.001 and moved[150:].max() <= 0.001  # the root path rejoined too
    assert moved[60:150].max() > 0.05
    zones = frames(edited.blends)
    assert zones[0][0] == 60 and zones[-1][1] == 150  # inside the span, at its borders
    assert all(0 < (end - start) / FPS <= 0.25 for start, end in zones)
    assert border_jump_ratio(after[:, :22], zones) <= 1.0
    assert edited.kept_error is None


def test_an_extension_keeps_the_dance_up_to_a_short_blend_before_its_end(engine, dance, tmp_path):
    longer = engine.edit(dance, Edit(8.0, 11.0, seed=4), FAST)
    assert longer.duration == pytest.approx(11.0)
    (start, end), *_ = frames(longer.blends)
    assert end == 240 and (end - start) / FPS <= 0.25  # the old dance's last frames join the new
    before, after = exported(dance, tmp_path), exported(longer, tmp_path)
    assert np.linalg.norm(after[:start] - before[:start], axis=-1).max() <= 0.001
    assert border_jump_ratio(after[:, :22], [(start, end)]) <= 1.0


def test_joints_kept_across_the_old_end_hold_up_to_it_and_the_json_export_says_so(engine, dance, tmp_path):
    legs = BODY_PARTS["legs"]
    edited = engine.edit(dance, Edit(6.0, 10.0, joints=legs, seed=5), FAST)
    before, after = exported(dance, tmp_path), exported(edited, tmp_path)
    assert np.linalg.norm(after[:240] - before, axis=-1)[180:, list(legs)].max() <= 0.001
    assert np.linalg.norm(after[:180] - before[:180], axis=-1).max() <= 0.001
    assert border_jump_ratio(after[:, :22], frames(edited.blends)) <= 1.0
    meta = json.loads(export.write(edited, tmp_path / "dance.json").read_text())
    assert meta["kept_error"] == edited.kept_error and meta["blends"] == [list(z) for z in edited.blends]
