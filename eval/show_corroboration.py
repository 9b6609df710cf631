"""Ten answers with their corroboration, chosen by a seeded draw (not by hand), as Markdown:

    python eval/show_corroboration.py EVAL_OUT/results.jsonl [--n 10] [--seed 1] [--only several|conflict|any]

Reads the rows ``qa eval`` writes: for each drawn answered question, the answer (shortened), the
value checked, the independent outlets that state it (and copies), whether the listed articles hold
the gold answer, and a conflict or revision if one was found. ``--only several`` draws from answers
reported by two or more outlets, ``--only conflict`` from those with a conflict; ``any`` from all
answered questions with a value.
"""
from __future__ import annotations

import argparse
import json
import random
from pathlib import Path


def pick(rows: list[dict], n: int, seed: int, only: str) -> list[dict]:
    pool = [r for r in rows if not r["abstained"] and r.get("corroboration")]
    if only == "several":
        pool = [r for r in pool if len(r["corroboration"]["outlets"]) > 1]
    elif only == "conflict":
        pool = [r for r in pool if r["corroboration"].get("conflict")]
    return random.Random(seed).sample(pool, min(n, len(pool)))


def cell(text: str, limit: int = 160) -> str:
    text = " ".join(str(text).split()).replace("|", "\\|")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def table(rows: list[dict]) -> str:
    out = ["| question | answer | value | outlets | listed (gold) | conflict |", "|---|---|---|---|---|---|"]
    for r in rows:
        k = r["corroboration"]
        listed = k.get("listed", [])
        copies = sum(1 for x in listed if x.get("copy_of"))
        gold = sum(1 for x in listed if x.get("has_gold"))
        c = k.get("conflict") or {}
        out.append(f"| {cell(r['question'], 110)} | {cell(r['answer'])} | {cell(k['value'], 40)} | "
                   f"{cell(', '.join(k['outlets']), 80)} | {len(listed)} ({gold}){f', {copies} copies' if copies else ''}"
                   f" | {cell(c.get('summary', ''), 120) if c else ''} |")
    return "\n".join(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results", type=Path)
    ap.add_argument("--n", type=int, default=10)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--only", choices=["any", "several", "conflict"], default="any")
    a = ap.parse_args()
    rows = [json.loads(x) for x in a.results.read_text(encoding="utf-8").splitlines() if x.strip()]
    print(table(pick(rows, a.n, a.seed, a.only)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
