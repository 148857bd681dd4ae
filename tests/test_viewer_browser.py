"""The browser dance player (dancemosaic/studio/static/viewer.js) in headless chromium.

A synthetic dance (the SMPL rest skeleton swaying sideways while its left arm swings) and a synthetic
song are served with the static folder; the tests drive the player through its harness page and check
that the audio element is the clock, that the timeline seeks and selects, that joints can be clicked,
and that the 2D fallback does the same without WebGL. Screenshots land in test-artifacts/.
"""

from __future__ import annotations

import base64
import io
import json
import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch
from PIL import Image

from dancemosaic import percussion, rotation, skeleton
from dancemosaic.timing import FPS, SAMPLE_RATE, seconds_to_frames
from tests.browser import (
    open_page,
    screenshot,
    static_server,
)

STATIC = Path(__file__).resolve().parents[1] / "dancemosaic" / "studio" / "static"
SECONDS = 4.0
BPM = 120.0
LEFT_WRIST = skeleton.JOINT_INDEX["left_wrist"]
LEFT_HIP, LEFT_KNEE = skeleton.JOINT_INDEX["left_hip"], skeleton.JOINT_INDEX["left_knee"]
KEPT = [skeleton.JOINT_INDEX[n] for n in ("left_shoulder", "left_elbow", "left_wrist", "left_hand")]
ROOT = "document.querySelector('#player')"


def dance_positions(frames: int, swing: float = 0.9) -> np.ndarray:
    """(T, 24, 3) metres: the rest pose, feet on the floor, swaying along x, left arm swinging
    ``swing`` radians up (negative: down)."""
    t = torch.arange(frames) / FPS
    axis_angle = torch.zeros(frames, skeleton.NUM_JOINTS, 3)
    axis_angle[:, skeleton.JOINT_INDEX["left_shoulder"], 2] = swing * torch.sin(math.pi * t)
    rest = skeleton.rest_pose_joints()
    height = rest[0, 1] - rest[:, 1].min()
    root = torch.stack(
        [0.3 * torch.sin(2 * math.pi * t / SECONDS), height.expand(frames), torch.zeros(frames)], dim=-1
    )
    positions, _ = skeleton.forward_kinematics(rotation.axis_angle_to_matrix(axis_angle), root)
    return positions.numpy()


def make_payload(audio: str | None, beats: list[float], swing: float = 0.9) -> dict:
    frames = seconds_to_frames(SECONDS)
    millimetres = np.round(dance_positions(frames, swing) * 1000).astype("<i2")
    return {
        "version": 1,
        "id": "v1",
        "fps": FPS,
        "frames": frames,
        "joints": skeleton.NUM_JOINTS,
        "names": list(skeleton.JOINT_NAMES),
        "parents": list(skeleton.PARENTS),
        "positions": base64.b64encode(millimetres.tobytes()).decode("ascii"),
        "audio": audio,
        "duration": SECONDS,
        "beats": beats,
        "segments": [
            {"start": 0.0, "end": 2.0, "text": "a person dances salsa with big sweeping arm swings"},
            {"start": 2.0, "end": 4.0, "text": "a person waves"},
        ],
        "selection": [[0.5, 1.5]],
        "kept_joints": KEPT,  # the left hand too: the player must not offer it
        "selectable": list(range(skeleton.NUM_BODY_JOINTS)),  # as views.player_payload
    }


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[str]:
    """Base URL serving the static folder at / and the song and payloads at /data/."""
    data = tmp_path_factory.mktemp("player")
    audio, beats = percussion.synthesize(BPM, SECONDS)
    soundfile.write(data / "song.wav", audio, SAMPLE_RATE)
    # Relative to the page, as Gradio's "gradio_api/file=..." URLs are.
    (data / "payload.json").write_text(json.dumps(make_payload("data/song.wav", beats.tolist())))
    (data / "silent.json").write_text(json.dumps(make_payload(None, beats.tolist())))
    # A variation to compare: the arm swings down where the dance's swings up. Offered by URL, as
    # views.ghost_options does, relative to the page.
    (data / "ghost.json").write_text(json.dumps(make_payload("data/song.wav", beats.tolist(), swing=-0.9)))
    ghosts = [{"id": "c2", "label": "Candidate 2 · BAS 0.5", "url": "data/ghost.json"}]
    (data / "compare.json").write_text(
        json.dumps({**make_payload("data/song.wav", beats.tolist()), "ghosts": ghosts})
    )
    with static_server({"/": STATIC, "/data/": data}) as base:
        yield base


