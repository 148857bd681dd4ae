"""The studio's named API endpoints, driven through ``gradio_client`` against a running server."""

from __future__ import annotations

import pytest
import soundfile
from gradio_client import Client, handle_file

from dancemosaic import bvh, percussion
from dancemosaic.studio.session import SessionStore
from dancemosaic.studio.ui import build_ui
from dancemosaic.timing import SAMPLE_RATE


@pytest.fixture(scope="module")
def server(engine, tmp_path_factory):
    folder = tmp_path_factory.mktemp("studio")
    audio, _ = percussion.synthesize(120.0, 6.0)
    soundfile.write(folder / "song.wav", audio, SAMPLE_RATE)
    store = SessionStore(folder / "sessions")
    page = build_ui(engine, store, folder / "demos")
    _, url, _ = page.queue().launch(prevent_thread_lock=True, quiet=True)
    yield url, folder / "song.wav", store
    page.close()


def test_generate_edit_undo_export_through_the_api(server):
    url, song, store = server
    client = Client(url, verbose=False)
    state = client.predict(handle_file(str(song)), "a person dances salsa", steps=2, api_name="/generate")
    assert state["version"] == 1 and state["duration"] == pytest.approx(6.0) and not state["can_undo"]
    state = client.predict("1-3", text="a person jumps", steps=2, api_name="/edit")
    assert state["version"] == 2 and [s["text"] for s in state["segments"]][1] == "a person jumps"
    assert client.predict(api_name="/undo")["version"] == 1
    assert client.predict(api_name="/redo")["version"] == 2
    exported = client.predict("bvh", api_name="/export")
    assert len(bvh.read_bvh(exported).frames) == 180
    assert len(store) >= 1


def test_bad_requests_get_clear_errors_and_change_nothing(server):
    url, song, _ = server
    client = Client(url, verbose=False)
    with pytest.raises(Exception, match="generate a dance first"):
        client.predict("1-2", api_name="/edit")
    client.predict(handle_file(str(song)), "a person dances", steps=2, api_name="/generate")
    with pytest.raises(Exception, match="past the dance's end"):
        client.predict("5-9", steps=2, api_name="/edit")
    with pytest.raises(Exception, match="unknown joints"):
        client.predict("1-2", joints=["tail"], steps=2, api_name="/edit")
    assert client.predict(api_name="/history")["versions"] == ["Generate: a person dances (seed 0)"]


def test_each_client_is_its_own_session(server):
    url, song, _ = server
    first, second = Client(url, verbose=False), Client(url, verbose=False)
    first.predict(handle_file(str(song)), "a person dances", steps=2, api_name="/generate")
    assert second.predict(api_name="/history")["version"] is None
    a = first.predict(handle_file(str(song)), "a person dances", seed=3, steps=2, api_name="/generate")
    b = second.predict(handle_file(str(song)), "a person dances", seed=3, steps=2, api_name="/generate")
    assert a["bas"] == b["bas"] and len(a["versions"]) == 2 and len(b["versions"]) == 1
