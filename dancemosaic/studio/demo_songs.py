"""Three demo songs, synthesised by the project itself (no third-party audio in the repository).

They are rendered once into a cache folder the first time the studio starts (about a second each)
and offered as examples under the song upload.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import soundfile

from dancemosaic import percussion


@dataclass(frozen=True)
class DemoSong:
    name: str  # the file name's stem
    bpm: float
    style: str  # a percussion.STYLES key
    prompt: str  # a prompt that suits it


DEMO_SONGS = (
    DemoSong("demo-salsa-clave-96bpm", 96.0, "clave", "a person dances salsa"),
    DemoSong("demo-house-124bpm", 124.0, "four_on_floor", "a person dances energetically"),
    DemoSong("demo-breakbeat-140bpm", 140.0, "breakbeat", "a person dances hip-hop"),
)
DEMO_SECONDS = 20.0
LISTENING_RATE = 44100  # Hz: the model hears 15360 Hz, but people listen to these


def demo_song_paths(folder: Path) -> list[Path]:
    """The demo songs as 16-bit wav files in ``folder``, rendered when missing."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, song in enumerate(DEMO_SONGS):
        path = folder / f"{song.name}.wav"
        if not path.is_file():
            audio, _ = percussion.synthesize(song.bpm, DEMO_SECONDS, song.style, i, LISTENING_RATE)
            partial = path.with_suffix(".part.wav")  # written then renamed: never a half file
            soundfile.write(partial, audio, LISTENING_RATE, subtype="PCM_16")
            partial.rename(path)
        paths.append(path)
    return paths
