"""Vector indexes of one segment: exact while small, IVF-SQ8 with an exact re-rank when large.

- **flat** (fewer than ``QA_ANN_MIN`` vectors, default 200,000): ``IndexFlatIP`` -- exact, memory-mapped from disk.
- **ivf-sq8** (from ``QA_ANN_MIN`` vectors): an inverted file (nlist = 4·sqrt(n) lists) over 8-bit
  scalar-quantised codes (a quarter of the bytes of float32 to scan), searched for more
  candidates than asked, which are then re-ranked by their exact inner product read from the
  segment's float32 vectors (``seg-N.vec.npy``, read with ``pread``, see ``VectorFile``: only
  the candidates' rows are read). The probed lists are split between two threads (the query path's FAISS runs on one
  OpenMP thread per calling thread; FAISS releases the GIL while it scans).
- **ivf** (IVF-Flat, written by earlier releases): still read and searched.

**Calibration.** nprobe is the smallest (of 8, 16, …, a quarter and a third of the lists) whose recall@10,
through this very search path, reaches ``ANN_RECALL`` against exact search for 200 queries made
from the segment's own vectors moved by noise to a cosine of ~0.6 from where they started -- as
far as real questions sit from their best chunk (news-dev questions on MiniLM: median top-1
cosine 0.63; on those real vectors the two recalls agree within a point at every nprobe, see
``benchmarks/ann_real.py``). The target is 0.99 so that queries farther out than that still
find ≥ 0.95 (the 1M stand-in benchmark's queries: cosine 0.46). A third of the lists is a
candidate because a quarter can fall just short: on the 1M stand-in vectors a quarter reaches
0.987 on the calibration queries and 0.955-0.962 on four samples of the benchmark's queries, a
third 0.997 and 0.969-0.975, scanning 41 % of the codes instead of 32 % (the lists are uneven).
When no candidate reaches the target, a third of the lists is used if that reaches
``ANN_RECALL_FLOOR``; below that (vectors without cluster structure: probing most lists would be
slower than exact search) the segment stays flat.

Why FAISS IVF and not HNSW: measured on the 1M stand-in corpus (``benchmarks/ann_options.py``),
HNSW reached recall 0.80 at efSearch 512 on 200k of the same vectors and takes far longer to
build; IVF's lists also take new segments' merges without a graph rebuild.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import faiss
import numpy as np

from ..config import settings

ANN_RECALL = 0.99  # nprobe is the smallest reaching this recall@10 on the calibration queries
ANN_RECALL_FLOOR = 0.95  # ... else a third of the lists, if that reaches this; else exact search
CALIBRATION_NOISE = 1.33  # noise norm: a query's cosine to the vector it came from is ~0.6
SPLIT_FROM = 64  # probes from which a query's lists are scanned by two threads
RERANK_MIN = 40  # candidates re-ranked exactly, at least (per thread)
_PROBES = ThreadPoolExecutor(max_workers=4, thread_name_prefix="qa-probe")


class VectorFile:
    """The float32 rows of a segment's ``.vec.npy``, read with ``pread``: only the rows asked for
    reach the process. (A memory map was tried: numpy's fancy indexing on it left the whole 1.5 GB
    file of the 1M index resident after 50 questions, counted in the serving process's RSS.)"""

    def __init__(self, path: str):
        header = np.load(path, mmap_mode="r")  # reads the header only
        if header.dtype != np.float32 or header.ndim != 2:
            raise ValueError(f"{path}: float32 rows expected, found {header.dtype} {header.shape}")
        self.path, self.shape, self._offset = path, header.shape, header.offset
        del header
        self._row = self.shape[1] * 4
        self._fd = os.open(path, os.O_RDONLY)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, rows) -> np.ndarray:
        """One row (an integer) or rows (an integer array), as a new float32 array."""
        if np.ndim(rows) == 0:
            return self[np.array([rows])][0]
        rows = np.asarray(rows, dtype=np.int64)
        if len(rows) > 4096:  # bulk (a merge, a benchmark): a short-lived map is faster than many reads
            return np.array(np.load(self.path, mmap_mode="r")[rows])
        buf = b"".join(os.pread(self._fd, self._row, self._offset + int(r) * self._row) for r in rows)
        return np.frombuffer(buf, np.float32).reshape(len(rows), self.shape[1]).copy()

    def __del__(self):
        fd = getattr(self, "_fd", None)
        if fd is not None:
            os.close(fd)


@dataclass
class Built:
    kind: str  # "flat" or "ivf-sq8"
    index: faiss.Index
    nprobe: int = 0
    recall: float | None = None


def exact_index(vecs: np.ndarray, ids: np.ndarray) -> faiss.Index:
    index = faiss.IndexIDMap2(faiss.IndexFlatIP(vecs.shape[1]))
    index.add_with_ids(vecs, ids)
    return index


