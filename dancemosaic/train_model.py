"""Progressive training of the masked model: backbone, residual transformer, music tower, pose tower.

Synchronised masking: the backbone and a tower see the same corrupted tokens, because the tower
runs on the backbone's own embedded input. The towers train with the backbone frozen; their
kinematic and pose losses reach the logits through straight-through Gumbel-softmax samples decoded
by the frozen tokenizer decoder.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from dancemosaic import conditioning, skeleton
from dancemosaic.datasets.tokens import TokenBatch, TokenClip, token_windows
from dancemosaic.representation import joints_from_features
from dancemosaic.text import TextEncoder
from dancemosaic.timing import FPS
from dancemosaic.tokenizer import MotionTokenizer
from dancemosaic.train import StageOptions, kinematic_losses
from dancemosaic.transformer import Conditions, MaskedMotionModel, ResidualTransformer

TEXT_DROPOUT = 0.1  # condition dropout: trains the null-text logits that guidance subtracts
MUSIC_DROPOUT = 0.1
POSE_GROUPS = ("upper_body", "lower_body", "arms", "legs", "root_trajectory", "left_arm", "right_leg")


def cosine_mask(padding: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """(B, W) -> (B, W) bool: a cos(pi/2 u)-share (u uniform) of each window's real tokens, at least one."""
    batch, width = padding.shape
    ratio = torch.cos(math.pi / 2 * torch.rand(batch, generator=generator))
    lengths = (~padding).sum(1)
    counts = (ratio * lengths).round().clamp(min=1).long()
    scores = torch.rand(batch, width, generator=generator).masked_fill(padding, 2.0)
    ranks = scores.argsort(1).argsort(1)
    return ranks < counts[:, None]


def corrupt(
    tokens: torch.Tensor, mask: torch.Tensor, mask_id: int, generator: torch.Generator
) -> torch.Tensor:
    """BERT-style: masked positions become MASK (80 %), a random token (10 %) or stay (10 %)."""
    roll = torch.rand(tokens.shape, generator=generator)
    random_tokens = torch.randint(mask_id, tokens.shape, generator=generator)
    out = torch.where(mask & (roll < 0.8), torch.full_like(tokens, mask_id), tokens)
    return torch.where(mask & (roll >= 0.8) & (roll < 0.9), random_tokens, out)


def _conditions(
    batch: TokenBatch, encoder: TextEncoder, generator: torch.Generator, width: int
) -> Conditions:
    """Text with condition dropout; music and pose absent (a tower's step fills its own in)."""
    size, device = len(batch.texts), batch.codes.device
    keep_text = (torch.rand(size, generator=generator) >= TEXT_DROPOUT).to(device)
    no = torch.zeros(size, dtype=torch.bool, device=device)
    music = torch.zeros(size, width, conditioning.MUSIC_DIM, device=device)
    pose = torch.zeros(size, width, conditioning.POSE_DIM, device=device)
    return Conditions(encoder.encode(batch.texts).to(device), keep_text, music, no, pose, no)


def _masked_batch(
    items: list[TokenClip],
    options: StageOptions,
    mask_id: int,
    device: torch.device,
    generator: torch.Generator,
) -> tuple[TokenBatch, torch.Tensor, torch.Tensor]:
    """A window batch on ``device`` with its cosine mask and BERT-corrupted first-quantizer inputs."""
    batch = token_windows(items, options.batch, options.window, generator, options.mix)
    mask = cosine_mask(batch.padding, generator)
    inputs = corrupt(batch.codes[..., 0], mask, mask_id, generator)
    return batch.to(device), mask.to(device), inputs.to(device)


def _device(module: torch.nn.Module) -> torch.device:
    return next(module.parameters()).device