def open_player(browser, site: str, payload: str = "payload.json"):
    """Context manager: the harness page with the player showing a payload, ready."""
    return open_page(browser, f"{site}/harness.html?payload=/data/{payload}", width=1000, height=700)


def wait_ready(page) -> None:
    page.wait_for_function(f"{ROOT}.dataset.ready === '1'", timeout=10_000)


def wait_audio(page) -> None:
    page.wait_for_function(f"{ROOT}.querySelector('audio').readyState >= 2", timeout=10_000)


def shown_frame(page, seek: float | None = None) -> tuple[int, int, int]:
    """(floor(currentTime * fps) just before an animation frame, the frame the player showed in it,
    floor(currentTime * fps) just after), after setting currentTime to ``seek`` if given. The
    player read the clock between the two samples, so this holds however long a frame took."""
    script = """async ([fps, seek]) => {
        const root = document.querySelector('#player');
        const audio = root.querySelector('audio');
        if (seek !== null) audio.currentTime = seek;
        const before = Math.floor(audio.currentTime * fps);
        await new Promise((r) => requestAnimationFrame(r));  // runs after the player's own callback
        return [before, Number(root.dataset.frame), Math.floor(audio.currentTime * fps)];
    }"""
    return tuple(page.evaluate(script, [FPS, seek]))


def timeline_point(page, seconds: float) -> tuple[float, float]:
    """Viewport coordinates of a time on the timeline (8 px inset at both ends, as timeline.js)."""
    box = page.locator(".dm-timeline").bounding_box()
    return box["x"] + 8 + seconds / SECONDS * (box["width"] - 16), box["y"] + 30


def drag(page, start: tuple[float, float], end: tuple[float, float], steps: int = 6) -> None:
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(*end, steps=steps)
    page.mouse.up()


def events(page, kind: str) -> list[dict]:
    return page.evaluate(f"window.events.filter((e) => e.type === '{kind}')")


def test_3d_player_renders_the_dance(site, webgl_browser):
    with open_player(webgl_browser, site) as (page, errors):
        wait_ready(page)
        state = page.evaluate("window.player.state()")
        assert state["webgl"] is True
        assert (state["frames"], state["fps"]) == (seconds_to_frames(SECONDS), FPS)
        assert state["selection"] == [[0.5, 1.5]]
        page.evaluate(f"{ROOT}.querySelector('audio').currentTime = 0.5")  # arm half raised
        page.wait_for_function(f"{ROOT}.dataset.frame === '15'")
        page.wait_for_timeout(300)  # the follow camera glides after the pelvis
        screenshot(page, "viewer-3d.png")
        assert errors == []


def test_frame_follows_audio_time_paused_and_playing(site, webgl_browser):
    with open_player(webgl_browser, site) as (page, errors):
        wait_ready(page)
        wait_audio(page)
        assert shown_frame(page, seek=2.0) == (2 * FPS, 2 * FPS, 2 * FPS)

        page.evaluate(f"{ROOT}.querySelector('audio').play()")
        page.wait_for_function("window.player.state().playing")
        page.wait_for_timeout(400)
        before, frame, after = shown_frame(page, seek=2.0)  # seek while playing
        assert before == 2 * FPS and before - 1 <= frame <= after + 1
        page.wait_for_timeout(300)
        before, frame, after = shown_frame(page)
        assert before > 2 * FPS and before - 1 <= frame <= after + 1  # the dance moves with the song
        assert page.evaluate("window.player.state().playing")
        assert errors == []


