"""The persisted index: FAISS vectors plus the article and chunk store, with a manifest.

Layout of an index directory::

    CURRENT              name of the live generation, replaced atomically (os.replace)
    .write.lock          held by the one process that is writing
    gen-000007/          one complete, immutable generation
        manifest.json    format version, model, dimension, chunking parameters, counts
        articles.jsonl   one Article per line (text included)
        chunks.jsonl     id, doc_id, start, end, n_tokens (text = article.text[start:end])
        vectors.faiss    IndexIDMap2(IndexFlatIP) over normalised vectors, ids = chunk ids

A write builds a new generation in a temporary folder, fsyncs it, renames it into place and
only then points CURRENT at it, so a crash at any moment leaves the previous generation
live. Readers never lock: they read CURRENT and load that generation; the two newest
generations are kept so a reader that has just read CURRENT still finds its files. Two
writers get :class:`IndexLockedError` instead of waiting or corrupting anything.
"""
from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import faiss
import numpy as np
from filelock import FileLock, Timeout

from .config import FORMAT_VERSION, ChunkingConfig
from .errors import IndexError_, IndexLockedError
from .types import Article, Chunk

KEEP_GENERATIONS = 2


def _fsync_write(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


@dataclass
class Manifest:
    format_version: int
    model: str
    dim: int
    chunking: dict
    generation: int = 0
    n_articles: int = 0
    n_chunks: int = 0
    next_chunk_id: int = 0
    updated: str = ""
    extra: dict = field(default_factory=dict)


class IndexStore:
    """An in-memory copy of one generation of the index, and the code to save a new one."""

    def __init__(self, directory: str | Path, manifest: Manifest):
        self.directory = Path(directory)
        self.manifest = manifest
        self.articles: dict[str, Article] = {}
        self.chunks: dict[int, Chunk] = {}
        self.chunks_by_doc: dict[str, list[int]] = {}
        self.by_hash: dict[str, str] = {}
        self.vectors = faiss.IndexIDMap2(faiss.IndexFlatIP(manifest.dim))
        self.generation_name: str | None = None

    # ---- reading -------------------------------------------------------------------------
    @property
    def chunking(self) -> ChunkingConfig:
        return ChunkingConfig(**self.manifest.chunking)

    @staticmethod
    def current_generation(directory: str | Path) -> str | None:
        """Name of the live generation folder, or None when there is no index yet."""
        try:
            return (Path(directory) / "CURRENT").read_text().strip() or None
        except FileNotFoundError:
            return None

    @classmethod
    def open(cls, directory: str | Path, model: str, dim: int, chunking: ChunkingConfig) -> IndexStore:
        """Load the live generation, or an empty store (not yet written) when there is none.

        Raises IndexError_ when the index was built with another model, dimension or format.
        """
        directory = Path(directory)
        gen = cls.current_generation(directory)
        if gen is None:
            if directory.exists() and any(p.name.startswith("gen-") for p in directory.iterdir()):
                raise IndexError_(f"{directory}: index has data but no CURRENT file; it is damaged. "
                                  f"Delete the folder and run `qa ingest` again.")
            return cls(directory, Manifest(FORMAT_VERSION, model, dim, asdict(chunking)))
        gdir = directory / gen
        try:
            manifest = Manifest(**json.loads((gdir / "manifest.json").read_text()))
        except (OSError, ValueError, TypeError) as e:
            raise IndexError_(f"{gdir}: cannot read the index manifest ({e}). "
                              f"Delete {directory} and run `qa ingest` again.") from e
        if manifest.format_version != FORMAT_VERSION:
            raise IndexError_(f"{directory}: index format v{manifest.format_version} is not the supported "
                              f"v{FORMAT_VERSION}; delete the folder and run `qa ingest` again to rebuild it.")
        if manifest.model != model or manifest.dim != dim:
            raise IndexError_(f"{directory}: index was built with model {manifest.model} ({manifest.dim}-d) but "
                              f"the engine uses {model} ({dim}-d); use a separate --index folder, or delete it "
                              f"and run `qa ingest` again.")
        store = cls(directory, manifest)
        try:
            with open(gdir / "articles.jsonl", encoding="utf-8") as f:
                for line in f:
                    a = Article(**json.loads(line))
                    store.articles[a.id] = a
                    store.by_hash[a.content_hash] = a.id
            with open(gdir / "chunks.jsonl", encoding="utf-8") as f:
                for line in f:
                    d = json.loads(line)
                    a = store.articles[d["doc_id"]]
                    c = Chunk(text=a.text[d["start"]:d["end"]], **d)
                    store.chunks[c.id] = c
                    store.chunks_by_doc.setdefault(c.doc_id, []).append(c.id)
            store.vectors = faiss.read_index(str(gdir / "vectors.faiss"))
        except (OSError, ValueError, KeyError, TypeError, RuntimeError) as e:
            raise IndexError_(f"{gdir}: index files are damaged ({e.__class__.__name__}: {e}). "
                              f"Delete {directory} and run `qa ingest` again.") from e
        if store.vectors.ntotal != len(store.chunks):
            raise IndexError_(f"{gdir}: {store.vectors.ntotal} vectors for {len(store.chunks)} chunks; "
                              f"the index is damaged. Delete {directory} and run `qa ingest` again.")
        store.generation_name = gen
        return store

    def __len__(self) -> int:
        return len(self.articles)

    def vector_matrix(self) -> tuple[np.ndarray, np.ndarray]:
        """All (chunk ids, vectors) in the index, for building other views of it."""
        n = self.vectors.ntotal
        ids = faiss.vector_to_array(self.vectors.id_map).astype(np.int64)
        vecs = self.vectors.index.reconstruct_n(0, n) if n else np.zeros((0, self.manifest.dim), np.float32)
        return ids, vecs

    # ---- changing (only inside ``writer``) ----------------------------------------------
    def remove_article(self, doc_id: str) -> None:
        a = self.articles.pop(doc_id)
        if self.by_hash.get(a.content_hash) == doc_id:
            del self.by_hash[a.content_hash]
        ids = self.chunks_by_doc.pop(doc_id, [])
        for cid in ids:
            del self.chunks[cid]
        if ids:
            self.vectors.remove_ids(np.asarray(ids, dtype=np.int64))

    def add_article(self, article: Article, chunks: list[Chunk], vectors: np.ndarray) -> None:
        if article.id in self.articles:
            self.remove_article(article.id)
        self.articles[article.id] = article
        self.by_hash[article.content_hash] = article.id
        self.chunks_by_doc[article.id] = [c.id for c in chunks]
        for c in chunks:
            self.chunks[c.id] = c
        if chunks:
            self.vectors.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32),
                                      np.asarray([c.id for c in chunks], dtype=np.int64))
        self.manifest.next_chunk_id = max(self.manifest.next_chunk_id, max((c.id for c in chunks), default=-1) + 1)

    def allocate_chunk_ids(self, n: int) -> int:
        first = self.manifest.next_chunk_id
        self.manifest.next_chunk_id += n
        return first

    def _save(self) -> str:
        """Write a new generation and make it live. Only called with the write lock held."""
        self.directory.mkdir(parents=True, exist_ok=True)
        gen_no = self.manifest.generation + 1
        existing = [p.name for p in self.directory.glob("gen-*") if p.is_dir() and "." not in p.name]
        if existing:
            gen_no = max(gen_no, max(int(n.split("-")[1]) for n in existing) + 1)
        name = f"gen-{gen_no:06d}"
        tmp = self.directory / f"{name}.tmp-{os.getpid()}"
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir()
        self.manifest.generation = gen_no
        self.manifest.n_articles = len(self.articles)
        self.manifest.n_chunks = len(self.chunks)
        self.manifest.updated = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        art = "".join(json.dumps(a.to_dict(), ensure_ascii=False) + "\n" for a in self.articles.values())
        _fsync_write(tmp / "articles.jsonl", art.encode("utf-8"))
        ch = "".join(
            json.dumps({"id": c.id, "doc_id": c.doc_id, "start": c.start, "end": c.end, "n_tokens": c.n_tokens}) + "\n"
            for c in self.chunks.values()
        )
        _fsync_write(tmp / "chunks.jsonl", ch.encode("utf-8"))
        _fsync_write(tmp / "vectors.faiss", faiss.serialize_index(self.vectors).tobytes())
        _fsync_write(tmp / "manifest.json", json.dumps(asdict(self.manifest), indent=2).encode("utf-8"))
        os.replace(tmp, self.directory / name)
        pointer = self.directory / f"CURRENT.tmp-{os.getpid()}"
        _fsync_write(pointer, name.encode())
        os.replace(pointer, self.directory / "CURRENT")
        dfd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
        self.generation_name = name
        self._collect_garbage(name)
        return name

    def _collect_garbage(self, live: str) -> None:
        gens = sorted(p for p in self.directory.glob("gen-*") if p.is_dir())
        complete = [p for p in gens if "." not in p.name]
        keep = {p.name for p in complete[-KEEP_GENERATIONS:]} | {live}
        for p in gens:
            if p.name not in keep:
                shutil.rmtree(p, ignore_errors=True)


@contextmanager
def writer(directory: str | Path, model: str, dim: int, chunking: ChunkingConfig) -> Iterator[IndexStore]:
    """Open the index for writing: one writer at a time; commits only if the block succeeds."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(directory / ".write.lock"))
    try:
        lock.acquire(timeout=float(os.environ.get("QA_LOCK_TIMEOUT", "0")))
    except Timeout as e:
        raise IndexLockedError(f"{directory}: another process is writing to this index "
                               f"(lock {directory / '.write.lock'}); wait for it to finish and try again.") from e
    try:
        store = IndexStore.open(directory, model, dim, chunking)
        yield store
        store._save()
    finally:
        lock.release()

