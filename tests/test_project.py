"""Project files: save -> open gives the same versions, tree and dances; bad files are refused clearly."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest
import soundfile
import torch

from dancemosaic import percussion
from dancemosaic.studio import project as project_module
from dancemosaic.studio.project import read_project, write_project
from dancemosaic.studio.service import Controls, Studio
from dancemosaic.studio.session import SessionStore
from dancemosaic.timing import SAMPLE_RATE

FAST = Controls(steps=2, beat_steps=0)


@pytest.fixture(scope="module")
def saved(engine, tmp_path_factory):
    """A session with a branching history, and its project file."""
    folder = tmp_path_factory.mktemp("project")
    audio, _ = percussion.synthesize(120.0, 6.0)
    soundfile.write(folder / "song.wav", audio, SAMPLE_RATE)
    studio, session = Studio(engine), SessionStore(folder / "sessions").get("a")
    studio.generate(session, folder / "song.wav", "a person dances salsa", FAST)
    studio.edit(session, [(1.0, 3.0)], "a person jumps", (), FAST)
    studio.edit(session, [(2.0, 4.0)], None, (0, 1), FAST)
    session.history.undo()
    studio.generate(session, None, "a person walks", FAST, duration=2.0)
    session.history.checkout(1)  # back to the first edit: redo leads to the walk, seen last
    return studio, session, studio.save_project(session)


def test_save_then_open_gives_the_same_versions_tree_and_dances(saved, tmp_path):
    studio, session, path = saved
    opened = SessionStore(tmp_path).get("b")
    studio.open_project(opened, path)
    before, after = session.history, opened.history
    assert [(v.label, v.parent) for v in after.versions] == [(v.label, v.parent) for v in before.versions]
    assert after.current == before.current == 1 and after.next_child == before.next_child
    for old, new in zip(before.versions, after.versions, strict=True):
        assert torch.equal(old.dance.codes, new.dance.codes)  # token-exact
        assert torch.equal(old.dance.motion.rotations, new.dance.motion.rotations)
        assert torch.equal(old.dance.motion.root, new.dance.motion.root)
        assert old.dance.segments == new.dance.segments and old.dance.blends == new.dance.blends
        assert old.dance.kept_error == new.dance.kept_error and new.dance.request == _with_song(
            old.dance.request, new.dance.song
        )
    song = after.dance.song
    assert song is not None and song.startswith(str(opened.folder)) and song.endswith("/song.wav")
    with open(song, "rb") as copy, open(before.dance.song, "rb") as original:
        assert copy.read() == original.read()
    assert after.redo() is after.versions[3].dance and after.undo() is after.versions[1].dance  # seen last
    assert after.undo() is after.versions[0].dance and not after.can_undo
    edited = studio.edit(opened, [(0.5, 1.5)], None, (), FAST)  # the opened dance edits as any other
    assert edited.duration == pytest.approx(6.0) and opened.history.versions[-1].parent == 0


def test_a_project_opened_into_a_busy_session_adds_its_versions_and_undo_goes_back(saved, tmp_path):
    studio, session, path = saved
    busy = SessionStore(tmp_path).get("c")
    studio.generate(busy, None, "a person jumps", FAST, duration=1.0)
    studio.open_project(busy, path)
    assert len(busy.history.versions) == 1 + len(session.history.versions)
    assert busy.history.current == 2 and busy.history.versions[1].parent == 0
    busy.history.undo()
    busy.history.undo()
    assert busy.history.current == 0  # back to the session's own dance


def _with_song(request, song):
    from dataclasses import replace

    return replace(request, song=song) if hasattr(request, "song") and request.song is not None else request


def _rewrite(path, out, drop=(), add=None, manifest=None):
    """A copy of project ``path`` with entries dropped, added or project.json changed."""
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            if info.filename in drop:
                continue
            data = source.read(info)
            if info.filename == "project.json" and manifest is not None:
                data = json.dumps(manifest(json.loads(data))).encode()
            target.writestr(info.filename, data)
        for name, data in (add or {}).items():
            target.writestr(name, data)
    return out


def _npz(**arrays):
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "change, message",
    [
        ({"add": {"../../evil.sh": b"echo"}}, "holds an entry '../../evil.sh' that no project has"),
        ({"add": {"/etc/cron.d/x": b"x"}}, "that no project has"),
        ({"drop": ["project.json"]}, "has no project.json"),
        ({"manifest": lambda m: {**m, "format": "other"}}, "not a DanceMosaic project"),
        ({"manifest": lambda m: {**m, "format_version": 9}}, "format version 9"),
        ({"manifest": lambda m: {**m, "current": 99}}, "'current' must be a version index"),
        ({"manifest": lambda m: {**m, "redo": [[0, 3]]}}, "'redo' must list"),
        (
            {
                "manifest": lambda m: {
                    **m,
                    "versions": [{**m["versions"][0], "parent": 5}, *m["versions"][1:]],
                }
            },
            "version 1: its parent must be an earlier version",
        ),
        (
            {"manifest": lambda m: {**m, "versions": [{"label": "x"}, *m["versions"][1:]]}},
            "version 1: a field is missing",
        ),
        (
            {"drop": ["songs/0.wav"], "add": {"songs/0.wav": b"not audio at all"}},
            "songs/0.wav is no usable song",
        ),
        (
            {"drop": ["versions.npz"], "add": {"versions.npz": _npz(v0_codes=np.array([object()]))}},
            "versions.npz cannot be read as plain arrays",
        ),
    ],
)
def test_a_broken_or_hostile_project_file_is_refused_saying_what_is_wrong(saved, tmp_path, change, message):
    studio, _, path = saved
    bad = _rewrite(path, tmp_path / "bad.zip", **change)
    session = SessionStore(tmp_path / "s").get("d")
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace("[", r"\[")):
        studio.open_project(session, bad)
    assert session.history.current is None  # nothing half-opened
    assert not list(tmp_path.glob("**/evil.sh")) and not (tmp_path.parent / "evil.sh").exists()


def test_tokens_that_do_not_fit_the_model_are_refused(saved, tmp_path):
    studio, session, path = saved
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(path) as source:
        stored = dict(np.load(io.BytesIO(source.read("versions.npz"))))
    stored["v0_codes"] = stored["v0_codes"] + 10_000
    _rewrite(path, bad, drop=["versions.npz"], add={"versions.npz": _npz(**stored)})
    with pytest.raises(ValueError, match="version 1: its tokens .* do not fit this model"):
        studio.open_project(SessionStore(tmp_path / "s").get("e"), bad)


def test_files_that_are_not_projects_or_too_large_are_refused(saved, tmp_path, monkeypatch):
    studio, session, path = saved
    (tmp_path / "song.zip").write_bytes(b"RIFF....WAVEfmt ")
    with pytest.raises(ValueError, match="not a DanceMosaic project file \\(not a readable zip"):
        read_project(tmp_path / "song.zip", tmp_path / "songs")
    monkeypatch.setattr(project_module, "MAX_UNPACKED_BYTES", 1000)
    with pytest.raises(ValueError, match="unpacks to more than"):
        read_project(path, tmp_path / "songs")
    monkeypatch.setattr(project_module, "MAX_FILE_BYTES", 1000)
    with pytest.raises(ValueError, match="larger than a project may be"):
        read_project(path, tmp_path / "songs")
    with pytest.raises(ValueError, match="generate a dance first"):
        write_project(SessionStore(tmp_path / "s").get("f").history, tmp_path / "empty.zip")


def test_versions_another_checkpoint_made_get_this_models_tokens_and_keep_their_motion(saved, tmp_path):
    studio, session, path = saved
    foreign = _rewrite(
        path, tmp_path / "foreign.zip",
        manifest=lambda m: {**m, "versions": [{**v, "checkpoint": "other-1234"} for v in m["versions"]]},
    )  # fmt: skip
    opened = SessionStore(tmp_path / "s").get("g")
    studio.open_project(opened, foreign)
    for old, new in zip(session.history.versions, opened.history.versions, strict=True):
        assert torch.equal(old.dance.motion.root, new.dance.motion.root)
        assert new.dance.checkpoint == studio.engine.checkpoint_id
        assert new.dance.codes.shape[1] == old.dance.codes.shape[1]


def test_the_page_opens_only_an_uploaded_project_file_and_says_why_not(saved, tmp_path, monkeypatch):
    import gradio as gr

    from dancemosaic.studio import actions as actions_module
    from dancemosaic.studio.actions import Actions
    from dancemosaic.studio.uploads import UploadPolicy

    studio, session, path = saved
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    actions = Actions(studio, SessionStore(tmp_path / "sessions"), uploads=UploadPolicy(uploads))
    shown: list[str] = []
    monkeypatch.setattr(actions_module.gr, "Warning", lambda message, *args, **kwargs: shown.append(message))
    request = gr.Request(username=None)
    request.session_hash = "tab"
    assert isinstance(actions.open_project(str(path), request), type(gr.skip()))  # a server file: refused
    assert "the project file ('song-project.zip') is not a file uploaded to this studio" in shown[0]
    upload = uploads / "song-project.zip"
    upload.write_bytes(path.read_bytes())
    views = actions.open_project(str(upload), request)
    assert "**Version 2** of 4" in views[1] and len(actions.session(request).history.versions) == 4


def test_the_command_line_writes_a_project_and_opens_one(engine, saved, tmp_path, capsys):
    from dancemosaic import bvh
    from dancemosaic.__main__ import main

    _, session, path = saved
    checkpoint = engine.save_pretrained(tmp_path / "ckpt")
    song = session.history.versions[0].dance.song
    args = ["generate", song, "--text", "a dance", "--checkpoint", str(checkpoint), "--steps", "1"]
    assert main([*args, "--beat-steps", "0", "--out", str(tmp_path / "gen"), "--project"]) == 0
    made = tmp_path / "gen" / "song-project.zip"
    assert made.is_file() and len(read_project(made, tmp_path / "songs").history.versions) == 1
    capsys.readouterr()
    assert main(["open-project", str(path), "--out", str(tmp_path / "out"), "--version", "3"]) == 0
    listing = capsys.readouterr().out
    assert "Regenerate 2-4 s: 2 joints kept" in listing and "*  2" in listing  # version 2 is current
    frames = len(bvh.read_bvh(tmp_path / "out" / "song-v3.bvh").frames)
    assert frames == session.history.versions[2].dance.motion.num_frames
    assert main(["open-project", str(path), "--version", "9", "--out", str(tmp_path / "out")]) == 2
    assert "there is no version 9" in capsys.readouterr().err
    (tmp_path / "notes.zip").write_text("not a project")
    assert main(["open-project", str(tmp_path / "notes.zip")]) == 2
    assert "not a DanceMosaic project file" in capsys.readouterr().err
