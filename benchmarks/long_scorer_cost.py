"""What the long-article sentence scorer costs, and what it changes, measured in one run on warm engines:

    python benchmarks/long_scorer_cost.py [--corpus ../shared/data/news-fullarticles-dev/corpus.jsonl]
        [--questions ../shared/data/news-fullarticles-dev/questions.jsonl] [--limit 400] [--json]

Two engines over the same index (the one ``qa eval`` caches for the corpus; built first if missing)
answer the same questions, taking turns question by question, the order swapped every question:

- ``common``:  ``AnswerConfig(long_sentence_weights={})``, every sentence chosen by the common scorer;
- ``shipped``: when the answer's article is long (``long_article_chars``), the long-article scorer
  chooses its sentence within it (``ExtractiveAnswerer.within_article``);
- ``eager``:   shipped with every candidate embedded (``lazy_embedding=False``): its answers must equal
  shipped's (the lazy passes keep both scorers' choices exact); not timed.

Prints p50 / p95 of the whole warm answer and of the answer step, the ratio ``shipped / common`` of the
p50s (issue 27's bound: at most 1.2), how many questions have a long top article, how many answer
texts and abstentions differ from ``common``, the largest confidence change (the confidence is the
common scorer's in both: it must be 0), and how many texts differ between shipped and eager (must be
0). Exits 1 when either must-be-0 is not.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from racing import eval_index, question_args, take_turns  # noqa: E402


def engines(corpus: Path) -> dict:
    from qa.config import AnswerConfig
    from qa.engine import QA

    index = eval_index(corpus)
    return {"common": QA(location=index, answering=AnswerConfig(long_sentence_weights={})),
            "shipped": QA(location=index),
            "eager": QA(location=index, answering=AnswerConfig(lazy_embedding=False))}


def race(engines: dict, questions: list[dict], warmup: int = 5) -> dict:
    answers = take_turns(engines, questions)
    total = {k: [a.timings["total"] for a in answers[k][warmup:]] for k in ("common", "shipped")}
    step = {k: [a.timings.get("answer", 0.0) for a in answers[k][warmup:]] for k in ("common", "shipped")}
    s, c = answers["shipped"], answers["common"]
    cfg = engines["shipped"].answer_config
    long_q = sum(1 for a in s if a.passages and len(engines["shipped"].article_text(a.passages[0].doc_id))
                 >= cfg.long_article_chars)
    return {
        "questions": len(questions) - warmup,
        **{f"{k}_p50_ms": round(float(np.median(v)), 1) for k, v in total.items()},
        **{f"{k}_p95_ms": round(float(np.percentile(v, 95)), 1) for k, v in total.items()},
        **{f"{k}_answer_step_p50_ms": round(float(np.median(v)), 1) for k, v in step.items()},
        "p50_shipped_vs_common": round(float(np.median(total["shipped"])) / float(np.median(total["common"])), 3),
        "long_top_article": long_q,
        "texts_differ": sum(x.text != y.text for x, y in zip(s, c)),
        "abstentions_differ": sum(x.abstained != y.abstained for x, y in zip(s, c)),
        "max_confidence_change": round(max((abs(x.confidence - y.confidence) for x, y in zip(s, c)), default=0.0), 6),
        "eager_texts_differ": sum(x.text != y.text for x, y in zip(s, answers["eager"])),
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
            print(f"{k:>28}: {v}")
    return 1 if out["max_confidence_change"] or out["eager_texts_differ"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
