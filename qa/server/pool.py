"""Answering on every core: extractive answers and searches run in worker processes, each with its
own engine over the same index (one Python process answers on one core at a time, whatever its
threads: measured 44 answers/s alone, 45 with 2 threads, 52 with 4 on news-dev).

Each worker reloads the index when another process commits a new generation (as every ``QA``
does), so an upload through the server is answered from as soon as it is committed. Generated
modes stay in the server process, where the language model is loaded once.
"""
from __future__ import annotations

import asyncio
import multiprocessing
import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor

from ..config import offline_environment, set_variable
from ..engine import QA
from ..types import Answer, AnswerMode, Passage, Query, Retrieved

_ENGINE: QA | None = None


def _start(location: str) -> None:
    global _ENGINE
    set_variable("QA_THREADS", "1")  # one encoder thread per worker: the workers share the cores
    offline_environment()
    _ENGINE = QA(location=location)


def _ask(query: Query) -> Answer:
    assert _ENGINE is not None
    return _ENGINE.ask(query)


def _search(query: Query) -> list[Passage]:
    assert _ENGINE is not None
    return _ENGINE.search(query)


def _ping(_: int = 0) -> int:
    return os.getpid()


class Answerer:
    """Where the server's questions are answered: ``workers`` processes (0: one per core), or, with
    one worker, the server's own engine (on a thread, so the event loop keeps serving)."""

    def __init__(self, engine: QA, workers: int = 0):
        self.engine = engine
        n = workers or (os.cpu_count() or 1)
        self.pool: ProcessPoolExecutor | None = None
        if n > 1:
            self.pool = ProcessPoolExecutor(n, mp_context=multiprocessing.get_context("spawn"), initializer=_start,
                                            initargs=(str(engine.location),))
        self.workers = n

    def warm(self) -> None:
        """Start every worker (each loads the encoder and the index) before the first question."""
        if self.pool is not None:
            list(self.pool.map(_ping, range(self.workers * 2)))

    async def ask(self, query: Query) -> Answer:
        if self.pool is not None and query.mode is AnswerMode.EXTRACTIVE:
            return await asyncio.wrap_future(self.pool.submit(_ask, query))
        return await asyncio.to_thread(self.engine.ask, query)

    async def search(self, query: Query) -> list[Passage]:
        if self.pool is not None:
            return await asyncio.wrap_future(self.pool.submit(_search, query))
        return await asyncio.to_thread(self.engine.search, query)

    def ask_stream(self, question: str | Query, *, passages_first: bool = False,
                   **options) -> Iterator[str | Retrieved | Answer]:
        """``QA.ask_stream`` for the chat page (a worker thread): extractive answers from a worker
        process, generated ones streamed from this process's model."""
        query = self.engine.query(question, **options)
        if self.pool is None or query.mode is not AnswerMode.EXTRACTIVE:
            return self.engine.ask_stream(query, passages_first=passages_first)

        def one() -> Iterator[str | Retrieved | Answer]:
            assert self.pool is not None
            answer = self.pool.submit(_ask, query).result()
            if passages_first:
                yield Retrieved(passages=answer.passages)
            yield answer
        return one()

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=False, cancel_futures=True)
