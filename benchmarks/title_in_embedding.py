"""Does putting the article title into the embedded text help retrieval? (news-dev)

    python benchmarks/title_in_embedding.py [--limit-docs N]

Builds two indexes of ../shared/data/news-dev (title_in_embedding on/off), then measures
dense-only and pipeline retrieval (with as_of) on the answerable questions.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from qa.config import ChunkingConfig
from qa.engine import QA
from qa.evaluation import load_questions, rank_of_gold, retrieval_metrics
from qa.retrieval import Filters

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "news-dev"


def main() -> int:
    if not DATA.exists():
        print(f"skipped: {DATA} is absent")
        return 0
    ap = argparse.ArgumentParser()
    ap.add_argument("--every", type=int, default=2, help="use every n-th answerable question")
    args = ap.parse_args()
    qs = [q for q in load_questions(DATA / "questions.jsonl") if q.answerable][:: args.every]
    for title in (False, True):
        with tempfile.TemporaryDirectory() as d:
            e = QA(location=d, chunking=ChunkingConfig(title_in_embedding=title))
            t = time.perf_counter()
            e.ingest([DATA / "corpus.jsonl"])
            build = time.perf_counter() - t
            vecs = e.embedder.encode([q.question for q in qs])
            for mode in ("dense", "hybrid"):
                for as_of in (False, True):
                    ranks = [rank_of_gold([p.doc_id for p in e.retriever.search(
                        q.question, k=10, filters=Filters(as_of=q.as_of if as_of else None), mode=mode,
                        query_vec=v)], set(q.evidence_ids)) for q, v in zip(qs, vecs)]
                    m = retrieval_metrics(ranks)
                    print(f"title_in_embedding={title!s:<5} {mode:<6} as_of={as_of!s:<5} " +
                          " ".join(f"{k}={v:.3f}" for k, v in m.items()) + f"  (index build {build:.0f}s)")
                    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
