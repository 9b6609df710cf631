"""The sentence-vector cache (qa.answer.SentenceVectors): same answers, less time.

    python benchmarks/sentence_cache.py [--questions 400]

Asks the first N news-dev questions (with their as_of) on a warm engine over the eval cache's
index, once with the cache disabled (size 0) and once with it, and prints how many answers or
confidences differ, the hit rate and p50 / p95 per question.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
NEWS = ROOT.parent / "shared" / "data" / "news-dev"


def run(index: Path, questions: list[dict], size: int):
    from qa.engine import QA

    e = QA(index_dir=index)
    e.sentence_vectors.size = size
    for q in questions[:5]:
        e.ask(q["question"], as_of=q.get("as_of"))
    out, ms = [], []
    for q in questions:
        a = e.ask(q["question"], as_of=q.get("as_of"))
        out.append((a.text, a.abstained, round(a.confidence, 4)))
        ms.append(a.timings["total"])
    return out, np.array(ms), e.sentence_vectors


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--questions", type=int, default=400)
    a = ap.parse_args()
    index = sorted((ROOT / ".cache" / "eval-index").glob("corpus-*/index.sqlite"))
    if not (NEWS / "questions.jsonl").exists() or not index:
        print("needs ../shared/data/news-dev and its eval index (make eval-newsdev builds it)", file=sys.stderr)
        return 0
    qs = [json.loads(x) for x in (NEWS / "questions.jsonl").read_text().splitlines()[: a.questions]]
    off, t_off, _ = run(index[0].parent, qs, 0)
    on, t_on, cache = run(index[0].parent, qs, 50_000)
    differ = sum(x != y for x, y in zip(off, on))
    print(f"{len(qs)} questions: {differ} answers or confidences differ; {cache.hits} sentences reused, "
          f"{cache.misses} embedded; p50 {np.median(t_off):.1f} -> {np.median(t_on):.1f} ms, "
          f"p95 {np.percentile(t_off, 95):.1f} -> {np.percentile(t_on, 95):.1f} ms")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
