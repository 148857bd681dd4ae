"""`python -m dancemosaic prepare` and `evaluate` end to end on a tiny data folder in the shared layout."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import soundfile
import torch

from dancemosaic import mocap, percussion
from dancemosaic.__main__ import main
from dancemosaic.datasets import labels, pairs
from dancemosaic.datasets.corpus import load_index, load_motion
from dancemosaic.timing import SAMPLE_RATE
from tests.test_pairing import swinging_dance

CLIPS = {
    "bandai_ds1/dataset-1_raise-up-left-hand_happy_001.bvh": 0.50,
    "bandai_ds1/dataset-1_dance-short_normal_001.bvh": 0.45,
    "cmu_salsa/60_01_scaled.bvh": 0.55,
    "cmu_salsa/60_14_scaled.bvh": 0.60,  # held out
}


@pytest.fixture(scope="module")
def data_folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    for relative, period in CLIPS.items():
        path = root / "mocap" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        mocap.export_bvh(swinging_dance(seconds=8, beat_period=period, fps=60.0), path)
    (root / "mocap" / "cmu_index.csv").write_text(
        '"Subject","Trial #","Motion Description"\n60,1,"salsa dance"\n60,14,"salsa dance"\n'
    )
    (root / "music").mkdir()
    for name, bpm in (("train_song", 112.0), ("test_song", 126.0)):
        audio, _ = percussion.synthesize(bpm, 20.0, seed=1)
        soundfile.write(root / "music" / f"{name}.ogg", audio, SAMPLE_RATE)
    (root / "splits").mkdir()
    (root / "splits" / "test.txt").write_text(
        "# held out\nmocap/cmu_salsa/60_14_scaled.bvh\nmusic/test_song.ogg\n"
    )
    return root


@pytest.fixture(scope="module")
def prepared(data_folder, tmp_path_factory):
    cache = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as patch:  # two short synthetic tracks keep the test fast
        patch.setattr(pairs, "SYNTH_TEMPOS", (100, 120))
        patch.setattr(pairs, "SYNTH_SECONDS", 20.0)
        assert main(["prepare", "--data", str(data_folder), "--cache", str(cache), "--workers", "1"]) == 0
    return cache


def test_prepare_splits_mirrors_and_labels(prepared):
    clips = {c["name"]: c for c in load_index(prepared)["clips"]}
    held_out = clips["cmu_salsa/60_14_scaled"]
    assert held_out["split"] == "test" and "cmu_salsa/60_14_scaled-mirror" not in clips
    assert sum(c["split"] == "train" for c in clips.values()) == 6  # 3 clips + their mirrors
    raise_left = clips["bandai_ds1/dataset-1_raise-up-left-hand_happy_001"]
    assert raise_left["text"] == "a person raises the left hand happily"
    assert clips[raise_left["name"] + "-mirror"]["text"] == "a person raises the right hand happily"
    assert clips["cmu_salsa/60_01_scaled"]["text"] == "a person dances salsa"
    motion = load_motion(prepared, held_out)
    assert motion.fps == 30 and motion.num_frames == 240  # 8 s at 60 fps, resampled
    assert abs(float(motion.joints()[..., 1].min())) < 1e-5  # floor at y = 0


def test_pairs_use_training_music_only_and_align_beats(prepared):
    built = json.loads((prepared / "pairs.json").read_text())
    assert "test_song" not in built["tracks"] and "train_song" in built["tracks"]
    assert {p["clip"].removesuffix("-mirror") for p in built["pairs"]} <= {
        name.removesuffix(".bvh") for name in CLIPS if "60_14" not in name
    }
    summary = json.loads((prepared / "pairs_summary.json").read_text())
    assert summary["pairs"] >= 6
    assert summary["BAS"] > summary["BAS_unaligned"] + 0.1


def test_evaluate_prints_the_reference_row(prepared, data_folder, capsys):
    assert main(["evaluate", "--cache", str(prepared), "--data", str(data_folder), "--json"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["n_generated"] >= 1 and row["n_reference"] >= 3
    assert np.isfinite(row["Div_k"]) and np.isfinite(row["PFC"])
    assert row["train_pairs_BAS"] > row["train_pairs_BAS_unaligned"]
    assert "BAS_heldout_track_pairs" in row


def test_cli_reports_a_missing_folder_in_one_line(tmp_path, capsys):
    assert main(["prepare", "--data", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "\n" not in err and "nowhere" in err


def test_evaluate_without_a_cache_says_how_to_build_it(tmp_path, capsys):
    assert main(["evaluate", "--cache", str(tmp_path)]) == 2
    assert "python -m dancemosaic prepare" in capsys.readouterr().err


def test_prompts_from_labels():
    assert labels.bandai_prompt("dataset-2_walk-turn-left_elderly_010") == (
        "a person walks and turns left like an elderly person"
    )
    assert (
        labels.cmu_prompt("dance - small jetes, pirouette")
        == "a person dances ballet: small jetes, pirouette"
    )
    assert labels.mirror_prompt("a person waves the left hand, then the right") == (
        "a person waves the right hand, then the left"
    )
    with pytest.raises(ValueError, match="Bandai"):
        labels.bandai_prompt("not_a_bandai_name")


def test_labelled_bvh_folder(tmp_path, caplog):
    from dancemosaic.datasets.bvh_folder import read_bvh_folder

    dance = swinging_dance(seconds=2, beat_period=0.5)
    mocap.export_bvh(dance, tmp_path / "take_01.bvh")
    mocap.export_bvh(dance, tmp_path / "side_step_02.bvh")
    (tmp_path / "broken.bvh").write_text("HIERARCHY\nROOT pelvis\n{\n")
    (tmp_path / "labels.csv").write_text("file,text\ntake_01.bvh,a person dances hip-hop\n")
    clips = {clip.name: clip for clip in read_bvh_folder(tmp_path, source="mine")}
    assert clips["mine/take_01"].text == "a person dances hip-hop"
    assert clips["mine/side_step_02"].text == "a person side step"
    assert "mine/broken" not in clips and "broken.bvh" in caplog.text
    assert clips["mine/take_01"].motion.num_frames == 60


def test_training_recipe_runs_every_stage_and_resumes(prepared, tmp_path):
    from dancemosaic.config import ModelConfig
    from dancemosaic.recipe import STAGES, Recipe, train
    from dancemosaic.train import StageOptions

    def recipe(steps: int) -> Recipe:
        options = StageOptions(steps=steps, batch=4, window=8, save_every=2)
        return Recipe(*(options for _ in STAGES))

    train(prepared, tmp_path, ModelConfig.tiny(), recipe(2))
    train(prepared, tmp_path, ModelConfig.tiny(), recipe(3))  # resumes: only step 3 runs again
    for stage in STAGES:
        steps = [
            json.loads(line)["step"] for line in (tmp_path / stage / "log.jsonl").read_text().splitlines()
        ]
        assert steps == [1, 2, 3], stage
        assert (tmp_path / stage / "model.safetensors").is_file()
    smallest_normal = np.finfo(np.float64).tiny  # training flushes denormals, then gives IEEE floats back
    assert smallest_normal / 2 > 0


def test_fine_tuning_starts_every_stage_from_the_given_checkpoint(prepared, tmp_path):
    from dancemosaic.config import ModelConfig
    from dancemosaic.engine import DanceEngine
    from dancemosaic.recipe import STAGES, Recipe, train
    from dancemosaic.train import StageOptions

    trained = DanceEngine.from_config(ModelConfig.tiny(), seed=3)
    with torch.no_grad():  # towers that have learnt something: layers and links of their own
        for tower in (trained.model.masked.music_tower, trained.model.masked.pose_tower):
            for param in tower.parameters():
                param.add_(0.1 * torch.randn_like(param))
    init = trained.save_pretrained(tmp_path / "init", half=False)
    frozen = Recipe(*(StageOptions(steps=1, batch=4, window=8, lr=0.0) for _ in STAGES))  # lr 0: no update
    model = train(prepared, tmp_path / "run", ModelConfig.tiny(), frozen, init=init)
    start = DanceEngine.from_pretrained(init).model
    for name in ("masked.backbone", "residual", "tokenizer.decoder"):
        ours, theirs = model.get_submodule(name).state_dict(), start.get_submodule(name).state_dict()
        assert all(torch.equal(ours[k], theirs[k]) for k in theirs), name
    # The run trained the backbone, so each tower starts again as a copy of it, with zero links.
    backbone = model.masked.backbone.layers.state_dict()
    for tower in (model.masked.music_tower, model.masked.pose_tower):
        assert all(torch.equal(v, backbone[k]) for k, v in tower.layers.state_dict().items())
        assert all(not link.weight.any() for link in tower.links)
    with pytest.raises(ValueError, match="another architecture"):
        train(prepared, tmp_path / "other", ModelConfig.small(), frozen, init=init)


def test_a_checkpoint_decodes_in_the_window_its_transformers_were_trained_on(prepared, tmp_path):
    from dancemosaic.config import ModelConfig
    from dancemosaic.engine import DanceEngine
    from dancemosaic.recipe import STAGES, Recipe, train
    from dancemosaic.train import StageOptions

    config = ModelConfig.tiny()  # 32 positions
    short = Recipe(*(StageOptions(steps=1, batch=4, window=8) for _ in STAGES))
    model = train(prepared, tmp_path / "run", config, short)
    assert model.window == 8
    engine = DanceEngine.from_pretrained(tmp_path / "run" / "pose_tower")  # the last stage's export
    assert engine.model.window == 8
    # A fine-tune on longer windows that leaves the towers as they were keeps the towers' window.
    longer = dataclasses.replace(
        short, backbone=StageOptions(steps=1, batch=4, window=16), stages=("backbone",)
    )
    init = engine.save_pretrained(tmp_path / "init", half=False)
    assert train(prepared, tmp_path / "fine", config, longer, init=init).window == 8
    # Every transformer stage retrained on longer windows: the window grows with them.
    every = Recipe(*(StageOptions(steps=1, batch=4, window=16) for _ in STAGES), stages=STAGES[1:])
    assert train(prepared, tmp_path / "all", config, every, init=init).window == 16


def test_the_annealed_fine_tune_keeps_the_checkpoints_tokenizer(prepared, tmp_path):
    from dancemosaic.config import ModelConfig
    from dancemosaic.engine import DanceEngine
    from dancemosaic.recipe import ANNEALED_FINE_TUNE, train

    init = DanceEngine.from_config(ModelConfig.tiny(), seed=3).save_pretrained(tmp_path / "init", half=False)
    short = {s: dataclasses.replace(getattr(ANNEALED_FINE_TUNE, s), steps=2, batch=4, window=8)
             for s in ANNEALED_FINE_TUNE.stages}  # fmt: skip
    recipe = dataclasses.replace(ANNEALED_FINE_TUNE, **short)
    model = train(prepared, tmp_path / "run", ModelConfig.tiny(), recipe, init=init)
    start = DanceEngine.from_pretrained(init).model
    ours, theirs = model.tokenizer.state_dict(), start.tokenizer.state_dict()
    assert all(torch.equal(ours[k], theirs[k]) for k in theirs)  # no tokenizer stage: init's is kept
    assert not (tmp_path / "run" / "tokenizer").exists()
    with pytest.raises(ValueError, match="tokenizer stage"):
        train(prepared, tmp_path / "scratch", ModelConfig.tiny(), recipe)  # nothing to take a tokenizer from


def test_an_annealed_stage_decays_its_learning_rate_to_zero():
    from dancemosaic.train import WARMUP_STEPS, StageOptions, learning_rate

    steady = StageOptions(steps=1000, lr=1e-3)
    annealed = dataclasses.replace(steady, anneal=True)
    assert learning_rate(steady, 0) == learning_rate(annealed, 0) == 1e-3 / WARMUP_STEPS
    assert learning_rate(annealed, WARMUP_STEPS) == pytest.approx(1e-3)
    rates = [learning_rate(annealed, step) for step in range(WARMUP_STEPS, 1000)]
    assert all(np.diff(rates) <= 0)  # decays monotonically after the warm-up
    assert rates[-1] < 1e-5 and learning_rate(steady, 999) == 1e-3


def test_evaluate_a_checkpoint_prints_every_row(prepared, data_folder, tmp_path, capsys):
    from dancemosaic.config import ModelConfig
    from dancemosaic.engine import DanceEngine

    DanceEngine.from_config(ModelConfig.tiny()).save_pretrained(tmp_path / "ckpt")
    args = ["evaluate", "--cache", str(prepared), "--data", str(data_folder), "--json", "--seconds", "6"]
    assert main([*args, "--checkpoint", str(tmp_path / "ckpt"), "--track-rows"]) == 0
    rows = json.loads(capsys.readouterr().out)
    names = [row["name"] for row in rows]
    assert names[1] == "tokenizer reconstruction (held-out clips)" and len(names) == 8
    assert names[3] == "(b') full model without beat refinement"
    assert all(np.isfinite(row["BAS"]) for row in rows[2:7])
    assert rows[1]["MPJPE_mm"] > 0
    pose = rows[7]
    assert pose["joint_distance_m_with_optimisation"] <= pose["joint_distance_m_without_optimisation"] + 1e-6


def test_prepare_adds_finedance_with_its_recorded_music(tmp_path):
    from tests.test_datasets import finedance_array, make_finedance_root

    root = make_finedance_root(tmp_path / "finedance")
    for clip_id in ("001", "063"):
        np.save(root / "motion" / f"{clip_id}.npy", finedance_array(frames=150, seed=int(clip_id)))
    audio, _ = percussion.synthesize(120.0, 5.0, seed=2)
    soundfile.write(root / "music_wav" / "001.wav", audio, SAMPLE_RATE)
    cache = tmp_path / "cache"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pairs, "SYNTH_TEMPOS", (100,))
        patch.setattr(pairs, "SYNTH_SECONDS", 10.0)
        assert main(["prepare", "--finedance", str(root), "--cache", str(cache)]) == 0
    clips = {c["name"]: c for c in load_index(cache)["clips"]}
    assert clips["finedance/001"]["split"] == "train" and clips["finedance/063"]["split"] == "test"
    assert clips["finedance/001-mirror"]["music"].endswith("001.wav")
    built = json.loads((cache / "pairs.json").read_text())["pairs"]
    recorded = [p for p in built if p["recorded"]]
    assert {p["clip"] for p in recorded} == {"finedance/001", "finedance/001-mirror"}
    assert all(p["music_start"] == 0 and p["frames"] == 150 for p in recorded)
