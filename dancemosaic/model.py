"""All of DanceMosaic's networks in one module, built from a ``ModelConfig``: the tokenizer, the
masked model (backbone + towers) and the residual transformer. One state dict, one checkpoint."""

from __future__ import annotations

from torch import nn

from dancemosaic import conditioning
from dancemosaic.config import ModelConfig
from dancemosaic.tokenizer import MotionTokenizer
from dancemosaic.transformer import MaskedMotionModel, ResidualTransformer


class DanceModel(nn.Module):
    """``window``: the most tokens the transformers see at once when decoding, which is the window
    they were trained on (default: their whole position table, ``max_tokens``). Positions past the
    training window keep their random initial embeddings: the starter, trained on 40-token windows,
    decoded 128-token ones until stop 26 and predicted masked codes past token 40 right 6-27 % of
    the time against 46-51 % before it (``benchmarks/position_accuracy.py``)."""

    def __init__(self, config: ModelConfig, text_dim: int, window: int | None = None) -> None:
        super().__init__()
        self.config, self.text_dim = config, text_dim
        self.window = config.transformer.max_tokens if window is None else window
        if not 1 <= self.window <= config.transformer.max_tokens:
            raise ValueError(
                f"a decoding window of {self.window} tokens does not fit the model's "
                f"{config.transformer.max_tokens} positions"
            )
        tok, trf = config.tokenizer, config.transformer
        self.tokenizer = MotionTokenizer(tok)
        self.masked = MaskedMotionModel(
            trf, tok.codebook_size, text_dim, conditioning.MUSIC_DIM, conditioning.POSE_DIM
        )
        self.residual = ResidualTransformer(
            trf, tok.code_dim, tok.codebook_size, tok.num_quantizers, text_dim
        )

    def checkpoint_config(self) -> dict:
        """What an engine checkpoint's config.json holds besides its format version."""
        return {"model": self.config.to_dict(), "text_dim": self.text_dim, "window": self.window}

    def train_only(self, *parts: nn.Module) -> None:
        """Freeze everything but ``parts`` (progressive training)."""
        self.requires_grad_(False)
        for part in parts:
            part.requires_grad_(True)
