"""The public engine API on a tiny random model: generate, edit, save/load, CLI output."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile
import torch

from dancemosaic import percussion
from dancemosaic.__main__ import main
from dancemosaic.config import ModelConfig
from dancemosaic.dance import Edit, Request
from dancemosaic.engine import DanceEngine
from dancemosaic.model import DanceModel
from dancemosaic.sampling import SamplingOptions
from dancemosaic.timing import SAMPLE_RATE, seconds_to_frames

FAST = SamplingOptions(steps=3)


@pytest.fixture(scope="module")
def song(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("song") / "song.wav"
    audio, _ = percussion.synthesize(120.0, 12.0, seed=3)
    soundfile.write(path, audio, SAMPLE_RATE)
    return str(path)


@pytest.fixture(scope="module")
def dance(engine, song):
    return engine.generate(Request("a person dances salsa", song=song, seed=1), FAST)


def test_generate_covers_the_song_and_is_seeded(engine, song, dance):
    assert dance.motion.num_frames == seconds_to_frames(12.0)
    assert dance.joints().shape == (360, 24, 3) and np.isfinite(dance.joints()).all()
    again = engine.generate(Request("a person dances salsa", song=song, seed=1), FAST)
    other = engine.generate(Request("a person dances salsa", song=song, seed=2), FAST)
    assert torch.equal(again.codes, dance.codes) and not torch.equal(other.codes, dance.codes)


def test_long_songs_are_generated_in_windows(engine):
    long = engine.generate(Request("a person dances", duration=30.0), FAST)  # 225 tokens, window 32
    assert long.codes.shape[0] == 225 and long.motion.num_frames == 900


def test_the_seams_of_a_long_song_are_healed_in_one_batched_decoding(engine, monkeypatch):
    from dancemosaic import editing

    batches = []

    def counted(model, cond, num_tokens, *args, **kwargs):
        batches.append(cond.text.shape[0])
        return decode_tokens(model, cond, num_tokens, *args, **kwargs)

    decode_tokens = editing.decode_tokens
    monkeypatch.setattr(editing, "decode_tokens", counted)
    long = engine.generate(Request("a person dances", duration=30.0), FAST)  # 225 tokens, window 32
    first_pass, heal = batches[:-1], batches[-1]
    assert set(first_pass) == {1} and heal == len(first_pass) - 1  # one window per seam, one call
    assert long.codes.shape[0] == 225 and np.isfinite(long.joints()).all()


def test_inbetweening_keeps_every_token_outside_the_span(engine, dance):
    edited = engine.edit(dance, Edit(4.0, 8.0, text="a person jumps", seed=5), FAST)
    changed = (edited.codes != dance.codes).any(dim=1).nonzero().flatten()
    assert len(changed) > 0 and changed.min() >= 30 and changed.max() < 60  # tokens 30-59 = 4-8 s
    assert [s.text for s in edited.segments] == [
        "a person dances salsa",
        "a person jumps",
        "a person dances salsa",
    ]
    assert edited.parent is dance


def test_outpainting_extends_up_to_the_song_end(engine, song):
    short = engine.generate(Request("a person dances", song=song, duration=6.0), FAST)
    longer = engine.edit(short, Edit(6.0, 60.0), FAST)  # asks past the song: stops at its end
    assert longer.motion.num_frames == 360
    assert torch.equal(longer.codes[:45], short.codes[:45])


def test_body_part_editing_holds_the_kept_joints(engine, dance):
    lower = (0, 1, 2, 4, 5, 7, 8, 10, 11)
    edited = engine.edit(dance, Edit(2.0, 6.0, joints=lower), FAST)
    assert edited.kept_error is not None and edited.kept_error < 0.01  # measured, world space


def test_bad_edits_say_what_to_change(engine, dance):
    with pytest.raises(ValueError, match="after the song ends"):
        engine.edit(dance, Edit(30.0, 40.0))
    with pytest.raises(ValueError, match="end after it starts"):
        Edit(5.0, 5.0)
    with pytest.raises(ValueError, match="describe the dance"):
        Request("   ", duration=3.0)


def test_save_and_load_give_the_same_dance(engine, song, tmp_path):
    engine.save_pretrained(tmp_path / "ckpt", half=False)
    loaded = DanceEngine.from_pretrained(tmp_path / "ckpt")
    request = Request("a person dances", song=song, seed=4)
    assert torch.equal(loaded.generate(request, FAST).codes, engine.generate(request, FAST).codes)


def test_decoding_shows_the_transformers_no_more_tokens_than_their_training_window(song, tmp_path):
    """Positions past the training window keep random embeddings: a window longer than the
    one trained on is a window of noise (the starter decoded 128-token windows, trained on 40)."""
    trained = DanceEngine.from_config(ModelConfig.tiny(), seed=0)
    trained.model.window = 12
    engine = DanceEngine.from_pretrained(trained.save_pretrained(tmp_path / "ckpt"))
    assert engine.model.window == 12
    seen = []
    for network in (engine.model.masked, engine.model.residual):
        network.register_forward_pre_hook(lambda module, args: seen.append(args[0].shape[1]))
    dance = engine.generate(Request("a person dances", song=song, seed=0, duration=6.0), FAST)
    assert max(seen) == 12 < ModelConfig.tiny().transformer.max_tokens
    assert dance.codes.shape[0] == 45 and np.isfinite(dance.joints()).all()
    with pytest.raises(ValueError, match="does not fit"):
        DanceModel(ModelConfig.tiny(), 64, window=33)


def test_generate_cli_writes_npz_and_bvh(engine, song, tmp_path):
    engine.save_pretrained(tmp_path / "ckpt")
    args = ["generate", song, "--text", "a person dances", "--out", str(tmp_path / "out"), "--steps", "2"]
    assert main([*args, "--checkpoint", str(tmp_path / "ckpt"), "--duration", "4"]) == 0
    with np.load(tmp_path / "out" / "song.npz", allow_pickle=False) as data:
        assert data["joints"].shape == (120, 24, 3) and float(data["fps"]) == 30
        assert data["smpl_poses"].shape == (120, 72) and data["smpl_trans"].shape == (120, 3)
    assert (tmp_path / "out" / "song.bvh").read_text().startswith("HIERARCHY")


def test_the_shipped_starter_checkpoint_dances(song):
    from dancemosaic.engine import DEFAULT_CHECKPOINT

    engine = DanceEngine.from_pretrained(DEFAULT_CHECKPOINT)  # offline: MiniLM ships in its package
    dance = engine.generate(Request("a person dances salsa", song=song, seed=0, duration=3.0), FAST)
    joints = dance.joints()
    assert joints.shape == (90, 24, 3) and np.isfinite(joints).all()
    assert 1.0 < joints[..., 1].max() - joints[..., 1].min() < 2.5  # a body-sized figure


def test_an_edit_without_text_keeps_the_prompt_of_its_segment(engine, dance):
    jump = engine.edit(dance, Edit(4.0, 8.0, text="a person jumps"), FAST)
    again = engine.edit(jump, Edit(5.0, 6.0), FAST)
    assert [s.text for s in again.segments if s.start <= 5.0 < s.end] == ["a person jumps"]
