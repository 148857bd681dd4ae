"""Music: reading songs from disk and describing them once per motion frame.

``load_audio`` turns a wav/flac/ogg/mp3 file into mono float32 samples at ``SAMPLE_RATE`` and
refuses, with a message saying what to change, anything that is not a usable song.
``extract_features`` computes one feature row per motion frame (one STFT hop of ``HOP_LENGTH``
samples): the 35-d EDGE/FineDance baseline set plus beat-phase and tempo channels, so a dance model
can tell not only *that* a beat falls but *where between two beats* it is. ``music_beats`` is the
beat definition the BAS metric uses; the same beats fill the feature rows.

Librosa's onset envelope peaks one frame (33 ms) after the attack because it shifts a centred
spectrogram as if it were not centred; we shift it back, so "beat at frame k" means the sound
starts at frame k. Tempo comes from the audio only: a Fourier x autocorrelation tempo salience with
a broad log-normal prior picks the metrical level, librosa's dynamic-programming tracker places the
beats, and a line fitted through the beat times refines the tempo below the frame quantisation.
Which metrical level is "the" tempo is a matter of taste: slow grooves (about 75 BPM and below)
whose eighth notes are nearly as loud as their beats come out at double tempo.
"""

from __future__ import annotations

import functools
import logging
import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import librosa
import numpy as np
import soundfile as sf

from dancemosaic.timing import FPS, HOP_LENGTH, SAMPLE_RATE, frames_to_seconds, samples_to_frames

logger = logging.getLogger(__name__)

SUPPORTED_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3")
MIN_SECONDS = 1.0  # shorter clips hold too few frames for a spectrogram or a beat
MAX_SECONDS = 20 * 60.0  # 20 minutes: longer files are refused from the header, before decoding
MAX_NONFINITE_FRACTION = 0.01  # up to 1 % NaN/inf samples are zeroed; more means a broken file
TRUNCATION_TOLERANCE = 0.9  # decoding fewer than 90 % of the frames the header promises = truncated
SILENCE_PEAK = 1e-3  # -60 dBFS: a clip whose loudest sample is quieter counts as silence

N_MFCC = 20
CHROMA_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
TEMPO_SCALE_BPM = 120.0  # the tempo channel is bpm / 120, so typical dance music sits near 1
HALF_TIME_ABOVE_BPM = 150.0  # faster songs are danced on every other beat (see ``danced_beats``)
FEATURE_NAMES: tuple[str, ...] = (
    "onset_strength",  # 0: spectral flux of the log-mel spectrogram
    *(f"mfcc_{i}" for i in range(N_MFCC)),  # 1-20
    *(f"chroma_{name}" for name in CHROMA_NAMES),  # 21-32: chroma_cens, as in EDGE
    "onset_peak",  # 33: 1 on frames where librosa.onset.onset_detect fires
    "beat",  # 34: 1 on beat frames (``music_beats``); the 35-d baseline ends here
    "beat_phase_sin",  # 35: sin(2 pi phase), phase 0 on a beat and rising to 1 at the next
    "beat_phase_cos",  # 36: cos(2 pi phase); both 0 when no beat was found
    "tempo",  # 37: tempo_bpm / TEMPO_SCALE_BPM, constant over the song; 0 when no beat
)
FEATURE_INDEX = {name: i for i, name in enumerate(FEATURE_NAMES)}
FEATURE_DIM = len(FEATURE_NAMES)  # 38
BASELINE_DIM = FEATURE_INDEX["beat"] + 1  # 35: the EDGE/FineDance channels, in their order

# Tempo search. The prior centre and width were chosen so that metronome clicks from 70 to 180 BPM
# and the project's percussion styles from 80 to 180 BPM come out at the written tempo.
MIN_BPM, MAX_BPM = 40.0, 240.0
TEMPO_PRIOR_BPM = 130.0
TEMPO_PRIOR_OCTAVES = 1.0  # standard deviation of the log2-tempo prior
BEAT_TIGHTNESS = 100.0  # how strictly the tracker keeps the tempo (EDGE's setting)


@dataclass(frozen=True, eq=False)  # arrays inside: compare fields explicitly, not with ==
class MusicFeatures:
    """Per-motion-frame description of a song (T = ``samples_to_frames(len(audio))``)."""

    features: np.ndarray  # (T, FEATURE_DIM) float32, channels as in FEATURE_NAMES
    onset_strength: np.ndarray  # (T,) float32, aligned so a hit at frame k peaks at frame k
    beat_frames: np.ndarray  # (B,) int64 motion-frame indices, increasing; empty in silence
    tempo_bpm: float  # beats per minute; 0.0 when no beat was found (silence)

    @property
    def num_frames(self) -> int:
        return self.features.shape[0]

    @property
    def seconds(self) -> float:
        return frames_to_seconds(self.num_frames)


