"""The shared store: PostgreSQL + pgvector, so any number of app processes on any number of
machines answer from one index (``--store postgresql://…`` or ``QA_STORE``).

The rows and their generation scheme are the embedded store's (``qa.stores.rows.RowStore``: articles,
chunks, term document frequencies, the manifest; a snapshot sees rows visible at its
generation), in one PostgreSQL schema (``QA_PG_SCHEMA``, default ``newsqa``). Here:

- vectors live in ``chunks.embedding`` (pgvector, HNSW index, cosine; ``hnsw.iterative_scan``
  keeps filtered searches complete);
- the lexical index is a ``postings`` table (term, chunk, term frequency, chunk length) scored
  as BM25 with the same global IDF and parameters as the embedded store, in one SQL aggregate.
  PostgreSQL's own full-text ranking (``ts_rank``) has no IDF, so it would rank differently from
  the embedded store; the postings table keeps both stores' retrieval the same;
- filters are a WHERE clause; a commit is one transaction; one writer at a time holds an
  advisory lock (another gets IndexLockedError, as with the embedded store's lock file).

For a managed PostgreSQL: point ingest (the one writer) at the primary and the app replicas at
read replicas; they reload when the replicated generation changes.
"""
from __future__ import annotations

import json
import re
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict

import numpy as np

from ..config import ChunkingConfig, settings
from ..errors import IndexError_, IndexLockedError
from ..lexical import K1, B, idf
from ..types import Article, Chunk
from .base import Filters, Hit, day_number, normalize_source
from .manifest import FORMAT_VERSION, Manifest, check_manifest, generation_name, parse_manifest
from .rows import ART_COLS_BEFORE_ORIGINAL, RowStore, affordable_terms, visible


def schema_name() -> str:
    name = settings().pg_schema
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name) or name.startswith("pg_"):
        raise IndexError_(f"QA_PG_SCHEMA must be a plain lower-case identifier not starting with pg_, got {name!r}")
    return name


_HNSW_INDEX = "CREATE INDEX IF NOT EXISTS chunks_hnsw ON chunks USING hnsw (embedding vector_cosine_ops)"


def _ddl(schema: str, dim: int) -> str:
    return f"""
CREATE EXTENSION IF NOT EXISTS vector;
CREATE SCHEMA IF NOT EXISTS {schema};
SET search_path = {schema}, public;
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS articles(
    key BIGSERIAL PRIMARY KEY, id TEXT NOT NULL, title TEXT, source TEXT, url TEXT, published TEXT,
    origin TEXT, content_hash TEXT, text TEXT NOT NULL, added_gen INTEGER NOT NULL, deleted_gen INTEGER,
    original TEXT);
ALTER TABLE articles ADD COLUMN IF NOT EXISTS original TEXT;
CREATE INDEX IF NOT EXISTS articles_id ON articles(id);
CREATE INDEX IF NOT EXISTS articles_hash ON articles(content_hash) WHERE deleted_gen IS NULL;
CREATE INDEX IF NOT EXISTS articles_deleted ON articles(deleted_gen) WHERE deleted_gen IS NOT NULL;
CREATE TABLE IF NOT EXISTS chunks(
    id BIGINT PRIMARY KEY, art_key BIGINT NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL,
    n_tokens INTEGER NOT NULL, day DOUBLE PRECISION, source_code INTEGER, lex_len INTEGER NOT NULL,
    embedding vector({dim}) NOT NULL, added_gen INTEGER NOT NULL, deleted_gen INTEGER);
CREATE INDEX IF NOT EXISTS chunks_art ON chunks(art_key);
CREATE INDEX IF NOT EXISTS chunks_deleted ON chunks(deleted_gen) WHERE deleted_gen IS NOT NULL;
CREATE INDEX IF NOT EXISTS chunks_day ON chunks(day);
CREATE INDEX IF NOT EXISTS chunks_source ON chunks(source_code);
{_HNSW_INDEX};
CREATE TABLE IF NOT EXISTS sources(code SERIAL PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS terms(term TEXT PRIMARY KEY, df INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS postings(term TEXT NOT NULL, chunk_id BIGINT NOT NULL, tf INTEGER NOT NULL,
    lex_len INTEGER);
CREATE INDEX IF NOT EXISTS postings_chunk ON postings(chunk_id);
"""

