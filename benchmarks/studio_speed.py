"""Studio responsiveness in a real browser (Debian chromium + Playwright), on the starter checkpoint.

    python benchmarks/studio_speed.py [--json] [--runs 5]

Starts `python app.py` in a subprocess and reports:
  - server start: seconds from launching the process until the page answers HTTP 200
    (imports, loading the engine and the text encoder, and a warm-up generation happen here);
  - page interactive: seconds from that moment until the page has loaded in chromium and the
    Generate button is visible and enabled (the issue's target: 3 s);
  - generate + first frame: for a 10 s song already uploaded, seconds from clicking Generate until
    the player shows the new dance's first frame (target: 2 s on the CPU), median over --runs;
  - reload restore: seconds from reloading the page until the player shows the session's current
    version again (every version kept, the session id kept in the browser).
"""

from __future__ import annotations

import argparse
import json
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

URL = "http://127.0.0.1:7860/"
HOST = ".dm-player-host"


def wait_for_server(started: float, timeout: float = 300.0) -> float:
    while time.perf_counter() - started < timeout:
        try:
            with urllib.request.urlopen(URL, timeout=1) as response:
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    song = Path(tempfile.mkdtemp()) / "song-10s.wav"
    audio, _ = percussion.synthesize(120.0, 10.0, "hiphop", seed=4, sample_rate=44100)
    soundfile.write(song, audio, 44100)

    with chromium() as browser:  # launched first: its own start-up is not the page's
        started = time.perf_counter()
        server = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)  # fmt: skip
        try:
            server_start = wait_for_server(started)
            with open_page(browser, URL, 1400, 1000) as (page, _):
                page.wait_for_selector("#dm-generate:not([disabled])", state="visible")
                interactive = time.perf_counter() - started - server_start
                page.locator("#dm-song input[type=file]").set_input_files(str(song))
                page.wait_for_selector("#dm-song audio", state="attached", timeout=30_000)
                times = [generate_and_wait(page, run) for run in range(args.runs)]
                reloaded = time.perf_counter()
                page.reload(wait_until="load")
                page.wait_for_function(
                    f"(n) => document.querySelector('{HOST}')?.dataset.ready === '1' && "
                    "document.querySelector('#dm-summary')?.innerText.includes('Version ' + n + ' of ' + n)",
                    arg=args.runs, timeout=120_000, polling="raf",
                )  # fmt: skip
                restore = time.perf_counter() - reloaded
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
        "reload_restore_s": round(restore, 2),
        "song_seconds": 10.0,
    }
    print(json.dumps(result, indent=2) if args.json else "\n".join(f"{k}: {v}" for k, v in result.items()))


if __name__ == "__main__":
    main()
