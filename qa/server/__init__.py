"""The HTTP server (``qa serve``) and the MCP server (``qa mcp``): one module a concern.

    schemas.py           the API's request and reply models (pydantic; /openapi.json)
    security.py          who may use it (logins, API keys, read-only) and body-size caps
    pool.py              where answers are computed (worker processes, one per core)
    jobs.py              uploads ingested one at a time, with progress
    api.py               /v1 routes, /healthz, /readyz
    chat_completions.py  OpenAI-compatible /v1/chat/completions and /v1/models
    mcp_tools.py         MCP tools (stdio for ``qa mcp``, streamable HTTP at /mcp)
    app.py               the composition (``build_server``) and ``serve``
"""
import os

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ.setdefault("HF_HUB_OFFLINE", "1")
