"""Hybrid retrieval: dense (FAISS) + lexical (BM25), fused, filtered and time-aware.

1. Filters (sources, date range, and ``as_of``: nothing published after it) make a mask over
   chunks; FAISS searches only allowed ids (IDSelectorBatch) and BM25 gets the mask as weights.
2. Reciprocal-rank fusion of the two candidate lists, scaled so that 1.0 means "ranked first
   by both retrievers" (and, with ``as_of``, published on that day).
3. ``as_of``: each fused score is multiplied by ``1 + w * 0.5 ** (age_days / half_life)``, so
   articles published shortly before the question's date rise ("this week" is the week before
   ``as_of``); undated articles get no boost.
4. Near-duplicates collapse: a passage is dropped when its words overlap (Jaccard) an already
   kept passage above a threshold, or when its article already has ``max_per_article`` kept.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import bm25s
import faiss
import numpy as np

from .config import RetrievalConfig
from .embeddings import Embedder
from .store import IndexStore
from .types import Passage

faiss.omp_set_num_threads(1)  # torch and FAISS thread pools fight on small machines

MODES = ("hybrid", "dense", "lexical")


def _day(iso: str) -> float:
    try:
        return float(dt.date.fromisoformat(iso[:10]).toordinal())
    except (ValueError, TypeError):
        return float("nan")


def _norm_source(s: str) -> str:
    s = s.strip().lower()
    s = re.sub(r"^[a-z]+://", "", s)
    return s.removeprefix("www.").rstrip("/")


@dataclass
class Filters:
    sources: list[str] | None = None
    date_from: str | None = None
    date_to: str | None = None
    as_of: str | None = None

    def active(self) -> bool:
        return bool(self.sources or self.date_from or self.date_to or self.as_of)


class Retriever:
    """Searches one loaded generation of the index."""

    def __init__(self, store: IndexStore, embedder: Embedder, config: RetrievalConfig | None = None):
        self.store = store
        self.embedder = embedder
        self.config = config or RetrievalConfig()
        self.ids = np.array(sorted(store.chunks), dtype=np.int64)
        self.pos = {int(c): i for i, c in enumerate(self.ids)}
        chunks = [store.chunks[int(c)] for c in self.ids]
        arts = [store.articles[c.doc_id] for c in chunks]
        self.days = np.array([_day(a.published) for a in arts], dtype=np.float64)
        self.sources = np.array([_norm_source(a.source) for a in arts], dtype=object)
        self._stemmer = None
        self.bm25 = None
        if len(chunks):
            import Stemmer

            self._stemmer = Stemmer.Stemmer("english")
            corpus = [f"{a.title}\n{c.text}" for a, c in zip(arts, chunks)]
            tokens = bm25s.tokenize(corpus, stopwords="en", stemmer=self._stemmer, show_progress=False)
            self.bm25 = bm25s.BM25()
            self.bm25.index(tokens, show_progress=False)
            df = np.diff(self.bm25.scores["indptr"])
            self._df = {t: int(df[i]) for t, i in self.bm25.vocab_dict.items() if i < len(df)}

    def idf(self, term: str) -> float:
        """BM25 inverse document frequency of a stemmed term over the chunks (rare terms weigh more)."""
        n = len(self.ids)
        df = getattr(self, "_df", {}).get(term, 0)
        return float(np.log(1.0 + (n - df + 0.5) / (df + 0.5)))

    # ---- pieces ------------------------------------------------------------------------
    def mask(self, f: Filters) -> np.ndarray | None:
        """Boolean mask of allowed chunks (None = everything allowed)."""
        if not f.active():
            return None
        m = np.ones(len(self.ids), dtype=bool)
        if f.sources:
            wanted = {_norm_source(s) for s in f.sources}
            m &= np.array([s in wanted for s in self.sources], dtype=bool)
        known = ~np.isnan(self.days)
        if f.date_from:
            m &= known & (self.days >= _day(f.date_from))
        if f.date_to:
            m &= known & (self.days <= _day(f.date_to))
        if f.as_of:
            m &= ~known | (self.days <= _day(f.as_of))
        return m

    def dense(self, query_vec: np.ndarray, n: int, mask: np.ndarray | None) -> list[tuple[int, float]]:
        if not len(self.ids):
            return []
        params = None
        if mask is not None:
            allowed = self.ids[mask]
            if not len(allowed):
                return []
            params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(allowed))
        scores, ids = self.store.vectors.search(query_vec.reshape(1, -1).astype(np.float32), n, params=params)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]

    def lexical(self, query: str, n: int, mask: np.ndarray | None) -> list[tuple[int, float]]:
        if self.bm25 is None:
            return []
        q = bm25s.tokenize([query], stopwords="en", stemmer=self._stemmer, show_progress=False, return_ids=False)
        if not q[0]:
            return []
        n = min(n, len(self.ids))
        weights = None if mask is None else mask.astype(np.float32)
        docs, scores = self.bm25.retrieve(q, k=n, show_progress=False, weight_mask=weights, n_threads=1)
        return [(int(self.ids[d]), float(s)) for d, s in zip(docs[0], scores[0]) if s > 0]

    def recency(self, chunk_id: int, as_of: str | None) -> float:
        if not as_of:
            return 1.0
        day = self.days[self.pos[chunk_id]]
        if np.isnan(day):
            return 1.0
        age = max(0.0, _day(as_of) - day)
        return 1.0 + self.config.recency_weight * 0.5 ** (age / self.config.recency_half_life_days)

    # ---- the whole search --------------------------------------------------------------
    def search(self, query: str, k: int | None = None, filters: Filters | None = None,
               mode: str = "hybrid", query_vec: np.ndarray | None = None) -> list[Passage]:
        """Top ``k`` passages for ``query`` under ``filters``."""
        if mode not in MODES:
            raise ValueError(f"unknown retrieval mode {mode!r}; choose one of {', '.join(MODES)}")
        cfg = self.config
        k = k or cfg.k
        f = filters or Filters()
        mask = self.mask(f)
        n = max(cfg.candidates, k * 4)
        dense_hits: list[tuple[int, float]] = []
        lex_hits: list[tuple[int, float]] = []
        if mode in ("hybrid", "dense"):
            if query_vec is None:
                query_vec = self.embedder.encode([query])[0]
            dense_hits = self.dense(query_vec, n, mask)
        if mode in ("hybrid", "lexical"):
            lex_hits = self.lexical(query, n, mask)
        lex_s = dict(lex_hits)
        if cfg.fusion == "rrf":
            scored = self._rrf(dense_hits, lex_hits, mode, f.as_of)
        else:
            scored = self._linear(dense_hits, lex_hits, mode, f.as_of, query_vec)
        passages = self._collapse(scored, lex_s, k)
        if query_vec is not None:  # cosine for every kept passage, also those found only lexically
            for p in passages:
                p.dense = float(np.dot(query_vec, self.store.vectors.reconstruct(p.chunk.id)))
        return passages

    def _rrf(self, dense_hits, lex_hits, mode: str, as_of: str | None) -> list[tuple[float, int]]:
        """Reciprocal-rank fusion, times the recency factor; 1.0 = first everywhere and fresh."""
        cfg = self.config
        fused: dict[int, float] = {}
        for weight, hits in ((cfg.dense_weight, dense_hits), (cfg.lexical_weight, lex_hits)):
            for rank, (cid, _) in enumerate(hits):
                fused[cid] = fused.get(cid, 0.0) + weight / (cfg.rrf_k + rank + 1)
        weight = {"hybrid": cfg.dense_weight + cfg.lexical_weight, "dense": cfg.dense_weight,
                  "lexical": cfg.lexical_weight}[mode]
        best = weight / (cfg.rrf_k + 1) * ((1.0 + cfg.recency_weight) if as_of else 1.0)
        return sorted(((min(1.0, float(s * self.recency(cid, as_of) / best)), cid) for cid, s in fused.items()),
                      reverse=True)

    def _linear(self, dense_hits, lex_hits, mode: str, as_of: str | None, query_vec) -> list[tuple[float, int]]:
        """Weighted sum of cosine and max-scaled BM25, plus an additive recency bonus; scaled to [0, 1]."""
        cfg = self.config
        dense_s = dict(dense_hits)
        lex_s = dict(lex_hits)
        top_lex = max(lex_s.values(), default=0.0) or 1.0
        dw = cfg.dense_weight if mode != "lexical" else 0.0
        lw = cfg.lexical_weight if mode != "dense" else 0.0
        out = []
        for cid in dense_s.keys() | lex_s.keys():
            d = dense_s.get(cid)
            if d is None and dw and query_vec is not None:
                d = float(np.dot(query_vec, self.store.vectors.reconstruct(cid)))
            rel = (dw * max(0.0, d or 0.0) + lw * lex_s.get(cid, 0.0) / top_lex) / (dw + lw)
            bonus = cfg.recency_bonus * (self.recency(cid, as_of) - 1.0) / cfg.recency_weight if as_of else 0.0
            out.append((min(1.0, float((rel + bonus) / (1.0 + (cfg.recency_bonus if as_of else 0.0)))), cid))
        return sorted(out, reverse=True)

    def _collapse(self, scored: list[tuple[float, int]], lex_s: dict, k: int) -> list[Passage]:
        cfg = self.config
        kept: list[Passage] = []
        kept_words: list[set[str]] = []
        per_doc: dict[str, int] = {}
        for score, cid in scored:
            c = self.store.chunks[cid]
            if per_doc.get(c.doc_id, 0) >= cfg.max_per_article:
                continue
            w = set(re.findall(r"\w+", c.text.lower()))
            if any(len(w & o) / max(1, len(w | o)) >= cfg.near_duplicate_jaccard for o in kept_words):
                continue
            a = self.store.articles[c.doc_id]
            kept.append(Passage(chunk=c, title=a.title, source=a.source, url=a.url, published=a.published,
                                score=score, dense=None, lexical=lex_s.get(cid), rank=len(kept) + 1))
            kept_words.append(w)
            per_doc[c.doc_id] = per_doc.get(c.doc_id, 0) + 1
            if len(kept) >= k:
                break
        return kept
