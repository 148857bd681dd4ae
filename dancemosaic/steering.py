"""Token steering towards a described effect: inference-time optimisation of a window's tokens
so that their decoded motion (local rotations and root) minimises an objective
(``instructions.objective``), every network frozen. The machinery is the beat refinement's
(``rhythm.py``): Adam on the quantised latent, straight through the re-quantisation (the forward
pass decodes the codes it will end with), a proximity term that keeps the latent near its start,
and kept tokens returned exactly. The best codes seen (lowest objective) are returned.

The objective must see the motion the engine will return, not the raw decoding: the engine's
decoding takes whole-body flips out and puts the root's travel over the planted feet, so the raw
root path can go still while the returned one still travels. ``decode`` is that decoding.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from dancemosaic.refine import quantize
from dancemosaic.representation import features_to_rotations_root
from dancemosaic.timing import FPS
from dancemosaic.tokenizer import MotionTokenizer

Objective = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (rotations, root) -> (B,)
# (B, T, FEATURE_DIM) decoded features -> local rotations (B, T, 22, 3, 3) and root (B, T, 3)
Decode = Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


def raw_decode(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The features' rotations and root as they are (the root integrated from its velocities)."""
    return features_to_rotations_root(features, FPS)


@dataclass(frozen=True)
class SteerOptions:
    """``steps`` Adam steps of relative size ``eta`` per round, up to ``rounds`` rounds while the
    objective is not met; ``proximity`` weighs staying near the round's start."""

    steps: int = 80
    eta: float = 0.1
    proximity: float = 0.05
    rounds: int = 3

    def __post_init__(self) -> None:
        if self.steps < 0 or self.rounds < 1:
            raise ValueError(f"steps={self.steps} must be >= 0 and rounds={self.rounds} >= 1")
        if not self.eta > 0 or self.proximity < 0:
            raise ValueError("eta must be > 0 and proximity >= 0")


def steer_codes(
    tokenizer: MotionTokenizer,
    codes: torch.Tensor,
    keep: torch.Tensor,
    frames: int,
    objective: Objective,
    options: SteerOptions = SteerOptions(),
    progress: Callable[[float], None] | None = None,
    decode: Decode = raw_decode,
) -> torch.Tensor:
    """Codes (1, L, Q) of a window -> steered codes (1, L, Q); tokens where ``keep`` (1, L) is True
    come back exactly. The codes come back unchanged when steering does not lower the objective.
    ``objective`` sees the window's first ``frames`` frames through ``decode`` (differentiable).

    While the objective is above 0 and the last round lowered it, a new round starts from the best
    codes so far (up to ``options.rounds``): the proximity term then holds the latent near them,
    not near the start, and Adam's step sizes start afresh."""
    if options.steps == 0 or keep.all():
        return codes
    report = progress or (lambda fraction: None)
    best, best_loss = codes, float(_loss(tokenizer, codes, frames, objective, decode))
    for _ in range(options.rounds):
        steered, loss = _round(tokenizer, best, best_loss, keep, frames, objective, options, report, decode)
        if loss >= best_loss:
            break
        best, best_loss = steered, loss
        if best_loss <= 0:
            break
    return best


def _round(
    tokenizer: MotionTokenizer, codes: torch.Tensor, codes_loss: float, keep: torch.Tensor, frames: int,
    objective: Objective, options: SteerOptions, report: Callable[[float], None], decode: Decode,
) -> tuple[torch.Tensor, float]:  # fmt: skip
    """One round of ``options.steps`` Adam steps from ``codes`` (whose loss is ``codes_loss``): the
    best codes seen and their loss."""
    with torch.no_grad():
        start = tokenizer.quantizer.decode_codes(codes)  # (1, L, D)
    editable = ~keep[..., None]
    latent = start.clone().requires_grad_(True)
    scale = float(start.pow(2).mean().sqrt().clamp_min(1e-6))
    optimizer = torch.optim.Adam([latent], lr=options.eta * scale)
    best, best_loss = codes, codes_loss
    with torch.enable_grad():
        for step in range(options.steps):
            with torch.no_grad():
                snapped_codes = _snap(tokenizer, latent, codes, keep)
                snapped = tokenizer.quantizer.decode_codes(snapped_codes)
            effect = objective(*_decoded(tokenizer, latent + (snapped - latent).detach(), frames, decode))
            if float(effect.detach()) < best_loss:  # the snapped codes' loss, before this step moves them
                best, best_loss = snapped_codes, float(effect.detach())
            loss = effect + options.proximity * (latent - start).pow(2).mean() / scale**2
            (grad,) = torch.autograd.grad(loss.sum(), latent)
            latent.grad = grad * editable  # kept rows get zero steps from Adam
            optimizer.step()
            report((step + 1) / options.steps)
    with torch.no_grad():
        final = _snap(tokenizer, latent, codes, keep)
        final_loss = float(_loss(tokenizer, final, frames, objective, decode))
    return (final, final_loss) if final_loss < best_loss else (best, best_loss)


def _snap(
    tokenizer: MotionTokenizer, latent: torch.Tensor, codes: torch.Tensor, keep: torch.Tensor
) -> torch.Tensor:
    return torch.where(keep[..., None], codes, quantize(tokenizer, latent))


def _loss(
    tokenizer: MotionTokenizer, codes: torch.Tensor, frames: int, objective: Objective, decode: Decode
) -> torch.Tensor:
    with torch.no_grad():
        return objective(*_decoded(tokenizer, tokenizer.quantizer.decode_codes(codes), frames, decode)).sum()


def _decoded(
    tokenizer: MotionTokenizer, latent: torch.Tensor, frames: int, decode: Decode
) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, L, D) latent -> local rotations (B, frames, 22, 3, 3) and root (B, frames, 3), differentiable."""
    return decode(tokenizer.decode_latent(latent)[:, :frames])
