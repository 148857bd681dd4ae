"""The studio's named API endpoints, driven through ``gradio_client`` against a running server."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import httpx
import numpy as np
import pytest
import soundfile
from gradio.utils import get_upload_folder
from gradio_client import Client, handle_file

from dancemosaic import bvh, percussion
from dancemosaic.skeleton import JOINT_INDEX
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
    metadata = Path(client.predict("json", api_name="/export")).read_text()
    assert json.loads(metadata)["song"] == "song.wav" and str(store.root) not in metadata
    assert len(store) >= 1


def test_bad_requests_get_clear_errors_and_change_nothing(server):
    url, song, _ = server
    client = Client(url, verbose=False)
    with pytest.raises(Exception, match="generate a dance first"):
        client.predict("1-2", api_name="/edit")
    client.predict(handle_file(str(song)), "a person dances", steps=2, api_name="/generate")
    with pytest.raises(Exception, match="past the dance's end"):
        client.predict("5-9", steps=2, api_name="/edit")
    with pytest.raises(Exception, match="unknown joints \\['tail'\\]"):
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


NOT_UPLOADED = "is not a file uploaded to this studio"
GENERATE_DEFAULTS = (0, 1, 2.0, 2.0, 1.0, 1, None, 0)  # seed, steps, ..., beat_steps of /generate


def raw_call(url: str, api_name: str, *data: object) -> str:
    """Call an endpoint over plain HTTP, as a caller without gradio_client would: the answer's text."""
    event = httpx.post(f"{url}gradio_api/call/{api_name}", json={"data": list(data)}).json()["event_id"]
    return httpx.get(f"{url}gradio_api/call/{api_name}/{event}", timeout=120).text


def test_generate_reads_no_server_file_but_the_callers_upload(server, tmp_path):
    url, song, store = server
    client = Client(url, verbose=False)
    outside = tmp_path / "elsewhere.wav"  # a good song in another temporary folder of the server
    outside.write_bytes(song.read_bytes())
    trap = Path(get_upload_folder()) / f"dancemosaic-test-{uuid.uuid4().hex}"
    trap.mkdir(parents=True)
    (trap / "link.wav").symlink_to(outside)
    attempts = {
        "absolute": str(outside),
        "dotdot": f"{trap}/../../{outside.relative_to('/')}",
        "symlink": str(trap / "link.wav"),
    }
    for how, path in attempts.items():
        with pytest.raises(Exception, match=NOT_UPLOADED):  # noqa: PT012
            client.predict({"path": path}, "a person dances", steps=1, api_name="/generate")
            pytest.fail(f"the {how} path was danced")
    with pytest.raises(Exception, match="not a URL"):
        client.predict({"path": "https://example.com/song.wav"}, "a person dances", api_name="/generate")
    assert client.predict(api_name="/history")["version"] is None
    state = client.predict(handle_file(str(song)), "a person dances", steps=1, api_name="/generate")
    assert state["version"] == 1


def test_another_sessions_files_are_refused(server):
    url, song, store = server
    owner, thief = Client(url, verbose=False), Client(url, verbose=False)
    owner.predict(handle_file(str(song)), "a person dances", steps=1, api_name="/generate")
    owner.predict("json", api_name="/export")
    # The owner's song copy and exports sit in the session store, a folder gradio serves as static
    # files and so lets through even with the FileData tag: the check refuses them all the same.
    for path in (next(store.root.glob("*/songs/*/song.wav")), next(store.root.glob("*/exports/*/song.json"))):
        with pytest.raises(Exception, match=NOT_UPLOADED):
            thief.predict({"path": str(path)}, "a person dances", steps=1, api_name="/generate")
        tagged = {"path": str(path), "meta": {"_type": "gradio.FileData"}}
        assert NOT_UPLOADED in raw_call(url, "describe_song", tagged)
        assert NOT_UPLOADED in raw_call(url, "generate", tagged, "a person dances", *GENERATE_DEFAULTS)
    assert thief.predict(api_name="/history")["version"] is None


