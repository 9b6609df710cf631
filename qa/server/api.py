"""The versioned JSON API under ``/v1``, and ``/healthz`` / ``/readyz``.

    POST /v1/ask              the cited answer (``"stream": true`` or Accept: text/event-stream: SSE)
    POST /v1/search           passages only
    POST /v1/verify           check any answer text against the index
    GET  /v1/articles         paged; filter by source, date range, text
    GET  /v1/articles/{id}    metadata and the exact text citation offsets index
    POST /v1/articles         files (multipart) or JSON articles -> the ingest report, or a job
    DELETE /v1/articles/{id}
    GET  /v1/jobs/{id}        an ingest's progress and report
    GET  /v1/stats
"""
from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from sse_starlette import EventSourceResponse

from ..app.render import public_message
from ..app.uploads import keep_upload, new_batch
from ..config import settings
from ..conversation import turns
from ..engine import QA
from ..errors import QAError
from ..loaders import content_hash, make_article
from ..types import Answer, Retrieved
from ..types import Query as QAQuery
from .jobs import Jobs
from .pool import Answerer
from .schemas import (
    ERRORS,
    AnswerOut,
    ArticleOut,
    ArticlePage,
    ArticlesIn,
    AskRequest,
    Deleted,
    JobOut,
    SearchOut,
    SearchRequest,
    Stats,
    VerifyRequest,
)
from .security import Policy

LOG = logging.getLogger("newsqa.server")


@dataclass
class Service:
    """What every surface of the server shares: one engine, where answers are computed, the ingest jobs."""
    engine: QA
    answerer: Answerer
    jobs: Jobs
    policy: Policy
    uploads: Path

    def query(self, req: AskRequest | SearchRequest, text: str) -> QAQuery:
        """The checked Query for a request (QAError: 400 naming the bad field)."""
        history = turns([(t.question, t.answer, t.search_query) for t in getattr(req, "history", [])])
        mode = getattr(req, "mode", "extractive")
        return self.engine.query(text, k=req.k, as_of=req.as_of, sources=req.sources, date_from=req.date_from,
                                 date_to=req.date_to, retrieval=req.retrieval, history=history, mode=mode)


def require_writes(request: Request) -> None:
    if not request.app.state.service.policy.allow_writes:
        raise HTTPException(403, "upload and delete are off: this server is read-only (--insecure without a "
                            "login or API key)")


def service_of(request: Request) -> Service:
    return request.app.state.service


