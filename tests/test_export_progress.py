"""MP4 export says how far it is and about how long is left."""

from __future__ import annotations

import re
from types import SimpleNamespace

import numpy as np
import pytest
import soundfile

from dancemosaic import percussion, render
from dancemosaic.studio import service
from dancemosaic.studio.service import Controls, Studio, with_estimate
from dancemosaic.studio.session import SessionStore
from dancemosaic.timing import SAMPLE_RATE


def test_the_estimate_follows_the_pace_so_far():
    now, said = [0.0], []
    report = with_estimate(lambda fraction, message: said.append((fraction, message)), clock=lambda: now[0])
    for step in range(1, 11):
        now[0] = 3.0 * step  # 3 s per tenth: 30 s in all
        report(step / 10, f"rendered frame {step} of 10")
    assert [f for f, _ in said] == pytest.approx(np.arange(1, 11) / 10)
    assert said[0][1] == "rendered frame 1 of 10"  # the pace starts here
    assert said[1][1] == "rendered frame 2 of 10, about 24 s left"
    assert said[4][1] == "rendered frame 5 of 10, about 15 s left"
    assert said[-1][1] == "rendered frame 10 of 10"  # done: nothing left to estimate


def test_no_estimate_before_there_is_a_pace_to_go_by():
    now, said = [0.0], []
    report = with_estimate(lambda fraction, message: said.append(message), clock=lambda: now[0])
    for now[0], fraction, message in ((10.0, 0.1, "first"), (10.5, 0.5, "fast"), (15.0, 0.11, "slow")):
        report(fraction, message)  # under a second, then under 2 %, since the first: too early to say
    assert said == ["first", "fast", "slow"]


def test_the_time_before_the_first_report_does_not_count_toward_the_pace():
    now, said = [0.0], []
    report = with_estimate(lambda fraction, message: said.append(message), clock=lambda: now[0])
    now[0] = 4.0  # loading OpenGL, before the first frame
    report(0.02, "frame 1")
    now[0] = 5.0  # then 1 s per 2 %: 49 s for the rest
    report(0.04, "frame 2")
    assert said == ["frame 1", "frame 2, about 48 s left"]


def test_studio_mp4_export_reports_rising_fractions_with_time_left(engine, tmp_path, monkeypatch):
    audio, _ = percussion.synthesize(120.0, 3.0)
    soundfile.write(tmp_path / "song.wav", audio, SAMPLE_RATE)
    session = SessionStore(tmp_path / "sessions").get("s")
    studio = Studio(engine)
    studio.generate(session, tmp_path / "song.wav", "a person dances", Controls(steps=1, beat_steps=0))
    now = [0.0]
    monkeypatch.setattr(service, "time", SimpleNamespace(monotonic=lambda: now[0]))

    def video(dance, path, song, progress=None):  # render.video's reports, at 2 s a tenth
        for step in range(1, 11):
            now[0] += 2.0
            progress(step / 10, f"rendered frame {step} of 10")
        path.write_bytes(b"mp4")
        return path

    monkeypatch.setattr(render, "video", video)
    said = []
    path = studio.export(session, "mp4", lambda fraction, message: said.append((fraction, message)))
    assert path.suffix == ".mp4"
    fractions = [f for f, _ in said]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    left = [int(m) for _, text in said for m in re.findall(r"about (\d+) s left", text)]
    assert left == [16, 14, 12, 10, 8, 6, 4, 2]
