"""The persisted index: SQLite (articles, chunks, lexical index) plus append-only FAISS segments.

Layout of an index directory::

    index.sqlite                 WAL-mode SQLite: meta (manifest, generation), articles, chunks,
                                 sources, segments, and ``terms`` (document frequency of each
                                 lexical term over all live chunks: the global BM25 IDF)
    segments/seg-000007.faiss    the vectors of one commit (or of a merge): exact (flat) while
                                 small, IVF-SQ8 past ``ANN_MIN`` vectors (qa/ann.py)
    segments/seg-000007.vec.npy  an IVF-SQ8 segment's float32 vectors (its exact re-rank), read by row
    segments/seg-000007.npz      their chunk ids, publication days and source codes (filters)
    segments/seg-000007.lex/     their BM25 postings, memory-mapped (qa/lexical.py)
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

import datetime as dt
import json
import os
import re
import shutil
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import faiss
import numpy as np
from filelock import FileLock, Timeout

from . import ann
from .config import FORMAT_VERSION, ChunkingConfig
from .errors import IndexError_, IndexLockedError
from .lexical import LexicalSegment, idf, lexical_terms, load_npy
from .types import Article, Chunk

DB_NAME = "index.sqlite"
SEGMENTS = "segments"
MAX_SMALL_SEGMENTS = 8  # more segments of one size tier than this are merged (see _maintain)
TOMBSTONE_RATIO = 0.25  # a segment with more deleted vectors than this is rewritten
LEXICAL_POSTINGS = int(os.environ.get("QA_LEXICAL_POSTINGS", "300000"))  # per query, see _affordable
_CHUNK_CACHE = 4096

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS articles(
    key INTEGER PRIMARY KEY, id TEXT NOT NULL, title TEXT, source TEXT, url TEXT, published TEXT,
    origin TEXT, content_hash TEXT, text TEXT NOT NULL, added_gen INTEGER NOT NULL, deleted_gen INTEGER);
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


_CRASH_AT = os.environ.get("QA_CRASH_AT", "")  # fault injection: see crash_point
_crash_hits: dict[str, int] = {}


def crash_point(name: str) -> None:
    """Fault injection for the kill tests (tests/test_crash.py, benchmarks/crash_loop.py):
    ``QA_CRASH_AT=name`` or ``name:n`` SIGKILLs this process the n-th time (default 1st) it
    reaches ``name``, so no cleanup of any kind runs. A no-op otherwise."""
    if not _CRASH_AT:
        return
    want, _, nth = _CRASH_AT.partition(":")
    if want == name:
        _crash_hits[name] = _crash_hits.get(name, 0) + 1
        if _crash_hits[name] == int(nth or 1):
            import signal

            os.kill(os.getpid(), signal.SIGKILL)


CRASH_POINTS = ("segment-files", "segment-registered", "before-commit", "after-commit", "merge-written",
                "purge-committed", "purge-files")


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def normalize_source(s: str) -> str:
    """``https://www.Example.com/`` and ``example.com`` are one source."""
    s = (s or "").strip().lower()
    s = re.sub(r"^[a-z]+://", "", s)
    return s.removeprefix("www.").rstrip("/")


def day_number(iso: str) -> float:
    """Proleptic ordinal of an ISO date (NaN when unknown): dates as numbers for filters."""
    try:
        return float(dt.date.fromisoformat(iso[:10]).toordinal())
    except (ValueError, TypeError):
        return float("nan")


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


def _parse_manifest(row: tuple | None) -> Manifest | None:
    """The manifest stored in the meta table; None when there is none or it cannot be read
    (opening the index then says what is wrong)."""
    try:
        return Manifest(**json.loads(row[0])) if row else None
    except (ValueError, TypeError):
        return None


def generation_name(manifest: Manifest | None) -> str | None:
    """``gen-000007`` for a manifest's generation; None before the first commit."""
    return f"gen-{manifest.generation:06d}" if manifest and manifest.generation else None


