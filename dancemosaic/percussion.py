"""The project's own synthesised music: drum patterns with a bass line and chord stabs, and clicks.

No third-party audio is needed to train or demo the model: ``synthesize`` renders a loop in one of a
few styles at any tempo and returns the exact beat times, which makes it both a source of
music-dance training pairs at many tempos and a ground truth for the beat tracker in ``music``.
Everything is drawn from one ``numpy`` generator seeded by the caller, so a (bpm, seconds, style,
seed) tuple always renders the same samples.
"""

from __future__ import annotations

import functools

import numpy as np
import scipy.signal

from dancemosaic.timing import SAMPLE_RATE

STEPS_PER_BEAT = 4  # patterns are written on a sixteenth-note grid
STEPS_PER_BAR = 4 * STEPS_PER_BEAT  # 4/4 time
MIN_BPM, MAX_BPM = 40.0, 300.0
PEAK = 0.9  # the rendered mix is scaled to this peak so every style plays equally loud

# One 16-step bar per voice ("x" = hit). Kicks and snares mark most beats, so a beat tracker (and a
# dancer) has something to lock onto in every style; the syncopation lives in the breakbeat's kicks
# and snares, the clave, the bass and the offbeat hats.
STYLES: dict[str, dict[str, str]] = {
    "four_on_floor": {
        "kick": "x...x...x...x...",
        "snare": "....x.......x...",
        "hat": "..x...x...x...x.",
        "bass": "..x...x...x...x.",
        "chord": "x.....x.........",
        "pad": "x...............",
    },
    "breakbeat": {
        "kick": "x.........x.....",
        "snare": "....x..x.x..x...",
        "hat": "x.x.x.x.x.x.x.x.",
        "bass": "x.........x...x.",
        "chord": "x.......x.......",
        "pad": "x...............",
    },
    "clave": {
        "kick": "x...x...x...x...",
        "clave": "x..x...x....x.x.",
        "cowbell": "x...x...x...x...",
        "hat": "xxxxxxxxxxxxxxxx",
        "bass": "x..x...x..x.....",
        "chord": "...x......x.....",
        "pad": "x...............",
    },
    "hiphop": {
        "kick": "x.......x.x.....",
        "snare": "....x.......x...",
        "hat": "x.x.x.x.x.x.x.x.",
        "bass": "x.....x...x.....",
        "chord": "x...............",
        "pad": "x...............",
    },
}

# Chord roots in semitones above the key, one chord per bar; minor-key triads for the first two
# progressions and major-key triads for the last two.
PROGRESSIONS = (
    ((0, 8, 3, 10), "minor"),
    ((0, 5, 8, 7), "minor"),
    ((0, 7, 9, 5), "major"),
    ((0, 5, 7, 5), "major"),
)
TRIADS = {"minor": (0, 3, 7), "major": (0, 4, 7)}


def synthesize(
    bpm: float,
    seconds: float,
    style: str = "four_on_floor",
    seed: int = 0,
    sample_rate: int = SAMPLE_RATE,
) -> tuple[np.ndarray, np.ndarray]:
    """Render a drum + bass + chord loop; returns (audio (N,) float32, beat times in seconds).

    Beat ``k`` falls at ``k * 60 / bpm`` seconds: the quarter-note grid the patterns are written on.
    """
    _check_args(bpm, seconds, sample_rate)
    if style not in STYLES:
        raise ValueError(f"unknown style {style!r}; choose one of {sorted(STYLES)}")
    rng = np.random.default_rng(seed)
    key = 40 + int(rng.integers(0, 8))  # bass key between E2 and B2 (MIDI)
    progression, quality = PROGRESSIONS[int(rng.integers(0, len(PROGRESSIONS)))]
    roots = [key + progression[bar % len(progression)] for bar in range(int(seconds * bpm / 240) + 1)]
    n = int(round(seconds * sample_rate))
    dry = _render(STYLES[style], roots, TRIADS[quality], 60.0 / bpm, n, rng, sample_rate)
    # A short synthetic room: real recordings never fall to digital silence between hits, and
    # onset detectors (and ears) judge a hit against what is still ringing.
    audio = dry + 0.05 * scipy.signal.fftconvolve(dry, _room(rng, sample_rate))[:n]
    audio *= PEAK / max(float(np.abs(audio).max()), 1e-9)
    return audio.astype(np.float32), _beat_times(bpm, seconds)


