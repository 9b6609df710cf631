"""Serving the chat page: where it may bind, who may log in, whether it may write, and the launch.

Binds 127.0.0.1 unless told otherwise, never creates a public share link, sends no analytics.
Beyond loopback the page needs a login (``--auth-file`` or ``QA_AUTH``), or ``--insecure``, which
serves it read-only. The page is served by ``qa serve``'s one process (qa/server/app.py), beside
the /v1 API, OpenAI-compatible chat and MCP.
"""
import argparse
import ipaddress
import sys
from pathlib import Path

from ..config import default_location, settings
from ..errors import QAError

DEMO_CORPUS = Path(__file__).resolve().parents[2] / "demo" / "articles.jsonl"


def ensure_demo_index(index_dir: str) -> None:
    """Index the demo corpus when the index is empty (first run)."""
    from ..engine import QA

    engine = QA(location=index_dir)
    if not len(engine.store) and DEMO_CORPUS.exists():
        print(f"First run: indexing the demo corpus into {engine.stats()['index_dir']} …", file=sys.stderr)
        print(engine.ingest([DEMO_CORPUS]).summary(), file=sys.stderr)


def is_loopback(host: str) -> bool:
    if host in ("localhost", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def secret_lines(path: str | None, option: str, env_value: str, env_name: str) -> tuple[list[str], str] | None:
    """Secrets from a file given by ``option`` (one per line, ``#`` comments) or else from an
    environment variable (comma-separated): (the entries, where they came from), or None when
    neither is set. Never from the command line, where ``ps`` shows them."""
    if path:
        try:
            raw = Path(path).read_text(encoding="utf-8").splitlines()
        except OSError as e:
            raise QAError(f"cannot read {option} {path}: {e.strerror or e}") from None
        where = f"{option} {path}"
    elif env_value:
        raw, where = env_value.split(","), env_name
    else:
        return None
    return [x.strip() for x in raw if x.strip() and not x.strip().startswith("#")], where


def read_auth(auth_file: str | None = None) -> list[tuple[str, str]] | None:
    """Logins from ``--auth-file`` (one ``user:password`` per line) or ``QA_AUTH`` (``user:password``,
    several separated by commas)."""
    found = secret_lines(auth_file, "--auth-file", settings().auth, "QA_AUTH")
    if found is None:
        return None
    lines, where = found
    creds = []
    for line in lines:
        user, sep, password = line.partition(":")
        if not sep or not user or not password:
            raise QAError(f"{where}: each login must look like user:password")
        creds.append((user, password))
    if not creds:
        raise QAError(f"{where} holds no user:password login")
    return creds


def serving_plan(host: str, creds, insecure: bool, keys: tuple[str, ...] = ()) -> bool:
    """Whether upload/delete are on. Refuses (QAError) to serve beyond loopback without a login or
    an API key unless ``insecure``; then everything is read-only (qa.server.security.plan)."""
    from ..server.security import plan

    return plan(host, creds, keys, insecure).allow_writes


def policy_of(args: argparse.Namespace):
    """The serving policy of the options ``add_serving_options`` added (qa.server.security.plan):
    QAError when they would expose the index unprotected. Decided once, before anything starts."""
    from ..server.security import plan, read_keys

    return plan(args.host, read_auth(args.auth_file), read_keys(args.api_keys_file), args.insecure,
                tuple(args.cors_origin))


def launch(index_dir: str | None, args: argparse.Namespace, policy=None):
    """Serve the page, /v1, /v1/chat/completions and /mcp from one process (qa.server.app.serve)."""
    from ..server.app import serve

    serve(index_dir, policy or policy_of(args), host=args.host, port=args.port, workers=args.workers)


class _RefuseArgvAuth(argparse.Action):
    """``--auth user:pass`` would show the password to every user of the machine (``ps``)."""

    def __call__(self, parser, namespace, values, option_string=None):
        if option_string == "--api-key":
            parser.error("--api-key on the command line is visible to every user (ps); "
                         "set QA_API_KEYS=KEY or use --api-keys-file FILE")
        parser.error("--auth on the command line is visible to every user (ps); "
                     "set QA_AUTH=user:password or use --auth-file FILE")


def add_serving_options(ap: argparse.ArgumentParser) -> None:
    """--host, --auth-file, --api-keys-file, --insecure, --cors-origin, --workers (and a refusal of
    --auth / --api-key): shared by app.py and ``qa serve``."""
    ap.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    ap.add_argument("--auth-file", help="file of user:password lines required to open the page "
                    "(or set QA_AUTH=user:password)")
    ap.add_argument("--api-keys-file", help="file of API keys (one per line) required on /v1 and /mcp as "
                    "Authorization: Bearer KEY (or set QA_API_KEYS)")
    ap.add_argument("--insecure", action="store_true", help="allow a non-loopback --host without a password "
                    "or API key (read-only: upload and delete are off on every surface)")
    ap.add_argument("--cors-origin", action="append", default=[], metavar="ORIGIN",
                    help="let browser pages from ORIGIN call the API (repeatable; default: none)")
    ap.add_argument("--workers", type=int, default=None, help="processes answering questions "
                    "(default QA_ANSWER_WORKERS, 0: one per core)")
    ap.add_argument("--auth", help=argparse.SUPPRESS, action=_RefuseArgvAuth)
    ap.add_argument("--api-key", help=argparse.SUPPRESS, action=_RefuseArgvAuth)


def main(argv: list[str] | None = None) -> None:
    """``python app.py``: index the demo corpus on first run, then serve the chat page."""
    ap = argparse.ArgumentParser(description="News QA chat app")
    ap.add_argument("--index", "--store", dest="index", default=default_location(),
                    help="index folder or postgresql:// address (default: $QA_STORE, $QA_INDEX_DIR or index_store/)")
    ap.add_argument("--port", type=int, default=settings().port)
    add_serving_options(ap)
    ap.add_argument("--no-demo", action="store_true", help="do not index the demo corpus on first run")
    a = ap.parse_args(argv)
    try:
        policy = policy_of(a)  # refuse before indexing anything
        if not a.no_demo:
            ensure_demo_index(a.index)
        launch(a.index, a, policy)
    except QAError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
