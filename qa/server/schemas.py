"""The HTTP API's bodies and replies, as pydantic models (they make /openapi.json).

The replies carry the same keys as ``qa ask --json`` (``Answer.to_dict``); the requests refuse
unknown fields (422 naming the field), so a misspelt filter is never silently ignored.
"""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Mode = Literal["extractive", "local", "openai"]
Retrieval = Literal["hybrid", "dense", "lexical"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FilterFields(_Strict):
    """What a question or search is restricted to (all optional)."""
    as_of: str | None = Field(default=None, description="the question's date, YYYY-MM-DD: later articles are ignored, "
                              "recent ones favoured", examples=["2017-01-20"])
    sources: list[str] | None = Field(default=None, description="only these sources (as `GET /v1/stats` lists them)")
    date_from: str | None = Field(default=None, description="only articles published on or after this date")
    date_to: str | None = Field(default=None, description="only articles published on or before this date")
    k: int | None = Field(default=None, ge=1, le=50, description="passages to retrieve (default 8)")


class HistoryTurn(_Strict):
    """An earlier turn of the conversation: its question (and answer); a follow-up such as "and who
    else?" is searched with the topic of the turn before it."""
    question: str = Field(..., min_length=1, max_length=4000)
    answer: str = ""
    search_query: str | None = Field(default=None, description="what that turn searched for (default: worked out again)")


class AskRequest(FilterFields):
    question: str = Field(..., min_length=1, max_length=4000, examples=["Who will mediate the Astana talks?"])
    mode: Mode = "extractive"
    retrieval: Retrieval = "hybrid"
    history: list[HistoryTurn] = Field(default_factory=list, max_length=50)
    stream: bool = Field(default=False, description="server-sent events: passages, tokens (generated modes), "
                         "each verified citation, then the answer")


class SearchRequest(FilterFields):
    query: str = Field(..., min_length=1, max_length=4000, examples=["Astana talks mediators"])
    retrieval: Retrieval = "hybrid"


class VerifyRequest(_Strict):
    answer: str = Field(..., min_length=1, max_length=20000,
                        examples=["Russia, Turkey and Iran will mediate the talks. [1]"])
    question: str = Field(..., min_length=1, max_length=4000)
    k: int = Field(default=5, ge=1, le=50, description="passages numbered [1]..[k], retrieved for the question")
    as_of: str | None = None
    drop_unsupported: bool = True


class CitationOut(BaseModel):
    n: int
    doc_id: str
    title: str
    url: str
    published: str
    source: str
    quote: str = Field(..., description="exactly `GET /v1/articles/{doc_id}`'s text[start:end]")
    start: int
    end: int
    support: float | None = None
    copy_of: str = Field("", description="a wire copy: the doc id of the article it copies (not an independent outlet)")
    corroborated_by: list[CitationOut] = Field(
        default_factory=list, description="other articles stating the same value, each with its quote and offsets")


class ReportOut(BaseModel):
    value: str
    independent_outlets: int
    outlets: list[str]
    first_reported: str
    latest_reported: str
    citations: list[CitationOut]


class ConflictOut(BaseModel):
    revision: bool = Field(..., description="a later report of the same outlet, or a correction, revises the earlier")
    lead: int = Field(..., description="the index in `reports` of the value the answer leads with")
    summary: str
    reports: list[ReportOut] = Field(..., description="each value with its articles, newest first")


class ReportedOut(BaseModel):
    doc_id: str
    source: str
    published: str
    title: str


class CorroborationOut(BaseModel):
    value: str = Field(..., description="the asked-for value the answer gives")
    kind: str
    independent_outlets: int
    outlets: list[str]
    first_reported: ReportedOut | None = None
    latest_reported: ReportedOut | None = None
    conflict: ConflictOut | None = None


class PassageOut(BaseModel):
    rank: int
    doc_id: str
    title: str
    source: str
    url: str
    published: str
    start: int
    end: int
    text: str
    score: float
    dense: float | None = None
    lexical: float | None = None
    relevance: float | None = None


class AnswerOut(BaseModel):
    """The `qa ask --json` object."""
    model_config = ConfigDict(extra="allow")  # draft / verification / retrieval_gate of generated modes
    question: str
    answer: str
    abstained: bool
    confidence: float
    mode: str
    search_query: str
    citations: list[CitationOut]
    corroboration: CorroborationOut | None = None
    passages: list[PassageOut]
    timings_ms: dict[str, float]


class SearchOut(BaseModel):
    query: str
    passages: list[PassageOut]


class ArticleSummary(BaseModel):
    id: str
    title: str
    source: str
    url: str
    published: str
    chunks: int


class ArticleOut(ArticleSummary):
    origin: str
    text: str = Field(..., description="the text every citation's start/end index: the text as ingested")


class ArticlePage(BaseModel):
    total: int
    offset: int
    limit: int
    next_offset: int | None
    items: list[ArticleSummary]


class ArticleIn(BaseModel):
    """One article given as JSON (the field names `qa ingest` accepts for JSON records)."""
    model_config = ConfigDict(extra="allow")
    text: str = Field(..., min_length=1)
    id: str | None = None
    title: str = ""
    source: str = ""
    url: str = ""
    published: str = ""


class ArticlesIn(_Strict):
    articles: list[ArticleIn] = Field(..., min_length=1)


class Deleted(BaseModel):
    deleted: list[str]


class JobOut(BaseModel):
    """An ingest: done (200, with its report) or still running (202; poll `GET /v1/jobs/{id}`)."""
    id: str
    status: Literal["queued", "running", "done", "failed"]
    stage: str = ""
    done: int = 0
    total: int = 0
    summary: str = ""
    report: dict[str, Any] | None = None
    error: str | None = None


class Stats(BaseModel):
    model_config = ConfigDict(extra="allow")
    articles: int
    chunks: int
    model: str
    published_range: list[str] | None
    sources: dict[str, int]


class ErrorBody(BaseModel):
    type: str = Field(..., examples=["bad_request"])
    message: str


class ErrorOut(BaseModel):
    error: ErrorBody


ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut, "description": what} for code, what in (
        (400, "bad input (a malformed date, an unknown source, an empty question)"),
        (401, "no or a wrong API key"),
        (403, "writes are off on this server"),
        (404, "no such article or job"),
        (413, "request body too large"),
        (422, "the body does not match the schema"),
        (503, "the index cannot be opened"))
}
