"""Ingest: files -> articles -> (dedup, diff against the index) -> chunks -> vectors -> commit.

An ingest commits in batches (``QA_COMMIT_CHUNKS`` chunks, default 4096): a small ingest is one
atomic commit, a large one loses at most the batch in flight. A bad file is reported (with its
reason) and skipped; the other files still go in, and nothing already indexed is touched unless
it changed. A malformed line of a JSONL file or row of a CSV file is reported with its line number
and skipped, and the file's good records go in (``strict``: the whole file is refused instead).
"""
from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from .chunking import chunk_article, embedded_text, embedding_title
from .config import ChunkingConfig, settings
from .embeddings import Embedder
from .errors import InputError, QAError
from .loaders import content_hash, expand_paths, iter_file
from .stores import WritableStore, writer
from .types import Article

Progress = Callable[[str, int, int], None]  # (stage, done, total)
ARTICLE_BATCH = 1000  # articles read, planned and indexed at a time (then committed): memory stays flat


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    duplicates: list[tuple[str, str]] = field(default_factory=list)  # (origin, id it duplicates)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)
    skipped: list[tuple[str, int | None, str]] = field(default_factory=list)  # (file, line, reason): bad records
    chunks_added: int = 0

    def summary(self) -> str:
        articles = len(self.added) + len(self.updated) + len(self.unchanged)
        text = (f"{articles} articles: added {len(self.added)}, updated {len(self.updated)}, "
                f"unchanged {len(self.unchanged)}, duplicates {len(self.duplicates)}, failed {len(self.failed)}")
        if self.skipped:
            text += f"; {len(self.skipped)} line{'s' if len(self.skipped) != 1 else ''} skipped"
        return text

    def to_dict(self) -> dict:
        return {"added": self.added, "updated": self.updated, "unchanged": self.unchanged,
                "duplicates": [{"origin": o, "duplicate_of": d} for o, d in self.duplicates],
                "failed": [{"file": f, "reason": r} for f, r in self.failed],
                "skipped": [{"file": f, "line": n, "reason": r} for f, n, r in self.skipped],
                "chunks_added": self.chunks_added}


def iter_articles(paths: Iterable[str | Path], report: IngestReport,
                  progress: Progress | None = None, strict: bool = False) -> Iterator[Article]:
    """Articles of all files, streamed file by file; failures go to ``report.failed``, bad lines
    of record files to ``report.skipped`` (``strict``: a bad line fails its whole file)."""

    def skip(e: InputError) -> None:
        report.skipped.append((e.path, e.line, e.reason))

    files = list(expand_paths(paths))
    for i, f in enumerate(files):
        if progress:
            progress("reading files", i, len(files))
        try:
            it = iter(iter_file(f, None if strict else skip))
            first = next(it, None)  # a record file is checked whole before its first article
            if first is not None:
                yield first
                yield from it
        except InputError as e:
            report.failed.append((str(f), str(e)))
            report.skipped = [s for s in report.skipped if s[0] != str(f)]  # the failure says it all
        except (OSError, UnicodeError, ValueError) as e:  # anything a loader did not foresee
            report.failed.append((str(f), f"{f}: could not be read ({e.__class__.__name__}: {e})"))
    if progress and files:
        progress("reading files", len(files), len(files))


def _same(a: Article, b: Article) -> bool:
    """Nothing to re-index: the same text, metadata and original text (an article indexed before
    original texts were kept gets its own text back when it is ingested again)."""
    fields = ("content_hash", "title", "source", "url", "published", "original")
    return all(getattr(a, f) == getattr(b, f) for f in fields)


def plan_changes(store: WritableStore, articles: list[Article], report: IngestReport,
                 seen: dict | None = None) -> list[Article]:
    """Articles that must be (re)indexed; fills added/updated/unchanged/duplicates. ``seen`` carries
    the ids and content hashes of earlier batches of the same ingest."""
    seen = seen if seen is not None else {}
    handled: set[str] = seen.setdefault("ids", set())  # planned, or found unchanged, in this ingest
    seen_hash: dict[str, str] = seen.setdefault("hashes", {})
    todo: list[Article] = []
    for a in articles:
        if a.id in handled:
            report.duplicates.append((a.origin, a.id))
            continue
        old = store.articles.get(a.id)
        if old is not None and _same(old, a):
            handled.add(a.id)
            report.unchanged.append(a.id)
            continue
        dup_of = seen_hash.get(a.content_hash) or store.article_id_by_hash(a.content_hash)
        if dup_of is not None and dup_of != a.id:
            report.duplicates.append((a.origin, dup_of))
            continue
        seen_hash[a.content_hash] = a.id
        (report.updated if old is not None else report.added).append(a.id)
        handled.add(a.id)
        todo.append(a)
    return todo


