"""UploadPolicy: a request names the caller's uploads or a demo song, and no other server file."""

from __future__ import annotations

from pathlib import Path

import pytest

from dancemosaic.studio.uploads import UploadPolicy

REFUSED = "is not a file uploaded to this studio"


@pytest.fixture
def layout(tmp_path):
    """gradio's upload folder with one upload and one file it cached for a session, a demo folder,
    and a song elsewhere on the server."""
    cache, demos, elsewhere = tmp_path / "gradio", tmp_path / "demos", tmp_path / "elsewhere"
    for folder in (cache / "a1", cache / "b2", demos, elsewhere):
        folder.mkdir(parents=True)
    upload, export = cache / "a1" / "song.wav", cache / "b2" / "dance.mp4"
    demo, secret = demos / "demo-salsa.wav", elsewhere / "secret.ogg"
    for path, data in ((upload, b"upload"), (export, b"export"), (demo, b"demo"), (secret, b"secret")):
        path.write_bytes(data)
    received = {str(upload)}
    policy = UploadPolicy(cache, demos, lambda: received)
    return policy, {"upload": upload, "export": export, "demo": demo, "secret": secret, "cache": cache}


def test_uploads_and_demo_songs_are_accepted_in_every_form(layout):
    policy, files = layout
    upload = files["upload"]
    assert policy.check(str(upload)) == upload.resolve()
    assert policy.check({"path": str(upload), "meta": {"_type": "gradio.FileData"}}) == upload.resolve()
    assert policy.check(Path(upload)) == upload.resolve()
    assert policy.check(files["demo"]) == files["demo"].resolve()
    assert policy.check(None) is None and policy.check("") is None


def test_a_cached_copy_of_a_demo_song_is_the_demo_song_but_a_namesake_is_not(layout):
    policy, files = layout
    copy = files["cache"] / "c3" / "demo-salsa.wav"
    copy.parent.mkdir()
    copy.write_bytes(b"demo")
    assert policy.check(copy) == files["demo"].resolve()
    copy.write_bytes(b"something else")
    with pytest.raises(ValueError, match=REFUSED):
        policy.check(copy)


@pytest.mark.parametrize(
    "name",
    [
        "secret",  # an absolute path anywhere else on the server
        "dotdot",  # inside the upload folder by its text, outside once '..' is followed
        "symlink",  # a link inside the upload folder to a file outside it
        "export",  # a file gradio cached for some session, not an upload
        "missing",  # an upload path that does not exist: the same answer as an existing file
        "folder",  # an upload folder, not a file
        "relative",  # relative to wherever the server runs
    ],
)
def test_every_other_server_path_is_refused_alike(layout, name):
    policy, files = layout
    cache, secret = files["cache"], files["secret"]
    if name == "symlink":
        link = cache / "a1" / "link.ogg"
        link.symlink_to(secret)
    path = {
        "secret": str(secret),
        "dotdot": f"{cache}/a1/../../elsewhere/secret.ogg",
        "symlink": str(cache / "a1" / "link.ogg"),
        "export": str(files["export"]),
        "missing": str(cache / "a1" / "gone.wav"),
        "folder": str(cache / "a1"),
        "relative": "a1/song.wav",
    }[name]
    with pytest.raises(ValueError, match=REFUSED) as err:
        policy.check({"path": path})
    assert str(cache) not in str(err.value) and "elsewhere" not in str(err.value)


def test_a_symlinked_upload_folder_still_accepts_its_uploads(layout, tmp_path):
    policy, files = layout
    alias = tmp_path / "alias"
    alias.symlink_to(files["cache"])
    aliased = UploadPolicy(alias, None, lambda: {str(alias / "a1" / "song.wav")})
    assert aliased.check(files["upload"]) == files["upload"].resolve()
    assert aliased.check(alias / "a1" / "song.wav") == files["upload"].resolve()


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/song.wav",
        "http://127.0.0.1:7860/x.ogg",
        "file:///etc/passwd",
        "data:audio/wav;base64,UklGRg==",
    ],
)
def test_urls_are_refused_without_being_fetched(layout, url):
    policy, _ = layout
    with pytest.raises(ValueError, match="not a URL"):
        policy.check({"path": url, "meta": {"_type": "gradio.FileData"}}, "the song")
    with pytest.raises(ValueError, match="not a URL"):
        policy.check({"url": url, "path": None})


def test_a_file_argument_of_the_wrong_type_names_what_it_wanted(layout):
    policy, _ = layout
    with pytest.raises(ValueError, match="the BVH take must be an uploaded file .*not int"):
        policy.check(42, "the BVH take")