def _render(
    pattern: dict[str, str],
    roots: list[int],
    triad: tuple[int, ...],
    beat_seconds: float,
    n: int,
    rng: np.random.Generator,
    sr: int,
) -> np.ndarray:
    """(N,) the pattern played over the bar roots, one velocity-jittered hit at a time."""
    out = np.zeros(n + 4 * sr)  # room for the last notes' tails, cut off below
    step_seconds = beat_seconds / STEPS_PER_BEAT
    for step in range(int(np.ceil(n / sr / step_seconds))):
        start = int(round(step * step_seconds * sr))
        root = roots[step // STEPS_PER_BAR]
        for voice, hits in pattern.items():
            if hits[step % STEPS_PER_BAR] == "x":
                hit = rng.uniform(0.75, 1.0) * _voice(voice, root, triad, beat_seconds, rng, sr)
                out[start : start + len(hit)] += hit[: len(out) - start]
    return out[:n]


def click_track(
    bpm: float,
    seconds: float,
    offset: float = 0.0,
    frequency: float = 1000.0,
    sample_rate: int = SAMPLE_RATE,
) -> tuple[np.ndarray, np.ndarray]:
    """A metronome: a 30 ms decaying sine click on every beat from ``offset`` seconds on.

    Returns (audio (N,) float32, beat times in seconds).
    """
    _check_args(bpm, seconds, sample_rate)
    if not 0 <= offset < seconds:
        raise ValueError(f"offset must lie in [0, seconds), got {offset} for a {seconds} s track")
    n = int(round(seconds * sample_rate))
    t = np.arange(int(0.03 * sample_rate)) / sample_rate
    click = np.sin(2 * np.pi * frequency * t) * np.exp(-t / 0.006)
    audio = np.zeros(n + len(click))
    times = offset + _beat_times(bpm, seconds - offset)
    for start in np.round(times * sample_rate).astype(int):
        audio[start : start + len(click)] += 0.8 * click
    return audio[:n].astype(np.float32), times


def _check_args(bpm: float, seconds: float, sample_rate: int) -> None:
    if not MIN_BPM <= bpm <= MAX_BPM:
        raise ValueError(f"bpm must be between {MIN_BPM:g} and {MAX_BPM:g}, got {bpm}")
    if seconds <= 0:
        raise ValueError(f"seconds must be positive, got {seconds}")
    if sample_rate < 8000:
        raise ValueError(f"sample_rate must be at least 8000 Hz, got {sample_rate}")


def _beat_times(bpm: float, seconds: float) -> np.ndarray:
    # Multiply rather than accumulate so beat k has no rounding drift however long the track.
    period = 60.0 / bpm
    return np.arange(int(np.ceil(seconds / period - 1e-9))) * period


def _voice(
    voice: str,
    root: int,
    triad: tuple[int, ...],
    beat_seconds: float,
    rng: np.random.Generator,
    sr: int,
) -> np.ndarray:
    """One hit of ``voice``; pitched voices follow the bar's chord ``root`` (MIDI)."""
    if voice == "kick":
        return _mix(_kick(sr), 0.6 * _noise_hit(rng, sr, decay=0.008, bright=1))
    if voice == "snare":
        return _mix(0.5 * _noise_hit(rng, sr, decay=0.06, bright=1), 0.4 * _tone(185.0, 0.05, sr))
    if voice == "hat":
        return 0.05 * _noise_hit(rng, sr, decay=0.02, bright=2)
    if voice == "clave":
        return 0.3 * _tone(2500.0, 0.025, sr)
    if voice == "cowbell":
        return 0.15 * _mix(_tone(540.0, 0.08, sr, harmonics=3), _tone(800.0, 0.08, sr, harmonics=3))
    if voice == "bass":
        return 0.4 * _tone(_hz(root), beat_seconds / 2, sr, harmonics=6)
    if voice == "pad":  # the bar's triad held softly underneath, so harmony never drops out
        notes = (_tone(_hz(root + 12 + i), beat_seconds, sr, harmonics=2, attack=0.08) for i in triad)
        return 0.06 * _mix(*notes)
    # Chord stab: the triad an octave and a fifth above the bass, ringing for a quarter second.
    return 0.12 * _mix(*(_tone(_hz(root + 19 + i), 0.25, sr, harmonics=3) for i in triad))


def _room(rng: np.random.Generator, sr: int) -> np.ndarray:
    """(N,) impulse response of a small room: half a second of noise decaying with 0.1 s constant."""
    t = np.arange(int(0.5 * sr)) / sr
    return rng.standard_normal(len(t)) * np.exp(-t / 0.1)


def _mix(*parts: np.ndarray) -> np.ndarray:
    """Sum 1-D signals of different lengths (zero-padded to the longest)."""
    out = np.zeros(max(len(p) for p in parts))
    for part in parts:
        out[: len(part)] += part
    return out


def _hz(midi: float) -> float:
    return 440.0 * 2.0 ** ((midi - 69) / 12)


@functools.lru_cache(maxsize=256)  # the same few notes repeat every bar
def _tone(hz: float, decay: float, sr: int, harmonics: int = 1, attack: float = 0.003) -> np.ndarray:
    """(N,) a decaying tone with 1/k harmonics (a soft saw) kept below Nyquist.

    The linear fade-in over ``attack`` seconds keeps a note from clicking as it starts.
    """
    t = np.arange(int(5 * decay * sr)) / sr
    wave = sum(np.sin(2 * np.pi * k * hz * t) / k for k in range(1, harmonics + 1) if k * hz < sr / 2)
    return _frozen(wave * np.minimum(t / attack, 1.0) * np.exp(-t / decay))


@functools.lru_cache(maxsize=4)
def _kick(sr: int) -> np.ndarray:
    """(N,) a sine whose pitch falls from 150 Hz to 50 Hz: the classic synthesised kick drum."""
    t = np.arange(int(0.35 * sr)) / sr
    pitch = 50.0 + 100.0 * np.exp(-t / 0.04)
    return _frozen(np.sin(2 * np.pi * np.cumsum(pitch) / sr) * np.exp(-t / 0.12))


def _frozen(array: np.ndarray) -> np.ndarray:
    """Read-only: cached notes are shared by every later hit, so none may change them in place."""
    array.setflags(write=False)
    return array


def _noise_hit(rng: np.random.Generator, sr: int, decay: float, bright: int) -> np.ndarray:
    """(N,) decaying white noise, differenced ``bright`` times to tilt it towards the treble."""
    noise = rng.standard_normal(int(5 * decay * sr) + bright)
    noise = np.diff(noise, n=bright) / 2.0**bright
    t = np.arange(len(noise)) / sr
    return noise * np.exp(-t / decay)