def chunking_of(manifest: Manifest) -> ChunkingConfig:
    """The chunking an index was built with. Indexes from before ``paragraph_fill`` packed sentences
    across paragraphs, and those from before ``paragraph_topics`` ended chunks at the paragraphs of
    every article; both go on doing so for the articles added to them (one rule per index)."""
    return ChunkingConfig(**{"paragraph_fill": None, "paragraph_topics": False, **manifest.chunking})


def check_manifest(manifest: Manifest, model: str, dim: int, where: str, rebuild: str, elsewhere: str) -> None:
    """Refuse an index of another format, model or dimension, saying what to do (``rebuild``:
    how to start over; ``elsewhere``: where to keep an index for this model instead)."""
    if manifest.format_version != FORMAT_VERSION:
        raise IndexError_(f"{where}: index format v{manifest.format_version} is not the supported "
                          f"v{FORMAT_VERSION}; {rebuild}.")
    if manifest.model != model or manifest.dim != dim:
        raise IndexError_(f"{where}: index was built with model {manifest.model} ({manifest.dim}-d) but the "
                          f"engine uses {model} ({dim}-d); {elsewhere}.")


@dataclass
class Segment:
    no: int
    kind: str  # "flat", "ivf-sq8" or (earlier releases) "ivf": see qa/ann.py
    index: faiss.Index
    ids: np.ndarray  # chunk ids, int64
    nprobe: int = 0
    lex: LexicalSegment | None = None
    vectors: ann.VectorFile | None = None  # ivf-sq8: float32 rows aligned with ``ids``, read on demand


def _affordable(terms: list[str], df: dict[str, int]) -> list[str]:
    """The query terms BM25 scores: all of them, unless their postings add up to more than
    ``LEXICAL_POSTINGS``; then the most common ones are left out (the rarest always stays). A term
    in a large share of a big index weighs little in BM25 (IDF) yet costs the most to score. On a
    news-sized index (thousands of chunks) no query reaches the budget."""
    known = sorted((t for t in terms if df.get(t)), key=lambda t: df[t])
    kept, total = [], 0
    for t in known:
        if kept and total + df[t] > LEXICAL_POSTINGS:
            break
        kept.append(t)
        total += df[t]
    return kept


# ---- database access --------------------------------------------------------------------
def _connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=30.0)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("PRAGMA foreign_keys=OFF")
    return db


_ART_COLS = "id, text, title, source, url, published, origin, content_hash"


def _visible(alias: str, gen: int) -> str:
    return f"{alias}.added_gen <= {int(gen)} AND ({alias}.deleted_gen IS NULL OR {alias}.deleted_gen > {int(gen)})"


class _RowView:
    """A read-only mapping over one snapshot's rows: subclasses give ``get`` and ``keys``."""

    def __init__(self, store: RowStore):
        self._s = store

    def get(self, key, default=None):
        raise NotImplementedError

    def keys(self) -> list:
        raise NotImplementedError

    def __getitem__(self, key):
        row = self.get(key)
        if row is None:
            raise KeyError(key)
        return row

    def __iter__(self) -> Iterator:
        return iter(self.keys())


class _Articles(_RowView):
    """Read-only mapping doc id -> Article of one snapshot (text included)."""

    def get(self, doc_id: str, default=None) -> Article | None:
        if not self._s._has_db:
            return default
        row = self._s._db().execute(
            f"SELECT {_ART_COLS} FROM articles a WHERE a.id = ? AND {_visible('a', self._s.generation)}",
            (doc_id,)).fetchone()
        return Article(*row) if row else default

    def __contains__(self, doc_id: object) -> bool:
        return isinstance(doc_id, str) and self.get(doc_id) is not None

    def __len__(self) -> int:
        return self._s.manifest.n_articles

    def _rows(self, cols: str) -> list[tuple]:
        if not self._s._has_db:
            return []
        return self._s._db().execute(
            f"SELECT {cols} FROM articles a WHERE {_visible('a', self._s.generation)} ORDER BY a.id").fetchall()

    def keys(self) -> list[str]:
        return [r[0] for r in self._rows("a.id")]

    def values(self) -> list[Article]:
        return [Article(*r) for r in self._rows(_ART_COLS)]


