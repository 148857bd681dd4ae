"""The one source of truth for time: frames, tokens, audio samples and seconds.

Every other module converts between these units through the helpers here, so a change of frame
rate or tokenizer stride cannot leave two parts of the project disagreeing about what "frame 90"
means. Constants are derived by exact integer division (as in whisper's ``audio.py``).
"""

from __future__ import annotations

import math

FPS = 30  # motion frames per second (FineDance, EDGE)
HOP_LENGTH = 512  # audio samples per motion frame
SAMPLE_RATE = FPS * HOP_LENGTH  # 15360 Hz: one STFT hop per motion frame, exactly
FRAMES_PER_TOKEN = 4  # temporal downsampling of the motion tokenizer
TOKENS_PER_SECOND = FPS / FRAMES_PER_TOKEN  # 7.5 tokens per second

assert SAMPLE_RATE % FPS == 0 and SAMPLE_RATE // FPS == HOP_LENGTH


def seconds_to_frames(seconds: float) -> int:
    """Motion frames that fit in ``seconds`` (rounded to the nearest frame)."""
    return int(round(seconds * FPS))


def frames_to_seconds(frames: int) -> float:
    return frames / FPS


def frames_to_samples(frames: int) -> int:
    return frames * HOP_LENGTH


def samples_to_frames(samples: int) -> int:
    """Whole motion frames covered by ``samples`` audio samples (a partial frame is dropped)."""
    return samples // HOP_LENGTH


def frames_to_tokens(frames: int) -> int:
    """Tokens needed to cover ``frames`` motion frames (a partial token counts as one)."""
    return math.ceil(frames / FRAMES_PER_TOKEN)


def tokens_to_frames(tokens: int) -> int:
    return tokens * FRAMES_PER_TOKEN


def seconds_to_tokens(seconds: float) -> int:
    return frames_to_tokens(seconds_to_frames(seconds))