def router() -> APIRouter:
    r = APIRouter(prefix="/v1", responses=ERRORS)

    @r.post("/ask", response_model=AnswerOut, summary="Answer a question with verified citations",
            responses={200: {"content": {"text/event-stream": {}},
                             "description": "the answer; with stream: events passages, token, citation, answer "
                                            "(or error)"}})
    async def ask(req: AskRequest, request: Request, svc: Service = Depends(service_of)):
        query = svc.query(req, req.question)
        if req.stream or "text/event-stream" in request.headers.get("accept", ""):
            return EventSourceResponse(_events(svc, query), ping=15)
        return (await svc.answerer.ask(query)).to_dict()

    @r.post("/search", response_model=SearchOut, summary="Passages only, with the same filters")
    async def search(req: SearchRequest, svc: Service = Depends(service_of)):
        query = svc.query(req, req.query)
        passages = await svc.answerer.search(query)
        return {"query": query.question, "passages": [p.to_dict() for p in passages]}

    @r.post("/verify", response_model=AnswerOut, summary="Check an answer's sentences and [n] citations")
    async def verify(req: VerifyRequest, svc: Service = Depends(service_of)):
        answer = await asyncio.to_thread(svc.engine.verify_text, req.answer, req.question, k=req.k, as_of=req.as_of,
                                         drop_unsupported=req.drop_unsupported)
        return answer.to_dict()

    @r.get("/articles", response_model=ArticlePage, summary="The indexed articles, newest first")
    def articles(svc: Service = Depends(service_of), source: list[str] | None = Query(None),
                 date_from: str | None = None, date_to: str | None = None,
                 q: str | None = Query(None, description="text in the title, id or source"),
                 offset: int = Query(0, ge=0), limit: int = Query(20, ge=1, le=200)):
        from ..stores import normalize_source
        from ..types import check_date

        lo, hi = check_date("date_from", date_from), check_date("date_to", date_to)
        if source:
            svc.engine.check_sources(source)
        wanted = {normalize_source(s) for s in source or []}
        needle = (q or "").strip().lower()
        items = [a for a in svc.engine.articles()
                 if (not wanted or normalize_source(a.source) in wanted)
                 and (not lo or (a.published and a.published >= lo)) and (not hi or (a.published and a.published <= hi))
                 and (not needle or needle in a.title.lower() or needle in a.id.lower() or needle in a.source.lower())]
        items.sort(key=lambda a: (a.published or "", a.id), reverse=True)
        counts = svc.engine.store.chunk_counts()
        page = items[offset:offset + limit]
        return {"total": len(items), "offset": offset, "limit": limit,
                "next_offset": offset + limit if offset + limit < len(items) else None,
                "items": [_summary(a, counts) for a in page]}

    @r.get("/articles/{doc_id:path}", response_model=ArticleOut, summary="One article and the text offsets index")
    def article(doc_id: str, svc: Service = Depends(service_of)):
        try:
            a = svc.engine.article(doc_id)
        except QAError:
            raise HTTPException(404, f"no article {doc_id!r} (GET /v1/articles lists them)") from None
        return {**_summary(a, svc.engine.store.chunk_counts()), "origin": Path(a.origin).name if a.origin else "",
                "text": a.source_text}

    @r.post("/articles", response_model=JobOut, status_code=200, dependencies=[Depends(require_writes)],
            summary="Add articles: files (multipart, field `files`) or JSON {\"articles\": [...]}",
            responses={202: {"model": JobOut, "description": "still indexing: poll GET /v1/jobs/{id}"}},
            openapi_extra={"requestBody": {"content": {
                "application/json": {"schema": ArticlesIn.model_json_schema()},
                "multipart/form-data": {"schema": {"type": "object", "properties": {
                    "files": {"type": "array", "items": {"type": "string", "format": "binary"}}}}}}}})
    async def add(request: Request, wait: float = Query(10, ge=0, le=300, description="seconds to wait for the "
                                                                                      "ingest before replying 202"),
                  svc: Service = Depends(service_of)):
        kind = request.headers.get("content-type", "")
        if kind.startswith("multipart/form-data"):
            job = await _upload_files(svc, request)
        elif kind.startswith("application/json"):
            job = svc.jobs.submit(articles=_json_articles(await _json_body(request)))
        else:
            raise HTTPException(415, "send files as multipart/form-data (field `files`) or JSON "
                                "{\"articles\": [{\"text\": ..., \"title\": ...}]}")
        return await _job_reply(job, wait)

    @r.delete("/articles/{doc_id:path}", response_model=Deleted, dependencies=[Depends(require_writes)])
    async def remove(doc_id: str, svc: Service = Depends(service_of)):
        try:
            svc.engine.article(doc_id)  # the live generation's articles
        except QAError:
            raise HTTPException(404, f"no article {doc_id!r} (GET /v1/articles lists them)") from None
        deleted, missing = await asyncio.to_thread(svc.engine.delete, [doc_id])
        if missing:
            raise HTTPException(404, f"no article {doc_id!r} (GET /v1/articles lists them)")
        return {"deleted": deleted}

    @r.get("/jobs/{job_id}", response_model=JobOut)
    def job(job_id: str, svc: Service = Depends(service_of)):
        j = svc.jobs.get(job_id)
        if j is None:
            raise HTTPException(404, f"no job {job_id!r} (jobs are kept while the server runs)")
        return j.to_dict()

    @r.get("/stats", response_model=Stats)
    def stats(svc: Service = Depends(service_of)):
        s = svc.engine.stats()
        s.pop("index_dir", None)  # the server's folders are not the client's business
        return s

    @r.api_route("/{rest:path}", methods=["GET", "POST", "PUT", "DELETE", "PATCH"], include_in_schema=False)
    def unknown(rest: str):
        raise HTTPException(404, f"no route /v1/{rest}; see /docs")

    return r


