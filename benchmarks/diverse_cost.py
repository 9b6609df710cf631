"""What putting different articles first costs, and what it changes, measured in one run on warm engines:

    python benchmarks/diverse_cost.py [--corpus ../shared/data/news-fullarticles-dev/corpus.jsonl]
        [--questions ../shared/data/news-fullarticles-dev/questions.jsonl] [--limit 400] [--json]

Two engines over the same index (the one ``qa eval`` caches for the corpus; built first if missing)
answer the same questions, taking turns question by question, the order swapped every question:

- ``score_order``: ``RetrievalConfig(diverse_top=1)``, ``AnswerConfig(same_article_passages=False)``:
  the passages in score order, the answerer reading the first five (as before the change);
- ``shipped``: the first five passages are the best of five different articles, and the answerer also
  reads the further passages of those articles among the ``k`` retrieved.

Prints p50 / p95 of the whole warm answer and of the retrieval and answer steps, the ratio
``shipped / score_order`` of the p50s (issue 27's bound: at most 1.2), how many answers have a
labelled evidence article among their first five passages under each (for questions that name their
evidence), and how many answer texts and abstentions differ.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from racing import eval_index, question_args, take_turns  # noqa: E402


def engines(corpus: Path) -> dict:
    from qa.config import AnswerConfig, RetrievalConfig
    from qa.engine import QA

    index = eval_index(corpus)
    return {"score_order": QA(location=index, retrieval=RetrievalConfig(diverse_top=1),
                              answering=AnswerConfig(same_article_passages=False)),
            "shipped": QA(location=index)}


def _evidence_in_top5(answers: list, questions: list[dict]) -> int:
    hits = 0
    for a, q in zip(answers, questions):
        gold = {e["doc_id"] if isinstance(e, dict) else e for e in q.get("evidence") or []}
        hits += bool(gold & {p.doc_id for p in a.passages[:5]})
    return hits


def race(engines: dict, questions: list[dict], warmup: int = 5) -> dict:
    answers = take_turns(engines, questions)
    names = ("score_order", "shipped")
    stat = {k: {step: [a.timings.get(step, 0.0) for a in answers[k][warmup:]] for step in ("total", "retrieve", "answer")}
            for k in names}
    s, o = answers["shipped"], answers["score_order"]
    with_evidence = [q.get("answerable", True) and bool(q.get("evidence")) for q in questions]
    pick = [n for n, w in enumerate(with_evidence) if w]
    return {
        "questions": len(questions) - warmup,
        **{f"{k}_p50_ms": round(float(np.median(stat[k]["total"])), 1) for k in names},
        **{f"{k}_p95_ms": round(float(np.percentile(stat[k]["total"], 95)), 1) for k in names},
        **{f"{k}_{step}_p50_ms": round(float(np.median(stat[k][step])), 1) for k in names for step in ("retrieve", "answer")},
        "p50_shipped_vs_score_order": round(float(np.median(stat["shipped"]["total"]))
                                            / float(np.median(stat["score_order"]["total"])), 3),
        "with_evidence": len(pick),
        **{f"{k}_evidence_in_top5": _evidence_in_top5([answers[k][n] for n in pick], [questions[n] for n in pick])
           for k in names},
        "texts_differ": sum(x.text != y.text for x, y in zip(s, o)),
        "abstentions_differ": sum(x.abstained != y.abstained for x, y in zip(s, o)),
    }


def main() -> int:
    parsed = question_args(__doc__, "news-fullarticles-dev")
    if parsed is None:
        return 0
    a, corpus, qs = parsed
    out = race(engines(corpus), qs)
    if a.json:
        print(json.dumps(out, indent=2))
    else:
        for k, v in out.items():
            print(f"{k:>34}: {v}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