def _masked_ce(logits: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(logits[mask], target[mask])


def backbone_step(
    model: MaskedMotionModel, items: list[TokenClip], encoder: TextEncoder, options: StageOptions
):
    def step(generator: torch.Generator) -> dict[str, torch.Tensor]:
        batch, mask, inputs = _masked_batch(items, options, model.backbone.mask_id, _device(model), generator)
        target = batch.codes[..., 0]
        logits = model(inputs, _conditions(batch, encoder, generator, options.window), batch.padding)
        loss = _masked_ce(logits, target, mask)
        accuracy = (logits[mask].argmax(-1) == target[mask]).float().mean()
        return {"loss": loss, "accuracy": accuracy}

    return step


def residual_step(
    residual: ResidualTransformer, tokenizer: MotionTokenizer, items: list[TokenClip], encoder: TextEncoder,
    options: StageOptions,
):  # fmt: skip
    books = tokenizer.quantizer.codebooks

    def step(generator: torch.Generator) -> dict[str, torch.Tensor]:
        batch = token_windows(items, options.batch, options.window, generator, options.mix)
        batch = batch.to(_device(residual))
        q = torch.randint(1, len(books), (len(batch.texts),), generator=generator).to(batch.codes.device)
        lower = torch.stack(
            [
                sum(books[i].lookup(c[:, i]) for i in range(int(k)))
                for c, k in zip(batch.codes, q, strict=True)
            ]
        )
        text = encoder.encode(batch.texts).to(q.device)
        keep_text = (torch.rand(len(q), generator=generator) >= TEXT_DROPOUT).to(q.device)
        logits = residual(lower, q, text, keep_text, batch.padding)
        target = batch.codes.gather(2, q[:, None, None].expand(-1, batch.codes.shape[1], 1))[..., 0]
        loss = _masked_ce(logits, target, ~batch.padding)
        return {"loss": loss}

    return step


def gumbel_features(
    logits: torch.Tensor, batch: TokenBatch, mask: torch.Tensor, tokenizer: MotionTokenizer
) -> torch.Tensor:
    """Decode straight-through Gumbel-softmax samples at masked positions (ground truth elsewhere)."""
    books = tokenizer.quantizer.codebooks
    sample = F.gumbel_softmax(logits, tau=1.0, hard=True)  # (B, W, K), gradients flow to logits
    truth = F.one_hot(batch.codes[..., 0], logits.shape[-1]).to(sample)
    onehot = torch.where(mask[..., None], sample, truth)
    latent = onehot @ books[0].embed + sum(books[q].lookup(batch.codes[..., q]) for q in range(1, len(books)))
    return tokenizer.decode_latent(latent)


def music_tower_step(
    model: MaskedMotionModel, tokenizer: MotionTokenizer, pairs: list[TokenClip], encoder: TextEncoder,
    options: StageOptions,
):  # fmt: skip
    def step(generator: torch.Generator) -> dict[str, torch.Tensor]:
        batch, mask, inputs = _masked_batch(pairs, options, model.backbone.mask_id, _device(model), generator)
        target = batch.codes[..., 0]
        cond = _conditions(batch, encoder, generator, options.window)
        music_present = (torch.rand(len(target), generator=generator) >= MUSIC_DROPOUT).to(target.device)
        music = conditioning.music_signal(batch.music, options.window)
        cond = Conditions(cond.text, cond.text_present, music, music_present, cond.pose, cond.pose_present)
        logits = model(inputs, cond, batch.padding)
        kin = kinematic_losses(gumbel_features(logits, batch, mask, tokenizer), batch.features)
        ce = _masked_ce(logits, target, mask)
        loss = (
            ce + 0.5 * kin["position"] + 0.5 * kin["velocity"] + 0.2 * kin["acceleration"] + 0.5 * kin["foot"]
        )
        return {"loss": loss, "ce": ce, **kin}

    return step


def random_constraints(joints: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """(B, T, 22, 3) -> (B, T, 22) bool: a body part over all frames, or sparse key frames."""
    batch, frames = joints.shape[:2]
    mask = torch.zeros(batch, frames, skeleton.NUM_BODY_JOINTS, dtype=torch.bool)
    for b in range(batch):
        group = POSE_GROUPS[int(torch.randint(len(POSE_GROUPS), (), generator=generator))]
        joints_in = [j for j in skeleton.BODY_PARTS[group] if j < skeleton.NUM_BODY_JOINTS]
        keyframes = torch.rand(frames, generator=generator) < 0.1
        frames_on = (
            keyframes if torch.rand((), generator=generator) < 0.3 else torch.ones(frames, dtype=torch.bool)
        )
        mask[b][frames_on[:, None] & torch.isin(torch.arange(22), torch.tensor(joints_in))[None]] = True
    return mask


def pose_discrepancy(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """D(P, P^) of the paper (Eq. 5): mean squared distance over constrained (frame, joint) entries."""
    squared = (pred - target).pow(2).sum(-1)
    return (squared * mask).sum() / mask.sum().clamp(min=1)


def pose_tower_step(
    model: MaskedMotionModel, tokenizer: MotionTokenizer, items: list[TokenClip], encoder: TextEncoder,
    options: StageOptions,
):  # fmt: skip
    def step(generator: torch.Generator) -> dict[str, torch.Tensor]:
        batch, mask, inputs = _masked_batch(items, options, model.backbone.mask_id, _device(model), generator)
        target = batch.codes[..., 0]
        joints = joints_from_features(batch.features, FPS)  # (B, T, 22, 3), window starts at origin
        constrained = random_constraints(joints, generator).to(joints.device)
        cond = _conditions(batch, encoder, generator, options.window)
        pose = conditioning.pose_signal(joints, constrained, options.window)
        cond = Conditions(
            cond.text,
            cond.text_present,
            cond.music,
            cond.music_present,
            pose,
            torch.ones_like(cond.pose_present),
        )
        logits = model(inputs, cond, batch.padding)
        predicted = joints_from_features(gumbel_features(logits, batch, mask, tokenizer), FPS)
        discrepancy = pose_discrepancy(predicted, joints, constrained)
        ce = _masked_ce(logits, target, mask)
        return {"loss": ce + 1.0 * discrepancy, "ce": ce, "discrepancy": discrepancy}

    return step


def music_statistics(pairs: list[TokenClip], width: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and std of the per-token music signal over every pair's frames."""
    frames = torch.cat([p.music for p in pairs if p.music is not None])
    signal = conditioning.music_signal(frames[None], len(frames) // 4)[0]
    return signal.mean(0), signal.std(0).clamp_min(1e-3)
