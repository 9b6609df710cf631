"""The typed objects that flow through the pipeline.

Article -> Chunk (a span of an article) -> Passage (a retrieved chunk with scores)
-> Answer (text with [n] markers) whose Citations point at exact article spans.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Article:
    """A cleaned news article. ``id`` is stable: given, or derived from url/content."""

    id: str
    text: str
    title: str = ""
    source: str = ""
    url: str = ""
    published: str = ""  # ISO date YYYY-MM-DD, or "" when unknown
    origin: str = ""  # file (and line) the article came from
    content_hash: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Chunk:
    """A sentence-aligned span of an article: ``article.text[start:end] == text``."""

    id: int  # index-wide integer id (also the FAISS id)
    doc_id: str
    start: int
    end: int
    text: str
    n_tokens: int  # word pieces of the embedded text, special tokens included

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Passage:
    """A retrieved chunk with its article's metadata and its retrieval scores."""

    chunk: Chunk
    title: str
    source: str
    url: str
    published: str
    score: float  # final fused score used for ranking (relevance + the date prior, when as_of is given)
    dense: float | None = None  # cosine similarity to the query (None if not a dense hit)
    lexical: float | None = None  # BM25 score (None if not a lexical hit)
    rank: int = 0
    relevance: float | None = None  # the fused score without any date prior (dense + lexical only)

    @property
    def doc_id(self) -> str:
        return self.chunk.doc_id

    @property
    def text(self) -> str:
        return self.chunk.text

    def to_dict(self) -> dict[str, Any]:
        return {
            "rank": self.rank,
            "doc_id": self.doc_id,
            "title": self.title,
            "source": self.source,
            "url": self.url,
            "published": self.published,
            "start": self.chunk.start,
            "end": self.chunk.end,
            "text": self.chunk.text,
            "score": round(self.score, 6),
            "dense": None if self.dense is None else round(self.dense, 6),
            "lexical": None if self.lexical is None else round(self.lexical, 6),
            "relevance": None if self.relevance is None else round(self.relevance, 6),
        }


@dataclass
class Citation:
    """``[n]`` in an answer: the quoted sentence and its exact span in the article."""

    n: int
    doc_id: str
    title: str
    url: str
    published: str
    source: str
    quote: str
    start: int  # article.text[start:end] == quote
    end: int
    passage_rank: int = 0  # which retrieved passage it came from (1-based)
    support: float | None = None  # support score from the verifier, when run

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "doc_id": self.doc_id,
            "title": self.title,
            "url": self.url,
            "published": self.published,
            "source": self.source,
            "quote": self.quote,
            "start": self.start,
            "end": self.end,
            "support": None if self.support is None else round(self.support, 4),
        }


@dataclass
class Answer:
    """What ``ask`` returns."""

    question: str
    text: str
    citations: list[Citation]
    abstained: bool
    passages: list[Passage]
    confidence: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)  # milliseconds per stage
    search_query: str = ""  # what was actually searched for (may include conversation context)
    mode: str = "extractive"  # "extractive", "local" or "openai"
    draft: Answer | None = None  # generated modes: the model's answer before verification
    verification: list[dict] = field(default_factory=list)  # per generated sentence: kept/corrected/why
    retrieval_gate: bool | None = None  # generated modes: did extraction find an answer-like sentence?
    # the text of each cited article in the index snapshot the answer was built from: the app
    # renders sources from it, so an ingest or delete meanwhile cannot change what it shows
    article_texts: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def related(self) -> list[Passage]:
        """The closest passages; shown as "related" when the answer abstains."""
        return self.passages[:3]

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "answer": self.text,
            "abstained": self.abstained,
            "confidence": round(self.confidence, 4),
            "mode": self.mode,
            "search_query": self.search_query,
            "citations": [c.to_dict() for c in self.citations],
            "passages": [p.to_dict() for p in self.passages],
            "timings_ms": {k: round(v, 2) for k, v in self.timings.items()},
            **({"retrieval_gate": self.retrieval_gate} if self.retrieval_gate is not None else {}),
            **({"draft": {"answer": self.draft.text, "abstained": self.draft.abstained,
                          "citations": [c.to_dict() for c in self.draft.citations]},
                "verification": self.verification} if self.draft is not None else {}),
        }
