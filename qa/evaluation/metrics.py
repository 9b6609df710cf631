"""The metrics of ``qa eval`` (defined in docs/evaluation.md): retrieval hit@k and MRR, answer
accuracy, abstention, faithfulness of each cited sentence, word counts, and the regression gate."""
from __future__ import annotations

import re
import unicodedata

import numpy as np

from ..support import SupportScorer
from ..types import Answer
from ..verify import cited_sentences
from .datasets import Question

HIGHER_IS_BETTER = {
    "retrieval.hit@1", "retrieval.hit@5", "retrieval.hit@10", "retrieval.mrr@10",
    "answer.accuracy", "answer.grounded_accuracy", "answer.first_citation_gold", "abstention.correct_rejection",
    "faithfulness.supported_sentences", "faithfulness.citation_precision", "faithfulness.citation_recall",
}


LOWER_IS_BETTER = {"abstention.false_abstention"}


# word counts are gated relative to the baseline: worse when longer by more than tolerance x baseline
LOWER_IS_BETTER_RELATIVE = {"answer.mean_words"}


# ---- answer matching ---------------------------------------------------------------------
def normalize_answer(s: str) -> str:
    """Lower case, accents and punctuation removed, articles dropped, single spaces.

    Apostrophes become spaces like other punctuation, so a possessive keeps its word whole:
    "Myanmar’s military" contains the gold "Myanmar", and "O'Brien" still matches "O’Brien".
    """
    s = unicodedata.normalize("NFKD", s)
    s = "".join(ch for ch in s if not unicodedata.combining(ch)).lower()
    s = re.sub(r"[^\w\s]", " ", s)
    s = re.sub(r"\b(a|an|the)\b", " ", s)
    return " ".join(s.split())


def contains_answer(text: str, golds: list[str]) -> bool:
    """A gold string occurs in ``text`` as whole words, after normalisation."""
    t = f" {normalize_answer(text)} "
    return any(g and f" {g} " in t for g in (normalize_answer(x) for x in golds))


def faithfulness(answer: Answer, scorer: SupportScorer) -> dict:
    """Per-answer counts for supported sentences and citation precision/recall."""
    by_n = {}
    passages = {p.rank: p for p in answer.passages}
    for c in answer.citations:
        p = passages.get(c.passage_rank)
        by_n[c.n] = p.text if p is not None else c.quote
    sents = cited_sentences(answer.text) if not answer.abstained else []
    n_sup = n_cit = n_cit_ok = n_recall = 0
    for sent, nums in sents:
        oks = [scorer.score(sent, by_n[n], given=answer.question).supported if n in by_n else False for n in nums]
        n_cit += len(oks)
        n_cit_ok += sum(oks)
        if any(oks):
            n_sup += 1
            n_recall += 1
    return {"sentences": len(sents), "supported": n_sup, "citations": n_cit, "citations_ok": n_cit_ok,
            "with_supporting_citation": n_recall}


# ---- running ---------------------------------------------------------------------------
def rank_of_gold(doc_ids: list[str], gold: set[str]) -> int | None:
    for i, d in enumerate(doc_ids):
        if d in gold:
            return i + 1
    return None


def retrieval_metrics(ranks: list[int | None]) -> dict:
    n = len(ranks) or 1
    return {
        "hit@1": sum(1 for r in ranks if r and r <= 1) / n,
        "hit@5": sum(1 for r in ranks if r and r <= 5) / n,
        "hit@10": sum(1 for r in ranks if r and r <= 10) / n,
        "mrr@10": sum(1.0 / r for r in ranks if r and r <= 10) / n,
    }


_MARKER = re.compile(r"\[\d+\]")


def answer_words(text: str) -> int:
    """Words of an answer, its [n] markers not counted."""
    return len(_MARKER.sub(" ", text).split())


def score_answer(q: Question, a: Answer, scorer: SupportScorer) -> dict:
    """The per-question outcomes of one answer (final or draft)."""
    correct = (not a.abstained) and contains_answer(a.text, q.answers) if q.answerable else None
    grounded = (correct and any(contains_answer(c.quote, q.answers) for c in a.citations)) if q.answerable else None
    first_gold = (not a.abstained and bool(a.citations) and a.citations[0].doc_id in q.evidence_ids) \
        if q.answerable else None
    return {"answer": a.text, "abstained": a.abstained, "citations": [c.to_dict() for c in a.citations],
            "correct": correct, "grounded": grounded, "first_citation_gold": first_gold,
            "words": None if a.abstained else answer_words(a.text), "faithfulness": faithfulness(a, scorer)}


