"""Music loading, per-frame features, tempo and beats, and the percussion synthesiser.

Every clip is synthesised here (clicks, percussion loops, sines), so the tests need no data files.
"""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from dancemosaic import music, percussion
from dancemosaic.timing import FPS, SAMPLE_RATE, samples_to_frames

SECONDS = 12.0


def _inner(times: np.ndarray, seconds: float) -> np.ndarray:
    """Beat times away from the first and last second, where trackers lack context."""
    return times[(times > 1.0) & (times < seconds - 1.0)]


def _assert_beats_match(beat_frames: np.ndarray, true_times: np.ndarray, seconds: float, tol: float) -> None:
    truth = _inner(true_times, seconds) * FPS  # (K,) in frames
    found = beat_frames[(beat_frames > FPS) & (beat_frames < (seconds - 1.0) * FPS)]
    missed = [t for t in truth if np.min(np.abs(beat_frames - t)) > tol]
    extra = [f for f in found if np.min(np.abs(true_times * FPS - f)) > tol]
    assert not missed and not extra, f"missed beats at frames {missed}, spurious beats at {extra}"


def _write(path, audio: np.ndarray, sample_rate: int) -> None:
    sf.write(str(path), audio, sample_rate)


@pytest.mark.parametrize("bpm", [70, 80, 100, 120, 128, 150, 174, 180])
def test_click_track_tempo_within_2_percent_and_beats_within_a_frame(bpm):
    audio, times = percussion.click_track(bpm, SECONDS, offset=0.37)
    feats = music.extract_features(audio)
    assert feats.tempo_bpm == pytest.approx(bpm, rel=0.02)
    _assert_beats_match(feats.beat_frames, times, SECONDS, tol=1.0)


@pytest.mark.parametrize(
    ("style", "bpm"), [("four_on_floor", 124), ("breakbeat", 172), ("clave", 96), ("hiphop", 88)]
)
def test_percussion_tempo_and_beats_are_detected(style, bpm):
    assert set(percussion.STYLES) == {"four_on_floor", "breakbeat", "clave", "hiphop"}  # all covered
    audio, times = percussion.synthesize(bpm, 10.0, style=style, seed=3)
    feats = music.extract_features(audio)
    assert feats.tempo_bpm == pytest.approx(bpm, rel=0.02)
    # Drums ring for a while, so their onset peak can land a frame after the hit: allow the usual
    # beat-tracking tolerance of 70 ms (2 frames).
    _assert_beats_match(feats.beat_frames, times, 10.0, tol=2.0)


def test_percussion_is_deterministic_per_seed():
    a, beats_a = percussion.synthesize(120, 4.0, style="breakbeat", seed=7)
    b, beats_b = percussion.synthesize(120, 4.0, style="breakbeat", seed=7)
    c, _ = percussion.synthesize(120, 4.0, style="breakbeat", seed=8)
    assert a.dtype == np.float32 and a.shape == (4 * SAMPLE_RATE,)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(beats_a, beats_b)
    assert not np.array_equal(a, c)
    np.testing.assert_allclose(beats_a, np.arange(8) * 0.5)
    assert np.abs(a).max() == pytest.approx(percussion.PEAK, rel=1e-4)


def test_percussion_rejects_bad_arguments():
    with pytest.raises(ValueError, match="unknown style 'polka'; choose one of"):
        percussion.synthesize(120, 4.0, style="polka")
    with pytest.raises(ValueError, match="bpm must be between"):
        percussion.click_track(5, 4.0)
    with pytest.raises(ValueError, match="seconds must be positive"):
        percussion.synthesize(120, 0.0)
    with pytest.raises(ValueError, match=r"offset must lie in \[0, seconds\)"):
        percussion.click_track(120, 4.0, offset=5.0)


@pytest.mark.parametrize("samples", [3 * SAMPLE_RATE, 3 * SAMPLE_RATE + 511, 3 * SAMPLE_RATE + 1])
def test_features_have_one_finite_row_per_motion_frame(samples):
    audio = percussion.synthesize(110, samples / SAMPLE_RATE, style="clave", seed=1)[0][:samples]
    feats = music.extract_features(audio)
    assert feats.features.shape == (samples_to_frames(samples), music.FEATURE_DIM)
    assert feats.features.dtype == np.float32 and np.isfinite(feats.features).all()
    assert feats.onset_strength.shape == (feats.num_frames,)
    assert feats.beat_frames.dtype == np.int64 and np.all(np.diff(feats.beat_frames) > 0)
    beat = feats.features[:, music.FEATURE_INDEX["beat"]]
    np.testing.assert_array_equal(np.flatnonzero(beat), feats.beat_frames)
    np.testing.assert_allclose(feats.features[feats.beat_frames, music.FEATURE_INDEX["beat_phase_cos"]], 1.0)
    np.testing.assert_allclose(feats.features[:, music.FEATURE_INDEX["tempo"]], feats.tempo_bpm / 120.0)
    np.testing.assert_array_equal(feats.features[:, 0], feats.onset_strength)


