"""The lexical index: BM25 postings stored beside each vector segment, memory-mapped.

Why not a library: bm25s (used for tokenizing) builds one index over a whole corpus and scores
with that corpus' IDF, so it cannot be updated or split into segments; SQLite FTS5 can, but its
``bm25()`` scores every posting of every query term one by one (measured: ~35 ms per query on
10k synthetic chunks, 2.8 s for a term in most of 1M chunks). Here a segment stores, per term,
its postings (chunk positions) with the term-frequency part of BM25 precomputed (bm25s'
"lucene" variant, k1 = 1.5, b = 0.75, the segment's average length), and a query multiplies
them by the *global* IDF (document frequencies kept by the store across segments) in numpy:
with the average chunk length of the whole index, so the same ranking as one bm25s index over
all segments, and a few milliseconds per query at 1M chunks. Files of a segment ``seg-000007.lex/``: ``vocab.npy`` (sorted terms),
``indptr.npy``, ``rows.npy`` (int32 positions), ``tf.npy`` (uint16), ``tfc.npy`` (float32),
``lengths.npy`` (terms per chunk, for merging).
"""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

K1 = 1.5
B = 0.75

_STEMMER = None
_LOCK = threading.Lock()


def lexical_terms(texts: list[str]) -> list[list[str]]:
    """Terms of each text: bm25s' tokenizer (words of 2+ characters, English stop words removed,
    Snowball-stemmed) -- the same for indexed chunks and for queries."""
    import bm25s
    import Stemmer

    global _STEMMER
    with _LOCK:  # PyStemmer objects are not thread-safe
        if _STEMMER is None:
            _STEMMER = Stemmer.Stemmer("english")
        out = bm25s.tokenize(texts, stopwords="en", stemmer=_STEMMER, show_progress=False, return_ids=False)
    return [list(t) for t in out]


_NPY_LOCK = threading.Lock()


def load_npy(path, mmap_mode: Literal["r", "r+", "w+", "c"] | None = None):
    """``np.load`` one at a time: numpy parses .npy headers with ``ast.literal_eval``, and CPython
    3.11's AST validator is not safe across threads ("AST constructor recursion depth mismatch",
    seen with a reader opening a snapshot while a writer commits)."""
    with _NPY_LOCK:
        out = np.load(path, mmap_mode=mmap_mode)
        if isinstance(out, np.lib.npyio.NpzFile):  # read the members now, under the lock
            with out:
                return {k: out[k] for k in out.files}
        return out


def idf(n_docs: int, df: int) -> float:
    return float(np.log(1.0 + (n_docs - df + 0.5) / (df + 0.5)))