class _Chunks(_RowView):
    """Read-only mapping chunk id -> Chunk of one snapshot (text = the article's span)."""

    def __init__(self, store: RowStore):
        super().__init__(store)
        self._cache: OrderedDict[int, Chunk] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, cid: int, default=None) -> Chunk | None:
        cid = int(cid)
        with self._lock:
            c = self._cache.get(cid)
        if c is not None:
            return c
        if not self._s._has_db:
            return default
        row = self._s._db().execute(
            f"SELECT c.id, a.id, c.start, c.\"end\", substr(a.text, c.start + 1, c.\"end\" - c.start), c.n_tokens "
            f"FROM chunks c JOIN articles a ON a.key = c.art_key WHERE c.id = ? AND {_visible('c', self._s.generation)}",
            (cid,)).fetchone()
        if row is None:
            return default
        c = Chunk(id=row[0], doc_id=row[1], start=row[2], end=row[3], text=row[4], n_tokens=row[5])
        with self._lock:
            self._cache[cid] = c
            if len(self._cache) > _CHUNK_CACHE:
                self._cache.popitem(last=False)
        return c

    def __contains__(self, cid: object) -> bool:
        return isinstance(cid, (int, np.integer)) and self.get(int(cid)) is not None

    def __len__(self) -> int:
        return self._s.manifest.n_chunks

    def keys(self) -> list[int]:
        if not self._s._has_db:
            return []
        return [r[0] for r in self._s._db().execute(
            f"SELECT c.id FROM chunks c WHERE {_visible('c', self._s.generation)} ORDER BY c.id")]

    def values(self) -> list[Chunk]:
        return [self[c] for c in self.keys()]


