"""The evaluation against real dancers on tiny synthetic dances: its measures must be able to fail."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch

from dancemosaic import (
    copying,
    metrics,
    movement,
    novel_reference,
    percussion,
    real_evaluation,
    rotation,
    skeleton,
    style,
)
from dancemosaic.motion import Motion
from dancemosaic.real_evaluation import Beats, Context, FeatureSet, Scale, Segment
from dancemosaic.timing import FPS, SAMPLE_RATE
from tests.test_pops import swaying_dance

# Two made-up styles: which joints swing, how fast, and whether the body bobs and travels.
STYLES = {
    "swing": {"joints": (16, 17, 18, 19), "hz": 1.0, "amplitude": 0.9, "bob": 0.0, "travel": 0.0},
    "stomp": {"joints": (1, 2, 4, 5), "hz": 1.8, "amplitude": 0.6, "bob": 0.05, "travel": 0.4},
}


def styled_dance(name: str, seconds: float = 12.0, seed: int = 0) -> np.ndarray:
    """(T, 22, 3) joints of a synthetic dancer of style ``name``; the seed varies phase, tempo, size."""
    spec, rng = STYLES[name], np.random.default_rng(seed)
    t = torch.arange(int(seconds * FPS), dtype=torch.float32) / FPS
    hz = spec["hz"] * rng.uniform(0.92, 1.08)
    axis_angle = torch.zeros(len(t), skeleton.NUM_BODY_JOINTS, 3)
    for k, joint in enumerate(spec["joints"]):
        phase = 2 * torch.pi * hz * t + rng.uniform(0, 0.5) + k * torch.pi
        axis_angle[:, joint, 0] = spec["amplitude"] * rng.uniform(0.85, 1.15) * torch.sin(phase)
    axis_angle += 0.03 * torch.from_numpy(rng.standard_normal(axis_angle.shape)).float()
    root = torch.zeros(len(t), 3)
    root[:, 1] = 0.95 + spec["bob"] * torch.sin(4 * torch.pi * hz * t)
    root[:, 0] = spec["travel"] * torch.sin(2 * torch.pi * 0.2 * t)
    motion = Motion(rotation.axis_angle_to_matrix(axis_angle), root, FPS)
    return motion.joints().numpy().astype(np.float64)


@pytest.fixture(scope="module")
def classifier() -> style.StyleClassifier:
    names = [n for n in STYLES for _ in range(6)]
    return style.train([styled_dance(n, seed=10 + i) for i, n in enumerate(names)], names)


def test_a_dance_against_itself_has_movement_ratios_of_one():
    dance = styled_dance("swing", seed=1)
    measures = ("speed", "spread", "acceleration", "body_spread", "turning")
    assert movement.movement_ratios(dance, dance) == pytest.approx({f"{m}_ratio": 1.0 for m in measures})
    assert movement.movement_ratios(movement.frozen(dance), dance) == pytest.approx(
        {f"{m}_ratio": 0.0 for m in measures}
    )
    shrunk = movement.movement_ratios(movement.shrunk(dance), dance)
    assert {k: shrunk[k] for k in ("speed_ratio", "spread_ratio", "acceleration_ratio")} == pytest.approx(
        {"speed_ratio": 0.2, "spread_ratio": 0.2, "acceleration_ratio": 0.2}
    )
    with pytest.raises(ValueError, match="does not move"):
        movement.movement_ratios(dance, movement.frozen(dance))


def test_jitter_shows_in_acceleration_more_than_in_speed():
    dance = swaying_dance(300).joints().numpy().astype(np.float64)  # smooth (styled dances shake)
    shaky = dance.copy()
    shaky[::2, 1:] += 0.01  # every other frame, every joint but the root 1 cm up
    ratios = movement.movement_ratios(shaky, dance)
    assert ratios["spread_ratio"] < 1.1  # the poses are the same give or take 1 cm...
    assert ratios["acceleration_ratio"] > 2 * ratios["speed_ratio"] > 2  # ...but they shake


def turned(joints: np.ndarray, degrees_per_second: float) -> np.ndarray:
    """The dance on a turntable: each frame turned about the vertical through its root."""
    yaw = np.radians(degrees_per_second) * np.arange(len(joints)) / FPS
    cos, sin = np.cos(yaw)[:, None], np.sin(yaw)[:, None]
    relative = joints - joints[:, :1]
    x, z = relative[..., 0], relative[..., 2]
    out = joints.copy()
    out[..., 0] = joints[:, :1, 0] + x * cos - z * sin
    out[..., 2] = joints[:, :1, 2] + x * sin + z * cos
    return out


def test_the_body_frame_spread_does_not_count_turning_on_the_spot():
    dance = styled_dance("swing", seed=3)
    spinning = turned(dance, 90.0)
    # Turning adds world-axes spread (the arms sweep round) but no pose: the body spread keeps.
    assert movement.pose_spread(spinning) > 2 * movement.pose_spread(dance)
    assert movement.body_spread(spinning) == pytest.approx(movement.body_spread(dance), rel=1e-6)
    assert movement.turning_speed(spinning) == pytest.approx(90.0, rel=0.1)
    # The statue turns and travels as the dancer does, in its first pose: world spread, no body spread.
    statue = movement.turning_statue(spinning)
    np.testing.assert_allclose(statue[:, 0], spinning[:, 0])
    ratios = movement.movement_ratios(statue, spinning)
    assert ratios["turning_ratio"] == pytest.approx(1.0)
    assert ratios["body_spread_ratio"] == pytest.approx(0.0, abs=1e-6)
    assert ratios["spread_ratio"] > 0.3  # in world axes the statue has a spread, though its body never moves
    # A dancer whose hips never turn is still a reference for everything but the turning.
    square = dance.copy()
    square[:, 1:3] = dance[:, :1] + (dance[0, 1:3] - dance[0, :1])  # hips fixed about the root
    ratios = movement.movement_ratios(spinning, square)
    assert np.isnan(ratios["turning_ratio"]) and ratios["body_spread_ratio"] > 0


def test_shrinking_keeps_the_root_path_and_the_mean_pose():
    dance = styled_dance("stomp", seed=2)
    small = movement.shrunk(dance, 0.5)
    np.testing.assert_allclose(small[:, 0], dance[:, 0])
    np.testing.assert_allclose(movement.root_relative(small).mean(0), movement.root_relative(dance).mean(0))


def test_the_style_classifier_names_unseen_dances_and_rejects_still_ones(classifier):
    held_out = [(n, styled_dance(n, seed=100 + i)) for i, n in enumerate(3 * list(STYLES))]
    named = [classifier.classify(d)["style"] for _, d in held_out]
    accuracy = np.mean([got == truth for got, (truth, _) in zip(named, held_out, strict=True)])
    assert accuracy > 0.5 + 0.25  # two styles: chance is 0.5
    dance = held_out[0][1]
    assert classifier.classify(movement.frozen(dance))["style"] == style.NO_STYLE
    assert classifier.classify(movement.shrunk(dance))["style"] == style.NO_STYLE


def test_the_classifier_is_kept_and_found_again_by_its_training_key(classifier, tmp_path):
    path = tmp_path / style.CACHE_FILE
    classifier.save(path, "key-a")
    again = style.StyleClassifier.load(path, "key-a")
    assert again is not None and again.styles == classifier.styles
    np.testing.assert_allclose(again.precision, classifier.precision)
    assert style.StyleClassifier.load(path, "key-b") is None  # trained on other data: retrain


def test_frozen_and_shrunk_dances_fail_every_headline_measure(classifier):
    held_out = [Segment(f"{n}-0", n, f"a person dances {n}", Path("song.wav"), 0.0, styled_dance(n, seed=50))
                for n in STYLES]  # fmt: skip
    training = [styled_dance(n, seed=60 + i) for i, n in enumerate(STYLES) for _ in range(3)]
    reference = FeatureSet.of_windows([s.real for s in held_out])
    real_training = FeatureSet.of_windows(training)
    both = FeatureSet(np.concatenate([reference.kinetic, real_training.kinetic]),
                      np.concatenate([reference.geometric, real_training.geometric]))  # fmt: skip
    beats = {s.name: Beats(np.arange(0, s.frames, 15), np.arange(5, s.frames, 15)) for s in held_out}
    context = Context(held_out, beats, reference, Scale.of(both), real_training, classifier)
    score = real_evaluation.score_row
    real = score("real", {s.name: [s.real] for s in held_out}, context, is_reference=True)
    probes = {
        label: score(label, {s.name: [probe(s.real)] for s in held_out}, context)
        for label, probe in (("frozen", movement.frozen), ("shrunk", movement.shrunk))
    }
    verdict = real_evaluation.sanity(real, real_evaluation.real_vs_real_row(context), probes)["measures"]
    for measure in ("speed_ratio", "spread_ratio", "body_spread_ratio", "FID_k", "FID_g", "style_accuracy"):
        assert verdict[measure]["headline"], (measure, verdict[measure])
    # Foot skating cannot fail a frozen dancer (still feet never slide): it is never a headline.
    assert not verdict["FSR"]["headline"]
    # A new dancer of the same styles meets the FID targets that the probes miss.
    other = score("other", {s.name: [styled_dance(s.style, seed=70)] for s in held_out}, context)
    assert real_evaluation.meets_target("FID_g", other, real, real_evaluation.real_vs_real_row(context))


def test_bas_with_librosa_default_beats_runs_on_a_song(tmp_path):
    audio, _ = percussion.synthesize(120.0, 8.0, seed=3)
    song = tmp_path / "song.wav"
    soundfile.write(song, audio, SAMPLE_RATE)
    beats = real_evaluation.segment_beats(song, frames=8 * FPS)
    for found in (beats.librosa, beats.project):
        assert 12 <= len(found) <= 20  # 120 BPM over 8 s: 16 beats, give or take the ends
        assert np.median(np.diff(found)) == pytest.approx(15, abs=1)  # 0.5 s at 30 fps
    dance = styled_dance("swing", seconds=8.0, seed=4)
    score = metrics.dance_bas(dance, beats.librosa)
    assert 0.0 < score <= 1.0
    assert metrics.dance_bas(movement.frozen(dance), beats.librosa) == 0.0  # no motion beats at all


def test_a_copied_window_is_found_at_distance_zero():
    source = styled_dance("stomp", seconds=10.0, seed=5)
    pool = copying.vectors([source], copying.POOL_HOP)
    copied = copying.copy_distances([source[15:165]], pool)
    fresh = copying.copy_distances([styled_dance("swing", seconds=5.0, seed=6)], pool)
    assert copied.max() < 1e-6 and fresh.min() > 0.02


def test_held_out_windows_with_a_training_copy_leave_the_reference():
    training = styled_dance("stomp", seconds=12.0, seed=7)
    pool = copying.vectors([training], copying.POOL_HOP)
    # 7 s copied from the training dance, starting between two pool windows, then 8 s of new motion.
    partly_copied = np.concatenate([training[67 : 67 + 210], styled_dance("swing", seconds=8.0, seed=8)])
    hop = real_evaluation.WINDOW_HOP
    distances = novel_reference.window_copy_distances(partly_copied, pool, hop)
    assert len(distances) == len(style.windows(partly_copied, hop, real_evaluation.WINDOW))
    novel = novel_reference.novel_windows({"copied": distances})["copied"]
    assert not novel[:3].any()  # windows inside the copied 7 s (starting at 0, 1, 2 s)
    assert novel[7:].all()  # windows after it (from 7 s on)
    fresh = novel_reference.window_copy_distances(styled_dance("swing", seconds=15.0, seed=9), pool, hop)
    assert novel_reference.novel_windows({"fresh": fresh})["fresh"].all()
    summary = novel_reference.reference_summary({"copied": novel, "fresh": np.ones(11, bool)}, False)
    assert summary["reference_windows"] == summary["novel_windows"] == novel.sum() + 11
    assert summary["per_song"]["fresh"] == {"windows": 11, "novel_windows": 11}
    assert novel_reference.reference_summary({"copied": novel}, True)["reference_windows"] == len(novel)


def test_rows_are_windowed_where_the_reference_keeps_windows():
    segment = Segment("s", "swing", "p", Path("song.wav"), 0.0, styled_dance("swing", seconds=10.0, seed=1))
    kept = {"s": np.array([True, False, False, True, False, True])}  # 10 s: windows at 0-5 s
    dance = styled_dance("stomp", seconds=10.0, seed=2)
    assert len(FeatureSet.at_kept_places([(segment, dance)], kept)) == 3
    assert len(FeatureSet.at_kept_places([(segment, dance[:200])], kept)) == 1  # only 2 windows
    assert len(FeatureSet.at_kept_places([(segment, dance)], None)) == 6
    with pytest.raises(ValueError, match="novel motion"):
        FeatureSet.at_kept_places([(segment, dance)], {"s": np.zeros(6, bool)})


def test_copy_distances_are_kept_in_the_cache_by_its_index(tmp_path):
    (tmp_path / "index.json").write_text('{"clips": []}')
    segments = {"s": styled_dance("swing", seconds=8.0, seed=3)}
    pool = copying.vectors([styled_dance("stomp", seconds=8.0, seed=4)], copying.POOL_HOP)
    built = []

    def make_pool():
        built.append(1)
        return pool

    first = novel_reference.held_out_copy_distances(tmp_path, segments, 30, make_pool)
    again = novel_reference.held_out_copy_distances(tmp_path, segments, 30, make_pool)
    np.testing.assert_allclose(first["s"], again["s"])
    assert len(built) == 1 and (tmp_path / novel_reference.CACHE_FILE).is_file()
    (tmp_path / "index.json").write_text('{"clips": [], "changed": 1}')  # a new corpus: compute again
    novel_reference.held_out_copy_distances(tmp_path, segments, 30, make_pool)
    assert len(built) == 2


@pytest.fixture(scope="module")
def real_pair_cache(tmp_path_factory):
    """A corpus cache with two styles of recorded dances with songs, one of each held out."""
    from dancemosaic.datasets import corpus, pairs
    from tests.test_dance_with_melody import write_recording

    root = tmp_path_factory.mktemp("data")
    folder = root / "dance_with_melody"
    folder.mkdir()
    recordings = (
        ("DANCE_C_1", 12, 0.45),
        ("DANCE_C_8", 10, 0.6),
        ("DANCE_W_1", 12, 0.5),
        ("DANCE_W_2", 10, 0.7),
    )
    for stem, seconds, beat_period in recordings:  # different dances: no held-out window copies training
        write_recording(folder, stem, seconds, seconds, beat_period=beat_period)
    (root / "splits").mkdir()
    (root / "splits" / "test.txt").write_text(
        "dance_with_melody/DANCE_C_8.npz\ndance_with_melody/DANCE_W_2.npz\n"
    )
    cache = tmp_path_factory.mktemp("cache")
    index = {"version": corpus.INDEX_VERSION, "clips": corpus._recorded_pairs(root, cache)[0]}
    (cache / "index.json").write_text(json.dumps(index))
    with pytest.MonkeyPatch.context() as patch:  # one short synthetic track keeps it fast
        patch.setattr(pairs, "SYNTH_TEMPOS", (100,))
        patch.setattr(pairs, "SYNTH_SECONDS", 10.0)
        pairs.build_pairs(None, cache)
    return root, cache


def test_seed_error_is_the_standard_error_of_the_mean_over_seeds_of_fixed_songs():
    # song a: 1, 3 (variance 2); song b: 2, 2 (variance 0): sqrt(2 * 2 + 2 * 0) / 4
    assert real_evaluation.seed_error([1.0, 3.0, 2.0, 2.0], ["a", "a", "b", "b"]) == pytest.approx(0.5)
    assert real_evaluation.seed_error([2.0, 2.0, 2.0, 2.0], ["a", "a", "b", "b"]) == 0.0
    # a song's offset from the others is not seed noise: the songs are the same in every draw
    assert real_evaluation.seed_error([1.0, 1.0, 5.0, 5.0], ["a", "a", "b", "b"]) == 0.0
    assert real_evaluation.seed_error([1.0, 3.0], ["a", "b"]) is None


def test_evaluate_scores_a_checkpoint_against_the_held_out_real_dances(
    real_pair_cache, engine, tmp_path, capsys
):
    from dancemosaic.__main__ import main

    root, cache = real_pair_cache
    engine.save_pretrained(tmp_path / "ckpt")
    args = ["evaluate", "--cache", str(cache), "--data", str(root), "--json", "--seconds", "8"]
    assert main([*args, "--checkpoint", str(tmp_path / "ckpt"), "--keep-dances", str(tmp_path / "kept")]) == 0
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    reference = rows["reference: held-out real windows without a training copy"]
    assert reference["reference_windows"] == reference["all_windows"] == 8  # 8 s: 4 windows per song
    model = rows["full model"]
    assert model["n_dances"] == 2 and model["n_windows"] >= 2
    assert all(np.isfinite(model[k]) for k in ("FID_k", "speed_ratio", "BAS_librosa_beats", "FSR"))
    assert model["spread_ratio_se"] is None and model["style_accuracy_se"] is None  # one seed per song
    assert rows["real held-out dances"]["speed_ratio"] == pytest.approx(1.0)
    assert rows["sanity: frozen (first real pose held)"]["speed_ratio"] == 0.0
    sanity = rows["sanity: which measures reject the frozen, shrunk and turning-statue dancers"]["measures"]
    assert sanity["body_spread_ratio"]["headline"] and not sanity["FSR"]["headline"]
    assert sanity["body_spread_ratio"]["statue"] == pytest.approx(0.0, abs=1e-6)
    assert "targets: full model" in rows
    assert (cache / style.CACHE_FILE).is_file()
    assert len(list((tmp_path / "kept").rglob("*.npy"))) == 6  # 3 model rows x 2 songs x 1 seed


def test_the_floor_weighs_each_style_as_the_reference_does_whatever_its_window_count():
    swing = [styled_dance("swing", seconds=12.0, seed=k) for k in range(3)]
    stomp = [styled_dance("stomp", seconds=6.0)]  # 5 s windows every second: 2 windows
    windows = real_evaluation.weighted_windows({"swing": swing, "stomp": stomp}, {"swing": 30, "stomp": 10})
    swing_windows = 3 * len(style.windows(swing[0], real_evaluation.WINDOW_HOP, real_evaluation.WINDOW))
    assert len(windows) == swing_windows + 2
    np.testing.assert_allclose(windows.weights[:swing_windows].sum(), 30.0)
    np.testing.assert_allclose(windows.weights[swing_windows:].sum(), 10.0)
    with pytest.raises(ValueError, match="no training real dance"):
        real_evaluation.weighted_windows({"swing": []}, {"swing": 1})