# Schemas written before postings carried the chunk's length (lex_len) get it once, by the writer.
_MIGRATE_POSTINGS = """
ALTER TABLE postings ADD COLUMN IF NOT EXISTS lex_len INTEGER;
UPDATE postings p SET lex_len = c.lex_len FROM chunks c WHERE p.lex_len IS NULL AND c.id = p.chunk_id;
DROP INDEX IF EXISTS postings_term;
CREATE INDEX IF NOT EXISTS postings_term_len ON postings(term) INCLUDE (chunk_id, tf, lex_len);
INSERT INTO meta(key, value) VALUES ('postings_lex_len', '1') ON CONFLICT (key) DO NOTHING
"""


def _postings_migrated(db: _Conn) -> bool:
    """Has _MIGRATE_POSTINGS run on this schema (postings carry lex_len)? Asked by writers and readers."""
    return db.execute("SELECT 1 FROM meta WHERE key = 'postings_lex_len'").fetchone() is not None


LEXICAL_HEAD = 4  # the lexical search scores postings alone for this many times n candidates first


class _Conn:
    """A psycopg connection speaking the ``?`` placeholders of the shared SQL."""

    def __init__(self, uri: str, autocommit: bool = False):
        import psycopg

        try:
            self.raw = psycopg.connect(uri, autocommit=autocommit)
        except psycopg.Error as e:
            raise IndexError_(f"cannot connect to the PostgreSQL store ({str(e).strip()}); check the "
                              f"postgresql:// address and that the server is running") from e
        self.raw.execute(f"SET search_path = {schema_name()}, public")
        self.vector_ready = False
        self.ensure_vector()
        if not autocommit:
            self.raw.commit()

    def ensure_vector(self) -> None:
        """Teach psycopg the vector type once the extension exists (a writer may create it later)."""
        if self.vector_ready:
            return
        from pgvector.psycopg import register_vector

        if self.raw.execute("SELECT 1 FROM pg_extension WHERE extname = 'vector'").fetchone() is not None:
            register_vector(self.raw)
            self.raw.execute("SET hnsw.ef_search = 100")
            self.raw.execute("SET hnsw.iterative_scan = relaxed_order")
            self.vector_ready = True

    def execute(self, sql: str, params=()):
        return self.raw.execute(sql.replace("?", "%s"), params)

    def executemany(self, sql: str, rows) -> None:
        with self.raw.cursor() as cur:
            cur.executemany(sql.replace("?", "%s"), list(rows))

    def close(self) -> None:
        self.raw.close()


_LOCAL = threading.local()
_LENGTHS: set[tuple[str, str]] = set()  # (address, schema) whose postings carry lex_len (migrated)


def _reader_conn(uri: str) -> _Conn:
    """One autocommit connection per thread and address (every statement sees the newest commit)."""
    conns = getattr(_LOCAL, "conns", None)
    if conns is None:
        conns = _LOCAL.conns = {}
    key = (uri, schema_name())
    c = conns.get(key)
    if c is None or c.raw.closed:
        c = conns[key] = _Conn(uri, autocommit=True)
    c.ensure_vector()
    return c


