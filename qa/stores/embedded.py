"""The embedded store, the persisted index in a folder: SQLite (articles, chunks, lexical index) plus append-only FAISS segments.

Layout of an index directory::

    index.sqlite                 WAL-mode SQLite: meta (manifest, generation), articles, chunks,
                                 sources, segments, and ``terms`` (document frequency of each
                                 lexical term over all live chunks: the global BM25 IDF)
    segments/seg-000007.*        the vectors, filter arrays and BM25 postings of one commit (or
                                 of a merge): qa/stores/segments.py
    .write.lock                  held by the one process that is writing

**Generations.** A commit is one SQLite transaction: new rows carry ``added_gen = G+1``, removed
rows get ``deleted_gen = G+1``, the new vector segment (written and fsynced before) is
registered, and ``generation`` becomes G+1. A crash before the commit leaves generation G
exactly; a segment file the crash orphaned is removed by the next writer. Nothing is rewritten:
adding an article costs the article, not the index.

**Readers** open a snapshot at one generation and see only rows visible at it, so a question
never sees half a commit, and readers never block the writer. Rows and segments deleted before
the previous generation are purged by the next writer; a reader that loses that race retries on
the live generation.

**Deletes** are tombstones (``deleted_gen``) honoured by every search; segments of similar size
are merged once there are more than ``MAX_SMALL_SEGMENTS`` of them (tiered), and ``compact()``
(``qa compact``) merges all of them, dropping the tombstoned vectors and building the ANN index
when the index is large.
"""
from __future__ import annotations

import errno
import json
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

import faiss
import numpy as np
from filelock import FileLock, Timeout

from ..config import ChunkingConfig, settings
from ..errors import IndexError_, IndexLockedError
from ..lexical import LexicalSegment, idf
from ..types import Article, Chunk
from . import ann, segments
from .base import Filters, Hit, day_number, normalize_source
from .faults import crash_point
from .manifest import FORMAT_VERSION, Manifest, check_manifest, generation_name, parse_manifest
from .rows import ART_COLS_BEFORE_ORIGINAL, RowStore, affordable_terms, visible
from .segments import Segment

DB_NAME = "index.sqlite"
MAX_SMALL_SEGMENTS = 8  # more segments of one size tier than this are merged (see _maintain)
TOMBSTONE_RATIO = 0.25  # a segment with more deleted vectors than this is rewritten

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS articles(
    key INTEGER PRIMARY KEY, id TEXT NOT NULL, title TEXT, source TEXT, url TEXT, published TEXT,
    origin TEXT, content_hash TEXT, text TEXT NOT NULL, added_gen INTEGER NOT NULL, deleted_gen INTEGER,
    original TEXT);
CREATE INDEX IF NOT EXISTS articles_id ON articles(id);
CREATE INDEX IF NOT EXISTS articles_hash ON articles(content_hash) WHERE deleted_gen IS NULL;
CREATE INDEX IF NOT EXISTS articles_deleted ON articles(deleted_gen) WHERE deleted_gen IS NOT NULL;
CREATE TABLE IF NOT EXISTS chunks(
    id INTEGER PRIMARY KEY, art_key INTEGER NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL,
    n_tokens INTEGER NOT NULL, added_gen INTEGER NOT NULL, deleted_gen INTEGER);
