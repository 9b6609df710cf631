"""What the extractive answerer's two savings buy, measured in one run on a warm engine:

    python benchmarks/answer_speed.py [--questions 400] [--json]

Three engines over the same index answer the same questions, taking turns question by question (so
a busy machine slows all three alike):

- ``plain``:  every candidate sentence embedded per question, and each sentence read with the one
  before it embedded again as one text (the answerer before both savings);
- ``cache``:  sentence vectors reused across questions (qa.answer.SentenceVectors);
- ``shipped``: the cache, and the pair's vector taken as the normalised sum of the two sentences'
  vectors (``AnswerConfig.pair_vectors="sum"``).

On news-dev (the eval cache's index) and on the five long texts of chunking-eval (see
long_articles.py). Prints p50 / p95 of the whole warm answer, ratios against ``plain``, and how
many answer texts and abstentions differ from ``plain`` (and the largest confidence change):
``cache`` must change nothing.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from long_articles import DATA, ROOT, long_engine  # noqa: E402

VARIANTS = ("plain", "cache", "shipped")


def engines(make) -> dict:
    from qa.config import AnswerConfig

    out = {"plain": make(answering=AnswerConfig(pair_vectors="embed")),
           "cache": make(answering=AnswerConfig(pair_vectors="embed"))}
    out["plain"].sentence_vectors.size = 0
    out["shipped"] = make(answering=AnswerConfig())
    return out


def race(engines: dict, questions: list[dict], warmup: int = 5) -> dict:
    answers: dict[str, list] = {k: [] for k in engines}
    ms: dict[str, list[float]] = {k: [] for k in engines}
    for n, q in enumerate(questions):
        for name, e in engines.items():
            a = e.ask(q["question"], as_of=q.get("as_of"))
            answers[name].append((a.text, a.abstained, a.confidence))
            if n >= warmup:
                ms[name].append(a.timings["total"])
    base = float(np.median(ms["plain"]))
    return {name: {"p50_ms": round(float(np.median(v)), 1), "p95_ms": round(float(np.percentile(v, 95)), 1),
                   "p50_vs_plain": round(float(np.median(v)) / base, 3),
                   "texts_differ": sum(x[0] != y[0] for x, y in zip(answers[name], answers["plain"])),
                   "abstentions_differ": sum(x[1] != y[1] for x, y in zip(answers[name], answers["plain"])),
                   "max_confidence_change": round(max(abs(x[2] - y[2]) for x, y in zip(answers[name], answers["plain"])), 4)}
            for name, v in ms.items()} | {"questions": len(questions) - warmup}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--questions", type=int, default=400)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    from qa.engine import QA

    out = {}
    news = sorted((ROOT / ".cache" / "eval-index").glob("corpus-*/index.sqlite"))
    if news and (DATA / "news-dev" / "questions.jsonl").exists():
        qs = [json.loads(x) for x in (DATA / "news-dev" / "questions.jsonl").read_text().splitlines()[: a.questions]]
        out["news_dev"] = race(engines(lambda **kw: QA(location=news[0].parent, **kw)), qs)
    else:
        print("news-dev skipped: needs ../shared/data/news-dev and its eval index (make eval-newsdev)", file=sys.stderr)
    if (DATA / "chunking-eval" / "corpora").exists():
        qs = [json.loads(x) for x in (DATA / "chunking-eval" / "questions.jsonl").read_text().splitlines() if x.strip()]
        out["long"] = race(engines(long_engine), qs[: a.questions])
    if a.json:
        print(json.dumps(out, indent=2))
    else:
        for corpus, r in out.items():
            print(f"{corpus} ({r['questions']} questions): " + " · ".join(
                f"{k} p50 {r[k]['p50_ms']} ms (x{r[k]['p50_vs_plain']}) p95 {r[k]['p95_ms']} ms, "
                f"{r[k]['texts_differ']} texts / {r[k]['abstentions_differ']} abstentions differ" for k in VARIANTS))
    return 1 if any(r["cache"]["texts_differ"] or r["cache"]["max_confidence_change"] for r in out.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
