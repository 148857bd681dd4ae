"""Guidance, the masked-decoding loop, residual filling and pose refinement on a tiny random model."""

from __future__ import annotations

import math
from dataclasses import replace
from types import SimpleNamespace

import pytest
import torch

from dancemosaic import conditioning
from dancemosaic.config import ModelConfig
from dancemosaic.guidance import GuidanceOptions, guided_logits
from dancemosaic.refine import RefineOptions, latent_joints, refine_codes
from dancemosaic.sampling import SamplingOptions, decode_residual, decode_tokens, remask_count
from dancemosaic.tokenizer import MotionTokenizer
from dancemosaic.transformer import Conditions, MaskedMotionModel, ResidualTransformer

TEXT_DIM, BATCH, TOKENS = 64, 3, 12
FAST = SamplingOptions(steps=5, top_k=8)


@pytest.fixture(scope="module")
def nets() -> SimpleNamespace:
    torch.manual_seed(0)
    config = ModelConfig.tiny()
    t = config.tokenizer
    model = MaskedMotionModel(
        config.transformer, t.codebook_size, TEXT_DIM, conditioning.MUSIC_DIM, conditioning.POSE_DIM
    )
    for tower in (model.music_tower, model.pose_tower):  # a fresh tower's zero links would hide it
        for link in tower.links:
            torch.nn.init.normal_(link.weight, std=0.1)
    residual = ResidualTransformer(
        config.transformer, t.code_dim, t.codebook_size, t.num_quantizers, TEXT_DIM
    )
    tokenizer = MotionTokenizer(t)
    return SimpleNamespace(
        model=model.eval(), residual=residual.eval(), tokenizer=tokenizer.eval(), config=config
    )


def make_conditions(seed: int = 0) -> Conditions:
    gen = torch.Generator().manual_seed(seed)
    return Conditions(
        text=torch.randn(BATCH, TEXT_DIM, generator=gen),
        text_present=torch.tensor([True, False, True]),
        music=torch.randn(BATCH, TOKENS, conditioning.MUSIC_DIM, generator=gen),
        music_present=torch.tensor([True, True, False]),
        pose=torch.randn(BATCH, TOKENS, conditioning.POSE_DIM, generator=gen),
        pose_present=torch.tensor([False, True, True]),
    )


