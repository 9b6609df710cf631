"""Warm answer latency on long documents (issue 9's "≤ 150 ms on long articles").

    python benchmarks/long_articles.py [--questions 200] [--json]

Indexes the five long texts of ../shared/data/chunking-eval (0.2–0.5 MB each; built once into
.cache/long-articles/) and asks its questions one after another on a warm engine (real MiniLM),
reporting p50 / p95 of the whole answer and of each stage, beside news-dev's short articles
measured in the same run (the eval cache's index, when present).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"


def _measure(engine, questions: list[dict], warmup: int = 5) -> dict:
    for q in questions[:warmup]:
        engine.ask(q["question"], as_of=q.get("as_of"))
    stages: dict[str, list[float]] = {}
    for q in questions[warmup:]:
        a = engine.ask(q["question"], as_of=q.get("as_of"))
        for k, v in a.timings.items():
            stages.setdefault(k, []).append(v)
    return {k: {"p50": round(float(np.percentile(v, 50)), 1), "p95": round(float(np.percentile(v, 95)), 1)}
            for k, v in stages.items() if k != "first_token"} | {"questions": len(questions) - warmup}


def long_engine(**kwargs):
    """A warm engine over the five long texts (indexed into .cache/long-articles/ the first time)."""
    from qa.engine import QA
    from qa.types import Article

    engine = QA(location=ROOT / ".cache" / "long-articles", **kwargs)
    if not len(engine.store):
        arts = [Article(id=p.stem, title=p.stem.replace("_", " "), text=p.read_text(encoding="utf-8"))
                for p in sorted((DATA / "chunking-eval" / "corpora").glob("*.md"))]
        t = time.perf_counter()
        engine.ingest(articles=arts)
        print(f"indexed {len(arts)} long texts in {time.perf_counter() - t:.0f} s", file=sys.stderr)
    return engine


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--questions", type=int, default=200)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    corpora = DATA / "chunking-eval" / "corpora"
    if not corpora.exists():
        print(f"{corpora} is absent", file=sys.stderr)
        return 0
    engine = long_engine()
    qs = [json.loads(x) for x in (DATA / "chunking-eval" / "questions.jsonl").read_text().splitlines() if x.strip()]
    out = {"long": _measure(engine, qs[: a.questions]), "chunks": len(engine.store.chunks)}
    from qa.engine import QA

    news = sorted((ROOT / ".cache" / "eval-index").glob("corpus-*/index.sqlite"))
    if news and (DATA / "news-dev" / "questions.jsonl").exists():
        nq = [json.loads(x) for x in (DATA / "news-dev" / "questions.jsonl").read_text().splitlines()[: a.questions]]
        out["news_dev"] = _measure(QA(location=news[0].parent, embedder=engine.embedder), nq)
    if a.json:
        print(json.dumps(out, indent=2))
    else:
        for name in ("long", "news_dev"):
            if name in out:
                r = out[name]
                print(f"{name:<9} " + " · ".join(f"{k} p50 {v['p50']} ms / p95 {v['p95']} ms"
                                                 for k, v in r.items() if isinstance(v, dict)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