@pytest.mark.parametrize(
    ("arguments", "says"),
    [
        ({"text_weight": "abc"}, "text_weight must be a finite number, not 'abc'"),
        ({"steps": 2.5}, "steps must be a whole number, not 2.5"),
        ({"steps": 100000}, r"steps \(decoding steps\) must be 1-50, not 100000"),
        ({"variations": 1000}, r"variations \(candidates to pick from\) must be 1-4, not 1000"),
        ({"beat_steps": 10**6}, r"beat_steps \(beat sync steps\) must be 0-100, not 1000000"),
        ({"temperature": 0.0}, r"temperature \(sampling temperature\) must be 0.1-2.0, not 0.0"),
        ({"seed": -1}, r"seed \(random seed\) must be 0-4294967295, not -1"),
        ({"duration": "long"}, "duration must be a finite number, not 'long'"),
    ],
)
def test_a_bad_argument_is_named_to_the_caller_and_logs_no_traceback(server, caplog, capfd, arguments, says):
    url, song, _ = server
    client = Client(url, verbose=False)
    capfd.readouterr()
    with pytest.raises(Exception, match=says):
        client.predict(handle_file(str(song)), "a person dances", api_name="/generate", **arguments)
    assert "Traceback" not in caplog.text and "Traceback" not in "".join(capfd.readouterr())
    assert client.predict(api_name="/history")["version"] is None


def test_joints_are_taken_as_the_page_writes_them_or_with_underscores(server):
    url, song, _ = server
    client = Client(url, verbose=False)
    client.predict(handle_file(str(song)), "a person dances", steps=1, beat_steps=0, api_name="/generate")
    kept = ["left hip", "Right Knee", "left_ankle"]
    state = client.predict("1-3", joints=kept, steps=1, beat_steps=0, api_name="/edit")
    assert state["version"] == 2 and "3 joints kept" in state["versions"][1]
    with pytest.raises(
        Exception, match="joints: unknown joints \\['left hop'\\]; pick from pelvis, left hip"
    ):
        client.predict("1-3", joints=["left hop"], steps=1, api_name="/edit")


def test_a_project_saved_by_one_client_opens_in_another(server, tmp_path):
    url, song, _ = server
    first = Client(url, verbose=False)
    first.predict(handle_file(str(song)), "a person dances salsa", steps=2, api_name="/generate")
    made = first.predict("1-3", text="a person jumps", steps=2, api_name="/edit")
    saved = first.predict(api_name="/save_project")
    assert Path(saved).name == "song-project.zip"
    second = Client(url, verbose=False)
    opened = second.predict(handle_file(saved), api_name="/open_project")
    assert opened["versions"] == made["versions"] and opened["version"] == 2 and opened["can_undo"]
    assert opened["segments"] == made["segments"]
    assert second.predict(api_name="/undo")["version"] == 1
    (tmp_path / "x.zip").write_bytes(b"not a zip")
    with pytest.raises(Exception, match="not a DanceMosaic project file"):
        second.predict(handle_file(str(tmp_path / "x.zip")), api_name="/open_project")


def wrists_over_neck(npz_path: str, frames: slice) -> float:
    """Mean wrist height over the neck in ``frames`` of an exported npz, from its joints alone."""
    with np.load(npz_path, allow_pickle=False) as data:
        joints = data["joints"][frames]
    wrists = joints[:, [JOINT_INDEX["left_wrist"], JOINT_INDEX["right_wrist"]], 1].mean(-1)
    return float((wrists - joints[:, JOINT_INDEX["neck"], 1]).mean())


def test_instruct_edits_by_description_and_says_what_it_measured(server):
    url, song, _ = server
    client = Client(url, verbose=False)
    client.predict(handle_file(str(song)), "a person dances", steps=2, api_name="/generate")
    before = wrists_over_neck(client.predict("npz", api_name="/export"), slice(30, 120))
    state = client.predict("1-4", "arms lower and spin", seed=1, api_name="/instruct")
    assert state["version"] == 2 and state["made_by"].startswith("Instruct 'arms lower and spin': 1-4 s: ")
    assert re.search(r"spin: \+3[56]\d\.\d\d deg \(target \+355 deg, reached\)", state["made_by"])
    said = re.search(r"arms lower: ([-+]\d+\.\d+) m \(target -0\.1 m, (NOT )?reached\)", state["made_by"])
    assert said, state["made_by"]
    after = wrists_over_neck(client.predict("npz", api_name="/export"), slice(30, 120))
    # The figure the caller reads is the one measured on the dance it downloads.
    assert float(said[1]) == pytest.approx(after - before, abs=0.006) and after < before
    assert state["blends"] and state["blends"][0][0] == pytest.approx(1.0)  # joins the old motion at 1 s
    assert [s["text"] for s in state["segments"]][1].startswith("a person dances with the arms low")
    fallback = client.predict("4-5.5", "do the robot", api_name="/instruct")
    assert fallback["version"] == 3 and "not a measurable instruction: 'do the robot'" in fallback["made_by"]
    with pytest.raises(Exception, match="contradict each other"):
        client.predict("1-2", "faster and slower", api_name="/instruct")
    with pytest.raises(Exception, match="past the dance's end"):
        client.predict("5-9", "jump", api_name="/instruct")
    assert client.predict(api_name="/undo")["version"] == 2  # a version like any other
