"""The dance-generation table: FID_k, FID_g, Div_k, Div_g, BAS, FSR, PFC, and pose-constraint error.

Definitions follow ``shared/reference/metrics.md`` (AIST++ API, Bailando, LODGE, EDGE); features
and the evaluation protocols live in ``features.py``. Every function takes joint positions
(T, J, 3) in metres, y up, SMPL order, and returns plain Python numbers so a table row can be
written as JSON. Choices where the references disagree or crash are documented where they are
made; ``evaluate_motions`` names the protocol and the BAS variant in its output.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Literal

import numpy as np
import scipy.linalg
from scipy.ndimage import gaussian_filter1d
from scipy.spatial.distance import pdist

from dancemosaic import skeleton
from dancemosaic.features import (
    DEFAULT_PROTOCOL,
    Protocol,
    as_positions,
    geometric_features,
    get_protocol,
    kinetic_features,
    prepare,
)
from dancemosaic.timing import FPS

BeatVariant = Literal["bailando", "fact"]
BEAT_VARIANTS = ("bailando", "fact")

NORMALIZE_EPS = 1e-10  # added to the ground-truth std
FID_EPS = 1e-5  # added to both covariances' diagonals when the product's root is not finite
FACT_MINIMUM_WINDOW_S = 10 / 60  # AIST++ API: a motion beat is the lowest of +-10 frames at 60 fps

# FSR (LODGE, FineDance at 30 fps): contact heights above the frame-0 toe ground, and the per-frame
# horizontal motion that counts as sliding; the step threshold is rescaled for other frame rates.
FSR_ANKLE_HEIGHT = 0.08  # m
FSR_TOE_HEIGHT = 0.05  # m
FSR_SLIDE_STEP = 0.01  # m per frame at FSR_REFERENCE_FPS
FSR_REFERENCE_FPS = 30
FSR_LEVEL_FEET = 0.02  # m: frame-0 toes closer in height than this both stand on the ground
# PFC (EDGE, 30 fps): foot speeds are per-frame displacements, kept in 30 fps frames.
PFC_REFERENCE_FPS = 30
PFC_SCALE = 1e4

_LEFT_ANKLE, _LEFT_TOE, _RIGHT_ANKLE, _RIGHT_TOE = skeleton.FOOT_JOINTS


def normalize(gt_feats: np.ndarray, pred_feats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, D), (M, D) -> both standardised with the ground-truth pool's mean and std (+1e-10)."""
    gt, pred = np.asarray(gt_feats, np.float64), np.asarray(pred_feats, np.float64)
    mean, std = gt.mean(axis=0), gt.std(axis=0) + NORMALIZE_EPS
    return (gt - mean) / std, (pred - mean) / std


def frechet_distance(a: np.ndarray, b: np.ndarray, a_weights: np.ndarray | None = None) -> float:
    """Frechet distance between Gaussians fitted to feature sets (N, D) and (M, D).

    Unbiased covariances; sqrtm of their product, retried with 1e-5 I added to both when not
    finite; the real part of the root. NaN when a set has fewer than 2 samples (no covariance).
    ``a_weights`` (N,): how much each sample of ``a`` counts in its Gaussian (None: equally), so
    that groups of unequal size can weigh as a reference's groups do without discarding samples.
    """
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"feature sets must be (N, D) with the same D, got {a.shape}, {b.shape}")
    if len(a) < 2 or len(b) < 2:
        return float("nan")
    mu_a, mu_b = np.average(a, axis=0, weights=a_weights), b.mean(axis=0)
    cov_a = np.atleast_2d(np.cov(a, rowvar=False, aweights=a_weights))
    cov_b = np.atleast_2d(np.cov(b, rowvar=False))
    with warnings.catch_warnings():
        # Fewer samples than dimensions make the product singular; that is expected, and the
        # sample counts reported beside every FID say so.
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
        root = scipy.linalg.sqrtm(cov_a @ cov_b)
        if not np.isfinite(root).all():
            offset = np.eye(len(cov_a)) * FID_EPS
            root = scipy.linalg.sqrtm((cov_a + offset) @ (cov_b + offset))
    diff = mu_a - mu_b
    trace = np.trace(cov_a) + np.trace(cov_b) - 2 * np.trace(np.real(root))
    return float(diff @ diff + trace)


