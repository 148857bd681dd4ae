"""The command line's early song analysis: in a forked child or on a thread, it leaves the same
analysis in music's cache as analysing the song here would; a song that cannot be analysed leaves
nothing and raises nothing (generate then says what is wrong)."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile

from dancemosaic import early_analysis, music, percussion
from dancemosaic.timing import SAMPLE_RATE


@pytest.fixture
def song(tmp_path):
    audio, _ = percussion.synthesize(110.0, 4.0, "hiphop", seed=1)
    path = tmp_path / "song.wav"
    soundfile.write(path, audio, SAMPLE_RATE)
    return path


@pytest.fixture(autouse=True)
def empty_cache(monkeypatch):
    monkeypatch.setattr(music, "_remembered", {})


@pytest.mark.parametrize("spare", [True, False], ids=["child", "thread"])
def test_the_early_analysis_lands_in_the_cache_as_the_songs_own(song, monkeypatch, spare):
    monkeypatch.setattr(early_analysis, "core_to_spare", lambda: spare)
    early_analysis.start(str(song))()
    expected = music.extract_features(music.load_audio(song))

    def analysed_again(*args, **kwargs):
        raise AssertionError("the song was analysed again: the early analysis is not in the cache")

    monkeypatch.setattr(music, "extract_features", analysed_again)
    got = music.analyse_file(song)
    assert np.array_equal(got.features, expected.features)
    assert np.array_equal(got.beat_frames, expected.beat_frames) and got.tempo_bpm == expected.tempo_bpm
    assert bool(music._remembered) == spare  # the child's analysis came through the pipe


def test_a_song_that_cannot_be_analysed_leaves_nothing_and_raises_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(early_analysis, "core_to_spare", lambda: True)
    broken = tmp_path / "broken.wav"
    broken.write_text("not audio")
    early_analysis.start(str(broken))()
    assert music._remembered == {}
    with pytest.raises(ValueError, match="broken.wav"):
        music.analyse_file(broken)


def test_a_core_is_to_spare_only_when_the_load_leaves_one(monkeypatch):
    monkeypatch.setattr(early_analysis.os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    monkeypatch.setattr(early_analysis.os, "getloadavg", lambda: (0.9, 1.0, 1.0))
    assert early_analysis.core_to_spare()
    monkeypatch.setattr(early_analysis.os, "getloadavg", lambda: (3.5, 3.0, 3.0))
    assert not early_analysis.core_to_spare()
    monkeypatch.setattr(early_analysis.os, "sched_getaffinity", lambda pid: {0}, raising=False)
    monkeypatch.setattr(early_analysis.os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    assert not early_analysis.core_to_spare()
