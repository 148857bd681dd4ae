"""The one masked-decoding loop (MaskGIT / MoMask, DanceMosaic Sec. 3.4) and residual-code filling.

Generation, in-betweening, out-painting, body-part editing and long-form stitching differ only in
which tokens are given: ``known`` tokens where ``keep`` is True stay exactly as given, everything
else starts as MASK and is decoded. Randomness comes only from the caller's ``torch.Generator``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from dancemosaic.guidance import GuidanceOptions, guided_logits
from dancemosaic.rhythm import BeatOptions
from dancemosaic.tokenizer import MotionTokenizer
from dancemosaic.transformer import Conditions, MaskedMotionModel, ResidualTransformer


@dataclass(frozen=True)
class SamplingOptions:
    """Per-call decoding settings (never saved with a checkpoint).

    ``confidence_noise`` (MaskGIT's choice temperature, annealed to 0 by the last step) keeps the
    decoding from settling into runs of one repeated code, which is a frozen dance: with pure
    confidence order 90-97 % of neighbouring first codes were equal against 60-75 % in real dances.
    2 is the shipped dance-first checkpoint's best trade on the held-out songs: FID_k 132 against
    167 at 0, 707 at 4 and 1153 at 6, while joint speed goes from 0.27 through 0.39 to 0.67 of the
    real dancers' (`benchmarks/REPORT.md`). ``top_k`` keeps the k most likely codes before sampling
    (None: the whole codebook); 50 is about MoMask's "top 10%" filter on a 512-code book.
    ``residual_temperature`` 0 would be argmax for quantizers 1..Q-1, as MoMask does; sampling
    them at 0.6 made the held-out dances move and pose like the dancers (8 seeds, decoded through
    the 1.5-frame low-pass): FID_k 38 / FID_g 13 against 70 / 37 with argmax, joint speed 1.13
    against 0.68 and pose spread 0.78 against 0.62 of the real dancers' (argmax takes the most
    likely detail for every token, and the dance loses range). ``temperature`` 1.2: the starter of
    stop 27, whose backbone was trained 8000 steps (``recipe.LONG_FINE_TUNE``), is sharper than the
    under-fitted backbone 1.8 was chosen for. On the held-out songs (16 seeds) it scored FID_k 58 /
    FID_g 31 at 1.2 against 74 / 46 at 1.5 and 76 / 55 at 1.8, with style 70 against 61 % and
    joint speed 1.03 against 1.17 of the dancers'; hotter sampling draws codes from the tail of
    each token's distribution, and the decoding then copies them into held poses
    (`benchmarks/REPORT.md`, stop 27; the earlier choice of 1.8: stops 13-22).
    """

    steps: int = 10
    temperature: float = 1.2
    top_k: int | None = 50
    guidance: GuidanceOptions = field(default_factory=GuidanceOptions)
    residual_temperature: float = 0.6
    confidence_noise: float = 2.0  # MaskGIT's choice temperature: Gumbel noise on the remasking order
    refine_steps: int = 100  # token optimisation steps when pose constraints are given (0: none)
    beat: BeatOptions = field(default_factory=BeatOptions)  # with a song and no pose targets

    def __post_init__(self) -> None:
        if self.steps < 1:
            raise ValueError(f"steps={self.steps}: decoding needs at least 1 step")
        if not self.temperature > 0:
            raise ValueError(f"temperature={self.temperature} must be > 0")
        if self.top_k is not None and self.top_k < 1:
            raise ValueError(f"top_k={self.top_k} must be >= 1, or None for the whole codebook")
        if self.refine_steps < 0:
            raise ValueError(f"refine_steps={self.refine_steps} must be >= 0")
        if not self.confidence_noise >= 0:
            raise ValueError(
                f"confidence_noise={self.confidence_noise} must be >= 0 (0: pure confidence order)"
            )
        if not self.residual_temperature >= 0:
            raise ValueError(f"residual_temperature={self.residual_temperature} must be >= 0 (0: argmax)")


def remask_count(num_free: torch.Tensor, step: int, steps: int) -> torch.Tensor:
    """Free tokens left masked after iteration ``step`` (0-based): floor(L_free cos(pi/2 (t+1)/T)).

    Decreasing in ``step`` and exactly 0 after the last one, so decoding always finishes.
    """
    ratio = 0.0 if step + 1 >= steps else math.cos(math.pi / 2 * (step + 1) / steps)
    return (num_free.to(torch.float64) * ratio).floor().long()  # (B,)


def _top_k(logits: torch.Tensor, k: int | None) -> torch.Tensor:
    """(..., K) -> the same logits with all but the k largest set to -inf."""
    if k is None or k >= logits.shape[-1]:
        return logits
    threshold = logits.topk(k, dim=-1).values[..., -1:]  # (..., 1)
    return logits.masked_fill(logits < threshold, -math.inf)


def _sample(logits: torch.Tensor, temperature: float, generator: torch.Generator) -> torch.Tensor:
    """(B, L, K) logits -> (B, L) codes drawn from softmax(logits / temperature).

    Draws on the CPU with the caller's CPU generator wherever the logits live, so a seed gives the
    same dance on CUDA as on the CPU (up to the logits' numerical differences).
    """
    probs = torch.softmax(logits.float() / temperature, dim=-1).flatten(0, 1).cpu()  # (B * L, K)
    codes = torch.multinomial(probs, 1, generator=generator).view(logits.shape[:-1])
    return codes.to(logits.device)


def _confidence(
    logits: torch.Tensor, sampled: torch.Tensor, noise: float, generator: torch.Generator
) -> torch.Tensor:
    """(B, L) log-probability of each sampled code, plus ``noise`` x Gumbel noise.

    Without noise the most predictable codes are kept first at every step, and the most predictable
    codes are the quiet ones (standing, swaying): each step then conditions on more quiet context,
    and long decoding settles into a still dance. MaskGIT's annealed noise mixes the order up early
    and fades to pure confidence by the last step.
    """
    log_probs = torch.log_softmax(logits.float(), -1).gather(-1, sampled[..., None]).squeeze(-1)
    if noise <= 0:
        return log_probs
    uniform = torch.rand(sampled.shape, generator=generator).clamp(1e-9, 1 - 1e-9).to(log_probs.device)
    return log_probs + noise * -torch.log(-torch.log(uniform))


def _given(
    shape: tuple[int, ...], known: torch.Tensor | None, keep: torch.Tensor | None, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """Validated (known (B, L, ...) long, keep (B, L) bool); no ``keep`` means nothing is kept."""
    batch, num_tokens = shape[:2]
    if keep is None:
        keep = torch.zeros(batch, num_tokens, dtype=torch.bool, device=device)
    if keep.shape != (batch, num_tokens):
        raise ValueError(
            f"keep has shape {tuple(keep.shape)}; expected (batch, tokens) = {(batch, num_tokens)}"
        )
    if known is None:
        if keep.any():
            raise ValueError("keep marks tokens to preserve but no known tokens were given")
        known = torch.zeros(shape, dtype=torch.long, device=device)
    if known.shape != shape:
        raise ValueError(f"known tokens have shape {tuple(known.shape)}; expected {shape}")
    return known.long(), keep.bool()


@torch.no_grad()
def decode_tokens(
    model: MaskedMotionModel,
    cond: Conditions,
    num_tokens: int,
    known: torch.Tensor | None = None,
    keep: torch.Tensor | None = None,
    *,
    options: SamplingOptions = SamplingOptions(),
    generator: torch.Generator,
    padding: torch.Tensor | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> torch.Tensor:
    """Decode first-quantizer tokens (B, L) for ``cond``; ``known`` (B, L) is copied where ``keep``.

    ``padding`` (B, L), True past a shorter window's end, is hidden from attention and not decoded
    (it holds ``known``, or 0), so windows of different lengths share one batch.

    Each iteration t samples every masked token from the guided, temperature-scaled, top-k
    distribution, scores it by its guided log-probability (plus annealed Gumbel noise when
    ``options.confidence_noise`` > 0; tokens decoded earlier and kept tokens score
    +inf, so they are never remasked: the model is trained to predict masked tokens only) and remasks
    the ``remask_count`` least confident. ``progress(t + 1, steps)`` is called after each iteration.
    """
    batch, mask_id = cond.text.shape[0], model.backbone.mask_id
    if cond.music.shape[1] != num_tokens or cond.pose.shape[1] != num_tokens:
        raise ValueError(f"music/pose signals cover {cond.music.shape[1]} tokens; expected {num_tokens}")
    known, keep = _given((batch, num_tokens), known, keep, cond.text.device)
    keep = keep if padding is None else keep | padding
    tokens = torch.where(keep, known, mask_id)  # (B, L)
    num_free = (~keep).sum(1)  # (B,)
    for step in range(options.steps):
        masked = tokens == mask_id  # (B, L)
        logits = guided_logits(model, tokens, cond, options.guidance, padding)  # (B, L, K)
        sampled = _sample(_top_k(logits, options.top_k), options.temperature, generator)  # (B, L)
        tokens = torch.where(masked, sampled, tokens)
        confidence = _confidence(logits, sampled, options.confidence_noise * (1 - (step + 1) / options.steps),
                                 generator).masked_fill(~masked, math.inf)  # fmt: skip
        ranks = confidence.argsort(dim=1, stable=True).argsort(dim=1)  # (B, L): 0 = least confident
        tokens = tokens.masked_fill(ranks < remask_count(num_free, step, options.steps)[:, None], mask_id)
        if progress is not None:
            progress(step + 1, options.steps)
    return tokens  # (B, L)


@torch.no_grad()
def decode_residual(
    residual_model: ResidualTransformer,
    tokenizer: MotionTokenizer,
    base_tokens: torch.Tensor,
    text: torch.Tensor,
    text_present: torch.Tensor,
    known_codes: torch.Tensor | None = None,
    keep: torch.Tensor | None = None,
    *,
    options: SamplingOptions = SamplingOptions(),
    generator: torch.Generator | None = None,
    padding: torch.Tensor | None = None,
) -> torch.Tensor:
    """First-quantizer tokens (B, L) -> all codes (B, L, Q), filling quantizers 1..Q-1 in order.

    Quantizer q is predicted from the summed embeddings of codes 0..q-1 (kept ones included, so the
    context around an edit is the real one); argmax when ``options.residual_temperature`` is 0,
    else sampled with ``generator``. Where ``keep`` is True every code is ``known_codes`` exactly;
    ``padding`` (B, L) is hidden from attention, as in ``decode_tokens``.
    """
    batch, num_tokens = base_tokens.shape
    shape = (batch, num_tokens, tokenizer.quantizer.num_quantizers)
    known_codes, keep = _given(shape, known_codes, keep, base_tokens.device)
    if options.residual_temperature > 0 and generator is None:
        raise ValueError("sampling residual codes (residual_temperature > 0) needs a torch.Generator")
    codes = [torch.where(keep, known_codes[..., 0], base_tokens)]
    for q in range(1, tokenizer.quantizer.num_quantizers):
        lower = tokenizer.quantizer.decode_codes(torch.stack(codes, -1))  # (B, L, D)
        level = torch.full((batch,), q, dtype=torch.long, device=base_tokens.device)
        logits = residual_model(lower, level, text, text_present, padding)  # (B, L, K)
        if options.residual_temperature > 0:
            picked = _sample(logits, options.residual_temperature, generator)
        else:
            picked = logits.argmax(-1)
        codes.append(torch.where(keep, known_codes[..., q], picked))
    return torch.stack(codes, -1)  # (B, L, Q)