def fid(generated_feats: np.ndarray, reference_feats: np.ndarray) -> float:
    """FID of raw feature sets: normalise both by the reference pool, then the Frechet distance."""
    ref, gen = normalize(reference_feats, generated_feats)
    return frechet_distance(gen, ref)


def diversity(feats: np.ndarray) -> float:
    """Mean Euclidean distance over all unordered pairs of (N, D) features; NaN when N < 2."""
    feats = np.asarray(feats, np.float64)
    if feats.ndim != 2:
        raise ValueError(f"features must be (N, D), got shape {feats.shape}")
    return float(pdist(feats).mean()) if len(feats) >= 2 else float("nan")


def extract_features(
    motions: Sequence[np.ndarray], fps: float = FPS, protocol: Protocol | str = DEFAULT_PROTOCOL
) -> tuple[np.ndarray, np.ndarray]:
    """Clips (T, J, 3) -> kinetic (N, 3J') and geometric (N, 32) features under ``protocol``."""
    if len(motions) == 0:
        raise ValueError("no motions given: pass at least one (T, J, 3) clip")
    prepared = [prepare(m, fps, protocol) for m in motions]
    kinetic = np.stack([kinetic_features(p) for p in prepared])
    geometric = np.stack([geometric_features(p) for p in prepared])
    return kinetic, geometric


def fid_k(
    generated: Sequence[np.ndarray],
    reference: Sequence[np.ndarray],
    fps: float = FPS,
    protocol: Protocol | str = DEFAULT_PROTOCOL,
) -> float:
    """FID of kinetic features between two lists of clips (reference = ground-truth pool)."""
    return fid(extract_features(generated, fps, protocol)[0], extract_features(reference, fps, protocol)[0])


def fid_g(
    generated: Sequence[np.ndarray],
    reference: Sequence[np.ndarray],
    fps: float = FPS,
    protocol: Protocol | str = DEFAULT_PROTOCOL,
) -> float:
    """FID of geometric features between two lists of clips (reference = ground-truth pool)."""
    return fid(extract_features(generated, fps, protocol)[1], extract_features(reference, fps, protocol)[1])


def _check_variant(variant: str) -> None:
    if variant not in BEAT_VARIANTS:
        raise ValueError(f"Unknown beat variant {variant!r}; use one of {BEAT_VARIANTS}")


def _strict_minima(x: np.ndarray, order: int) -> np.ndarray:
    """Indices where x is strictly below its ``order`` neighbours on each side.

    As scipy's argrelextrema(np.less, mode="clip"): out-of-range neighbours are the end sample
    itself, so the first and last samples are never minima.
    """
    idx = np.arange(len(x))
    keep = np.ones(len(x), dtype=bool)
    for shift in range(1, order + 1):
        keep &= x < x[np.minimum(idx + shift, len(x) - 1)]
        keep &= x < x[np.maximum(idx - shift, 0)]
    return np.flatnonzero(keep)


def motion_beats(
    joints: np.ndarray, fps: float = FPS, sigma: float = 5.0, variant: BeatVariant = "bailando"
) -> np.ndarray:
    """Motion beat frame indices: local minima of the body's per-frame displacement.

    bailando: mean over joints of |p[i+1] - p[i]| (index i, T-1 values), Gaussian-smoothed with
      ``sigma`` frames, strict minima against both neighbours.
    fact (AIST++ API): summed displacement |p[t] - p[t-1]| (index t, value 0 at t = 0), no
      smoothing, strict minima over +-10 frames at 60 fps (rescaled to ``fps``).
    """
    _check_variant(variant)
    p = as_positions(joints, min_frames=2)
    step = np.linalg.norm(p[1:] - p[:-1], axis=-1)  # (T-1, J)
    if variant == "bailando":
        return _strict_minima(gaussian_filter1d(step.mean(axis=1), sigma), order=1)
    envelope = np.concatenate([[0.0], step.sum(axis=1)])  # (T,)
    return _strict_minima(envelope, order=max(1, round(FACT_MINIMUM_WINDOW_S * fps)))