def test_feature_layout_constants():
    assert len(music.FEATURE_NAMES) == music.FEATURE_DIM == len(set(music.FEATURE_NAMES))
    assert music.BASELINE_DIM == 35 and music.FEATURE_NAMES[music.BASELINE_DIM - 1] == "beat"
    assert music.FEATURE_NAMES[1:21] == tuple(f"mfcc_{i}" for i in range(20))
    assert music.FEATURE_NAMES[21] == "chroma_C" and music.FEATURE_NAMES[33] == "onset_peak"


def test_music_beats_are_the_feature_beats():
    audio, _ = percussion.click_track(128, 6.0)
    feats = music.extract_features(audio)
    np.testing.assert_array_equal(music.music_beats(audio), feats.beat_frames)
    assert music.music_beats(feats) is feats.beat_frames


def test_silence_has_no_beats_and_finite_features():
    feats = music.extract_features(np.zeros(3 * SAMPLE_RATE, np.float32))
    assert feats.tempo_bpm == 0.0 and len(feats.beat_frames) == 0
    assert np.isfinite(feats.features).all()
    phase = feats.features[:, music.FEATURE_INDEX["beat_phase_sin"] :]
    np.testing.assert_array_equal(phase, 0.0)  # sin, cos and tempo all 0: "no beat"
    assert len(music.music_beats(np.zeros(2 * SAMPLE_RATE, np.float32))) == 0


def test_features_resample_other_rates():
    audio, times = percussion.click_track(120, 6.0, offset=0.2, sample_rate=22050)
    feats = music.extract_features(audio, sample_rate=22050)
    assert abs(feats.num_frames - 6.0 * FPS) <= 1
    assert feats.tempo_bpm == pytest.approx(120, rel=0.02)


def test_beat_phase_interpolates_and_extrapolates():
    phase = music.beat_phase(np.array([10, 20, 30]), 40, tempo_bpm=180.0)  # 10 frames per beat
    np.testing.assert_allclose(phase[[5, 10, 15, 25, 30, 35]], [0.5, 0.0, 0.5, 0.5, 0.0, 0.5])
    assert np.isnan(music.beat_phase(np.zeros(0, np.int64), 5, 0.0)).all()


@pytest.mark.parametrize("ext", ["wav", "ogg", "flac", "mp3"])
def test_every_format_loads_with_the_right_duration(tmp_path, ext):
    audio, _ = percussion.synthesize(120, 3.0, seed=0, sample_rate=44100)
    path = tmp_path / f"song.{ext}"
    _write(path, np.stack([audio, audio], axis=1), 44100)  # stereo, 44.1 kHz
    loaded = music.load_audio(path)
    assert loaded.dtype == np.float32 and loaded.ndim == 1
    assert len(loaded) == pytest.approx(3.0 * SAMPLE_RATE, abs=0.01 * SAMPLE_RATE)
    assert 0.3 < np.abs(loaded).max() < 1.2


@pytest.mark.parametrize(("channels", "rate"), [(2, 44100), (5, 8000), (1, SAMPLE_RATE)])
def test_channels_are_mixed_down_and_resampled(tmp_path, channels, rate):
    t = np.arange(2 * rate) / rate
    tone = 0.5 * np.sin(2 * np.pi * 440.0 * t)
    multi = np.zeros((len(t), channels))
    multi[:, 0] = tone  # only the first channel sounds: the mix is tone / channels
    _write(tmp_path / "tone.wav", multi, rate)
    loaded = music.load_audio(tmp_path / "tone.wav")
    assert len(loaded) == pytest.approx(2 * SAMPLE_RATE, abs=2)
    assert np.abs(loaded[1000:-1000]).max() == pytest.approx(0.5 / channels, rel=0.02)
    spectrum = np.abs(np.fft.rfft(loaded))
    assert np.fft.rfftfreq(len(loaded), 1 / SAMPLE_RATE)[spectrum.argmax()] == pytest.approx(440, abs=1)


