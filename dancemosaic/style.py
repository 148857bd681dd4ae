"""A small style classifier trained on real dances: does a dance look like a cha-cha, a waltz, ...?

Styles: the four ballroom dances of Dance with Melody (cha-cha, rumba, tango, waltz), CMU salsa and
CMU modern (ballet-like) dance. Only real *training* dances are used to fit it.

Features, per WINDOW_SECONDS window (all unchanged by where the dancer stands or faces):
- how fast each joint moves relative to the pelvis, and how far it ranges (horizontal, vertical),
  on a log scale so that halving the movement moves the features by a constant;
- how the pelvis travels, rises and falls and turns;
- the rhythm: the autocorrelation of the body's speed at lags up to 2 s (tempo, and the
  quick-quick-slow or 1-2-3 pattern of a style);
- the mean pose in the dancer's own frame (the ballroom hold, the raised arms of ballet).

Classifier: linear discriminant analysis (one Gaussian per style, a shared covariance shrunk
towards its diagonal) on standardised features; a dance's style is the one whose summed window
log-likelihoods are largest. A window farther (Mahalanobis) from every style than REJECT_FACTOR
times the 99th percentile of real windows the fit did not see (``train``) is "no known style": a
dancer frozen in one pose or barely moving is then not given a style by elimination, so the
accuracy of such dances falls.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dancemosaic.features import as_positions
from dancemosaic.timing import FPS, seconds_to_frames

STYLES = ("cha-cha", "rumba", "tango", "waltz", "salsa", "modern")
NO_STYLE = "no known style"
WINDOW_SECONDS = 5.0
WINDOW = seconds_to_frames(WINDOW_SECONDS)
TRAIN_HOP = WINDOW // 2
RHYTHM_LAGS = np.arange(4, 61, 2)  # frames: 0.13-2 s, past the period of every style's step
LOG_FLOOR = 1e-3  # m or m/s: keeps the log of a motionless joint finite (and far from any dance)
SHRINKAGE = 0.2  # share of the covariance replaced by its mean variance
REJECT_PERCENTILE = 99.0
REJECT_FACTOR = 2.0
SCALE_FLOOR = 0.02  # least feature scale (log units, autocorrelation, metres): a feature that
# barely varies over the training dances must not turn a small difference into a huge distance
FEATURE_VERSION = 3
CACHE_FILE = "style_classifier.npz"
_LEFT_HIP, _RIGHT_HIP = 1, 2


def facing_yaw(p: np.ndarray) -> np.ndarray:
    """(T,) heading angle of the hip line (left minus right hip) about the vertical axis."""
    across = p[:, _LEFT_HIP] - p[:, _RIGHT_HIP]
    return np.arctan2(across[:, 2], across[:, 0])


def in_body_frame(relative: np.ndarray, yaw: np.ndarray) -> np.ndarray:
    """Root-relative joints (T, J, 3) rotated about y so that the hip line lies along +x."""
    cos, sin = np.cos(yaw)[:, None], np.sin(yaw)[:, None]
    x, z = relative[..., 0], relative[..., 2]
    return np.stack([cos * x + sin * z, relative[..., 1], -sin * x + cos * z], axis=-1)


def _autocorrelation(signal: np.ndarray, lags: np.ndarray) -> np.ndarray:
    x = signal - signal.mean()
    energy = float((x**2).sum())
    if energy <= 1e-12:
        return np.zeros(len(lags))
    return np.array([(x[:-lag] * x[lag:]).sum() / energy if lag < len(x) else 0.0 for lag in lags])


def window_features(joints: np.ndarray, fps: float = FPS) -> np.ndarray:
    """(T, J, 3) window -> (D,) style features (see the module docstring)."""
    p = as_positions(joints, min_frames=max(RHYTHM_LAGS) + 2, min_joints=22)[:, :22]
    relative = p[:, 1:] - p[:, :1]  # (T, 21, 3)
    joint_step = np.linalg.norm(np.diff(relative, axis=0), axis=-1) * fps  # (T-1, 21)
    spread = relative.std(axis=0)  # (21, 3)
    yaw = np.unwrap(facing_yaw(p))
    root = p[:, 0]
    travel = np.linalg.norm(np.diff(root[:, [0, 2]], axis=0), axis=-1).mean() * fps
    log = np.log  # short alias: every magnitude is compared on a log scale
    return np.concatenate([
        log(joint_step.mean(axis=0) + LOG_FLOOR),
        log(np.hypot(spread[:, 0], spread[:, 2]) + LOG_FLOOR),
        log(spread[:, 1] + LOG_FLOOR),
        [log(travel + LOG_FLOOR), log(root[:, 1].std() + LOG_FLOOR),
         log(np.abs(np.diff(yaw)).mean() * fps + LOG_FLOOR)],
        _autocorrelation(joint_step.mean(axis=1), RHYTHM_LAGS),
        _autocorrelation(np.diff(root[:, 1]), RHYTHM_LAGS),
        in_body_frame(relative, yaw).mean(axis=0).reshape(-1),
    ])  # fmt: skip


def windows(joints: np.ndarray, hop: int, window: int = WINDOW) -> list[np.ndarray]:
    """WINDOW-frame windows every ``hop`` frames; a dance shorter than one window is itself."""
    if len(joints) <= window:
        return [joints]
    return [joints[s : s + window] for s in range(0, len(joints) - window + 1, hop)]


@dataclass(frozen=True)
class StyleClassifier:
    styles: tuple[str, ...]
    mean: np.ndarray  # (D,) feature standardisation
    scale: np.ndarray  # (D,)
    centres: np.ndarray  # (C, D) class means in standardised space
    precision: np.ndarray  # (D, D) inverse of the shrunk shared covariance
    reject_distance: float  # squared Mahalanobis distance past which a window has no style

    def distances(self, features: np.ndarray) -> np.ndarray:
        """(N, D) features -> (N, C) squared Mahalanobis distances to each style."""
        z = (np.atleast_2d(features) - self.mean) / self.scale
        diff = z[:, None, :] - self.centres[None]  # (N, C, D)
        return np.einsum("ncd,de,nce->nc", diff, self.precision, diff)

    def classify(self, dance: np.ndarray, hop: int = WINDOW // 2) -> dict:
        """The style of one dance (T, J, 3) and how its windows voted."""
        feats = np.stack([window_features(w) for w in windows(dance, hop)])
        distance = self.distances(feats)  # (N, C)
        rejected = distance.min(axis=1) > self.reject_distance
        best = self.styles[int(np.argmin(distance.sum(axis=0)))]
        nearest = distance.argmin(axis=1)
        window_styles = [NO_STYLE if r else self.styles[i] for r, i in zip(rejected, nearest, strict=True)]
        return {
            "style": NO_STYLE if rejected.mean() > 0.5 else best,
            "window_styles": window_styles,
            "rejected_share": float(rejected.mean()),
        }

    def save(self, path: Path, key: str) -> None:
        np.savez(
            path, styles=np.array(self.styles), mean=self.mean, scale=self.scale, centres=self.centres,
            precision=self.precision, reject_distance=self.reject_distance, key=key,
        )  # fmt: skip

    @classmethod
    def load(cls, path: Path, key: str) -> StyleClassifier | None:
        """The saved classifier, or None when it is missing or was trained on other data."""
        if not Path(path).is_file():
            return None
        with np.load(path, allow_pickle=False) as data:
            if str(data["key"]) != key:
                return None
            return cls(
                tuple(str(s) for s in data["styles"]), data["mean"], data["scale"], data["centres"],
                data["precision"], float(data["reject_distance"]),
            )  # fmt: skip


def train(dances: Sequence[np.ndarray], labels: Sequence[str], hop: int = TRAIN_HOP) -> StyleClassifier:
    """Fit the classifier on real dances (T, J, 3) labelled with their style (at least two styles).

    The rejection distance is measured on dances the model did not see: the dances of each style
    are split in two folds (alternating), each fold is scored by a model fitted on the other, and
    REJECT_FACTOR times the 99th percentile of those distances is kept. (Distances of a fit's
    own windows are optimistic, the more so the fewer the windows.)
    """
    if len(dances) != len(labels) or not dances:
        raise ValueError(f"need one label per dance, got {len(labels)} labels for {len(dances)} dances")
    styles = tuple(s for s in STYLES if s in set(labels)) + tuple(sorted(set(labels) - set(STYLES)))
    if len(styles) < 2:
        raise ValueError(f"a style classifier needs dances of two or more styles, got {styles}")
    feats = [np.stack([window_features(w) for w in windows(d, hop)]) for d in dances]
    classes = [styles.index(label) for label in labels]
    fold = np.full(len(dances), -1)  # -1: a style's only dance, always fitted, never scored
    for c in set(classes):
        members = [i for i, k in enumerate(classes) if k == c]
        if len(members) > 1:
            fold[members] = np.arange(len(members)) % 2
    unseen = []
    for f in (0, 1):
        model = _fit(styles, feats, classes, fold != f, np.inf)
        unseen += [model.distances(feats[i])[:, classes[i]] for i in np.flatnonzero(fold == f)]
    if not unseen:  # every style has one dance: fall back on the fit's own (optimistic) distances
        own = _fit(styles, feats, classes, fold == -1, np.inf)
        unseen = [own.distances(f)[:, c] for f, c in zip(feats, classes, strict=True)]
    reject = REJECT_FACTOR * float(np.percentile(np.concatenate(unseen), REJECT_PERCENTILE))
    return _fit(styles, feats, classes, np.ones(len(dances), dtype=bool), reject)


def _fit(
    styles: tuple[str, ...], feats: list[np.ndarray], classes: list[int], use: np.ndarray, reject: float
) -> StyleClassifier:
    x = np.concatenate([f for f, u in zip(feats, use, strict=True) if u])
    y = np.concatenate([np.full(len(f), c) for f, c, u in zip(feats, classes, use, strict=True) if u])
    mean, scale = x.mean(axis=0), np.hypot(x.std(axis=0), SCALE_FLOOR)
    z = (x - mean) / scale
    centres = np.stack([z[y == c].mean(axis=0) for c in range(len(styles))])
    within = z - centres[y]
    covariance = within.T @ within / max(len(z) - len(styles), 1)
    average = np.trace(covariance) / len(covariance)
    shrunk = (1 - SHRINKAGE) * covariance + SHRINKAGE * average * np.eye(len(covariance))
    return StyleClassifier(styles, mean, scale, centres, np.linalg.inv(shrunk), reject)


def training_key(names: Sequence[str], frames: Sequence[int]) -> str:
    """Identifies the training set and the feature code a saved classifier belongs to."""
    blob = json.dumps([FEATURE_VERSION, REJECT_FACTOR, SHRINKAGE, SCALE_FLOOR, list(names), list(frames)])
    return hashlib.sha256(blob.encode()).hexdigest()[:16]
