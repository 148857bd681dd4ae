"""Pops come out of decoded motion; fast moves along a path, and every other frame, stay."""

from __future__ import annotations

import torch

from dancemosaic import rotation
from dancemosaic.motion import Motion
from dancemosaic.pops import pop_frames, without_pops

LEFT_HIP = 1


def kicked(motion: Motion, frames: list[int], angle: float = 1.5) -> Motion:
    """``motion`` with the left leg flung forward (``angle`` rad at the hip) in ``frames`` only."""
    rotations = motion.rotations.clone()
    kick = rotation.axis_angle_to_matrix(torch.tensor([angle, 0.0, 0.0]))
    rotations[frames, LEFT_HIP] = kick @ rotations[frames, LEFT_HIP]
    return Motion(rotations, motion.root, motion.fps)


def swaying_dance(frames: int) -> Motion:
    """Every joint swaying on its own slow sine (periods of 1-2 s), travelling at 0.3 m/s."""
    t = torch.arange(frames, dtype=torch.float32)[:, None, None]
    phase = torch.arange(22 * 3, dtype=torch.float32).reshape(1, 22, 3)
    period = 30 + phase % 31
    axis_angle = 0.3 * torch.sin(2 * torch.pi * t / period + phase)
    root = torch.zeros(frames, 3)
    root[:, 1] = 0.9
    root[:, 2] = 0.01 * torch.arange(frames)
    return Motion(rotation.axis_angle_to_matrix(axis_angle), root, 30.0)


def test_one_and_two_frame_pops_are_found_and_interpolated_over():
    dance = swaying_dance(60)
    popped = kicked(kicked(dance, [20]), [40, 41])
    assert pop_frames(dance.joints()).sum() == 0
    found = pop_frames(popped.joints())
    flagged = set(torch.nonzero(found).flatten().tolist())
    assert {20, 40, 41} <= flagged <= set(range(18, 23)) | set(range(38, 44))  # and a neighbour or two
    fixed, replaced = without_pops(popped)
    assert replaced == int(found.sum()) and pop_frames(fixed.joints()).sum() == 0
    # The repaired frames land back near the dance (the leg's own path), not where the kick was.
    assert (fixed.joints()[[20, 40, 41]] - dance.joints()[[20, 40, 41]]).norm(dim=-1).max() < 0.1
    assert (popped.joints()[[20, 40, 41]] - dance.joints()[[20, 40, 41]]).norm(dim=-1).max() > 0.5
    untouched = ~found
    assert torch.equal(fixed.rotations[untouched], popped.rotations[untouched])
    assert torch.equal(fixed.root[untouched], popped.root[untouched])


def test_a_fast_move_along_a_path_is_not_a_pop():
    """A kick up and back in half a second, the foot at over 8 m/s (faster than any real dancer's
    on the held-out songs): every frame stays near the line through its neighbours."""
    frames = 30
    swing = 1.6 * torch.sin(torch.pi * torch.arange(frames) / 14).pow(2) * (torch.arange(frames) <= 14)
    axis_angle = torch.zeros(frames, 22, 3)
    axis_angle[:, LEFT_HIP, 0] = swing
    root = torch.zeros(frames, 3)
    root[:, 1] = 0.9
    dance = Motion(rotation.axis_angle_to_matrix(axis_angle), root, 30.0)
    speed = dance.joints().diff(dim=0).norm(dim=-1).amax() * 30
    assert speed > 8.0
    fixed, replaced = without_pops(dance)
    assert replaced == 0 and torch.equal(fixed.rotations, dance.rotations)


def test_pop_removal_passes_gradients_to_the_kept_frames():
    dance = kicked(swaying_dance(30), [12])
    found = pop_frames(dance.joints())
    rotations = dance.rotations.clone().requires_grad_(True)
    fixed, replaced = without_pops(Motion(rotations, dance.root, dance.fps))
    assert replaced >= 1 and found[12]
    fixed.joints()[12].sum().backward()  # the repaired frame is made of its good neighbours
    assert rotations.grad[found].abs().sum() == 0 and rotations.grad[~found].abs().sum() > 0


def test_gradients_stay_finite_where_the_rotations_around_a_pop_agree():
    """Steering decodes through pop removal: a NaN gradient (slerp's arccos at equal rotations)
    would stop it finding any codes for the whole edit."""
    still = Motion(torch.eye(3).repeat(20, 22, 1, 1), torch.tensor([0.0, 0.9, 0.0]).repeat(20, 1), 30.0)
    rotations = kicked(still, [10]).rotations.clone().requires_grad_(True)
    fixed, replaced = without_pops(Motion(rotations, still.root, still.fps))
    assert replaced >= 1
    fixed.joints().sum().backward()
    assert torch.isfinite(rotations.grad).all()
