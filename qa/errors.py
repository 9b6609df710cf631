"""Errors users see. Each names the file (and line) at fault and what to do."""
from __future__ import annotations


class QAError(Exception):
    """Base class for every error this package raises on purpose."""


class InputError(QAError):
    """An input file could not be read as articles."""

    MAX_REASON = 300  # one readable line, whatever the file holds (a header of 20,000 columns, ...)

    def __init__(self, path: str, message: str, line: int | None = None):
        self.path = str(path)
        self.line = line
        message = " ".join(str(message).split())  # one line
        if len(message) > self.MAX_REASON:
            message = message[: self.MAX_REASON - 1] + "…"
        self.reason = message
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {message}")


class IndexError_(QAError):
    """The index on disk is missing, incompatible or damaged."""


class IndexLockedError(QAError):
    """Another process is writing to the same index."""


class EmptyIndexError(QAError):
    """The index holds no articles yet."""