def load_audio(
    path: str | Path, sample_rate: int = SAMPLE_RATE, max_seconds: float = MAX_SECONDS
) -> np.ndarray:
    """(N,) float32 mono samples of the song at ``path``, resampled to ``sample_rate``.

    Any channel count is averaged down. Raises ``ValueError`` for a missing, empty, corrupt,
    truncated or unsupported file, and for songs shorter than MIN_SECONDS or longer than
    ``max_seconds`` (the latter judged from the header, without decoding).
    """
    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be a positive number of Hz, got {sample_rate}")
    path = check_audio_path(path)
    info = _read_header(path)
    if info.duration > max_seconds:
        raise ValueError(
            f"{path.name} lasts {_duration(info.duration)}; songs may last at most "
            f"{_duration(max_seconds)}: trim it first"
        )
    samples = _decode(path, info.frames)  # (N, C)
    audio = _limit_peak(_repair_nonfinite(samples.mean(axis=1), path.name))  # (N,)
    if info.samplerate != sample_rate:
        audio = librosa.resample(audio, orig_sr=info.samplerate, target_sr=sample_rate, res_type="soxr_hq")
    if len(audio) < MIN_SECONDS * sample_rate:
        raise ValueError(
            f"{path.name} holds {len(audio) / sample_rate:.2f} s of audio; "
            f"songs must last at least {MIN_SECONDS:g} s"
        )
    return audio.astype(np.float32, copy=False)


def analyse_file(path: str | Path) -> MusicFeatures:
    """``extract_features(load_audio(path))``, cached by file and modification time: the engine and
    the studio both ask about the same song, and a song is analysed once. Treat the result as
    read-only (it is shared)."""
    key = _file_key(path)
    return _remembered.get(key) or _analyse_file(*key)


def remember(path: str | Path, features: MusicFeatures) -> None:
    """Take ``features`` as the analysis of the file at ``path`` as it is now (made elsewhere: the
    command line analyses its song in a second process while this one loads the engine)."""
    if len(_remembered) >= 16:
        _remembered.clear()
    _remembered[_file_key(path)] = features


def _file_key(path: str | Path) -> tuple[str, float]:
    path = Path(path).resolve()
    return str(path), path.stat().st_mtime if path.is_file() else 0.0


_remembered: dict[tuple[str, float], MusicFeatures] = {}


@functools.lru_cache(maxsize=16)
def _analyse_file(path: str, modified: float) -> MusicFeatures:
    return extract_features(load_audio(path))


