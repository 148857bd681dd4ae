"""The decoding's low-pass takes frame-to-frame jitter out and keeps the dance's own movement."""

from __future__ import annotations

import torch

from dancemosaic import rotation
from dancemosaic.low_pass import DECODED_SIGMA, low_passed
from dancemosaic.motion import Motion
from tests.test_pops import swaying_dance


def jittered(motion: Motion, degrees: float = 4.0) -> Motion:
    """``motion`` with every joint turned back and forth by ``degrees`` about x on alternate frames."""
    sign = torch.tensor([1.0, -1.0]).repeat(motion.num_frames // 2 + 1)[: motion.num_frames]
    axis_angle = torch.zeros(motion.num_frames, 22, 3)
    axis_angle[..., 0] = torch.deg2rad(torch.tensor(degrees)) * sign[:, None]
    shake = rotation.axis_angle_to_matrix(axis_angle)
    return Motion(shake @ motion.rotations, motion.root, motion.fps)


def relative_speed(motion: Motion) -> float:
    joints = motion.joints()
    relative = joints - joints[:, :1]
    return float(relative.diff(dim=0).norm(dim=-1).mean() * motion.fps)


def jerk(motion: Motion) -> float:
    return float(torch.diff(motion.joints(), 3, dim=0).norm(dim=-1).mean() * motion.fps**3)


def test_jitter_goes_and_the_dance_stays():
    dance = swaying_dance(120)
    shaky = jittered(dance)
    smooth = low_passed(shaky, DECODED_SIGMA)
    assert jerk(shaky) > 10 * jerk(dance)
    assert jerk(smooth) < jerk(shaky) / 30  # the shake is gone...
    calm = low_passed(dance, DECODED_SIGMA)
    assert 0.9 < relative_speed(calm) / relative_speed(dance) <= 1.0  # ...the sway kept
    away = (smooth.joints() - calm.joints()).norm(dim=-1)
    assert away[4:-4].max() < 0.01  # the shake leaves no trace away from the ends


def test_a_span_is_filtered_and_the_rest_is_untouched():
    shaky = jittered(swaying_dance(90))
    smooth = low_passed(shaky, DECODED_SIGMA, 30, 60)
    assert torch.equal(smooth.rotations[:30], shaky.rotations[:30])
    assert torch.equal(smooth.root[60:], shaky.root[60:])
    assert jerk(smooth.slice(33, 57)) < jerk(shaky.slice(33, 57)) / 5


def test_gradients_reach_every_frame():
    """Token steering measures its objective through the engine's decoding, low-pass included."""
    dance = swaying_dance(40)
    rotations = dance.rotations.clone().requires_grad_(True)
    root = dance.root.clone().requires_grad_(True)
    smooth = low_passed(Motion(rotations, root, dance.fps), DECODED_SIGMA)
    smooth.joints()[:, 20].sum().backward()
    assert torch.isfinite(rotations.grad).all() and torch.isfinite(root.grad).all()
    assert (rotations.grad.abs().sum(dim=(1, 2, 3)) > 0).all()