def health() -> APIRouter:
    r = APIRouter()

    @r.get("/healthz", summary="alive")
    def healthz():
        return {"status": "ok"}

    @r.get("/readyz", summary="the index is open and answering", responses={503: {"model": ERRORS[503]["model"]}})
    def readyz(request: Request):
        svc: Service = request.app.state.service
        try:
            stats = svc.engine.stats()
            svc.engine.search("readiness check", k=1)
        except Exception as e:  # noqa: BLE001 - not ready, whatever the reason
            LOG.warning("not ready: %s", e)
            return JSONResponse({"error": {"type": "not_ready", "message": public_message(e)}}, status_code=503)
        return {"status": "ready", "articles": stats["articles"], "generation": stats["generation"]}

    return r


# ---- helpers -------------------------------------------------------------------------------------
def _summary(a, counts: dict[str, int]) -> dict[str, Any]:
    return {"id": a.id, "title": a.title, "source": a.source, "url": a.url, "published": a.published,
            "chunks": counts.get(a.id, 0)}


async def _events(svc: Service, query: QAQuery) -> AsyncIterator[dict]:
    """SSE: passages, the model's tokens (generated modes), each verified citation, then the answer;
    an ``error`` event instead when answering fails."""
    try:
        answer: Answer | None = None
        if query.mode.value == "extractive":
            answer = await svc.answerer.ask(query)
            yield {"event": "passages", "data": json.dumps([p.to_dict() for p in answer.passages])}
        else:
            stream = svc.engine.ask_stream(query, passages_first=True)
            done = object()
            while True:
                event = await asyncio.to_thread(next, stream, done)
                if event is done:
                    break
                if isinstance(event, Retrieved):
                    yield {"event": "passages", "data": json.dumps([p.to_dict() for p in event.passages])}
                elif isinstance(event, str):
                    yield {"event": "token", "data": json.dumps({"text": event})}
                elif isinstance(event, Answer):
                    answer = event
        assert answer is not None
        for c in answer.citations:
            yield {"event": "citation", "data": json.dumps(c.to_dict())}
        yield {"event": "answer", "data": json.dumps(answer.to_dict())}
    except Exception as e:  # noqa: BLE001 - the stream has begun: the error is an event
        if not isinstance(e, QAError):
            LOG.exception("streaming an answer failed")
        kind = "bad_request" if isinstance(e, QAError) else "internal"
        message = public_message(e) if isinstance(e, QAError) else f"answering failed ({type(e).__name__})"
        yield {"event": "error", "data": json.dumps({"error": {"type": kind, "message": message}})}


async def _json_body(request: Request) -> Any:
    try:
        return json.loads(await request.body())
    except (ValueError, UnicodeDecodeError) as e:
        raise HTTPException(400, f"malformed JSON body: {e}") from None


def _json_articles(body: Any) -> list:
    from pydantic import ValidationError

    try:
        given = ArticlesIn.model_validate(body)
    except ValidationError as e:
        raise HTTPException(422, "; ".join(f"{'.'.join(map(str, x['loc']))}: {x['msg']}" for x in e.errors()[:5])) from None
    out = []
    for i, rec in enumerate(given.articles):
        record = rec.model_dump(exclude_none=True)
        try:
            out.append(make_article(record, f"api:articles[{i}]", "api-" + content_hash(rec.text)[:16]))
        except ValueError as e:
            raise QAError(f"articles[{i}]: {e}") from None
    return out


async def _upload_files(svc: Service, request: Request):
    env = settings()
    form = await request.form(max_files=env.max_upload_files, max_fields=10)
    files = [f for f in form.getlist("files") if not isinstance(f, str)]
    if not files:
        raise HTTPException(400, "no files: send them as multipart/form-data in the field `files`")
    batch = new_batch(svc.uploads)
    accepted, refused = [], []
    for f in files:
        dest, why = await asyncio.to_thread(keep_upload, batch, f.filename or "upload", f.file, f.size or 0,
                                            env.max_file_mb)
        if dest is None:
            refused.append((why.partition(":")[0], why.partition(": ")[2]))
        else:
            accepted.append(dest)
    return svc.jobs.submit(paths=accepted, refused=refused)


async def _job_reply(job, wait: float):
    deadline = asyncio.get_running_loop().time() + wait
    while job.status in ("queued", "running") and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.05)
    if job.status in ("queued", "running"):
        return JSONResponse(job.to_dict(), status_code=202, headers={"Location": f"/v1/jobs/{job.id}"})
    return job.to_dict()

