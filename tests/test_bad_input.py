"""Bad input gets one clear line that says what to change, through the engine, the CLI and the
studio, and never changes a session's history. Property-based tests cover the audio loader and
request validation (the BVH reader's are in test_bvh.py)."""

from __future__ import annotations

import json
import shutil
import struct
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dancemosaic import music, percussion
from dancemosaic.__main__ import main
from dancemosaic.dance import Edit, Request
from dancemosaic.engine import DanceEngine
from dancemosaic.sampling import SamplingOptions
from dancemosaic.studio.service import Controls, Studio, check_ranges
from dancemosaic.studio.session import SessionStore
from dancemosaic.text import MAX_PROMPT_CHARS
from dancemosaic.timing import SAMPLE_RATE

FAST = SamplingOptions(steps=2)


@pytest.fixture(scope="module")
def checkpoint(engine, tmp_path_factory) -> str:
    return str(engine.save_pretrained(tmp_path_factory.mktemp("ckpt") / "tiny"))


def sparse_wav(path, seconds: float, rate: int = 44100, channels: int = 2) -> None:
    """A real-length 16-bit WAV without writing its samples (a sparse file of zeros)."""
    data = int(seconds * rate) * channels * 2
    header = b"RIFF" + struct.pack("<I", 36 + data) + b"WAVEfmt "
    header += struct.pack("<IHHIIHH", 16, 1, channels, rate, rate * channels * 2, channels * 2, 16)
    header += b"data" + struct.pack("<I", data)
    with open(path, "wb") as handle:
        handle.write(header)
        handle.truncate(len(header) + data)


def bad_songs(tmp_path) -> dict[str, tuple[str, str]]:
    """name -> (file, a phrase the error must contain)."""
    song, _ = percussion.synthesize(120.0, 4.0)
    (tmp_path / "empty.wav").write_bytes(b"")
    (tmp_path / "corrupt.mp3").write_bytes(np.random.default_rng(0).bytes(4000))
    soundfile.write(tmp_path / "full.wav", song, SAMPLE_RATE)
    (tmp_path / "truncated.flac").write_bytes(b"")
    soundfile.write(tmp_path / "whole.flac", song, SAMPLE_RATE)
    (tmp_path / "truncated.flac").write_bytes((tmp_path / "whole.flac").read_bytes()[:3000])
    (tmp_path / "song.exe").write_bytes(b"MZ")
    soundfile.write(tmp_path / "short.wav", song[: SAMPLE_RATE // 10], SAMPLE_RATE)
    sparse_wav(tmp_path / "two-hours.wav", 7200.0)
    noisy = song.copy()
    noisy[::3] = np.nan
    soundfile.write(tmp_path / "nan.wav", noisy, SAMPLE_RATE, subtype="FLOAT")
    return {
        "empty": ("empty.wav", "empty"),
        "corrupt": ("corrupt.mp3", "could not be decoded"),
        "truncated": ("truncated.flac", "truncated"),
        "wrong extension": ("song.exe", "unsupported audio format"),
        "0.1 s clip": ("short.wav", "at least 1 s"),
        "2-hour file": ("two-hours.wav", "at most 20.0 minutes"),
        "NaN samples": ("nan.wav", "NaN"),
    }


@pytest.fixture(scope="module")
def songs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("songs")
    return folder, bad_songs(folder)


CASES = ["empty", "corrupt", "truncated", "wrong extension", "0.1 s clip", "2-hour file", "NaN samples"]


def one_line(err: BaseException) -> str:
    message = str(err)
    assert "\n" not in message and len(message) < 400, message
    return message


@pytest.mark.parametrize("case", CASES)
def test_bad_songs_are_refused_by_the_engine_with_one_line(engine, songs, case):
    folder, table = songs
    name, phrase = table[case]
    started = time.perf_counter()
    with pytest.raises(ValueError) as err:
        engine.generate(Request("a person dances", song=str(folder / name)), FAST)
    assert phrase.lower() in one_line(err.value).lower()
    assert time.perf_counter() - started < 5.0  # the 2-hour file is judged from its header


@pytest.mark.parametrize("case", CASES)
def test_bad_songs_exit_the_cli_with_status_2_and_no_traceback(checkpoint, songs, case, capsys, tmp_path):
    folder, table = songs
    name, phrase = table[case]
    status = main(["generate", str(folder / name), "--text", "a dance", "--checkpoint", checkpoint,
                   "--out", str(tmp_path), "--steps", "1"])  # fmt: skip
    err = capsys.readouterr().err.strip()
    assert status == 2 and err.startswith("error:") and "Traceback" not in err
    assert phrase.lower() in err.splitlines()[-1].lower() and len(err.splitlines()) == 1


@pytest.mark.parametrize("case", CASES)
def test_bad_songs_leave_the_studio_session_as_it_was(engine, songs, case, tmp_path):
    folder, table = songs
    studio, session = Studio(engine), SessionStore(tmp_path).get("s")
    first = studio.generate(session, folder / "full.wav", "a person dances", Controls(steps=1))
    name, phrase = table[case]
    with pytest.raises(ValueError, match="(?i)" + phrase):
        studio.generate(session, folder / name, "a person dances", Controls(steps=1))
    assert session.history.dance is first and len(session.history.versions) == 1


def test_odd_rates_many_channels_and_silence_still_dance(engine, tmp_path):
    song, _ = percussion.synthesize(110.0, 3.0, sample_rate=11025)
    soundfile.write(tmp_path / "odd.wav", np.tile(song[:, None], (1, 6)), 11025)  # 6 channels, 11.025 kHz
    soundfile.write(tmp_path / "silence.wav", np.zeros(3 * 96000, np.float32), 96000)
    for name in ("odd.wav", "silence.wav"):
        dance = engine.generate(Request("a person dances", song=str(tmp_path / name)), FAST)
        assert dance.duration == pytest.approx(3.0, abs=0.05) and np.isfinite(dance.joints()).all()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", None),
        ("   \t\n ", None),
        ("x" * 10_000, "x" * MAX_PROMPT_CHARS),
        ("一个人在跳舞 💃", "一个人在跳舞 💃"),
        ("a person\x00 dances\x1b[31m salsa\u200b", "a person dances [31m salsa"),
    ],
)
def test_prompts_are_cleaned_or_refused(text, expected):
    if expected is None:
        with pytest.raises(ValueError, match="describe the dance"):
            Request(text, duration=4.0)
    else:
        assert Request(text, duration=4.0).text == expected


