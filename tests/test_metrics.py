"""Dance metrics against their definitions (shared/reference/metrics.md) on synthetic motions.

The slow reference implementations below are per-frame Python loops transcribed from the
definitions; the library's vectorised code must agree with them exactly (up to rounding).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter1d

from dancemosaic import features, metrics, skeleton

FT_KINETIC = 1 / 60
FT_GEOMETRIC = 1 / 120
HL, SW, HW = 0.25684, 0.39085, 0.11925


def rest_joints(num_joints: int = 24) -> np.ndarray:
    """(J, 3) T-pose with the lowest joint on the floor."""
    offsets = np.asarray(skeleton.REST_OFFSETS)
    pos = np.zeros((24, 3))
    pos[0] = offsets[0]
    for j in range(1, 24):
        pos[j] = pos[skeleton.PARENTS[j]] + offsets[j]
    pos[:, 1] -= pos[:, 1].min()
    return pos[:num_joints]


def smooth_motion(rng: np.random.Generator, frames: int, num_joints: int = 22, amp: float = 0.12):
    """(T, J, 3) body-shaped motion: the rest pose plus smooth joint noise and a wandering root."""
    wobble = gaussian_filter1d(rng.standard_normal((frames, num_joints, 3)), sigma=4, axis=0)
    wobble *= amp / wobble.std()
    path = np.cumsum(gaussian_filter1d(rng.standard_normal((frames, 3)), sigma=6, axis=0), axis=0)
    path *= 0.01 * np.array([1.0, 0.2, 1.0])
    return rest_joints(num_joints) + wobble + path[:, None]


# ----------------------------------------------------------------------------- slow references
def slow_kinetic(p: np.ndarray, slip: bool = True) -> np.ndarray:
    num, num_joints, _ = p.shape
    out = []
    for j in range(num_joints):
        horizontal = vertical = expenditure = 0.0
        for i in range(1, num):
            d, c = np.zeros(3), 0
            for k in range(-2, 3):
                if i + k - 1 < 0 or i + k > num - 1:
                    continue
                d += p[i + k, j] - p[i + k - 1, j]
                c += 1
            horizontal += (np.linalg.norm([d[0], d[2]]) / (c * FT_KINETIC)) ** 2
            vertical += (abs(d[1]) / (c * FT_KINETIC)) ** 2
            acc, c2 = np.zeros(3), 0
            for k in range(-2, 3):
                if i + k - 1 < 0 or i + k + 1 > num - 1:
                    continue
                v2 = (p[i + k + 1, j] - p[i + k, j]) / FT_KINETIC
                if slip:
                    v1 = p[i + k, j] - p[i + k - 1, j] / FT_KINETIC
                else:
                    v1 = (p[i + k, j] - p[i + k - 1, j]) / FT_KINETIC
                acc += (v2 - v1) / FT_KINETIC
                c2 += 1
            expenditure += np.linalg.norm(acc) / c2
        out += [horizontal / (num - 1), vertical / (num - 1), expenditure / (num - 1)]
    return np.array(out)


NAMES = features.AIST_JOINT_NAMES


def _unit(v):
    n = np.linalg.norm(v)
    return v / n if n > 0 else np.full(3, np.nan)


def slow_geometric(p: np.ndarray) -> np.ndarray:
    rows = []
    for t in range(1, len(p)):
        cur, prev = p[t], p[t - 1]

        def at(name, cur=cur):
            virtual = {"zero": [0, 0, 0], "y_unit": [0, 1, 0], "minus_y_unit": [0, -1, 0]}
            if name in virtual:
                return np.array(virtual[name], dtype=float)
            if name == "y_min":
                return np.array([0.0, cur[:, 1].min(), 0.0])
            return cur[NAMES.index(name)]

        def was(name, prev=prev):
            return prev[NAMES.index(name)]

        # The reference's f_move(j1, j2, j3, j4) passes only j1..j3 on: j4 is ignored.
        def move(j1, j2, j3, j4, th):
            vel = (at(j3) - at(j1)) - (was(j3) - was(j1))
            return vel @ _unit(at(j2) - at(j1)) / FT_GEOMETRIC > th

        def nmove(j1, j2, j3, j4, th):
            vel = (at(j4) - at(j1)) - (was(j4) - was(j1))
            return vel @ _unit(np.cross(at(j3) - at(j1), at(j2) - at(j1))) / FT_GEOMETRIC > th

        def plane(a, b, c, q, th):
            return _unit(np.cross(at(c) - at(a), at(b) - at(a))) @ (at(q) - at(a)) > th

        def nplane(n1, n2, a, q, th):
            return _unit(at(n2) - at(n1)) @ (at(q) - at(a)) > th

        def angle(j1, j2, k1, k2, lo, hi):
            j, k = at(j2) - at(j1), at(k2) - at(k1)
            deg = np.degrees(np.arccos(j @ k / (np.linalg.norm(j) * np.linalg.norm(k))))
            return lo < deg < hi

        def fast(j, th):
            return np.linalg.norm(at(j) - was(j)) / FT_GEOMETRIC > th

        rows.append([
            nmove("neck", "rhip", "lhip", "rwrist", 1.8 * HL),
            nmove("neck", "lhip", "rhip", "lwrist", 1.8 * HL),
            nplane("chest", "neck", "neck", "rwrist", 0.2 * HL),
            nplane("chest", "neck", "neck", "lwrist", 0.2 * HL),
            move("belly", "chest", "chest", "rwrist", 1.8 * HL),
            move("belly", "chest", "chest", "lwrist", 1.8 * HL),
            angle("relbow", "rshoulder", "relbow", "rwrist", 0, 110),
            angle("lelbow", "lshoulder", "lelbow", "lwrist", 0, 110),
            nplane("lshoulder", "rshoulder", "lwrist", "rwrist", 2.5 * SW),
            move("lwrist", "rwrist", "rwrist", "lwrist", 1.4 * HL),
            move("rwrist", "root", "lwrist", "root", 1.4 * HL),
            move("lwrist", "root", "rwrist", "root", 1.4 * HL),
            fast("rwrist", 2.5 * HL),
            fast("lwrist", 2.5 * HL),
            plane("root", "lhip", "ltoes", "rankle", 0.38 * HL),
            plane("root", "rhip", "rtoes", "lankle", 0.38 * HL),
            nplane("zero", "y_unit", "y_min", "rankle", 1.2 * HL),
            nplane("zero", "y_unit", "y_min", "lankle", 1.2 * HL),
            nplane("lhip", "rhip", "lankle", "rankle", 2.1 * HW),
            angle("rknee", "rhip", "rknee", "rankle", 0, 110),
            angle("lknee", "lhip", "lknee", "lankle", 0, 110),
            fast("rankle", 2.5 * HL),
            fast("lankle", 2.5 * HL),
            angle("neck", "root", "rshoulder", "relbow", 25, 180),
            angle("neck", "root", "lshoulder", "lelbow", 25, 180),
            angle("neck", "root", "rhip", "rknee", 50, 180),
            angle("neck", "root", "lhip", "lknee", 50, 180),
            plane("rankle", "neck", "lankle", "root", 0.5 * HL),
            angle("neck", "root", "zero", "y_unit", 70, 110),
            nplane("zero", "minus_y_unit", "y_min", "rwrist", -1.2 * HL),
            nplane("zero", "minus_y_unit", "y_min", "lwrist", -1.2 * HL),
            fast("root", 2.3 * HL),
        ])  # fmt: skip
    return np.array(rows, dtype=float).mean(axis=0)


# ----------------------------------------------------------------------------- features
@pytest.mark.parametrize("num_joints", [22, 24])
@pytest.mark.parametrize("slip", [True, False])
def test_kinetic_features_match_slow_reference(num_joints, slip):
    p = smooth_motion(np.random.default_rng(num_joints), 47, num_joints)
    fast = features.kinetic_features(p.astype(np.float32), reference_slip=slip)
    slow = slow_kinetic(p.astype(np.float32).astype(np.float64), slip=slip)
    assert fast.shape == (3 * num_joints,)
    np.testing.assert_allclose(fast, slow, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("num_joints", [22, 24])
def test_geometric_features_match_slow_reference(num_joints):
    p = smooth_motion(np.random.default_rng(7 + num_joints), 80, num_joints)
    fast = features.geometric_features(p)
    np.testing.assert_allclose(fast, slow_geometric(p), atol=1e-12)
    assert fast.shape == (32,)
    assert 0.0 < fast.mean() < 1.0 and len(np.unique(fast)) > 5  # the test exercises both outcomes


def test_geometric_move_5_follows_reference_chest_not_wrist():
    p = np.repeat(rest_joints(22)[None], 10, axis=0)
    p[:, NAMES.index("rwrist"), 1] += np.arange(10) * 0.2  # wrist shoots up along the spine
    assert features.geometric_features(p)[4] == 0.0


def test_protocols_shape_and_origin():
    p = smooth_motion(np.random.default_rng(3), 50, 22) + np.array([1.0, 0.0, 2.0])
    fine = features.prepare(p, fps=30, protocol="finedance")
    assert fine.shape == (50, 22, 3)
    np.testing.assert_allclose(fine[0, 0], 0.0, atol=1e-12)
    np.testing.assert_allclose(fine[:, 1:] + fine[:, :1], p[:, 1:] - p[0, 0], atol=1e-12)
    aist = features.prepare(p, fps=30, protocol=features.AISTPP)
    assert aist.shape == (99, 24, 3)  # 30 -> 60 fps keeps both ends: 2T - 1 frames
    np.testing.assert_allclose(aist[::2, :22], p - p[0, 0], atol=1e-12)
    assert features.prepare(np.repeat(p, 30, axis=0), protocol="finedance").shape[0] == 1024
    with pytest.raises(ValueError, match="protocol"):
        features.prepare(p, protocol="edge")


# ----------------------------------------------------------------------------- FID, diversity
def test_fid_of_a_set_with_itself_is_zero():
    rng = np.random.default_rng(0)
    clips = [smooth_motion(rng, 60, 22) for _ in range(48)]
    kinetic, geometric = metrics.extract_features(clips)
    for feats in (kinetic, geometric):
        _, normed = metrics.normalize(feats, feats)
        scale = np.trace(np.cov(normed, rowvar=False))
        assert abs(metrics.frechet_distance(normed, normed)) <= 1e-6 * scale
        assert abs(metrics.fid(feats, feats)) <= 1e-6 * scale
    shifted = metrics.fid(kinetic + kinetic.std(axis=0), kinetic)
    assert shifted == pytest.approx(kinetic.shape[1], rel=0.05)  # mean moved by 1 std per dim


def test_weighted_fid_counts_each_sample_by_its_weight():
    rng = np.random.default_rng(1)
    near, far, reference = rng.normal(0, 1, (40, 3)), rng.normal(5, 1, (10, 3)), rng.normal(0, 1, (60, 3))
    both = np.concatenate([near, far])
    without_far = metrics.frechet_distance(near, reference)
    ignored = metrics.frechet_distance(both, reference, np.r_[np.ones(40), np.zeros(10)])
    assert ignored == pytest.approx(without_far, rel=1e-9)
    unweighted = metrics.frechet_distance(both, reference)
    assert metrics.frechet_distance(both, reference, np.full(50, 0.3)) == pytest.approx(unweighted, rel=1e-9)
    # The far group weighing as much as the near one, though it has a quarter of the samples.
    assert metrics.frechet_distance(both, reference, np.r_[np.full(40, 0.25), np.ones(10)]) > 2 * unweighted


def test_diversity_of_identical_samples_is_zero():
    assert metrics.diversity(np.ones((5, 32))) == 0.0
    assert metrics.diversity(np.array([[0.0, 0.0], [3.0, 4.0]])) == pytest.approx(5.0)
    assert np.isnan(metrics.diversity(np.ones((1, 4))))


# ----------------------------------------------------------------------------- beats
def test_bas_is_one_on_the_beats_and_drops_when_shifted():
    beats = np.arange(10, 290, 20)
    for variant in metrics.BEAT_VARIANTS:
        assert metrics.beat_alignment_score(beats, beats, variant=variant) == pytest.approx(1.0)
        shifted = metrics.beat_alignment_score(beats + 10, beats, variant=variant)
        assert shifted == pytest.approx(np.exp(-100 / 18))


def test_bas_handles_empty_beats():
    some = np.array([5, 25])
    assert metrics.beat_alignment_score(np.array([]), some) == 0.0
    assert np.isnan(metrics.beat_alignment_score(some, np.array([])))
    assert metrics.beat_alignment_score(np.array([]), some, variant="fact") == 0.0
    assert metrics.beat_alignment_score(some, np.array([]), variant="fact") == 0.0
    assert np.isnan(metrics.beat_alignment_score(some, some + 1000, num_frames=100))


@pytest.mark.parametrize("variant", metrics.BEAT_VARIANTS)
def test_motion_beats_of_a_sinusoid(variant):
    period, frames = 40, 240
    t = np.arange(frames)
    # Offset by half a frame so that the slowest step (frame i -> i+1) is at i = 10, 30, 50, ...
    sway = 0.2 * np.sin(2 * np.pi * (t - 0.5) / period)
    p = np.repeat(rest_joints(22)[None], frames, axis=0)
    p[..., 0] += sway[:, None]
    found = metrics.motion_beats(p, fps=30, variant=variant)
    expected = np.arange(period // 4, frames, period // 2)
    inner = expected[(expected > 20) & (expected < frames - 20)]
    found_inner = found[(found > 15) & (found < frames - 15)]
    assert np.abs(found_inner[:, None] - inner[None]).min(axis=1).max() <= 1
    assert np.abs(inner[:, None] - found[None]).min(axis=1).max() <= 1


# ----------------------------------------------------------------------------- physics
def standing(frames: int) -> np.ndarray:
    return np.repeat(rest_joints(22)[None], frames, axis=0)


def test_fsr_is_zero_standing_and_hundred_sliding():
    assert metrics.foot_skate_ratio(standing(60), fps=30) == 0.0
    sliding = standing(60)
    sliding[..., 0] += 0.05 * np.arange(60)[:, None]  # 5 cm per frame, feet on the floor
    assert metrics.foot_skate_ratio(sliding, fps=30) == pytest.approx(100.0)
    airborne = standing(60)
    airborne[..., 1] += 1.0 - np.linspace(0, 0.5, 60)[:, None] ** 2  # frame 0 sets the ground
    assert metrics.foot_skate_ratio(airborne, fps=30) == 0.0


def test_pfc_is_zero_for_a_static_pose_and_positive_for_bouncing_skates():
    assert metrics.physical_foot_contact(standing(60), fps=30) == pytest.approx(0.0)
    bouncing = standing(60)
    t = np.arange(60)
    bouncing[:, 0, 1] += 0.05 * np.sin(t / 3)
    bouncing[..., 0] += 0.02 * t[:, None]
    assert metrics.physical_foot_contact(bouncing, fps=30) > 0.0


def test_joint_distance_of_a_known_offset():
    target = smooth_motion(np.random.default_rng(1), 20, 22)
    pred = target + np.array([0.03, 0.0, 0.04])
    mask = np.zeros((20, 22), dtype=bool)
    mask[5:10, [0, 20, 21]] = True
    pred[~mask] += 10.0  # unconstrained entries do not count
    assert metrics.joint_distance(pred, target, mask) == pytest.approx(0.05)
    assert np.isnan(metrics.joint_distance(pred, target, np.zeros(22, dtype=bool)))


# ----------------------------------------------------------------------------- table row
def test_evaluate_motions_returns_a_json_row():
    rng = np.random.default_rng(5)
    generated = [smooth_motion(rng, 90, 22).astype(np.float32) for _ in range(4)]
    reference = [smooth_motion(rng, 90, 24) for _ in range(6)]
    beats = [np.arange(5, 90, 15) for _ in generated]
    row = metrics.evaluate_motions(generated, reference, music_beats=beats)
    json.dumps(row)
    assert row["protocol"] == "finedance" and row["BAS_variant"] == "bailando"
    assert (row["n_generated"], row["n_reference"]) == (4, 6)
    for key in ("FID_k", "FID_g", "Div_k", "Div_g", "FSR", "PFC", "BAS"):
        assert isinstance(row[key], float), key
    aist = metrics.evaluate_motions(generated, reference, protocol="aist++")
    assert aist["protocol"] == "aist++" and "BAS" not in aist
