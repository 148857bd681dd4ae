"""The whole studio in Debian chromium: generate on a demo song, play in sync, edit a segment, undo.

Screenshots go to test-artifacts/ (studio-*.png).
"""

from __future__ import annotations

from tests.browser import chromium, open_page, screenshot

HOST = ".dm-player-host"
TIMEOUT_MS = 60_000
SYNC = """() => {
  const host = document.querySelector(".dm-player-host");
  const audio = host.querySelector("audio");
  return new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(() => resolve({
    frame: Number(host.dataset.frame), expected: Math.floor(audio.currentTime * 30),
    time: audio.currentTime, paused: audio.paused,
  }))));
}"""


def seek(page, seconds: float) -> dict:
    page.evaluate(
        """(t) => new Promise((resolve) => {
            const audio = document.querySelector(".dm-player-host audio");
            audio.addEventListener("seeked", resolve, { once: true });
            audio.currentTime = t;
        })""",
        seconds,
    )
    return page.evaluate(SYNC)


def drag_on_timeline(page, start: float, end: float) -> None:
    """Drag across the timeline from ``start`` to ``end`` (fractions of its width)."""
    box = page.locator(f"{HOST} canvas.dm-timeline").bounding_box()
    y = box["y"] + box["height"] * 0.6
    page.mouse.move(box["x"] + box["width"] * start, y)
    page.mouse.down()
    for step in range(1, 6):
        page.mouse.move(box["x"] + box["width"] * (start + (end - start) * step / 5), y)
    page.mouse.up()


def test_generate_play_edit_and_undo_in_the_browser(studio_url):
    with chromium() as browser, open_page(browser, studio_url, 1400, 1000) as (page, errors):
        page.locator('[data-testid="dataset-cell-0-0"]').click()  # the first demo song and its prompt
        page.wait_for_function(
            "() => document.querySelector('#dm-song audio, #dm-song [data-testid=waveform]')"
        )
        page.locator("#dm-generate").click()
        page.wait_for_selector(f'{HOST}[data-ready="1"]', timeout=TIMEOUT_MS)
        page.wait_for_function(
            "() => document.querySelector('#dm-summary').innerText.includes('Version 1')", timeout=TIMEOUT_MS
        )
        screenshot(page, "studio-1-generated.png")

        page.evaluate(f"() => document.querySelector('{HOST} audio').play()")
        page.wait_for_function(f"() => Number(document.querySelector('{HOST}').dataset.frame) > 5")
        playing = page.evaluate(SYNC)
        assert not playing["paused"] and abs(playing["frame"] - playing["expected"]) <= 1, playing
        for seconds in (2.0, 7.5, 1.25):
            synced = seek(page, seconds)
            assert abs(synced["frame"] - synced["expected"]) <= 1, synced
        page.evaluate(f"() => document.querySelector('{HOST} audio').pause()")
        paused = seek(page, 3.0)
        assert paused["frame"] == 90, paused
        screenshot(page, "studio-2-seeked.png")

        drag_on_timeline(page, 0.2, 0.4)  # about 4-8 s of the 20 s demo song
        page.wait_for_function("() => /\\d-\\d/.test(document.querySelector('#dm-segments textarea').value)")
        page.locator("#dm-regenerate").click()
        page.wait_for_function(
            "() => document.querySelector('#dm-summary').innerText.includes('Version 2')", timeout=TIMEOUT_MS
        )
        screenshot(page, "studio-3-edited.png")

        page.locator("#dm-undo").click()
        page.wait_for_function(
            "() => document.querySelector('#dm-summary').innerText.includes('Version 1 of 2')"
        )
        assert page.locator(HOST).get_attribute("data-ready") == "1"
        screenshot(page, "studio-4-undone.png")

        page.evaluate("() => window.scrollTo(0, 0)")  # clicks above scrolled the player partly away
        wrist = page.evaluate("() => window.dancemosaicPlayer.jointScreenPosition(20)")  # left wrist
        page.mouse.click(wrist["x"], wrist["y"])
        checkbox = page.locator("#dm-joints label", has_text="left wrist").locator("input")
        checkbox.wait_for(state="attached")
        page.wait_for_function(
            "() => [...document.querySelectorAll('#dm-joints input')].some((box) => box.checked)"
        )
        assert checkbox.is_checked()

        page.locator("#dm-segments textarea").fill("30-40")  # past the 20 s song: refused, history kept
        page.locator("#dm-regenerate").click()
        page.get_by_text("use Extend to add dance after the end").first.wait_for(timeout=TIMEOUT_MS)
        assert page.locator("#dm-player, #dm-summary").get_by_text("Error", exact=True).count() == 0
        assert "Version 1 of 2" in page.locator("#dm-summary").inner_text()

        page.get_by_role("tab", name="Beats").click()
        page.locator(".js-plotly-plot").first.wait_for(timeout=TIMEOUT_MS)
        screenshot(page, "studio-6-beats.png")

        page.get_by_role("tab", name="Export").click()
        page.get_by_label("glTF binary (animated skeleton)").check()
        page.locator("#dm-export").click()
        page.wait_for_function(
            "() => document.querySelector('#dm-export-file').innerText.includes('.glb')", timeout=TIMEOUT_MS
        )
        screenshot(page, "studio-5-exported.png")
        assert not [e for e in errors if "favicon" not in e], errors


def test_variations_are_watched_as_ghosts_and_only_keep_adds_a_version(studio_url):
    with chromium() as browser, open_page(browser, studio_url, 1400, 1000) as (page, errors):
        page.locator('[data-testid="dataset-cell-0-0"]').click()
        page.wait_for_function(
            "() => document.querySelector('#dm-song audio, #dm-song [data-testid=waveform]')"
        )
        page.locator("#dm-length input").fill("4")  # 4 s of the song: quick variations
        page.get_by_text("Guidance and sampling").click()
        for label, value in (("Decoding steps", "2"), ("Variations", "2")):
            box = page.get_by_label(f"number input for {label}")
            box.fill(value)
            box.press("Enter")
        page.locator("#dm-generate").click()
        page.wait_for_function(
            "() => document.querySelector('#dm-summary').innerText.includes('Version 1 of 1')",
            timeout=TIMEOUT_MS,
        )
        radio = page.locator("#dm-candidates")
        radio.get_by_text("Candidate 2").wait_for()
        assert radio.locator("input:checked").evaluate("(box) => box.value").startswith("Candidate 1")

        radio.get_by_text("Candidate 2").click()  # a look: the player draws it as a ghost
        page.wait_for_function("() => window.dancemosaicPlayer.state().ghost === 'c2'", timeout=TIMEOUT_MS)
        page.wait_for_timeout(500)  # anything the look might have sent the server would be back by now
        assert "Version 1 of 1" in page.locator("#dm-summary").inner_text()  # still one version
        screenshot(page, "studio-7-ghost.png")

        page.locator("#dm-keep").click()  # keeping it is what adds a version
        page.wait_for_function(
            "() => document.querySelector('#dm-summary').innerText.includes('Version 2 of 2')",
            timeout=TIMEOUT_MS,
        )
        # Now candidate 2 is the version shown, so it is no ghost; candidate 1 is offered instead.
        page.wait_for_function("() => window.dancemosaicPlayer.state().ghost === null")
        options = page.locator(f"{HOST} .dm-ghost option").all_inner_texts()
        assert options[0] == "none" and options[1].startswith("Candidate 1") and len(options) == 2
        assert not [e for e in errors if "favicon" not in e], errors
