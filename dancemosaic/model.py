"""All of DanceMosaic's networks in one module, built from a ``ModelConfig``: the tokenizer, the
masked model (backbone + towers) and the residual transformer. One state dict, one checkpoint."""

from __future__ import annotations

from torch import nn

from dancemosaic import conditioning
from dancemosaic.config import ModelConfig
from dancemosaic.tokenizer import MotionTokenizer
from dancemosaic.transformer import MaskedMotionModel, ResidualTransformer


class DanceModel(nn.Module):
    def __init__(self, config: ModelConfig, text_dim: int) -> None:
        super().__init__()
        self.config, self.text_dim = config, text_dim
        tok, trf = config.tokenizer, config.transformer
        self.tokenizer = MotionTokenizer(tok)
        self.masked = MaskedMotionModel(
            trf, tok.codebook_size, text_dim, conditioning.MUSIC_DIM, conditioning.POSE_DIM
        )
        self.residual = ResidualTransformer(
            trf, tok.code_dim, tok.codebook_size, tok.num_quantizers, text_dim
        )

    def train_only(self, *parts: nn.Module) -> None:
        """Freeze everything but ``parts`` (progressive training)."""
        self.requires_grad_(False)
        for part in parts:
            part.requires_grad_(True)
