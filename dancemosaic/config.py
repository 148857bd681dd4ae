"""Architecture and training configs (saved with the weights) and their presets.

``*Config`` dataclasses describe what a checkpoint is; per-call options live elsewhere. Every
config is built from a plain dict with ``from_dict``, which rejects unknown keys so that a typo in
a config file or an incompatible checkpoint fails loudly instead of silently using defaults.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, TypeVar

from dancemosaic import representation
from dancemosaic.timing import FRAMES_PER_TOKEN

T = TypeVar("T")


def from_dict(cls: type[T], data: dict[str, Any]) -> T:
    """Build a (possibly nested) config dataclass from a dict, refusing unknown keys."""
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ValueError(f"{cls.__name__} has no settings {unknown}; known: {sorted(known)}")
    values = {}
    for name, value in data.items():
        nested = _NESTED.get((cls.__name__, name))
        values[name] = from_dict(nested, value) if nested and isinstance(value, dict) else value
    return cls(**values)


@dataclass(frozen=True)
class TokenizerConfig:
    """Residual VQ-VAE over motion features: 1D convolutions, FRAMES_PER_TOKEN x downsampling."""

    input_dim: int = representation.FEATURE_DIM
    width: int = 128
    depth: int = 2  # residual blocks per resolution
    code_dim: int = 128
    codebook_size: int = 512
    num_quantizers: int = 4
    quantizer_dropout: float = 0.2  # share of training steps that use a random number of quantizers
    commitment: float = 0.02
    ema_decay: float = 0.99
    dead_code_threshold: float = 1.0  # a code used fewer times than this per ~100 steps is reset
    downsample: int = FRAMES_PER_TOKEN

    def __post_init__(self) -> None:
        if self.downsample != FRAMES_PER_TOKEN:
            raise ValueError(f"downsample must equal timing.FRAMES_PER_TOKEN ({FRAMES_PER_TOKEN})")


@dataclass(frozen=True)
class TransformerConfig:
    """Masked motion transformer (the backbone) and its ControlNet-style towers."""

    dim: int = 192
    depth: int = 4
    heads: int = 4
    ff_mult: int = 4
    dropout: float = 0.1
    max_tokens: int = 128  # longest token sequence in one window (17 s); long songs are stitched
    residual_depth: int = 2  # layers of the residual-quantizer transformer


@dataclass(frozen=True)
class ModelConfig:
    tokenizer: TokenizerConfig = field(default_factory=TokenizerConfig)
    transformer: TransformerConfig = field(default_factory=TransformerConfig)
    text_encoder: str = "minilm-l6-v2"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        return from_dict(cls, data)

    @classmethod
    def tiny(cls) -> ModelConfig:
        """For tests: builds and runs in milliseconds (with the hash text encoder)."""
        return cls(
            TokenizerConfig(width=32, depth=1, code_dim=16, codebook_size=32, num_quantizers=2),
            TransformerConfig(dim=32, depth=2, heads=2, ff_mult=2, max_tokens=32, residual_depth=1),
            text_encoder="hash-64",
        )

    @classmethod
    def small(cls) -> ModelConfig:
        """The starter checkpoint: sized so that every stage trains on a 2-core CPU within a session."""
        return cls()

    @classmethod
    def base(cls) -> ModelConfig:
        """For users with GPUs and AIST++/FineDance."""
        return cls(
            TokenizerConfig(width=512, depth=3, code_dim=512, codebook_size=512, num_quantizers=6),
            TransformerConfig(dim=512, depth=12, heads=8, max_tokens=256, residual_depth=6),
        )


_NESTED = {("ModelConfig", "tokenizer"): TokenizerConfig, ("ModelConfig", "transformer"): TransformerConfig}
