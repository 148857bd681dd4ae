"""No request makes the server fetch a URL or open a file that is not the caller's upload.

Gradio downloads a URL given as a tagged ``FileData`` path (``{"path": "http://...", "meta":
{"_type": "gradio.FileData"}}``) while it prepares an event's inputs, before any handler runs, in
any argument of any event. Only loopback and private hosts are spared (safehttpx), so these tests
count the requests reaching a local server that gradio is told is public; the first test shows
that a plain gradio app does fetch from it, so a count of zero for the studio means something.
"""

from __future__ import annotations

import http.server
import io
import json
import threading
import uuid

import gradio as gr
import gradio.processing_utils
import httpx
import numpy as np
import pytest
import soundfile

from dancemosaic.studio.session import SessionStore
from dancemosaic.studio.ui import build_ui

NOT_A_URL = "must be a file you upload, not a URL"
NOT_UPLOADED = "is not a file uploaded to this studio"
GENERATE_DEFAULTS = (0, 1, 2.0, 2.0, 1.0, 1, None, 0)  # seed, steps, ..., beat_steps of /generate


def _wav() -> bytes:
    buffer = io.BytesIO()
    soundfile.write(buffer, np.zeros(16000, np.float32), 16000, format="WAV")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def song_host():
    """A local server that answers any GET with a short wav and counts the requests; gradio is
    told it is a public host (its hostname allow-list), so nothing but our check stops a fetch."""
    requests: list[str] = []
    body = _wav()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            requests.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "audio/wav")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    allowed = gradio.processing_utils.PUBLIC_HOSTNAME_WHITELIST
    allowed.append("127.0.0.1")
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", requests
    finally:
        allowed.remove("127.0.0.1")
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture(scope="module")
def studio(engine, tmp_path_factory):
    folder = tmp_path_factory.mktemp("studio")
    page = build_ui(engine, SessionStore(folder / "sessions"), folder / "demos")
    _, url, _ = page.queue().launch(prevent_thread_lock=True, quiet=True)
    yield url, page
    page.close()


def tagged(path: str) -> dict:
    return {"path": path, "meta": {"_type": "gradio.FileData"}}


def call(url: str, api_name: str, *data: object) -> str:
    """A named endpoint over plain HTTP, as a caller without gradio_client: the answer's text."""
    event = httpx.post(f"{url}gradio_api/call/{api_name}", json={"data": list(data)}).json()["event_id"]
    return httpx.get(f"{url}gradio_api/call/{api_name}/{event}", timeout=120).text


def call_page_event(url: str, page: gr.Blocks, elem_id: str, trigger: str, file: dict) -> str:
    """The page's own (private) event on component ``elem_id``, by ``fn_index`` through the queue
    as the browser sends it, with ``file`` as its first input: the messages it answers."""
    config = page.get_config_file()
    component = next(c["id"] for c in config["components"] if c.get("props", {}).get("elem_id") == elem_id)
    dependency = next(d for d in config["dependencies"] if (component, trigger) in map(tuple, d["targets"]))
    session = uuid.uuid4().hex
    data = [file] + [None] * (len(dependency["inputs"]) - 1)
    body = {"data": data, "fn_index": dependency["id"], "session_hash": session, "trigger_id": component}
    httpx.post(f"{url}gradio_api/queue/join", json=body).raise_for_status()
    said = []
    stream = httpx.stream("GET", f"{url}gradio_api/queue/data", params={"session_hash": session}, timeout=120)
    with stream as answer:
        for line in answer.iter_lines():
            if line.startswith("data:"):
                said.append(line)
                if json.loads(line[5:])["msg"] == "process_completed":
                    break
    return "\n".join(said)


def test_a_plain_gradio_app_fetches_a_tagged_url_so_these_tests_can_see_one(song_host):
    host, requests = song_host

    def length(song: gr.FileData) -> int:
        return 1

    with gr.Blocks() as plain:
        gr.api(length, api_name="length")
    _, url, _ = plain.queue().launch(prevent_thread_lock=True, quiet=True)
    try:
        before = len(requests)
        call(url, "length", tagged(f"{host}/plain.wav"))
        assert len(requests) == before + 1
    finally:
        plain.close()


def test_no_endpoint_fetches_a_url_in_any_argument(studio, song_host):
    url, _ = studio
    host, requests = song_host
    before = len(requests)
    answers = {
        "generate's song": call(url, "generate", tagged(f"{host}/a.wav"), "a dance", *GENERATE_DEFAULTS),
        "generate's prompt": call(url, "generate", None, tagged(f"{host}/b.wav"), *GENERATE_DEFAULTS),
        "open_project": call(url, "open_project", tagged(f"{host}/c.zip")),
        "describe_song": call(url, "describe_song", tagged(f"{host}/d.wav")),
        "edit's joints": call(url, "edit", "1-2", "", [tagged(f"{host}/e.wav")], 0, 1, 1, 0),
    }
    assert len(requests) == before, requests[before:]
    for what, answer in answers.items():
        assert NOT_A_URL in answer, (what, answer)
    assert "the song must be a file you upload" in answers["generate's song"]


def test_the_pages_own_events_fetch_no_url_either(studio, song_host):
    url, page = studio
    host, requests = song_host
    before = len(requests)
    generate = call_page_event(url, page, "dm-generate", "click", tagged(f"{host}/f.wav"))
    arrived = call_page_event(url, page, "dm-song", "upload", tagged(f"{host}/g.wav"))
    assert len(requests) == before, requests[before:]
    assert NOT_A_URL in generate and NOT_A_URL in arrived and "Song (wav" in generate


@pytest.mark.parametrize("path", ["/etc/passwd", "file:///etc/passwd", "/etc/../etc/hostname"])
def test_a_server_path_is_refused_with_the_policys_message_before_gradio_reads_it(studio, path):
    url, _ = studio
    answer = call(url, "generate", tagged(path), "a dance", *GENERATE_DEFAULTS)
    assert (NOT_A_URL if path.startswith("file:") else NOT_UPLOADED) in answer, answer
    assert "/etc" not in answer.replace(path, "") and "root:" not in answer