def test_wrong_checkpoints_say_what_is_wrong(checkpoint, tmp_path):
    source = json.loads((Path(checkpoint) / "config.json").read_text())
    changes = [
        ({"format_version": 7}, "format 7"),
        ({"model": {**source["model"], "text_encoder": "word2vec"}}, "word2vec"),
        ({"model": {**source["model"], "text_encoder": "minilm-l6-v2"}}, "text embeddings"),  # 64-d model
    ]
    for i, (change, phrase) in enumerate(changes):
        broken = tmp_path / f"broken-{i}"
        broken.mkdir()
        shutil.copyfile(Path(checkpoint) / "model.safetensors", broken / "model.safetensors")
        (broken / "config.json").write_text(json.dumps({**source, **change}))
        with pytest.raises(ValueError, match=phrase) as err:
            DanceEngine.from_pretrained(broken)
        one_line(err.value)


# Property-based: the audio loader and request validation answer anything with a value or a ValueError.


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=2048), suffix=st.sampled_from([".wav", ".ogg", ".flac", ".mp3"]))
def test_audio_loader_never_fails_other_than_with_a_value_error(tmp_path, data, suffix):
    path = tmp_path / f"fuzz{suffix}"
    path.write_bytes(data)
    try:
        audio = music.load_audio(path)
    except ValueError as err:
        one_line(err)
    else:
        assert audio.ndim == 1 and np.isfinite(audio).all()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(samples=st.lists(st.floats(allow_nan=True, allow_infinity=True, width=32), min_size=1, max_size=64),
       rate=st.integers(1000, 192000), channels=st.integers(1, 8))  # fmt: skip
def test_audio_loader_on_arbitrary_sample_values(tmp_path, samples, rate, channels):
    frames = np.resize(np.array(samples, np.float32), (max(rate * 11 // 10, 1), channels))
    soundfile.write(tmp_path / "fuzz.wav", frames, rate, subtype="FLOAT")
    try:
        audio = music.load_audio(tmp_path / "fuzz.wav")
    except ValueError as err:
        one_line(err)
    else:
        assert np.isfinite(audio).all() and abs(len(audio) / SAMPLE_RATE - len(frames) / rate) < 0.01


@given(
    text=st.text(max_size=300), start=st.floats(-10, 700), end=st.floats(-10, 700), joint=st.integers(-5, 30)
)
def test_requests_and_edits_validate_any_values(text, start, end, joint):
    try:
        request = Request(text, duration=10.0)
    except ValueError as err:
        one_line(err)
    else:
        assert request.text and request.text == request.text.strip() and len(request.text) <= MAX_PROMPT_CHARS
    try:
        edit = Edit(start, end, joints=(joint,))
    except ValueError as err:
        one_line(err)
    else:
        assert 0 <= edit.start < edit.end and 0 <= joint < 22


@given(st.lists(st.tuples(st.floats(-5, 40), st.floats(-5, 40)), max_size=5), st.floats(1, 30))
def test_segment_checks_return_ordered_disjoint_spans_inside_the_dance(ranges, duration):
    try:
        checked = check_ranges(ranges, duration)
    except ValueError as err:
        one_line(err)
        return
    assert all(0 <= s < e <= duration for s, e in checked)
    assert all(a[1] <= b[0] for a, b in zip(checked, checked[1:], strict=False))


def test_generation_is_unchanged_by_a_failed_request_before_it(engine, songs):
    folder, table = songs
    before = engine.generate(Request("a person dances", song=str(folder / "full.wav"), seed=5), FAST)
    with pytest.raises(ValueError):
        engine.generate(Request("a person dances", song=str(folder / table["corrupt"][0]), seed=5), FAST)
    after = engine.generate(Request("a person dances", song=str(folder / "full.wav"), seed=5), FAST)
    assert torch.equal(before.codes, after.codes)


@pytest.mark.parametrize("flag, value", [("--recipe", "fast"), ("--stages", "decoder")])
def test_unknown_training_recipes_and_stages_name_the_known_ones(flag, value, capsys, tmp_path):
    from dancemosaic.recipe import RECIPES, STAGES

    status = main(["train", "--cache", str(tmp_path), "--out", str(tmp_path / "run"), flag, value])
    known, err = RECIPES if flag == "--recipe" else STAGES, capsys.readouterr().err
    assert status == 2 and all(name in err for name in known)
