"""Training recordings lose the spans that copy held-out ones (``datasets/dedup.py``), on small
smooth random motions (not periodic, so a window matches only where it was copied)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from dancemosaic.datasets import corpus, dedup
from dancemosaic.datasets.clip import Clip
from dancemosaic.datasets.corpus import load_joints
from dancemosaic.datasets.dance_with_melody import SOURCE
from dancemosaic.motion import Motion
from dancemosaic.timing import FPS
from tests.test_dance_with_melody import REC_FPS, save_recording


def joined(*motions: Motion) -> Motion:
    return Motion(
        torch.cat([m.rotations for m in motions]), torch.cat([m.root for m in motions]), motions[0].fps
    )


def clip(name: str, motion: Motion, music_offset: float = 0.0) -> Clip:
    return Clip(f"{SOURCE}/{name}", SOURCE, motion, "a person dances a waltz", "test", Path("song.wav"),
                music_offset)  # fmt: skip


def distances_to_the_root(motion: Motion) -> torch.Tensor:
    """(T, J): unchanged by where the clip stands and which way it faces (canonicalize sets both)."""
    joints = motion.joints()
    return (joints - joints[:, :1]).norm(dim=-1)


def test_a_training_clip_loses_exactly_the_span_that_copies_a_held_out_one(make_motion):
    held = make_motion(240, seed=1)
    pool = dedup.held_out_pool([clip("DANCE_W_2", held)])
    before, after = make_motion(200, seed=2), make_motion(220, seed=3)
    cut = dedup.cut_copies(clip("DANCE_W_1", joined(before, held, after), music_offset=3.0), pool)
    assert [p.name for p in cut.parts] == [f"{SOURCE}/DANCE_W_1-novel1", f"{SOURCE}/DANCE_W_1-novel2"]
    first, second = cut.parts
    assert first.motion.num_frames == 200 and second.motion.num_frames == 220  # the copy was [200, 440)
    assert first.music_offset == 3.0 and second.music_offset == pytest.approx(3.0 + 440 / FPS)
    torch.testing.assert_close(distances_to_the_root(second.motion), distances_to_the_root(after), atol=1e-4,
                               rtol=0)  # fmt: skip
    assert (cut.frames, cut.copied, cut.removed) == (660, 240, 240)


def test_a_clip_without_a_copy_keeps_everything_and_short_leftovers_are_dropped(make_motion):
    held = make_motion(240, seed=1)
    pool = dedup.held_out_pool([clip("DANCE_W_2", held)])
    fresh = clip("DANCE_W_3", make_motion(300, seed=4))
    kept = dedup.cut_copies(fresh, pool)
    assert kept.parts == [fresh] and kept.removed == 0
    # 2 s before the copy: under MIN_SECONDS, dropped with it.
    cut = dedup.cut_copies(
        clip("DANCE_W_4", joined(make_motion(60, seed=5), held, make_motion(200, seed=6))), pool
    )
    assert [(p.name, p.motion.num_frames) for p in cut.parts] == [(f"{SOURCE}/DANCE_W_4-novel1", 200)]
    assert cut.parts[0].music_offset == pytest.approx(300 / FPS)
    assert (cut.copied, cut.removed) == (240, 300)
    report = {"threshold_m": 0.02, "training_clips": 2, "clips": {"w4": cut.as_json(FPS)}}
    assert dedup.describe(report).startswith("training recordings that copy held-out ones: 1 of 2 clips cut")
    assert dedup.cut_copies(fresh, dedup.held_out_pool([])).parts == [fresh]  # nothing held out


def test_prepare_cuts_the_copied_span_from_a_training_recording(make_motion, tmp_path):
    """Through the reader (25 fps recordings, resampled to 30 fps): the held-out DANCE_W_2 was
    recorded again in the middle of the training DANCE_W_1."""
    root = tmp_path / "data"
    folder = root / "dance_with_melody"
    folder.mkdir(parents=True)
    held = make_motion(200, seed=1, fps=REC_FPS)  # 8 s
    save_recording(folder, "DANCE_W_2", held, 8)
    save_recording(folder, "DANCE_W_1", joined(make_motion(200, seed=2, fps=REC_FPS), held,
                                               make_motion(200, seed=3, fps=REC_FPS)), 24)  # fmt: skip
    (root / "splits").mkdir()
    (root / "splits" / "test.txt").write_text("dance_with_melody/DANCE_W_2.npz\n")
    cache = tmp_path / "cache"
    entries, copies = corpus._recorded_pairs(root, cache)
    parts = {e["name"]: e for e in entries}
    first, second = parts[f"{SOURCE}/DANCE_W_1-novel1"], parts[f"{SOURCE}/DANCE_W_1-novel2"]
    assert f"{SOURCE}/DANCE_W_1" not in parts and f"{SOURCE}/DANCE_W_1-novel2-mirror" in parts
    assert parts[f"{SOURCE}/DANCE_W_2"]["split"] == "test" and parts[f"{SOURCE}/DANCE_W_2"]["frames"] >= 239
    # The copy is 8-16 s (frames 240-480 at 30 fps); the edges are found to within HOP frames.
    assert 240 - dedup.HOP < first["frames"] <= 240
    assert 480 <= 720 - second["frames"] < 480 + dedup.HOP
    assert second["music_offset"] == pytest.approx((720 - second["frames"]) / FPS)
    assert len(load_joints(cache, second)) == second["frames"]
    cut = copies["clips"][f"{SOURCE}/DANCE_W_1"]
    assert cut["copied_seconds"] == pytest.approx(8.0, abs=dedup.HOP / FPS)
    assert copies["training_clips"] == 1 and json.dumps(copies)  # goes into index.json as it is