def test_timeline_click_seeks_and_drag_selects(site, plain_browser):
    # The timeline is the same in both views; the 2D one keeps this test fast under software WebGL.
    with open_player(plain_browser, site) as (page, errors):
        wait_ready(page)
        wait_audio(page)
        page.mouse.click(*timeline_point(page, 3.0))
        assert abs(page.evaluate(f"{ROOT}.querySelector('audio').currentTime") - 3.0) < 0.05
        page.wait_for_function(f"Math.abs(Number({ROOT}.dataset.frame) - 90) <= 1")

        drag(page, timeline_point(page, 1.0), timeline_point(page, 2.5))
        assert events(page, "select")[-1]["ranges"] == [[1.0, 2.5]]
        page.keyboard.down("Shift")  # shift + drag adds a range; overlapping ranges merge
        drag(page, timeline_point(page, 3.0), timeline_point(page, 3.5))
        drag(page, timeline_point(page, 3.3), timeline_point(page, 3.8))
        page.keyboard.up("Shift")
        assert events(page, "select")[-1]["ranges"] == [[1.0, 2.5], [3.0, 3.8]]
        assert page.evaluate("window.player.state().selection") == [[1.0, 2.5], [3.0, 3.8]]
        # A drag is not a click: the playhead stayed where the click put it.
        assert abs(page.evaluate(f"{ROOT}.querySelector('audio').currentTime") - 3.0) < 0.05
        screenshot(page, "viewer-2d-selection.png")
        assert errors == []


def test_clicking_a_joint_reports_it(site, webgl_browser):
    with open_player(webgl_browser, site) as (page, errors):
        wait_ready(page)
        page.locator(".dm-follow input").uncheck()  # a still camera, so the projected point stays put
        page.wait_for_timeout(100)
        point = page.evaluate(f"window.player.jointScreenPosition({LEFT_WRIST})")
        page.mouse.click(point["x"], point["y"])
        assert events(page, "joint") == [{"type": "joint", "index": LEFT_WRIST, "name": "left_wrist"}]
        drag(page, (point["x"], point["y"]), (point["x"] + 40, point["y"]), steps=2)  # orbits: no click
        assert len(events(page, "joint")) == 1
        assert errors == []


def test_2d_fallback_follows_the_clock_and_picks_joints(site, plain_browser):
    with open_player(plain_browser, site) as (page, errors):
        wait_ready(page)
        wait_audio(page)
        assert page.evaluate("window.player.state().webgl") is False
        assert shown_frame(page, seek=2.0) == (2 * FPS, 2 * FPS, 2 * FPS)

        page.evaluate(f"{ROOT}.querySelector('audio').currentTime = 0.5")
        page.wait_for_function(f"{ROOT}.dataset.frame === '15'")
        point = page.evaluate(f"window.player.jointScreenPosition({LEFT_WRIST})")
        page.mouse.click(point["x"], point["y"])
        assert events(page, "joint") == [{"type": "joint", "index": LEFT_WRIST, "name": "left_wrist"}]
        screenshot(page, "viewer-2d.png")

        # A new dance with the same song keeps the song's position; selections merge when set.
        reload = """async () => {
            window.player.load(await (await fetch('/data/payload.json')).json());
            await new Promise((r) => requestAnimationFrame(r));
            return document.querySelector('#player').dataset.frame;
        }"""
        assert page.evaluate(reload) == "15"
        page.evaluate("window.player.setSelection([[2, 3], [2.5, 3.5]])")
        assert page.evaluate("window.player.state().selection") == [[2.0, 3.5]]

        page.set_viewport_size({"width": 520, "height": 700})  # the player follows its container
        page.wait_for_function(
            "[...document.querySelectorAll('#player canvas')].every("
            "(c) => c.width === Math.round(c.clientWidth * devicePixelRatio))"
        )
        assert page.locator(".dm-timeline").bounding_box()["width"] < 520
        screenshot(page, "viewer-2d-narrow.png")
        assert errors == []


