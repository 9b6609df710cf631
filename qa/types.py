"""The typed objects that flow through the pipeline.

Query (a question and its options) -> Passage (a retrieved Chunk, a span of an Article, with
scores) -> Answer (text with [n] markers) whose Citations point at exact article spans, and,
for generated answers, one Verdict per generated sentence.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any

from .errors import QAError


class AnswerMode(str, Enum):
    """How an answer is written: quoted from the articles, or generated and then verified."""
    EXTRACTIVE = "extractive"  # quote the articles' own sentences
    LOCAL = "local"  # the packaged language model (qa.llm)
    OPENAI = "openai"  # an OpenAI-compatible endpoint

    def __str__(self) -> str:
        return self.value


class RetrievalMode(str, Enum):
    """Which searches find the passages."""
    HYBRID = "hybrid"  # dense + BM25, fused
    DENSE = "dense"
    LEXICAL = "lexical"

    def __str__(self) -> str:
        return self.value


@dataclass
class Filters:
    """What a question restricts its passages to: sources, a published-date range, and ``as_of``
    (nothing published after it)."""
    sources: list[str] | None = None
    date_from: str | None = None
    date_to: str | None = None
    as_of: str | None = None

    def active(self) -> bool:
        return bool(self.sources or self.date_from or self.date_to or self.as_of)


@dataclass
class Turn:
    """One earlier turn of a conversation (qa.conversation carries its topic into a follow-up)."""
    question: str
    search_query: str
    answer: str = ""
    cited_doc_ids: list[str] = field(default_factory=list)


def check_date(name: str, value: str | None) -> str | None:
    """An ISO date (YYYY-MM-DD) or None; QAError naming the option otherwise."""
    if value in (None, ""):
        return None
    try:
        return dt.date.fromisoformat(str(value).strip()[:10]).isoformat()
    except ValueError:
        raise QAError(f"{name} must be a date like 2017-01-20, got {value!r}") from None


def _mode(kind: type[Enum], name: str, value: object) -> Any:
    try:
        return kind(value.value if isinstance(value, Enum) else value)
    except ValueError:
        raise QAError(f"unknown {name} {value!r}; use one of: {', '.join(m.value for m in kind)}") from None


@dataclass(frozen=True)
class Query:
    """A question and everything that decides how it is answered, checked once (``Query.build``)
    and passed down the pipeline whole.

    k: passages to retrieve (default RetrievalConfig.k); as_of: the question's date (ignores later
    articles, favours recent ones); sources: only these sources; date_from/date_to: published-date
    range; retrieval: hybrid, dense or lexical; search_query: text to retrieve with when it differs
    from the question; history: earlier turns of a conversation (qa.conversation); mode: extractive,
    local or openai (qa.llm); verify / gate / drop_unsupported override GenerationConfig for
    generated modes.
    """
    question: str
    k: int | None = None
    as_of: str | None = None
    sources: tuple[str, ...] = ()
    date_from: str | None = None
    date_to: str | None = None
    retrieval: RetrievalMode = RetrievalMode.HYBRID
    search_query: str | None = None
    history: tuple[Turn, ...] = ()
    mode: AnswerMode = AnswerMode.EXTRACTIVE
    verify: bool | None = None
    gate: bool | None = None
    drop_unsupported: bool | None = None

    OPTIONS = ("k", "as_of", "sources", "date_from", "date_to", "retrieval", "search_query", "history", "mode",
               "verify", "gate", "drop_unsupported")

    @classmethod
    def build(cls, question: str, max_chars: int = 2000, **options: Any) -> Query:
        """Check and normalise a question and its options (QAError saying what is wrong)."""
        unknown = sorted(set(options) - set(cls.OPTIONS))
        if unknown:
            raise QAError(f"unknown option {unknown[0]!r}; the options are: {', '.join(cls.OPTIONS)}")
        question = (question or "").strip()
        if not question:
            raise QAError("the question is empty; ask something, e.g. qa ask \"Who will mediate the Astana talks?\"")
        if len(question) > max_chars:
            raise QAError(f"the question is {len(question):,} characters long; ask in at most {max_chars:,} "
                          f"(QA_MAX_QUESTION_CHARS)")
        k = options.get("k")
        if k is not None and k < 1:
            raise QAError(f"k must be at least 1, got {k}")
        sources: Iterable[str] = options.get("sources") or ()
        return cls(question=question, k=k, as_of=check_date("as_of", options.get("as_of")),
                   sources=tuple(sources), date_from=check_date("date_from", options.get("date_from")),
                   date_to=check_date("date_to", options.get("date_to")),
                   retrieval=_mode(RetrievalMode, "retrieval mode", options.get("retrieval") or "hybrid"),
                   search_query=options.get("search_query"), history=tuple(options.get("history") or ()),
                   mode=_mode(AnswerMode, "answer mode", options.get("mode") or "extractive"),
                   verify=options.get("verify"), gate=options.get("gate"),
                   drop_unsupported=options.get("drop_unsupported"))

    @property
    def filters(self) -> Filters:
        return Filters(sources=list(self.sources) or None, date_from=self.date_from, date_to=self.date_to,
                       as_of=self.as_of)


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
    # the text as the user gave it (the JSON field, the .txt body, the text extracted from HTML), when
    # normalisation changed it; "" when it is ``text`` itself. Citations index this text (``source_text``)
    original: str = ""

    @property
    def source_text(self) -> str:
        """The text every citation's ``start``/``end`` index: the user's own text."""
        return self.original or self.text

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
    # other articles stating the same value (qa.corroborate; their ``n`` is 0), earliest first
    corroborated_by: list[Citation] = field(default_factory=list)
    copy_of: str = ""  # the doc id of the article this one copies (a wire copy: not an independent outlet)

    def to_dict(self) -> dict[str, Any]:
        out = {
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
        if self.copy_of:
            out["copy_of"] = self.copy_of
        if self.corroborated_by:
            out["corroborated_by"] = [c.to_dict() for c in self.corroborated_by]
        return out


@dataclass
class Report:
    """One value of the asked-for fact and the articles that state it (qa.corroborate)."""
    value: str
    citations: list[Citation]  # every article stating it; copies marked ``copy_of``
    outlets: list[str]  # the independent outlets: one per outlet and per group of copies
    first_reported: str = ""  # the earliest and latest publication dates among them ("" when undated)
    latest_reported: str = ""
    revises: bool = False  # one of them says it corrects or updates an earlier report

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "independent_outlets": len(self.outlets), "outlets": self.outlets,
                "first_reported": self.first_reported, "latest_reported": self.latest_reported,
                "citations": [{k: v for k, v in c.to_dict().items() if k != "corroborated_by"}
                              for c in self.citations]}


@dataclass
class Conflict:
    """Reports giving different values for the asked-for fact, newest first."""
    reports: list[Report]
    lead: int  # the index of the report the answer leads with
    revision: bool  # a later report of the same outlet, or a correction, revises the earlier one

    def describe(self) -> str:
        lead = self.reports[self.lead]
        others = [r for r in self.reports if r is not lead]
        said = "; ".join(f"{r.value} ({', '.join(r.outlets)}{', ' + r.latest_reported if r.latest_reported else ''})"
                         for r in others)
        if self.revision:
            return f"Updated report: {lead.value} ({lead.latest_reported or 'later'}) revises the earlier {said}"
        return f"Sources disagree: {lead.value} ({len(lead.outlets)} outlet{'s' if len(lead.outlets) != 1 else ''}) " \
               f"against {said}"

    def to_dict(self) -> dict[str, Any]:
        return {"revision": self.revision, "lead": self.lead, "summary": self.describe(),
                "reports": [r.to_dict() for r in self.reports]}


@dataclass
class Corroboration:
    """How many independent outlets report the answer's fact, which, when, and where reports differ."""
    value: str  # the asked-for value the answer gives ("23", "Buffalo Bills")
    kind: str  # number, date, country, state, name or term
    outlets: list[str]  # independent outlets stating it, earliest first
    first_reported: Citation | None = None
    latest_reported: Citation | None = None
    conflict: Conflict | None = None

    @property
    def independent(self) -> int:
        return len(self.outlets)

    def to_dict(self) -> dict[str, Any]:
        brief = lambda c: None if c is None else {"doc_id": c.doc_id, "source": c.source,  # noqa: E731
                                                   "published": c.published, "title": c.title}
        return {"value": self.value, "kind": self.kind, "independent_outlets": self.independent,
                "outlets": self.outlets, "first_reported": brief(self.first_reported),
                "latest_reported": brief(self.latest_reported),
                "conflict": None if self.conflict is None else self.conflict.to_dict()}


