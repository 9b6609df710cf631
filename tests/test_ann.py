"""IVF-SQ8 segments (qa/stores/ann.py): calibrated nprobe, recall, exact re-rank, two-thread scans.
"""
import faiss
import numpy as np

from qa.stores import ann


def _clustered_vectors(rng: np.random.Generator) -> np.ndarray:
    """6,000 unit vectors around 40 centres in 32 dimensions: the kind IVF calibrates on."""
    centers = rng.normal(size=(40, 32))
    vecs = (centers[rng.integers(0, 40, 6000)] + rng.normal(scale=0.6, size=(6000, 32))).astype(np.float32)
    return vecs / np.linalg.norm(vecs, axis=1, keepdims=True)


def test_large_segments_get_an_ivf_sq8_index_with_measured_recall(monkeypatch):
    monkeypatch.setenv("QA_ANN_MIN", "2000")
    rng = np.random.default_rng(1)
    vecs = _clustered_vectors(rng)
    ids = np.arange(10, 6010, dtype=np.int64)
    faiss.omp_set_num_threads(2)
    built = ann.build(vecs, ids)
    assert faiss.omp_get_max_threads() == 2  # the calibration's one-thread searches leave the writer's setting
    assert built.kind == "ivf-sq8" and built.recall >= ann.ANN_RECALL and 0 < built.nprobe <= built.index.nlist // 3
    q = vecs[:50] + rng.normal(scale=0.05, size=(50, 32)).astype(np.float32)
    rows = lambda c: np.asarray(c) - 10  # noqa: E731
    truth = ids[(q @ vecs.T).argsort(axis=1)[:, ::-1][:, :10]]
    for nprobe in (built.nprobe, ann.SPLIT_FROM):  # one thread, and the lists split over two
        got = [ann.ivf_search(built.index, vecs, rows, x, 10, nprobe) for x in q]
        assert np.mean([len(set(g[1].tolist()) & set(t.tolist())) / 10 for g, t in zip(got, truth)]) >= 0.9
        for (scores, found), x in zip(got, q):  # the scores are exact inner products, best first
            assert np.allclose(scores, vecs[found - 10] @ x, atol=1e-5) and np.all(np.diff(scores) <= 0)
    odd = faiss.IDSelectorBatch(ids[1::2])  # a filter: only odd positions may come back
    scores, found = ann.ivf_search(built.index, vecs, rows, q[0], 10, ann.SPLIT_FROM, odd)
    assert len(found) == 10 and all((f - 10) % 2 == 1 for f in found)


def test_a_third_of_the_lists_is_probed_when_a_quarter_falls_short(monkeypatch):
    """The calibration's candidates go up to a third of the lists: where every smaller nprobe misses the
    recall target (here forced: their searches return nothing right), the third is tried last and
    chosen."""
    monkeypatch.setenv("QA_ANN_MIN", "2000")
    vecs = _clustered_vectors(np.random.default_rng(1))
    real, tried = ann.ivf_search, set()

    def short_below_a_third(index, vectors, rows, q, n, nprobe, sel=None):
        tried.add(nprobe)
        scores, found = real(index, vectors, rows, q, n, nprobe, sel)
        return (scores, found) if nprobe >= index.nlist // 3 else (scores, found + 10**6)

    monkeypatch.setattr(ann, "ivf_search", short_below_a_third)
    built = ann.build(vecs, np.arange(6000, dtype=np.int64))
    nlist = built.index.nlist
    assert built.kind == "ivf-sq8" and built.nprobe == nlist // 3 and built.recall >= ann.ANN_RECALL
    assert nlist // 4 in tried and max(tried) == nlist // 3


def test_vectors_that_do_not_cluster_stay_exact(monkeypatch):
    """Where no nprobe up to a third of the lists reaches the recall target, an IVF index would be
    slower than exact search: the segment stays flat."""
    monkeypatch.setenv("QA_ANN_MIN", "2000")
    rng = np.random.default_rng(2)
    vecs = rng.normal(size=(4000, 64)).astype(np.float32)  # uniform on the sphere: no clusters
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    built = ann.build(vecs, np.arange(4000, dtype=np.int64))
    assert built.kind == "flat" and built.nprobe == 0 and built.index.ntotal == 4000
