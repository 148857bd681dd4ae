"""Training stages: the tokenizer, then the backbone, then each tower with the backbone frozen.

Every stage is resumable (weights and optimizer state are saved every ``save_every`` steps as
safetensors under ``<out>/<stage>/``), shows a tqdm bar with an ETA, and logs its losses as JSON
lines to ``<out>/<stage>/log.jsonl``.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from dancemosaic import checkpoint, distributed
from dancemosaic.config import ModelConfig
from dancemosaic.datasets.windows import ClipFeatures, Mix, feature_statistics, random_windows
from dancemosaic.representation import joints_from_features
from dancemosaic.timing import FPS
from dancemosaic.tokenizer import MotionTokenizer

log = logging.getLogger(__name__)
WARMUP_STEPS = 200  # a short linear warm-up of the learning rate


@dataclass(frozen=True)
class StageOptions:
    steps: int
    batch: int = 64
    lr: float = 2e-4
    window: int = 64  # frames per training window
    save_every: int = 250
    seed: int = 0
    # Decay the learning rate to 0 along a cosine after the warm-up. A fine-tune that keeps a
    # constant rate ends wherever its last noisy steps left it; annealing lets it settle.
    anneal: bool = False
    mix: Mix = field(default_factory=Mix)  # how the stage draws its windows from the clips


def _stage_dir(out: Path, stage: str) -> Path:
    folder = Path(out) / stage
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def run_stage(
    stage: str,
    model: nn.Module,
    config: dict,
    step_fn: Callable[[torch.Generator], dict[str, torch.Tensor]],
    options: StageOptions,
    out: Path,
) -> nn.Module:
    """Optimise ``step_fn``'s "loss" for ``options.steps`` steps, resuming where a run stopped."""
    folder = _stage_dir(out, stage)
    world = distributed.setup()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = adamw(params, options.lr)
    start = 0
    if (folder / "state.safetensors").is_file():
        checkpoint.load_weights(model, folder)
        start, _ = checkpoint.load_training_state(folder / "state.safetensors", optimizer)
        log.info("%s: resuming at step %d", stage, start)
    generator = torch.Generator().manual_seed(options.seed + start + 1000 * world.rank)  # ranks differ
    model.train()
    bar = tqdm(
        range(start, options.steps), initial=start, total=options.steps, desc=stage, disable=not world.is_main
    )
    log_path = folder / "log.jsonl" if world.is_main else Path(os.devnull)
    with open(log_path, "a") as log_file, flushing_denormals():
        for step in bar:
            losses = step_fn(generator)
            optimise(losses["loss"], optimizer, params, learning_rate(options, step), world)
            values = {k: round(float(v.detach()), 5) for k, v in losses.items()}
            bar.set_postfix(loss=values["loss"])
            log_file.write(json.dumps({"step": step + 1, "time": time.time(), **values}) + "\n")
            if world.is_main and ((step + 1) % options.save_every == 0 or step + 1 == options.steps):
                checkpoint.save_module(model, folder, config)
                checkpoint.save_training_state(folder / "state.safetensors", optimizer, step + 1)
                log_file.flush()
    model.eval()
    return model


@contextmanager
def flushing_denormals() -> Iterator[None]:
    """Flush denormal floats to zero inside (decaying EMA statistics and Adam moments turn denormal,
    which is slow on a CPU), and give the process back its own setting after: the flag is global,
    and left on it broke everything after a training run that relies on IEEE floats (numpy's
    subnormals, hypothesis's float strategies)."""
    before = torch.tensor(1e-310, dtype=torch.float64).mul(1.0).item() == 0.0
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(before)


def adamw(params: list[nn.Parameter], lr: float) -> torch.optim.Optimizer:
    """Every stage's optimiser."""
    return torch.optim.AdamW(params, lr=lr, weight_decay=0.01)


def warm_up(step: int) -> float:
    """The share of the learning rate at ``step`` (0-based) of a stage."""
    return min(1.0, (step + 1) / WARMUP_STEPS)


def cosine_decay(progress: float, floor: float = 0.0) -> float:
    """The share of the learning rate ``progress`` (0 to 1) of the way through a cosine anneal that
    ends at ``floor``."""
    return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))


def learning_rate(options: StageOptions, step: int) -> float:
    """The learning rate at ``step`` (0-based): warm-up, then constant or annealed to 0 at the end."""
    if not options.anneal or step < WARMUP_STEPS:
        return options.lr * warm_up(step)
    return options.lr * cosine_decay((step - WARMUP_STEPS) / max(1, options.steps - WARMUP_STEPS))


def optimise(
    loss: torch.Tensor, optimizer: torch.optim.Optimizer, params: list[nn.Parameter], lr: float,
    world: distributed.World,
) -> None:  # fmt: skip
    """One update at learning rate ``lr``: gradients averaged over the ranks, clipped to norm 1."""
    for group in optimizer.param_groups:
        group["lr"] = lr
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    distributed.average_gradients(params, world)
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    optimizer.step()


def kinematic_losses(pred: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
    """Joint position, velocity and foot losses between feature sequences (B, T, C), via FK."""
    pred_joints, target_joints = joints_from_features(pred, FPS), joints_from_features(target, FPS)
    pred_vel, target_vel = pred_joints.diff(dim=1), target_joints.diff(dim=1)
    feet = [7, 8, 10, 11]
    return {
        "position": F.l1_loss(pred_joints, target_joints),
        "velocity": F.l1_loss(pred_vel, target_vel) * FPS / 10,
        "acceleration": F.l1_loss(pred_vel.diff(dim=1), target_vel.diff(dim=1)) * FPS / 10,
        "foot": F.l1_loss(pred_vel[:, :, feet], target_vel[:, :, feet]) * FPS / 10,
    }


def train_tokenizer(
    clips: list[ClipFeatures],
    config: ModelConfig,
    options: StageOptions,
    out: Path,
    init: MotionTokenizer | None = None,
) -> MotionTokenizer:
    """Train a tokenizer from scratch, or fine-tune ``init`` (its normalisation kept, so its codes
    keep their meaning for the transformer stages that start from the same checkpoint)."""
    tokenizer = MotionTokenizer(config.tokenizer)
    if init is None:
        tokenizer.set_normalization(*feature_statistics(clips))
    else:
        tokenizer.load_state_dict(init.state_dict())
    tokenizer.to(distributed.setup().device)

    def step(generator: torch.Generator) -> dict[str, torch.Tensor]:
        x = random_windows(clips, options.batch, options.window, generator, options.mix)[0]
        x = x.to(tokenizer.mean.device)
        recon, _, commit = tokenizer(x)
        features = F.smooth_l1_loss((recon - x) / tokenizer.std, torch.zeros_like(x))
        kin = kinematic_losses(recon, x)
        loss = features + 2.0 * kin["position"] + kin["velocity"] + config.tokenizer.commitment * commit
        return {"loss": loss, "features": features, "commit": commit, **kin}

    return run_stage("tokenizer", tokenizer, config.to_dict(), step, options, out)
