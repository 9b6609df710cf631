"""Fit the extractive answerer's sentence scorer and abstention models on news-dev, by time.

    python eval/fit_answerer.py [--questions ../shared/data/news-dev/questions.jsonl]
                                [--corpus ../shared/data/news-dev/corpus.jsonl] [--max-false-abstention 0.08]

The questions are split by date (``as_of``): everything is fitted on the earlier half and
reported on the later half, which the fit never sees.

1. Sentence scorer: logistic regression over the features ``ExtractiveAnswerer.score`` computes
   for each candidate sentence (question match, passage rank and scores, position in the
   passage and article, ...); label = the sentence contains a gold answer string.
2. Confidence: logistic regression (classes balanced) over the best sentence's probability and
   the top passage's relevance and cosine -- plus, for a dated question that asks about recent
   events ("this week", "latest"), the top passage's freshness -- labelled answerable or not;
   one model for dated and one for undated questions.
3. Thresholds: on the earlier half, the highest correct rejection whose false abstention stays
   within the limit.

It prints the fitted values and the held-out figures; with ``--write`` it also writes them to
``qa/answerer_weights.json``, which ``AnswerConfig`` reads.
Needs scikit-learn (installed with sentence-transformers); the engine itself uses numpy only.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data" / "news-dev"
# Position is not fitted on purpose: news-dev's evidence paragraphs put the answer in their first sentence,
# and a model that learned that picked leads in longer articles (measured on eval/sets/demo.jsonl: answer
# accuracy 0.71 with position features, 0.89 without). The one position feature, the article's lead sentence
# ("lead"), has a weight set by hand in qa/config.py: keep it with --keep-sentence-weights (a fit without it
# learns news-dev's own, larger weight).


def collect(engine, questions, dated: bool, progress=None) -> list[dict]:
    """Per question: the candidates' features and labels, and the top passage (real engine code)."""
    from qa.answer import ExtractiveAnswerer, freshness
    from qa.evaluation import contains_answer
    from qa.retrieval import Filters, temporal_cue

    out = []
    for i, q in enumerate(questions):
        as_of = q.as_of if dated else None
        qvec = engine.embedder.encode([q.question])[0]
        passages = engine.retriever.search(q.question, k=10, filters=Filters(as_of=as_of), query_vec=qvec)
        a = ExtractiveAnswerer(engine.embedder, engine.article_text, engine.answer_config,
                               term_weight=engine.retriever.idf)
        cands = a.candidates(passages)
        a.score(q.question, qvec, cands, lazy=False)  # every feature exact, for fitting
        top = passages[0] if passages else None
        out.append({"id": q.id, "as_of": q.as_of or "", "answerable": q.answerable, "cue": temporal_cue(q.question),
                    "features": [c.features for c in cands],
                    "gold": [bool(q.answers) and contains_answer(c.text, q.answers) for c in cands],
                    "docs": [c.passage.doc_id for c in cands],
                    "chars": [len(engine.article_text(c.passage.doc_id)) for c in cands],  # its article's length
                    "top": {"relevance": top.relevance if top else 0.0, "dense": (top.dense or 0.0) if top else 0.0,
                            "fresh": freshness(top.published, as_of) if top and as_of else 0.0,
                            "chars": len(engine.article_text(top.doc_id)) if top else 0}})
        if progress:
            progress(i + 1, len(questions))
    return out


