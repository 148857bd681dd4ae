"""The unit every dataset reader yields: one motion with its text prompt and provenance."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dancemosaic.motion import Motion


@dataclass(frozen=True)
class Clip:
    """A motion clip from a dataset, at any frame rate, on the canonical skeleton.

    ``name`` is unique within its ``source`` (e.g. "cmu_salsa/60_01_scaled"); ``text`` is the prompt
    built from the dataset's labels; ``music`` is the paired audio file when the dataset has one.
    """

    name: str
    source: str
    motion: Motion
    text: str
    licence: str
    music: Path | None = None
    music_offset: float = 0.0  # seconds into ``music`` where the clip's first frame plays