def index_articles(store: WritableStore, articles: list[Article], embedder: Embedder,
                   progress: Progress | None = None, batch_chunks: int = 0) -> int:
    """Chunk, embed and add articles to the store (replacing older versions). Returns chunk count.

    Streams in batches of about ``batch_chunks`` chunks (``QA_COMMIT_CHUNKS``, default 4096):
    each batch is chunked, embedded and committed before the next is read, so memory does not
    grow with the input and a crash loses at most the batch in flight.
    """
    batch_chunks = batch_chunks or settings().commit_chunks
    config: ChunkingConfig = store.chunking
    total = 0
    done = 0
    i = 0
    while i < len(articles):
        plan = []
        texts: list[str] = []
        while i < len(articles) and (not texts or len(texts) < batch_chunks):
            a = articles[i]
            i += 1
            chunks = chunk_article(a, embedder, config, first_id=store.manifest.next_chunk_id)
            store.allocate_chunk_ids(len(chunks))
            title, _ = embedding_title(a.title, embedder) if config.title_in_embedding else ("", 0)
            plan.append((a, chunks, len(texts)))
            texts.extend(embedded_text(title, c.text, config) for c in chunks)

        embedded = 0

        def tick(n: int, before: int = done, total: int = done + len(texts)) -> None:
            nonlocal embedded
            embedded += n
            if progress:  # chunks of this batch and those before it (later batches are not chunked yet)
                progress("embedding chunks", before + embedded, total)

        vectors = embedder.encode(texts, progress=tick) if texts else None
        done += len(texts)
        for a, chunks, offset in plan:
            store.add_article(a, chunks, vectors[offset:offset + len(chunks)] if chunks and vectors is not None else None)
        if i < len(articles):
            store.commit()
        total += len(texts)
        if progress:
            progress("articles indexed", i, len(articles))
    return total


def ingest(paths: Iterable[str | Path], index_dir: str | Path, embedder: Embedder,
           chunking: ChunkingConfig | None = None, progress: Progress | None = None,
           articles: list[Article] | None = None, strict: bool = False, wait: float | None = None,
           on_wait: Callable[[str], None] | None = None) -> IngestReport:
    """Add or update the articles of ``paths`` (and/or ready ``articles``) in the index. A bad line
    of a JSONL or CSV file is skipped and reported (``strict``: its whole file is refused)."""
    report = IngestReport()
    given = (a if a.content_hash else replace(a, content_hash=content_hash(a.text)) for a in articles or [])
    stream = itertools.chain(iter_articles(paths, report, progress, strict), given)  # (an Article built by hand has no hash)
    first = next(stream, None)
    if first is None:
        return report
    stream = itertools.chain([first], stream)
    seen: dict = {}
    with writer(index_dir, embedder.name, embedder.dim, chunking or ChunkingConfig(), wait, on_wait) as store:
        while True:
            batch = list(itertools.islice(stream, ARTICLE_BATCH))
            if not batch:
                break
            todo = plan_changes(store, batch, report, seen)
            report.chunks_added += index_articles(store, todo, embedder, progress)
            if len(batch) == ARTICLE_BATCH:
                store.commit()
    return report


def delete(doc_ids: Iterable[str], index_dir: str | Path, embedder: Embedder) -> tuple[list[str], list[str]]:
    """Remove articles by id. Returns (deleted, not found); commits only if something was found."""
    doc_ids = list(dict.fromkeys(doc_ids))
    with writer(index_dir, embedder.name, embedder.dim, ChunkingConfig()) as store:
        found = [d for d in doc_ids if d in store.articles]
        missing = [d for d in doc_ids if d not in store.articles]
        if not found:
            raise QAError(f"none of these article ids is in {index_dir}: {', '.join(missing)} "
                          f"(see `qa stats --list` for the ids)")
        for d in found:
            store.remove_article(d)
    return found, missing
