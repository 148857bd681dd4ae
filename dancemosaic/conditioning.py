"""Per-token condition signals: music frames and pose constraints aligned with motion tokens.

A token covers FRAMES_PER_TOKEN motion frames, so each signal concatenates the frames a token
covers instead of averaging them: a beat keeps its exact frame inside the token.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from dancemosaic import music, skeleton
from dancemosaic.timing import FRAMES_PER_TOKEN

MUSIC_DIM = music.FEATURE_DIM * FRAMES_PER_TOKEN
POSE_FRAME_DIM = skeleton.NUM_BODY_JOINTS * 4  # x, y, z and a "constrained" flag per joint
POSE_DIM = POSE_FRAME_DIM * FRAMES_PER_TOKEN


def _per_token(frames: torch.Tensor, num_tokens: int) -> torch.Tensor:
    """(..., T, C) -> (..., L, FRAMES_PER_TOKEN * C), zero-padded or cut to L tokens."""
    needed = num_tokens * FRAMES_PER_TOKEN
    t = frames.shape[-2]
    frames = frames[..., :needed, :] if t >= needed else F.pad(frames, (0, 0, 0, needed - t))
    return frames.reshape(*frames.shape[:-2], num_tokens, FRAMES_PER_TOKEN * frames.shape[-1])


def music_signal(features: torch.Tensor, num_tokens: int) -> torch.Tensor:
    """(..., T, 38) music features -> (..., L, MUSIC_DIM) (the model standardises them)."""
    return _per_token(features, num_tokens)


def pose_signal(joints: torch.Tensor, constrained: torch.Tensor, num_tokens: int) -> torch.Tensor:
    """Target joints (..., T, 22, 3) and a constraint mask (..., T, 22) -> (..., L, POSE_DIM).

    Unconstrained joints are zeroed, as in the paper: only the flag says which values are targets.
    """
    mask = constrained.to(joints.dtype)
    frames = torch.cat([joints * mask[..., None], mask[..., None]], dim=-1).flatten(-2)  # (..., T, 88)
    return _per_token(frames, num_tokens)