def corroboration_row(engine, q: Question, a: Answer) -> dict | None:
    """What the answer's corroboration lists, each listed article checked for a gold answer string."""
    k = a.corroboration
    if k is None or not a.citations:
        return None
    cited = a.citations[0]
    listed = [c for c in a.citations for c in c.corroborated_by]
    conflict = k.conflict

    def has_gold(doc_id: str) -> bool | None:
        return contains_answer(engine.article_text(doc_id), q.answers) if q.answers else None

    return {"value": k.value, "kind": k.kind, "outlets": k.outlets, "cited_source": cited.source,
            "listed": [{"doc_id": c.doc_id, "source": c.source, "copy_of": c.copy_of, "has_gold": has_gold(c.doc_id)}
                       for c in listed],
            "conflict": None if conflict is None else {
                "revision": conflict.revision, "summary": conflict.describe(),
                "values": [r.value for r in conflict.reports],
                "doc_ids": [c.doc_id for r in conflict.reports for c in r.citations]}}


def corroboration_metrics(rows: list[dict]) -> dict:
    """Corroboration recall and precision on answerable questions whose answer is in articles of two
    or more outlets (``sources``): recall, the share of those outlets other than the cited one that the
    answer lists; precision, the share of listed articles holding a gold answer -- over every answer,
    and over the correct ones. Conflicts: the share of answers reporting one on unlabelled questions
    (false conflicts, on an unaltered corpus), and on a conflict set (``conflict_label``) detection
    precision and recall."""
    def block(rs: list[dict]) -> dict:
        other = found = listed = gold = 0
        for r in rs:
            k = r.get("corroboration") or {}
            want = {s.lower() for s in r["sources"]} - {(k.get("cited_source") or "").lower()}
            got = {x["source"].lower() for x in k.get("listed", [])}
            other += len(want)
            found += len(want & got)
            listed += len(k.get("listed", []))
            gold += sum(1 for x in k.get("listed", []) if x["has_gold"])
        return {"n": len(rs), "other_outlets": other, "recall": found / other if other else None,
                "listed": listed, "precision": gold / listed if listed else None}

    multi = [r for r in rows if r["answerable"] and len(r.get("sources") or []) >= 2 and not r["abstained"]]
    out: dict = {}
    if multi:
        out["all_answers"] = block(multi)
        out["correct_answers"] = block([r for r in multi if r["correct"]])
    plain = [r for r in rows if "conflict_label" not in r and not r["abstained"]]
    if plain:
        conflicts = [r for r in plain if ((r.get("corroboration") or {}).get("conflict") or {}).get("revision") is False]
        revisions = [r for r in plain if ((r.get("corroboration") or {}).get("conflict") or {}).get("revision")]
        out["false_conflicts"] = {"answers": len(plain), "conflicts": len(conflicts), "revisions": len(revisions),
                                  "rate": len(conflicts) / len(plain)}
        out["corroborated"] = {"with_value": sum(1 for r in plain if r.get("corroboration")) / len(plain),
                               "mean_outlets": float(np.mean([len(r["corroboration"]["outlets"]) for r in plain
                                                              if r.get("corroboration")] or [0]))}
    labelled = [r for r in rows if "conflict_label" in r]
    if labelled:
        def reported(r: dict) -> dict | None:
            return (r.get("corroboration") or {}).get("conflict")

        def true_hit(r: dict) -> bool:
            c, lab = reported(r), r["conflict_label"]
            return c is not None and lab.get("value") is not None and lab["doc_id"] in c["doc_ids"]

        pos = [r for r in labelled if r["conflict_label"].get("value") is not None]
        flagged = [r for r in labelled if reported(r)]
        out["conflict_set"] = {
            "questions": len(labelled), "altered": len(pos), "reworded": len(labelled) - len(pos),
            "answered_altered": sum(1 for r in pos if not r["abstained"]),
            "recall": sum(1 for r in pos if true_hit(r)) / len(pos) if pos else None,
            "precision": sum(1 for r in flagged if true_hit(r)) / len(flagged) if flagged else None,
            "reported": len(flagged)}
    return out