def extract_features(audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> MusicFeatures:
    """Describe mono ``audio`` once per motion frame (see FEATURE_NAMES for the channels).

    Audio at another rate is resampled to SAMPLE_RATE first, so one hop is one motion frame.
    """
    audio = _prepare(audio, sample_rate)  # (N,) at SAMPLE_RATE
    num_frames = samples_to_frames(len(audio))  # T
    mel_db = _log_mel(audio)  # (128, T + 1): librosa centres frames, one extra at the end
    onset = _onset_envelope(mel_db, audio)  # (T,)
    mfcc = librosa.feature.mfcc(S=mel_db, n_mfcc=N_MFCC)[:, :num_frames]  # (20, T)
    chroma = _chroma(audio)[:, :num_frames]  # (12, T)
    peaks = librosa.onset.onset_detect(onset_envelope=onset, sr=SAMPLE_RATE, hop_length=HOP_LENGTH)
    beats, tempo = track_beats(onset)
    phase = beat_phase(beats, num_frames, tempo)  # (T,), NaN where undefined
    columns = [
        onset[:, None],
        mfcc.T,
        chroma.T,
        _one_hot(peaks, num_frames)[:, None],
        _one_hot(beats, num_frames)[:, None],
        np.nan_to_num(np.sin(2 * np.pi * phase))[:, None],
        np.nan_to_num(np.cos(2 * np.pi * phase))[:, None],
        np.full((num_frames, 1), tempo / TEMPO_SCALE_BPM),
    ]
    features = np.concatenate(columns, axis=1).astype(np.float32)  # (T, FEATURE_DIM)
    return MusicFeatures(features, onset, beats, tempo)


def music_beats(music: np.ndarray | MusicFeatures, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """(B,) int64 beat frames of a song (mono audio or its features), as the BAS metric uses.

    Librosa onset strength (aligned to the attack) and ``librosa.beat.beat_track`` at the motion
    frame rate, with the tempo from ``track_beats``; identical to ``MusicFeatures.beat_frames``.
    """
    if isinstance(music, MusicFeatures):
        return music.beat_frames
    audio = _prepare(music, sample_rate)
    return track_beats(_onset_envelope(_log_mel(audio), audio))[0]


def track_beats(onset: np.ndarray) -> tuple[np.ndarray, float]:
    """Beat frames (B,) int64 and tempo in BPM from a (T,) onset envelope at FPS frames/s.

    Returns an empty array and tempo 0.0 when the envelope is flat (silence).
    """
    onset = np.asarray(onset, dtype=np.float32)
    if len(onset) < 2 or not np.any(onset > 0):
        return np.zeros(0, np.int64), 0.0
    bpm = estimate_tempo(onset)
    # The tracker backtracks from the last local maximum of its score, which is often the final
    # frame; a path forced to end there between two beats bends the last few beats off the music.
    # Two beats of silence appended give that bent ending somewhere to go, and are cut off again.
    tail = np.zeros(int(2 * 60.0 * FPS / bpm) + 1, np.float32)
    _, beats = _librosa_beat().beat_track(
        onset_envelope=np.concatenate([onset, tail]),
        sr=SAMPLE_RATE,
        hop_length=HOP_LENGTH,
        bpm=bpm,
        tightness=BEAT_TIGHTNESS,
        trim=False,  # librosa's trim drops every beat before the first above-average one
    )
    beats = np.asarray(beats, dtype=np.int64)
    beats = beats[beats < len(onset)]
    return beats, _refine_tempo(onset, beats, bpm)


@functools.cache
def _librosa_beat():  # noqa: ANN202 (a module)
    """``librosa.beat``, its numba kernels kept in numba's cache. librosa compiles one of them
    (``__beat_local_score``) at import with caching off: 2-5 s in every process, most of a
    command-line dance's start-up. Compiled once into the cache like librosa's other kernels, it
    loads in milliseconds after that (the same machine code: only where it comes from changes)."""
    import numba

    compile_kernel = numba.guvectorize

    def cached(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        return compile_kernel(*args, **{**kwargs, "cache": True})

    numba.guvectorize = cached
    try:
        import librosa.beat
    finally:
        numba.guvectorize = compile_kernel
    return librosa.beat


def estimate_tempo(onset: np.ndarray) -> float:
    """Global tempo (BPM, 0.5 BPM grid) of a (T,) onset envelope at FPS frames/s.

    salience(bpm) = |DFT(bpm)| * ACF(60 FPS / bpm) * prior(bpm). The DFT peaks at the tempo and
    its multiples, the autocorrelation at the tempo and its fractions; only the true level is
    strong in both. The log-normal prior (centre TEMPO_PRIOR_BPM) breaks the remaining ties.
    """
    x = onset - onset.mean()  # (T,)
    n_fft = max(2 ** math.ceil(math.log2(2 * len(x))), 16384)  # >= 2T: no circular wrap
    spectrum = np.fft.rfft(x, n_fft)
    acf = np.fft.irfft(np.abs(spectrum) ** 2, n_fft)[: len(x)]
    grid = np.arange(MIN_BPM, MAX_BPM + 0.25, 0.5)
    dft = np.interp(grid / 60.0, np.fft.rfftfreq(n_fft, 1.0 / FPS), np.abs(spectrum))
    lag_acf = np.interp(60.0 * FPS / grid, np.arange(len(acf)), acf, right=0.0)
    prior = np.exp(-0.5 * (np.log2(grid / TEMPO_PRIOR_BPM) / TEMPO_PRIOR_OCTAVES) ** 2)
    return float(grid[np.argmax(dft * np.maximum(lag_acf, 0.0) * prior)])


def danced_beats(analysis: MusicFeatures) -> MusicFeatures:
    """The song as a dancer counts it: above HALF_TIME_ABOVE_BPM, every other beat at half the tempo.

    Dancers take fast music at half-time, and the training pairs often put a dance's kinematic
    beats on every other beat of a fast track (its beats come twice as often as the dance's).
    The kept beats are the more accented half (the larger mean onset strength); the beat, phase
    and tempo channels are rewritten to that grid, the sound channels stay as they are. Slower
    songs come back unchanged.
    """
    beats = analysis.beat_frames
    if analysis.tempo_bpm <= HALF_TIME_ABOVE_BPM or len(beats) < 2:
        return analysis
    kept = max((beats[0::2], beats[1::2]), key=lambda half: float(analysis.onset_strength[half].mean()))
    tempo = analysis.tempo_bpm / 2
    frames = analysis.num_frames
    phase = np.nan_to_num(2 * np.pi * beat_phase(kept, frames, tempo))
    features = analysis.features.copy()
    features[:, FEATURE_INDEX["beat"]] = _one_hot(kept, frames)
    features[:, FEATURE_INDEX["beat_phase_sin"]] = np.sin(phase)
    features[:, FEATURE_INDEX["beat_phase_cos"]] = np.cos(phase)
    features[:, FEATURE_INDEX["tempo"]] = tempo / TEMPO_SCALE_BPM
    return MusicFeatures(features, analysis.onset_strength, kept, tempo)


def beat_phase(beat_frames: np.ndarray, num_frames: int, tempo_bpm: float) -> np.ndarray:
    """(T,) position within the beat in [0, 1): 0 on a beat, 0.5 half-way to the next one.

    Between tracked beats the phase grows linearly; before the first and after the last beat it
    continues at the global tempo. NaN everywhere when there is no beat or no tempo.
    """
    t = np.arange(num_frames, dtype=np.float64)
    if len(beat_frames) == 0 or tempo_bpm <= 0:
        return np.full(num_frames, np.nan)
    period = 60.0 * FPS / tempo_bpm  # frames per beat
    first, last = beat_frames[0], beat_frames[-1]
    index = np.interp(t, beat_frames, np.arange(len(beat_frames), dtype=np.float64))
    index = np.where(t < first, (t - first) / period, index)
    index = np.where(t > last, len(beat_frames) - 1 + (t - last) / period, index)
    return np.mod(index, 1.0)


def _refine_tempo(onset: np.ndarray, beats: np.ndarray, bpm: float) -> float:
    """Tempo from a line fitted through sub-frame beat times, beating the 0.5 BPM grid.

    A beat the tracker skipped shows up as an interval of about two beats; rounding intervals
    to whole beats keeps the fit honest across such gaps.
    """
    if len(beats) < 4:
        return bpm
    times = beats + _peak_offsets(onset, beats)  # (B,) frames
    intervals = np.diff(times)
    beats_per_interval = np.maximum(np.round(intervals / np.median(intervals)), 1.0)
    index = np.concatenate([[0.0], np.cumsum(beats_per_interval)])
    frames_per_beat = np.polyfit(index, times, 1)[0]
    return float(60.0 * FPS / frames_per_beat)


def _peak_offsets(onset: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """(B,) sub-frame offset of the onset peak at each frame (parabola through 3 neighbours)."""
    inner = np.clip(frames, 1, len(onset) - 2)
    left, mid, right = onset[inner - 1], onset[inner], onset[inner + 1]
    curvature = left - 2 * mid + right
    is_peak = (curvature < 0) & (mid >= left) & (mid >= right)
    offset = 0.5 * (left - right) / np.where(is_peak, curvature, -1.0)
    return np.where(is_peak & (inner == frames), np.clip(offset, -0.5, 0.5), 0.0)


def _log_mel(audio: np.ndarray) -> np.ndarray:
    """(128, T + 1) log-power mel spectrogram, librosa defaults (n_fft 2048), hop HOP_LENGTH."""
    mel = librosa.feature.melspectrogram(y=audio, sr=SAMPLE_RATE, hop_length=HOP_LENGTH)
    return librosa.power_to_db(mel)


def _onset_envelope(mel_db: np.ndarray, audio: np.ndarray) -> np.ndarray:
    """(T,) librosa onset strength, moved one frame earlier to line up with the attack.

    All zero when the whole clip stays below SILENCE_PEAK: the dB spectrogram would otherwise
    find "onsets" (and beats) in dither or hiss far below hearing.
    """
    num_frames = samples_to_frames(len(audio))
    if np.abs(audio).max() < SILENCE_PEAK:
        return np.zeros(num_frames, np.float32)
    onset = librosa.onset.onset_strength(S=mel_db, sr=SAMPLE_RATE, hop_length=HOP_LENGTH)
    return onset[1 : num_frames + 1].astype(np.float32)  # (T,)


def _chroma(audio: np.ndarray) -> np.ndarray:
    """(12, T + 1) chroma_cens as EDGE computes it (tuning estimated from the audio)."""
    with warnings.catch_warnings():
        # Expected and harmless: silence has no pitch to tune to, and a 1-2 s clip is shorter
        # than the FFT of the lowest, most downsampled constant-Q octaves.
        warnings.filterwarnings("ignore", "Trying to estimate tuning from empty frequency set")
        warnings.filterwarnings("ignore", r"n_fft=\d+ is too large for input signal")
        return librosa.feature.chroma_cens(
            y=audio, sr=SAMPLE_RATE, hop_length=HOP_LENGTH, n_chroma=len(CHROMA_NAMES)
        )


def _one_hot(frames: np.ndarray, num_frames: int) -> np.ndarray:
    out = np.zeros(num_frames, np.float32)
    out[frames[frames < num_frames]] = 1.0
    return out


def _prepare(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """Validate mono audio and bring it to SAMPLE_RATE."""
    audio = np.asarray(audio)
    if not np.issubdtype(audio.dtype, np.floating):
        raise ValueError(f"audio must hold float samples in [-1, 1], got {audio.dtype}: use load_audio")
    audio = audio.astype(np.float32, copy=False)
    if audio.ndim != 1:
        raise ValueError(
            f"audio must be mono with shape (N,), got {audio.shape}: "
            "average the channels or read the file with load_audio"
        )
    if not np.all(np.isfinite(audio)):
        raise ValueError("audio contains NaN or infinite samples: read it with load_audio")
    if sample_rate != SAMPLE_RATE:
        audio = librosa.resample(audio, orig_sr=sample_rate, target_sr=SAMPLE_RATE, res_type="soxr_hq")
    if len(audio) < MIN_SECONDS * SAMPLE_RATE:
        raise ValueError(
            f"audio lasts {len(audio) / SAMPLE_RATE:.2f} s; at least {MIN_SECONDS:g} s is needed"
        )
    return audio


def check_audio_path(path: str | Path) -> Path:
    """The path of an existing, non-empty file with a supported audio suffix (ValueError otherwise)."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"audio file not found: {path}")
    if path.suffix.lower() not in SUPPORTED_EXTENSIONS:
        raise ValueError(
            f"{path.name}: unsupported audio format {path.suffix or '(no extension)'!r}; "
            f"use one of {', '.join(SUPPORTED_EXTENSIONS)} (convert other formats with ffmpeg)"
        )
    if path.stat().st_size == 0:
        raise ValueError(f"{path.name} is empty (0 bytes): export or download the song again")
    return path


def _read_header(path: Path) -> sf._SoundFileInfo:
    try:
        return sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError) as error:
        raise _unreadable(path, error) from error


def _decode(path: Path, header_frames: int) -> np.ndarray:
    """(N, C) float32 samples; refuses a file that ends well before its header says."""
    try:
        samples, _ = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as error:
        raise _unreadable(path, error) from error
    if len(samples) == 0:
        raise _unreadable(path, "no audio samples decoded")
    if len(samples) < TRUNCATION_TOLERANCE * header_frames:
        raise ValueError(
            f"{path.name} is truncated: it decodes to {len(samples)} of the {header_frames} "
            "samples its header promises; export or download the song again"
        )
    return samples


def _unreadable(path: Path, error: Exception | str) -> ValueError:
    detail = str(error)
    if "Error opening" in detail:  # libsndfile's generic failure names the full path and "a pipe?"
        detail = "no known audio header"
    return ValueError(
        f"{path.name} could not be decoded: it is corrupt, truncated or not audio ({detail.rstrip('.')}); "
        f"export it again as {', '.join(SUPPORTED_EXTENSIONS)}"
    )


def _limit_peak(audio: np.ndarray) -> np.ndarray:
    """Scale float audio whose peak exceeds full scale back to 1: the features do not depend on
    loudness, and huge values (a broken float file) would overflow the resampler."""
    peak = float(np.abs(audio).max(initial=0.0))
    return audio / peak if peak > 1.0 else audio


def _duration(seconds: float) -> str:
    return f"{seconds / 60:.1f} minutes" if seconds >= 60 else f"{seconds:.1f} s"


def _repair_nonfinite(audio: np.ndarray, name: str) -> np.ndarray:
    """Zero a few NaN/inf samples (one would poison every STFT frame it touches); refuse many."""
    bad = ~np.isfinite(audio)
    if not bad.any():
        return audio
    fraction = bad.mean()
    if fraction > MAX_NONFINITE_FRACTION:
        raise ValueError(
            f"{name}: {fraction:.1%} of its samples are NaN or infinite (at most "
            f"{MAX_NONFINITE_FRACTION:.0%} can be repaired); the file is broken, export it again"
        )
    logger.warning("%s: zeroed %d NaN/infinite samples", name, int(bad.sum()))
    return np.where(bad, 0.0, audio).astype(np.float32)