def beat_alignment_score(
    motion_beats: np.ndarray,
    music_beats: np.ndarray,
    sigma: float = 3.0,
    variant: BeatVariant = "bailando",
    num_frames: int | None = None,
) -> float:
    """BAS: mean of exp(-d^2 / (2 sigma^2)), d = frames to the nearest beat of the other kind.

    bailando averages over music beats (truncated to ``num_frames``, the length of the motion's
    beat axis: T - 1 for bailando beats); fact averages over motion beats. Empty inputs never
    raise: with nothing to average over, bailando gives NaN (no music beats: undefined) and fact
    gives 0.0 (no motion beats, as the AIST++ API); with nothing to match against, 0.0.
    """
    _check_variant(variant)
    motion = np.asarray(motion_beats, np.float64).reshape(-1)
    music = np.asarray(music_beats, np.float64).reshape(-1)
    if num_frames is not None:
        music = music[music < num_frames]
    averaged, matched = (music, motion) if variant == "bailando" else (motion, music)
    if len(averaged) == 0:
        return float("nan") if variant == "bailando" else 0.0
    if len(matched) == 0:
        return 0.0
    nearest = np.abs(averaged[:, None] - matched[None, :]).min(axis=1)  # (len(averaged),)
    return float(np.exp(-(nearest**2) / (2 * sigma**2)).mean())


def dance_bas(joints: np.ndarray, music_beats: np.ndarray) -> float:
    """Bailando BAS of one dance (T, J, 3) against music beat frames, over the dance's length."""
    return beat_alignment_score(motion_beats(joints), music_beats, num_frames=len(joints) - 1)


def _ground_height(p: np.ndarray) -> float:
    """LODGE's ground: the frame-0 toe height (both toes' mean when they are level within 2 cm)."""
    left, right = p[0, _LEFT_TOE, 1], p[0, _RIGHT_TOE, 1]
    return float((left + right) / 2 if abs(left - right) < FSR_LEVEL_FEET else min(left, right))


def foot_skate_ratio(joints: np.ndarray, fps: float = FPS) -> float:
    """FSR (%) of one clip: share of foot-contact frames in which the foot slides (LODGE).

    Contact: ankle <= 8 cm and toe <= 5 cm above the frame-0 toe ground. Slides: ankle or toe moves
    more than 1 cm (per 30 fps frame) to the next frame, measured as |mean(dx, dz)| like the
    reference (so a diagonal slide with dx = -dz does not count). Frames 0..T-2 are judged: LODGE
    also counts the last frame, which has no next frame and so never slides (at most one contact
    frame per clip of difference). Left and right ratios are averaged; a side with no contact is
    skipped; NaN when neither foot touches the ground.
    """
    p = as_positions(joints, min_frames=2, min_joints=max(skeleton.FOOT_JOINTS) + 1)
    height = p[:-1, :, 1] - _ground_height(p)  # (T-1, J)
    step = p[1:] - p[:-1]  # (T-1, J, 3) motion to the next frame
    slide_step = FSR_SLIDE_STEP * FSR_REFERENCE_FPS / fps
    ratios = []
    for ankle, toe in ((_LEFT_ANKLE, _LEFT_TOE), (_RIGHT_ANKLE, _RIGHT_TOE)):
        contact = (height[:, ankle] <= FSR_ANKLE_HEIGHT) & (height[:, toe] <= FSR_TOE_HEIGHT)
        tangent = np.abs(step[:, [ankle, toe]][..., [0, 2]].mean(axis=-1))  # (T-1, 2)
        sliding = contact & (tangent > slide_step).any(axis=-1)
        if contact.any():
            ratios.append(sliding.sum() / contact.sum())
    return float(100 * np.mean(ratios)) if ratios else float("nan")


def physical_foot_contact(joints: np.ndarray, fps: float = FPS) -> float:
    """PFC (x 1e4) of one clip (EDGE): mean over frames of left * right foot speed * root accel.

    Root acceleration: second difference / dt^2, its up component clamped at >= 0, norm divided by
    the clip's maximum. Foot speed per side: min over ankle and toe of the horizontal per-frame
    displacement (in 30 fps frames). A clip whose root never accelerates scores 0.0.
    """
    p = as_positions(joints, min_frames=3, min_joints=max(skeleton.FOOT_JOINTS) + 1)
    accel = (p[2:, 0] - 2 * p[1:-1, 0] + p[:-2, 0]) * fps**2  # (T-2, 3)
    accel[:, 1] = np.maximum(accel[:, 1], 0.0)
    accel = np.linalg.norm(accel, axis=-1)
    peak = accel.max()
    if peak <= 0:
        return 0.0
    feet = p[:, list(skeleton.FOOT_JOINTS)][..., [0, 2]]  # (T, 4, 2) horizontal
    speed = np.linalg.norm(feet[2:] - feet[1:-1], axis=-1) * (PFC_REFERENCE_FPS / fps)  # (T-2, 4)
    left, right = speed[:, :2].min(axis=1), speed[:, 2:].min(axis=1)
    return float((left * right * accel / peak).mean() * PFC_SCALE)


