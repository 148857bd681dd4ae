"""What the engine is asked for and what it returns: ``Request``, ``Edit``, ``PoseTarget``, ``Dance``.

A ``Dance`` carries its provenance (the request or edit that made it, the options, the checkpoint
and its parent), so history, undo and export metadata need no parallel bookkeeping.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from dancemosaic.motion import Motion
from dancemosaic.text import validate_prompt


@dataclass(frozen=True)
class PoseTarget:
    """Joint positions to hold: ``joints`` (T, 22, 3) in the dance's frame, ``mask`` (T, 22) bool."""

    joints: torch.Tensor
    mask: torch.Tensor

    def __post_init__(self) -> None:
        if (
            self.joints.dim() != 3
            or self.joints.shape[1:] != (22, 3)
            or self.mask.shape != self.joints.shape[:2]
        ):
            raise ValueError("a pose target needs joints (T, 22, 3) and a mask (T, 22)")


@dataclass(frozen=True)
class Request:
    """Generate a dance for ``song`` (an audio file; None: text only, ``duration`` seconds)."""

    text: str
    song: str | Path | None = None
    seed: int = 0
    duration: float | None = None  # seconds; default: the whole song
    pose: PoseTarget | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "text", validate_prompt(self.text))
        if self.song is None and self.duration is None:
            raise ValueError("give a song, or a duration in seconds for a dance without music")
        if self.duration is not None and not 0 < self.duration <= MAX_SECONDS:
            raise ValueError(f"duration must be between 0 and {MAX_SECONDS:g} seconds, got {self.duration}")


@dataclass(frozen=True)
class Edit:
    """Regenerate [start, end) seconds; an end past the dance extends it (out-painting).

    ``joints`` are kept as pose constraints while the rest of the body regenerates (body-part
    editing); ``text`` is the prompt for this segment (default: the dance's own).
    """

    start: float
    end: float
    text: str | None = None
    joints: tuple[int, ...] = ()
    seed: int = 0

    def __post_init__(self) -> None:
        if self.text is not None:
            object.__setattr__(self, "text", validate_prompt(self.text))
        if not 0 <= self.start < self.end:
            span = f"{self.start:g}-{self.end:g} s"
            raise ValueError(f"the segment {span} must start at 0 s or later and end after it starts")
        if any(not 0 <= j < 22 for j in self.joints):
            raise ValueError("joints must be body joint indices 0-21 (see skeleton.JOINT_NAMES)")


@dataclass(frozen=True)
class Segment:
    start: float
    end: float
    text: str


@dataclass(frozen=True)
class Dance:
    """A dance and how it was made.

    ``codes`` are the tokens the engine decided; after an edit the motion is their decoding spliced
    into the previous version's motion (``splice.py``: frames outside the edit, kept joints and
    the root path outside it are the old ones), so it is the motion, not the codes, that is exact.
    ``blends`` are the edit's blend zones, [start, end) seconds where new motion joins old;
    ``kept_error`` is the most a kept joint moved in world space over the edit (m), measured on
    the final motion.
    """

    motion: Motion
    codes: torch.Tensor  # (L, Q)
    segments: tuple[Segment, ...]
    song: str | None
    request: Request | Edit
    checkpoint: str
    parent: Dance | None = field(default=None, repr=False)
    pose_distance: float | None = None  # RMS distance to a guide's pose targets (m), when there were any
    blends: tuple[tuple[float, float], ...] = ()
    kept_error: float | None = None

    @property
    def duration(self) -> float:
        return self.motion.duration

    def joints(self) -> np.ndarray:
        """(T, 24, 3) joint positions in metres, y up."""
        return self.motion.joints24().numpy()


MAX_SECONDS = 20 * 60.0  # matches music.MAX_SECONDS: the longest song the engine accepts
