"""Time-warped music-dance pairs: beats land on beats, the warp is monotone and rate-bounded."""

from __future__ import annotations

import numpy as np
import torch

from dancemosaic import metrics, pairing, rotation, skeleton
from dancemosaic.motion import Motion


def swinging_dance(seconds: float, beat_period: float, fps: float = 30.0) -> Motion:
    """Arms and legs swing back and forth: the body's speed dips at each turn, every beat_period s."""
    t = torch.arange(int(seconds * fps), dtype=torch.float32) / fps
    phase = torch.pi * t / beat_period  # one turn of the swing per beat
    axis_angle = torch.zeros(len(t), skeleton.NUM_BODY_JOINTS, 3)
    for joint in (1, 2, 16, 17, 18, 19):
        axis_angle[:, joint, 0] = 0.6 * torch.sin(phase)
    root = torch.tensor([0.0, 0.95, 0.0]).expand(len(t), 3)
    return Motion(rotation.axis_angle_to_matrix(axis_angle), root.clone(), fps)


def test_anchored_beats_land_on_music_beats_with_bounded_monotone_rate():
    rng = np.random.default_rng(0)
    motion_beats = np.cumsum(rng.uniform(14, 20, size=40))
    music_beats = np.arange(7, 900, 15.0)
    warp = pairing.fit_warp(motion_beats, music_beats, int(motion_beats[-1]) + 5, 900)
    rates = np.diff(warp.source_frames)
    assert warp.anchors >= 30
    assert rates.min() >= pairing.MIN_RATE - 1e-9 and rates.max() <= pairing.MAX_RATE + 1e-9
    output = np.arange(warp.num_frames)
    inside = (motion_beats >= warp.source_frames[0]) & (motion_beats <= warp.source_frames[-1])
    landed = np.interp(motion_beats[inside], warp.source_frames, output) + warp.music_start
    nearest = np.abs(landed[:, None] - music_beats[None, :]).min(axis=1)
    assert np.mean(nearest < 1.0) >= 0.75  # anchored beats sit on the grid; a few are skipped
    assert warp.music_start + warp.num_frames <= 900


def test_warp_without_beats_is_the_identity_crop():
    warp = pairing.fit_warp(np.array([]), np.array([10.0, 25.0]), 100, 60)
    assert warp.anchors == 0 and warp.music_start == 0
    np.testing.assert_array_equal(warp.source_frames, np.arange(60))


def test_warping_a_dance_onto_music_raises_its_beat_alignment():
    dance = swinging_dance(seconds=20, beat_period=0.56)  # ~107 beats per minute
    music_beats = np.arange(4, 1200, 15)  # a 120 BPM track, 40 s
    joints = dance.joints().numpy()
    beats = metrics.motion_beats(joints)
    warp = pairing.fit_warp(beats, music_beats, len(joints), 1200)
    warped = pairing.apply_warp(dance, warp).joints().numpy()
    segment = music_beats - warp.music_start

    def bas(j: np.ndarray) -> float:
        return metrics.beat_alignment_score(metrics.motion_beats(j), segment, num_frames=len(j) - 1)

    assert warped.shape == (warp.num_frames, skeleton.NUM_BODY_JOINTS, 3)
    assert bas(warped) > 0.9
    assert bas(joints[: 1200 - warp.music_start]) < 0.6
