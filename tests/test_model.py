"""Networks on a tiny random model: configs, tokenizer, residual quantizer, towers, checkpoints."""

from __future__ import annotations

import json

import pytest
import torch

from dancemosaic import checkpoint, conditioning, representation
from dancemosaic.config import ModelConfig, TokenizerConfig
from dancemosaic.model import DanceModel
from dancemosaic.quantizer import ResidualQuantizer
from dancemosaic.transformer import Conditions

TEXT_DIM = 64


def _conditions(batch: int, tokens: int, music: bool, pose: bool) -> Conditions:
    gen = torch.Generator().manual_seed(1)
    flag = torch.ones(batch, dtype=torch.bool)
    return Conditions(
        torch.randn(batch, TEXT_DIM, generator=gen), flag,
        torch.randn(batch, tokens, conditioning.MUSIC_DIM, generator=gen), flag & music,
        torch.randn(batch, tokens, conditioning.POSE_DIM, generator=gen), flag & pose,
    )  # fmt: skip


def test_config_round_trips_and_rejects_unknown_keys():
    config = ModelConfig.tiny()
    assert ModelConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    with pytest.raises(ValueError, match="no settings"):
        ModelConfig.from_dict({**config.to_dict(), "tokenizer": {"widht": 3}})
    with pytest.raises(ValueError, match="FRAMES_PER_TOKEN"):
        TokenizerConfig(downsample=2)


def test_tokenizer_downsamples_by_four_and_decodes_any_number_of_quantizers(make_motion):
    model = DanceModel(ModelConfig.tiny(), TEXT_DIM).eval()
    features = representation.motion_to_features(make_motion(frames=50))[None]  # (1, 50, 139)
    codes = model.tokenizer.encode(features)
    assert codes.shape == (1, 13, 2)  # ceil(50 / 4) tokens, 2 quantizers
    assert model.tokenizer.decode(codes).shape == (1, 52, representation.FEATURE_DIM)
    assert model.tokenizer.decode(codes[..., :1]).shape == (1, 52, representation.FEATURE_DIM)


def test_features_round_trip_through_a_motion(make_motion):
    motion = make_motion(frames=20)
    back = representation.features_to_motion(
        representation.motion_to_features(motion), motion.fps, motion.root[0, [0, 2]]
    )
    assert torch.allclose(back.joints(), motion.joints(), atol=1e-4)


def test_residual_quantizer_refines_and_resets_dead_codes():
    torch.manual_seed(0)
    rvq = ResidualQuantizer(3, 16, 8, decay=0.9, dead_threshold=1.0, dropout=0.0).train()
    data = torch.randn(4, 64, 8)
    for _ in range(200):
        rvq(data)
    rvq.eval()
    _, codes, _ = rvq(data)
    errors = [(rvq.decode_codes(codes[..., : q + 1]) - data).pow(2).mean() for q in range(3)]
    assert errors[0] > errors[1] > errors[2]  # each quantizer encodes what the previous left over
    assert min(rvq.usage()) > 0.5  # dead codes were re-seeded onto the data


def test_zero_linked_towers_leave_the_backbone_logits_unchanged():
    model = DanceModel(ModelConfig.tiny(), TEXT_DIM).eval()
    tokens = torch.randint(0, 32, (3, 10))
    with torch.no_grad():
        full = model.masked(tokens, _conditions(3, 10, music=True, pose=True))
        alone = model.masked(tokens, _conditions(3, 10, music=False, pose=False))
        torch.nn.init.normal_(model.masked.music_tower.links[0].weight)
        linked = model.masked(tokens, _conditions(3, 10, music=True, pose=False))
    assert torch.equal(full, alone)
    assert not torch.allclose(linked, alone)  # once a link is trained the tower does steer


def test_a_tower_restarts_as_a_copy_of_the_trained_backbone():
    model = DanceModel(ModelConfig.tiny(), TEXT_DIM).eval()
    backbone, tower = model.masked.backbone, model.masked.music_tower
    with torch.no_grad():
        for param in backbone.layers.parameters():  # the backbone trains on after the tower was made
            param.add_(torch.randn_like(param))
        torch.nn.init.normal_(tower.links[1].weight)
    own = backbone.layers.state_dict()
    assert not all(torch.equal(v, own[k]) for k, v in tower.layers.state_dict().items())
    tower.copy_backbone(backbone)
    assert all(torch.equal(v, own[k]) for k, v in tower.layers.state_dict().items())
    assert all(not link.weight.any() and not link.bias.any() for link in tower.links)
    tokens = torch.randint(0, 32, (2, 6))
    with torch.no_grad():  # zero links again: the copy leaves the backbone's logits as they are
        linked = model.masked(tokens, _conditions(2, 6, music=True, pose=False))
        alone = model.masked(tokens, _conditions(2, 6, music=False, pose=False))
    assert torch.equal(linked, alone)


def test_checkpoint_round_trip_and_refusals(tmp_path):
    model = DanceModel(ModelConfig.tiny(), TEXT_DIM).eval()
    checkpoint.save_module(model, tmp_path / "ckpt", {"model": model.config.to_dict()})
    loaded = DanceModel(ModelConfig.from_dict(checkpoint.read_config(tmp_path / "ckpt")["model"]), TEXT_DIM)
    checkpoint.load_weights(loaded, tmp_path / "ckpt")
    assert all(
        torch.equal(a, b)
        for a, b in zip(model.state_dict().values(), loaded.state_dict().values(), strict=True)
    )
    config = json.loads((tmp_path / "ckpt" / "config.json").read_text())
    (tmp_path / "ckpt" / "config.json").write_text(json.dumps({**config, "format_version": 99}))
    with pytest.raises(ValueError, match="format 99"):
        checkpoint.read_config(tmp_path / "ckpt")
    with pytest.raises(ValueError, match="does not fit"):
        checkpoint.load_weights(DanceModel(ModelConfig.tiny(), TEXT_DIM + 1), tmp_path / "ckpt")


def test_training_state_resumes_the_optimizer(tmp_path):
    layer = torch.nn.Linear(3, 2)
    optimizer = torch.optim.AdamW(layer.parameters())
    layer(torch.ones(1, 3)).sum().backward()
    optimizer.step()
    checkpoint.save_training_state(tmp_path / "state.safetensors", optimizer, 7)
    fresh = torch.optim.AdamW(layer.parameters())
    step, _ = checkpoint.load_training_state(tmp_path / "state.safetensors", fresh)
    assert step == 7
    for a, b in zip(optimizer.state.values(), fresh.state.values(), strict=True):
        assert torch.equal(a["exp_avg"], b["exp_avg"]) and torch.equal(a["exp_avg_sq"], b["exp_avg_sq"])
