"""Faults: a full disk, a failing export, an engine error, a client that disconnects mid-request.
None of them may corrupt the session that hit it, another session or the engine."""

from __future__ import annotations

import errno
import time

import gradio as gr
import pytest
import soundfile
import torch
from gradio_client import Client, handle_file

from dancemosaic import engine as engine_module
from dancemosaic import export, percussion
from dancemosaic.studio import service
from dancemosaic.studio.actions import SERVER_FAULT, Actions
from dancemosaic.studio.service import Controls, Studio
from dancemosaic.studio.session import SessionStore
from dancemosaic.studio.ui import build_ui
from dancemosaic.timing import SAMPLE_RATE

FAST = Controls(steps=1)


@pytest.fixture(scope="module")
def song(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("song") / "song.wav"
    audio, _ = percussion.synthesize(100.0, 5.0)
    soundfile.write(path, audio, SAMPLE_RATE)
    return str(path)


def disk_full(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_a_full_disk_is_a_message_and_the_history_survives(engine, song, tmp_path, monkeypatch):
    studio, session = Studio(engine), SessionStore(tmp_path).get("s")
    first = studio.generate(session, song, "a person dances", FAST)
    monkeypatch.setattr(export, "write", disk_full)
    with pytest.raises(ValueError, match="could not store the bvh export \\(No space left on device\\)"):
        studio.export(session, "bvh")
    monkeypatch.setattr(service.shutil, "copyfile", disk_full)
    with pytest.raises(ValueError, match="could not store the song"):
        studio.generate(session, song, "a person dances", FAST)
    assert session.history.dance is first and len(session.history.versions) == 1
    monkeypatch.undo()
    assert studio.export(session, "bvh").is_file()


def test_an_engine_failure_leaves_every_session_and_the_engine_working(engine, song, tmp_path, monkeypatch):
    store = SessionStore(tmp_path)
    actions = Actions(Studio(engine), store)
    studio = actions.studio
    mine, other = store.get("mine"), store.get("other")
    theirs = studio.generate(other, song, "a person dances", FAST)
    studio.generate(mine, song, "a person dances", FAST)
    before = list(mine.history.versions)

    def broken(*args, **kwargs):
        raise RuntimeError("CUDA error: an illegal memory access was encountered")

    monkeypatch.setattr(engine_module, "fill", broken)
    request = gr.Request(username=None)
    request.session_hash = "mine"
    with pytest.raises(gr.Error, match="your versions are unchanged") as err:
        actions.regenerate("1-2", "", [], 0, 1, 2.0, 1.0, 2.0, 1.0, 1, 0, request, None)
    assert err.value.message == SERVER_FAULT
    monkeypatch.undo()
    assert mine.history.versions == before and other.history.dance is theirs
    again = studio.generate(other, song, "a person dances", FAST)  # the engine's lock was released
    assert torch.equal(again.codes, theirs.codes)


def test_a_client_that_disconnects_mid_generation_harms_no_one(engine, song, tmp_path):
    page = build_ui(engine, SessionStore(tmp_path / "sessions"), tmp_path / "demos")
    _, url, _ = page.queue().launch(prevent_thread_lock=True, quiet=True)
    try:
        leaver = Client(url, verbose=False)
        job = leaver.submit(handle_file(song), "a person dances", steps=10, api_name="/generate")
        time.sleep(0.2)
        job.cancel()
        leaver.close()
        stayer = Client(url, verbose=False)
        state = stayer.predict(handle_file(song), "a person dances", steps=1, api_name="/generate")
        assert state["version"] == 1 and state["versions"] == ["Generate: a person dances (seed 0)"]
        assert stayer.predict(api_name="/history")["can_undo"] is False
    finally:
        page.close()