def random_tokens(nets: SimpleNamespace, seed: int, *extra: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(nets.config.tokenizer.codebook_size, (BATCH, TOKENS, *extra), generator=gen)


def span_keep() -> torch.Tensor:
    """(B, L): True outside a different editable span per sample."""
    keep = torch.ones(BATCH, TOKENS, dtype=torch.bool)
    keep[0, 3:7] = keep[1, :5] = keep[2, 8:] = False
    return keep


def record_inputs(model: torch.nn.Module) -> tuple[list[torch.Tensor], torch.utils.hooks.RemovableHandle]:
    calls: list[torch.Tensor] = []
    handle = model.register_forward_hook(lambda _module, args, _out: calls.append(args[0].clone()))
    return calls, handle


# ----------------------------------------------------------------------------- guidance


def test_guidance_with_all_weights_one_is_the_conditional_logits(nets: SimpleNamespace) -> None:
    tokens, cond = random_tokens(nets, 0), make_conditions()
    with torch.no_grad():
        guided = guided_logits(nets.model, tokens, cond, GuidanceOptions(text=1.0, music=1.0, pose=1.0))
        assert torch.equal(guided, nets.model(tokens, cond))


def test_guidance_follows_its_formula_in_one_forward(nets: SimpleNamespace) -> None:
    tokens, cond = random_tokens(nets, 1), make_conditions()
    options = GuidanceOptions(text=2.5, music=0.5, pose=3.0)
    calls, handle = record_inputs(nets.model)
    with torch.no_grad():
        guided = guided_logits(nets.model, tokens, cond, options)
        handle.remove()
        full = nets.model(tokens, cond)
        expected = full.clone()
        for name, weight in options.weights().items():
            without = nets.model(
                tokens, replace(cond, **{f"{name}_present": torch.zeros(BATCH, dtype=torch.bool)})
            )
            expected += (weight - 1) * (full - without)
    assert len(calls) == 1
    assert len(calls[0]) == BATCH + 2 + 2 + 2  # full rows + one row per (present modality, sample)
    torch.testing.assert_close(guided, expected, atol=1e-5, rtol=1e-5)
    assert not torch.allclose(guided, full)


def test_padded_tokens_are_hidden_and_not_decoded(nets: SimpleNamespace) -> None:
    cond, padding = make_conditions(), torch.zeros(BATCH, TOKENS, dtype=torch.bool)
    padding[0, -3:] = True
    tokens = random_tokens(nets, 7)
    with torch.no_grad():
        guided = guided_logits(nets.model, tokens, cond, GuidanceOptions(1.0, 1.0, 1.0), padding)
        assert torch.equal(guided, nets.model(tokens, cond, padding))
    gen = torch.Generator().manual_seed(0)
    out = decode_tokens(nets.model, cond, TOKENS, tokens, options=FAST, generator=gen, padding=padding)
    assert torch.equal(out[padding], tokens[padding])
    assert (out != nets.model.backbone.mask_id).all()


def test_guidance_rejects_negative_weights() -> None:
    with pytest.raises(ValueError, match="music"):
        GuidanceOptions(music=-1.0)


# ----------------------------------------------------------------------------- decoding


def test_decoding_fills_every_token_and_is_deterministic_per_seed(nets: SimpleNamespace) -> None:
    cond = make_conditions()

    def decode(seed: int) -> torch.Tensor:
        return decode_tokens(
            nets.model, cond, TOKENS, options=FAST, generator=torch.Generator().manual_seed(seed)
        )

    first = decode(0)
    assert first.shape == (BATCH, TOKENS)
    assert (first != nets.model.backbone.mask_id).all()
    assert first.min() >= 0 and first.max() < nets.config.tokenizer.codebook_size
    assert torch.equal(first, decode(0))
    assert not torch.equal(first, decode(1))


def test_masked_tokens_follow_the_cosine_schedule(nets: SimpleNamespace) -> None:
    known, keep = random_tokens(nets, 2), span_keep()
    options = replace(FAST, steps=6, guidance=GuidanceOptions(1.0, 1.0, 1.0))  # one row per sample
    calls, handle = record_inputs(nets.model)
    out = decode_tokens(
        nets.model,
        make_conditions(),
        TOKENS,
        known,
        keep,
        options=options,
        generator=torch.Generator().manual_seed(0),
    )
    handle.remove()
    masked = torch.stack([(c == nets.model.backbone.mask_id).sum(1) for c in calls])  # (steps, B)
    masked = torch.cat([masked, (out == nets.model.backbone.mask_id).sum(1)[None]])  # (steps + 1, B)
    free = (~keep).sum(1)
    schedule = [free] + [(free * math.cos(math.pi / 2 * (t + 1) / 6)).floor().long() for t in range(5)]
    assert torch.equal(masked[:-1], torch.stack(schedule))
    assert (masked.diff(dim=0) <= 0).all() and (masked[-1] == 0).all()
    assert torch.equal(remask_count(free, 5, 6), torch.zeros(BATCH, dtype=torch.long))


def test_tokens_outside_the_edit_span_stay_exact(nets: SimpleNamespace) -> None:
    known_codes, keep, cond = random_tokens(nets, 3, 2), span_keep(), make_conditions()
    gen = torch.Generator().manual_seed(0)
    base = decode_tokens(nets.model, cond, TOKENS, known_codes[..., 0], keep, options=FAST, generator=gen)
    assert torch.equal(base[keep], known_codes[..., 0][keep])
    for options in (FAST, replace(FAST, residual_temperature=1.0)):
        codes = decode_residual(
            nets.residual, nets.tokenizer, base, cond.text, cond.text_present, known_codes, keep,
            options=options, generator=gen,
        )  # fmt: skip
        assert codes.shape == (BATCH, TOKENS, nets.config.tokenizer.num_quantizers)
        assert torch.equal(codes[keep], known_codes[keep])
        assert torch.equal(codes[..., 0], base)


def test_residual_decoding_is_deterministic(nets: SimpleNamespace) -> None:
    base, cond = random_tokens(nets, 4), make_conditions()
    options = replace(FAST, residual_temperature=1.0)

    def decode(seed: int) -> torch.Tensor:
        return decode_residual(
            nets.residual, nets.tokenizer, base, cond.text, cond.text_present,
            options=options, generator=torch.Generator().manual_seed(seed),
        )  # fmt: skip

    assert torch.equal(decode(0), decode(0))
    with pytest.raises(ValueError, match="Generator"):
        decode_residual(nets.residual, nets.tokenizer, base, cond.text, cond.text_present, options=options)


def test_sampling_options_say_what_to_change() -> None:
    with pytest.raises(ValueError, match="at least 1 step"):
        SamplingOptions(steps=0)


# ----------------------------------------------------------------------------- refinement


def test_refinement_moves_towards_the_pose_target_inside_the_span(nets: SimpleNamespace) -> None:
    codes, keep = random_tokens(nets, 5, 2), span_keep()
    frames = TOKENS * 4
    with torch.no_grad():
        target = latent_joints(
            nets.tokenizer, nets.tokenizer.quantizer.decode_codes(random_tokens(nets, 6, 2)), frames
        )
    constrained = torch.zeros(BATCH, frames, 22, dtype=torch.bool)
    constrained[:, :, [15, 20, 21]] = True  # head and wrists throughout
    before = refine_codes(nets.tokenizer, codes, target, constrained, keep, RefineOptions(steps=0))[1]
    refined, after = refine_codes(
        nets.tokenizer, codes, target, constrained, keep, RefineOptions(steps=30, eta=0.1)
    )
    assert (after <= before).all() and after.sum() < before.sum()
    assert torch.equal(refined[keep], codes[keep])


def test_confidence_noise_reorders_decoding_but_keeps_the_schedule_and_kept_tokens(
    nets: SimpleNamespace,
) -> None:
    known, keep, cond = random_tokens(nets, 5), span_keep(), make_conditions()

    def decode(noise: float, seed: int = 0) -> torch.Tensor:
        options = replace(FAST, steps=6, confidence_noise=noise)
        generator = torch.Generator().manual_seed(seed)
        return decode_tokens(nets.model, cond, TOKENS, known, keep, options=options, generator=generator)

    noisy = decode(4.0)
    assert (noisy != nets.model.backbone.mask_id).all() and torch.equal(noisy[keep], known[keep])
    assert torch.equal(noisy, decode(4.0))  # the noise comes from the caller's generator
    assert not torch.equal(noisy, decode(0.0))  # a different order commits different tokens
    with pytest.raises(ValueError, match="confidence_noise"):
        SamplingOptions(confidence_noise=-1.0)