@dataclass
class LexicalSegment:
    vocab: np.ndarray  # sorted terms
    indptr: np.ndarray  # postings of vocab[i]: rows/tf/tfc[indptr[i]:indptr[i+1]]
    rows: np.ndarray  # positions in the segment (same order as its vector ids)
    tf: np.ndarray
    tfc: np.ndarray  # tf / (tf + k1 * (1 - b + b * len / avg_len))
    lengths: np.ndarray

    @property
    def n(self) -> int:
        return len(self.lengths)

    # ---- building ----------------------------------------------------------------------
    @classmethod
    def build(cls, bodies: list[list[str]]) -> LexicalSegment:
        terms: dict[str, int] = {}
        rows, cols, tfs = [], [], []
        lengths = np.array([len(b) for b in bodies], dtype=np.int32)
        for pos, body in enumerate(bodies):
            counts: dict[str, int] = {}
            for t in body:
                counts[t] = counts.get(t, 0) + 1
            for t, c in counts.items():
                rows.append(pos)
                cols.append(terms.setdefault(t, len(terms)))
                tfs.append(c)
        vocab = np.array(sorted(terms), dtype=str) if terms else np.zeros(0, dtype="<U1")
        remap = np.empty(len(terms), dtype=np.int64)
        for new, t in enumerate(vocab):
            remap[terms[t]] = new
        return cls._from_triples(vocab, remap[np.array(cols, dtype=np.int64)] if cols else np.zeros(0, np.int64),
                                 np.array(rows, dtype=np.int32), np.array(tfs, dtype=np.uint16), lengths)

    @classmethod
    def _from_triples(cls, vocab, cols, rows, tf, lengths) -> LexicalSegment:
        order = np.lexsort((rows, cols))
        cols, rows, tf = cols[order], rows[order], tf[order]
        indptr = np.zeros(len(vocab) + 1, dtype=np.int64)
        np.add.at(indptr, cols + 1, 1)
        indptr = np.cumsum(indptr)
        avg = float(lengths.mean()) if len(lengths) and lengths.mean() > 0 else 1.0
        norm = K1 * (1 - B + B * lengths[rows] / avg)
        tfc = (tf / (tf + norm)).astype(np.float32)
        return cls(vocab, indptr, rows, tf, tfc, lengths)

    @classmethod
    def merge(cls, parts: list[tuple[LexicalSegment, np.ndarray]]) -> LexicalSegment:
        """One segment from (segment, keep mask over its positions) parts, in that order."""
        vocab = np.unique(np.concatenate([p.vocab for p, _ in parts])) if parts else np.zeros(0, "<U1")
        all_cols, all_rows, all_tf, all_len = [], [], [], []
        offset = 0
        for seg, keep in parts:
            new_pos = np.full(seg.n, -1, dtype=np.int64)
            new_pos[keep] = offset + np.arange(int(keep.sum()))
            term_of = np.repeat(np.searchsorted(vocab, seg.vocab), np.diff(seg.indptr))
            ok = keep[seg.rows]
            all_cols.append(term_of[ok])
            all_rows.append(new_pos[seg.rows[ok]].astype(np.int32))
            all_tf.append(np.asarray(seg.tf)[ok])
            all_len.append(np.asarray(seg.lengths)[keep])
            offset += int(keep.sum())
        cat = lambda xs, dt: np.concatenate(xs).astype(dt) if xs else np.zeros(0, dt)  # noqa: E731
        cols = cat(all_cols, np.int64)
        used = np.unique(cols)  # terms only the dropped chunks had are gone
        return cls._from_triples(vocab[used], np.searchsorted(used, cols), cat(all_rows, np.int32),
                                 cat(all_tf, np.uint16), cat(all_len, np.int32))

    # ---- files -------------------------------------------------------------------------
    _FILES = ("vocab", "indptr", "rows", "tf", "tfc", "lengths")

    def save(self, folder: Path) -> None:
        """Write the arrays (fsynced) into ``folder`` (a new, temporary folder the caller renames)."""
        folder.mkdir(parents=True, exist_ok=True)
        for name in self._FILES:
            with open(folder / f"{name}.npy", "wb") as f:
                np.save(f, getattr(self, name))
                f.flush()
                os.fsync(f.fileno())

    @classmethod
    def load(cls, folder: Path) -> LexicalSegment:
        return cls(*(load_npy(folder / f"{name}.npy", mmap_mode="r") for name in cls._FILES))

    # ---- searching ---------------------------------------------------------------------
    def postings(self, term: str) -> tuple[np.ndarray, np.ndarray]:
        i = int(np.searchsorted(self.vocab, term))
        if i >= len(self.vocab) or self.vocab[i] != term:
            return np.zeros(0, np.int32), np.zeros(0, np.float32)
        a, b = int(self.indptr[i]), int(self.indptr[i + 1])
        return self.rows[a:b], self.tfc[a:b]

    def doc_freqs(self) -> dict[str, int]:
        return dict(zip(self.vocab.tolist(), np.diff(self.indptr).tolist()))

    def scores(self, weights: dict[str, float], allowed: np.ndarray | None, n: int,
               avg_len: float | None = None) -> list[tuple[int, float]]:
        """Top ``n`` (position, BM25) for terms weighted by their IDF; ``allowed`` masks positions.
        ``avg_len``: the average chunk length over the whole index (all segments), so that every
        segment scores as one index would; without it, the segment's own (precomputed)."""
        if not self.n or not weights:
            return []
        acc = np.zeros(self.n, dtype=np.float32)
        touched = []
        for term, w in weights.items():
            i = int(np.searchsorted(self.vocab, term))
            if i >= len(self.vocab) or self.vocab[i] != term:
                continue
            a, b = int(self.indptr[i]), int(self.indptr[i + 1])
            rows = np.asarray(self.rows[a:b])
            if avg_len:
                tf = self.tf[a:b].astype(np.float32)
                acc[rows] += w * tf / (tf + K1 * (1 - B + B * self.lengths[rows] / avg_len))
            else:
                acc[rows] += w * self.tfc[a:b]
            touched.append(rows)
        if not touched:
            return []
        # the top n among the positions the postings touched (not a scan of every position): each
        # appears once per term at most, so the top n x terms of that list hold the top n positions
        cand = np.concatenate(touched)
        vals = acc[cand]
        if allowed is not None:
            vals[~allowed[cand]] = 0.0
        m = n * len(touched)
        if len(cand) > m:
            top = np.argpartition(-vals, m - 1)[:m]
            cand, vals = cand[top], vals[top]
        cand = np.unique(cand[vals > 0])
        hit = cand[np.argsort(-acc[cand], kind="stable")][:n]
        return [(int(p), float(acc[p])) for p in hit]