def _abstained(row: dict) -> dict:
    """The outcomes of an abstention on this row's question."""
    wrong = False if row["answerable"] else None
    return {"answer": "", "abstained": True, "citations": [], "correct": wrong, "grounded": wrong,
            "first_citation_gold": wrong, "words": None,
            "faithfulness": {"sentences": 0, "supported": 0, "citations": 0, "citations_ok": 0,
                             "with_supporting_citation": 0}}


def _variant(row: dict, draft: bool, gate: bool) -> dict:
    out = dict(row)
    if draft:
        out.update(row.get("draft") or _abstained(row))  # gated runs generate no draft
    if gate and row.get("retrieval_gate") is False:
        out.update(_abstained(row))
    return out


def variants(rows: list[dict]) -> dict:
    """Generated modes: the same generations measured as drafts (no verifier) and with the retrieval
    gate applied afterwards (when the run did not gate), so one run compares all four."""
    out = {"unverified": [_variant(r, draft=True, gate=False) for r in rows],
           "unverified+gate": [_variant(r, draft=True, gate=True) for r in rows],
           "verified+gate": [_variant(r, draft=False, gate=True) for r in rows]}
    return {name: {g: v for g, v in summarize(rs).items() if g in ("answer", "abstention", "faithfulness")}
            for name, rs in out.items()}


def summarize(rows: list[dict]) -> dict:
    ans = [r for r in rows if r["answerable"]]
    unans = [r for r in rows if not r["answerable"]]
    f = [r["faithfulness"] for r in rows]
    sents = sum(x["sentences"] for x in f)
    cits = sum(x["citations"] for x in f)
    lat = np.array([r["latency_ms"] for r in rows]) if rows else np.zeros(1)
    ttft = np.array([r.get("first_token_ms", r["latency_ms"]) for r in rows]) if rows else np.zeros(1)
    return {
        "n_questions": len(rows), "n_answerable": len(ans), "n_unanswerable": len(unans),
        "retrieval": retrieval_metrics([r["gold_rank"] for r in ans]),
        "answer": {
            "accuracy": sum(1 for r in ans if r["correct"]) / max(1, len(ans)),
            "grounded_accuracy": sum(1 for r in ans if r["grounded"]) / max(1, len(ans)),
            "first_citation_gold": sum(1 for r in ans if r.get("first_citation_gold")) / max(1, len(ans)),
            **word_stats([r.get("words") for r in rows]),
        },
        "abstention": {
            "correct_rejection": sum(1 for r in unans if r["abstained"]) / max(1, len(unans)),
            "false_abstention": sum(1 for r in ans if r["abstained"]) / max(1, len(ans)),
        },
        "faithfulness": {
            "supported_sentences": sum(x["supported"] for x in f) / sents if sents else 1.0,
            "citation_precision": sum(x["citations_ok"] for x in f) / cits if cits else 1.0,
            "citation_recall": sum(x["with_supporting_citation"] for x in f) / sents if sents else 1.0,
        },
        "latency_ms": {"p50": float(np.percentile(lat, 50)), "p95": float(np.percentile(lat, 95)),
                       "first_token_p50": float(np.percentile(ttft, 50)),
                       "first_token_p95": float(np.percentile(ttft, 95))},
    }


