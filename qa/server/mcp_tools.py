"""The MCP server (official ``mcp`` SDK, 2.x ``MCPServer``): the index as tools for agents.

    search_news(query, as_of?, sources?, date_from?, date_to?, k?)  -> passages with exact offsets
    ask_news(question, as_of?, sources?, date_from?, date_to?, k?)  -> the verified, cited answer
    get_article(doc_id)                                              -> metadata and the text offsets index
    list_sources()                                                   -> sources, article counts, date range
    resource newsqa://sources                                        -> the same, as JSON

``qa mcp`` serves it over stdio (desktop hosts); ``qa serve`` mounts the same tools at ``/mcp``
(streamable HTTP). A bad argument (an unknown source, a malformed date) is a tool error that says
what is allowed, never a silent search of everything.
"""
from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

from ..engine import QA
from ..errors import QAError
from ..types import Answer, Passage, Query

INSTRUCTIONS = ("Search and question an offline index of news articles. ask_news returns a short answer whose "
                "[n] markers cite exact sentences (quote, doc_id, start/end offsets into get_article's text); it "
                "abstains when the articles do not say. Use as_of (YYYY-MM-DD) for questions about a given time, "
                "and list_sources for the outlets and dates the index holds.")


def _passage(p: Passage) -> dict[str, Any]:
    return {"rank": p.rank, "doc_id": p.doc_id, "title": p.title, "source": p.source, "url": p.url,
            "published": p.published, "quote": p.text, "start": p.chunk.start, "end": p.chunk.end,
            "score": round(p.score, 6)}


def build_mcp(engine: QA, ask: Callable[[Query], Awaitable[Answer]] | None = None,
              search: Callable[[Query], Awaitable[list[Passage]]] | None = None) -> MCPServer:
    """The MCP server over ``engine``; ``ask``/``search`` (async) answer elsewhere when given (the
    server's worker processes), else on a thread of this process."""
    import asyncio

    server = MCPServer("newsqa", instructions=INSTRUCTIONS, version="0.1.0", log_level="WARNING")

    def checked(text: str, **options: Any) -> Query:
        try:
            return engine.query(text, **options)
        except QAError as e:
            raise ToolError(str(e)) from None

    async def run_ask(q: Query) -> Answer:
        return await (ask(q) if ask else asyncio.to_thread(engine.ask, q))

    async def run_search(q: Query) -> list[Passage]:
        return await (search(q) if search else asyncio.to_thread(engine.search, q))

    @server.tool(description="Find passages of news articles about a query. Returns each passage's doc_id, title, "
                 "source, url, published date, quote, start/end offsets into the article text and score.")
    async def search_news(query: str, as_of: str | None = None, sources: list[str] | None = None,
                          date_from: str | None = None, date_to: str | None = None, k: int = 8) -> dict[str, Any]:
        q = checked(query, as_of=as_of, sources=sources, date_from=date_from, date_to=date_to, k=k)
        return {"query": q.question, "passages": [_passage(p) for p in await run_search(q)]}

    @server.tool(description="Answer a question from the news articles. The answer's [n] markers cite exact "
                 "sentences; abstained is true when the articles do not say; corroboration says how many "
                 "independent outlets report the answer, which, since when, and where sources disagree.")
    async def ask_news(question: str, as_of: str | None = None, sources: list[str] | None = None,
                       date_from: str | None = None, date_to: str | None = None, k: int = 8) -> dict[str, Any]:
        a = await run_ask(checked(question, as_of=as_of, sources=sources, date_from=date_from, date_to=date_to, k=k))
        return {"answer": a.text, "abstained": a.abstained, "confidence": round(a.confidence, 4),
                "citations": [c.to_dict() for c in a.citations],
                "corroboration": None if a.corroboration is None else a.corroboration.to_dict(),
                "passages": [_passage(p) for p in a.passages[:3]] if a.abstained else []}

    @server.tool(description="One article: its metadata and text. Citation start/end offsets index this text.")
    def get_article(doc_id: str) -> dict[str, Any]:
        try:
            a = engine.article(doc_id)
        except QAError:
            raise ToolError(f"no article {doc_id!r}; search_news or ask_news give the doc_ids") from None
        return {"id": a.id, "title": a.title, "source": a.source, "url": a.url, "published": a.published,
                "text": a.source_text}

    def sources_info() -> dict[str, Any]:
        s = engine.stats()
        return {"articles": s["articles"], "published_range": s["published_range"], "sources": s["sources"]}

    @server.tool(description="The sources (outlets) the index holds, with article counts, and its date range.")
    def list_sources() -> dict[str, Any]:
        return sources_info()

    @server.resource("newsqa://sources", name="sources", description="indexed sources and date range",
                     mime_type="application/json")
    def sources_resource() -> str:
        return json.dumps(sources_info())

    return server


def main(location: str) -> None:
    """``qa mcp``: the tools over stdio."""
    build_mcp(QA(location=location)).run("stdio")