def test_without_audio_space_plays_the_internal_clock(site, plain_browser):
    with open_player(plain_browser, site, "silent.json") as (page, errors):
        wait_ready(page)
        assert page.locator(".dm-play").is_visible() and not page.locator(".dm-audio").is_visible()
        page.locator(".dm-timeline").click(position={"x": 8, "y": 30})  # focus the player, seek to 0
        page.keyboard.press("Space")
        page.wait_for_function(f"Number({ROOT}.dataset.frame) >= 10")
        assert page.evaluate("window.player.state().playing")
        page.keyboard.press("Space")
        state = page.evaluate("window.player.state()")
        assert not state["playing"] and state["frame"] == math.floor(state["time"] * FPS)

        page.mouse.click(*timeline_point(page, 3.0))
        page.wait_for_function(f"Math.abs(Number({ROOT}.dataset.frame) - 90) <= 1")

        page.evaluate("window.player.dispose()")
        assert page.evaluate(f"{ROOT}.children.length === 0 && !('ready' in {ROOT}.dataset)")
        assert errors == []


RECORD = """async ([ms, fps]) => {
    // Every animation frame for ``ms``: [clock seconds, the frame the player showed, playing,
    // wall-clock seconds].
    const root = document.querySelector('#player');
    const out = [];
    const end = performance.now() + ms;
    while (performance.now() < end) {
        await new Promise((r) => requestAnimationFrame(r));  // after the player's own callback
        const state = window.player.state();
        out.push([state.time, Number(root.dataset.frame), state.playing, performance.now() / 1000]);
    }
    return out;
}"""


def record(page, ms: int) -> list[tuple[float, int, bool]]:
    """(clock seconds, shown frame, playing) at every animation frame for ``ms``."""
    return [tuple(s[:3]) for s in page.evaluate(RECORD, [ms, FPS])]


def playback_rate(page, ms: int) -> tuple[float, list]:
    """Seconds of dance per wall-clock second over ``ms`` of playback (a least-squares slope, so a
    late animation frame under a busy CPU does not skew it), and the samples."""
    samples = [s for s in page.evaluate(RECORD, [ms, FPS]) if s[2]]
    time, wall = np.array([s[0] for s in samples]), np.array([s[3] for s in samples])
    return float(np.polyfit(wall - wall[0], time, 1)[0]), samples


def test_loop_wraps_the_selected_segment(site, plain_browser):
    # The loop lives in the clock, not the view: the 2D view keeps the test light.
    with open_player(plain_browser, site) as (page, errors):
        wait_ready(page)
        wait_audio(page)
        assert page.evaluate("window.player.state().loop") is False
        page.locator(".dm-loop input").check()  # the payload selects 0.5-1.5 s
        assert page.evaluate("window.player.state().loop") is True
        page.evaluate(f"{ROOT}.querySelector('audio').currentTime = 1.2")
        page.locator(".dm-timeline").focus()
        page.evaluate(f"{ROOT}.querySelector('audio').play()")
        samples = record(page, 1800)  # 1.8 s of song time at most: wraps at least once
        times = [t for t, _, playing in samples if playing]
        assert len(times) > 10, samples
        assert min(times) >= 0.5 - 0.02 and max(times) < 1.5 + 0.2, samples  # never far past the end
        wraps = [(a, b) for a, b in zip(times, times[1:], strict=False) if b < a - 0.5]
        assert wraps and all(a >= 1.3 and b <= 0.7 for a, b in wraps), wraps
        # The shown frame still follows the song's clock, wrapped or not.
        assert all(abs(frame - math.floor(t * FPS)) <= 1 for t, frame, _ in samples)

        # Loop off: playback runs on past the selection.
        page.locator(".dm-loop input").uncheck()
        page.evaluate(f"{ROOT}.querySelector('audio').currentTime = 1.2")
        page.wait_for_function(f"{ROOT}.querySelector('audio').currentTime > 1.8", timeout=10_000)

        # Play pressed outside the selection, with loop on, starts at the selection.
        page.evaluate(f"{ROOT}.querySelector('audio').pause()")
        page.evaluate(f"{ROOT}.querySelector('audio').currentTime = 3.0")
        page.locator(".dm-loop input").check()
        page.evaluate(f"{ROOT}.querySelector('audio').play()")
        page.wait_for_function("window.player.state().playing")
        times = [t for t, _, playing in record(page, 300) if playing]
        assert times and all(0.5 - 0.02 <= t < 1.5 + 0.2 for t in times), times
        assert errors == []


