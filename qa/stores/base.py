"""The store contract: what retrieval, ingest and the engine may ask of an index.

Two stores keep it: the embedded one (``qa.stores.embedded``: SQLite rows, FAISS and BM25
segments in a folder) and the shared one (``qa.stores.postgres``: PostgreSQL + pgvector). Both
show one *generation* of the index at a time (a reader's snapshot, or a writer's pending one);
``qa.stores.open_store`` and ``qa.stores.writer`` pick one by location. The contract tests in
``tests/test_store_contract.py`` run against both.

A store's searches take the filters in the form the store prepared them in
(``prepare_filters``: a boolean mask by chunk id for the embedded store, a WHERE fragment for
PostgreSQL); callers pass that value back unchanged and never look inside it.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any, NamedTuple, Protocol, TypeVar, runtime_checkable

import numpy as np

from ..config import ChunkingConfig
from ..types import Article, Chunk, Filters
from .manifest import Manifest


class Hit(NamedTuple):
    """One search result: a chunk and its score (inner product for dense, BM25 for lexical)."""
    chunk_id: int
    score: float


K = TypeVar("K")
V = TypeVar("V")


class Rows(Protocol[K, V]):
    """A read-only view of one generation's rows, by key (articles by doc id, chunks by chunk id)."""

    def get(self, key: K, default: Any = None, /) -> V | None: ...

    def keys(self) -> list[K]: ...

    def values(self) -> list[V]: ...

    def __getitem__(self, key: K, /) -> V: ...

    def __contains__(self, key: object, /) -> bool: ...

    def __len__(self) -> int: ...

    def __iter__(self) -> Iterator[K]: ...


PreparedFilters = Any  # opaque: what ``Store.prepare_filters`` returned, handed back to its searches


@runtime_checkable
class Store(Protocol):
    """A readable generation of an index."""
    manifest: Manifest
    generation: int
    concurrent_searches: bool  # may the dense and the lexical search of one question overlap?

    @property
    def articles(self) -> Rows[str, Article]: ...  # doc id -> Article (text included)

    @property
    def chunks(self) -> Rows[int, Chunk]: ...  # chunk id -> Chunk (text = its article's span)

    @property
    def generation_name(self) -> str | None: ...

    @property
    def chunking(self) -> ChunkingConfig: ...

    @property
    def n_vectors(self) -> int: ...

    def __len__(self) -> int: ...

    def chunk_ids(self, doc_id: str) -> list[int]: ...

    def chunk_counts(self) -> dict[str, int]: ...

    def article_id_by_hash(self, content_hash: str) -> str | None: ...

    def published_dates(self) -> list[tuple[str, str]]: ...

    def source_counts(self) -> dict[str, int]: ...

    def doc_freq(self, term: str) -> int: ...

    def doc_freqs(self, terms: list[str]) -> dict[str, int]: ...

    def day(self, cid: int) -> float: ...

    def vector(self, cid: int) -> np.ndarray: ...

    def vectors(self, cids: list[int]) -> np.ndarray: ...

    def vector_matrix(self) -> tuple[np.ndarray, np.ndarray]: ...

    def avg_len(self) -> float: ...

    def prepare_filters(self, f: Filters) -> PreparedFilters | None: ...

    def search_dense(self, query_vec: np.ndarray, n: int, allowed: PreparedFilters = None, /) -> list[Hit]: ...

    def search_lexical(self, terms: list[str], n: int, allowed: PreparedFilters = None, /) -> list[Hit]: ...


@runtime_checkable
class WritableStore(Store, Protocol):
    """The one writer's pending generation (inside ``qa.stores.writer``)."""

    def add_article(self, article: Article, chunks: list[Chunk], vectors: np.ndarray | None) -> None: ...

    def remove_article(self, doc_id: str) -> None: ...

    def allocate_chunk_ids(self, n: int) -> int: ...

    def commit(self) -> None: ...

    def compact(self) -> dict: ...


def normalize_source(s: str) -> str:
    """``https://www.Example.com/`` and ``example.com`` are one source."""
    s = (s or "").strip().lower()
    s = re.sub(r"^[a-z]+://", "", s)
    return s.removeprefix("www.").rstrip("/")


def day_number(iso: str) -> float:
    """Proleptic ordinal of an ISO date (NaN when unknown): dates as numbers for filters."""
    try:
        return float(dt.date.fromisoformat(iso[:10]).toordinal())
    except (ValueError, TypeError):
        return float("nan")

