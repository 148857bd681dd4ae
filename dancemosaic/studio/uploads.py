"""Which files a request may name: the caller's uploads and the demo songs, nothing else on the server.

A handler receives a file as a server path. Gradio checks that path only for a ``FileData`` that
carries its ``meta`` tag; an API caller who sends ``{"path": "/any/file.ogg"}`` without it, or a
plain string, reaches the handler untouched, and a path under a static folder (the session store)
skips gradio's check altogether. So every file argument of every endpoint goes through
``UploadPolicy.check`` before anything opens it.

What gradio 6.31 stores, and what "this caller's upload" can mean:

- Its upload route writes each file to ``<upload folder>/<sha256(server seed + bytes)>/<name>``
  (the folder is ``$GRADIO_TEMP_DIR``, by default ``<tmp>/gradio``). Files it hands out to any
  session (exports, the page's examples) are cached in the same folder the same way.
- The upload route takes no session id (``gradio_client`` sends none), and the same bytes uploaded
  from two sessions land in one file: gradio cannot bind an upload to a session. What it keeps is
  one server-wide set of the files its upload route received (``Blocks.upload_file_set``).

Hence the rule: a file must resolve (symlinks and ``..`` followed) to one that gradio's upload route
received, or to a demo song (or gradio's cached copy of one, same name and bytes). Exports and other
files gradio cached for some session are refused, as is everything outside the upload folder. An
upload's folder name is keyed by a seed only the server knows, so a caller can name only uploads
whose path it was given (its own); a path that leaked would still work from another session.
"""

from __future__ import annotations

import filecmp
import os
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:")  # http:, https:, file:, data:, s3: ...


@dataclass(frozen=True)
class UploadPolicy:
    """The folders and records that say which server files a request may name."""

    upload_folder: Path  # gradio's upload folder
    demo_folder: Path | None = None  # the demo songs
    received: Callable[[], Collection[str]] | None = None  # files the upload route received; None: any

    @classmethod
    def for_page(cls, page: Any = None, demo_folder: Path | None = None) -> UploadPolicy:
        """The policy for a gradio ``Blocks``: gradio's upload folder and the page's record of the
        files uploaded to it (no page: any file in that folder)."""
        from gradio.utils import get_upload_folder

        received = None if page is None else lambda: getattr(page, "upload_file_set", ())
        return cls(Path(get_upload_folder()), demo_folder, received)

    def check(self, value: Any, what: str = "the song") -> Path | None:
        """The resolved path of an uploaded file or a demo song (None for no file); a ValueError
        saying what to do for anything else. The message is the same whether a refused file
        exists or not, so it tells a caller nothing about the server's files."""
        name = _path_of(value, what)
        if name is None:
            return None
        if _URL.match(name):
            raise ValueError(f"{what} must be a file you upload, not a URL: download it and upload the file")
        refused = ValueError(
            f"{what} ({Path(name).name or name!r}) is not a file uploaded to this studio: upload it "
            "(from a script: gradio_client.handle_file), or pick a demo song"
        )
        if not os.path.isabs(name):
            raise refused
        given = Path(os.path.normpath(name))
        try:
            real = given.resolve(strict=True)
        except (OSError, RuntimeError):  # missing, a symlink loop, unreadable
            raise refused from None
        if not real.is_file():
            raise refused
        demo = self._demo_song(real)
        if demo is not None:
            return demo
        if real.is_relative_to(self.upload_folder.resolve()) and self._was_uploaded(given, real):
            return real
        raise refused

    def _demo_song(self, real: Path) -> Path | None:
        """The demo song ``real`` is, or is gradio's cached copy of (same name and bytes)."""
        if self.demo_folder is None:
            return None
        demo = self.demo_folder.resolve() / real.name
        if real.suffix.lower() != ".wav" or not demo.is_file():
            return None
        if real == demo:
            return demo
        cached_copy = real.is_relative_to(self.upload_folder.resolve()) and filecmp.cmp(
            real, demo, shallow=False
        )
        return demo if cached_copy else None

    def _was_uploaded(self, given: Path, real: Path) -> bool:
        if self.received is None:
            return True
        received = self.received()
        if str(given) in received or str(real) in received:
            return True
        # The record holds paths as the upload route wrote them (the folder may be a symlink).
        return any(os.path.realpath(path) == str(real) for path in tuple(received))


def _path_of(value: Any, what: str) -> str | None:
    """The path in a file argument: a string, a FileData dict or a FileData model."""
    if value is None or value == "":
        return None
    if isinstance(value, dict):
        value = value.get("path") or value.get("url")
    elif hasattr(value, "path") and not isinstance(value, str | Path):
        value = value.path or getattr(value, "url", None)
    if isinstance(value, Path):
        value = str(value)
    if not isinstance(value, str) or not value:
        raise ValueError(
            f"{what} must be an uploaded file (gradio_client.handle_file), not {type(value).__name__}"
        )
    return value
