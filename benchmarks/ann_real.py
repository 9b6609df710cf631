"""Does the IVF index's build-time calibration hold for real questions on real MiniLM vectors?

    python benchmarks/ann_real.py [--json]

``qa.store._build_index`` picks nprobe as the smallest reaching recall@10 >= ``ANN_RECALL`` on
queries made from the segment's own vectors (moved by a little noise), because at build time no
real question exists. benchmarks/scale.py measures the ANN index at 1M chunks with stand-in
hashing vectors, which do not cluster like a real model's, so there the calibration does not carry
over to its queries. This checks the calibration where it matters, on real vectors: every sentence
of the news-dev articles and overlapping three-sentence windows (about 19k distinct texts),
embedded with the shipped model (cached under .cache/ann-real/), indexed by the store's own
builder with IVF forced (nlist = 4·sqrt(n)), and searched with the 2,094 real news-dev questions.
Prints the calibrated nprobe and its calibration recall beside the recall@10 of the real
questions against exact search at that nprobe and at the others.
"""
from __future__ import annotations

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
    a = ap.parse_args()
    if not (NEWS / "corpus.jsonl").exists():
        print(f"{NEWS} is absent", file=sys.stderr)
        return 0
    import faiss

    import qa.store as store

    chunks, questions = vectors()
    ids = np.arange(len(chunks), dtype=np.int64)
    store.ANN_MIN = 1000  # force the IVF path at this size
    kind, index, nprobe, calibration = store._build_index(chunks, ids)
    assert kind == "ivf", "the calibration found no nprobe (the vectors did not cluster)"
    _, truth = faiss.knn(questions, chunks, 10, metric=faiss.METRIC_INNER_PRODUCT)
    out = {"vectors": len(chunks), "questions": len(questions), "nlist": faiss.extract_index_ivf(index).nlist,
           "calibrated_nprobe": nprobe, "calibration_recall@10": round(calibration, 4), "real_question_recall@10": {}}
    for p in (8, 16, 32, 64, 128):
        _, got = index.search(questions, 10, params=faiss.SearchParametersIVF(nprobe=p))
        out["real_question_recall@10"][p] = round(float(np.mean([len(set(g) & set(t)) / 10
                                                                 for g, t in zip(got, truth)])), 4)
    if a.json:
        print(json.dumps(out, indent=2))
    else:
        print(f"{out['vectors']:,} real vectors, nlist {out['nlist']}: calibrated nprobe {nprobe} "
              f"(calibration recall@10 {out['calibration_recall@10']}); real questions' recall@10 by nprobe: "
              + ", ".join(f"{p}: {r}" for p, r in out["real_question_recall@10"].items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