def split_by_time(rows: list[dict]) -> tuple[list[dict], list[dict]]:
    ordered = sorted(rows, key=lambda r: (r["as_of"], r["id"]))
    return ordered[: len(ordered) // 2], ordered[len(ordered) // 2:]


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def fit_sentences(rows: list[dict]) -> dict[str, float]:
    from sklearn.linear_model import LogisticRegression

    names = list(next(r["features"][0] for r in rows if r["features"]))
    X = [[f[k] for k in names] for r in rows if r["answerable"] for f in r["features"]]
    y = [g for r in rows if r["answerable"] for g in r["gold"]]
    m = LogisticRegression(C=1.0, max_iter=5000).fit(np.array(X), np.array(y))
    return {"bias": round(float(m.intercept_[0]), 4), **{k: round(float(w), 4) for k, w in zip(names, m.coef_[0])}}


HAND_SET = ("focus", "dependent", "typed", "lead")  # kept as in qa/answerer_weights.json (docs/answering.md)


def fit_long_sentences(rows: list[dict], common: dict, min_chars: int, C: float = 1.0) -> dict[str, float]:
    """The sentence scorer for long articles: fitted on the candidate sentences of the answerable
    questions whose top passage's article has ``min_chars`` or more (all of them: what the answer is
    chosen among), the four hand-set weights kept at the common scorer's values (a logistic regression
    with their sum as a fixed offset; L2 penalty 1/C as sklearn's). Fitted on the long articles'
    sentences alone instead, it tied on news-fullarticles-dev's earlier half (answer accuracy 0.456)
    and gave 0.308 against 0.323 on the later half (measured before the question rule,
    ``qa.text.asks``; docs/answering.md)."""
    from scipy.optimize import minimize

    fixed = {k: common[k] for k in HAND_SET if k in common}
    free = [k for k in common if k != "bias" and k not in fixed]
    use = [(f, g) for r in rows if r["answerable"] and r["top"].get("chars", 0) >= min_chars
           for f, g in zip(r["features"], r["gold"])]
    X = np.array([[f[k] for k in free] for f, _ in use])
    y = np.array([g for _, g in use], dtype=float)
    off = np.array([sum(w * f[k] for k, w in fixed.items()) for f, _ in use])

    def loss(b):
        z = b[0] + X @ b[1:] + off
        p = _sigmoid(z)
        return (float(np.sum(np.logaddexp(0, z) - y * z) + 0.5 / C * np.sum(b[1:] ** 2)),
                np.concatenate([[np.sum(p - y)], X.T @ (p - y) + b[1:] / C]))

    b = minimize(loss, np.zeros(len(free) + 1), jac=True, method="L-BFGS-B").x
    return {"bias": round(float(b[0]), 4), **{k: round(float(w), 4) for k, w in zip(free, b[1:])},
            **fixed}


def top1_long(rows: list[dict], common: dict, long: dict, min_chars: int) -> tuple[float, float, int]:
    """Over the answerable questions whose top article is long: the share whose answer sentence holds
    a gold string with the common scorer alone, and with the long-article scorer choosing the sentence
    within the common scorer's best sentence's article when that one is long (as
    ``ExtractiveAnswerer.within_article`` does, without ``follow_evidence``), and how many such
    questions there are."""
    names = [k for k in common if k != "bias"]
    hits: list[tuple[bool, bool]] = []
    for r in rows:
        if not r["answerable"] or r["top"].get("chars", 0) < min_chars:
            continue
        if not r["features"]:
            hits.append((False, False))
            continue
        F = np.array([[f[k] for k in names] for f in r["features"]])
        zc = common["bias"] + F @ np.array([common[k] for k in names])
        zl = long["bias"] + F @ np.array([long[k] for k in names])
        b = int(np.argmax(zc))
        pick = b
        if r["chars"][b] >= min_chars:
            pick = max((j for j, d in enumerate(r["docs"]) if d == r["docs"][b]), key=lambda j: zl[j])
        hits.append((r["gold"][b], r["gold"][pick]))
    n = len(hits)
    return (sum(a for a, _ in hits) / n if n else 0.0, sum(b for _, b in hits) / n if n else 0.0, n)


def best_probability(r: dict, weights: dict) -> float:
    if not r["features"]:
        return 0.0
    names = [k for k in weights if k != "bias"]
    z = weights["bias"] + np.array([[f[k] for k in names] for f in r["features"]]) @ np.array([weights[k] for k in names])
    return float(_sigmoid(z).max())


def confidence_features(r: dict, weights: dict, dated: bool) -> dict[str, float]:
    f = {"sentence": best_probability(r, weights), "relevance": r["top"]["relevance"], "dense": r["top"]["dense"]}
    if dated:
        f["recent_cue"] = float(r["cue"])
        f["fresh_if_cue"] = float(r["cue"]) * r["top"]["fresh"]
    return f


def fit_confidence(rows: list[dict], weights: dict, dated: bool) -> dict[str, float]:
    from sklearn.linear_model import LogisticRegression

    F = [confidence_features(r, weights, dated) for r in rows]
    names = list(F[0])
    m = LogisticRegression(C=1.0, max_iter=5000, class_weight="balanced").fit(
        np.array([[f[k] for k in names] for f in F]), np.array([r["answerable"] for r in rows]))
    return {"bias": round(float(m.intercept_[0]), 4), **{k: round(float(w), 4) for k, w in zip(names, m.coef_[0])}}


def confidences(rows, sentence_w, confidence_w, dated) -> np.ndarray:
    out = []
    for r in rows:
        f = confidence_features(r, sentence_w, dated)
        out.append(_sigmoid(confidence_w["bias"] + sum(confidence_w[k] * v for k, v in f.items())))
    return np.array(out)


def rates(conf: np.ndarray, answerable: np.ndarray, t: float) -> tuple[float, float]:
    """(false abstention, correct rejection) at threshold t."""
    fa = float((conf[answerable] < t).mean()) if answerable.any() else 0.0
    cr = float((conf[~answerable] < t).mean()) if (~answerable).any() else 0.0
    return fa, cr


def fit_threshold(conf: np.ndarray, answerable: np.ndarray, max_fa: float,
                  also: tuple[np.ndarray, np.ndarray, float] | None = None) -> float:
    """The threshold with the most correct rejections whose false abstention stays within ``max_fa``
    (and, given ``also`` = another set's confidences, answerability and limit, within that one too)."""
    best = (-1.0, 0.0, 0.0)
    for t in np.round(np.arange(0.02, 0.99, 0.005), 3):
        fa, cr = rates(conf, answerable, float(t))
        if also is not None and rates(also[0], also[1], float(t))[0] > also[2]:
            continue
        if fa <= max_fa and (cr, -fa) > best[:2]:
            best = (cr, -fa, float(t))
    return best[2]


def top1_accuracy(rows, weights) -> float:
    """Share of answerable questions whose most probable sentence holds a gold string."""
    names = [k for k in weights if k != "bias"]
    hits = []
    for r in rows:
        if not r["answerable"]:
            continue
        if not r["features"]:
            hits.append(False)
            continue
        z = np.array([[f[k] for k in names] for f in r["features"]]) @ np.array([weights[k] for k in names])
        hits.append(r["gold"][int(np.argmax(z))])
    return float(np.mean(hits))


def auroc(conf: np.ndarray, answerable: np.ndarray) -> float:
    """P(an answerable question is more confident than an unanswerable one)."""
    pos, neg = conf[answerable], conf[~answerable]
    if not len(pos) or not len(neg):
        return float("nan")
    return float((pos[:, None] > neg[None, :]).mean() + 0.5 * (pos[:, None] == neg[None, :]).mean())


def curve(conf: np.ndarray, answerable: np.ndarray) -> list[dict]:
    """Correct rejection against false abstention at every threshold (the trade-off)."""
    return [dict(zip(("threshold", "false_abstention", "correct_rejection"), (float(t), *rates(conf, answerable, float(t)))))
            for t in np.round(np.arange(0.02, 0.99, 0.01), 2)]


def fit_all(dated_rows, undated_rows, max_fa: float = 0.05, sentence_weights: dict | None = None,
            max_fa_undated: float | None = None, second: tuple[list[dict], list[dict]] | None = None,
            second_max_fa: float = 0.10) -> dict:
    """Sentence weights, confidence models and thresholds, fitted on the earlier half by date and
    reported on the later half. ``second``: the (dated, undated) rows of another question set (long
    articles from many outlets) whose earlier half also bounds each threshold (false abstention at
    most ``second_max_fa``); it is reported by halves too, and never fitted on otherwise."""
    early, late = split_by_time(dated_rows)
    sw = sentence_weights or fit_sentences(early)
    result = {"sentence_weights": sw,
              "sentence_top1": {"earlier": top1_accuracy(early, sw), "later": top1_accuracy(late, sw)}}
    for name, rows, dated in (("dated", dated_rows, True), ("undated", undated_rows, False)):
        e, l_ = split_by_time(rows)
        cw = fit_confidence(e, sw, dated)
        ce, cl = confidences(e, sw, cw, dated), confidences(l_, sw, cw, dated)
        ae, al = np.array([r["answerable"] for r in e]), np.array([r["answerable"] for r in l_])
        limit = max_fa if dated or max_fa_undated is None else max_fa_undated
        also = None
        if second is not None:
            se, sl = split_by_time(second[0] if dated else second[1])
            cse, csl = confidences(se, sw, cw, dated), confidences(sl, sw, cw, dated)
            ase, asl = np.array([r["answerable"] for r in se]), np.array([r["answerable"] for r in sl])
            also = (cse, ase, second_max_fa)
        t = fit_threshold(ce, ae, limit, also)
        result[name] = {"confidence_weights": cw, "threshold": t, "max_false_abstention": limit,
                        "earlier": dict(zip(("false_abstention", "correct_rejection"), rates(ce, ae, t))),
                        "later": dict(zip(("false_abstention", "correct_rejection"), rates(cl, al, t))),
                        "auroc": {"earlier": auroc(ce, ae), "later": auroc(cl, al)},
                        "later_curve": curve(cl, al)}
        if second is not None:
            result[name]["second"] = {
                "max_false_abstention": second_max_fa,
                "earlier": dict(zip(("false_abstention", "correct_rejection"), rates(cse, ase, t))),
                "later": dict(zip(("false_abstention", "correct_rejection"), rates(csl, asl, t))),
                "auroc": {"earlier": auroc(cse, ase), "later": auroc(csl, asl)}}
    return result


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--questions", default=str(SHARED / "questions.jsonl"))
    ap.add_argument("--corpus", default=str(SHARED / "corpus.jsonl"))
    ap.add_argument("--max-false-abstention", type=float, default=0.08)
    ap.add_argument("--keep-sentence-weights", action="store_true",
                    help="fit only the confidence models, on the sentence weights in qa/config.py (which hold four "
                         "hand-set values, see docs/answering.md: focus, dependent, typed, lead)")
    ap.add_argument("--max-false-abstention-undated", type=float, default=None,
                    help="the limit for undated questions (default: --max-false-abstention)")
    ap.add_argument("--rows", help="keep the collected features in this JSON file and reuse them (the fit alone "
                    "takes seconds; collecting takes minutes)")
    ap.add_argument("--second", nargs=2, metavar=("QUESTIONS", "CORPUS"),
                    help="another question set (e.g. news-fullarticles-dev) whose earlier half also bounds the thresholds")
    ap.add_argument("--second-max-false-abstention", type=float, default=0.10)
    ap.add_argument("--second-rows", help="--rows for the second set")
    ap.add_argument("--long-chars", type=int, default=1500,
                    help="fit the long-article sentence scorer on questions whose top article has this many "
                         "characters or more (AnswerConfig.long_article_chars), on the earlier halves of both sets")
    ap.add_argument("--write", action="store_true", help="write the fitted values to qa/answerer_weights.json")
    ap.add_argument("--write-long", action="store_true",
                    help="write only the long-article sentence scorer (long_sentence_weights) to qa/answerer_weights.json")
    args = ap.parse_args(argv)
    if not Path(args.questions).exists():
        sys.exit(f"{args.questions} not found (news-dev lives in ../shared/data, beside the project)")
    sys.path.insert(0, str(ROOT))
    from qa.config import ChunkingConfig, settings
    from qa.embeddings import MODEL_NAME
    from qa.engine import QA
    from qa.evaluation import corpus_index_dir, load_questions
    from qa.progress import Bars

    cache = Path(settings().eval_cache)
    if not cache.is_absolute():
        cache = ROOT / cache
    engine = QA(location=corpus_index_dir(Path(args.corpus), cache, ChunkingConfig(), MODEL_NAME))
    bar = Bars(True)
    if not len(engine.store):
        engine.ingest([args.corpus], progress=bar)
    qs = load_questions(args.questions)
    if args.rows and Path(args.rows).exists():
        dated, undated = json.loads(Path(args.rows).read_text(encoding="utf-8"))
    else:
        dated = collect(engine, qs, True, lambda d, t: bar("questions (dated)", d, t))
        undated = collect(engine, qs, False, lambda d, t: bar("questions (undated)", d, t))
        if args.rows:
            Path(args.rows).write_text(json.dumps([dated, undated]), encoding="utf-8")
    second = None
    if args.second:
        if args.second_rows and Path(args.second_rows).exists():
            second = tuple(json.loads(Path(args.second_rows).read_text(encoding="utf-8")))
        else:
            other = QA(location=corpus_index_dir(Path(args.second[1]), cache, ChunkingConfig(), MODEL_NAME))
            if not len(other.store):
                other.ingest([args.second[1]], progress=bar)
            sq = load_questions(args.second[0])
            second = (collect(other, sq, True, lambda d, t: bar("second set (dated)", d, t)),
                      collect(other, sq, False, lambda d, t: bar("second set (undated)", d, t)))
            if args.second_rows:
                Path(args.second_rows).write_text(json.dumps(list(second)), encoding="utf-8")
    from qa.config import WEIGHTS_FILE, fitted_weights

    keep = dict(fitted_weights()["sentence_weights"]) if args.keep_sentence_weights else None
    fitted = fit_all(dated, undated, args.max_false_abstention, keep, args.max_false_abstention_undated, second,
                     args.second_max_false_abstention)
    common = fitted["sentence_weights"]
    long_rows = [split_by_time(dated)[0]] + ([split_by_time(second[0])[0]] if second else [])
    long_w = fit_long_sentences([r for rows in long_rows for r in rows], common, args.long_chars)
    fitted["long_sentence_weights"] = long_w
    fitted["long_top1"] = {name: dict(zip(("common", "long", "n"), top1_long(half, common, long_w, args.long_chars)))
                           for name, rows in (("news-dev", dated), ("second", second[0] if second else []))
                           for name, half in ((f"{name} earlier", split_by_time(rows)[0]),
                                              (f"{name} later", split_by_time(rows)[1])) if rows}
    print(json.dumps({k: ({kk: vv for kk, vv in v.items() if kk != "later_curve"} if isinstance(v, dict) else v)
                      for k, v in fitted.items()}, indent=2))
    if args.write_long:
        data = json.loads(WEIGHTS_FILE.read_text(encoding="utf-8"))
        data["long_sentence_weights"] = long_w
        WEIGHTS_FILE.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        print(f"wrote long_sentence_weights to {WEIGHTS_FILE}")
    if args.write:
        write_weights(WEIGHTS_FILE, fitted)
        print(f"wrote {WEIGHTS_FILE}")


def write_weights(path: Path, fitted: dict) -> None:
    """The fitted values in the form qa/answerer_weights.json keeps (its comment is kept)."""
    old = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    out = {k: v for k, v in old.items() if k.startswith("_")}
    out.update({"sentence_weights": fitted["sentence_weights"],
                "confidence_weights": fitted["undated"]["confidence_weights"],
                "confidence_weights_dated": fitted["dated"]["confidence_weights"],
                "abstain_threshold": fitted["undated"]["threshold"],
                "abstain_threshold_dated": fitted["dated"]["threshold"],
                "long_sentence_weights": fitted.get("long_sentence_weights", old.get("long_sentence_weights", {}))})
    path.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
