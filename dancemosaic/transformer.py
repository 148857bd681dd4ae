"""The masked motion transformer (text-to-motion backbone), its music and pose towers, and the
residual-token transformer.

Backbone: motion tokens (the first quantizer's codes, or MASK) plus a leading text token go through
pre-norm transformer layers to logits over the codebook. Each tower is a trainable copy of the
backbone's layers that sees the same embedded sequence plus a per-token signal (music features or
pose constraints) and adds its layer-i output, through a zero-initialised linear layer, to the
backbone's layer-i output (ControlNet). A modality that is absent for a sample is a value, not a
branch: its ``present`` flag zeroes that tower's links (text: a learned null embedding instead).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from dancemosaic.config import TransformerConfig


def _with_text_slot(padding: torch.Tensor | None) -> torch.Tensor | None:
    """Token padding (B, L) -> (B, 1 + L): the leading text token is never padding."""
    return None if padding is None else F.pad(padding, (1, 0), value=False)


def _layer(config: TransformerConfig) -> nn.TransformerEncoderLayer:
    return nn.TransformerEncoderLayer(
        config.dim, config.heads, config.dim * config.ff_mult, config.dropout,
        activation="gelu", batch_first=True, norm_first=True,
    )  # fmt: skip


class Backbone(nn.Module):
    def __init__(self, config: TransformerConfig, codebook_size: int, text_dim: int) -> None:
        super().__init__()
        self.mask_id = codebook_size
        self.token_embed = nn.Embedding(codebook_size + 1, config.dim)
        self.position = nn.Parameter(torch.randn(config.max_tokens + 1, config.dim) * 0.02)
        self.text_proj = nn.Linear(text_dim, config.dim)
        self.null_text = nn.Parameter(torch.zeros(config.dim))
        self.layers = nn.ModuleList(_layer(config) for _ in range(config.depth))
        self.norm = nn.LayerNorm(config.dim)
        self.head = nn.Linear(config.dim, codebook_size)

    def embed(self, tokens: torch.Tensor, text: torch.Tensor, text_present: torch.Tensor) -> torch.Tensor:
        """tokens (B, L), text (B, Dt), text_present (B,) -> (B, 1 + L, D)."""
        if tokens.shape[1] + 1 > self.position.shape[0]:
            raise ValueError(
                f"{tokens.shape[1]} tokens exceed the model's window of {self.position.shape[0] - 1}"
            )
        cond = torch.where(text_present[:, None], self.text_proj(text), self.null_text)
        x = torch.cat([cond[:, None], self.token_embed(tokens)], dim=1)
        return x + self.position[: x.shape[1]]

    def forward(
        self, x: torch.Tensor, padding: torch.Tensor | None, links: list[torch.Tensor] | None = None
    ) -> torch.Tensor:
        """Embedded (B, 1 + L, D) -> logits (B, L, K); ``links[i]`` is added after layer i."""
        for i, layer in enumerate(self.layers):
            x = layer(x, src_key_padding_mask=padding)
            if links is not None:
                x = x + links[i]
        return self.head(self.norm(x[:, 1:]))


class Tower(nn.Module):
    """A trainable copy of the backbone's layers, driven by a per-token signal (B, L, S)."""

    def __init__(self, backbone: Backbone, signal_dim: int, dim: int) -> None:
        super().__init__()
        self.layers = copy.deepcopy(backbone.layers)
        self.encoder = nn.Sequential(nn.Linear(signal_dim, dim), nn.GELU(), nn.Linear(dim, dim))
        self.links = nn.ModuleList(nn.Linear(dim, dim) for _ in self.layers)
        self.copy_backbone(backbone)

    @torch.no_grad()
    def copy_backbone(self, backbone: Backbone) -> None:
        """Start the tower as a copy of the backbone's layers as they are now, with zero links.

        ControlNet's trainable copy is a copy of the *trained* backbone: its layers already read
        motion, and the zero links leave the backbone's output unchanged until the tower learns.
        """
        self.layers.load_state_dict(backbone.layers.state_dict())
        for link in self.links:
            nn.init.zeros_(link.weight)
            nn.init.zeros_(link.bias)

    def forward(
        self, x: torch.Tensor, signal: torch.Tensor, present: torch.Tensor, padding: torch.Tensor | None
    ) -> list[torch.Tensor]:
        """Embedded backbone input (B, 1 + L, D) -> one link output (B, 1 + L, D) per layer."""
        h = x + F.pad(self.encoder(signal), (0, 0, 1, 0))  # the text token gets no signal
        gate = present.to(x.dtype)[:, None, None]
        outputs = []
        for layer, link in zip(self.layers, self.links, strict=True):
            h = layer(h, src_key_padding_mask=padding)
            outputs.append(link(h) * gate)
        return outputs


