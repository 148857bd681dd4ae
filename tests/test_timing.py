"""Frames, tokens, audio samples and seconds agree (DESIGN 5.3): one clock for the whole project."""

from __future__ import annotations

import pytest

from dancemosaic import timing


def test_constants_are_consistent() -> None:
    assert timing.SAMPLE_RATE == timing.FPS * timing.HOP_LENGTH
    assert timing.TOKENS_PER_SECOND * timing.FRAMES_PER_TOKEN == timing.FPS
    assert isinstance(timing.SAMPLE_RATE, int) and isinstance(timing.HOP_LENGTH, int)


def test_nine_seconds_in_every_unit() -> None:
    frames = timing.seconds_to_frames(9.0)
    assert frames == 9 * timing.FPS == 270
    assert timing.frames_to_samples(frames) == 9 * timing.SAMPLE_RATE == 138240
    assert timing.frames_to_seconds(frames) == pytest.approx(9.0)
    assert timing.samples_to_frames(9 * timing.SAMPLE_RATE) == frames
    # 270 frames are 67.5 tokens: the half token still needs a token.
    assert timing.seconds_to_tokens(9.0) == 68


@pytest.mark.parametrize("seconds", [0.0, 1.0, 2.5, 10.0, 29.9, 120.0])
def test_seconds_frames_samples_round_trip(seconds: float) -> None:
    frames = timing.seconds_to_frames(seconds)
    assert abs(timing.frames_to_seconds(frames) - seconds) <= 0.5 / timing.FPS
    assert timing.samples_to_frames(timing.frames_to_samples(frames)) == frames


def test_every_frame_of_a_ten_second_clip_round_trips_through_samples() -> None:
    for n in range(timing.seconds_to_frames(10.0) + 1):
        samples = timing.frames_to_samples(n)
        assert timing.samples_to_frames(samples) == n
        # A partial frame of audio is dropped, not rounded up.
        assert timing.samples_to_frames(samples + timing.HOP_LENGTH - 1) == n
        assert samples / timing.SAMPLE_RATE == pytest.approx(timing.frames_to_seconds(n))


def test_tokens_cover_their_frames_with_less_than_one_token_to_spare() -> None:
    for n in range(timing.seconds_to_frames(10.0) + 1):
        covered = timing.tokens_to_frames(timing.frames_to_tokens(n))
        assert n <= covered < n + timing.FRAMES_PER_TOKEN
    for tokens in range(100):
        assert timing.frames_to_tokens(timing.tokens_to_frames(tokens)) == tokens


def test_tokens_per_second_matches_the_token_helpers() -> None:
    assert timing.seconds_to_tokens(4.0) == 4 * timing.TOKENS_PER_SECOND == 30
    assert timing.frames_to_tokens(0) == 0
    assert timing.frames_to_tokens(1) == 1
