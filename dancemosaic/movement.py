"""How much a dance moves, compared with a real dancer on the same music, and the sanity dances.

A dance that stands in one pose and sways can score well on FID against a mixed pool and on BAS
(shared/reference/metrics.md, "Protocol facts"); these measures cannot be fooled that way:

- ``joint_speed``: mean speed (m/s) of joints 1..21 relative to the root (the pelvis), so gliding
  across the floor in a fixed pose does not count as moving;
- ``pose_spread``: the std over time (m) of each root-relative joint coordinate, averaged over
  joints 1..21 and the three axes (turning counts: the positions are in world axes);
- ``body_spread``: the same in the body's own frame (each frame turned so the hips face one
  way), so that turning on the spot in one pose does not count: a dance that spins a statue has
  a world-axes spread but no body spread (``turning_statue``);
- ``turning_speed``: how fast the body turns about the vertical (degrees per second, the hips'
  facing);
- ``joint_acceleration``: mean root-relative joint acceleration (m/s^2); not a target, but it
  tells speed that is jitter (a shake adds speed and much more acceleration) from speed that is
  dancing;
- ``movement_ratios``: each of them divided by the real dance's on the same song segment.

``frozen``, ``shrunk`` and ``turning_statue`` build the dances a headline metric must reject: the
first pose held still, the real dance with its root-relative movement scaled down around its mean
pose, and the first pose held while it turns and travels as the real dancer does.
Every function takes joint positions (T, J, 3) in metres, y up, SMPL order, J >= 22.
"""

from __future__ import annotations

import numpy as np

from dancemosaic.features import as_positions
from dancemosaic.style import facing_yaw, in_body_frame
from dancemosaic.timing import FPS

SHRUNK_SCALE = 0.2  # the sanity row keeps 20 % of the real movement
TURN_LAG_SECONDS = 1 / 3


def root_relative(joints: np.ndarray) -> np.ndarray:
    """(T, J, 3) -> (T, J - 1, 3): joints 1.. minus the per-frame root."""
    p = as_positions(joints, min_frames=2, min_joints=22)
    return p[:, 1:] - p[:, :1]


def joint_speed(joints: np.ndarray, fps: float = FPS) -> float:
    """Mean root-relative joint speed (m/s) over frames and joints 1..21."""
    relative = root_relative(joints)
    return float(np.linalg.norm(np.diff(relative, axis=0), axis=-1).mean() * fps)


def pose_spread(joints: np.ndarray) -> float:
    """Mean per-joint std (m) of the root-relative positions, over joints 1..21 and x, y, z."""
    return float(root_relative(joints).std(axis=0).mean())


def body_frame(joints: np.ndarray) -> np.ndarray:
    """(T, J, 3) -> (T, J - 1, 3): ``root_relative`` turned about y so the hip line lies along x."""
    return in_body_frame(root_relative(joints), facing_yaw(as_positions(joints)))


def body_spread(joints: np.ndarray) -> float:
    """Mean per-joint std (m) of the joint positions in the body's own frame (``body_frame``)."""
    return float(body_frame(joints).std(axis=0).mean())


def turning_speed(joints: np.ndarray, fps: float = FPS, lag_seconds: float = TURN_LAG_SECONDS) -> float:
    """Mean rate (degrees per second) at which the hips' facing turns about the vertical, measured
    over ``lag_seconds`` so that hips wobbling frame to frame (jitter) do not count as turning."""
    yaw = np.unwrap(facing_yaw(as_positions(joints, min_frames=2, min_joints=22)))
    lag = max(1, min(round(lag_seconds * fps), len(yaw) - 1))
    return float(np.degrees(np.abs(yaw[lag:] - yaw[:-lag]).mean() * fps / lag))


def joint_acceleration(joints: np.ndarray, fps: float = FPS) -> float:
    """Mean root-relative joint acceleration (m/s^2) over frames and joints 1..21."""
    relative = root_relative(joints)
    if len(relative) < 3:
        return 0.0  # two frames have a speed but no change of it
    return float(np.linalg.norm(np.diff(relative, 2, axis=0), axis=-1).mean() * fps * fps)


def movement(joints: np.ndarray, fps: float = FPS) -> dict[str, float]:
    return {
        "speed": joint_speed(joints, fps),
        "spread": pose_spread(joints),
        "acceleration": joint_acceleration(joints, fps),
        "body_spread": body_spread(joints),
        "turning": turning_speed(joints, fps),
    }


def movement_ratios(dance: np.ndarray, real: np.ndarray, fps: float = FPS) -> dict[str, float]:
    """Each measure of ``movement`` for ``dance`` divided by the ``real`` dance's on the same music."""
    own, truth = movement(dance, fps), movement(real, fps)
    if min(truth[k] for k in own if k != "turning") <= 0:
        raise ValueError("the real dance does not move: pick another reference dance")
    # a dancer who never turns gives no turning scale (nan), but still a reference for the rest
    return {f"{k}_ratio": own[k] / truth[k] if truth[k] > 0 else float("nan") for k in own}


def frozen(joints: np.ndarray) -> np.ndarray:
    """The first pose (root included) held for the whole length: a dance that never moves."""
    p = as_positions(joints, min_frames=1)
    return np.repeat(p[:1], len(p), axis=0)


def shrunk(joints: np.ndarray, scale: float = SHRUNK_SCALE) -> np.ndarray:
    """The dance with its root-relative movement scaled by ``scale`` around its mean pose.

    The root keeps its path, so the body travels as the real dancer did while its limbs barely move
    (bone lengths are not kept: this is a probe for metrics, not a motion to show).
    """
    p = as_positions(joints, min_frames=2, min_joints=22)
    relative = p[:, 1:] - p[:, :1]
    mean_pose = relative.mean(axis=0)
    out = p.copy()
    out[:, 1:] = p[:, :1] + mean_pose + scale * (relative - mean_pose)
    return out


def turning_statue(joints: np.ndarray) -> np.ndarray:
    """The first pose held, turned and carried along as the real dancer turns and travels: a
    statue on a turntable, whose world-axes pose spread comes from turning alone (0.59-0.68 of the
    held-out dancers') and whose body never moves."""
    p = as_positions(joints, min_frames=2, min_joints=22)
    pose = body_frame(p)[0]  # (J - 1, 3) the first pose, hips along x
    held = np.broadcast_to(pose, (len(p), *pose.shape))
    out = p.copy()
    out[:, 1:] = p[:, :1] + in_body_frame(held, -facing_yaw(p))  # turned back: body_frame's inverse
    return out
