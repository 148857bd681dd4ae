"""The studio's inspection handlers on real files, and the UI builds."""

from __future__ import annotations

import inspect
import re

import gradio as gr
import pytest
import soundfile

from dancemosaic import bvh, mocap, percussion
from dancemosaic.studio.inspect import describe_song, retarget_bvh
from dancemosaic.studio.ui import build_ui
from dancemosaic.timing import SAMPLE_RATE


def test_song_summary_names_the_tempo(tmp_path):
    audio, _ = percussion.synthesize(120.0, 8.0)
    soundfile.write(tmp_path / "song.wav", audio, SAMPLE_RATE)
    summary = describe_song(str(tmp_path / "song.wav"))
    tempo = float(re.search(r"tempo ([\d.]+) BPM", summary)[1])
    assert abs(tempo - 120.0) < 2.4 and "8.0 s" in summary


def test_bad_song_becomes_a_clear_ui_error(tmp_path):
    (tmp_path / "song.wav").write_bytes(b"not audio at all")
    with pytest.raises(gr.Error):
        describe_song(str(tmp_path / "song.wav"))


def test_bvh_is_retargeted_and_offered_as_canonical_bvh(tmp_path, make_motion):
    mocap.export_bvh(make_motion(frames=40, fps=60.0), tmp_path / "take.bvh")
    report, out = retarget_bvh(str(tmp_path / "take.bvh"))
    assert "rig `smpl`" in report
    assert len(bvh.read_bvh(out).frames) == 20  # 60 fps -> 30 fps


def test_ui_builds(engine):
    assert isinstance(build_ui(engine), gr.Blocks)


def test_generate_on_the_page_takes_a_length(engine):
    """Generate can dance the start of the song, so Extend and Fill stay reachable after it."""
    page = build_ui(engine)
    length = next(b for b in page.blocks.values() if getattr(b, "elem_id", None) == "dm-length")
    generate = next(b for b in page.blocks.values() if getattr(b, "elem_id", None) == "dm-generate")
    click = next(fn for fn in page.fns.values() if generate._id in [t[0] for t in fn.targets])
    assert length in click.inputs and "length" in inspect.signature(click.fn).parameters


def test_the_genre_dropdown_follows_the_prompt():
    from dancemosaic.studio.ui import GENRES, genre_of

    assert genre_of(GENRES[2], GENRES[0]) == GENRES[2]  # a genre typed or picked from the demos
    assert genre_of("a person does the robot", GENRES[0]) is None  # the user's own: none shown
    assert isinstance(genre_of(GENRES[1], GENRES[1]), type(gr.skip()))  # already shown: no echo