CREATE INDEX IF NOT EXISTS chunks_art ON chunks(art_key);
CREATE INDEX IF NOT EXISTS chunks_deleted ON chunks(deleted_gen) WHERE deleted_gen IS NOT NULL;
CREATE TABLE IF NOT EXISTS sources(code INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS segments(
    no INTEGER PRIMARY KEY, n INTEGER NOT NULL, kind TEXT NOT NULL, nprobe INTEGER NOT NULL DEFAULT 0,
    recall REAL, added_gen INTEGER NOT NULL, deleted_gen INTEGER);
CREATE TABLE IF NOT EXISTS terms(term TEXT PRIMARY KEY, df INTEGER NOT NULL) WITHOUT ROWID;
"""


# ---- database access --------------------------------------------------------------------
def connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=30.0)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("PRAGMA foreign_keys=OFF")
    return db


class IndexStore(RowStore):
    """The embedded store: SQLite rows, FAISS and BM25 segments (see the module docstring)."""
    concurrent_searches = True  # FAISS releases the GIL; lexical reads use a connection per thread

    def __init__(self, directory: str | Path, manifest: Manifest, db_path: Path | None = None,
                 writable: bool = False):
        super().__init__(manifest, writable)
        self.directory = Path(directory)
        self._db_path = db_path
        self._local = threading.local()
        self.segments: list[Segment] = []
        self.sources: dict[str, int] = {}  # normalized source -> code
        size = manifest.next_chunk_id
        self.alive = np.zeros(size, dtype=bool)  # indexed by chunk id
        self.days = np.full(size, np.nan)
        self.source_codes = np.full(size, -1, dtype=np.int32)
        self.segment_of = np.full(size, -1, dtype=np.int32)  # position in self.segments
        self.row_of = np.full(size, -1, dtype=np.int32)  # row in its segment's ids (and vectors)
        self._alive_bitmap: np.ndarray | None = None
        self._avg_len: float | None = None
        self._tombstones = 0
        # pending writes (writer only)
        self._new_vecs: list[np.ndarray] = []
        self._new_meta: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self._new_bodies: list[list[list[str]]] = []  # per article: the lexical terms of each chunk
        self._ids_cache: dict[int, np.ndarray] = {}  # segment number -> its chunk ids (writer)
        self._write_db: sqlite3.Connection | None = None

    @property
    def _has_db(self) -> bool:
        return self._db_path is not None

    # ---- connections -----------------------------------------------------------------------
    def _db(self) -> sqlite3.Connection:
        if self._write_db is not None:
            return self._write_db
        db = getattr(self._local, "db", None)
        if db is None:
            assert self._db_path is not None  # only a store with a database is asked
            db = self._local.db = connect(self._db_path)
        return db

    def _wdb(self) -> sqlite3.Connection:
        """The writer's connection (its transaction); readers have none."""
        assert self._write_db is not None, "only the writer's store writes"
        return self._write_db

    def _tx_commit(self) -> None:
        self._wdb().execute("COMMIT")
        self._wdb().execute("BEGIN IMMEDIATE")

    # ---- opening ---------------------------------------------------------------------------
    @staticmethod
    def current_generation(directory: str | Path) -> str | None:
        """Name of the live generation (``gen-000007``), or None when there is no index yet."""
        if not (Path(directory) / DB_NAME).exists() and (Path(directory) / "CURRENT").exists():
            return "legacy"  # open() says what to do
        return generation_name(IndexStore.manifest_of(directory))

    @staticmethod
    def manifest_of(directory: str | Path) -> Manifest | None:
        """The live generation's manifest (model, dimension, counts), without loading anything."""
        path = Path(directory) / DB_NAME
        if not path.exists():
            return None
        db = connect(path)
        try:
            row = db.execute("SELECT value FROM meta WHERE key = 'manifest'").fetchone()
        except sqlite3.DatabaseError:
            return None  # open() says what is wrong
        finally:
            db.close()
        return parse_manifest(row)

    @classmethod
    def open(cls, directory: str | Path, model: str, dim: int, chunking: ChunkingConfig,
             _writable: bool = False) -> IndexStore:
        """Load the live generation (vectors, filter arrays), or an empty store when there is none.

        Raises IndexError_ when the index was built with another model, dimension or format.
        """
        directory = Path(directory)
        path = directory / DB_NAME
        if not path.exists() and (directory / "CURRENT").exists():
            raise IndexError_(f"{directory}: this index was written by an older version of qa (format v1). "
                              f"Delete the folder and run `qa ingest` again to rebuild it.")
        if not path.exists() and not _writable:
            return cls(directory, Manifest(FORMAT_VERSION, model, dim, asdict(chunking)))
        for attempt in range(5):
            try:
                return cls._open(directory, path, model, dim, chunking, _writable)
            except FileNotFoundError:  # a segment of this generation was purged meanwhile: retry
                if attempt == 4:
                    raise
                time.sleep(0.01 * (attempt + 1))
        raise AssertionError("unreachable")

    @classmethod
    def _open(cls, directory: Path, path: Path, model: str, dim: int, chunking: ChunkingConfig,
              writable: bool) -> IndexStore:
        directory.mkdir(parents=True, exist_ok=True)
        db = connect(path)
        try:
            db.execute("BEGIN")
            try:
                row = db.execute("SELECT value FROM meta WHERE key = 'manifest'").fetchone()
            except sqlite3.OperationalError:
                row = None  # a new database: created by the writer below
            except sqlite3.DatabaseError as e:
                raise IndexError_(f"{path}: the index database is damaged ({e}). "
                                  f"Delete {directory} and run `qa ingest` again.") from e
            if row is None:  # no index yet: an empty store (the writer creates the database)
                db.execute("COMMIT")
                return cls(directory, Manifest(FORMAT_VERSION, model, dim, asdict(chunking)),
                           path if writable else None, writable)
            try:
                manifest = Manifest(**json.loads(row[0]))
            except (ValueError, TypeError) as e:
                raise IndexError_(f"{path}: cannot read the index manifest ({e}). "
                                  f"Delete {directory} and run `qa ingest` again.") from e
            check_manifest(manifest, model, dim, str(directory),
                           "delete the folder and run `qa ingest` again to rebuild it",
                           "use a separate --index folder, or delete it and run `qa ingest` again")
            store = cls(directory, manifest, path, writable)
            if not writable and not has_original_column(db):
                store.article_columns = ART_COLS_BEFORE_ORIGINAL
            if writable:
                return store  # writers do not search: no vectors to load
            gen = manifest.generation
            store.sources = {n: c for c, n in db.execute("SELECT code, name FROM sources")}
            segs = db.execute(f"SELECT no, kind, nprobe FROM segments s WHERE {visible('s', gen)} "
                              f"ORDER BY no").fetchall()
            dead = np.array([r[0] for r in db.execute(
                "SELECT id FROM chunks WHERE deleted_gen IS NOT NULL AND deleted_gen <= ?", (gen,))], dtype=np.int64)
            db.execute("COMMIT")
        except sqlite3.DatabaseError as e:
            raise IndexError_(f"{path}: the index database cannot be read ({e}). "
                              f"Delete {directory} and run `qa ingest` again.") from e
        finally:
            db.close()
        for no, kind, nprobe in segs:
            store._load_segment(no, kind, nprobe)
        dead = dead[dead < len(store.alive)]
        store._tombstones = int(store.alive[dead].sum())
        store.alive[dead] = False
        if int(store.alive.sum()) != manifest.n_chunks:
            raise IndexError_(f"{directory}: {int(store.alive.sum())} live vectors for {manifest.n_chunks} chunks; "
                              f"the index is damaged. Delete {directory} and run `qa ingest` again.")
        return store

    def _load_segment(self, no: int, kind: str, nprobe: int) -> None:
        seg, meta = segments.load(self.directory, no, kind, nprobe)
        ids = seg.ids
        self.segment_of[ids] = len(self.segments)
        self.row_of[ids] = np.arange(len(ids), dtype=np.int32)
        self.alive[ids] = True
        self.days[ids] = meta["days"]
        self.source_codes[ids] = meta["sources"]
        self.segments.append(seg)

    # ---- reading ---------------------------------------------------------------------------
    @property
    def n_vectors(self) -> int:
        return int(self.alive.sum())

    def vector(self, cid: int) -> np.ndarray:
        seg = self.segments[self.segment_of[cid]]
        if seg.vectors is not None:
            return seg.vectors[int(self.row_of[cid])]
        return seg.index.reconstruct(int(cid))

    def vector_matrix(self) -> tuple[np.ndarray, np.ndarray]:
        """All live (chunk ids, vectors), for building other views of the index."""
        ids, vecs = [], []
        for seg in self.segments:
            keep = seg.ids[self.alive[seg.ids]]
            ids.append(keep)
            vecs.append(segments.reconstruct(seg, keep))
        if not ids:
            return np.zeros(0, np.int64), np.zeros((0, self.manifest.dim), np.float32)
        return np.concatenate(ids), np.concatenate(vecs)

    def day(self, cid: int) -> float:
        """Publication day of a chunk's article (NaN when unknown)."""
        return float(self.days[cid])

    def prepare_filters(self, f: Filters) -> np.ndarray | None:
        """Boolean mask of chunks allowed by ``f`` , by chunk id; None when
        nothing is filtered. numpy over per-chunk arrays: no Python loop over chunks."""
        if not f.active():
            return None
        m = self.alive.copy()
        if f.sources:
            codes = [self.sources[n] for n in {normalize_source(x) for x in f.sources} if n in self.sources]
            m &= np.isin(self.source_codes, np.array(codes, dtype=np.int32))
        known = ~np.isnan(self.days)
        with np.errstate(invalid="ignore"):
            if f.date_from:
                m &= known & (self.days >= day_number(f.date_from))
            if f.date_to:
                m &= known & (self.days <= day_number(f.date_to))
            if f.as_of:
                m &= ~known | (self.days <= day_number(f.as_of))
        return m

    def alive_bitmap(self) -> np.ndarray:
        if self._alive_bitmap is None:
            self._alive_bitmap = np.packbits(self.alive, bitorder="little")
        return self._alive_bitmap

    def search_dense(self, query_vec: np.ndarray, n: int, allowed: np.ndarray | None = None) -> list[Hit]:
        """Top ``n`` (chunk id, inner product) over all segments; ``allowed`` is a bool mask by chunk id
        (tombstones are always excluded)."""
        if not self.segments or n <= 0 or (allowed is not None and not allowed.any()):
            return []
        if allowed is not None:
            bitmap = np.packbits(allowed & self.alive, bitorder="little")
        elif self._tombstones:
            bitmap = self.alive_bitmap()
        else:
            bitmap = None
        sel = faiss.IDSelectorBitmap(len(self.alive), faiss.swig_ptr(bitmap)) if bitmap is not None else None
        q = np.ascontiguousarray(query_vec.reshape(1, -1), dtype=np.float32)
        faiss.omp_set_num_threads(1)  # one query: one thread (torch's pool shares the OpenMP runtime)
        hits: list[Hit] = []
        for seg in self.segments:
            if seg.kind == "ivf-sq8":
                assert seg.vectors is not None  # an ivf-sq8 segment keeps its float32 rows
                scores, ids = ann.ivf_search(seg.index, seg.vectors, self.row_of.__getitem__, q, n, seg.nprobe, sel)
                hits.extend(Hit(i, s) for i, s in zip(ids.tolist(), scores.tolist()))
                continue
            if seg.kind == "ivf":
                params = faiss.SearchParametersIVF(sel=sel, nprobe=seg.nprobe) if sel is not None else \
                    faiss.SearchParametersIVF(nprobe=seg.nprobe)
            else:
                params = faiss.SearchParameters(sel=sel) if sel is not None else None
            scores, ids = seg.index.search(q, min(n, seg.index.ntotal), params=params)
            hits.extend(Hit(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0)
        hits.sort(key=lambda h: -h[1])
        return hits[:n]

    def avg_len(self) -> float:
        """Average lexical length of the live chunks over all segments (BM25's length norm)."""
        if self._avg_len is None:
            total = sum(float(np.asarray(seg.lex.lengths)[self.alive[seg.ids]].sum()) for seg in self.segments
                        if seg.lex is not None)
            self._avg_len = total / max(self.n_vectors, 1) or 1.0
        return self._avg_len

    def search_lexical(self, terms: list[str], n: int, allowed: np.ndarray | None = None) -> list[Hit]:
        """Top ``n`` (chunk id, BM25) for the query terms over all segments, with the global IDF;
        only live chunks of this snapshot (and ``allowed`` ones, a bool mask by chunk id)."""
        terms = list(dict.fromkeys(t for t in terms if t))
        if not self.segments or not terms or n <= 0 or (allowed is not None and not allowed.any()):
            return []
        df = self.doc_freqs(terms)
        total = max(self.manifest.n_chunks, 1)
        weights = {t: idf(total, df[t]) for t in affordable_terms(terms, df)}
        ok = None if allowed is None and not self._tombstones else (
            self.alive if allowed is None else allowed & self.alive)
        hits: list[Hit] = []
        for seg in self.segments:
            if seg.lex is None:
                continue
            got = seg.lex.scores(weights, None if ok is None else ok[seg.ids], n, self.avg_len())
            hits.extend(Hit(int(seg.ids[p]), s) for p, s in got)
        hits.sort(key=lambda h: -h[1])
        return hits[:n]

    def _add_chunks(self, key: int, article: Article, chunks: list[Chunk], vectors: np.ndarray,
                    bodies: list[list[str]], source_code: int) -> None:
        g, n = self.generation, len(chunks)
        self._db().executemany("INSERT INTO chunks(id, art_key, start, \"end\", n_tokens, added_gen) "
                               "VALUES (?,?,?,?,?,?)", [(c.id, key, c.start, c.end, c.n_tokens, g) for c in chunks])
        self._new_vecs.append(vectors)
        self._new_meta.append((np.array([c.id for c in chunks], dtype=np.int64),
                               np.full(n, day_number(article.published)), np.full(n, source_code, dtype=np.int32)))
        self._new_bodies.append(bodies)

    def _drop_pending(self, ids: set[int]) -> None:
        for i, (vecs, (cids, days, srcs)) in enumerate(zip(self._new_vecs, self._new_meta)):
            keep = np.array([c not in ids for c in cids], dtype=bool)
            self._new_vecs[i], self._new_meta[i] = vecs[keep], (cids[keep], days[keep], srcs[keep])
            self._new_bodies[i] = [b for b, k in zip(self._new_bodies[i], keep) if k]

    def commit(self) -> None:
        """Make the pending changes live as the next generation, atomically, and begin another."""
        g = self.generation
        if self._new_vecs and sum(len(v) for v in self._new_vecs):
            vecs = np.concatenate(self._new_vecs)
            ids, days, srcs = (np.concatenate(x) for x in zip(*self._new_meta))
            lex = LexicalSegment.build([b for batch in self._new_bodies for b in batch])
            self._write_segment(vecs, ids, days, srcs, lex, g)
        self._new_vecs, self._new_meta, self._new_bodies = [], [], []
        self._finish(g)
        self._dirty = False
        self._maintain()

    def _next_segment_no(self) -> int:
        row = self._wdb().execute("SELECT max(no) FROM segments").fetchone()
        return max([row[0] or 0, *segments.file_numbers(self.directory)]) + 1

    def _write_segment(self, vecs: np.ndarray, ids: np.ndarray, days: np.ndarray, srcs: np.ndarray,
                       lex: LexicalSegment, g: int) -> int:
        """Write a segment's files and register it in the pending commit."""
        no = self._next_segment_no()
        written = segments.write_files(self.directory, no, vecs, ids, days, srcs, lex)
        crash_point("segment-files")
        self._wdb().execute("INSERT INTO segments(no, n, kind, nprobe, recall, added_gen) VALUES (?,?,?,?,?,?)",
                               (no, len(ids), written.kind, written.nprobe, written.recall, g))
        crash_point("segment-registered")
        return no

    # ---- maintenance (writer) ----------------------------------------------------------------
    def _segment_ids(self, no: int) -> np.ndarray:
        """Chunk ids of a segment (read once per writer: segments never change)."""
        if no not in self._ids_cache:
            self._ids_cache[no] = segments.read_ids(self.directory, no)
        return self._ids_cache[no]

    def _deleted_chunk_ids(self, up_to: int | None = None) -> np.ndarray:
        """Ids of chunks marked deleted (in generations up to ``up_to``, when given)."""
        sql = "SELECT id FROM chunks WHERE deleted_gen IS NOT NULL" + ("" if up_to is None else " AND deleted_gen <= ?")
        return np.array([r[0] for r in self._wdb().execute(sql, () if up_to is None else (up_to,))], np.int64)

    def _live_segments(self) -> list[tuple[int, int, str]]:
        return self._wdb().execute("SELECT no, n, kind FROM segments WHERE deleted_gen IS NULL ORDER BY no").fetchall()

    def _maintain(self) -> None:
        """Tiered merging: segments whose sizes share a power of ``MAX_SMALL_SEGMENTS`` form a tier;
        a tier holding more than ``MAX_SMALL_SEGMENTS`` segments is merged into one (so each vector
        is rewritten O(log N) times in all, and a search visits O(log N) segments). Segments with
        more than ``TOMBSTONE_RATIO`` deleted vectors are rewritten. Then purge."""
        segs = self._live_segments()
        if segs:
            tiers: dict[int, list[int]] = {}
            for no, n, _ in segs:
                tiers.setdefault(int(np.log(max(n, 1)) / np.log(MAX_SMALL_SEGMENTS)), []).append(no)
            full = [nos for nos in tiers.values() if len(nos) > MAX_SMALL_SEGMENTS]
            dead = self._dead_per_segment(segs)
            heavy = [no for no, n, _ in segs if n and dead.get(no, 0) > TOMBSTONE_RATIO * n]
            merge = sorted(set(full[0] if full else []) | set(heavy))
            if merge:
                self._merge(merge)
        self._purge()

    def _dead_per_segment(self, segs: list[tuple[int, int, str]]) -> dict[int, int]:
        """Deleted vectors still held by each of ``segs`` (only segments holding some)."""
        dead = self._deleted_chunk_ids()
        if not len(dead):
            return {}
        out = {no: int(np.isin(self._segment_ids(no), dead).sum()) for no, _, _ in segs}
        return {no: n for no, n in out.items() if n}

    def compact(self) -> dict:
        """Merge every segment into one (tombstoned vectors dropped; IVF when large). Commits."""
        segs = self._live_segments()
        before = len(segs)
        if segs and (before > 1 or self._dead_per_segment(segs)):
            self._merge([no for no, _, _ in segs])
        self._purge()
        after = self._live_segments()
        return {"segments_before": before, "segments_after": len(after),
                "kind": after[0][2] if len(after) == 1 else "mixed" if after else "empty",
                "vectors": sum(n for _, n, _ in after)}

    def _merge(self, nos: list[int]) -> None:
        if not nos:
            return
        db, g = self._wdb(), self.generation
        dead = self._deleted_chunk_ids()
        parts = []
        for no in nos:
            ids = self._segment_ids(no)
            kind = db.execute("SELECT kind FROM segments WHERE no = ?", (no,)).fetchone()[0]
            parts.append(segments.read_for_merge(self.directory, no, kind, ids, ~np.isin(ids, dead)))
        vecs, ids, days, srcs = (np.concatenate(x) for x in zip(*(p[:4] for p in parts)))
        if len(ids):
            self._write_segment(vecs, ids, days, srcs, LexicalSegment.merge([p[4] for p in parts]), g)
        db.executemany("UPDATE segments SET deleted_gen = ? WHERE no = ?", [(g, no) for no in nos])
        crash_point("merge-written")
        self._finish(g)

    def _purge(self) -> None:
        """Drop rows and segments that the live and the previous generation cannot see."""
        db = self._wdb()
        # rows deleted up to the generation that was live when this writer began: no reader of that
        # generation or a later one can see them (older readers reload, see IndexStore.open)
        old = min(self.generation - 2, self._start_generation)
        gone = db.execute("SELECT no FROM segments WHERE deleted_gen IS NOT NULL AND deleted_gen <= ?", (old,)).fetchall()
        n_rows = db.execute("SELECT count(*) FROM articles WHERE deleted_gen IS NOT NULL AND deleted_gen <= ?",
                            (old,)).fetchone()[0]
        if not gone and not n_rows:
            return
        # a deleted chunk stays while a live segment still holds its vector (it is that segment's tombstone)
        dead = self._deleted_chunk_ids(old)
        held = [self._segment_ids(no) for no, _, _ in self._live_segments()]
        removable = dead[~np.isin(dead, np.concatenate(held))] if held else dead
        db.executemany("DELETE FROM chunks WHERE id = ?", [(int(c),) for c in removable])
        db.execute("DELETE FROM articles WHERE deleted_gen IS NOT NULL AND deleted_gen <= ? AND key NOT IN "
                   "(SELECT art_key FROM chunks)", (old,))
        db.executemany("DELETE FROM segments WHERE no = ?", gone)
        self._tx_commit()  # invisible rows only: the generation does not change
        crash_point("purge-committed")
        for (no,) in gone:
            segments.remove_files(self.directory, no, on_file=lambda: crash_point("purge-files"))

    def _clean_orphans(self) -> None:
        """Remove segment files no commit registered, and temporaries (a writer was killed)."""
        segments.remove_orphans(self.directory, {r[0] for r in self._wdb().execute("SELECT no FROM segments")})


@contextmanager
def file_writer(directory: Path, model: str, dim: int, chunking: ChunkingConfig, wait: float | None = None,
                on_wait: Callable[[str], None] | None = None) -> Iterator[IndexStore]:
    """The one writer of the index in ``directory`` (a lock file); commits when the block succeeds.
    Another writer holding the lock is waited for up to ``wait`` seconds (default QA_LOCK_TIMEOUT),
    with ``on_wait`` told once that it waits. A write that fails for want of space or permission
    says so plainly (storage_error); the index is then as it was."""
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(directory / ".write.lock"))
        lock_waited(lock, directory, settings().lock_timeout if wait is None else wait, on_wait)
    except OSError as e:
        raise (storage_error(e, directory) or e) from e
    try:
        store = IndexStore.open(directory, model, dim, chunking, _writable=True)
        db = store._write_db = connect(directory / DB_NAME)
        try:
            db.executescript(_SCHEMA)
            if not has_original_column(db):  # an index from before original texts: they go in from now on
                db.execute("ALTER TABLE articles ADD COLUMN original TEXT")
            db.execute("BEGIN IMMEDIATE")
            store._clean_orphans()
            yield store
            if store._dirty or store.manifest.generation == 0:
                store.commit()
            db.execute("COMMIT")
        except BaseException as e:
            if db.in_transaction:
                db.execute("ROLLBACK")
            friendly = storage_error(e, directory) if isinstance(e, (OSError, RuntimeError, sqlite3.Error)) else None
            if friendly is not None:
                raise friendly from e
            raise
        finally:
            db.close()
            store._write_db = None
    except OSError as e:  # opening the database: read-only or full before anything was written
        raise (storage_error(e, directory) or e) from e
    finally:
        lock.release()


def has_original_column(db: sqlite3.Connection) -> bool:
    return any(r[1] == "original" for r in db.execute("PRAGMA table_info(articles)"))


def lock_waited(lock: FileLock, directory: Path, wait: float, on_wait: Callable[[str], None] | None) -> None:
    """Take the write lock, waiting up to ``wait`` seconds for another writer to finish."""
    try:
        lock.acquire(timeout=0)
        return
    except Timeout:
        pass
    if wait > 0:
        if on_wait:
            on_wait(f"waiting for another process writing to {directory} (up to {wait:g} s)…")
        try:
            lock.acquire(timeout=wait)
            return
        except Timeout:
            pass
    raise IndexLockedError(f"{directory}: another process is writing to this index (lock {directory / '.write.lock'})"
                           + (f" and still was after {wait:g} s" if wait > 0 else "")
                           + "; wait for it to finish and try again, or wait longer with --wait SECONDS "
                             "(QA_LOCK_TIMEOUT).")


_NO_SPACE = ("no space left", "disk quota", "requested and", "write error")


def storage_error(e: BaseException, directory: Path) -> IndexError_ | None:
    """One plain message for a write that failed because the disk is full, the folder read-only or
    not writable: what failed, where, the free space, and that the index is unchanged. None for
    any other error (it is raised as it is)."""
    text = str(e).lower()
    code = getattr(e, "errno", None)
    try:
        usage = shutil.disk_usage(directory if directory.exists() else directory.parent)
        free = f"{usage.free / 1e6:,.0f} MB free of {usage.total / 1e6:,.0f} MB"
    except OSError:
        free = "free space unknown"
    if code in (errno.ENOSPC, errno.EDQUOT) or any(s in text for s in _NO_SPACE) or "disk is full" in text:
        return IndexError_(f"{directory}: writing the index failed: the disk is full ({free}). Free some space, "
                           f"or index into a folder on another disk with --index; the index is unchanged.")
    if code == errno.EROFS or "read-only file system" in text or "readonly database" in text:
        return IndexError_(f"{directory}: writing the index failed: the file system is read-only. Index into a "
                           f"writable folder with --index; the index is unchanged.")
    if code in (errno.EACCES, errno.EPERM) or "permission denied" in text:
        name = getattr(e, "filename", None)
        return IndexError_(f"{directory}: writing the index failed: permission denied"
                           f"{f' ({name})' if name else ''}. Give this user write "
                           f"access to the folder, or index elsewhere with --index; the index is unchanged.")
    return None
