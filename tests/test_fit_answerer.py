"""eval/fit_answerer.py: the labels and the threshold rule it fits the answerer with, on rows built
by hand (the fit itself runs on news-dev: python eval/fit_answerer.py)."""
import importlib.util
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("sklearn")
_spec = importlib.util.spec_from_file_location("fit_answerer", Path(__file__).parent.parent / "eval" / "fit_answerer.py")
fit = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fit)

WEIGHTS = {"bias": 0.0, "sim": 1.0}


def row(answerable: bool, sims: list[float], gold: list[bool], as_of: str = "2024-01-01", id: str = "q") -> dict:
    return {"id": id, "as_of": as_of, "answerable": answerable, "cue": False,
            "features": [{"sim": s} for s in sims], "gold": gold,
            "top": {"relevance": 0.5, "dense": 0.5, "fresh": 0.0}}


def test_top1_accuracy_counts_answerable_questions_whose_likeliest_sentence_holds_the_answer():
    rows = [row(True, [0.2, 0.9], [False, True]), row(True, [0.9, 0.2], [False, True]), row(True, [], []),
            row(False, [0.9], [False])]
    assert fit.top1_accuracy(rows, WEIGHTS) == pytest.approx(1 / 3)
    assert fit.best_probability(rows[0], WEIGHTS) == pytest.approx(1 / (1 + np.exp(-0.9)))


def test_the_halves_are_split_by_date_not_by_file_order():
    rows = [row(True, [0.1], [True], as_of=d, id=f"q{i}") for i, d in
            enumerate(["2023-05-01", "2020-01-03", "2022-02-02", "2021-07-07"])]
    early, late = fit.split_by_time(rows)
    assert [r["as_of"] for r in early] == ["2020-01-03", "2021-07-07"]
    assert [r["as_of"] for r in late] == ["2022-02-02", "2023-05-01"]


def test_the_threshold_catches_the_most_unanswerable_questions_within_the_false_abstention_limit():
    conf = np.array([0.1, 0.2, 0.3, 0.6, 0.7, 0.8, 0.9, 0.05, 0.15, 0.65])
    answerable = np.array([True] * 7 + [False] * 3)
    t = fit.fit_threshold(conf, answerable, max_fa=0.15)
    fa, cr = fit.rates(conf, answerable, t)
    assert fa <= 0.15 and cr == pytest.approx(2 / 3)  # 0.65 cannot be caught without losing three answers
    t0 = fit.fit_threshold(conf, answerable, max_fa=0.0)
    assert fit.rates(conf, answerable, t0) == (0.0, pytest.approx(1 / 3))


def test_written_weights_are_what_the_answerer_reads(tmp_path):
    from qa.config import WEIGHTS_FILE

    path = tmp_path / "w.json"
    path.write_text(WEIGHTS_FILE.read_text(encoding="utf-8"), encoding="utf-8")
    fitted = {"sentence_weights": {"bias": -1.0, "sim": 2.0},
              "dated": {"confidence_weights": {"bias": 0.5}, "threshold": 0.2},
              "undated": {"confidence_weights": {"bias": 0.25}, "threshold": 0.3}}
    fit.write_weights(path, fitted)
    import json

    got = json.loads(path.read_text(encoding="utf-8"))
    assert got["sentence_weights"] == {"bias": -1.0, "sim": 2.0} and got["abstain_threshold_dated"] == 0.2
    assert got["confidence_weights"] == {"bias": 0.25} and got["abstain_threshold"] == 0.3
    assert "_comment" in got  # the note on where the values come from stays


def test_the_long_article_scorer_is_fitted_on_questions_with_a_long_top_article_and_keeps_the_hand_set_weights():
    common = {"bias": 0.0, "sim": 1.0, "lex": 0.0, "focus": 1.0}

    def long_row(sims, lexes, gold, chars):
        r = row(True, sims, gold)
        r["features"] = [{"sim": s, "lex": x, "focus": 0.0} for s, x in zip(sims, lexes)]
        r["top"]["chars"] = chars
        r["chars"] = [chars] * len(sims)
        r["docs"] = ["a"] * len(sims)
        return r

    # in long articles the question's words (lex) find the answer, the cosine misleads; short ones say the opposite
    rows = [long_row([0.9, 0.2], [0.1, 0.8], [False, True], 5000) for _ in range(20)]
    rows += [long_row([0.9, 0.2], [0.1, 0.8], [True, False], 300) for _ in range(40)]
    w = fit.fit_long_sentences(rows, common, min_chars=1500)
    assert w["lex"] > 0 > w["sim"] and w["focus"] == 1.0
    assert fit.top1_long(rows, common, w, 1500) == (0.0, 1.0, 20)
