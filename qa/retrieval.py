"""Hybrid retrieval: dense (FAISS) + lexical (BM25), fused, filtered and time-aware.

1. Dense and lexical candidates: on the embedded store the lexical search runs in a second thread
   while FAISS searches (it releases the GIL), so a question waits for the slower of the two.
   Filters (sources, date range, and ``as_of``: nothing published after it) are handed to the
   store, which applies them inside its searches (the embedded store: a boolean mask by chunk
   id from numpy arrays and a FAISS IDSelectorBitmap; PostgreSQL: a WHERE clause).
2. Fusion (default, linear): relevance = (cosine + 0.25 * BM25 / best BM25) / 1.25 over the
   union of both candidate lists (``fusion="rrf"``: reciprocal-rank fusion instead).
3. ``as_of`` (the date prior): a passage among the ``recency_top_n`` most relevant candidates
   gains ``recency_bonus * 0.5 ** (age_days / half_life)``, so articles from the days before
   the question's date rise among comparably relevant ones, while a fresh but off-topic article
   cannot jump over an older one that answers (measured with as_of moved 30/180/365 days later,
   see docs/answering.md). ``recency_no_cue`` < 1 weakens the prior for questions without a temporal cue
   ("this week", "latest", "on Tuesday"); measured on news-dev it did not help, so it is 1.
   Undated articles get no bonus. ``Passage.relevance`` keeps the score without the prior.
4. Near-duplicates collapse: a passage is dropped when its words overlap (Jaccard) an already
   kept passage above a threshold, or when its article already has ``max_per_article`` kept.
"""
from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .config import RetrievalConfig
from .embeddings import Embedder
from .lexical import lexical_terms
from .stores import Filters, Hit, Store, day_number
from .types import Passage, RetrievalMode

_LEXICAL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="qa-lexical")


_RECENT_CUE = re.compile(
    r"\b(this|last|past|next) (week|weekend|month)\b|\b(recent|recently|latest|newest|new|newly|just|now|today|"
    r"tonight|yesterday|tomorrow|currently|ongoing|upcoming|so far|this year)\b|"
    r"\bon (monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b", re.I)


def temporal_cue(query: str) -> bool:
    """Does the question ask about recent events ("this week", "latest", "on Tuesday")?"""
    return bool(_RECENT_CUE.search(query))




def _words(text: str) -> set[str]:
    """The lower-cased words of a passage, for the near-duplicate test."""
    return set(re.findall(r"\w+", text.lower()))


def _near_duplicate(w: set[str], kept_words: list[set[str]], threshold: float) -> bool:
    """Do the words ``w`` overlap (Jaccard) one of the kept passages' by ``threshold`` or more?"""
    return any(len(w & o) / max(1, len(w | o)) >= threshold for o in kept_words)


