"""Can another FAISS index reach recall@10 >= 0.95 within the 30 ms retrieval budget at 1M chunks?

    python benchmarks/scale.py --sizes 1000000 --keep /tmp/scale     # once: the 1M stand-in index
    python benchmarks/ann_options.py --index /tmp/scale/index-1000000 [--hnsw-subset 200000] [--json]

The store's large segments are IVF-SQ8 (nlist = 4·sqrt(n)) whose candidates are re-ranked exactly
from the segment's float32 vectors, the probed lists split over two threads, nprobe calibrated
at build time (qa/stores/ann.py). The 1M stand-in corpus (feature-hashed words: no cluster structure)
is the hard case: the probe's queries -- six words of a random chunk -- sit far from every
vector. This measures, on the same vectors and the same 200 queries, one FAISS thread per
calling thread (as in the query path):

- the queries' median top-1 cosine (real news-dev questions on real MiniLM vectors: 0.63);
- the calibration's own query kinds on this index: a vector moved by noise (norm 0.25, 1.0 and
  1.33, the builder's) and leave-one-out (a vector's ten nearest others);
- the store's index (IVF-SQ8 + re-rank, two threads) at 1/4 ... 1x the calibrated nprobe, and at
  the calibrated nprobe on one thread;
- IVF-Flat on the same coarse lists (the store's index of the previous release);
- IVF-PQ 4-bit fast-scan (96 sub-quantisers), best 200 re-ranked exactly;
- HNSW (M = 32, efConstruction 40) built over a random subset (a 1M build takes far longer).

Recall is against exact search over the same vectors. Times are per query (p50), search only.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from scale import StandInEmbedder, probe_queries  # noqa: E402

from qa.config import ChunkingConfig  # noqa: E402
from qa.stores import ann  # noqa: E402
from qa.stores import manifest_of, open_store  # noqa: E402
from qa.stores.segments import reconstruct  # noqa: E402


def recall(got, truth) -> float:
    return round(float(np.mean([len(set(np.asarray(g).tolist()) & set(t.tolist())) / 10
                                for g, t in zip(got, truth)])), 4)


def p50_ms(fn, queries: np.ndarray) -> float:
    fn(queries[:20])  # warm
    times = []
    for i in range(len(queries)):
        t0 = time.perf_counter()
        fn(queries[i:i + 1])
        times.append(1000 * (time.perf_counter() - t0))
    return round(float(np.median(times)), 2)


def main() -> int:
    import faiss

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--index", required=True, help="a kept index folder with an IVF segment (1M stand-in)")
    ap.add_argument("--hnsw-subset", type=int, default=200_000)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    m = manifest_of(Path(a.index))
    store = open_store(Path(a.index), m.model, m.dim, ChunkingConfig())
    seg = next((s for s in store.segments if s.kind == "ivf-sq8"), None)
    if seg is None:
        raise SystemExit(f"{a.index} has no IVF-SQ8 segment: build a 1M index with benchmarks/scale.py --keep "
                         f"(or `qa --index {a.index} compact` one from an earlier release)")
    ivf = faiss.extract_index_ivf(seg.index)
    rng = np.random.default_rng(11)
    q = StandInEmbedder().encode(probe_queries(store, rng)).astype(np.float32)
    ids = seg.ids
    vecs = reconstruct(seg, ids)
    order = np.argsort(ids)
    row_at = lambda c: order[np.searchsorted(ids, c, sorter=order)]  # noqa: E731

    def store_search(x, p):
        return [ann.ivf_search(seg.index, vecs, row_at, v, 10, p)[1] for v in x]
    faiss.omp_set_num_threads(2)
    top, pos = faiss.knn(q, vecs, 10, metric=faiss.METRIC_INNER_PRODUCT)
    truth = ids[pos]
    out: dict = {"vectors": len(ids), "nlist": ivf.nlist, "calibrated_nprobe": seg.nprobe,
                 "query_top1_cosine_median": round(float(np.median(top[:, 0])), 3), "calibration_kinds": {}}
    print(f"{len(ids):,} vectors, nlist {ivf.nlist}, calibrated nprobe {seg.nprobe}; "
          f"queries' median top-1 cosine {out['query_top1_cosine_median']}", file=sys.stderr, flush=True)

    # what the builder's calibration sees on this index
    own = vecs[rng.choice(len(vecs), 200, replace=False)]
    for sigma in (0.25, 1.0, ann.CALIBRATION_NOISE):
        qn = own + rng.normal(0, sigma / np.sqrt(own.shape[1]), own.shape).astype(np.float32)
        qn /= np.linalg.norm(qn, axis=1, keepdims=True)
        t = ids[faiss.knn(qn, vecs, 10, metric=faiss.METRIC_INNER_PRODUCT)[1]]
        out["calibration_kinds"][f"noise {sigma}"] = recall(store_search(qn, seg.nprobe), t)
    t11 = ids[faiss.knn(own, vecs, 11, metric=faiss.METRIC_INNER_PRODUCT)[1]]
    got = [ann.ivf_search(seg.index, vecs, row_at, v, 11, seg.nprobe)[1] for v in own]
    out["calibration_kinds"]["leave-one-out"] = recall([g[1:] for g in got], np.array([t[1:] for t in t11]))
    print(f"calibration kinds at nprobe {seg.nprobe}: {out['calibration_kinds']}", file=sys.stderr, flush=True)

    faiss.omp_set_num_threads(1)  # as the query path
    rows = out["rows"] = []

    def row(kind: str, setting: str, got, ms: float) -> None:
        rows.append({"index": kind, "setting": setting, "recall@10": recall(got, truth), "p50_ms": ms})
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)

    probes = sorted({max(1, seg.nprobe * k // 4) for k in (1, 2, 3, 4)})  # 250 ... 1000 at 1M
    for p in probes:
        row("IVF-SQ8 + re-rank, two threads (the store's)", f"nprobe {p}", store_search(q, p),
            p50_ms(lambda x: store_search(x, p), q))
    split, ann.SPLIT_FROM = ann.SPLIT_FROM, 10 ** 9
    row("IVF-SQ8 + re-rank, one thread", f"nprobe {seg.nprobe}", store_search(q, seg.nprobe),
        p50_ms(lambda x: store_search(x, seg.nprobe), q))
    ann.SPLIT_FROM = split

    def reranked(index, x, p, k):
        cand = index.search(x, k, params=faiss.SearchParametersIVF(nprobe=p))[1]
        res = []
        for c, v in zip(cand, x):
            c = c[c >= 0]
            res.append(c[np.argsort(-(vecs[order[np.searchsorted(ids, c, sorter=order)]] @ v))[:10]])
        return res

    faiss.omp_set_num_threads(2)
    sample = vecs[rng.choice(len(vecs), min(len(vecs), 100_000), replace=False)]
    flat = faiss.IndexIVFFlat(ivf.quantizer, ivf.d, ivf.nlist, faiss.METRIC_INNER_PRODUCT)
    flat.add_with_ids(vecs, ids)  # the coarse quantizer is trained: no training here
    quant = faiss.IndexFlatIP(ivf.d)
    quant.add(ivf.quantizer.reconstruct_n(0, ivf.nlist))
    pq = faiss.IndexIVFPQFastScan(quant, ivf.d, ivf.nlist, 96, 4, faiss.METRIC_INNER_PRODUCT)
    pq.train(sample)
    pq.add_with_ids(vecs, ids)
    faiss.omp_set_num_threads(1)
    for p in probes:
        params = faiss.SearchParametersIVF(nprobe=p)
        row("IVF-Flat, one thread (the previous release's)", f"nprobe {p}", flat.search(q, 10, params=params)[1],
            p50_ms(lambda x: flat.search(x, 10, params=params), q))
    for p in (probes[0], probes[-1]):
        row("IVF-PQ4 fast-scan + re-rank 200", f"nprobe {p}", reranked(pq, q, p, 200),
            p50_ms(lambda x: reranked(pq, x, p, 200), q))
    del flat, pq

    n = min(a.hnsw_subset, len(ids))
    sub = np.sort(rng.choice(len(ids), n, replace=False))
    faiss.omp_set_num_threads(2)
    truth_sub = ids[sub][faiss.knn(q, vecs[sub], 10, metric=faiss.METRIC_INNER_PRODUCT)[1]]
    hnsw = faiss.IndexHNSWFlat(ivf.d, 32, faiss.METRIC_INNER_PRODUCT)
    hnsw.hnsw.efConstruction = 40
    index = faiss.IndexIDMap2(hnsw)
    t0 = time.perf_counter()
    index.add_with_ids(np.ascontiguousarray(vecs[sub]), ids[sub])
    out["hnsw_build_s"] = round(time.perf_counter() - t0, 1)
    faiss.omp_set_num_threads(1)
    for ef in (64, 256, 512):
        hnsw.hnsw.efSearch = ef
        got = index.search(q, 10)[1]
        rows.append({"index": f"HNSW M=32 over {n:,}", "setting": f"efSearch {ef}",
                     "recall@10": recall(got, truth_sub), "p50_ms": p50_ms(lambda x: index.search(x, 10), q)})
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    if a.json:
        print(json.dumps(out, indent=2))
    else:
        print("| index | setting | recall@10 | search p50 ms |\n|---|---|---|---|")
        for r in rows:
            print(f"| {r['index']} | {r['setting']} | {r['recall@10']} | {r['p50_ms']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
