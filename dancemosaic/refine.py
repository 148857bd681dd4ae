"""Pose-guided token optimisation (DanceMosaic Sec. 3.4, Eq. 5-7): inference-time refinement of
decoded tokens towards sparse joint targets, with every network frozen.

What is optimised: the quantised latent Z (B, L, D), i.e. the summed code embeddings of all
residual quantizers that ``MotionTokenizer.decode_latent`` consumes (the paper's Z-bar). It starts
exactly at the tokens' own embedding and is re-quantised at the end with the tokenizer's greedy
residual nearest-code search, so the result is tokens again (which an editor can keep, show, save
or feed back to the masked model as ``known`` tokens).

Step rule: Eq. 7 is plain gradient descent; here each step is an Adam step of size ``eta`` times
the latents' RMS. Adam's per-coordinate normalisation makes the step independent of the gradient's
scale (which depends on the checkpoint and on how many joints are constrained), so one default
works across checkpoints.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from dancemosaic.adam import Adam
from dancemosaic.representation import joints_from_features
from dancemosaic.timing import FPS
from dancemosaic.tokenizer import MotionTokenizer


@dataclass(frozen=True)
class RefineOptions:
    """Per-call settings: ``steps`` (N) gradient steps of relative size ``eta``."""

    steps: int = 100
    eta: float = 0.02

    def __post_init__(self) -> None:
        if self.steps < 0:
            raise ValueError(f"steps={self.steps} must be >= 0")
        if not self.eta > 0:
            raise ValueError(f"eta={self.eta} must be > 0")


def joint_distance(joints: torch.Tensor, target: torch.Tensor, constrained: torch.Tensor) -> torch.Tensor:
    """Eq. 5 per sample: joints, target (B, T, J, 3), constrained (B, T, J) -> (B,).

    Mean squared distance over constrained (frame, joint) pairs; 0 for a sample with none.
    """
    weight = constrained.to(joints.dtype)  # (B, T, J)
    squared = (joints - target).pow(2).sum(-1)  # (B, T, J)
    return (squared * weight).sum((1, 2)) / weight.sum((1, 2)).clamp_min(1.0)


def latent_joints(tokenizer: MotionTokenizer, latent: torch.Tensor, frames: int) -> torch.Tensor:
    """(B, L, D) quantised latent -> (B, frames, J, 3) joints, differentiable (decoder + FK)."""
    return joints_from_features(tokenizer.decode_latent(latent)[:, :frames], FPS)


def quantize(tokenizer: MotionTokenizer, latent: torch.Tensor) -> torch.Tensor:
    """(B, L, D) -> (B, L, Q): nearest code per residual quantizer, without touching the codebooks."""
    residual, codes = latent.reshape(-1, latent.shape[-1]), []  # (B * L, D)
    for book in tokenizer.quantizer.codebooks:
        codes.append(book.indices(residual))
        residual = residual - book.lookup(codes[-1])
    return torch.stack(codes, -1).reshape(*latent.shape[:-1], -1)


def refine_codes(
    tokenizer: MotionTokenizer,
    codes: torch.Tensor,
    target: torch.Tensor,
    constrained: torch.Tensor,
    keep: torch.Tensor | None = None,
    options: RefineOptions = RefineOptions(),
) -> tuple[torch.Tensor, torch.Tensor]:
    """Codes (B, L, Q) -> (refined codes (B, L, Q), joint distance (B,) of the returned codes).

    ``target`` (B, T, J, 3), T <= 4L, holds joint positions in the window's own frame (root x, z at
    the origin on frame 0, as ``representation.joints_from_features``); ``constrained`` (B, T, J)
    says which of them count. Tokens where ``keep`` (B, L) is True are returned exactly as given.
    A sample whose re-quantised codes end up farther from the target keeps its input codes.
    """
    covered = codes.shape[1] * tokenizer.config.downsample
    if target.shape[1] > covered:
        raise ValueError(f"target has {target.shape[1]} frames; the codes cover only {covered}")
    if keep is None:
        keep = torch.zeros(codes.shape[:2], dtype=torch.bool, device=codes.device)
    if options.steps == 0:  # greedy re-quantisation alone can change codes: do nothing at all
        with torch.no_grad():
            return codes, _distance(tokenizer, codes, target, constrained)
    with torch.no_grad():
        start = tokenizer.quantizer.decode_codes(codes)  # (B, L, D)
    latent = _descend(tokenizer, start, target, constrained, ~keep[..., None], options)
    with torch.no_grad():
        refined = torch.where(keep[..., None], codes, quantize(tokenizer, latent))  # (B, L, Q)
        before, after = (_distance(tokenizer, c, target, constrained) for c in (codes, refined))
    better = after < before  # (B,)
    return torch.where(better[:, None, None], refined, codes), torch.where(better, after, before)


def _descend(
    tokenizer: MotionTokenizer,
    start: torch.Tensor,
    target: torch.Tensor,
    constrained: torch.Tensor,
    editable: torch.Tensor,
    options: RefineOptions,
) -> torch.Tensor:
    """Eq. 6-7: minimise the joint distance over the latent's editable rows; returns (B, L, D).

    Gradients are taken for the latent alone (``autograd.grad``), so the frozen networks' own
    ``.grad`` fields are never written: one engine can serve other requests meanwhile.
    """
    latent = start.clone().requires_grad_(True)
    scale = float(start.pow(2).mean().sqrt().clamp_min(1e-6))
    optimizer = Adam(latent, lr=options.eta * scale)  # torch.optim's, without its import cost
    with torch.enable_grad():
        for _ in range(options.steps):
            joints = latent_joints(tokenizer, latent, target.shape[1])  # (B, T, J, 3)
            loss = joint_distance(joints, target, constrained).sum()  # samples stay independent
            (grad,) = torch.autograd.grad(loss, latent)
            latent.grad = grad * editable  # kept rows get zero steps from Adam
            optimizer.step()
    return latent.detach()


def _distance(
    tokenizer: MotionTokenizer, codes: torch.Tensor, target: torch.Tensor, constrained: torch.Tensor
) -> torch.Tensor:
    """(B, L, Q) codes -> (B,) joint distance of their decoded motion."""
    joints = latent_joints(tokenizer, tokenizer.quantizer.decode_codes(codes), target.shape[1])
    return joint_distance(joints, target, constrained)