def build(vecs: np.ndarray, ids: np.ndarray) -> Built:
    """Exact (flat) below ``QA_ANN_MIN`` vectors; IVF-SQ8 above, with nprobe calibrated (module doc).
    ``vecs`` (rows aligned with ``ids``) are also the re-rank vectors the caller stores."""
    n, d = vecs.shape
    if n < settings().ann_min:  # QA_ANN_MIN: vectors from which a merged segment is IVF
        return Built("flat", exact_index(vecs, ids))
    nlist = int(4 * np.sqrt(n))
    rng = np.random.default_rng(0)
    sample = vecs[rng.choice(n, size=min(n, 100 * nlist), replace=False)]
    # coarse lists: spherical k-means on 100 vectors per list (on the 1M stand-in, 40 per list
    # with FAISS's default training held 0.9495 of the true top 10 in 1,000 probed lists; this, 0.9575)
    kmeans = faiss.Kmeans(d, nlist, niter=10, spherical=True, seed=1, max_points_per_centroid=100)
    kmeans.train(sample)
    quantizer = faiss.IndexFlatIP(d)
    quantizer.add(kmeans.centroids)
    index = faiss.IndexIVFScalarQuantizer(quantizer, d, nlist, faiss.ScalarQuantizer.QT_8bit,
                                          faiss.METRIC_INNER_PRODUCT)
    index.train(sample)  # the coarse quantizer is trained already: only the codes' ranges are fitted
    del sample
    index.add_with_ids(vecs, ids)
    q = vecs[rng.choice(n, size=min(n, 200), replace=False)]
    q = q + rng.normal(0, CALIBRATION_NOISE / np.sqrt(d), q.shape).astype(np.float32)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    _, truth = faiss.knn(q, vecs, 10, metric=faiss.METRIC_INNER_PRODUCT)  # exact, without copying vecs
    truth = ids[truth]
    order = np.argsort(ids)
    rows = lambda c: order[np.searchsorted(ids, c, sorter=order)]  # noqa: E731
    candidates = sorted({p for p in (8, 16, 32, 64, 128, 256, 512) if p < nlist // 4}
                        | {max(1, nlist // 4), max(1, nlist // 3)})
    r, threads = 0.0, faiss.omp_get_max_threads()
    try:
        for p in candidates:
            got = [ivf_search(index, vecs, rows, x, 10, p)[1] for x in q]
            r = float(np.mean([len(set(a.tolist()) & set(b.tolist())) / 10 for a, b in zip(got, truth)]))
            if r >= ANN_RECALL:
                return Built("ivf-sq8", index, p, r)
    finally:  # the query path's one thread must not outlive the calibration (an ingest embeds next)
        faiss.omp_set_num_threads(threads)
    if r >= ANN_RECALL_FLOOR:  # a third of the lists came close: still far cheaper than exact search
        return Built("ivf-sq8", index, candidates[-1], r)
    del index  # these vectors do not cluster: probing most lists would be slower than exact search
    return Built("flat", exact_index(vecs, ids))


def _scan(index: faiss.IndexIVF, q: np.ndarray, k: int, lists: np.ndarray, dists: np.ndarray,
          sel: faiss.IDSelector | None) -> np.ndarray:
    """Ids of the best ``k`` codes in ``lists`` (one query), one OpenMP thread in this thread."""
    faiss.omp_set_num_threads(1)
    lists, dists = np.ascontiguousarray(lists[None]), np.ascontiguousarray(dists[None])
    D, I = np.empty((1, k), np.float32), np.empty((1, k), np.int64)
    params = faiss.SearchParametersIVF(nprobe=lists.shape[1])
    if sel is not None:
        params.sel = sel
    index.search_preassigned_c(1, faiss.swig_ptr(q), k, faiss.swig_ptr(lists), faiss.swig_ptr(dists),
                               faiss.swig_ptr(D), faiss.swig_ptr(I), False, params)
    return I[0]


def ivf_search(index: faiss.IndexIVF, vectors: np.ndarray | VectorFile, rows, q: np.ndarray, n: int, nprobe: int,
               sel: faiss.IDSelector | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Top ``n`` (scores, ids) for one query vector: the ``nprobe`` nearest lists' codes (split over
    two threads from ``SPLIT_FROM`` probes), then the candidates re-ranked by their exact inner
    product. ``vectors[rows(ids)]`` are the candidates' float32 vectors; ``sel`` filters ids."""
    q = np.ascontiguousarray(q.reshape(1, -1), dtype=np.float32)
    faiss.omp_set_num_threads(1)
    dists, lists = index.quantizer.search(q, nprobe)
    k = max(n, RERANK_MIN)  # codes rank approximately: re-rank more than asked
    if nprobe >= SPLIT_FROM:  # interleaved halves: both get near and far lists alike
        other = _PROBES.submit(_scan, index, q, k, lists[0, 1::2], dists[0, 1::2], sel)
        cand = np.concatenate([_scan(index, q, k, lists[0, ::2], dists[0, ::2], sel), other.result()])
    else:
        cand = _scan(index, q, k, lists[0], dists[0], sel)
    cand = np.unique(cand[cand >= 0])
    if not len(cand):
        return np.zeros(0, np.float32), np.zeros(0, np.int64)
    exact = np.asarray(vectors[rows(cand)], dtype=np.float32) @ q[0]
    best = np.argsort(-exact)[:n]
    return exact[best], cand[best]
