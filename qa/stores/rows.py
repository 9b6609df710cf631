"""What both stores share: one generation's rows (articles, chunks, lexical term frequencies,
the manifest) in a SQL database, seen through the generation columns, and the writes to them.
SQL is written once with ``?`` placeholders (the PostgreSQL store translates them).

Every row carries ``added_gen`` and ``deleted_gen``; a snapshot at generation G sees a row when
``added_gen <= G`` and it was not deleted at or before G (``visible``). A writer works at G+1,
so it sees its own pending rows and readers of G do not.
"""
from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import asdict

import numpy as np

from ..config import ChunkingConfig, settings
from ..lexical import lexical_terms
from ..types import Article, Chunk
from .base import normalize_source
from .faults import crash_point
from .manifest import Manifest, chunking_of, generation_name

_CHUNK_CACHE = 4096


def affordable_terms(terms: list[str], df: dict[str, int]) -> list[str]:
    """The query terms BM25 scores: all of them, unless their postings add up to more than
    ``QA_LEXICAL_POSTINGS``; then the most common ones are left out (the rarest always stays). A term
    in a large share of a big index weighs little in BM25 (IDF) yet costs the most to score. On a
    news-sized index (thousands of chunks) no query reaches the budget."""
    budget = settings().lexical_postings
    known = sorted((t for t in terms if df.get(t)), key=lambda t: df[t])
    kept: list[str] = []
    total = 0
    for t in known:
        if kept and total + df[t] > budget:
            break
        kept.append(t)
        total += df[t]
    return kept

_ART_COLS = "a.id, a.text, a.title, a.source, a.url, a.published, a.origin, a.content_hash, coalesce(a.original, '')"
# an index written before ``original`` existed (its next writer adds the column): no original texts
ART_COLS_BEFORE_ORIGINAL = "a.id, a.text, a.title, a.source, a.url, a.published, a.origin, a.content_hash"


def visible(alias: str, gen: int) -> str:
    """SQL: the rows of table ``alias`` that a snapshot at generation ``gen`` sees."""
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
            f"SELECT {self._s.article_columns} FROM articles a WHERE a.id = ? AND {visible('a', self._s.generation)}",
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
            f"SELECT {cols} FROM articles a WHERE {visible('a', self._s.generation)} ORDER BY a.id").fetchall()

    def keys(self) -> list[str]:
        return [r[0] for r in self._rows("a.id")]

    def values(self) -> list[Article]:
        return [Article(*r) for r in self._rows(self._s.article_columns)]


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
            f"FROM chunks c JOIN articles a ON a.key = c.art_key WHERE c.id = ? AND {visible('c', self._s.generation)}",
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
            f"SELECT c.id FROM chunks c WHERE {visible('c', self._s.generation)} ORDER BY c.id")]

    def values(self) -> list[Chunk]:
        return [self[c] for c in self.keys()]


class RowStore:
    """What every store shares: one generation's rows (articles, chunks, term frequencies, the
    manifest) in a SQL database, seen through the generation columns, and the writes to them.
    SQL is written once with ``?`` placeholders (the PostgreSQL store translates them).

    Readers: ``articles`` / ``chunks`` (mappings), ``chunk_ids(doc)``, ``doc_freqs`` ...;
    subclasses add the searches of the contract (``qa.stores.base.Store``: ``prepare_filters``,
    ``search_dense``, ``search_lexical``, ``day``, ``vector``) and where vectors go
    (``_add_chunks``, ``commit``).
    Writers: ``add_article``, ``remove_article``, ``commit``.
    """
    concurrent_searches = False  # may the dense and the lexical search of one question overlap?
    article_columns = _ART_COLS  # ART_COLS_BEFORE_ORIGINAL for an index from before original texts

    def __init__(self, manifest: Manifest, writable: bool = False):
        self.manifest = manifest
        self.writable = writable
        self.generation = manifest.generation + (1 if writable else 0)  # a writer sees its pending rows
        self.articles = _Articles(self)
        self.chunks = _Chunks(self)
        self._dirty = False
        self._start_generation = manifest.generation
        self._term_deltas: dict[str, int] = {}  # document-frequency changes, written at the commit

    @property
    def _has_db(self) -> bool:
        return True

    def _db(self):
        raise NotImplementedError

    def vector(self, cid: int) -> np.ndarray:
        raise NotImplementedError

    def _add_chunks(self, key: int, article: Article, chunks: list[Chunk], vectors: np.ndarray,
                    bodies: list[list[str]], source_code: int) -> None:
        """Store the new chunks' vectors and lexical postings (the store's own layout)."""
        raise NotImplementedError

    def _drop_pending(self, ids: set[int]) -> None:
        """Forget the pending vectors of chunks removed in the same commit that added them."""
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
            f"SELECT c.id FROM chunks c JOIN articles a ON a.key = c.art_key WHERE a.id = ? AND {visible('a', g)} "
            f"AND {visible('c', g)} ORDER BY c.id", (doc_id,))]

    def chunk_counts(self) -> dict[str, int]:
        """Chunks per article id."""
        if not self._has_db:
            return {}
        g = self.generation
        return dict(self._db().execute(
            f"SELECT a.id, count(*) FROM chunks c JOIN articles a ON a.key = c.art_key "
            f"WHERE {visible('a', g)} AND {visible('c', g)} GROUP BY a.id"))

    def article_id_by_hash(self, content_hash: str) -> str | None:
        if not self._has_db:
            return None
        row = self._db().execute(
            f"SELECT a.id FROM articles a WHERE a.content_hash = ? AND {visible('a', self.generation)} LIMIT 1",
            (content_hash,)).fetchone()
        return row[0] if row else None

    def published_dates(self) -> list[tuple[str, str]]:
        """(published, source) of every article with a date."""
        if not self._has_db:
            return []
        return self._db().execute(f"SELECT a.published, a.source FROM articles a WHERE a.published != '' "
                                  f"AND {visible('a', self.generation)}").fetchall()

    def source_counts(self) -> dict[str, int]:
        """Articles per source as written in the articles ("(none)" for none)."""
        if not self._has_db:
            return {}
        return {(s or "(none)"): n for s, n in self._db().execute(
            f"SELECT a.source, count(*) FROM articles a WHERE {visible('a', self.generation)} GROUP BY a.source")}

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
        row = db.execute(f"SELECT key, title FROM articles a WHERE a.id = ? AND {visible('a', g)}", (doc_id,)).fetchone()
        if row is None:
            raise KeyError(doc_id)
        key, title = row
        self._dirty = True
        chunks = db.execute(f"SELECT c.id, substr(a.text, c.start + 1, c.\"end\" - c.start) FROM chunks c "
                            f"JOIN articles a ON a.key = c.art_key WHERE c.art_key = ? AND {visible('c', g)}",
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
                         "original, added_gen) VALUES (?,?,?,?,?,?,?,?,?,?) RETURNING key",
                         (article.id, article.title, article.source, article.url, article.published,
                          article.origin, article.content_hash, article.text, article.original or None,
                          g)).fetchone()[0]
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