class MaskedMotionModel(nn.Module):
    """Backbone + music tower + pose tower; ``forward`` returns logits for the first quantizer."""

    def __init__(
        self, config: TransformerConfig, codebook_size: int, text_dim: int, music_dim: int, pose_dim: int
    ) -> None:
        super().__init__()
        self.backbone = Backbone(config, codebook_size, text_dim)
        self.music_tower = Tower(self.backbone, music_dim, config.dim)
        self.pose_tower = Tower(self.backbone, pose_dim, config.dim)
        # Music signals are standardised with the training music's statistics (saved with weights).
        self.register_buffer("music_mean", torch.zeros(music_dim))
        self.register_buffer("music_std", torch.ones(music_dim))

    def forward(
        self, tokens: torch.Tensor, cond: Conditions, padding: torch.Tensor | None = None
    ) -> torch.Tensor:
        """tokens (B, L), padding (B, L) True where there is no token -> logits (B, L, K)."""
        padding = _with_text_slot(padding)
        x = self.backbone.embed(tokens, cond.text, cond.text_present)
        music_signal = (cond.music - self.music_mean) / self.music_std
        towers = (
            (self.music_tower, music_signal, cond.music_present),
            (self.pose_tower, cond.pose, cond.pose_present),
        )
        links = None
        for tower, signal, present in towers:
            if not present.any():  # every link would be multiplied by 0: skip the work, same result
                continue
            outputs = tower(x, signal, present, padding)
            links = outputs if links is None else [a + b for a, b in zip(links, outputs, strict=True)]
        return self.backbone(x, padding, links)


@dataclass(frozen=True)
class Conditions:
    """Per-sample conditions, batched: text (B, Dt), music (B, L, M), pose (B, L, P), presence (B,)."""

    text: torch.Tensor
    text_present: torch.Tensor
    music: torch.Tensor
    music_present: torch.Tensor
    pose: torch.Tensor
    pose_present: torch.Tensor


class ResidualTransformer(nn.Module):
    """Predicts quantizer q's codes from the summed embeddings of quantizers < q (MoMask)."""

    def __init__(
        self, config: TransformerConfig, code_dim: int, codebook_size: int, num_quantizers: int, text_dim: int
    ) -> None:
        super().__init__()
        self.input = nn.Linear(code_dim, config.dim)
        self.quantizer_embed = nn.Embedding(num_quantizers, config.dim)
        self.position = nn.Parameter(torch.randn(config.max_tokens + 1, config.dim) * 0.02)
        self.text_proj = nn.Linear(text_dim, config.dim)
        self.null_text = nn.Parameter(torch.zeros(config.dim))
        self.layers = nn.ModuleList(_layer(config) for _ in range(config.residual_depth))
        self.norm = nn.LayerNorm(config.dim)
        self.head = nn.Linear(config.dim, codebook_size)

    def forward(
        self,
        lower: torch.Tensor,
        q: torch.Tensor,
        text: torch.Tensor,
        text_present: torch.Tensor,
        padding: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """lower (B, L, code_dim) summed code embeddings, q (B,) quantizer index -> logits (B, L, K)."""
        cond = torch.where(
            text_present[:, None], self.text_proj(text), self.null_text
        ) + self.quantizer_embed(q)
        x = torch.cat([cond[:, None], self.input(lower)], dim=1)
        x = x + self.position[: x.shape[1]]
        padding = _with_text_slot(padding)
        for layer in self.layers:
            x = layer(x, src_key_padding_mask=padding)
        return self.head(self.norm(x[:, 1:]))