def test_loop_restarts_a_selection_that_ends_with_the_dance(site, plain_browser):
    # Without a song the internal clock stops at the dance's end, as an <audio> element does.
    with open_player(plain_browser, site, "silent.json") as (page, errors):
        wait_ready(page)
        page.evaluate("window.player.setSelection([[3.0, 4.0]]); window.player.setLoop(true)")
        page.mouse.click(*timeline_point(page, 3.5))
        page.locator(".dm-play").click()
        samples = record(page, 1500)
        times = [t for t, _, _ in samples]
        # Stopped at the end, the clock would stay there: no wrap, and not playing from then on.
        assert any(b < a - 0.5 for a, b in zip(times, times[1:], strict=False)), samples
        assert sum(playing for *_, playing in samples) >= 0.9 * len(samples), samples
        assert min(times) >= 3.0 - 0.02
        assert errors == []


@pytest.mark.parametrize("payload", ["payload.json", "silent.json"])
def test_speed_slows_the_clock_and_the_frame_follows_it(site, plain_browser, payload):
    with open_player(plain_browser, site, payload) as (page, errors):
        wait_ready(page)
        assert page.evaluate("window.player.state().speed") == 1
        page.locator(".dm-speed select").select_option("0.5")
        assert page.evaluate("window.player.state().speed") == 0.5
        if payload == "payload.json":  # the song itself plays slower: the <audio> element is the clock
            wait_audio(page)
            assert page.evaluate(f"{ROOT}.querySelector('audio').playbackRate") == 0.5
            page.evaluate(f"{ROOT}.querySelector('audio').play()")
        else:
            page.locator(".dm-play").click()
        page.wait_for_function("window.player.state().playing")
        rate, samples = playback_rate(page, 1200)
        assert 0.4 < rate < 0.6, (rate, samples)
        assert all(abs(frame - math.floor(t * FPS)) <= 1 for t, frame, *_ in samples)

        page.locator(".dm-speed select").select_option("1")  # while playing
        rate, samples = playback_rate(page, 800)
        assert 0.85 < rate < 1.15, (rate, samples)
        assert all(abs(frame - math.floor(t * FPS)) <= 1 for t, frame, *_ in samples)
        assert errors == []


def canvas_image(page) -> tuple[np.ndarray, dict]:
    """The 3D view's canvas as it is on screen, (H, W, 3) uint8, and its box in viewport pixels."""
    canvas = page.locator("#player canvas.dm-canvas")
    image = np.asarray(Image.open(io.BytesIO(canvas.screenshot())).convert("RGB"))
    return image, canvas.bounding_box()


def still_frame(page, seconds: float) -> None:
    """Stop the follow camera and show the frame at ``seconds``, settled."""
    page.locator(".dm-follow input").uncheck()
    page.evaluate(f"{ROOT}.querySelector('audio').currentTime = {seconds}")
    page.wait_for_function(f"{ROOT}.dataset.frame === '{math.floor(seconds * FPS)}'")
    page.wait_for_timeout(300)


