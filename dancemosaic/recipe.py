"""The training recipe: the stages in order, their data, and the exported engine checkpoint.

    tokenizer -> backbone (text) -> residual -> music tower (backbone frozen) -> pose tower (frozen)

Each stage resumes from its own folder under ``out`` and starts from the previous stage's weights.
With ``init`` (an engine checkpoint), every stage starts from that checkpoint's weights instead of
from scratch: fine-tuning, for when new data arrives and a CPU is all there is.

When the run trains the backbone, each tower starts as a copy of that trained backbone with zero
links (ControlNet, as the paper builds its towers), not from the layers it was made with: those
were a copy of the backbone before training (a random one when starting from scratch).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch

from dancemosaic import checkpoint, distributed
from dancemosaic.config import ModelConfig
from dancemosaic.datasets.tokens import tokenize, tokenize_pairs
from dancemosaic.datasets.windows import Mix, load_clip_features
from dancemosaic.model import DanceModel
from dancemosaic.text import load_text_encoder
from dancemosaic.train import StageOptions, run_stage, train_tokenizer
from dancemosaic.train_model import (
    backbone_step,
    music_statistics,
    music_tower_step,
    pose_tower_step,
    residual_step,
)

log = logging.getLogger(__name__)
STAGES = ("tokenizer", "backbone", "residual", "music_tower", "pose_tower")


@dataclass(frozen=True)
class Recipe:
    """Step counts sized for the starter checkpoint on a 2-core CPU (about 75 minutes in all)."""

    tokenizer: StageOptions = StageOptions(steps=3500, lr=4e-4, window=64, save_every=100)
    backbone: StageOptions = StageOptions(steps=3000, batch=32, lr=4e-4, window=40)
    residual: StageOptions = StageOptions(steps=1000, batch=32, lr=4e-4, window=40)
    music_tower: StageOptions = StageOptions(steps=1000, batch=16, lr=2e-4, window=40)
    pose_tower: StageOptions = StageOptions(steps=600, batch=16, lr=2e-4, window=40)
    stages: tuple[str, ...] = field(default=STAGES)


# A fine-tune of the checkpoint given as ``init``: its backbone trained on with the learning rate
# annealed to 0 (the starter's constant-rate fine-tune had stopped mid-descent), then both towers
# copied afresh from that backbone and trained; the tokenizer and the residual transformer are kept.
# Measured on the starter and not shipped (benchmarks/REPORT.md, stop 21).
ANNEALED_FINE_TUNE = Recipe(
    backbone=StageOptions(steps=3000, batch=32, lr=2e-4, window=40, anneal=True),
    music_tower=StageOptions(steps=1500, batch=16, lr=2e-4, window=40),
    pose_tower=StageOptions(steps=500, batch=16, lr=2e-4, window=40),
    stages=("backbone", "music_tower", "pose_tower"),
)
# The annealed fine-tune on a mix with more recorded dance and each kind's styles square-root
# balanced (tango 2 -> 7 % and waltz 58 -> 43 % of the recorded windows; salsa, modern and the
# unlabelled dances likewise among the other dances), for the style its prompt names.
_BALANCED = {"mix": Mix({"recorded": 0.6, "dance": 0.25, "other": 0.15}, style_power=0.5)}
BALANCED_FINE_TUNE = Recipe(
    backbone=replace(ANNEALED_FINE_TUNE.backbone, **_BALANCED),
    music_tower=replace(ANNEALED_FINE_TUNE.music_tower, **_BALANCED),
    pose_tower=replace(ANNEALED_FINE_TUNE.pose_tower, **_BALANCED),
    stages=ANNEALED_FINE_TUNE.stages,
)
# The annealed fine-tune with the backbone trained 8000 steps at up to 3e-4 instead of 3000 at 2e-4.
# The starter's backbone was under-fitted: with 85 % of a dance's codes given it predicted a masked
# code less often than copying its neighbour does (`benchmarks/position_accuracy.py`). The starter
# of stop 27 is this recipe run on the starter of stop 26 (benchmarks/REPORT.md).
LONG_FINE_TUNE = replace(
    ANNEALED_FINE_TUNE, backbone=replace(ANNEALED_FINE_TUNE.backbone, steps=8000, lr=3e-4)
)
RECIPES = {
    "full": Recipe(),
    "anneal": ANNEALED_FINE_TUNE,
    "balanced": BALANCED_FINE_TUNE,
    "long": LONG_FINE_TUNE,
}


def _fit_windows(recipe: Recipe, max_tokens: int) -> Recipe:
    """Token windows no longer than the model's (the tokenizer's window is in frames: unchanged)."""
    stages = {
        s: replace(getattr(recipe, s), window=min(getattr(recipe, s).window, max_tokens)) for s in STAGES[1:]
    }
    return replace(recipe, **stages)


def _load_previous(model: DanceModel, out: Path, stage: str) -> None:
    """Start a stage from the newest finished earlier stage's weights (unless it resumes itself)."""
    if _started(out, stage):
        return
    for earlier in reversed(STAGES[1 : STAGES.index(stage)]):
        if _started(out, earlier):
            checkpoint.load_weights(model, out / earlier)
            return


