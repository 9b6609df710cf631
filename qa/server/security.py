"""Who may use the server, and how much they may send.

The rules (the same as the chat page's): on loopback everything is open unless API keys are set;
beyond loopback the page needs a login and ``/v1`` and ``/mcp`` need an API key (``Authorization:
Bearer KEY``), or ``--insecure`` serves everything read-only. Keys come from ``--api-keys-file``
(one per line) or ``QA_API_KEYS``, never from the command line, and are compared in constant time.
Request bodies are capped: ``POST /v1/articles`` at ``QA_MAX_REQUEST_MB``, any other API body at 1 MB.
"""
from __future__ import annotations

import hmac
import json
import sys
from dataclasses import dataclass

from ..app.serving import is_loopback, secret_lines
from ..config import settings
from ..errors import QAError

API_BODY_BYTES = 1024 * 1024
API_PREFIXES = ("/v1", "/mcp")


def read_keys(keys_file: str | None = None) -> tuple[str, ...]:
    """API keys from ``keys_file`` (one per line, # comments) or ``QA_API_KEYS`` (comma-separated)."""
    found = secret_lines(keys_file, "--api-keys-file", settings().api_keys, "QA_API_KEYS")
    if found is None:
        return ()
    keys, where = tuple(found[0]), found[1]
    if not keys:
        raise QAError(f"{where} holds no API key")
    short = [k for k in keys if len(k) < 16]
    if short:
        raise QAError(f"{where}: an API key must be at least 16 characters (one has {len(short[0])}); "
                      f"make one with: python -c 'import secrets; print(secrets.token_urlsafe(24))'")
    return keys


@dataclass(frozen=True)
class Policy:
    """What this server allows, decided once at start (``plan``)."""
    keys: tuple[str, ...]  # required on /v1 and /mcp when non-empty
    api_open: bool  # /v1 and /mcp usable without a key (loopback without keys, or --insecure)
    allow_writes: bool  # upload and delete, on every surface
    page: bool  # the chat page is served
    logins: list[tuple[str, str]] | None
    cors_origins: tuple[str, ...] = ()
    max_request_bytes: int = 100 * 1024 * 1024

    def key_ok(self, header: str | None) -> bool:
        scheme, _, token = (header or "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return False
        ok = False
        for key in self.keys:  # every key compared, in constant time each
            ok |= hmac.compare_digest(token.strip().encode(), key.encode())
        return ok


def plan(host: str, logins: list[tuple[str, str]] | None, keys: tuple[str, ...], insecure: bool,
         cors_origins: tuple[str, ...] = ()) -> Policy:
    """The policy for serving on ``host``; QAError when that would expose the index unprotected."""
    limit = int(settings().max_request_mb * 1024 * 1024)
    if is_loopback(host):
        return Policy(keys=keys, api_open=not keys, allow_writes=True, page=True, logins=logins,
                      cors_origins=cors_origins, max_request_bytes=limit)
    if logins or keys:
        if not keys:
            print(f"note: serving on {host} with a login but no API keys: /v1 and /mcp are closed "
                  "(set QA_API_KEYS or --api-keys-file)", file=sys.stderr)
        if not logins:
            print(f"note: serving on {host} with API keys but no login: the chat page is off "
                  "(set QA_AUTH or --auth-file)", file=sys.stderr)
        return Policy(keys=keys, api_open=False, allow_writes=True, page=bool(logins), logins=logins,
                      cors_origins=cors_origins, max_request_bytes=limit)
    if not insecure:
        raise QAError(f"refusing to serve on {host} without a password or API key: anyone who can reach this "
                      f"machine could read, upload and delete articles. Set QA_AUTH=user:password or --auth-file "
                      f"FILE for the page and QA_API_KEYS or --api-keys-file FILE for the API, bind 127.0.0.1, or "
                      f"pass --insecure to serve read-only (questions only, no upload or delete).")
    print(f"warning: serving on {host} without a password (--insecure): read-only, upload and delete are off",
          file=sys.stderr)
    return Policy(keys=(), api_open=True, allow_writes=False, page=True, logins=None, cors_origins=cors_origins,
                  max_request_bytes=limit)


def error_body(kind: str, message: str) -> bytes:
    return json.dumps({"error": {"type": kind, "message": message}}).encode()


class _TooLarge(Exception):
    pass


class Guard:
    """ASGI middleware in front of /v1 and /mcp: the API key, then the body-size cap (by
    Content-Length, and by counting a body sent without one)."""

    def __init__(self, app, policy: Policy):
        self.app = app
        self.policy = policy

    async def __call__(self, scope, receive, send):
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith(API_PREFIXES) or scope.get("method") == "OPTIONS":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        if not self.policy.api_open:
            if not self.policy.keys:
                return await _reply(send, 401, "unauthorized", "this server has no API keys configured; its "
                                    "operator sets QA_API_KEYS or --api-keys-file to open /v1 and /mcp")
            if not self.policy.key_ok(headers.get("authorization")):
                return await _reply(send, 401, "unauthorized", "send a valid API key: Authorization: Bearer KEY",
                                    [(b"www-authenticate", b"Bearer")])
        upload = path.rstrip("/") == "/v1/articles" and scope.get("method") == "POST"
        limit = self.policy.max_request_bytes if upload else API_BODY_BYTES
        try:
            declared = int(headers.get("content-length") or 0)
        except ValueError:
            return await _reply(send, 400, "bad_request", "Content-Length is not a number")
        if declared > limit:
            return await _reply(send, 413, "too_large", f"the request body is {declared:,} bytes; at most "
                                f"{limit:,} here" + ("" if upload else " (uploads: POST /v1/articles)"))
        seen = 0
        started = False

        async def counted():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _TooLarge
            return message

        async def watched(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except _TooLarge:
            if not started:
                await _reply(send, 413, "too_large", f"the request body is over {limit:,} bytes")


async def _reply(send, status: int, kind: str, message: str, extra: list | None = None) -> None:
    body = error_body(kind, message)
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            *(extra or [])]})
    await send({"type": "http.response.body", "body": body})
