"""The calibrated nprobe against others on one kept index: recall@10 over several query samples, and
the whole warm retrieval's time, the settings taking turns query by query in one process.

    python benchmarks/scale.py --sizes 1000000 --keep /tmp/scale     # once: the 1M stand-in index
    python benchmarks/nprobe.py --index /tmp/scale/index-1000000 [--nprobe 1000,1333] [--seeds 11,12,13,14] [--json]

The store's IVF-SQ8 segment is searched through the store's own path (``store.search_dense`` for
recall, ``Retriever.search`` -- dense and lexical, fusion, collapse; the query vector given -- for
time), with its ``nprobe`` set to each value in turn; default values: a quarter of the lists and
the calibrated one. Queries are the scale probe's (six words of a random chunk), one 200-query
sample per seed; recall is against exact search over the same vectors. Times come from the first
seed's sample, after one untimed pass, two timed passes.
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

from scale import StandInEmbedder, dense_recall, probe_queries  # noqa: E402


def main() -> int:
    import faiss

    from qa.engine import QA

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index", required=True, help="a kept index of benchmarks/scale.py (--keep)")
    ap.add_argument("--nprobe", help="comma-separated values (default: a quarter of the lists, and the calibrated)")
    ap.add_argument("--seeds", default="11,12,13,14", help="one 200-query sample per seed (11 is scale.py's)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    emb = StandInEmbedder()
    engine = QA(location=args.index, embedder=emb)
    store, retriever = engine.store, engine.retriever
    seg = next((s for s in store.segments if s.kind == "ivf-sq8"), None)
    if seg is None:
        sys.exit(f"{args.index} has no IVF-SQ8 segment (run qa compact on an index of 200,000+ chunks)")
    nlist, calibrated = faiss.extract_index_ivf(seg.index).nlist, seg.nprobe
    values = [int(x) for x in args.nprobe.split(",")] if args.nprobe else sorted({nlist // 4, calibrated})
    ids, vecs = store.vector_matrix()
    rows = {p: {"nprobe": p, "calibrated": p == calibrated, "recall@10": [], "ms": []} for p in values}
    for n, seed in enumerate(int(s) for s in args.seeds.split(",")):
        queries = probe_queries(store, np.random.default_rng(seed))
        qvecs = emb.encode(queries)
        for p in values:
            seg.nprobe = p
            rows[p]["recall@10"].append(round(dense_recall(store, qvecs, ids, vecs), 4))
        if n:
            continue
        for timed in (False, True, True):  # one untimed pass (pages, caches), then two timed ones
            for q, v in zip(queries, qvecs):
                for p in values:
                    seg.nprobe = p
                    t = time.perf_counter()
                    retriever.search(q, k=8, query_vec=v)
                    if timed:
                        rows[p]["ms"].append(1000 * (time.perf_counter() - t))
    seg.nprobe = calibrated
    out = [{"nprobe": r["nprobe"], "calibrated": r["calibrated"], "recall@10": r["recall@10"],
            "min_recall@10": min(r["recall@10"]), "retrieval_ms_p50": round(float(np.median(r["ms"])), 1),
            "retrieval_ms_p95": round(float(np.percentile(r["ms"], 95)), 1)} for r in rows.values()]
    if args.json:
        print(json.dumps({"nlist": nlist, "rows": out}, indent=2))
        return 0
    print(f"nlist {nlist}, calibrated nprobe {calibrated}; seeds {args.seeds}")
    print("| nprobe | recall@10 by sample | lowest | retrieval p50 / p95 ms |\n|---|---|---|---|")
    for r in out:
        mark = " (calibrated)" if r["calibrated"] else ""
        print(f"| {r['nprobe']:,}{mark} | {' / '.join(f'{x:.4f}' for x in r['recall@10'])} | {r['min_recall@10']:.4f} "
              f"| {r['retrieval_ms_p50']} / {r['retrieval_ms_p95']} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
