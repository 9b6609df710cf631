"""Where an index lives, and the one place that decides which store serves it.

A location is a folder (the embedded store, ``qa.stores.embedded``) or a ``postgresql://``
address (the shared store, ``qa.stores.postgres``). Both keep the contract of
``qa.stores.base.Store``; everything above this package asks ``open_store`` / ``writer`` and
never names a store class.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from ..config import ChunkingConfig, is_database
from ..errors import IndexError_
from .base import Filters, Hit, PreparedFilters, Store, WritableStore, day_number, normalize_source
from .embedded import IndexStore, file_writer
from .manifest import FORMAT_VERSION, Manifest, chunking_of
from .postgres import PgStore, pg_writer, redact

__all__ = ["open_store", "writer", "migrate", "current_generation", "manifest_of", "describe", "is_database",
           "Store", "WritableStore", "Filters", "Hit", "PreparedFilters", "Manifest", "FORMAT_VERSION",
           "chunking_of", "normalize_source", "day_number"]


def open_store(location: str | Path, model: str, dim: int, chunking: ChunkingConfig) -> Store:
    """The live generation of the index at ``location`` (read-only snapshot)."""
    if is_database(location):
        return PgStore.open(str(location), model, dim, chunking)
    return IndexStore.open(location, model, dim, chunking)


def current_generation(location: str | Path) -> str | None:
    """Name of the live generation (``gen-000007``), or None when there is no index yet."""
    if is_database(location):
        return PgStore.current_generation(str(location))
    return IndexStore.current_generation(location)


def manifest_of(location: str | Path) -> Manifest | None:
    """The live generation's manifest (model, dimension, counts), without loading anything."""
    if is_database(location):
        return PgStore.manifest_of(str(location))
    return IndexStore.manifest_of(location)


def describe(location: str | Path) -> str:
    """The location for messages and stats: a folder as given, an address without its password."""
    if is_database(location):
        return redact(str(location))
    return str(location)


@contextmanager
def writer(location: str | Path, model: str, dim: int, chunking: ChunkingConfig, wait: float | None = None,
           on_wait: Callable[[str], None] | None = None) -> Iterator[WritableStore]:
    """Open the index for writing: one writer at a time; commits only if the block succeeds
    (and whatever the block committed itself with ``store.commit()``, batch by batch). A second
    writer waits up to ``wait`` seconds (default QA_LOCK_TIMEOUT) for the first, ``on_wait``
    told once that it waits, then fails with IndexLockedError."""
    if is_database(location):
        with pg_writer(str(location), model, dim, chunking, wait, on_wait) as store:
            yield store
        return
    with file_writer(Path(location), model, dim, chunking, wait, on_wait) as fstore:
        yield fstore


def migrate(source: str | Path, target: str | Path, progress=None, batch: int = 500) -> dict:
    """Copy the index at ``source`` into the empty index at ``target`` (either store, either way),
    vectors included: nothing is embedded again. Commits every ``batch`` articles."""
    m = manifest_of(source)
    if m is None:
        raise IndexError_(f"{source}: no index here to migrate; run `qa ingest` first")
    chunking = chunking_of(m)
    src = open_store(source, m.model, m.dim, chunking)
    ids = src.articles.keys()
    copied = chunks = 0
    with writer(target, m.model, m.dim, chunking) as dst:
        if len(dst.articles):
            raise IndexError_(f"{target}: already holds {len(dst.articles)} articles; migrate into an empty index")
        for i, doc in enumerate(ids):
            cids = src.chunk_ids(doc)
            vecs = np.stack([src.vector(c) for c in cids]) if cids else None
            dst.add_article(src.articles[doc], [src.chunks[c] for c in cids], vecs)
            copied += 1
            chunks += len(cids)
            if (i + 1) % batch == 0:
                dst.commit()
            if progress:
                progress("copying articles", i + 1, len(ids))
    return {"articles": copied, "chunks": chunks, "model": m.model}