def test_load_audio_error_messages(tmp_path):
    with pytest.raises(ValueError, match="audio file not found"):
        music.load_audio(tmp_path / "missing.wav")
    (tmp_path / "empty.mp3").write_bytes(b"")
    with pytest.raises(ValueError, match=r"empty \(0 bytes\)"):
        music.load_audio(tmp_path / "empty.mp3")
    (tmp_path / "notes.wav").write_text("these are not audio samples " * 20)
    with pytest.raises(ValueError, match="could not be decoded"):
        music.load_audio(tmp_path / "notes.wav")
    (tmp_path / "song.m4a").write_bytes(b"\0" * 100)
    with pytest.raises(ValueError, match=r"unsupported audio format '\.m4a'; use one of \.wav, \.flac"):
        music.load_audio(tmp_path / "song.m4a")
    _write(tmp_path / "blip.wav", np.zeros(SAMPLE_RATE // 2), SAMPLE_RATE)
    with pytest.raises(ValueError, match=r"0\.50 s of audio; songs must last at least 1 s"):
        music.load_audio(tmp_path / "blip.wav")


@pytest.mark.parametrize(("ext", "keep"), [("flac", 0.5), ("mp3", 0.5), ("ogg", 0.02), ("wav", 0.0001)])
def test_truncated_files_are_refused(tmp_path, ext, keep):
    """Cut files: flac loses sync, mp3 falls short of its header; an Ogg or WAV cut inside its headers.

    (Ogg has no length field and libsndfile shortens a cut WAV's length to match, so a file cut in the
    middle of the audio is indistinguishable from a shorter song: it loads.)
    """
    audio, _ = percussion.synthesize(120, 4.0, seed=0, sample_rate=44100)
    whole = tmp_path / f"whole.{ext}"
    _write(whole, audio, 44100)
    cut = tmp_path / f"cut.{ext}"
    cut.write_bytes(whole.read_bytes()[: int(whole.stat().st_size * keep)])
    with pytest.raises(ValueError, match="truncated"):
        music.load_audio(cut)


def test_too_long_is_refused_from_the_header(tmp_path, monkeypatch):
    _write(tmp_path / "long.flac", np.zeros(3 * SAMPLE_RATE), SAMPLE_RATE)

    def no_decoding(*args, **kwargs):
        raise AssertionError("the whole file was decoded before its length was checked")

    monkeypatch.setattr(music.sf, "read", no_decoding)
    with pytest.raises(ValueError, match=r"lasts 3\.0 s; songs may last at most 2\.0 s: trim it first"):
        music.load_audio(tmp_path / "long.flac", max_seconds=2.0)


def test_nonfinite_samples_are_repaired_when_few_and_refused_when_many(tmp_path):
    audio, _ = percussion.synthesize(120, 2.0, seed=0)
    audio[[100, 5000]] = [np.nan, np.inf]
    sf.write(str(tmp_path / "glitch.wav"), audio, SAMPLE_RATE, subtype="FLOAT")
    loaded = music.load_audio(tmp_path / "glitch.wav")
    assert np.isfinite(loaded).all() and loaded[100] == 0.0
    sf.write(str(tmp_path / "nan.wav"), np.full(2 * SAMPLE_RATE, np.nan, np.float32), SAMPLE_RATE, "FLOAT")
    with pytest.raises(ValueError, match=r"100\.0% of its samples are NaN or infinite"):
        music.load_audio(tmp_path / "nan.wav")


def test_extract_features_rejects_unusable_arrays():
    with pytest.raises(ValueError, match=r"mono with shape \(N,\)"):
        music.extract_features(np.zeros((2, 2 * SAMPLE_RATE), np.float32))
    with pytest.raises(ValueError, match="NaN or infinite"):
        music.extract_features(np.full(2 * SAMPLE_RATE, np.nan, np.float32))
    with pytest.raises(ValueError, match="at least 1 s is needed"):
        music.extract_features(np.zeros(SAMPLE_RATE // 4, np.float32))
    with pytest.raises(ValueError, match="float samples in \\[-1, 1\\], got int16"):
        music.extract_features(np.zeros(2 * SAMPLE_RATE, np.int16))


def test_fast_songs_are_danced_on_the_accented_half_of_their_beats():
    audio, _ = percussion.click_track(176.0, 12.0)
    fast = music.extract_features(audio)
    assert fast.tempo_bpm > music.HALF_TIME_ABOVE_BPM
    onset = fast.onset_strength.copy()
    onset[fast.beat_frames[1::2]] += 1.0  # make the odd beats the accented ones
    accented = music.MusicFeatures(fast.features, onset, fast.beat_frames, fast.tempo_bpm)
    danced = music.danced_beats(accented)
    np.testing.assert_array_equal(danced.beat_frames, fast.beat_frames[1::2])
    assert danced.tempo_bpm == pytest.approx(fast.tempo_bpm / 2)
    channel = music.FEATURE_INDEX
    np.testing.assert_array_equal(np.flatnonzero(danced.features[:, channel["beat"]]), danced.beat_frames)
    on_beat = danced.features[danced.beat_frames, channel["beat_phase_cos"]]
    np.testing.assert_allclose(on_beat, 1.0, atol=1e-6)  # phase 0 on every kept beat
    assert danced.features[0, channel["tempo"]] == pytest.approx(fast.features[0, channel["tempo"]] / 2)
    sound = slice(0, channel["onset_peak"] + 1)
    np.testing.assert_array_equal(danced.features[:, sound], fast.features[:, sound])


def test_songs_at_ordinary_tempos_are_danced_on_every_beat():
    audio, _ = percussion.click_track(120.0, 8.0)
    analysis = music.extract_features(audio)
    assert music.danced_beats(analysis) is analysis
