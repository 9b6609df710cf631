"""Answers that changed between two `qa eval --out` runs, chosen by rule (not by hand).

    python eval/answers_changed.py BEFORE/results.jsonl AFTER/results.jsonl [--n 10] [--markdown]

Among the questions whose answer text differs, it takes ``n`` spread evenly over the file order
(deterministic), and prints question, gold answers, and both answers with their outcome.
"""
from __future__ import annotations

import argparse
import json


def load(path: str) -> dict[str, dict]:
    """Rows by id (a repeated id gets "#2", "#3", ... in file order)."""
    out: dict[str, dict] = {}
    for r in (json.loads(line) for line in open(path, encoding="utf-8") if line.strip()):
        key, n = r["id"], 1
        while key in out:
            n += 1
            key = f"{r['id']}#{n}"
        out[key] = r
    return out


def outcome(r: dict) -> str:
    if r["abstained"]:
        return "abstained" + (" (right)" if not r["answerable"] else " (wrong)")
    if not r["answerable"]:
        return "answered an unanswerable question"
    return "correct" if r["correct"] else "wrong"


def main(argv: list[str] | None = None) -> list[str]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("before")
    ap.add_argument("after")
    ap.add_argument("--n", type=int, default=10)
    args = ap.parse_args(argv)
    before, after = load(args.before), load(args.after)
    changed = [i for i in before if i in after and before[i]["answer"] != after[i]["answer"]]
    count = min(args.n, len(changed))
    picked = [changed[int(j * len(changed) / count)] for j in range(count)]  # each once, even when few changed
    won = sum(1 for i in changed if outcome(after[i]) in ("correct", "abstained (right)")
              and outcome(before[i]) not in ("correct", "abstained (right)"))
    lost = sum(1 for i in changed if outcome(before[i]) in ("correct", "abstained (right)")
               and outcome(after[i]) not in ("correct", "abstained (right)"))
    print(f"{len(changed)} of {len(after)} answers changed: {won} became right, {lost} became wrong; "
          f"{len(picked)} spread evenly over them:\n")
    for i in picked:
        b, a = before[i], after[i]
        print(f"### {i} (as_of {a.get('as_of')})\nQ: {a['question']}\ngold: {', '.join(a['gold']) or '(unanswerable)'}")
        print(f"before [{outcome(b)}]: {b['answer'] or '(abstained)'}")
        print(f"after  [{outcome(a)}]: {a['answer'] or '(abstained)'}\n")
    return picked


if __name__ == "__main__":
    main()