@dataclass(frozen=True)
class Retrieved:
    """The first event of ``QA.ask_stream(..., passages_first=True)``: the passages found, before
    the answer is written."""
    passages: list[Passage]


@dataclass(frozen=True)
class Verdict:
    """What the verifier (qa.verify) decided about one generated sentence."""
    sentence: str
    cited: list[int]  # the passage numbers the sentence cited
    kept: bool  # supported by a cited (or, corrected, another) passage
    passage: int | None  # the supporting passage after correction
    corrected: bool  # its citation was changed to the supporting passage
    reasons: list[str]  # why it was removed or corrected

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


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
    mode: str = "extractive"  # an AnswerMode's value: "extractive", "local" or "openai"
    draft: Answer | None = None  # generated modes: the model's answer before verification
    verification: list[Verdict] = field(default_factory=list)  # per generated sentence: kept/corrected/why
    retrieval_gate: bool | None = None  # generated modes: did extraction find an answer-like sentence?
    # a borderline answer checked by the language model (qa.judge): True "it answers", False "it does not"
    # (the answer then abstains), None: not checked
    judged: bool | None = None
    # the language model's short answer that chose the quoted sentence of a long article (qa.reader),
    # None: not asked
    read: str | None = None
    # how many independent outlets state the answer's fact, and where reports differ (qa.corroborate)
    corroboration: Corroboration | None = None
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
            "corroboration": None if self.corroboration is None else self.corroboration.to_dict(),
            "passages": [p.to_dict() for p in self.passages],
            "timings_ms": {k: round(v, 2) for k, v in self.timings.items()},
            **({"retrieval_gate": self.retrieval_gate} if self.retrieval_gate is not None else {}),
            **({"judged": self.judged} if self.judged is not None else {}),
            **({"read": self.read} if self.read is not None else {}),
            **({"draft": {"answer": self.draft.text, "abstained": self.draft.abstained,
                          "citations": [c.to_dict() for c in self.draft.citations]},
                "verification": [v.to_dict() for v in self.verification]} if self.draft is not None else {}),
        }