@pytest.mark.parametrize("view", ["3d", "2d"])
def test_the_dancer_is_a_solid_shaded_figure(site, request, view):
    # The 2D view is what a browser without WebGL 2 shows (Chrome without a GPU it trusts): the
    # same mannequin, drawn flat, not a line skeleton.
    browser = request.getfixturevalue("webgl_browser" if view == "3d" else "plain_browser")
    with open_player(browser, site) as (page, errors):
        wait_ready(page)
        wait_audio(page)
        if view == "3d":
            still_frame(page, 0.5)
        else:
            page.evaluate(f"{ROOT}.querySelector('audio').currentTime = 0.5")
            page.wait_for_function(f"{ROOT}.dataset.frame === '15'")
        assert page.evaluate("window.player.state().webgl") is (view == "3d")
        image, box = canvas_image(page)
        screenshot(page, f"viewer-{view}-solid.png")
        hip, knee = (page.evaluate(f"window.player.jointScreenPosition({j})") for j in (LEFT_HIP, LEFT_KNEE))
        x, y = round((hip["x"] + knee["x"]) / 2 - box["x"]), round((hip["y"] + knee["y"]) / 2 - box["y"])
        # Across the middle of the left thigh (the dancer's left limbs are tinted blue): the leg is a
        # limb about 14 cm thick, not a line, and lit from one side.
        row = image[y, x - 40 : x + 41].astype(int)
        blue = (row[:, 2] - row[:, 0]) > 25
        assert blue[40], "the thigh's centre is not drawn in the left limbs' colour"
        left, right = 40, 40
        while left > 0 and blue[left - 1]:
            left -= 1
        while right < 80 and blue[right + 1]:
            right += 1
        width = right - left + 1
        thigh = math.hypot(hip["x"] - knee["x"], hip["y"] - knee["y"])  # 0.38 m: the scale on screen
        assert width >= thigh * 0.1 / 0.38, (width, thigh)  # at least 10 cm thick
        luminance = row[left : right + 1].mean(axis=1)
        assert luminance.max() - luminance.min() > 25, luminance  # shaded, not flat
        assert errors == []


ORANGE = (249, 115, 22)  # the kept joints' colour (#f97316)


def ring_coverage(image: np.ndarray, x: float, y: float, radii: tuple[int, int] = (9, 17)) -> float:
    """Of 48 directions around (x, y), the share with a kept-orange pixel between ``radii`` px."""
    orange = (np.abs(image.astype(int) - ORANGE) < 45).all(axis=-1)
    hits = 0
    for angle in np.linspace(0, 2 * np.pi, 48, endpoint=False):
        r = np.arange(*radii)
        px = np.round(x + r * np.cos(angle)).astype(int).clip(0, image.shape[1] - 1)
        py = np.round(y + r * np.sin(angle)).astype(int).clip(0, image.shape[0] - 1)
        hits += bool(orange[py, px].any())
    return hits / 48


@pytest.mark.parametrize("view", ["3d", "2d"])
def test_kept_joints_wear_a_halo(site, request, view):
    browser = request.getfixturevalue("webgl_browser" if view == "3d" else "plain_browser")
    kept = [skeleton.JOINT_INDEX[n] for n in ("left_shoulder", "left_elbow", "left_wrist")]
    with open_player(browser, site) as (page, errors):
        wait_ready(page)
        wait_audio(page)
        if view == "3d":
            still_frame(page, 1.0)  # the left arm is up, the elbow and wrist 30 px apart
        page.evaluate(f"window.player.setHighlightedJoints({kept})")
        page.wait_for_timeout(100)

        def coverage() -> list[float]:
            canvas = page.locator("#player canvas.dm-canvas")
            image = np.asarray(Image.open(io.BytesIO(canvas.screenshot())).convert("RGB"))
            box = canvas.bounding_box()
            points = [page.evaluate(f"window.player.jointScreenPosition({j})") for j in kept]
            return [ring_coverage(image, p["x"] - box["x"], p["y"] - box["y"]) for p in points]

        # A ring all round each kept joint, 9-17 px out: far wider than the limb's own colour.
        ringed = coverage()
        screenshot(page, f"viewer-{view}-kept-halo.png")
        assert min(ringed) > 0.8, ringed
        page.evaluate("window.player.setHighlightedJoints([])")
        page.wait_for_timeout(100)
        plain = coverage()
        assert max(plain) < 0.2, plain
        assert errors == []


