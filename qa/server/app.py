"""``qa serve``: one ASGI process with the chat page, the ``/v1`` API, OpenAI-compatible chat and
MCP, over one engine loaded once.

    /                     the chat page (Gradio), with its login beyond loopback
    /v1/...               the JSON API (qa/server/api.py), OpenAPI at /openapi.json, docs at /docs
    /v1/chat/completions  OpenAI-compatible chat (qa/server/chat_completions.py)
    /mcp                  MCP over streamable HTTP (qa/server/mcp_tools.py)
    /healthz, /readyz

Errors are JSON ``{"error": {"type", "message"}}`` with the matching status, never a traceback
or a server path (the log has those).
"""
from __future__ import annotations

import contextlib
import logging
import sys
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from ..app.render import public_message
from ..config import default_location, is_database, settings
from ..engine import QA
from ..errors import IndexError_, IndexLockedError, QAError
from . import api, chat_completions
from .jobs import Jobs
from .mcp_tools import build_mcp
from .pool import Answerer
from .security import Guard, Policy

LOG = logging.getLogger("newsqa.server")
KINDS = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
         409: "conflict", 413: "too_large", 415: "unsupported_media_type", 422: "invalid", 429: "rate_limited",
         500: "internal", 503: "not_ready"}


def _error(status: int, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": {"type": KINDS.get(status, "error"), "message": message}}, status_code=status,
                        headers=headers)


def build_server(location: str | None = None, policy: Policy | None = None, workers: int | None = None,
                 page: bool = True, engine: QA | None = None, host: str = "127.0.0.1") -> FastAPI:
    """The whole server as one FastAPI app (``page=False``: the API alone, as tests may want)."""
    from .security import plan

    policy = policy or plan(host, None, (), insecure=False)
    engine = engine or QA(location=location or default_location())
    answerer = Answerer(engine, settings().answer_workers if workers is None else workers)
    where = str(engine.location)
    uploads = Path(settings().upload_dir or (Path("uploads") if is_database(where) else Path(where) / "uploads"))
    service = api.Service(engine=engine, answerer=answerer, jobs=Jobs(engine, public_message), policy=policy,
                          uploads=uploads)
    mcp = build_mcp(engine, ask=answerer.ask, search=answerer.search)
    mcp_app = mcp.streamable_http_app(streamable_http_path="/mcp", host=host)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        import asyncio

        await asyncio.to_thread(answerer.warm)
        async with mcp.session_manager.run():
            yield
        answerer.close()
        service.jobs.close()

    app = FastAPI(title="News QA", version="0.1.0", lifespan=lifespan,
                  description="Questions over news articles, answered with verified citations to exact passages. "
                              "Every error is `{\"error\": {\"type\", \"message\"}}`.")
    app.state.service = service

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, e: HTTPException):
        return _error(e.status_code, str(e.detail), getattr(e, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, e: RequestValidationError):
        errors = e.errors()
        if any(x.get("type") == "json_invalid" for x in errors):
            return _error(400, "malformed JSON body: " + "; ".join(str(x.get("ctx", {}).get("error", x["msg"]))
                                                                    for x in errors[:1]))
        what = "; ".join(f"{'.'.join(str(p) for p in x['loc'] if p != 'body') or 'body'}: {x['msg']}"
                         for x in errors[:5])
        return _error(422, what)

    @app.exception_handler(QAError)
    async def qa_error(request: Request, e: QAError):
        status = 503 if isinstance(e, IndexError_) else 409 if isinstance(e, IndexLockedError) else 400
        return _error(status, public_message(e))

    @app.exception_handler(Exception)
    async def crash(request: Request, e: Exception):
        LOG.exception("%s %s failed", request.method, request.url.path)
        return _error(500, f"something went wrong ({type(e).__name__}); the index is unchanged")

    app.include_router(api.health())
    app.include_router(chat_completions.router())
    app.include_router(api.router())
    app.router.routes.extend(mcp_app.routes)  # /mcp; its session manager runs in the lifespan above
    app.add_middleware(Guard, policy=policy)
    if policy.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(policy.cors_origins), allow_methods=["*"],
                           allow_headers=["Authorization", "Content-Type"], allow_credentials=False)
    if page and policy.page:
        import gradio as gr

        from ..app.layout import build_app
        from ..app.render import CSS

        # the page's handlers mostly wait (on a worker process, or between the words of a growing
        # answer): more of them at once than cores keeps a queue of 20 users short
        demo, _ = build_app(allow_writes=policy.allow_writes, engine=engine, ask_stream=answerer.ask_stream,
                            upload_dir=str(uploads), answer_slots=max(4, 10 * answerer.workers))
        demo.queue(default_concurrency_limit=8)
        app = gr.mount_gradio_app(app, demo, path="/", auth=policy.logins, css=CSS, show_error=False,
                                  max_file_size=f"{int(settings().max_file_mb)}mb", footer_links=[])
    return app


def serve(location: str | None, policy: Policy, host: str = "127.0.0.1", port: int = 7860,
          workers: int | None = None) -> None:
    """Run the server on ``host``:``port`` under ``policy`` (qa.server.security.plan, decided once by the caller)."""
    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = build_server(location, policy, workers=workers, host=host)
    base = f"http://{host}:{port}"
    print(f"News QA on {base}/" + ("" if policy.page else " (page off: no login configured)") +
          f"\n  API {base}/v1 (docs {base}/docs) · OpenAI-compatible {base}/v1/chat/completions · MCP {base}/mcp"
          + ("" if policy.allow_writes else "\n  read-only: upload and delete are off"), file=sys.stderr, flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=5)
