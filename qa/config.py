"""Engine settings, with defaults that can be overridden by environment variables.

QA_INDEX_DIR   index location (default ``index_store/``)
QA_TOP_K       passages returned by retrieval (default 8)
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field

FORMAT_VERSION = 1


def default_index_dir() -> str:
    return os.environ.get("QA_INDEX_DIR", "index_store")


@dataclass(frozen=True)
class ChunkingConfig:
    max_tokens: int = 128  # word pieces per chunk, special tokens and title prefix included
    overlap_tokens: int = 32  # whole sentences carried over from the previous chunk, at most this many
    title_in_embedding: bool = True  # embed "title\n\ntext" (measured: see README)


@dataclass(frozen=True)
class RetrievalConfig:
    k: int = field(default_factory=lambda: int(os.environ.get("QA_TOP_K", "8")))
    candidates: int = 60  # per retriever, before fusion
    rrf_k: int = 60
    dense_weight: float = 1.0
    lexical_weight: float = 0.25
    recency_half_life_days: float = 7.0  # as_of: weight of an article halves every this many days
    recency_weight: float = 2.0  # rrf: fused score x (1 + recency_weight * 0.5 ** (age / half_life))
    fusion: str = "linear"  # "linear": weighted cosine + scaled BM25 + recency bonus; "rrf": rank fusion
    recency_bonus: float = 0.4  # linear: + recency_bonus * 0.5 ** (age / half_life)
    max_per_article: int = 3
    near_duplicate_jaccard: float = 0.8


@dataclass(frozen=True)
class AnswerConfig:
    max_sentences: int = 3
    passages_considered: int = 5
    # confidence = (1 - retrieval_weight) * best sentence score + retrieval_weight * top passage score;
    # abstain below abstain_threshold, or when the best sentence scores below min_sentence_score.
    # Both calibrated on news-dev (see README, "Abstention").
    retrieval_weight: float = 0.5
    abstain_threshold: float = 0.47
    min_sentence_score: float = 0.30
    relative_margin: float = 0.85  # extra sentences must score within this ratio of the best
    context_penalty: float = 0.03  # cost of reading a sentence together with the one before it
    focus_weight: float = 2.0  # extra weight of the question's focus word (see answer.focus_term)
    nearby: str = "passage"  # half credit for question words found in: "passage" or "context" sentence


def as_dict(*configs) -> dict:
    out: dict = {}
    for c in configs:
        out[type(c).__name__] = asdict(c)
    return out
