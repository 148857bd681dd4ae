"""Studio responsiveness in a real browser (Debian chromium + Playwright), on the starter checkpoint.

    python benchmarks/studio_speed.py [--json] [--runs 5] [--root DIR]

Starts `python app.py` in a subprocess and reports:
  - server start: seconds from launching the process until the page answers HTTP 200
    (imports, loading the engine and the text encoder, and a warm-up generation happen here);
  - page interactive: seconds from that moment until the page has loaded in chromium and the
    Generate button is visible and enabled (the issue's target: 3 s);
  - generate + first frame: for a 10 s song already uploaded, seconds from clicking Generate until
    the player shows the new dance's first frame (target: 2 s on the CPU), median over --runs;
  - reload restore: seconds from reloading the page until the player shows the session's current
    version again (every version kept, the session id kept in the browser); null when the page
    comes back without it within --restore-timeout seconds (a studio that loses its sessions).

The studio listens on a free port of its own (another studio on 7860, a test's, is not measured).
``--root`` measures another checkout (an older commit, unpacked with ``git archive``) the same way,
so "before" and "after" run on the same machine in one sitting.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import soundfile

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dancemosaic import percussion  # noqa: E402
from tests.browser import chromium, open_page  # noqa: E402

HOST = ".dm-player-host"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_server(url: str, started: float, timeout: float = 300.0) -> float:
    while time.perf_counter() - started < timeout:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return time.perf_counter() - started
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("the studio did not start")


def generate_and_wait(page, run: int) -> float:
    """Click Generate; seconds until the player shows the new version's first frame."""
    page.locator("#dm-generate").click()
    clicked = time.perf_counter()
    page.wait_for_function(
        f"(n) => document.querySelector('{HOST}').dataset.ready === '1' && "
        f"document.querySelector('#dm-summary').innerText.includes('Version ' + n)",
        arg=run + 1,
        timeout=120_000,
        polling="raf",
    )
    return time.perf_counter() - clicked


def reload_and_wait(page, versions: int, timeout: float) -> float | None:
    """Reload; seconds until the player shows version ``versions`` of ``versions`` again (None:
    not within ``timeout``, the session was lost)."""
    reloaded = time.perf_counter()
    page.reload(wait_until="load")
    try:
        page.wait_for_function(
            f"(n) => document.querySelector('{HOST}')?.dataset.ready === '1' && "
            "document.querySelector('#dm-summary')?.innerText.includes('Version ' + n + ' of ' + n)",
            arg=versions, timeout=timeout * 1000, polling="raf",
        )  # fmt: skip
    except Exception:  # noqa: BLE001 - playwright's timeout: the page came back without the session
        return None
    return time.perf_counter() - reloaded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout to measure (default: this one)")
    parser.add_argument("--restore-timeout", type=float, default=30.0)
    args = parser.parse_args()
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    env = {**os.environ, "GRADIO_SERVER_PORT": str(port)}
    song = Path(tempfile.mkdtemp()) / "song-10s.wav"
    audio, _ = percussion.synthesize(120.0, 10.0, "hiphop", seed=4, sample_rate=44100)
    soundfile.write(song, audio, 44100)

    with chromium() as browser:  # launched first: its own start-up is not the page's
        started = time.perf_counter()
        server = subprocess.Popen([sys.executable, "app.py"], cwd=args.root, env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        try:
            server_start = wait_for_server(url, started)
            with open_page(browser, url, 1400, 1000) as (page, _):
                page.wait_for_selector("#dm-generate:not([disabled])", state="visible")
                interactive = time.perf_counter() - started - server_start
                page.locator("#dm-song input[type=file]").set_input_files(str(song))
                page.wait_for_selector("#dm-song audio", state="attached", timeout=30_000)
                times = [generate_and_wait(page, run) for run in range(args.runs)]
                restore = reload_and_wait(page, args.runs, args.restore_timeout)
        finally:
            server.terminate()
            server.wait(timeout=30)
    result = {
        "server_start_s": round(server_start, 2),
        "page_interactive_s": round(interactive, 2),
        "generate_first_frame_s": {
            "median": round(statistics.median(times), 3),
            "runs": [round(t, 3) for t in times],
        },
        "reload_restore_s": None if restore is None else round(restore, 2),
        "song_seconds": 10.0,
        "root": str(args.root.resolve()),
    }
    print(json.dumps(result, indent=2) if args.json else "\n".join(f"{k}: {v}" for k, v in result.items()))


if __name__ == "__main__":
    main()