class PgStore(RowStore):
    """One generation of an index in PostgreSQL (a reader's snapshot, or the writer's pending one)."""

    def __init__(self, uri: str, manifest: Manifest, writable: bool = False, conn: _Conn | None = None):
        super().__init__(manifest, writable)
        self.uri = uri
        self.directory = uri
        self._conn = conn
        self._days: dict[int, float] = {}
        self._avg_len: float | None = None
        self.sources: dict[str, int] = {}

    def _db(self) -> _Conn:
        return self._conn if self._conn is not None else _reader_conn(self.uri)

    def _tx_commit(self) -> None:
        self._writer().raw.commit()

    def _writer(self) -> _Conn:
        """The writer's own connection (its transaction); readers have none."""
        assert self._conn is not None, "only the writer's store writes"
        return self._conn

    # ---- opening ---------------------------------------------------------------------------
    @staticmethod
    def current_generation(uri: str) -> str | None:
        return generation_name(PgStore.manifest_of(uri))

    @staticmethod
    def manifest_of(uri: str) -> Manifest | None:
        try:
            row = _reader_conn(uri).execute("SELECT value FROM meta WHERE key = 'manifest'").fetchone()
        except Exception:  # noqa: BLE001 - no schema yet (or unreachable: open() says why)
            return None
        return parse_manifest(row)

    @classmethod
    def open(cls, uri: str, model: str, dim: int, chunking: ChunkingConfig, _conn: _Conn | None = None) -> PgStore:
        import psycopg

        db = _conn or _reader_conn(uri)
        try:
            row = db.execute("SELECT value FROM meta WHERE key = 'manifest'").fetchone()
        except psycopg.errors.UndefinedTable:
            row = None
            if _conn is not None:
                _conn.raw.rollback()
        if row is None:
            return cls(uri, Manifest(FORMAT_VERSION, model, dim, asdict(chunking)), _conn is not None, _conn)
        manifest = Manifest(**json.loads(row[0]))
        check_manifest(manifest, model, dim, redact(uri), f"drop schema {schema_name()} and run `qa ingest` again",
                       "use another QA_PG_SCHEMA")
        store = cls(uri, manifest, _conn is not None, _conn)
        store.sources = {n: c for c, n in db.execute("SELECT code, name FROM sources").fetchall()}
        if db.execute("SELECT 1 FROM information_schema.columns WHERE table_schema = ? AND table_name = 'articles' "
                      "AND column_name = 'original'", (schema_name(),)).fetchone() is None:
            store.article_columns = ART_COLS_BEFORE_ORIGINAL  # written before original texts
        return store

    # ---- reading ---------------------------------------------------------------------------
    @property
    def n_vectors(self) -> int:
        return self.manifest.n_chunks

    def day(self, cid: int) -> float:
        d = self._days.get(cid)
        if d is None:
            row = self._db().execute("SELECT day FROM chunks WHERE id = ?", (int(cid),)).fetchone()
            d = self._days[cid] = float("nan") if row is None or row[0] is None else float(row[0])
        return d

    def vector(self, cid: int) -> np.ndarray:
        row = self._db().execute("SELECT embedding FROM chunks WHERE id = ?", (int(cid),)).fetchone()
        return _array(row[0])

    def vectors(self, cids: list[int]) -> np.ndarray:
        """The vectors of ``cids`` in that order, in one query (binary: no text parsing)."""
        if not cids:
            return np.zeros((0, self.manifest.dim), np.float32)
        rows = self._db().raw.execute("SELECT id, embedding FROM chunks WHERE id = ANY(%s)",
                                      ([int(c) for c in cids],), binary=True).fetchall()
        by_id = {int(i): _array(v) for i, v in rows}
        return np.stack([by_id[int(c)] for c in cids])

    def vector_matrix(self) -> tuple[np.ndarray, np.ndarray]:
        rows = self._db().execute(f"SELECT c.id, c.embedding FROM chunks c WHERE {visible('c', self.generation)} "
                                  f"ORDER BY c.id").fetchall()
        if not rows:
            return np.zeros(0, np.int64), np.zeros((0, self.manifest.dim), np.float32)
        return np.array([r[0] for r in rows], np.int64), np.stack([_array(r[1]) for r in rows])

    def prepare_filters(self, f: Filters) -> tuple[str, list] | None:
        """The filters as a WHERE fragment over chunks ``c`` (unknown dates pass ``as_of`` only)."""
        if not f.active():
            return None
        parts: list[str] = []
        params: list = []
        if f.sources:
            codes = [self.sources[n] for n in {normalize_source(x) for x in f.sources} if n in self.sources]
            parts.append("c.source_code = ANY(?)")
            params.append(codes)
        if f.date_from:
            parts.append("c.day >= ?")
            params.append(day_number(f.date_from))
        if f.date_to:
            parts.append("c.day <= ?")
            params.append(day_number(f.date_to))
        if f.as_of:
            parts.append("(c.day IS NULL OR c.day <= ?)")
            params.append(day_number(f.as_of))
        return " AND ".join(parts), params

    def _where(self, allowed) -> tuple[str, list]:
        where = visible("c", self.generation)
        if allowed is None:
            return where, []
        return f"{where} AND {allowed[0]}", list(allowed[1])

    def search_dense(self, query_vec: np.ndarray, n: int, allowed=None) -> list[Hit]:
        if n <= 0 or not self.manifest.n_chunks:
            return []
        where, params = self._where(allowed)
        q = np.asarray(query_vec, dtype=np.float32)
        rows = self._db().execute(
            f"SELECT c.id, 1 - (c.embedding <=> ?) AS s, c.day FROM chunks c WHERE {where} "
            f"ORDER BY c.embedding <=> ? LIMIT ?", [q, *params, q, n]).fetchall()
        for cid, _, d in rows:
            self._days[cid] = float("nan") if d is None else float(d)
        return sorted((Hit(int(c), float(s)) for c, s, _ in rows), key=lambda h: -h[1])

    def avg_len(self) -> float:
        if self._avg_len is None:
            row = self._db().execute(f"SELECT avg(c.lex_len) FROM chunks c "
                                     f"WHERE {visible('c', self.generation)}").fetchone()
            self._avg_len = float(row[0] or 1.0) or 1.0
        return self._avg_len

    def search_lexical(self, terms: list[str], n: int, allowed=None) -> list[Hit]:
        """BM25 top ``n`` among the visible chunks that pass ``allowed``.

        Each posting carries its chunk's length, so the scores come from the postings index alone
        (an index-only scan); only the best ``LEXICAL_HEAD * n`` (unfiltered) or ``8 * LEXICAL_HEAD
        * n`` (filtered) are then checked against ``chunks`` for visibility and filters. When fewer
        than ``n`` of them pass, the whole aggregate is joined to ``chunks`` instead: the same top
        ``n`` either way. At 100k stand-in chunks this took the lexical search from ~690 to ~110 ms
        p50: the chunks lookup per posting was most of its time."""
        terms = list(dict.fromkeys(t for t in terms if t))
        if not terms or n <= 0 or not self.manifest.n_chunks:
            return []
        df = self.doc_freqs(terms)
        total = max(self.manifest.n_chunks, 1)
        weights = {t: idf(total, df[t]) for t in affordable_terms(terms, df)}
        if not weights:
            return []
        where, params = self._where(allowed)
        score = "sum(q.w * p.tf / (p.tf + ? * (1 - ? + ? * {length} / ?)))"
        bm25 = [K1, B, B, self.avg_len(), list(weights), list(weights.values())]
        matches = "FROM postings p JOIN unnest(?::text[], ?::float8[]) AS q(term, w) ON p.term = q.term"
        head = LEXICAL_HEAD * n * (8 if allowed else 1)
        rows = [] if not self._postings_have_lengths() else self._db().execute(
            f"WITH top AS (SELECT p.chunk_id AS id, {score.format(length='p.lex_len')} AS s {matches} "
            f"GROUP BY p.chunk_id ORDER BY s DESC LIMIT ?) "
            f"SELECT c.id, top.s, c.day FROM top JOIN chunks c ON c.id = top.id WHERE {where} "
            f"ORDER BY top.s DESC LIMIT ?", [*bm25, head, *params, n]).fetchall()
        if len(rows) < n:  # too few of the best passed (or an unmigrated schema): score every match, joined
            rows = self._db().execute(
                f"SELECT p.chunk_id, {score.format(length='c.lex_len')} AS s, min(c.day) {matches} "
                f"JOIN chunks c ON c.id = p.chunk_id WHERE {where} GROUP BY p.chunk_id ORDER BY s DESC LIMIT ?",
                [*bm25, *params, n]).fetchall()
        for cid, _, d in rows:
            self._days[cid] = float("nan") if d is None else float(d)
        return [Hit(int(c), float(s)) for c, s, _ in rows]

    def _postings_have_lengths(self) -> bool:
        """False on a schema written before postings carried lex_len, until its next writer migrates it."""
        key = (self.uri, schema_name())
        if key not in _LENGTHS and _postings_migrated(self._db()):
            _LENGTHS.add(key)  # once migrated, always
        return key in _LENGTHS

    # ---- writing ---------------------------------------------------------------------------
    def _add_chunks(self, key: int, article: Article, chunks: list[Chunk], vectors: np.ndarray,
                    bodies: list[list[str]], source_code: int) -> None:
        g, number = self.generation, day_number(article.published)
        day = None if np.isnan(number) else number
        self._db().executemany(
            'INSERT INTO chunks(id, art_key, start, "end", n_tokens, day, source_code, lex_len, embedding, added_gen) '
            "VALUES (?,?,?,?,?,?,?,?,?,?)",
            [(c.id, key, c.start, c.end, c.n_tokens, day, source_code, len(b), v, g)
             for c, b, v in zip(chunks, bodies, vectors)])
        with self._writer().raw.cursor() as cur, cur.copy("COPY postings(term, chunk_id, tf, lex_len) FROM STDIN") as cp:
            for c, body in zip(chunks, bodies):
                counts: dict[str, int] = {}
                for t in body:
                    counts[t] = counts.get(t, 0) + 1
                for t, tf in counts.items():
                    cp.write_row((t, c.id, tf, len(body)))

    def _drop_pending(self, ids: set[int]) -> None:
        self._db().execute("DELETE FROM postings WHERE chunk_id = ANY(?)", (list(ids),))

    def commit(self) -> None:
        self._finish(self.generation)
        self._dirty = False
        self._purge()

    def _purge(self) -> None:
        old = min(self.generation - 2, self._start_generation)
        db = self._db()
        gone = db.execute("DELETE FROM chunks WHERE deleted_gen IS NOT NULL AND deleted_gen <= ? RETURNING id",
                          (old,)).fetchall()
        if gone:
            db.execute("DELETE FROM postings WHERE chunk_id = ANY(?)", ([r[0] for r in gone],))
        db.execute("DELETE FROM articles WHERE deleted_gen IS NOT NULL AND deleted_gen <= ?", (old,))
        self._tx_commit()

    def compact(self) -> dict:
        """Drop rows no snapshot can see and refresh the planner's statistics."""
        self._purge()
        with _autocommit(self.uri) as c:
            c.execute("VACUUM ANALYZE chunks")
            c.execute("VACUUM ANALYZE postings")
        return {"store": "postgresql", "segments_before": 1, "segments_after": 1, "kind": "hnsw",
                "vectors": self.manifest.n_chunks}


