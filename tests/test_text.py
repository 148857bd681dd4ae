"""Text encoders: MiniLM loads offline and makes sense, caching and hashing are deterministic, prompts
are cleaned, and wrong names or unloadable CLIP weights are ValueErrors that say what to do."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from dancemosaic import text
from dancemosaic.text import HashTextEncoder, load_text_encoder, validate_prompt


@pytest.fixture(scope="module", autouse=True)
def offline(tmp_path_factory) -> Iterator[None]:
    """Every hub lookup forbidden: MiniLM's weights must come from the installed package. The
    vectors kept on disk go to a folder of this module's own, so each test computes what it checks."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")
        patch.setenv("TRANSFORMERS_OFFLINE", "1")
        patch.setenv(text.CACHE_ENV, str(tmp_path_factory.mktemp("text-cache")))
        yield


@pytest.fixture(scope="module")
def minilm() -> text.TextEncoder:
    return load_text_encoder("minilm-l6-v2")


def test_minilm_gives_unit_vectors_of_its_dim(minilm: text.TextEncoder) -> None:
    vectors = minilm.encode(["a person dances salsa", "a person walks backwards"])
    assert (minilm.name, minilm.dim) == ("minilm-l6-v2", 384)
    assert vectors.shape == (2, 384) and vectors.dtype == torch.float32
    assert vectors.device.type == "cpu" and not vectors.requires_grad
    torch.testing.assert_close(vectors.norm(dim=-1), torch.ones(2))


def test_minilm_is_default_and_loaded_once(minilm: text.TextEncoder) -> None:
    assert load_text_encoder() is minilm


def test_minilm_is_semantically_sensible(minilm: text.TextEncoder) -> None:
    salsa, dancing, walking = minilm.encode(
        ["a person dances salsa", "someone is dancing salsa", "a person walks backwards"]
    )
    assert salsa @ dancing > salsa @ walking + 0.2


def test_a_prompt_embeds_the_same_whatever_its_batch(tmp_path, monkeypatch) -> None:
    # Both vectors are computed here, by encoders with empty caches (in memory and on disk): the
    # shared encoder may hold one computed by an earlier test on another thread, whose OpenMP
    # thread count (and so rounding) can differ from this one's.
    batch = ["a much longer prompt about a dancer who spins and jumps", "a person dances salsa"]
    monkeypatch.setenv(text.CACHE_ENV, str(tmp_path / "first"))
    in_a_batch = text.MiniLMTextEncoder().encode(batch)[1]
    monkeypatch.setenv(text.CACHE_ENV, str(tmp_path / "second"))
    assert torch.equal(in_a_batch, text.MiniLMTextEncoder().encode(["a person dances salsa"])[0])


def test_a_prompt_seen_by_an_earlier_process_needs_no_model_load(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv(text.CACHE_ENV, str(tmp_path))
    first = text.MiniLMTextEncoder()  # as a first process would
    vector = first.encode(["a person dances a waltz"])[0]
    assert first._loaded is not None and len(list(tmp_path.glob("text/minilm-l6-v2/*.npy"))) == 1
    later = text.MiniLMTextEncoder()  # a later process: the vector comes from disk, bit for bit
    assert torch.equal(later.encode(["a person  dances a waltz"])[0], vector) and later._loaded is None
    kept = next(tmp_path.glob("text/minilm-l6-v2/*.npy"))
    kept.write_bytes(b"torn")  # a broken file is computed again, not trusted
    assert torch.equal(text.MiniLMTextEncoder().encode(["a person dances a waltz"])[0], vector)


def test_cache_returns_identical_tensors_that_callers_cannot_corrupt() -> None:
    encoder = HashTextEncoder()
    first = encoder.encode(["a person dances salsa"])
    first.zero_()
    again = encoder.encode(["a person dances salsa", "  a person   dances salsa\n"])
    assert torch.equal(again[0], again[1]) and again.abs().sum() > 0
    assert torch.equal(again, encoder.encode(["a person dances salsa"] * 2))


def test_cache_is_bounded_least_recently_used_first() -> None:
    encoder = HashTextEncoder(cache_size=2)
    encoder.encode(["one", "two"])
    encoder.encode(["one", "three"])
    assert list(encoder._cache) == ["one", "three"]


def test_hash_encoder_is_deterministic_with_its_dim() -> None:
    encoder = load_text_encoder("hash-64")
    vectors = encoder.encode(["a person dances salsa", "a person dances salsa", "!!!"])
    assert (encoder.name, encoder.dim, vectors.shape) == ("hash-64", 64, (3, 64))
    assert torch.equal(vectors, HashTextEncoder().encode(["a person dances salsa"] * 2 + ["!!!"]))
    torch.testing.assert_close(vectors.norm(dim=-1), torch.ones(3))
    assert encoder.encode([]).shape == (0, 64)


def test_validate_prompt_cleans_unicode_and_control_characters() -> None:
    messy = "\ufeff  ａ person\tdances\x00 sal\u200bsa\r\n\u00a0\x1b "
    assert validate_prompt(messy) == "a person dances salsa"
    assert validate_prompt("é" * 500) == "é" * text.MAX_PROMPT_CHARS


@pytest.mark.parametrize("empty", ["", "   ", "\n\t\x00", "\u200b\ufeff"])
def test_empty_prompts_are_rejected(empty: str) -> None:
    with pytest.raises(ValueError, match="describe the dance"):
        validate_prompt(empty)
    with pytest.raises(ValueError, match="describe the dance"):
        HashTextEncoder().encode(["fine", empty])


def test_encode_wants_a_list_not_a_string() -> None:
    with pytest.raises(ValueError, match=r"\[prompt\]"):
        HashTextEncoder().encode("a person dances salsa")  # type: ignore[arg-type]


def test_unknown_encoder_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match="minilm-l6-v2, clip-vit-b-32, hash-64"):
        load_text_encoder("bert")


def test_clip_without_loadable_weights_says_how_to_fix_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(text.CLIP_WEIGHTS_ENV, str(tmp_path / "missing.safetensors"))
    with pytest.raises(ValueError, match="clip-vit-b-32.*DANCEMOSAIC_CLIP_WEIGHTS"):
        load_text_encoder("clip-vit-b-32")