class Retriever:
    """Searches one loaded generation of the index."""

    def __init__(self, store: Store, embedder: Embedder, config: RetrievalConfig | None = None):
        self.store = store
        self.embedder = embedder
        self.config = config or RetrievalConfig()
        self._idf: dict[str, float] = {}

    def idf(self, term: str) -> float:
        """BM25 inverse document frequency of a stemmed term over the chunks (rare terms weigh more)."""
        w = self._idf.get(term)
        if w is None:
            n = len(self.store.chunks)
            df = self.store.doc_freq(term)
            w = self._idf[term] = float(np.log(1.0 + (n - df + 0.5) / (df + 0.5)))
        return w

    # ---- pieces ------------------------------------------------------------------------
    def dense(self, query_vec: np.ndarray, n: int, allowed=None) -> list[Hit]:
        """``allowed``: the store's own form of the filters (``store.prepare_filters``)."""
        return self.store.search_dense(query_vec, n, allowed)

    def lexical(self, query: str, n: int, allowed=None) -> list[Hit]:
        return [Hit(c, s) for c, s in self.store.search_lexical(lexical_terms([query])[0], n, allowed) if s > 0]

    def recency(self, chunk_id: int, as_of: str | None) -> float:
        if not as_of:
            return 1.0
        day = self.store.day(chunk_id)
        if np.isnan(day):
            return 1.0
        age = max(0.0, day_number(as_of) - day)
        return 1.0 + self.config.recency_weight * 0.5 ** (age / self.config.recency_half_life_days)

    # ---- the whole search --------------------------------------------------------------
    def search(self, query: str, k: int | None = None, filters: Filters | None = None,
               mode: RetrievalMode | str = RetrievalMode.HYBRID, query_vec: np.ndarray | None = None,
               pool: list[int] | None = None) -> list[Passage]:
        """Top ``k`` passages for ``query`` under ``filters``; ``pool``, when given, receives the ids of
        every candidate chunk scored, best first (near-duplicates and capped articles included: where
        qa.corroborate looks for other reports of the answer)."""
        if mode not in {m.value for m in RetrievalMode}:
            raise ValueError(f"unknown retrieval mode {mode!r}; choose one of {', '.join(m.value for m in RetrievalMode)}")
        mode = RetrievalMode(mode).value  # a plain str below (an Enum member hashes by its name)
        cfg = self.config
        k = k or cfg.k
        f = filters or Filters()
        allowed = self.store.prepare_filters(f)
        n = max(cfg.candidates, k * 4)
        dense_hits: list[Hit] = []
        lex_hits: list[Hit] = []
        if mode in ("hybrid", "dense") and query_vec is None:
            query_vec = self.embedder.encode([query])[0]
        # on a store that allows it, the lexical search runs in another thread while FAISS searches
        lexical = _LEXICAL.submit(self.lexical, query, n, allowed) \
            if mode == "hybrid" and self.store.concurrent_searches else None
        if mode in ("hybrid", "dense"):
            assert query_vec is not None  # embedded above
            dense_hits = self.dense(query_vec, n, allowed)
        if lexical is not None:
            lex_hits = lexical.result()
        elif mode in ("hybrid", "lexical"):
            lex_hits = self.lexical(query, n, allowed)
        lex_s = dict(lex_hits)
        cosines = dict(dense_hits)  # chunk id -> cosine to the query, as far as known
        if cfg.fusion == "rrf":
            scored, relevance = self._rrf(dense_hits, lex_hits, mode, f.as_of)
        else:
            scored, relevance = self._linear(cosines, lex_hits, mode, f.as_of, query_vec, temporal_cue(query))
        passages = self._collapse(scored, lex_s, k, relevance)
        if pool is not None:
            pool.extend(cid for _, cid in scored)
        if query_vec is not None and passages:  # cosine for every kept passage, also those found only lexically
            missing = [p.chunk.id for p in passages if p.chunk.id not in cosines]
            if missing:  # read in one call (on PostgreSQL: one query, and none when fusion scored them all)
                cosines.update(zip(missing, (self.store.vectors(missing) @ query_vec).tolist()))
            for p in passages:
                p.dense = float(cosines[p.chunk.id])
        return passages

    def _rrf(self, dense_hits, lex_hits, mode: str, as_of: str | None) -> tuple[list[tuple[float, int]], dict]:
        """Reciprocal-rank fusion, times the recency factor; 1.0 = first everywhere and fresh."""
        cfg = self.config
        fused: dict[int, float] = {}
        for weight, hits in ((cfg.dense_weight, dense_hits), (cfg.lexical_weight, lex_hits)):
            for rank, (cid, _) in enumerate(hits):
                fused[cid] = fused.get(cid, 0.0) + weight / (cfg.rrf_k + rank + 1)
        weight = {"hybrid": cfg.dense_weight + cfg.lexical_weight, "dense": cfg.dense_weight,
                  "lexical": cfg.lexical_weight}[mode]
        best = weight / (cfg.rrf_k + 1) * ((1.0 + cfg.recency_weight) if as_of else 1.0)
        relevance = {cid: min(1.0, s * (weight / (cfg.rrf_k + 1)) ** -1) for cid, s in fused.items()}
        return sorted(((min(1.0, float(s * self.recency(cid, as_of) / best)), cid) for cid, s in fused.items()),
                      reverse=True), relevance

    def _linear(self, dense_s: dict[int, float], lex_hits, mode: str, as_of: str | None, query_vec,
                cue: bool = False) -> tuple[list[tuple[float, int]], dict]:
        """Weighted cosine + max-scaled BM25 (the relevance), plus the gated date prior; in [0, 1].
        ``dense_s`` (chunk id -> cosine, the dense hits) gains the cosines of the lexical-only hits."""
        cfg = self.config
        lex_s = dict(lex_hits)
        top_lex = max(lex_s.values(), default=0.0) or 1.0
        dw = cfg.dense_weight if mode != "lexical" else 0.0
        lw = cfg.lexical_weight if mode != "dense" else 0.0
        relevance = {}
        lexical_only = [cid for cid in lex_s if cid not in dense_s] if dw and query_vec is not None else []
        if lexical_only:  # their cosine too, read in one call
            dense_s.update(zip(lexical_only, (self.store.vectors(lexical_only) @ query_vec).tolist()))
        for cid in dense_s.keys() | lex_s.keys():
            d = dense_s.get(cid)
            relevance[cid] = (dw * max(0.0, d or 0.0) + lw * lex_s.get(cid, 0.0) / top_lex) / (dw + lw)
        if not as_of:
            return sorted(((min(1.0, r), cid) for cid, r in relevance.items()), reverse=True), relevance
        # the prior only among the most relevant candidates: a fresh but off-topic article never jumps ahead
        eligible = set(sorted(relevance, key=lambda c: relevance[c], reverse=True)[: cfg.recency_top_n or None])
        strength = cfg.recency_bonus * (1.0 if cue else cfg.recency_no_cue)
        out = []
        for cid, rel in relevance.items():
            fresh = (self.recency(cid, as_of) - 1.0) / cfg.recency_weight if cid in eligible else 0.0
            out.append((min(1.0, float((rel + strength * fresh) / (1.0 + strength))), cid))
        return sorted(out, reverse=True), relevance

    def _diverse(self, kept: list[tuple[float, int]], scored: list[tuple[float, int]], kept_words: list[set[str]],
                 k: int) -> list[tuple[float, int]]:
        """The first ``diverse_top`` places go to different articles: each the best passage of the next
        best article (from further down the candidates when the kept ones hold fewer articles); the
        other places keep their score order. A long article's second and third passages then come after
        the best passages of other reports (measured on news-fullarticles-dev: docs/answering.md)."""
        n = min(self.config.diverse_top, k)
        if n <= 1:
            return kept
        chunks = self.store.chunks
        first: list[tuple[float, int]] = []
        docs: set[str] = set()
        for score, cid in kept:
            if chunks[cid].doc_id not in docs and len(first) < n:
                first.append((score, cid))
                docs.add(chunks[cid].doc_id)
        if len(first) < n:  # more articles from the candidates the cap and k left out
            ids = {cid for _, cid in kept}
            seen = list(kept_words)  # the caller's list stays as it was
            for score, cid in scored:
                c = chunks[cid]
                if c.doc_id in docs or cid in ids:
                    continue
                w = _words(c.text)
                if _near_duplicate(w, seen, self.config.near_duplicate_jaccard):
                    continue
                first.append((score, cid))
                docs.add(c.doc_id)
                seen.append(w)
                if len(first) >= n:
                    break
        chosen = {cid for _, cid in first}
        rest = [x for x in kept if x[1] not in chosen]
        return sorted(first, key=lambda x: -x[0]) + rest[: max(0, k - len(first))]

    def _collapse(self, scored: list[tuple[float, int]], lex_s: dict, k: int, relevance: dict) -> list[Passage]:
        """Top ``k`` without near-duplicates, at most ``max_per_article`` per article -- unless fewer
        than ``k`` passages would be left (a search within one long article): then the best of
        the capped ones fill the remaining places, in score order."""
        cfg = self.config
        kept: list[tuple[float, int]] = []
        kept_words: list[set[str]] = []
        capped: list[tuple[float, int, set[str]]] = []
        per_doc: dict[str, int] = {}
        for score, cid in scored:
            c = self.store.chunks[cid]
            w = _words(c.text)
            if _near_duplicate(w, kept_words, cfg.near_duplicate_jaccard):
                continue
            if per_doc.get(c.doc_id, 0) >= cfg.max_per_article:
                if len(capped) < k:
                    capped.append((score, cid, w))
                continue
            kept.append((score, cid))
            kept_words.append(w)
            per_doc[c.doc_id] = per_doc.get(c.doc_id, 0) + 1
            if len(kept) >= k:
                break
        for score, cid, w in capped:
            if len(kept) >= k:
                break
            if not _near_duplicate(w, kept_words, cfg.near_duplicate_jaccard):
                kept.append((score, cid))
                kept_words.append(w)
        kept.sort(key=lambda x: -x[0])
        kept = self._diverse(kept, scored, kept_words, k)
        out: list[Passage] = []
        for score, cid in kept:
            c = self.store.chunks[cid]
            a = self.store.articles[c.doc_id]
            out.append(Passage(chunk=c, title=a.title, source=a.source, url=a.url, published=a.published,
                               score=score, dense=None, lexical=lex_s.get(cid), rank=len(out) + 1,
                               relevance=min(1.0, float(relevance.get(cid, score)))))
        return out