@pytest.mark.parametrize("view", ["3d", "2d"])
def test_hands_are_not_offered_and_say_why(site, request, view):
    browser = request.getfixturevalue("webgl_browser" if view == "3d" else "plain_browser")
    left_hand = skeleton.JOINT_INDEX["left_hand"]
    with open_player(browser, site) as (page, errors):
        wait_ready(page)
        wait_audio(page)
        if view == "3d":
            still_frame(page, 1.0)  # the left arm held out sideways: the hand clear of the wrist
        else:
            page.evaluate(f"{ROOT}.querySelector('audio').currentTime = 1.0")
            page.wait_for_function(f"{ROOT}.dataset.frame === '30'")
        canvas = page.locator("#player canvas.dm-canvas")

        def hover(joint: int) -> tuple[str, str]:
            point = page.evaluate(f"window.player.jointScreenPosition({joint})")
            page.mouse.move(point["x"], point["y"])
            return tuple(canvas.evaluate("(c) => [c.style.cursor, c.title]"))

        assert hover(LEFT_WRIST) == ("pointer", "left wrist")
        cursor, title = hover(left_hand)
        assert cursor != "pointer"
        assert title.startswith("left hand moves with the left wrist") and "cannot be kept" in title
        page.mouse.down()
        page.mouse.up()  # a click on the hand
        assert events(page, "joint") == []
        # The payload keeps the left hand too; only the body joints show as kept.
        assert page.evaluate("window.player.state().kept") == sorted(KEPT[:-1])
        hover(LEFT_WRIST)
        page.mouse.down()
        page.mouse.up()
        assert events(page, "joint") == [{"type": "joint", "index": LEFT_WRIST, "name": "left_wrist"}]
        assert errors == []


@pytest.mark.parametrize("view", ["3d", "2d"])
def test_camera_presets_look_from_the_front_side_and_top(site, request, view):
    browser = request.getfixturevalue("webgl_browser" if view == "3d" else "plain_browser")
    names = ("left_shoulder", "right_shoulder", "head", "pelvis", "left_ankle", "left_foot")
    with open_player(browser, site) as (page, errors):
        wait_ready(page)
        wait_audio(page)
        if view == "3d":
            still_frame(page, 0.0)  # the rest pose, arms out, facing +z
        assert page.evaluate("window.player.state().view") == ("orbit" if view == "3d" else "front")
        seen = {}
        for preset in ("front", "side", "top"):
            page.locator(".dm-view select").select_option(preset)
            page.wait_for_timeout(200)
            assert page.evaluate("window.player.state().view") == preset
            points = {
                n: page.evaluate(f"window.player.jointScreenPosition({skeleton.JOINT_INDEX[n]})")
                for n in names
            }
            seen[preset] = ({n: np.array([p["x"], p["y"]]) for n, p in points.items()}, canvas_image(page)[0])
            screenshot(page, f"viewer-{view}-view-{preset}.png")
        (front, front_image), (side, side_image), (top, top_image) = seen["front"], seen["side"], seen["top"]
        shoulders = front["left_shoulder"][0] - front["right_shoulder"][0]
        height = front["pelvis"][1] - front["head"][1]  # pixels from head to pelvis, seen from the front
        # Front: the dancer faces us (their left on our right), shoulders level, head above pelvis.
        assert shoulders > 0.4 * height and abs(front["left_shoulder"][1] - front["right_shoulder"][1]) < 3
        # Side: the shoulders line up one behind the other; the head is still above the pelvis.
        assert abs(side["left_shoulder"][0] - side["right_shoulder"][0]) < 0.15 * shoulders
        assert side["pelvis"][1] - side["head"][1] > 0.8 * height
        # Top: looking down, the head is over the pelvis; the feet point down the screen (front).
        assert np.linalg.norm(top["head"] - top["pelvis"]) < 0.3 * height
        assert top["left_foot"][1] - top["left_ankle"][1] > 3
        # And the picture itself changed with each preset.
        for a, b in ((front_image, side_image), (side_image, top_image), (front_image, top_image)):
            assert np.abs(a.astype(int) - b.astype(int)).mean() > 1.0

        if view == "3d":  # dragging turns the camera out of the preset: the free orbit camera again
            box = page.locator("#player canvas.dm-canvas").bounding_box()
            drag(page, (box["x"] + 300, box["y"] + 300), (box["x"] + 420, box["y"] + 300), steps=8)
            page.wait_for_function("window.player.state().view === 'orbit'")
            assert page.locator(".dm-view select").input_value() == "orbit"
        assert errors == []


