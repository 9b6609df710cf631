"""``qa eval``: run a question set through the public ``ask`` and measure it (chunking-eval's span
recall too), then print, write and gate the results."""
from __future__ import annotations

import json
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

from ..config import ChunkingConfig, is_database, settings
from ..errors import InputError
from ..support import SupportScorer
from .baselines import (
    ANSWER_BASELINES,
    RETRIEVER_BASELINES,
    baseline_answers,
    compare_answers,
    compare_retrievers,
    gold_in_corpus,
)
from .datasets import (
    Question,
    corpus_index_dir,
    load_chunking_corpora,
    load_questions,
    question_set,
    remap_evidence,
    roundups,
    sample_questions,
    shift_as_of,
)
from .metrics import (
    by_date_half,
    contains_answer,
    corroboration_metrics,
    corroboration_row,
    rank_of_gold,
    regressions,
    score_answer,
    summarize,
    tradeoff,
    variants,
)
from .report import print_table, write_report


def run(engine, questions: list[Question], k: int = 10, ignore_as_of: bool = False,
        progress: Callable[[int, int], None] | None = None, mode: str = "extractive",
        gate: bool | None = None) -> tuple[dict, list[dict]]:
    """Ask every question through ``engine.ask`` and compute metrics.json and per-question rows."""
    scorer = SupportScorer()
    rows = []
    for i, q in enumerate(questions):
        t = time.perf_counter()
        a = engine.ask(q.question, k=max(k, 10), as_of=None if ignore_as_of else q.as_of, mode=mode, gate=gate)
        latency = (time.perf_counter() - t) * 1000
        doc_ids = [p.doc_id for p in a.passages]
        rank = rank_of_gold(doc_ids, set(q.evidence_ids)) if q.answerable else None
        row = {"id": q.id, "question": q.question, "as_of": q.as_of, "answerable": q.answerable,
               "gold": q.answers, "gold_doc_ids": q.evidence_ids, **score_answer(q, a, scorer),
               "confidence": round(a.confidence, 4), "mode": a.mode,
               "retrieved": [{"doc_id": p.doc_id, "score": round(p.score, 5), "dense": p.dense,
                              "text": p.text[:300]} for p in a.passages[:10]],
               "gold_rank": rank, "gold_in_corpus": _gold_in_corpus(engine, q),
               "latency_ms": round(latency, 2),
               "first_token_ms": round(a.timings.get("first_token", latency), 2),
               "baselines": baseline_answers(q, a),
               "sources": q.sources, "corroboration": corroboration_row(engine, q, a)}
        if a.judged is not None:
            row["judged"] = a.judged
            row["judge_ms"] = round(a.timings.get("judge", 0.0), 1)
        if a.read is not None:
            row["read"] = a.read
            row["read_ms"] = round(a.timings.get("read", 0.0), 1)
        if q.conflict is not None:
            row["conflict_label"] = q.conflict
        if a.mode != "extractive":
            row["retrieval_gate"] = a.retrieval_gate
            row["draft"] = score_answer(q, a.draft, scorer) if a.draft is not None else None
            row["verification"] = [v.to_dict() for v in a.verification]
        rows.append(row)
        if progress:
            progress(i + 1, len(questions))
    metrics = summarize(rows)
    metrics["corroboration"] = corroboration_metrics(rows)
    if judged := [r for r in rows if "judged" in r]:
        metrics["judge"] = judge_metrics(judged, len(rows))
    if read := [r for r in rows if "read" in r]:
        metrics["reader"] = reader_metrics(read, len(rows))
    metrics["question_set"] = question_set(questions)
    if (split := gold_in_corpus(rows)) is not None:
        metrics["gold_in_corpus"] = split
    if mode != "extractive":
        metrics["variants"] = variants(rows)
    return metrics, rows


def judge_metrics(judged: list[dict], total: int) -> dict:
    """How often the language model checked a borderline answer (qa.judge), what it said, and what a
    check cost."""
    said_no = [r for r in judged if r["judged"] is False]
    ms = np.array([r["judge_ms"] for r in judged])
    return {"asked": len(judged), "share": len(judged) / total, "said_no": len(said_no),
            "said_no_answerable": sum(1 for r in said_no if r["answerable"]),
            "ms_p50": float(np.percentile(ms, 50)), "ms_p95": float(np.percentile(ms, 95))}


