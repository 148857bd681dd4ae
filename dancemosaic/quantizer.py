"""Residual vector quantisation with EMA codebooks, quantizer dropout and dead-code reset.

Quantizer q encodes what quantizers 0..q-1 left over, so the first codebook carries the coarse
motion and later ones add detail (SoundStream, MoMask). Codebooks are updated by exponential
moving averages of the vectors assigned to them (no codebook gradient); codes that fall out of use
are re-seeded from recent encoder outputs so that the whole codebook keeps working.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class Codebook(nn.Module):
    """One EMA codebook of ``size`` vectors of ``dim`` channels."""

    def __init__(self, size: int, dim: int, decay: float, dead_threshold: float) -> None:
        super().__init__()
        self.decay, self.dead_threshold = decay, dead_threshold
        self.register_buffer("embed", torch.randn(size, dim) * 0.1)
        self.register_buffer("cluster_size", torch.ones(size))
        self.register_buffer("embed_sum", self.embed.clone())
        self.register_buffer("usage", torch.ones(size))  # slow average of assignments per step

    def indices(self, x: torch.Tensor) -> torch.Tensor:
        """(N, D) -> (N,) nearest code."""
        distance = x.pow(2).sum(-1, keepdim=True) - 2 * x @ self.embed.T + self.embed.pow(2).sum(-1)
        return distance.argmin(dim=-1)

    def lookup(self, indices: torch.Tensor) -> torch.Tensor:
        return F.embedding(indices, self.embed)

    @torch.no_grad()
    def update(self, x: torch.Tensor, indices: torch.Tensor) -> None:
        """EMA step on the vectors assigned in this batch, then re-seed dead codes."""
        onehot = F.one_hot(indices, self.embed.shape[0]).to(x.dtype)  # (N, K)
        counts = onehot.sum(0)
        self.cluster_size.mul_(self.decay).add_(counts, alpha=1 - self.decay)
        self.embed_sum.mul_(self.decay).add_(onehot.T @ x, alpha=1 - self.decay)
        total = self.cluster_size.sum()
        smoothed = (self.cluster_size + 1e-5) / (total + 1e-5 * len(counts)) * total
        self.embed.copy_(self.embed_sum / smoothed[:, None])
        self.usage.mul_(0.99).add_(counts, alpha=0.01)  # uses per step, averaged over ~100 steps
        self._reset_dead(x)

    def _reset_dead(self, x: torch.Tensor) -> None:
        dead = self.usage < self.dead_threshold / 100
        if not dead.any():
            return
        picks = x[torch.randint(len(x), (int(dead.sum()),), device=x.device)]
        self.embed[dead] = picks
        self.embed_sum[dead] = picks
        self.cluster_size[dead] = 1.0
        self.usage[dead] = 1.0


class ResidualQuantizer(nn.Module):
    def __init__(
        self,
        num_quantizers: int,
        size: int,
        dim: int,
        decay: float = 0.99,
        dead_threshold: float = 1.0,
        dropout: float = 0.2,
    ) -> None:
        super().__init__()
        self.codebooks = nn.ModuleList(
            Codebook(size, dim, decay, dead_threshold) for _ in range(num_quantizers)
        )
        self.dropout = dropout

    @property
    def num_quantizers(self) -> int:
        return len(self.codebooks)

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(B, L, D) -> quantised (B, L, D) with straight-through gradients, codes (B, L, Q), commit loss.

        In training, a ``dropout`` share of batches keeps only the first q quantizers (q random),
        so that decoding from fewer quantizers stays meaningful (quantizer dropout).
        """
        active = self.num_quantizers
        if self.training and torch.rand(()) < self.dropout:
            active = int(torch.randint(1, self.num_quantizers + 1, ()))
        flat = z.reshape(-1, z.shape[-1])
        residual, quantized = flat, torch.zeros_like(flat)
        codes, commit = [], flat.new_zeros(())
        for q, book in enumerate(self.codebooks):
            idx = book.indices(residual.detach())
            chosen = book.lookup(idx)
            if self.training and q < active:
                book.update(residual.detach(), idx)
            if q < active:
                commit = commit + F.mse_loss(residual, chosen.detach())
                quantized = quantized + chosen
            residual = residual - chosen.detach()
            codes.append(idx)
        quantized = flat + (quantized - flat).detach()  # straight-through estimator
        codes_t = torch.stack(codes, -1).reshape(*z.shape[:-1], self.num_quantizers)
        return quantized.reshape(z.shape), codes_t, commit

    def decode_codes(self, codes: torch.Tensor) -> torch.Tensor:
        """(B, L, Q') codes of the first Q' quantizers -> (B, L, D) summed embeddings."""
        return sum(self.codebooks[q].lookup(codes[..., q]) for q in range(codes.shape[-1]))

    @torch.no_grad()
    def usage(self) -> list[float]:
        """Share of each codebook's codes in use (usage above the dead threshold)."""
        return [float((book.usage >= book.dead_threshold / 100).float().mean()) for book in self.codebooks]
