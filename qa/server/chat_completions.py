"""OpenAI-compatible chat: ``POST /v1/chat/completions`` (streaming and not) and ``GET /v1/models``,
so Open WebUI, LibreChat or any OpenAI SDK can talk to the index.

The last user message is the question, earlier user/assistant pairs are the conversation. The
reply's ``content`` is the answer with its ``[n]`` markers and a readable source list; the same
citations come structured in ``choices[0].message.citations`` (streaming: in the last chunk's
``delta.citations``) -- an additive field, as PrivateGPT's ``choices[].sources`` and RAGFlow's
``message.reference`` are, beside the fields OpenAI clients read. Filters go in the extra body
field ``filters``: ``{"as_of", "sources", "date_from", "date_to", "k"}``.

Generated modes stream nothing before verification: what a client concatenates is the verified text.
"""
from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from ..conversation import turns
from ..corroborate import summary
from ..llm import available_modes
from ..types import Answer, Turn
from .api import Service, service_of
from .schemas import ERRORS, FilterFields

MODELS = {"newsqa": "extractive", "newsqa-local": "local", "newsqa-openai": "openai"}


class Message(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return " ".join(str(p.get("text", "")) for p in self.content if p.get("type") in ("text", "input_text"))
        return self.content or ""


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="allow")  # temperature, max_tokens, ...: accepted, not used
    model: str = Field(default="newsqa", examples=["newsqa"])
    messages: list[Message] = Field(..., min_length=1)
    stream: bool = False
    filters: FilterFields | None = Field(default=None, description="as_of, sources, date_from, date_to, k")


def model_ids() -> list[str]:
    modes = set(available_modes())
    return [m for m, mode in MODELS.items() if mode in modes]


def content_of(answer: Answer) -> str:
    """The answer with its [n] markers, then one line per source."""
    lines = [answer.text]
    if answer.citations:
        lines.append("\nSources:")
        for c in answer.citations:
            meta = ", ".join(x for x in (c.source, c.published) if x)
            lines.append(f"[{c.n}] {c.title or c.doc_id}" + (f" ({meta})" if meta else "") + (f" {c.url}" if c.url else "")
                         + f' — "{c.quote}"')
    if answer.corroboration is not None and not answer.abstained:
        lines.append("\n" + summary(answer.corroboration))
    return "\n".join(lines)


def _conversation(messages: list[Message]) -> tuple[str, list[Turn]]:
    said = [m for m in messages if m.role in ("user", "assistant")]
    if not said or said[-1].role != "user" or not said[-1].text().strip():
        raise HTTPException(400, "the last message must be the user's question")
    pairs: list[tuple[str, str, str | None]] = []
    pending: str | None = None
    for m in said[:-1]:
        if m.role == "user":
            pending = m.text()
        elif pending is not None:
            pairs.append((pending, m.text(), None))
            pending = None
    return said[-1].text(), turns(pairs)


def router() -> APIRouter:
    r = APIRouter(prefix="/v1", responses=ERRORS)

    @r.get("/models", summary="One model id per answer mode (OpenAI-compatible)")
    def models():
        return {"object": "list", "data": [{"id": m, "object": "model", "created": 0, "owned_by": "newsqa"}
                                           for m in model_ids()]}

    @r.post("/chat/completions", summary="OpenAI-compatible chat over the index, with structured citations")
    async def completions(req: ChatRequest, request: Request, svc: Service = Depends(service_of)):
        if req.model not in MODELS:
            raise HTTPException(404, f"unknown model {req.model!r}; GET /v1/models lists: {', '.join(model_ids())}")
        question, turns = _conversation(req.messages)
        f = req.filters or FilterFields()
        query = svc.engine.query(question, k=f.k, as_of=f.as_of, sources=f.sources, date_from=f.date_from,
                                 date_to=f.date_to, history=turns, mode=MODELS[req.model])
        answer = await svc.answerer.ask(query)
        cid, created = "chatcmpl-" + uuid.uuid4().hex[:24], int(time.time())
        citations = [c.to_dict() for c in answer.citations]
        corroboration = None if answer.corroboration is None else answer.corroboration.to_dict()
        if not req.stream:
            return {"id": cid, "object": "chat.completion", "created": created, "model": req.model,
                    "choices": [{"index": 0, "finish_reason": "stop",
                                 "message": {"role": "assistant", "content": content_of(answer),
                                             "citations": citations, "abstained": answer.abstained,
                                             "corroboration": corroboration}}],
                    "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}}
        return StreamingResponse(_chunks(cid, created, req.model, answer, citations, corroboration),
                                 media_type="text/event-stream", headers={"Cache-Control": "no-cache"})

    return r


def _chunks(cid: str, created: int, model: str, answer: Answer, citations: list[dict],
            corroboration: dict | None) -> Iterator[str]:
    def chunk(delta: dict, finish: str | None = None) -> str:
        body = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"

    yield chunk({"role": "assistant", "content": ""})
    words = content_of(answer).split(" ")
    step = 8
    for i in range(0, len(words), step):
        yield chunk({"content": " ".join(words[i:i + step]) + (" " if i + step < len(words) else "")})
    yield chunk({"citations": citations, "abstained": answer.abstained, "corroboration": corroboration}, "stop")
    yield "data: [DONE]\n\n"