def _started(out: Path, stage: str) -> bool:
    """Whether ``stage`` has saved weights of its own (it resumes them)."""
    return (out / stage / checkpoint.WEIGHTS).is_file()


def _initial_model(config: ModelConfig, text_dim: int, init: Path | None) -> DanceModel:
    """A fresh model, or the weights (and decoding window) of the engine checkpoint ``init``."""
    if init is None:
        return DanceModel(config, text_dim)
    saved = checkpoint.read_config(init)
    if ModelConfig.from_dict(saved["model"]) != config or saved["text_dim"] != text_dim:
        raise ValueError(f"{init} has another architecture than the preset being trained")
    return checkpoint.load_weights(DanceModel(config, text_dim, saved.get("window")), init)


def trained_window(recipe: Recipe, model: DanceModel) -> int:
    """The decoding window after ``recipe``: no longer than any transformer stage's training window
    (this run's or, while a stage is left as it was, the window the model already had)."""
    transformers = STAGES[1:]
    run = [getattr(recipe, s).window for s in transformers if s in recipe.stages]
    kept = [] if set(transformers) <= set(recipe.stages) else [model.window]
    return min(kept + run)


def train(
    cache: Path, out: Path, config: ModelConfig, recipe: Recipe = Recipe(), init: Path | None = None
) -> DanceModel:
    out = Path(out)
    recipe = _fit_windows(recipe, config.transformer.max_tokens)
    torch.manual_seed(0)
    clips = load_clip_features(cache)
    encoder = load_text_encoder(config.text_encoder)
    model = _initial_model(config, encoder.dim, init)
    if "tokenizer" in recipe.stages:
        train_tokenizer(clips, config, recipe.tokenizer, out, model.tokenizer if init else None)
    if "tokenizer" in recipe.stages or init is None:  # else init's tokenizer is kept
        if not _started(out, "tokenizer"):
            raise ValueError(f"no tokenizer in {out}: run the tokenizer stage or fine-tune a checkpoint")
        checkpoint.load_weights(model.tokenizer, out / "tokenizer")
    model.to(distributed.setup().device)
    model.eval()
    items = tokenize(model.tokenizer, clips)
    pairs = tokenize_pairs(cache, model.tokenizer, clips)
    mean, std = music_statistics(pairs, recipe.music_tower.window)
    model.masked.music_mean.copy_(mean)
    model.masked.music_std.copy_(std)
    masked, tokenizer = model.masked, model.tokenizer
    plan = {
        "backbone": (masked.backbone, backbone_step(masked, items, encoder, recipe.backbone)),
        "residual": (
            model.residual,
            residual_step(model.residual, tokenizer, items, encoder, recipe.residual),
        ),
        "music_tower": (
            masked.music_tower,
            music_tower_step(masked, tokenizer, pairs, encoder, recipe.music_tower),
        ),
        "pose_tower": (
            masked.pose_tower,
            pose_tower_step(masked, tokenizer, items, encoder, recipe.pose_tower),
        ),
    }
    model.window = trained_window(recipe, model)
    saved_config = model.checkpoint_config()
    for stage in (s for s in STAGES[1:] if s in recipe.stages):
        _load_previous(model, out, stage)
        part, step = plan[stage]
        if stage.endswith("_tower") and "backbone" in recipe.stages and not _started(out, stage):
            part.copy_backbone(masked.backbone)  # ControlNet: a copy of the backbone just trained
        model.train_only(part)
        run_stage(stage, model, saved_config, step, getattr(recipe, stage), out)
    return model
