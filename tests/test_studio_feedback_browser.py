"""The page says what is happening, in Debian chromium: a song is checked as it arrives (a text
file named .wav is refused at once, a silent one is warned about, and the page goes on), and an
MP4 export shows its progress and the time left, then offers the file.

Screenshots go to test-artifacts/ (feedback-*.png).
"""

from __future__ import annotations

import re

import httpx
import numpy as np
import pytest
import soundfile

from dancemosaic import percussion
from dancemosaic.timing import SAMPLE_RATE
from tests.browser import chromium, open_page, screenshot

HOST = ".dm-player-host"
TIMEOUT_MS = 60_000
SONG_INPUT = "#dm-song input[type=file]"
HAS_SONG = "() => !!document.querySelector('#dm-song audio, #dm-song [data-testid=waveform]')"


def toasts(page) -> list[str]:
    return page.locator('[data-testid="toast-body"]').all_inner_texts()


def wait_for_toast(page, text: str) -> str:
    """The text of the first toast that says ``text`` (waits for it)."""
    page.locator('[data-testid="toast-body"]', has_text=text).first.wait_for(timeout=TIMEOUT_MS)
    return next(t for t in toasts(page) if text in t)


def wait_for_text(page, selector: str, pattern: str) -> str:
    """The text of ``selector`` once it matches ``pattern``; what it showed instead when it never does."""
    try:
        return page.wait_for_function(
            "([selector, pattern]) => { const text = document.querySelector(selector).innerText;"
            " return new RegExp(pattern).test(text) && text; }",
            arg=[selector, pattern], timeout=TIMEOUT_MS, polling=100,
        ).json_value()  # fmt: skip
    except Exception as err:  # noqa: BLE001 - a timeout: say what was there
        screenshot(page, "feedback-timeout.png")
        raise AssertionError(
            f"{selector} never showed {pattern!r}: {page.locator(selector).inner_text()!r}"
        ) from err


def close_toasts(page) -> None:
    for button in page.locator('[data-testid="toast-close"]').all():
        button.click()
    page.wait_for_function("() => !document.querySelector('[data-testid=toast-body]')")


def test_a_song_is_checked_as_it_arrives_and_the_page_goes_on(studio_url, tmp_path):
    notes = tmp_path / "notes.wav"
    notes.write_text("these are my notes, not a song")
    silent = tmp_path / "silence.wav"
    soundfile.write(silent, np.zeros(SAMPLE_RATE, np.float32), SAMPLE_RATE)  # 1 s of digital silence
    song = tmp_path / "song.wav"
    soundfile.write(song, percussion.synthesize(120.0, 3.0)[0], SAMPLE_RATE)

    with chromium() as browser, open_page(browser, studio_url, 1400, 1000) as (page, errors):
        page.wait_for_selector("#dm-generate:not([disabled])", state="visible")
        page.locator(SONG_INPUT).set_input_files(str(notes))
        refused = wait_for_toast(page, "This song was not taken")
        assert "notes.wav could not be decoded: it is corrupt, truncated or not audio" in refused
        page.wait_for_function(f"() => !({HAS_SONG})()")  # emptied: Generate will not meet it again
        assert "Version" not in page.locator("#dm-summary").inner_text()  # nothing was generated
        screenshot(page, "feedback-1-refused.png")
        close_toasts(page)

        page.locator(SONG_INPUT).set_input_files(str(silent))
        warned = wait_for_toast(page, "silence.wav is silent or nearly silent")
        assert "the dance will have no beat to follow" in warned
        page.wait_for_function(HAS_SONG)  # kept: a silent song can still be danced
        screenshot(page, "feedback-2-silent.png")
        close_toasts(page)

        page.locator("#dm-song button[aria-label='Clear']").click()  # the page goes on: a good song
        page.wait_for_function(f"() => !({HAS_SONG})()")
        page.locator(SONG_INPUT).set_input_files(str(song))
        page.wait_for_function(HAS_SONG)
        page.locator("#dm-generate").click()
        page.wait_for_selector(f'{HOST}[data-ready="1"]', timeout=TIMEOUT_MS)
        wait_for_text(page, "#dm-summary", "Version 1")
        assert not toasts(page), toasts(page)  # the good song arrived without a word
        screenshot(page, "feedback-3-danced.png")
        # Chromium itself cannot load the text file for the waveform; anything else is a fault.
        expected = ("favicon", "decode", "Waveform load error")
        assert not [e for e in errors if not any(what in e for what in expected)], errors


def test_an_mp4_export_shows_progress_and_the_time_left_then_offers_the_file(studio_url):
    from dancemosaic import render

    try:
        render.gl_platform()
    except Exception as err:  # noqa: BLE001 - any failure to find OpenGL means no video here
        pytest.skip(f"no offscreen OpenGL platform: {err}")
    with chromium() as browser, open_page(browser, studio_url, 1400, 1000) as (page, errors):
        page.locator('[data-testid="dataset-cell-0-0"]').click()  # the first demo song and its prompt
        page.wait_for_function(HAS_SONG)
        page.locator("#dm-length input").fill("3")  # 3 s of dance: 90 frames, seconds to render
        page.locator("#dm-generate").click()
        wait_for_text(page, "#dm-summary", "Version 1")
        page.get_by_role("tab", name="Export").click()
        page.get_by_label("MP4 video with the song").check()
        page.locator("#dm-export").click()
        said = wait_for_text(page, "#dm-export-file", r"rendered frame \d+ of 90, about \d+ s left")
        screenshot(page, "feedback-4-rendering.png")
        left = int(re.search(r"about (\d+) s left", said)[1])
        assert 0 < left < 120, said  # an estimate of the rest of a 90-frame video, not a wild one
        page.wait_for_function(
            "() => document.querySelector('#dm-export-file').innerText.includes('.mp4')",
            timeout=3 * TIMEOUT_MS,
        )
        href = page.locator("#dm-export-file a").first.get_attribute("href")
        assert href.endswith(".mp4") and httpx.get(href).content[4:8] == b"ftyp"  # a real MP4
        assert "left" not in page.locator("#dm-export-file").inner_text()  # the progress is gone
        screenshot(page, "feedback-5-exported.png")
        assert not [e for e in errors if "favicon" not in e], errors