def joint_distance(pred: np.ndarray, target: np.ndarray, mask: np.ndarray) -> float:
    """Mean Euclidean distance (m) over constrained (frame, joint) entries; NaN if none.

    pred, target: (T, J, 3); mask: bool, (T, J) or broadcastable to it (e.g. (J,)).
    """
    pred, target = np.asarray(pred, np.float64), np.asarray(target, np.float64)
    if pred.shape != target.shape or pred.ndim != 3 or pred.shape[-1] != 3:
        raise ValueError(f"pred and target must both be (T, J, 3), got {pred.shape}, {target.shape}")
    try:
        mask = np.broadcast_to(np.asarray(mask, dtype=bool), pred.shape[:2])
    except ValueError as err:
        raise ValueError(f"mask must broadcast to (T, J) = {pred.shape[:2]}") from err
    dist = np.linalg.norm(pred - target, axis=-1)[mask]
    return float(dist.mean()) if dist.size else float("nan")


def _mean_bas(
    generated: Sequence[np.ndarray], music_beats: Sequence[np.ndarray], fps: float, variant: str
) -> float:
    if len(music_beats) != len(generated):
        raise ValueError(f"music_beats needs one array per clip: {len(music_beats)} for {len(generated)}")
    scores = []
    for joints, beats in zip(generated, music_beats, strict=True):
        axis = len(joints) - 1 if variant == "bailando" else len(joints)
        found = motion_beats(joints, fps, variant=variant)
        scores.append(beat_alignment_score(found, beats, variant=variant, num_frames=axis))
    return _nanmean(scores)


def _nanmean(values: Sequence[float]) -> float:
    finite = [v for v in values if np.isfinite(v)]
    return float(np.mean(finite)) if finite else float("nan")


def evaluate_motions(
    generated: Sequence[np.ndarray],
    reference_pool: Sequence[np.ndarray],
    fps: float = FPS,
    protocol: Protocol | str = DEFAULT_PROTOCOL,
    music_beats: Sequence[np.ndarray] | None = None,
    bas_variant: BeatVariant = "bailando",
    reference_fps: float | None = None,
) -> dict[str, float | int | str]:
    """One table row for generated clips against a ground-truth pool, both lists of (T, J, 3).

    FID and diversity use features under ``protocol`` normalised by the reference pool (Div_*_ref:
    the pool's own diversity). FSR, PFC and BAS use the clips as given at ``fps`` and are averaged
    over clips, skipping clips where they are undefined (FSR_clips: clips with any foot contact,
    the ones FSR averages). ``music_beats``: one array of beat
    frame indices (at ``fps``) per generated clip; BAS is reported only when they are given.
    n_generated / n_reference are reported because FID with fewer samples than feature dimensions
    uses rank-deficient covariances.
    """
    spec = get_protocol(protocol)
    gen_k, gen_g = extract_features(generated, fps, spec)
    ref_k, ref_g = extract_features(reference_pool, reference_fps or fps, spec)
    ref_k, gen_k = normalize(ref_k, gen_k)
    ref_g, gen_g = normalize(ref_g, gen_g)
    skate = [foot_skate_ratio(m, fps) for m in generated]
    row: dict[str, float | int | str] = {
        "protocol": spec.name,
        "FID_k": frechet_distance(gen_k, ref_k),
        "FID_g": frechet_distance(gen_g, ref_g),
        "Div_k": diversity(gen_k),
        "Div_g": diversity(gen_g),
        "Div_k_ref": diversity(ref_k),
        "Div_g_ref": diversity(ref_g),
        "FSR": _nanmean(skate),
        "FSR_clips": int(np.isfinite(skate).sum()),
        "PFC": _nanmean([physical_foot_contact(m, fps) for m in generated]),
        "n_generated": len(generated),
        "n_reference": len(reference_pool),
    }
    if music_beats is not None:
        _check_variant(bas_variant)
        row["BAS"] = _mean_bas(generated, music_beats, fps, bas_variant)
        row["BAS_variant"] = bas_variant
    return row
