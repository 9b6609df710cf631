"""The library tab's handlers: the article table (search, sort), index stats, upload and delete.

Uploads are copied under safe names into their own folder (``uploads/<batch>/``), checked for
type and size, then ingested as one atomic change; a failure of any kind leaves the index as it was.
"""
import html
import logging
from pathlib import Path

import gradio as gr

from ..config import Settings
from ..errors import QAError
from .render import public_message
from .uploads import UPLOAD_TYPES, keep_upload, new_batch, safe_upload_name

LOG = logging.getLogger("newsqa.app")
__all__ = ["Library", "UPLOAD_TYPES", "safe_upload_name"]


class Library:
    """The library handlers over one engine; uploads are kept under ``uploads``."""

    def __init__(self, engine, uploads: Path, env: Settings):
        self.engine = engine
        self.uploads = uploads
        self.env = env

    def source_choices(self) -> list[str]:
        return sorted({a.source for a in self.engine.articles() if a.source})

    def empty_note(self) -> str:
        if len(self.engine.store):
            return ""
        return ("**The index is empty.** Open the *Library* tab to upload articles (txt, md, html, json, "
                "jsonl, csv), or run `qa ingest PATH` and reload.")

    def article_rows(self, query: str = "", order: str = "newest first") -> list[list]:
        arts = self.engine.articles()
        q = (query or "").strip().lower()
        if q:
            arts = [a for a in arts if q in a.title.lower() or q in a.id.lower() or q in a.source.lower()]
        arts.sort(key=lambda a: a.published or "", reverse=(order != "oldest first"))
        counts = self.engine.store.chunk_counts()
        return [[a.id, a.title, a.source, a.published, counts.get(a.id, 0)] for a in arts]

    def stats_md(self) -> str:
        s = self.engine.stats()
        rng = " – ".join(s["published_range"]) if s["published_range"] else "none"
        return (f"**{s['articles']}** articles · **{s['chunks']}** chunks · published {html.escape(rng)} · "
                f"{len(s['sources'])} sources · model `{s['model']}` · index `{html.escape(s['index_dir'])}`")

    def refresh_library(self, query, order):
        ids = [a.id for a in self.engine.articles()]
        return (self.article_rows(query, order), self.stats_md(), gr.update(choices=ids, value=[]),
                gr.update(choices=self.source_choices()), self.empty_note())

    def upload(self, files, query, order, progress=gr.Progress()):
        files = files or []
        if not files:
            return ("Choose one or more files first.",) + self.refresh_library(query, order)
        if len(files) > self.env.max_upload_files:
            too_many = f"Too many files: {len(files)} (at most {self.env.max_upload_files} at once)."
            return (too_many,) + self.refresh_library(query, order)
        try:
            lines = self.add_files(files, progress)
        except Exception as e:  # noqa: BLE001 - disk full, unreadable upload, ...: logged, not shown
            LOG.exception("upload failed")
            lines = [f"**Failed**: the upload could not be stored ({html.escape(type(e).__name__)}: "
                     f"{html.escape(public_message(e))}); the index is unchanged."]
        return ("\n\n".join(lines),) + self.refresh_library(query, order)

    def add_files(self, files, progress) -> list[str]:
        lines = []
        batch = new_batch(self.uploads)
        accepted = []
        for f in files:
            src = Path(f if isinstance(f, str) else getattr(f, "name", str(f)))
            dest, refused = keep_upload(batch, getattr(f, "orig_name", None) or src.name, src, src.stat().st_size,
                                        self.env.max_file_mb)
            if dest is None:
                lines.append(f"**Failed** {html.escape(refused)}")
                continue
            accepted.append(dest)

        def on_progress(stage: str, done: int, total: int) -> None:
            progress(done / max(1, total), desc=f"{stage} {done}/{total}")

        if accepted:
            try:
                report = self.engine.ingest(accepted, progress=on_progress,
                                            on_wait=lambda message: progress(0, desc=public_message(message)))
            except Exception as e:  # noqa: BLE001 - lock held by another writer, disk full, ...
                if not isinstance(e, QAError):
                    LOG.exception("indexing an upload failed")
                lines.append(f"**Failed**: indexing failed, the index is unchanged: {html.escape(public_message(e))}")
            else:
                lines.insert(0, f"**Done**: {html.escape(report.summary())}")
                for fpath, reason in report.failed:
                    lines.append(f"**Failed** {html.escape(Path(fpath).name)}: {html.escape(public_message(reason))}")
                for origin, dup in report.duplicates:
                    lines.append(f"**Duplicate** {html.escape(Path(origin).name)}: same text as {html.escape(dup)}")
                for fpath, line, reason in report.skipped[:20]:
                    lines.append(f"**Skipped** {html.escape(Path(fpath).name)} line {line}: "
                                 f"{html.escape(public_message(reason))}")
                if len(report.skipped) > 20:
                    lines.append(f"… and {len(report.skipped) - 20} more skipped lines")
        return lines

    def delete(self, ids, query, order):
        if not ids:
            return ("Select articles to delete.",) + self.refresh_library(query, order)
        try:
            deleted, missing = self.engine.delete(ids)
            msg = f"Deleted {len(deleted)}: {html.escape(', '.join(deleted))}"
            if missing:
                msg += f" · not found: {html.escape(', '.join(missing))}"
        except Exception as e:  # noqa: BLE001
            if not isinstance(e, QAError):
                LOG.exception("delete failed")
            msg = f"**Failed**: {html.escape(public_message(e))}"
        return (msg,) + self.refresh_library(query, order)