def reader_metrics(read: list[dict], total: int) -> dict:
    """How often the language model read a long article (qa.reader), how often its short answer was
    the gold, and what a reading cost."""
    ms = np.array([r["read_ms"] for r in read])
    answerable = [r for r in read if r["answerable"] and r["gold"]]
    return {"asked": len(read), "share": len(read) / total,
            "reply_gold": sum(1 for r in answerable if contains_answer(r["read"], r["gold"])),
            "answerable": len(answerable),
            "ms_p50": float(np.percentile(ms, 50)), "ms_p95": float(np.percentile(ms, 95))}


def _gold_in_corpus(engine, q: Question) -> bool | None:
    """Whether any article the question names as its evidence is indexed (None: it names none, or
    it is unanswerable). A question whose evidence is missing can only be answered by chance."""
    if not q.answerable or not q.evidence_ids:
        return None
    return any(d in engine.store.articles for d in q.evidence_ids)


# ---- span recall (chunking-eval) -----------------------------------------------------------
def span_recall(engine, questions_path: Path, corpora_dir: Path, k: int = 5,
                progress: Callable[[int, int], None] | None = None) -> dict:
    """Share of gold characters covered by the top-k retrieved chunks of the right corpus; and
    ``answer_span_hit``: the share of questions whose answer's first citation overlaps a gold span."""
    from ..retrieval import Filters

    rows = [json.loads(line) for line in open(questions_path, encoding="utf-8") if line.strip()]
    total = covered = 0
    per = []
    answered = []
    for i, q in enumerate(rows):
        a = engine.ask(q["question"], sources=[q["corpus"]])
        answered.append(bool(a.citations) and any(min(a.citations[0].end, r["end"]) > max(a.citations[0].start, r["start"])
                                                  for r in q["references"]))
        passages = engine.retriever.search(q["question"], k=k, filters=Filters(sources=[q["corpus"]]))
        spans = [(p.chunk.start, p.chunk.end) for p in passages]
        got = need = 0
        for ref in q["references"]:
            need += ref["end"] - ref["start"]
            got += sum(max(0, min(e, ref["end"]) - max(s, ref["start"])) for s, e in _merge(spans))
        total += need
        covered += got
        per.append(got / need if need else 0.0)
        if progress:
            progress(i + 1, len(rows))
    return {"n_questions": len(rows), "k": k, "char_recall": covered / total if total else 0.0,
            "mean_question_recall": float(np.mean(per)) if per else 0.0,
            "answer_span_hit": float(np.mean(answered)) if answered else 0.0}


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[list[int]] = []
    for s, e in sorted(spans):
        if out and s <= out[-1][1]:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return [(s, e) for s, e in out]


# ---- command line ------------------------------------------------------------------------
COMPLETE = ".eval-complete"  # written into a cached index once its whole corpus is in


def _mark_complete(index_dir, cached: bool) -> None:
    if cached:
        (Path(index_dir) / COMPLETE).write_text("the whole corpus is indexed\n")


