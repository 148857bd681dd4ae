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

Gradio reads some file arguments itself, before any handler runs: for a ``FileData`` with its
``meta`` tag, anywhere in any argument of any event (the page's private ones too, by ``fn_index``),
a path that is an ``http(s)://`` URL is downloaded into its cache (only loopback and private
addresses are refused, by safehttpx), and a path on the server is checked and copied. So
``StudioBlocks`` puts every file object of a request through the same ``UploadPolicy`` first,
and a refused one stops the request with the policy's message before gradio fetches or opens it.

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

import gradio as gr
from gradio.components.api_component import Api
from gradio.utils import get_function_params

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


class StudioBlocks(gr.Blocks):
    """``gr.Blocks`` whose events take no file but the caller's uploads and the demo songs: every
    file object in a request (a dict with a ``path``, in any argument) passes ``upload_policy``
    before gradio's own preprocessing, which would otherwise download a URL or copy a server file."""

    upload_policy: UploadPolicy | None = None  # set once the page's policy exists; None: no check

    async def preprocess_data(
        self, block_fn: Any, inputs: list[Any], state: Any, explicit_call: bool = False
    ) -> list[Any]:
        if self.upload_policy is not None:
            for index, value in enumerate(inputs):
                for file in file_objects(value):
                    try:
                        self.upload_policy.check(file, _argument_name(block_fn, index))
                    except ValueError as err:
                        raise gr.Error(str(err), print_exception=False) from None
        return await super().preprocess_data(block_fn, inputs, state, explicit_call)


def file_objects(value: Any) -> list[dict]:
    """Every dict with a ``path`` inside a request's value, as gradio looks for them (with or
    without its ``meta`` tag: a superset of what gradio moves to its cache)."""
    if isinstance(value, dict):
        if "path" in value:
            return [value]
        return [found for item in value.values() for found in file_objects(item)]
    if isinstance(value, list | tuple):
        return [found for item in value for found in file_objects(item)]
    return []


def _argument_name(block_fn: Any, index: int) -> str:
    """How a caller knows argument ``index``: its parameter name for an API endpoint, its label
    on the page."""
    block = block_fn.inputs[index]
    if isinstance(block, Api) and block_fn.fn is not None:
        names = [name for name, *_ in get_function_params(block_fn.fn)]
        if index < len(names):
            return "the " + names[index].replace("_", " ")
    label = getattr(block, "label", None)
    return f"the file for {label!r}" if label else f"the file in argument {index + 1}"
