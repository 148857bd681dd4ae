"""A song is checked when it arrives in the page: refused now if it cannot be danced, warned about
if it is silent, and the page keeps working either way."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile

from dancemosaic import percussion
from dancemosaic.studio import actions as actions_module
from dancemosaic.studio.actions import Actions
from dancemosaic.studio.service import Studio, song_warning
from dancemosaic.studio.session import SessionStore
from dancemosaic.studio.uploads import UploadPolicy
from dancemosaic.timing import SAMPLE_RATE


@pytest.fixture
def arrival(engine, tmp_path, monkeypatch):
    """The page's handler over a stand-in upload folder, and the warnings it shows."""
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    actions = Actions(Studio(engine), SessionStore(tmp_path / "sessions"), uploads=UploadPolicy(uploads))
    shown: list[str] = []
    monkeypatch.setattr(actions_module.gr, "Warning", lambda message, *args, **kwargs: shown.append(message))
    return actions, uploads, shown


def write(path, seconds, rate=SAMPLE_RATE, loudness=1.0):
    """A percussion track scaled by ``loudness`` (0: digital silence) as a wav file."""
    if loudness:
        audio = percussion.synthesize(120.0, seconds, sample_rate=rate)[0] * loudness
    else:
        audio = np.zeros(round(seconds * rate), np.float32)
    soundfile.write(path, audio, rate)
    return str(path)


def text_file(path):
    path.write_text("these are my notes, not a song")
    return str(path)


def test_a_song_with_sound_passes_quietly(arrival):
    actions, uploads, shown = arrival
    assert actions.check_song(write(uploads / "song.wav", 3.0)) is not None  # the song stays
    assert shown == []


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (lambda folder: text_file(folder / "notes.wav"),
         "notes.wav could not be decoded: it is corrupt, truncated or not audio"),
        (lambda folder: write(folder / "blip.wav", 0.5), "songs must last at least 1 s"),
        (lambda folder: write(folder / "long.wav", 20 * 60 + 5, rate=1000, loudness=0.0),
         "songs may last at most 20.0 minutes"),
        (lambda folder: text_file(folder / "notes.txt"), "unsupported audio format '.txt'"),
    ],
)  # fmt: skip
def test_a_song_that_cannot_be_danced_is_refused_on_arrival_and_the_page_goes_on(arrival, make, says):
    actions, uploads, shown = arrival
    path = str(make(uploads))
    assert actions.check_song(path) is None  # the song box is emptied
    assert len(shown) == 1 and shown[0].startswith("This song was not taken:") and says in shown[0]
    assert actions.check_song(write(uploads / "good.wav", 2.0)) is not None and len(shown) == 1


@pytest.mark.parametrize("loudness", [0.0, 3e-4, 1e-3])  # digital silence, -70 and -60 dBFS peaks
def test_a_silent_song_is_kept_with_a_warning_that_the_dance_has_no_beat(arrival, loudness):
    actions, uploads, shown = arrival
    path = write(uploads / "quiet.wav", 1.0, loudness=loudness)
    assert actions.check_song(path) is not None  # kept: it can still be danced
    assert len(shown) == 1 and "quiet.wav is silent or nearly silent" in shown[0]
    assert "the dance will have no beat to follow" in shown[0]


def test_the_warning_names_the_level_and_a_real_song_gets_none(tmp_path):
    assert song_warning(write(tmp_path / "song.wav", 2.0)) is None
    assert "-inf" not in song_warning(write(tmp_path / "zero.wav", 1.0, loudness=0.0))


def test_a_file_from_elsewhere_is_refused_on_arrival_too(arrival, tmp_path):
    actions, _, shown = arrival
    assert actions.check_song(write(tmp_path / "elsewhere.wav", 2.0)) is None
    assert "is not a file uploaded to this studio" in shown[0]