class RowStore:
    """What every store shares: one generation's rows (articles, chunks, term frequencies, the
    manifest) in a SQL database, seen through the generation columns, and the writes to them.
    SQL is written once with ``?`` placeholders (the PostgreSQL store translates them).

    Readers: ``articles`` / ``chunks`` (mappings), ``chunk_ids(doc)``, ``doc_freqs`` ...;
    subclasses add the searches (``prepare_filters``, ``search_dense``, ``search_lexical``,
    ``day``, ``vector``) and where vectors go (``_add_vectors``, ``commit``).
    Writers: ``add_article``, ``remove_article``, ``commit``.
    """
    concurrent_searches = False  # may the dense and the lexical search of one question overlap?

    def __init__(self, manifest: Manifest, writable: bool = False):
        self.manifest = manifest
        self.writable = writable
        self.generation = manifest.generation + (1 if writable else 0)  # a writer sees its pending rows
        self.articles = _Articles(self)
        self.chunks = _Chunks(self)
        self._dirty = False
        self._start_generation = manifest.generation
        self._term_deltas: dict[str, int] = {}  # document-frequency changes, written at the commit

    _has_db = True

    def _db(self):
        raise NotImplementedError

    def _tx_commit(self) -> None:
        """End the writer's transaction and begin the next."""
        raise NotImplementedError

    @property
    def generation_name(self) -> str | None:
        return generation_name(self.manifest)

    @property
    def chunking(self) -> ChunkingConfig:
        return chunking_of(self.manifest)

    def __len__(self) -> int:
        return self.manifest.n_articles


    # ---- reading ---------------------------------------------------------------------------
    def chunk_ids(self, doc_id: str) -> list[int]:
        if not self._has_db:
            return []
        g = self.generation
        return [r[0] for r in self._db().execute(
            f"SELECT c.id FROM chunks c JOIN articles a ON a.key = c.art_key WHERE a.id = ? AND {_visible('a', g)} "
            f"AND {_visible('c', g)} ORDER BY c.id", (doc_id,))]

    def chunk_counts(self) -> dict[str, int]:
        """Chunks per article id."""
        if not self._has_db:
            return {}
        g = self.generation
        return dict(self._db().execute(
            f"SELECT a.id, count(*) FROM chunks c JOIN articles a ON a.key = c.art_key "
            f"WHERE {_visible('a', g)} AND {_visible('c', g)} GROUP BY a.id"))

    def article_id_by_hash(self, content_hash: str) -> str | None:
        if not self._has_db:
            return None
        row = self._db().execute(
            f"SELECT a.id FROM articles a WHERE a.content_hash = ? AND {_visible('a', self.generation)} LIMIT 1",
            (content_hash,)).fetchone()
        return row[0] if row else None

    def published_dates(self) -> list[tuple[str, str]]:
        """(published, source) of every article with a date."""
        if not self._has_db:
            return []
        return self._db().execute(f"SELECT a.published, a.source FROM articles a WHERE a.published != '' "
                                  f"AND {_visible('a', self.generation)}").fetchall()

    def source_counts(self) -> dict[str, int]:
        """Articles per source as written in the articles ("(none)" for none)."""
        if not self._has_db:
            return {}
        return {(s or "(none)"): n for s, n in self._db().execute(
            f"SELECT a.source, count(*) FROM articles a WHERE {_visible('a', self.generation)} GROUP BY a.source")}

    def vectors(self, cids: list[int]) -> np.ndarray:
        """The vectors of ``cids``, in that order: ``vector`` for each; a database store overrides
        it with one query."""
        if not cids:
            return np.zeros((0, self.manifest.dim), np.float32)
        return np.stack([self.vector(c) for c in cids])

    # ---- changing (only inside ``writer``) ---------------------------------------------------
    def doc_freq(self, term: str) -> int:
        """Chunks containing the term (live ones; kept in the ``terms`` table by every write)."""
        return self.doc_freqs([term]).get(term, 0)

    def doc_freqs(self, terms: list[str]) -> dict[str, int]:
        if not self._has_db or not terms:
            return {}
        terms = list(dict.fromkeys(terms))
        marks = ",".join("?" * len(terms))
        return dict(self._db().execute(f"SELECT term, df FROM terms WHERE term IN ({marks})", terms).fetchall())

    def _count_terms(self, bodies: list[list[str]], sign: int) -> None:
        """Document frequencies change with each article; they are summed here and written once,
        in the commit's transaction (``_write_term_deltas``): one row per distinct term of the
        batch instead of one per term per article (a third of PostgreSQL's write time before)."""
        deltas = self._term_deltas
        for b in bodies:
            for t in set(b):
                deltas[t] = deltas.get(t, 0) + sign

    def _write_term_deltas(self) -> None:
        rows = [(t, n) for t, n in self._term_deltas.items() if n]
        self._term_deltas = {}
        if rows:
            self._db().executemany(
                "INSERT INTO terms(term, df) VALUES (?, ?) ON CONFLICT(term) DO UPDATE SET df = terms.df + excluded.df",
                rows)

    def allocate_chunk_ids(self, n: int) -> int:
        first = self.manifest.next_chunk_id
        self.manifest.next_chunk_id += n
        return first

    def remove_article(self, doc_id: str) -> None:
        db, g = self._db(), self.generation
        row = db.execute(f"SELECT key, title FROM articles a WHERE a.id = ? AND {_visible('a', g)}", (doc_id,)).fetchone()
        if row is None:
            raise KeyError(doc_id)
        key, title = row
        self._dirty = True
        chunks = db.execute(f"SELECT c.id, substr(a.text, c.start + 1, c.\"end\" - c.start) FROM chunks c "
                            f"JOIN articles a ON a.key = c.art_key WHERE c.art_key = ? AND {_visible('c', g)}",
                            (key,)).fetchall()
        self._count_terms(lexical_terms([f"{title}\n{text}" for _, text in chunks]) if chunks else [], -1)
        if not self._pending_key(key):
            db.execute("UPDATE articles SET deleted_gen = ? WHERE key = ?", (g, key))
            db.execute("UPDATE chunks SET deleted_gen = ? WHERE art_key = ?", (g, key))
        else:  # added earlier in this same commit: never visible to anyone, just drop it
            db.execute("DELETE FROM articles WHERE key = ?", (key,))
            db.execute("DELETE FROM chunks WHERE art_key = ?", (key,))
            self._drop_pending({cid for cid, _ in chunks})
        self.manifest.n_articles -= 1
        self.manifest.n_chunks -= len(chunks)

    def _pending_key(self, key: int) -> bool:
        row = self._db().execute("SELECT added_gen FROM articles WHERE key = ?", (key,)).fetchone()
        return bool(row) and row[0] == self.generation

    def add_article(self, article: Article, chunks: list[Chunk], vectors: np.ndarray | None) -> None:
        db, g = self._db(), self.generation
        if article.id in self.articles:
            self.remove_article(article.id)
        key = db.execute("INSERT INTO articles(id, title, source, url, published, origin, content_hash, text, "
                         "added_gen) VALUES (?,?,?,?,?,?,?,?,?) RETURNING key",
                         (article.id, article.title, article.source, article.url, article.published,
                          article.origin, article.content_hash, article.text, g)).fetchone()[0]
        self._dirty = True
        bodies = lexical_terms([f"{article.title}\n{c.text}" for c in chunks]) if chunks else []
        self._count_terms(bodies, +1)
        if chunks:
            src = normalize_source(article.source)
            db.execute("INSERT INTO sources(name) VALUES (?) ON CONFLICT(name) DO NOTHING", (src,))
            code = db.execute("SELECT code FROM sources WHERE name = ?", (src,)).fetchone()[0]
            self._add_chunks(key, article, chunks, np.ascontiguousarray(vectors, dtype=np.float32).reshape(
                len(chunks), -1), bodies, code)
        self.manifest.next_chunk_id = max(self.manifest.next_chunk_id, max((c.id for c in chunks), default=-1) + 1)
        self.manifest.n_articles += 1
        self.manifest.n_chunks += len(chunks)

    def _finish(self, g: int) -> None:
        """Write the manifest of generation ``g`` and commit: it is live."""
        db = self._db()
        self._write_term_deltas()
        self.manifest.generation = g
        self.manifest.updated = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        db.execute("INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                   ("manifest", json.dumps(asdict(self.manifest))))
        crash_point("before-commit")
        self._tx_commit()
        crash_point("after-commit")
        self.generation = g + 1


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
        self._new_bodies: list[list[str]] = []
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
            db = self._local.db = _connect(self._db_path)
        return db

    def _tx_commit(self) -> None:
        self._write_db.execute("COMMIT")
        self._write_db.execute("BEGIN IMMEDIATE")

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
        db = _connect(path)
        try:
            row = db.execute("SELECT value FROM meta WHERE key = 'manifest'").fetchone()
        except sqlite3.DatabaseError:
            return None  # open() says what is wrong
        finally:
            db.close()
        return _parse_manifest(row)

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
        db = _connect(path)
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
            if writable:
                return store  # writers do not search: no vectors to load
            gen = manifest.generation
            store.sources = {n: c for c, n in db.execute("SELECT code, name FROM sources")}
            segs = db.execute(f"SELECT no, kind, nprobe FROM segments s WHERE {_visible('s', gen)} "
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
        base = self._segment_base(no)
        try:
            meta = load_npy(f"{base}.npz")
            flags = faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY if kind == "flat" else 0
            index = faiss.read_index(f"{base}.faiss", flags)
            lex = LexicalSegment.load(Path(f"{base}.lex"))
            vectors = ann.VectorFile(f"{base}.vec.npy") if kind == "ivf-sq8" else None
        except FileNotFoundError:
            raise
        except (OSError, ValueError, RuntimeError) as e:
            raise IndexError_(f"{base}: index segment is damaged ({e.__class__.__name__}: {e}). "
                              f"Delete {self.directory} and run `qa ingest` again.") from e
        ids = meta["ids"].astype(np.int64)
        if index.ntotal != len(ids) or (vectors is not None and vectors.shape != (len(ids), index.d)):
            raise IndexError_(f"{base}: {index.ntotal} vectors for {len(ids)} ids; the index is damaged. "
                              f"Delete {self.directory} and run `qa ingest` again.")
        self.segment_of[ids] = len(self.segments)
        self.row_of[ids] = np.arange(len(ids), dtype=np.int32)
        self.alive[ids] = True
        self.days[ids] = meta["days"]
        self.source_codes[ids] = meta["sources"]
        self.segments.append(Segment(no, kind, index, ids, nprobe, lex, vectors))

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
            vecs.append(_reconstruct(seg, keep))
        if not ids:
            return np.zeros(0, np.int64), np.zeros((0, self.manifest.dim), np.float32)
        return np.concatenate(ids), np.concatenate(vecs)

    def day(self, cid: int) -> float:
        """Publication day of a chunk's article (NaN when unknown)."""
        return float(self.days[cid])

    def prepare_filters(self, f) -> np.ndarray | None:
        """Boolean mask of chunks allowed by ``f`` (a retrieval.Filters), by chunk id; None when
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

    def search_dense(self, query_vec: np.ndarray, n: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
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
        hits: list[tuple[int, float]] = []
        for seg in self.segments:
            if seg.kind == "ivf-sq8":
                scores, ids = ann.ivf_search(seg.index, seg.vectors, self.row_of.__getitem__, q, n, seg.nprobe, sel)
                hits.extend(zip(ids.tolist(), scores.tolist()))
                continue
            if seg.kind == "ivf":
                params = faiss.SearchParametersIVF(sel=sel, nprobe=seg.nprobe) if sel is not None else \
                    faiss.SearchParametersIVF(nprobe=seg.nprobe)
            else:
                params = faiss.SearchParameters(sel=sel) if sel is not None else None
            scores, ids = seg.index.search(q, min(n, seg.index.ntotal), params=params)
            hits.extend((int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0)
        hits.sort(key=lambda h: -h[1])
        return hits[:n]

    def avg_len(self) -> float:
        """Average lexical length of the live chunks over all segments (BM25's length norm)."""
        if self._avg_len is None:
            total = sum(float(np.asarray(seg.lex.lengths)[self.alive[seg.ids]].sum()) for seg in self.segments
                        if seg.lex is not None)
            self._avg_len = total / max(self.n_vectors, 1) or 1.0
        return self._avg_len

    def search_lexical(self, terms: list[str], n: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """Top ``n`` (chunk id, BM25) for the query terms over all segments, with the global IDF;
        only live chunks of this snapshot (and ``allowed`` ones, a bool mask by chunk id)."""
        terms = list(dict.fromkeys(t for t in terms if t))
        if not self.segments or not terms or n <= 0 or (allowed is not None and not allowed.any()):
            return []
        df = self.doc_freqs(terms)
        total = max(self.manifest.n_chunks, 1)
        weights = {t: idf(total, df[t]) for t in _affordable(terms, df)}
        ok = None if allowed is None and not self._tombstones else (
            self.alive if allowed is None else allowed & self.alive)
        hits: list[tuple[int, float]] = []
        for seg in self.segments:
            if seg.lex is None:
                continue
            got = seg.lex.scores(weights, None if ok is None else ok[seg.ids], n, self.avg_len())
            hits.extend((int(seg.ids[p]), s) for p, s in got)
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
        db = self._write_db
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
        row = self._write_db.execute("SELECT max(no) FROM segments").fetchone()
        files = [int(p.name[4:10]) for p in (self.directory / SEGMENTS).glob("seg-*") if p.name[4:10].isdigit()]
        return max([row[0] or 0, *files]) + 1

    def _write_segment(self, vecs: np.ndarray, ids: np.ndarray, days: np.ndarray, srcs: np.ndarray,
                       lex: LexicalSegment, g: int) -> int:
        """Write a segment's files (fsynced, renamed into place) and register it in the pending commit."""
        segdir = self.directory / SEGMENTS
        if not segdir.exists():
            segdir.mkdir()
            _fsync_dir(self.directory)  # the new folder's entry is durable before anything in it
        no = self._next_segment_no()
        built = ann.build(vecs, ids)
        base = self._segment_base(no)
        meta = segdir / f".seg-{no:06d}.tmp-{os.getpid()}.npz"
        with open(meta, "wb") as f:
            np.savez(f, ids=ids, days=days, sources=srcs)
            f.flush()
            os.fsync(f.fileno())
        tmp = segdir / f".seg-{no:06d}.tmp-{os.getpid()}.faiss"
        faiss.write_index(built.index, str(tmp))  # straight to the file: no second copy of the vectors in memory
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        vec_tmp = segdir / f".seg-{no:06d}.tmp-{os.getpid()}.vec.npy"
        if built.kind == "ivf-sq8":  # the exact re-rank's vectors
            with open(vec_tmp, "wb") as f:
                np.save(f, np.ascontiguousarray(vecs, dtype=np.float32))
                f.flush()
                os.fsync(f.fileno())
        kind, nprobe, recall = built.kind, built.nprobe, built.recall
        del built
        lex_tmp = segdir / f".seg-{no:06d}.tmp-{os.getpid()}.lex"
        lex.save(lex_tmp)
        _fsync_dir(lex_tmp)
        os.replace(lex_tmp, f"{base}.lex")
        os.replace(meta, f"{base}.npz")
        if kind == "ivf-sq8":
            os.replace(vec_tmp, f"{base}.vec.npy")
        os.replace(tmp, f"{base}.faiss")
        _fsync_dir(segdir)
        crash_point("segment-files")
        self._write_db.execute("INSERT INTO segments(no, n, kind, nprobe, recall, added_gen) VALUES (?,?,?,?,?,?)",
                               (no, len(ids), kind, nprobe, recall, g))
        crash_point("segment-registered")
        return no

    # ---- maintenance (writer) ----------------------------------------------------------------
    def _segment_base(self, no: int) -> Path:
        """``segments/seg-000007``: its files add .faiss, .npz, .lex (and .vec.npy for ivf-sq8)."""
        return self.directory / SEGMENTS / f"seg-{no:06d}"

    def _segment_ids(self, no: int) -> np.ndarray:
        """Chunk ids of a segment (read once per writer: segments never change)."""
        if no not in self._ids_cache:
            self._ids_cache[no] = load_npy(f"{self._segment_base(no)}.npz")["ids"].astype(np.int64)
        return self._ids_cache[no]

    def _deleted_chunk_ids(self, up_to: int | None = None) -> np.ndarray:
        """Ids of chunks marked deleted (in generations up to ``up_to``, when given)."""
        sql = "SELECT id FROM chunks WHERE deleted_gen IS NOT NULL" + ("" if up_to is None else " AND deleted_gen <= ?")
        return np.array([r[0] for r in self._write_db.execute(sql, () if up_to is None else (up_to,))], np.int64)

    def _live_segments(self) -> list[tuple[int, int, str]]:
        return self._write_db.execute("SELECT no, n, kind FROM segments WHERE deleted_gen IS NULL ORDER BY no").fetchall()

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
        db, g = self._write_db, self.generation
        dead = self._deleted_chunk_ids()
        parts = []
        for no in nos:
            base = self._segment_base(no)
            meta = load_npy(f"{base}.npz")
            ids = self._segment_ids(no)
            keep = ~np.isin(ids, dead)
            kind = db.execute("SELECT kind FROM segments WHERE no = ?", (no,)).fetchone()[0]
            vectors = ann.VectorFile(f"{base}.vec.npy") if kind == "ivf-sq8" else None
            seg = Segment(no, kind, faiss.read_index(f"{base}.faiss"), ids, vectors=vectors)
            parts.append((_reconstruct(seg, ids[keep]), ids[keep], meta["days"][keep], meta["sources"][keep],
                          (LexicalSegment.load(Path(f"{base}.lex")), keep)))
        vecs, ids, days, srcs = (np.concatenate(x) for x in zip(*(p[:4] for p in parts)))
        if len(ids):
            self._write_segment(vecs, ids, days, srcs, LexicalSegment.merge([p[4] for p in parts]), g)
        db.executemany("UPDATE segments SET deleted_gen = ? WHERE no = ?", [(g, no) for no in nos])
        crash_point("merge-written")
        self._finish(g)

    def _purge(self) -> None:
        """Drop rows and segments that the live and the previous generation cannot see."""
        db = self._write_db
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
            base = self._segment_base(no)
            for ext in ("faiss", "npz", "vec.npy"):
                Path(f"{base}.{ext}").unlink(missing_ok=True)
                crash_point("purge-files")
            shutil.rmtree(f"{base}.lex", ignore_errors=True)

    def _clean_orphans(self) -> None:
        """Remove segment files no commit registered, and temporaries (a writer was killed)."""
        segdir = self.directory / SEGMENTS
        if not segdir.exists():
            return
        known = {r[0] for r in self._write_db.execute("SELECT no FROM segments")}
        for p in segdir.iterdir():
            if p.name.startswith(".seg-") or (p.name.startswith("seg-") and int(p.name[4:10]) not in known):
                if p.is_dir():
                    shutil.rmtree(p, ignore_errors=True)
                else:
                    p.unlink(missing_ok=True)


def _all_vectors(index: faiss.Index, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """Every (id, vector) of a segment's index, read in bulk (flat storage or IVF inverted lists)."""
    d = index.d
    if kind == "ivf":
        ivf = faiss.extract_index_ivf(index)
        lists = ivf.invlists
        ids, vecs = [], []
        for i in range(ivf.nlist):
            size = lists.list_size(i)
            if size:
                ids.append(faiss.rev_swig_ptr(lists.get_ids(i), size).copy())
                vecs.append(faiss.rev_swig_ptr(lists.get_codes(i), size * d * 4).view(np.float32).reshape(size, d).copy())
        if not ids:
            return np.zeros(0, np.int64), np.zeros((0, d), np.float32)
        return np.concatenate(ids).astype(np.int64), np.concatenate(vecs)
    ids = faiss.vector_to_array(index.id_map).astype(np.int64)
    return ids, faiss.downcast_index(index.index).reconstruct_n(0, index.ntotal)


def _reconstruct(seg: Segment, ids: np.ndarray) -> np.ndarray:
    """Vectors of ``ids`` (all in this segment), in that order."""
    if not len(ids):
        return np.zeros((0, seg.index.d), np.float32)
    if seg.vectors is not None:
        order = np.argsort(seg.ids)
        return np.asarray(seg.vectors[order[np.searchsorted(seg.ids, ids, sorter=order)]], dtype=np.float32)
    all_ids, vecs = _all_vectors(seg.index, seg.kind)
    order = np.argsort(all_ids)
    return vecs[order[np.searchsorted(all_ids, ids, sorter=order)]].astype(np.float32)


# ---- either store, by location: a folder, or a postgresql:// address ---------------------------
def open_store(location: str | Path, model: str, dim: int, chunking: ChunkingConfig) -> RowStore:
    """The live generation of the index at ``location`` (read-only snapshot)."""
    from .pgstore import PgStore, is_database

    if is_database(location):
        return PgStore.open(str(location), model, dim, chunking)
    return IndexStore.open(location, model, dim, chunking)


def current_generation(location: str | Path) -> str | None:
    from .pgstore import PgStore, is_database

    return PgStore.current_generation(str(location)) if is_database(location) else \
        IndexStore.current_generation(location)


def manifest_of(location: str | Path) -> Manifest | None:
    from .pgstore import PgStore, is_database

    return PgStore.manifest_of(str(location)) if is_database(location) else IndexStore.manifest_of(location)


@contextmanager
def writer(location: str | Path, model: str, dim: int, chunking: ChunkingConfig) -> Iterator[RowStore]:
    """Open the index for writing: one writer at a time; commits only if the block succeeds
    (and whatever the block committed itself with ``store.commit()``, batch by batch)."""
    from .pgstore import is_database, pg_writer

    if is_database(location):
        with pg_writer(str(location), model, dim, chunking) as store:
            yield store
        return
    with _file_writer(Path(location), model, dim, chunking) as store:
        yield store


@contextmanager
def _file_writer(directory: Path, model: str, dim: int, chunking: ChunkingConfig) -> Iterator[IndexStore]:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(directory / ".write.lock"))
    try:
        lock.acquire(timeout=float(os.environ.get("QA_LOCK_TIMEOUT", "0")))
    except Timeout as e:
        raise IndexLockedError(f"{directory}: another process is writing to this index "
                               f"(lock {directory / '.write.lock'}); wait for it to finish and try again.") from e
    try:
        store = IndexStore.open(directory, model, dim, chunking, _writable=True)
        db = store._write_db = _connect(directory / DB_NAME)
        try:
            db.executescript(_SCHEMA)
            db.execute("BEGIN IMMEDIATE")
            store._clean_orphans()
            yield store
            if store._dirty or store.manifest.generation == 0:
                store.commit()
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        finally:
            db.close()
            store._write_db = None
    finally:
        lock.release()



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