def _array(v) -> np.ndarray:
    return np.asarray(v.to_numpy() if hasattr(v, "to_numpy") else v, dtype=np.float32)


@contextmanager
def _autocommit(uri: str) -> Iterator[_Conn]:
    c = _Conn(uri, autocommit=True)
    try:
        yield c
    finally:
        c.close()


def redact(uri: str) -> str:
    """The address without its password, for messages."""
    return re.sub(r"://([^:/@]*):[^@]*@", r"://\1:***@", uri)


@contextmanager
def pg_writer(uri: str, model: str, dim: int, chunking: ChunkingConfig, wait: float | None = None,
              on_wait: Callable[[str], None] | None = None) -> Iterator[PgStore]:
    """The one writer of a PostgreSQL index (advisory lock); commits when the block succeeds. Another
    writer is waited for up to ``wait`` seconds (default QA_LOCK_TIMEOUT), ``on_wait`` told once."""
    conn = _Conn(uri)
    try:
        key = zlib.crc32(f"newsqa:{schema_name()}".encode())
        wait = settings().lock_timeout if wait is None else wait
        deadline = time.monotonic() + wait
        told = False
        while not conn.execute("SELECT pg_try_advisory_lock(?)", (key,)).fetchone()[0]:
            conn.raw.commit()
            if time.monotonic() >= deadline:
                raise IndexLockedError(f"{redact(uri)}: another process is writing to this index (schema "
                                       f"{schema_name()})" + (f" and still was after {wait:g} s" if wait > 0 else "")
                                       + "; wait for it to finish and try again, or wait longer with --wait SECONDS "
                                         "(QA_LOCK_TIMEOUT).")
            if on_wait and not told:
                on_wait(f"waiting for another process writing to {redact(uri)} (up to {wait:g} s)…")
                told = True
            time.sleep(0.2)
        conn.raw.commit()
        for statement in _ddl(schema_name(), dim).split(";\n"):
            if statement.strip():
                conn.execute(statement)
        if not _postings_migrated(conn):
            for statement in _MIGRATE_POSTINGS.split(";\n"):
                conn.execute(statement)
        conn.raw.commit()
        conn.ensure_vector()
        conn.raw.commit()
        store = PgStore.open(uri, model, dim, chunking, _conn=conn)
        # Filling an empty index: the vector index is built once at the end, which pgvector does far
        # faster than inserting into the graph row by row. Until then (and after a crash, until the
        # next writer's DDL builds it again) searches are exact scans: slower, never wrong.
        bulk = not store.manifest.n_chunks and conn.execute("SELECT 1 FROM chunks LIMIT 1").fetchone() is None
        if bulk:
            conn.execute("DROP INDEX IF EXISTS chunks_hnsw")
            conn.raw.commit()
        try:
            yield store
            if store._dirty or store.manifest.generation == 0:
                store.commit()
            conn.raw.commit()
            if bulk:
                memory = settings().pg_index_memory  # maintenance_work_mem for a bulk index build
                if re.fullmatch(r"\d+\s*(kB|MB|GB)?", memory):
                    conn.execute(f"SET maintenance_work_mem = '{memory}'")
                conn.execute(_HNSW_INDEX)
                conn.raw.commit()
        except BaseException:
            conn.raw.rollback()
            raise
    finally:
        conn.close()
