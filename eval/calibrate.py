"""Abstention threshold, calibrated out of sample, from a `qa eval --out DIR` run.

    python eval/calibrate.py eval_out/news-dev/results.jsonl [--max-false-abstention 0.05] [--table]

The questions are split by date (``as_of``, then id): the threshold on the answer confidence is
fitted on the earlier half -- the highest correct rejection (unanswerable questions abstained on)
whose false abstention (answerable questions abstained on) stays within the limit -- and then
reported, unchanged, on the later half. The answer's confidence does not depend on the
threshold, so one run gives every threshold's outcome.
"""
from __future__ import annotations

import argparse
import json

import numpy as np


def rates(rows: list[dict], t: float) -> tuple[float, float]:
    ans = np.array([r["confidence"] for r in rows if r["answerable"]])
    una = np.array([r["confidence"] for r in rows if not r["answerable"]])
    fa = float((ans < t).mean()) if len(ans) else 0.0
    cr = float((una < t).mean()) if len(una) else 0.0
    return fa, cr


def split_by_time(rows: list[dict]) -> tuple[list[dict], list[dict]]:
    ordered = sorted(rows, key=lambda r: (r.get("as_of") or "", str(r.get("id"))))
    half = len(ordered) // 2
    return ordered[:half], ordered[half:]


def fit(rows: list[dict], max_fa: float, grid: np.ndarray) -> float:
    """The threshold with the highest correct rejection whose false abstention is at most ``max_fa``."""
    best = (-1.0, 0.0, 0.0)
    for t in grid:
        fa, cr = rates(rows, float(t))
        if fa <= max_fa and (cr, -fa) > best[:2]:
            best = (cr, -fa, float(t))
    return best[2]


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results", help="results.jsonl written by qa eval --out")
    ap.add_argument("--max-false-abstention", type=float, default=0.05)
    ap.add_argument("--table", action="store_true", help="print every threshold's rates on both halves")
    ap.add_argument("--threshold", type=float, help="report both halves at this threshold instead of fitting one "
                    "(e.g. the shipped AnswerConfig.abstain_threshold_dated)")
    args = ap.parse_args(argv)
    rows = [json.loads(line) for line in open(args.results, encoding="utf-8") if line.strip()]
    early, late = split_by_time(rows)
    grid = np.round(np.arange(0.0, 1.0, 0.005), 3)
    t = args.threshold if args.threshold is not None else fit(early, args.max_false_abstention, grid)
    out = {"threshold": t, "max_false_abstention": args.max_false_abstention}
    for name, part in (("earlier half (fit)", early), ("later half (held out)", late), ("all", rows)):
        fa, cr = rates(part, t)
        n_un = sum(not r["answerable"] for r in part)
        dates = sorted(r.get("as_of") or "" for r in part)
        print(f"{name:<22} {dates[0] or '-'} .. {dates[-1] or '-'}  answerable {len(part) - n_un:>4}  "
              f"unanswerable {n_un:>3}  false_abstention {fa:.3f}  correct_rejection {cr:.3f}")
        out[name.split()[0]] = {"false_abstention": fa, "correct_rejection": cr, "n": len(part),
                                "n_unanswerable": n_un}
    if args.threshold is None:
        print(f"threshold fitted on the earlier half: {t:.3f} (highest correct rejection with false abstention "
              f"<= {args.max_false_abstention})")
    else:
        print(f"threshold given: {t:.3f}")
    if args.table:
        print("threshold  early FA  early CR  late FA  late CR")
        for g in grid[::4]:
            (efa, ecr), (lfa, lcr) = rates(early, float(g)), rates(late, float(g))
            print(f"  {g:.3f}     {efa:.3f}     {ecr:.3f}    {lfa:.3f}    {lcr:.3f}")
    return out


if __name__ == "__main__":
    main()
