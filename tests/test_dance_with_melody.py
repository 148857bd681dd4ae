"""The Dance with Melody reader and its place in the corpus, on small recordings in the shared layout
(NaN spans, a song shorter than its dance, the SMPL translation below the floor, 25 fps)."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest
import soundfile
import torch

from dancemosaic import percussion, rotation, skeleton
from dancemosaic.datasets import corpus, pairs
from dancemosaic.datasets.corpus import load_index, load_joints
from dancemosaic.datasets.dance_with_melody import (
    finite_runs,
    read_dance_with_melody,
    style_of,
    style_prompt,
)
from dancemosaic.datasets.windows import mix_weights
from dancemosaic.timing import FPS, SAMPLE_RATE
from tests.test_pairing import swinging_dance

REC_FPS = 25.0


def write_recording(folder, stem, seconds, song_seconds, nan_span=None, beat_period=0.5):
    """A swinging dance as SMPL parameters at 25 fps, 0.5 m below the floor like the real files
    (recordings with the same ``beat_period`` are copies of each other)."""
    motion = swinging_dance(seconds, beat_period=beat_period, fps=REC_FPS)
    save_recording(folder, stem, motion, song_seconds, nan_span)


def save_recording(folder, stem, motion, song_seconds, nan_span=None):
    """``motion`` (at 25 fps) as a Dance with Melody npz, travelling 2 m; a song beside it."""
    axis_angle = rotation.matrix_to_axis_angle(motion.rotations.double())  # (T, 22, 3)
    poses = torch.cat([axis_angle, torch.zeros(len(axis_angle), 2, 3, dtype=torch.float64)], 1)
    trans = motion.root.double() - skeleton.rest_offsets(torch.float64)[0] - torch.tensor([0.0, 0.5, 0.0])
    trans[:, 0] += torch.linspace(0, 2, len(trans), dtype=torch.float64)  # travels 2 m
    poses, trans = poses.reshape(len(poses), 72).numpy(), trans.numpy()
    if nan_span:
        poses[nan_span[0] : nan_span[1]] = np.nan
    np.savez(folder / f"{stem}.npz", poses=poses, trans=trans, betas=np.zeros(10), fps=REC_FPS)
    if song_seconds:
        audio, _ = percussion.synthesize(120.0, song_seconds, seed=1)
        soundfile.write(folder / f"{stem}.wav", audio, SAMPLE_RATE)


@pytest.fixture(scope="module")
def data_folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    folder = root / "dance_with_melody"
    folder.mkdir()
    # Different swinging periods: no recording copies another (``dedup`` would cut the copies).
    write_recording(folder, "DANCE_W_1", 12, 12, beat_period=0.5)
    write_recording(folder, "DANCE_R_1", 16, 16, nan_span=(150, 200), beat_period=0.55)  # 6-8 s missing
    write_recording(folder, "DANCE_T_5", 14, 7, beat_period=0.6)  # the song ends halfway
    write_recording(folder, "DANCE_C_8", 10, 10, beat_period=0.45)  # held out
    (root / "mocap").mkdir()
    (root / "mocap" / "cmu_index.csv").write_text('"Subject","Trial #","Motion Description"\n')
    (root / "splits").mkdir()
    (root / "splits" / "test.txt").write_text("dance_with_melody/DANCE_C_8.npz\n")
    return root


def test_reader_splits_nan_spans_keeps_music_offsets_and_puts_clips_on_the_floor(data_folder, caplog):
    with caplog.at_level(logging.INFO):
        clips = {c.name: c for c in read_dance_with_melody(data_folder / "dance_with_melody", {"DANCE_C_8"})}
    assert set(clips) == {
        "dance_with_melody/DANCE_W_1",
        "dance_with_melody/DANCE_R_1-part1",
        "dance_with_melody/DANCE_R_1-part2",
        "dance_with_melody/DANCE_T_5",
    }
    first, second = clips["dance_with_melody/DANCE_R_1-part1"], clips["dance_with_melody/DANCE_R_1-part2"]
    assert first.music_offset == 0.0 and second.music_offset == pytest.approx(200 / REC_FPS)
    assert first.motion.num_frames == round(150 / REC_FPS * FPS) and first.motion.fps == FPS
    for clip in clips.values():
        joints = clip.motion.joints()
        assert torch.isfinite(joints).all()
        assert joints[..., 1].min().abs() < 1e-4  # on the floor, not 0.5 m under it
        assert joints[0, 0, [0, 2]].abs().max() < 1e-4  # starts at the origin
        assert clip.music is not None and clip.music.is_absolute()
    assert "DANCE_R_1: dropped 50 frames" in caplog.text
    assert "DANCE_T_5: the song covers 7.0 s of the 14.0 s dance" in caplog.text


def test_held_out_recordings_are_the_test_split_only(data_folder):
    folder = data_folder / "dance_with_melody"
    test = [c.name for c in read_dance_with_melody(folder, {"DANCE_C_8"}, "test")]
    assert test == ["dance_with_melody/DANCE_C_8"]


def test_prepare_pairs_recorded_dances_with_their_own_song_cut_to_it(data_folder, tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    entries, copies = corpus._recorded_pairs(data_folder, cache)
    assert copies["training_clips"] == 4 and copies["clips"] == {}  # nothing copies the held-out dance
    (cache / "index.json").write_text(json.dumps({"version": corpus.INDEX_VERSION, "clips": entries}))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pairs, "SYNTH_TEMPOS", (100,))
        patch.setattr(pairs, "SYNTH_SECONDS", 10.0)
        pairs.build_pairs(None, cache)
    clips = {e["name"]: e for e in load_index(cache)["clips"]}
    assert clips["dance_with_melody/DANCE_R_1-part2-mirror"]["music_offset"] == pytest.approx(8.0)
    assert "dance_with_melody/DANCE_C_8-mirror" not in clips
    built = {p["clip"]: p for p in json.loads((cache / "pairs.json").read_text())["pairs"]}
    assert all(p["recorded"] for p in built.values())
    assert built["dance_with_melody/DANCE_R_1-part2"]["music_start"] == 8 * FPS
    assert built["dance_with_melody/DANCE_T_5"]["frames"] == 7 * FPS  # only what the song covers
    whole = load_joints(cache, clips["dance_with_melody/DANCE_T_5"])
    assert len(whole) == 14 * FPS  # the motion-only stages keep the whole dance


def test_broken_or_pickled_recordings_are_skipped_with_a_reason(tmp_path, caplog):
    np.savez(tmp_path / "DANCE_W_2.npz", poses=np.zeros((10, 71)), trans=np.zeros((10, 3)), fps=25.0)
    np.savez(tmp_path / "DANCE_W_3.npz", poses=np.array([object()]), trans=np.zeros((1, 3)), fps=25.0)
    write_recording(tmp_path, "DANCE_W_4", 6, 6)
    with caplog.at_level(logging.WARNING):
        clips = list(read_dance_with_melody(tmp_path, set()))
    assert [c.name for c in clips] == ["dance_with_melody/DANCE_W_4"]
    assert "DANCE_W_2.npz: poses must be (N, 72)" in caplog.text
    assert "DANCE_W_3.npz: not a Dance with Melody npz" in caplog.text
    with pytest.raises(ValueError, match="no DANCE_"):
        list(read_dance_with_melody(tmp_path / "elsewhere", set()))


def test_style_prompts_name_the_style_in_varied_phrasings():
    prompts = {style_prompt(style_of(f"DANCE_W_{i}"), f"DANCE_W_{i}") for i in range(40)}
    assert len(prompts) >= 4 and all("waltz" in p for p in prompts)
    assert style_prompt("tango", "x").count("tango") == 1
    with pytest.raises(ValueError, match="DANCE_W_12"):
        style_of("waltz_12")


def test_finite_runs_drop_short_runs():
    valid = np.array([1, 1, 1, 0, 1, 0, 0, 1, 1, 1, 1], bool)
    assert finite_runs(valid, 3) == [(0, 3), (7, 11)]
    assert finite_runs(np.zeros(4, bool), 1) == []


def test_the_training_mix_gives_each_kind_its_share_and_long_clips_more():
    kinds = ["recorded", "dance", "other", "other", "other"]
    weights = mix_weights(kinds, [100, 10, 1, 1, 2])
    assert weights[0] == pytest.approx(0.5) and weights[1] == pytest.approx(0.3)
    assert weights[4] == pytest.approx(2 * weights[2]) and weights.sum() == pytest.approx(1.0)
    alone = mix_weights(["other", "other"], [1, 3])  # missing kinds give their share away
    assert alone.tolist() == pytest.approx([0.25, 0.75])


def test_the_training_mix_can_even_out_the_styles_within_a_kind():
    kinds = ["recorded"] * 4 + ["other"]
    lengths = [900, 100, 50, 50, 10]  # 900 frames of waltz, 100 of tango, two rumbas of 50
    styles = ["waltz", "tango", "rumba", "rumba", None]
    mix = {"recorded": 0.5, "dance": 0.3, "other": 0.2}
    by_length = mix_weights(kinds, lengths, styles, 1.0, mix)
    assert by_length.tolist() == pytest.approx(mix_weights(kinds, lengths, mix=mix).tolist())
    equal = mix_weights(kinds, lengths, styles, 0.0, mix) / (0.5 / 0.7)  # share of the recorded kind
    assert [equal[0], equal[1], equal[2] + equal[3]] == pytest.approx([1 / 3] * 3)
    assert equal[2] == pytest.approx(equal[3])  # by length within a style
    root = mix_weights(kinds, lengths, styles, 0.5, mix)
    assert root[0] / root[1] == pytest.approx(3.0)  # sqrt(900 / 100)
    assert root[4] == pytest.approx(0.2 / 0.7)  # other kinds keep their share


def test_training_windows_draw_the_styles_as_the_stage_asks():
    from dancemosaic.datasets.tokens import TokenClip, token_windows
    from dancemosaic.datasets.windows import ClipFeatures, Mix, random_windows

    def clip(style: str, tokens: int) -> TokenClip:
        return TokenClip(style, torch.zeros(tokens, 2, dtype=torch.long), torch.zeros(4 * tokens, 3),
                         kind="recorded", style=style)  # fmt: skip

    clips = [clip("waltz", 90), clip("tango", 10)]
    frames = [ClipFeatures(c.text, c.text, c.features, c.kind, c.style) for c in clips]
    for power, tango_share in ((1.0, 0.1), (0.0, 0.5)):
        batch = token_windows(clips, 2000, 8, torch.Generator().manual_seed(0), Mix(style_power=power))
        assert batch.texts.count("tango") / 2000 == pytest.approx(tango_share, abs=0.03)
        picks = random_windows(frames, 2000, 32, torch.Generator().manual_seed(0), Mix(style_power=power))[1]
        assert picks.count(1) / 2000 == pytest.approx(tango_share, abs=0.03)  # the tokenizer's windows