def violet(image: np.ndarray) -> np.ndarray:
    """Pixels of the see-through violet ghost (#8b5cf6 over the stage): red and blue above green,
    unlike the grey body, its blue-tinted left limbs and the orange kept joints."""
    r, g, b = (image[..., k].astype(int) for k in range(3))
    return (b - g > 25) & (r - g > 10)


@pytest.mark.parametrize("view", ["3d", "2d"])
def test_a_ghost_is_drawn_with_the_dance_and_can_stand_beside_it(site, request, view):
    browser = request.getfixturevalue("webgl_browser" if view == "3d" else "plain_browser")
    with open_player(browser, site, "compare.json") as (page, errors):
        wait_ready(page)
        wait_audio(page)
        if view == "3d":
            still_frame(page, 0.5)  # the arm up; the ghost's arm down
        else:
            page.evaluate(f"{ROOT}.querySelector('audio').currentTime = 0.5")
            page.wait_for_function(f"{ROOT}.dataset.frame === '15'")
        menu = page.locator(".dm-ghost select")
        assert menu.is_visible() and page.evaluate("window.player.state().ghost") is None
        assert menu.locator("option").all_inner_texts() == ["none", "Candidate 2 · BAS 0.5"]
        assert violet(canvas_image(page)[0]).sum() < 20

        menu.select_option("c2")
        page.wait_for_function("window.player.state().ghost === 'c2'")
        page.wait_for_timeout(100)
        over = violet(canvas_image(page)[0])
        screenshot(page, f"viewer-{view}-ghost.png")
        assert over.sum() > 300, over.sum()

        page.locator(".dm-ghost-beside input").check()
        page.wait_for_timeout(100)
        beside = violet(canvas_image(page)[0])
        screenshot(page, f"viewer-{view}-ghost-beside.png")
        shift = np.argwhere(beside)[:, 1].mean() - np.argwhere(over)[:, 1].mean()
        hip, knee = (page.evaluate(f"window.player.jointScreenPosition({j})") for j in (LEFT_HIP, LEFT_KNEE))
        thigh = math.hypot(hip["x"] - knee["x"], hip["y"] - knee["y"])
        assert shift > 0.6 / 0.38 * thigh, (shift, thigh)  # about 1 m to the dancer's left
        assert beside.sum() > over.sum()  # no longer half hidden behind the dancer

        # Looking is not keeping: the player told the page nothing.
        assert page.evaluate("window.events") == []
        menu.select_option("")
        page.wait_for_function("window.player.state().ghost === null")
        page.wait_for_timeout(100)
        assert violet(canvas_image(page)[0]).sum() < 20
        assert errors == []
