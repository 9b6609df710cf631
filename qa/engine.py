"""The engine: the whole question-answering pipeline, top-down, in one place.

    question ──embed──▶ query vector
             ──retrieve (dense + BM25, filters, as_of)──▶ passages
             ──answer (extractive sentence selection / abstention)──▶ answer with [n]
             ──verify (support scorer, per cited sentence)──▶ Answer

``QA`` holds one loaded index generation and reloads it when another process commits a new
one, so a long-running app sees ingests made from the CLI.
"""
from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterable
from pathlib import Path

from . import conversation
from .answer import EMPTY_TEXT, ExtractiveAnswerer
from .config import AnswerConfig, ChunkingConfig, RetrievalConfig, default_index_dir
from .embeddings import Embedder, default_embedder
from .errors import QAError
from .ingest import IngestReport, Progress, delete, ingest
from .retrieval import Filters, Retriever
from .store import IndexStore
from .support import SupportScorer
from .conversation import Turn
from .types import Answer, Article


def _check_date(name: str, value: str | None) -> str | None:
    if value in (None, ""):
        return None
    try:
        return dt.date.fromisoformat(str(value).strip()[:10]).isoformat()
    except ValueError:
        raise QAError(f"{name} must be a date like 2017-01-20, got {value!r}") from None


class QA:
    """A question-answering engine over one index directory.

    >>> engine = QA(index_dir="index_store/")
    >>> answer = engine.ask("Who will mediate the Astana talks?", as_of="2017-01-20")
    >>> answer.text, answer.citations, answer.abstained
    """

    def __init__(self, index_dir: str | Path | None = None, embedder: Embedder | None = None,
                 retrieval: RetrievalConfig | None = None, answering: AnswerConfig | None = None,
                 chunking: ChunkingConfig | None = None):
        self.index_dir = Path(index_dir or default_index_dir())
        self.embedder = embedder or default_embedder()
        self.retrieval_config = retrieval or RetrievalConfig()
        self.answer_config = answering or AnswerConfig()
        self.chunking = chunking or ChunkingConfig()
        self.scorer = SupportScorer()
        self._lock = threading.RLock()
        self._generation: str | None = "unloaded"
        self.store: IndexStore
        self.retriever: Retriever
        self._refresh()

    # ---- index state ------------------------------------------------------------------
    def _refresh(self) -> None:
        """(Re)load the index if its live generation changed on disk."""
        gen = IndexStore.current_generation(self.index_dir)
        if gen == self._generation:
            return
        with self._lock:
            if gen == self._generation:
                return
            store = IndexStore.open(self.index_dir, self.embedder.name, self.embedder.dim, self.chunking)
            self.retriever = Retriever(store, self.embedder, self.retrieval_config)
            self.store = store
            self._generation = gen

    def article_text(self, doc_id: str) -> str:
        return self.store.articles[doc_id].text

    # ---- the pipeline -----------------------------------------------------------------
    def ask(self, question: str, k: int | None = None, as_of: str | None = None,
            sources: Iterable[str] | None = None, date_from: str | None = None, date_to: str | None = None,
            retrieval: str = "hybrid", search_query: str | None = None,
            history: list[Turn] | None = None) -> Answer:
        """Answer ``question`` from the indexed articles, with citations, or abstain.

        k: passages to retrieve; as_of: the question's date (ignores later articles, favours
        recent ones); sources: only these sources; date_from/date_to: published-date range;
        retrieval: "hybrid" (default), "dense" or "lexical"; search_query: text to retrieve
        with when it differs from the question; history: earlier turns of a conversation, whose
        topic is carried into the search query of a follow-up question (see qa.conversation).
        """
        question = (question or "").strip()
        if not question:
            raise QAError("the question is empty; ask something, e.g. qa ask \"Who will mediate the Astana talks?\"")
        if k is not None and k < 1:
            raise QAError(f"k must be at least 1, got {k}")
        filters = Filters(sources=list(sources) if sources else None, date_from=_check_date("date_from", date_from),
                          date_to=_check_date("date_to", date_to), as_of=_check_date("as_of", as_of))
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        self._refresh()
        store, retriever = self.store, self.retriever
        query = (search_query or conversation.search_query(question, history or [])).strip()
        if not len(store):
            return Answer(question=question, text=EMPTY_TEXT, citations=[], abstained=True, passages=[],
                          search_query=query, timings={"total": (time.perf_counter() - t0) * 1000})
        t = time.perf_counter()
        qvec = self.embedder.encode([query])[0]
        timings["embed"] = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        passages = retriever.search(query, k=k or self.retrieval_config.k, filters=filters, mode=retrieval,
                                    query_vec=qvec)
        timings["retrieve"] = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        answerer = ExtractiveAnswerer(self.embedder, lambda d: store.articles[d].text, self.answer_config,
                                      term_weight=retriever.idf)
        answer = answerer.answer(query, qvec, passages)  # a follow-up is scored with its context
        answer.question = question
        timings["answer"] = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        self.verify(answer)
        timings["verify"] = (time.perf_counter() - t) * 1000
        timings["total"] = (time.perf_counter() - t0) * 1000
        answer.timings = timings
        answer.search_query = query
        return answer

    def verify(self, answer: Answer) -> None:
        """Score each citation's quote against its passage; drop citations that fail."""
        by_rank = {p.rank: p for p in answer.passages}
        for c in answer.citations:
            passage = by_rank.get(c.passage_rank)
            evidence = passage.text if passage else c.quote
            c.support = self.scorer.score(c.quote, evidence).score

    # ---- managing the index -----------------------------------------------------------
    def ingest(self, paths: Iterable[str | Path] = (), articles: list[Article] | None = None,
               progress: Progress | None = None) -> IngestReport:
        """Add/update articles from files, folders and/or Article objects (atomic, incremental)."""
        report = ingest(paths, self.index_dir, self.embedder, self.chunking, progress, articles=articles)
        self._refresh()
        return report

    def delete(self, doc_ids: Iterable[str]) -> tuple[list[str], list[str]]:
        """Remove articles by id; returns (deleted, not found)."""
        out = delete(doc_ids, self.index_dir, self.embedder)
        self._refresh()
        return out

    def articles(self) -> list[Article]:
        self._refresh()
        return list(self.store.articles.values())

    def stats(self) -> dict:
        self._refresh()
        s = self.store
        dates = sorted(a.published for a in s.articles.values() if a.published)
        sources: dict[str, int] = {}
        for a in s.articles.values():
            sources[a.source or "(none)"] = sources.get(a.source or "(none)", 0) + 1
        return {
            "index_dir": str(self.index_dir),
            "generation": s.generation_name,
            "articles": len(s.articles),
            "chunks": len(s.chunks),
            "model": s.manifest.model,
            "dim": s.manifest.dim,
            "chunking": s.manifest.chunking,
            "format_version": s.manifest.format_version,
            "updated": s.manifest.updated,
            "published_range": [dates[0], dates[-1]] if dates else None,
            "sources": dict(sorted(sources.items(), key=lambda kv: -kv[1])),
        }


_ENGINES: dict[str, QA] = {}


def get_engine(index_dir: str | Path | None = None) -> QA:
    """A shared engine per index directory (the embedding model is loaded once)."""
    key = str(Path(index_dir or default_index_dir()).resolve())
    if key not in _ENGINES:
        _ENGINES[key] = QA(index_dir=index_dir)
    return _ENGINES[key]


def ask(question: str, index_dir: str | Path | None = None, **kwargs) -> Answer:
    """Answer a question from the default index (``index_store/`` or $QA_INDEX_DIR)."""
    return get_engine(index_dir).ask(question, **kwargs)
