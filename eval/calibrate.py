"""Abstention threshold calibration from a `qa eval --out DIR` run.

    python eval/calibrate.py eval_out/news-dev/results.jsonl

Prints, for each candidate threshold on the answer confidence, the false-abstention rate
(answerable questions that would be abstained on) and the correct-rejection rate
(unanswerable questions abstained on), and the threshold that maximises
correct_rejection - false_abstention (Youden's J). Questions abstained on because their best
sentence scored under min_sentence_score stay abstained whatever the threshold.
"""
from __future__ import annotations

import json
import sys

import numpy as np


def main(path: str) -> None:
    rows = [json.loads(line) for line in open(path, encoding="utf-8")]
    ans = np.array([r["confidence"] for r in rows if r["answerable"]])
    una = np.array([r["confidence"] for r in rows if not r["answerable"]])
    print(f"{len(ans)} answerable, {len(una)} unanswerable")
    print("threshold  false_abstention  correct_rejection")
    best = (-1.0, 0.0)
    for t in np.arange(0.30, 0.66, 0.01):
        fa, cr = float((ans < t).mean()), float((una < t).mean())
        best = max(best, (cr - fa, float(t)))
        print(f"  {t:.2f}        {fa:.3f}             {cr:.3f}")
    print(f"Youden-optimal threshold: {best[1]:.2f} (J = {best[0]:.3f})")


if __name__ == "__main__":
    main(sys.argv[1])