def by_date_half(rows: list[dict]) -> dict | None:
    """Accuracy and abstention on the earlier and the later half of the questions by date (as_of,
    then id: the split eval/fit_answerer.py fits on and holds out). None without dates."""
    dated = [r for r in rows if r.get("as_of")]
    if len(dated) < 2:
        return None
    ordered = sorted(dated, key=lambda r: (r["as_of"], r["id"]))
    out = {}
    for name, half in (("earlier", ordered[: len(ordered) // 2]), ("later", ordered[len(ordered) // 2:])):
        ans = [r for r in half if r["answerable"]]
        unans = [r for r in half if not r["answerable"]]
        out[name] = {"n": len(half), "from": half[0]["as_of"], "to": half[-1]["as_of"],
                     "accuracy": sum(1 for r in ans if r["correct"]) / max(1, len(ans)),
                     "correct_rejection": sum(1 for r in unans if r["abstained"]) / max(1, len(unans)),
                     "false_abstention": sum(1 for r in ans if r["abstained"]) / max(1, len(ans)),
                     **word_stats([r.get("words") for r in half]),
                     "corroboration": corroboration_metrics(half)}
    return out


def tradeoff(rows: list[dict], operating: float) -> dict:
    """The abstention trade-off over thresholds on the answer confidence: correct rejection against
    false abstention at every threshold (exact: an extractive answer abstains below it), and, from
    the operating threshold up (the answers below it were never written), the accuracy of the
    answered answerable questions against the share of answerable questions answered (coverage)."""
    conf_a = np.array([r["confidence"] for r in rows if r["answerable"]])
    conf_u = np.array([r["confidence"] for r in rows if not r["answerable"]])
    correct = np.array([bool(r["correct"]) for r in rows if r["answerable"]])
    curve = []
    for t in np.round(np.arange(0.0, 1.0001, 0.01), 2):
        point: dict[str, float | None] = {"threshold": float(t),
                 "false_abstention": float((conf_a < t).mean()) if len(conf_a) else 0.0,
                 "correct_rejection": float((conf_u < t).mean()) if len(conf_u) else 0.0}
        if t >= operating and len(conf_a):
            kept = conf_a >= t
            point["coverage"] = float(kept.mean())
            point["answered_accuracy"] = float(correct[kept].mean()) if kept.any() else None
        curve.append(point)
    pos, neg = conf_a, conf_u
    auroc = float((pos[:, None] > neg[None, :]).mean() + 0.5 * (pos[:, None] == neg[None, :]).mean()) \
        if len(pos) and len(neg) else None
    out: dict = {"operating_threshold": operating, "auroc": auroc, "curve": curve}
    if any("judged" in r for r in rows):
        out["with_judge"] = measured_point(rows)
    return out


def measured_point(rows: list[dict]) -> dict:
    """Where the answers actually were: false abstention, correct rejection, coverage and accuracy of
    the answered, from what was answered -- with the judge (qa.judge) some answers above the threshold
    were refused, so this point lies off the confidence curve."""
    ans = [r for r in rows if r["answerable"]]
    una = [r for r in rows if not r["answerable"]]
    answered = [r for r in ans if not r["abstained"]]
    return {"false_abstention": (len(ans) - len(answered)) / max(1, len(ans)),
            "correct_rejection": sum(1 for r in una if r["abstained"]) / max(1, len(una)),
            "coverage": len(answered) / max(1, len(ans)),
            "answered_accuracy": sum(1 for r in answered if r["correct"]) / len(answered) if answered else None}


def word_stats(counts: list[int | None]) -> dict:
    """Mean and 95th percentile of answer length in words (abstentions not counted)."""
    w = np.array([c for c in counts if c is not None], dtype=float)
    return {"mean_words": float(w.mean()) if len(w) else 0.0,
            "p95_words": float(np.percentile(w, 95)) if len(w) else 0.0}


def flatten(metrics: dict, prefix: str = "") -> dict[str, float]:
    out = {}
    for k, v in metrics.items():
        if isinstance(v, dict):
            out.update(flatten(v, f"{prefix}{k}."))
        elif isinstance(v, (int, float)):
            out[f"{prefix}{k}"] = float(v)
    return out


def regressions(metrics: dict, baseline: dict, tolerance: float) -> list[str]:
    """Every quality metric that got worse than the baseline by more than ``tolerance``."""
    now, base = flatten(metrics), flatten(baseline)
    out = []
    for key in sorted(HIGHER_IS_BETTER | LOWER_IS_BETTER | LOWER_IS_BETTER_RELATIVE):
        if key not in base or key not in now:
            continue
        if key in LOWER_IS_BETTER_RELATIVE:
            allowed = tolerance * base[key]
            if now[key] - base[key] > allowed:
                out.append(f"{key}: {base[key]:.2f} -> {now[key]:.2f} (longer by more than {tolerance:.0%})")
            continue
        drop = (base[key] - now[key]) if key in HIGHER_IS_BETTER else (now[key] - base[key])
        if drop > tolerance:
            out.append(f"{key}: {base[key]:.4f} -> {now[key]:.4f} (worse by {drop:.4f} > {tolerance})")
    return out
