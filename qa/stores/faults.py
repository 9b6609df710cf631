"""Fault injection for the kill tests (tests/test_crash.py, benchmarks/crash_loop.py): a writer
passes named points inside each commit; ``QA_CRASH_AT`` makes the process die at one of them."""
from __future__ import annotations

import os

from ..config import settings

_crash_hits: dict[str, int] = {}


def crash_point(name: str) -> None:
    """Fault injection for the kill tests (tests/test_crash.py, benchmarks/crash_loop.py):
    ``QA_CRASH_AT=name`` or ``name:n`` SIGKILLs this process the n-th time (default 1st) it
    reaches ``name``, so no cleanup of any kind runs. A no-op otherwise."""
    at = settings().crash_at
    if not at:
        return
    want, _, nth = at.partition(":")
    if want == name:
        _crash_hits[name] = _crash_hits.get(name, 0) + 1
        if _crash_hits[name] == int(nth or 1):
            import signal

            os.kill(os.getpid(), signal.SIGKILL)


CRASH_POINTS = ("segment-files", "segment-registered", "before-commit", "after-commit", "merge-written",
                "purge-committed", "purge-files")
