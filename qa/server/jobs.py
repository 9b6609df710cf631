"""Ingests started over HTTP: one at a time on a writer thread, each a job whose progress
(``GET /v1/jobs/{id}``) follows the ingest's own progress callback."""
from __future__ import annotations

import logging
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ..engine import QA
from ..errors import QAError
from ..types import Article
from .schemas import JobOut

LOG = logging.getLogger("newsqa.server")
KEPT = 200  # finished jobs remembered


class Job(JobOut):
    """A job's state as ``GET /v1/jobs/{id}`` shows it (the JobOut schema), updated as it runs."""

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump()


class Jobs:
    """Runs ingests for the server (``public``: how an error reads without server paths)."""

    def __init__(self, engine: QA, public: Callable[[object], str]):
        self.engine = engine
        self.public = public
        self.writer = ThreadPoolExecutor(1, thread_name_prefix="ingest")
        self.jobs: OrderedDict[str, Job] = OrderedDict()
        self.lock = threading.Lock()

    def submit(self, paths: list[Path] | None = None, articles: list[Article] | None = None,
               refused: list[tuple[str, str]] | None = None) -> Job:
        job = Job(id=uuid.uuid4().hex[:16], status="queued")
        with self.lock:
            self.jobs[job.id] = job
            while len(self.jobs) > KEPT and next(iter(self.jobs.values())).status in ("done", "failed"):
                self.jobs.popitem(last=False)
        self.writer.submit(self._run, job, paths or [], articles or [], refused or [])
        return job

    def get(self, job_id: str) -> Job | None:
        return self.jobs.get(job_id)

    def _run(self, job: Job, paths: list[Path], articles: list[Article], refused: list[tuple[str, str]]) -> None:
        job.status = "running"

        def progress(stage: str, done: int, total: int) -> None:
            job.stage, job.done, job.total = stage, done, total

        def waiting(message: str) -> None:
            job.stage = self.public(message)

        try:
            report = self.engine.ingest(paths, articles=articles, progress=progress, on_wait=waiting)
        except Exception as e:  # noqa: BLE001 - a job reports, it does not raise
            if not isinstance(e, QAError):
                LOG.exception("ingest job %s failed", job.id)
            job.error = f"indexing failed, the index is unchanged: {self.public(e)}"
            job.status = "failed"
            return
        out = report.to_dict()
        for key, name in (("failed", "file"), ("skipped", "file")):
            for item in out[key]:
                item[name] = Path(item[name]).name
                if "reason" in item:
                    item["reason"] = self.public(item["reason"])
        for item in out["duplicates"]:
            item["origin"] = self.public(item["origin"])
        out["failed"] += [{"file": name, "reason": why} for name, why in refused]
        job.report, job.summary = out, report.summary()
        job.status = "done"

    def close(self) -> None:
        self.writer.shutdown(wait=False, cancel_futures=True)
