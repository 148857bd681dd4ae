"""Browser tests' shared plumbing: Debian's chromium driven by Playwright, and a tiny static file server.

Playwright's own browser downloads are never used (no ``playwright install``): the system chromium is
launched by path. Where chromium or playwright is missing (a fresh clone) the tests skip and say why;
set ``DANCEMOSAIC_REQUIRE_BROWSER=1`` (CI) to make that a failure instead.
"""

from __future__ import annotations

import http.server
import io
import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Playwright

CHROMIUM = Path("/usr/bin/chromium")
# --disable-gpu still leaves WebGL 2 through SwiftShader (software), so the 3D view renders headless.
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
)
NO_WEBGL_ARGS = ("--disable-webgl", "--disable-3d-apis")
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"  # git-ignored screenshots


def missing_browser() -> str | None:
    """Why browser tests cannot run here, or None when they can."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} not found (Debian: apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install playwright; never `playwright install`)"
    return None


def require_browser() -> None:
    """Skip the calling test (or fail, under DANCEMOSAIC_REQUIRE_BROWSER=1) when no browser can run."""
    reason = missing_browser()
    if reason is None:
        return
    if os.environ.get("DANCEMOSAIC_REQUIRE_BROWSER") == "1":
        pytest.fail(f"browser tests are required here but {reason}")
    pytest.skip(reason)


@contextmanager
def playwright_session() -> Iterator[Playwright]:
    """One Playwright driver (skips when no browser can run); launch any number of browsers from it."""
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        yield playwright


@contextmanager
def launch_chromium(playwright: Playwright, *extra_args: str) -> Iterator[Browser]:
    """The system chromium, headless with CHROMIUM_ARGS plus ``extra_args`` (e.g. NO_WEBGL_ARGS)."""
    browser = playwright.chromium.launch(
        executable_path=str(CHROMIUM), args=[*CHROMIUM_ARGS, *extra_args], headless=True
    )
    try:
        yield browser
    finally:
        browser.close()


@contextmanager
def chromium(*extra_args: str) -> Iterator[Browser]:
    """Shortcut for a single browser: its own Playwright driver and one chromium, closed on exit."""
    with playwright_session() as playwright, launch_chromium(playwright, *extra_args) as browser:
        yield browser


@contextmanager
def open_page(
    browser: Browser, url: str, width: int = 1000, height: int = 700
) -> Iterator[tuple[Page, list[str]]]:
    """A new page at ``url`` (waits for ``load``, never ``networkidle``: Gradio keeps a connection
    open), with the list of uncaught errors and console errors it reports; closed on exit."""
    page = browser.new_page(viewport={"width": width, "height": height})
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(f"pageerror: {err}"))
    page.on("console", lambda msg: errors.append(f"console: {msg.text}") if msg.type == "error" else None)
    try:
        page.goto(url, wait_until="load")
        yield page, errors
    finally:
        page.close()


def screenshot(page: Page, name: str) -> Path:
    """Save a full-page PNG under test-artifacts/ and return its path."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=True)
    return path


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files from a directory per URL prefix (``routes``), without logging every request."""

    routes: dict[str, Path] = {}

    def translate_path(self, path: str) -> str:
        clean = path.split("?", 1)[0].split("#", 1)[0]
        for prefix, folder in sorted(self.routes.items(), key=lambda kv: -len(kv[0])):
            if clean.startswith(prefix):
                relative = clean[len(prefix) :].lstrip("/")
                target = (folder / relative).resolve()
                if target.is_relative_to(folder.resolve()):
                    return str(target)
        return "/nonexistent/dancemosaic-test-route"  # -> 404

    def send_head(self):  # a file-like object or None, as the base class
        """Answer ``Range: bytes=a-b`` with 206 as real servers (Gradio's included) do: without it,
        Chrome cannot seek in an <audio> element and currentTime snaps back to 0."""
        path = self.translate_path(self.path)
        wanted = re.fullmatch(r"bytes=(\d*)-(\d*)", self.headers.get("Range", "").strip())
        if not wanted or not os.path.isfile(path) or wanted.groups() == ("", ""):
            return super().send_head()
        size = os.path.getsize(path)
        first, last = wanted.groups()
        start = int(first) if first else max(0, size - int(last))
        end = min(int(last), size - 1) if first and last else size - 1
        if start > end:
            self.send_error(416, "Range Not Satisfiable")
            return None
        with open(path, "rb") as f:
            f.seek(start)
            body = f.read(end - start + 1)
        self.send_response(206)
        self.send_header("Content-Type", self.guess_type(path))
        self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        return io.BytesIO(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def static_server(routes: dict[str, Path]) -> Iterator[str]:
    """Serve ``{"/url-prefix/": folder}`` on a free local port in a thread; yields the base URL."""
    handler = type("Handler", (_QuietHandler,), {"routes": {k: Path(v) for k, v in routes.items()}})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@contextmanager
def studio_server(engine: object, folder: Path) -> Iterator[str]:
    """The whole studio on ``engine`` served from ``folder`` (sessions, demo songs); yields its URL."""
    from dancemosaic.studio.session import SessionStore
    from dancemosaic.studio.ui import build_ui

    require_browser()
    page = build_ui(engine, SessionStore(folder / "sessions"), folder / "demos")
    _, url, _ = page.queue().launch(prevent_thread_lock=True, quiet=True)
    try:
        yield url
    finally:
        page.close()
