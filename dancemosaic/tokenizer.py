"""The motion tokenizer: a 1D-convolutional residual VQ-VAE with FRAMES_PER_TOKEN x downsampling.

Features are normalised with the training set's mean and std (stored as buffers, so a checkpoint
carries them); the encoder halves time twice with strided convolutions between dilated residual
blocks, the residual quantizer turns each step into Q codes, and the decoder mirrors the encoder.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from dancemosaic.config import TokenizerConfig
from dancemosaic.quantizer import ResidualQuantizer


class ResBlock(nn.Module):
    def __init__(self, width: int, dilation: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv1d(width, width, 3, padding=dilation, dilation=dilation)
        self.conv2 = nn.Conv1d(width, width, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, T)
        return x + self.conv2(F.silu(self.conv1(F.silu(x))))


def _stack(width: int, depth: int) -> list[nn.Module]:
    return [ResBlock(width, 3**i) for i in range(depth)]


class MotionTokenizer(nn.Module):
    def __init__(self, config: TokenizerConfig) -> None:
        super().__init__()
        self.config = config
        c = config
        levels = c.downsample.bit_length() - 1  # 4x -> 2 halvings
        down: list[nn.Module] = [nn.Conv1d(c.input_dim, c.width, 3, padding=1)]
        for _ in range(levels):
            down += [nn.Conv1d(c.width, c.width, 4, stride=2, padding=1), *_stack(c.width, c.depth)]
        self.encoder = nn.Sequential(*down, nn.SiLU(), nn.Conv1d(c.width, c.code_dim, 3, padding=1))
        up: list[nn.Module] = [nn.Conv1d(c.code_dim, c.width, 3, padding=1)]
        for _ in range(levels):
            up += [
                *_stack(c.width, c.depth),
                nn.Upsample(scale_factor=2),
                nn.Conv1d(c.width, c.width, 3, padding=1),
            ]
        self.decoder = nn.Sequential(*up, nn.SiLU(), nn.Conv1d(c.width, c.input_dim, 3, padding=1))
        self.quantizer = ResidualQuantizer(
            c.num_quantizers,
            c.codebook_size,
            c.code_dim,
            c.ema_decay,
            c.dead_code_threshold,
            c.quantizer_dropout,
        )
        self.register_buffer("mean", torch.zeros(c.input_dim))
        self.register_buffer("std", torch.ones(c.input_dim))

    def set_normalization(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        self.mean.copy_(mean)
        self.std.copy_(std.clamp_min(1e-3))  # constant channels (contacts of a static clip) stay finite

    def _pad(self, features: torch.Tensor) -> torch.Tensor:
        """Pad T up to a multiple of the downsampling by repeating the last frame."""
        extra = -features.shape[1] % self.config.downsample
        return torch.cat([features, features[:, -1:].expand(-1, extra, -1)], 1) if extra else features

    def encode_latent(self, features: torch.Tensor) -> torch.Tensor:
        """(B, T, C) raw features -> (B, L, D) continuous latents, L = ceil(T / 4)."""
        x = (self._pad(features) - self.mean) / self.std
        return self.encoder(x.transpose(1, 2)).transpose(1, 2)

    def forward(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(B, T, C) -> reconstruction (B, T, C) in raw units, codes (B, L, Q), commitment loss."""
        quantized, codes, commit = self.quantizer(self.encode_latent(features))
        return self.decode_latent(quantized)[:, : features.shape[1]], codes, commit

    @torch.no_grad()
    def encode(self, features: torch.Tensor) -> torch.Tensor:
        """(B, T, C) -> codes (B, L, Q)."""
        return self.quantizer(self.encode_latent(features))[1]

    def decode_latent(self, latent: torch.Tensor) -> torch.Tensor:
        """(B, L, D) -> (B, 4L, C) raw features."""
        x = self.decoder(latent.transpose(1, 2)).transpose(1, 2)
        return x * self.std + self.mean

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """(B, L, Q') codes (Q' <= Q: coarser) -> (B, 4L, C) raw features."""
        return self.decode_latent(self.quantizer.decode_codes(codes))