def main(args) -> int:
    """``qa eval``: see ``qa eval --help``."""
    from ..embeddings import DEFAULT_BACKEND, MODEL_NAME
    from ..engine import QA
    from ..progress import Bars

    questions_path = Path(args.questions)
    corpus = Path(args.corpus)
    if not corpus.exists():
        raise InputError(str(corpus), "corpus not found")
    quiet = args.quiet
    chunking = ChunkingConfig()
    if getattr(args, "chunk_tokens", None):
        chunking = replace(chunking, max_tokens=args.chunk_tokens)
    if getattr(args, "keep_boilerplate", False):
        chunking = replace(chunking, drop_boilerplate=False)
    cache = Path(settings().eval_cache)
    mapping = None
    if getattr(args, "roundups", 0):
        if corpus.is_dir():
            raise InputError("--roundups", "needs a corpus file (JSONL/CSV of short articles), not a folder")
        if args.roundups < 2:
            raise InputError("--roundups", f"joins at least 2 articles into one (got {args.roundups})")
        corpus, mapping = roundups(corpus, cache, max_paragraphs=args.roundups)
    if args.index:
        index_dir = args.index if is_database(args.index) else Path(args.index)
    else:
        backend = settings().embed_backend or DEFAULT_BACKEND  # int8 vectors differ: their own index
        model = MODEL_NAME if backend != "onnx-int8" else f"{MODEL_NAME}#{backend}"
        index_dir = corpus_index_dir(corpus, cache, chunking, model)
        if index_dir.exists() and not (index_dir / COMPLETE).exists():
            # an ingest into the cache was stopped part-way (a large ingest commits batch by batch):
            # measuring on part of the corpus would be wrong, so it is built again
            shutil.rmtree(index_dir)
    cached = not args.index
    span_mode = corpus.is_dir()
    engine = QA(location=index_dir, chunking=chunking, judge=getattr(args, "judge", None),
                reader=getattr(args, "reader", None))
    bar = Bars(not quiet)

    if span_mode:  # chunking-eval: corpora folder + span-labelled questions
        if not len(engine.store):
            engine.ingest(articles=load_chunking_corpora(corpus), progress=bar)
            _mark_complete(index_dir, cached)
        result = span_recall(engine, questions_path, corpus, k=args.k if args.k != 10 else 5,
                             progress=lambda d, t: bar("questions", d, t))
        print(json.dumps(result, indent=2))
        return 0

    unknown = [w.strip() for w in (args.compare or "").split(",")
               if w.strip() and w.strip() not in RETRIEVER_BASELINES + ANSWER_BASELINES]
    if unknown:
        raise InputError("--compare", f"unknown baseline {unknown[0]!r}; choose from "
                         f"{', '.join(RETRIEVER_BASELINES + ANSWER_BASELINES)}")
    questions = load_questions(questions_path)
    if getattr(args, "sample", None):
        questions = sample_questions(questions, args.sample)
    if args.limit:
        questions = questions[: args.limit]
    shift = getattr(args, "shift_as_of", 0) or 0
    if shift and args.ignore_as_of:
        raise InputError("--shift-as-of", "cannot be combined with --ignore-as-of (which drops the dates)")
    if shift:
        questions = shift_as_of(questions, shift)
    if mapping is not None:
        questions = remap_evidence(questions, mapping)
    if not len(engine.store):
        report = engine.ingest([corpus], progress=bar)
        if report.failed:
            raise InputError(str(corpus), "; ".join(r for _, r in report.failed))
        _mark_complete(index_dir, cached)
    mode = getattr(args, "mode", "extractive")
    metrics, rows = run(engine, questions, k=args.k, ignore_as_of=args.ignore_as_of,
                        progress=lambda d, t: bar("questions", d, t), mode=mode,
                        gate=False if getattr(args, "no_gate", False) else None)
    compare = answers = None
    which = [w.strip() for w in (args.compare or "").split(",") if w.strip()]
    if [w for w in which if w in RETRIEVER_BASELINES]:
        compare = compare_retrievers(engine, questions, [w for w in which if w in RETRIEVER_BASELINES], k=args.k,
                                     ignore_as_of=args.ignore_as_of, progress=bar)
        metrics["compare"] = compare
    if [w for w in which if w in ANSWER_BASELINES]:
        answers = compare_answers(rows, [w for w in which if w in ANSWER_BASELINES])
        metrics["compare_answers"] = answers
    dated = not args.ignore_as_of and any(q.as_of for q in questions)
    threshold = engine.answer_config.abstain_threshold_dated if dated else engine.answer_config.abstain_threshold
    if (halves := by_date_half(rows)) is not None:
        metrics["by_date_half"] = halves
    metrics["tradeoff"] = tradeoff(rows, threshold)
    metrics["settings"] = {"k": args.k, "ignore_as_of": args.ignore_as_of, "shift_as_of_days": shift,
                           "roundups": getattr(args, "roundups", 0) or 0,
                           "index": str(index_dir), "mode": mode,
                           "gate": not getattr(args, "no_gate", False),
                           "abstain_threshold": threshold}
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
        with open(out / "results.jsonl", "w", encoding="utf-8") as f:
            for r in rows:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
        write_report(out / "report.html", metrics, rows, threshold, compare, answers)
    if args.json:
        print(json.dumps(metrics, indent=2))
    else:
        print_table(metrics, compare, answers=answers)
        if args.out:
            print(f"\nwrote {Path(args.out) / 'metrics.json'}, results.jsonl, report.html")
    if args.baseline:
        try:
            baseline = json.loads(Path(args.baseline).read_text())
        except (OSError, ValueError) as e:
            raise InputError(args.baseline, f"cannot read baseline metrics ({e})") from e
        worse = regressions(metrics, baseline, args.tolerance)
        if worse:
            print(f"\nREGRESSION against {args.baseline} (tolerance {args.tolerance}):", file=sys.stderr)
            for w in worse:
                print(f"  {w}", file=sys.stderr)
            return 1
        print(f"\nno metric worse than {args.baseline} by more than {args.tolerance}", file=sys.stderr)
    return 0
