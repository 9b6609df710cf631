"""What corroboration costs, and what it changes, measured in one run on warm engines:

    python benchmarks/corroboration_cost.py [--corpus ../shared/data/news-dev/corpus.jsonl]
        [--questions ../shared/data/news-dev/questions.jsonl] [--limit 400] [--json]

Two engines over the same index (the one ``qa eval`` caches for the corpus; it is built first if
missing) answer the same questions, taking turns question by question, the order swapped every
question (so a busy machine, and a warm page cache, slow both alike):

- ``off``: ``engine.corroboration = None`` (the answer and its verification only);
- ``on``:  the shipped engine (corroboration and conflicts over the candidates retrieval scored).

Prints p50 / p95 of the whole warm answer and of the corroboration step, the ratio ``on / off`` of the
p50s (issue 26's target: at most 1.2), how many answer texts and abstentions differ (corroboration
changes an answer only when it leads with a majority value against the answer's own citation), the
share of answers with a value, their mean number of outlets, and how many carry a conflict or a
revision (on an unaltered corpus every conflict is a candidate false alarm: read them).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from racing import eval_index, question_args, take_turns  # noqa: E402


def engines(corpus: Path) -> dict:
    from qa.engine import QA

    index = eval_index(corpus)
    off = QA(location=index)
    off.corroboration = None
    return {"off": off, "on": QA(location=index)}


def race(engines: dict, questions: list[dict], warmup: int = 5) -> dict:
    answers = take_turns(engines, questions)
    ms = {k: [a.timings["total"] for a in v[warmup:]] for k, v in answers.items()}
    step = [a.timings.get("corroborate", 0.0) for a in answers["on"][warmup:]]
    on, off = answers["on"], answers["off"]
    kept = [a.corroboration for a in on if a.corroboration is not None]
    conflicts = [(q["question"], a.text, a.corroboration.conflict.describe()) for q, a in zip(questions, on)
                 if a.corroboration is not None and a.corroboration.conflict is not None]
    return {
        "questions": len(questions) - warmup,
        **{f"{k}_p50_ms": round(float(np.median(v)), 1) for k, v in ms.items()},
        **{f"{k}_p95_ms": round(float(np.percentile(v, 95)), 1) for k, v in ms.items()},
        "p50_on_vs_off": round(float(np.median(ms["on"])) / float(np.median(ms["off"])), 3),
        "corroborate_step_p50_ms": round(float(np.median(step)), 1),
        "corroborate_step_p95_ms": round(float(np.percentile(step, 95)), 1),
        "texts_differ": sum(x.text != y.text for x, y in zip(on, off)),
        "abstentions_differ": sum(x.abstained != y.abstained for x, y in zip(on, off)),
        "answered": sum(not a.abstained for a in on),
        "with_value": len(kept),
        "mean_outlets": round(float(np.mean([len(k.outlets) for k in kept] or [0])), 2),
        "several_outlets": sum(len(k.outlets) > 1 for k in kept),
        "conflicts": sum(not c.conflict.revision for c in kept if c.conflict is not None),
        "revisions": sum(bool(c.conflict.revision) for c in kept if c.conflict is not None),
        "conflict_examples": conflicts[:20],
    }


def main() -> int:
    parsed = question_args(__doc__, "news-dev")
    if parsed is None:
        return 0
    a, corpus, qs = parsed
    out = race(engines(corpus), qs)
    if a.json:
        print(json.dumps(out, indent=2))
    else:
        for k, v in out.items():
            if k != "conflict_examples":
                print(f"{k:>26}: {v}")
        for q, ans, c in out["conflict_examples"]:
            print(f"- {q}\n    {ans[:160]}\n    conflict: {c}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
