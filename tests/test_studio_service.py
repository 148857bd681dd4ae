"""Studio operations on a tiny random engine: generate, edit, extend, variations, export."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch

from dancemosaic import engine as engine_module
from dancemosaic import mocap, music, percussion, rotation
from dancemosaic.motion import Motion
from dancemosaic.rhythm import BeatOptions
from dancemosaic.studio import views
from dancemosaic.studio.service import Controls, Studio, check_ranges, parse_ranges, store_song
from dancemosaic.studio.session import SessionStore
from dancemosaic.timing import SAMPLE_RATE

FAST = Controls(steps=2)


@pytest.fixture(scope="module")
def studio(engine) -> Studio:
    return Studio(engine)


@pytest.fixture(scope="module")
def song(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("song") / "My Song (final).wav"
    audio, _ = percussion.synthesize(120.0, 8.0, seed=1)
    soundfile.write(path, audio, SAMPLE_RATE)
    return str(path)


@pytest.fixture
def session(tmp_path):
    return SessionStore(tmp_path).get("test")


def test_segments_are_parsed_and_checked_with_messages_that_say_what_to_change():
    assert parse_ranges("4-8, 12.5 - 14s, 1 to 2") == [(4.0, 8.0), (12.5, 14.0), (1.0, 2.0)]
    assert check_ranges([(6.0, 9.0), (1.0, 2.0)], 9.0) == [(1.0, 2.0), (6.0, 9.0)]
    for ranges, message in [
        ([], "select a segment"),
        ([(3.0, 3.0)], "end after it"),
        ([(5.0, 2.0)], "end after it"),
        ([(-1.0, 2.0)], "0 s or later"),
        ([(8.0, 12.0)], "use Extend"),
        ([(1.0, 4.0), (3.0, 5.0)], "overlap"),
    ]:
        with pytest.raises(ValueError, match=message):
            check_ranges(ranges, 10.0 if message != "use Extend" else 9.0)
    with pytest.raises(ValueError, match="start-end in seconds"):
        parse_ranges("four to eight")


def test_an_uploaded_song_is_copied_under_a_safe_name(session, song, tmp_path):
    stored = store_song(session, song)
    assert stored.endswith("My_Song_final.wav") and session.folder in Path(stored).parents
    (tmp_path / "evil.exe").write_bytes(b"x")
    with pytest.raises(ValueError, match="unsupported audio format"):
        store_song(session, tmp_path / "evil.exe")


def test_edits_build_on_each_other_and_a_failed_edit_leaves_the_history_alone(studio, session, song):
    first = studio.generate(session, song, "a person dances salsa", FAST)
    edited = studio.edit(session, [(2.0, 4.0)], "a person jumps", (), FAST)
    assert edited.parent is first and [s.text for s in edited.segments][1] == "a person jumps"
    assert torch.equal(edited.codes[:15], first.codes[:15]) and torch.equal(
        edited.codes[30:], first.codes[30:]
    )
    before = list(session.history.versions)
    with pytest.raises(ValueError, match="overlap"):
        studio.edit(session, [(1.0, 3.0), (2.0, 5.0)], None, (), FAST)
    assert session.history.versions == before and session.history.dance is edited
    assert session.history.undo() is first and session.history.redo() is edited


def test_body_part_edit_and_extend_to_the_song_end(studio, session, song):
    studio.generate(session, song, "a person dances", FAST, duration=5.0)
    kept = studio.edit(session, [(1.0, 3.0)], None, (16, 18, 20), FAST)
    assert kept.kept_error is not None and kept.duration == pytest.approx(5.0)
    whole = studio.extend(session, None, None, FAST)
    assert whole.duration == pytest.approx(8.0, abs=0.05)
    with pytest.raises(ValueError, match="whole song"):
        studio.extend(session, 2.0, None, FAST)


def test_variations_are_candidates_to_pick_from(studio, session, song):
    studio.generate(session, song, "a person dances", Controls(steps=2, variations=3), duration=4.0)
    assert len(session.candidates) == 3 and session.history.dance is session.candidates[0]
    assert not torch.equal(session.candidates[0].codes, session.candidates[2].codes)
    picked = studio.pick(session, 2)
    assert picked is session.candidates[2] and len(session.history.versions) == 2
    assert session.history.versions[1].parent is None  # a sibling of candidate 1, not built on it
    assert len(views.candidate_choices(session)) == 3


def test_the_player_payload_round_trips_the_joints(studio, session, song):
    dance = studio.generate(session, song, "a person dances", FAST, duration=3.0)
    payload = json.loads(views.player_payload(dance, 0, [(1.0, 2.0)]))
    positions = np.frombuffer(base64.b64decode(payload["positions"]), "<i2").reshape(payload["frames"], 24, 3)
    assert np.abs(positions / 1000.0 - dance.joints()).max() <= 0.0006
    assert payload["audio"].startswith("gradio_api/file=/") and payload["audio"].endswith(".wav")
    assert payload["selection"] == [[1.0, 2.0]] and payload["beats"] and payload["fps"] == 30


@pytest.mark.parametrize("fmt", ["bvh", "glb", "npz", "pkl", "json"])
def test_exports_land_in_the_session_folder(studio, session, song, fmt):
    studio.generate(session, song, "a person dances", FAST, duration=2.0)
    path = studio.export(session, fmt)
    assert path.suffix == f".{fmt}" and session.folder in path.parents and path.stat().st_size > 0
    with pytest.raises(ValueError, match="unknown export format"):
        studio.export(session, "exe")


def test_a_bvh_take_can_start_the_session_or_guide_chosen_joints(
    studio, session, song, tmp_path, make_motion
):
    mocap.export_bvh(make_motion(frames=400, fps=30.0), tmp_path / "take.bvh")
    start = studio.start_from_bvh(session, tmp_path / "take.bvh", song, "a person dances")
    assert start.duration == pytest.approx(8.0, abs=0.05)  # cut to the song
    assert session.history.versions[0].label == "Start from take.bvh"
    guided = studio.generate(session, song, "a person dances", FAST, pose_bvh=tmp_path / "take.bvh",
                             pose_joints=(20, 21))  # fmt: skip
    assert guided.pose_distance is not None and guided.duration == pytest.approx(8.0, abs=0.05)
    (tmp_path / "broken.bvh").write_text("HIERARCHY\nROOT")
    with pytest.raises(ValueError):
        studio.start_from_bvh(session, tmp_path / "broken.bvh", song, "a person dances")
    assert len(session.history.versions) == 2


def test_beat_sync_reaches_the_engine_and_is_bounded(studio, session, song, monkeypatch):
    assert Controls().sampling().beat.steps == BeatOptions.steps
    with pytest.raises(ValueError, match=r"beat_steps \(beat sync steps\) must be 0-100, not 101"):
        Controls(beat_steps=101)
    asked: list[int] = []  # the refinement may keep a window unchanged, so watch what reaches it
    refine = engine_module.refine_beats_span

    def watched(*args, **kwargs):
        asked.append(args[4].steps)
        return refine(*args, **kwargs)

    monkeypatch.setattr(engine_module, "refine_beats_span", watched)
    studio.generate(session, song, "a person dances", Controls(steps=2, beat_steps=25), duration=4.0)
    assert asked and set(asked) == {25}
    studio.generate(session, song, "a person dances", Controls(steps=2, beat_steps=0), duration=4.0)
    assert set(asked) == {25}  # off: never called


def test_the_beat_panel_draws_every_music_beat_in_one_trace(studio, session, song):
    dance = studio.generate(session, song, "a person dances", FAST, duration=6.0)
    figure = views.beat_figure(dance, 0.3)
    names = [trace.name for trace in figure.data]
    # the kinematic beats last: drawn above the onset and beat lines
    assert names == ["joint speed (m/s)", "onset strength (scaled)", "music beats", "kinematic beats"]
    beats = music.analyse_file(dance.song).beat_frames
    drawn = np.asarray(figure.data[2].x, dtype=float)
    np.testing.assert_allclose(drawn[0::3], beats[beats < dance.motion.num_frames] / 30.0)
    assert not figure.layout.shapes and "BAS 0.300" in figure.layout.title.text
    assert figure.layout.xaxis.title.text == "time in the song (s)"
    assert figure.layout.yaxis.title.text == "joint speed (m/s)"


def test_the_beat_panel_shows_the_speed_its_kinematic_beats_are_dips_of_without_a_first_frame_spike(
    studio, session, song
):
    t = torch.arange(180) / 30.0  # a body swaying twice a second, 6 s
    sway = torch.zeros(180, 22, 3)
    sway[:, :, 0] = 0.05 * torch.sin(2 * torch.pi * 2.0 * t)[:, None]
    root = torch.tensor([0.0, 0.9, 0.0]).repeat(180, 1)
    root[0, 1] += 0.3  # the first frame 30 cm off, as a decoder's edge frame can be: a 9 m/s jump
    motion = Motion(rotation.axis_angle_to_matrix(sway), root)
    dance = studio.engine.dance_from_motion(motion, "a person dances", song)
    figure = views.beat_figure(dance, None)
    speed, markers = np.asarray(figure.data[0].y), figure.data[-1]
    raw = np.linalg.norm(np.diff(dance.joints()[:, :22], axis=0), axis=-1).mean(axis=1) * 30
    assert raw[0] > 8.0 and raw[0] > 5 * raw[1:].max()  # unsmoothed, the jump would fill the panel
    assert speed[:3].max() < 2 * speed[10:].max()  # smoothed as for the beats: no spike stands out
    assert figure.data[0].x[0] == pytest.approx(1 / 30)  # the curve starts at the second frame
    frames = np.round(np.asarray(markers.x) * 30).astype(int) - 1  # indices into the curve
    assert len(frames) and np.allclose(markers.y, speed[frames])
    assert all(speed[f] < speed[f - 1] and speed[f] < speed[f + 1] for f in frames)  # each on a dip


def test_generate_dances_the_start_and_extend_says_where_the_song_ends(studio, session, song):
    first = studio.generate(session, song, "a person dances", FAST, duration=5.0)
    assert first.duration == pytest.approx(5.0)
    assert session.history.versions[-1].label.startswith("Generate 0-5.0 s of 8.0 s: a person dances")
    longer = studio.extend(session, 10.0, None, FAST)
    assert longer.duration == pytest.approx(8.0)
    label = session.history.versions[-1].label
    assert "Extend from 5.0 s to 8.0 s (the song ends at 8.0 s, not 15.0 s)" in label
    assert label in views.summary(session, None)  # the page says it, not only the version list
    studio.generate(session, song, "a person dances", FAST, duration=3.0)
    whole = studio.extend(session, None, None, FAST)
    assert whole.duration == pytest.approx(8.0)
    assert session.history.versions[-1].label.startswith("Fill the song from 3.0 s to 8.0 s:")
    studio.generate(session, song, "a person dances", FAST, duration=3.0)
    studio.extend(session, 2.0, None, FAST)
    assert session.history.versions[-1].label.startswith("Extend from 3.0 s to 5.0 s:")


def test_a_take_shorter_than_the_song_is_extended_and_kept(studio, session, song, tmp_path, make_motion):
    mocap.export_bvh(make_motion(frames=120, fps=30.0), tmp_path / "take.bvh")
    take = studio.start_from_bvh(session, tmp_path / "take.bvh", song, "a person dances")
    longer = studio.extend(session, 10.0, None, FAST)
    assert longer.duration == pytest.approx(8.0) and "not 14.0 s" in session.history.versions[-1].label
    start, end = longer.blends[0]
    assert end == pytest.approx(4.0) and end - start <= 0.25
    before = take.joints()[: round(start * 30)]
    assert np.abs(longer.joints()[: len(before)] - before).max() <= 0.001  # the take itself stays


def test_an_edit_of_several_segments_shows_all_blend_zones_and_the_measured_kept_error(studio, session, song):
    studio.generate(session, song, "a person dances", FAST, duration=8.0)
    edited = studio.edit(session, [(1.0, 3.0), (5.0, 7.0)], None, (7, 8), FAST)
    (a, _), (_, b), (c, _), (_, d) = edited.blends  # entering and leaving each segment
    assert (a, b, c, d) == pytest.approx((1.0, 3.0, 5.0, 7.0))
    assert all(0 < b - a <= 0.25 for a, b in edited.blends)
    assert edited.kept_error is not None and edited.kept_error < 0.01
    assert f"kept joints within {edited.kept_error * 100:.1f} cm" in views.summary(session, None)
    payload = json.loads(views.player_payload(edited, 1))
    assert payload["blends"] == [[round(a, 4), round(b, 4)] for a, b in edited.blends]
