"""Editing by description in Debian chromium: type an instruction, press "Do it", and the page says
each effect as measured, in a new version that Undo leaves. Screenshot: test-artifacts/studio-instruct.png.
"""

from __future__ import annotations

import re

from tests.browser import open_page, screenshot

TIMEOUT_MS = 60_000


def summary_has(page, text: str) -> None:
    script = "(text) => document.querySelector('#dm-summary').innerText.includes(text)"
    page.wait_for_function(script, arg=text, timeout=TIMEOUT_MS)


def test_an_instruction_typed_in_the_page_makes_a_version_that_says_its_measured_effect(
    plain_browser, studio_url
):
    with open_page(plain_browser, studio_url, 1400, 1000) as (page, errors):
        page.locator('[data-testid="dataset-cell-0-0"]').click()  # the first demo song and its prompt
        page.wait_for_function(
            "() => document.querySelector('#dm-song audio, #dm-song [data-testid=waveform]')"
        )
        page.locator("#dm-length input").fill("4")  # 4 s of the song: a quick dance
        page.get_by_text("Guidance and sampling").click()
        steps = page.get_by_label("number input for Decoding steps")
        steps.fill("2")
        steps.press("Enter")
        page.locator("#dm-generate").click()
        summary_has(page, "Version 1 of 1")

        page.locator("#dm-segments textarea").fill("1-3")
        page.locator("#dm-instruction textarea").fill("spin and jump")
        page.locator("#dm-instruct").click()
        summary_has(page, "Version 2 of 2")
        said = page.locator("#dm-summary").inner_text()
        assert "Instruct 'spin and jump': 1-3 s: spin: +" in said, said
        assert re.search(r"spin: \+3[56]\d\.\d\d deg \(target \+355 deg, reached\)", said), said
        assert re.search(r"jump: [-+]\d+\.\d\d m \(target \+0\.15 m, (NOT )?reached\)", said), said
        screenshot(page, "studio-instruct.png")

        page.locator("#dm-instruction textarea").fill("faster and slower")  # refused: history kept
        page.locator("#dm-instruct").click()
        page.get_by_text("contradict each other").first.wait_for(timeout=TIMEOUT_MS)
        assert "Version 2 of 2" in page.locator("#dm-summary").inner_text()

        page.get_by_role("tab", name="Versions").click()
        listed = "(label) => document.querySelector('#dm-versions').textContent.includes(label)"
        page.wait_for_function(listed, arg="Instruct 'spin and jump'", timeout=TIMEOUT_MS)
        assert "Generate" in page.locator("#dm-versions").text_content()

        page.locator("#dm-undo").click()
        summary_has(page, "Version 1 of 2")
        assert not [e for e in errors if "favicon" not in e], errors
