"""Evaluation harness: run a question set through the public ``ask`` and measure it.

Formats (one JSON object per line):
  corpus:    {"id", "title", "source", "url", "published", "text"}
  questions: {"id", "question", "answers": [..], "answerable": bool,
              "evidence": [{"doc_id", "text"}], "as_of"?: "YYYY-MM-DD", "choices"?: [..]}

Metrics are defined in README.md ("Evaluation"). The index for a corpus is built once and
reused: its folder name is a hash of the corpus bytes and the engine's settings.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from .config import ChunkingConfig, as_dict, is_database, settings
from .stores import FORMAT_VERSION
from .errors import InputError
from .support import SupportScorer
from .chunking import CHUNKER_VERSION
from .text import TEXT_VERSION
from .verify import cited_sentences  # noqa: F401 (re-exported for the tests)
from .types import Answer

HIGHER_IS_BETTER = {
    "retrieval.hit@1", "retrieval.hit@5", "retrieval.hit@10", "retrieval.mrr@10",
    "answer.accuracy", "answer.grounded_accuracy", "answer.first_citation_gold", "abstention.correct_rejection",
    "faithfulness.supported_sentences", "faithfulness.citation_precision", "faithfulness.citation_recall",
}
LOWER_IS_BETTER = {"abstention.false_abstention"}
# word counts are gated relative to the baseline: worse when longer by more than tolerance x baseline
LOWER_IS_BETTER_RELATIVE = {"answer.mean_words"}
ANSWER_BASELINES = ("lead", "passage")  # --compare: trivial answers from the same retrieval
RETRIEVER_BASELINES = ("dense", "lexical")


@dataclass
class Question:
    id: str
    question: str
    answers: list[str]
    answerable: bool
    evidence_ids: list[str]
    as_of: str | None = None
    choices: list[str] = field(default_factory=list)


def load_questions(path: str | Path) -> list[Question]:
    """Read a question set; a malformed line raises InputError naming the line."""
    path = Path(path)
    if not path.is_file():
        raise InputError(str(path), "question file not found")
    out = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                d = json.loads(line)
            except json.JSONDecodeError as e:
                raise InputError(str(path), f"malformed JSON ({e.msg}, column {e.colno})", line=n) from e
            if not isinstance(d, dict) or not isinstance(d.get("question"), str) or not d["question"].strip():
                raise InputError(str(path), "each line needs a non-empty \"question\" string", line=n)
            answers = d.get("answers", [])
            if not isinstance(answers, list) or not all(isinstance(a, str) for a in answers):
                raise InputError(str(path), "\"answers\" must be a list of strings", line=n)
            evidence = d.get("evidence", []) or []
            if not isinstance(evidence, list) or not all(isinstance(e, dict) and "doc_id" in e for e in evidence):
                raise InputError(str(path), "\"evidence\" must be a list of {\"doc_id\", \"text\"} objects", line=n)
            answerable = d.get("answerable", bool(answers))
            if not isinstance(answerable, bool):
                raise InputError(str(path), "\"answerable\" must be true or false", line=n)
            out.append(Question(id=str(d.get("id", f"q{n}")), question=d["question"], answers=answers,
                                answerable=answerable, evidence_ids=[str(e["doc_id"]) for e in evidence],
                                as_of=d.get("as_of") or None, choices=list(d.get("choices") or [])))
    if not out:
        raise InputError(str(path), "holds no questions")
    return out


def shift_as_of(questions: list[Question], days: int) -> list[Question]:
    """The same questions asked ``days`` later (earlier when negative): each ``as_of`` moves, so the
    articles they were written about are that much older. The check that a date prior favours recent
    news without burying the older article that answers (issue 8: 30, 180 and 365 days later on
    news-dev must keep hit@5 at or above the no-date figure). Questions without a date keep none."""
    out = []
    for q in questions:
        if q.as_of is None:
            out.append(q)
            continue
        try:
            day = date.fromisoformat(q.as_of[:10])
        except ValueError as e:
            raise InputError(q.id, f"as_of {q.as_of!r} is not a date (YYYY-MM-DD); cannot shift it") from e
        out.append(replace(q, as_of=(day + timedelta(days=days)).isoformat()))
    return out


def roundups(corpus: Path, out_dir: Path, max_paragraphs: int = 12, max_words: int = 200) -> tuple[Path, dict[str, str]]:
    """The stress test of long, multi-topic articles, built from a corpus of short ones: the short
    articles (≤ ``max_words``) of one source and one publication day are joined, in file order, into
    "roundups" of up to ``max_paragraphs`` paragraphs (news-dev: 2,861 paragraphs into ~300 roundups
    of ~10). The paragraph that answers is then one topic among many, usually not the article's
    lead, and its chunk competes with the chunks of the same article. Longer articles stay as they
    are. Returns the new corpus (written under ``out_dir``, named by the source corpus's bytes, so its
    index is cached like any other) and the map from old to new article ids, for the questions'
    evidence."""
    from .loaders import iter_file

    groups: dict[tuple[str, str], list] = {}
    order: list = []  # a long article as it is, or the (source, day) key of a roundup
    for a in iter_file(corpus):
        if len(a.text.split()) > max_words:
            order.append(a)
            continue
        key = (a.source, a.published)
        if key not in groups:
            groups[key] = []
            order.append(key)
        groups[key].append(a)
    digest = hashlib.sha1(corpus.read_bytes()).hexdigest()[:12]
    out = Path(out_dir) / f"roundups-{corpus.stem}-{digest}-{max_paragraphs}-{max_words}.jsonl"
    mapping: dict[str, str] = {}
    rows = []
    for item in order:
        if not isinstance(item, tuple):
            rows.append({"id": item.id, "title": item.title, "source": item.source, "url": item.url,
                         "published": item.published, "text": item.text})
            continue
        members = groups[item]
        for part, start in enumerate(range(0, len(members), max_paragraphs)):
            chunk = members[start:start + max_paragraphs]
            new_id = f"roundup-{re.sub(r'[^A-Za-z0-9]+', '-', item[0]).strip('-') or 'nosource'}-" \
                     f"{item[1] or 'undated'}-{part + 1}"
            mapping.update((a.id, new_id) for a in chunk)
            rows.append({"id": new_id, "title": "", "source": item[0], "url": "", "published": item[1],
                         "text": "\n\n".join(a.text.strip() for a in chunk)})
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            for r in rows:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
        os.replace(tmp, out)
    return out, mapping


def remap_evidence(questions: list[Question], mapping: dict[str, str]) -> list[Question]:
    """The same questions with their evidence ids moved to the articles that now hold the evidence."""
    return [replace(q, evidence_ids=list(dict.fromkeys(mapping.get(d, d) for d in q.evidence_ids)))
            for q in questions]


def question_set(questions: list[Question]) -> dict:
    """How many different questions a set holds, and which are labelled both ways: the same question
    (text and ``as_of``) once answerable and once unanswerable. No answer can be right for both copies,
    so such rows bound correct rejection and false abstention together (news-dev: 2,094 rows, 1,591
    different questions, 17 of them labelled both ways over 20 unanswerable and 54 answerable rows)."""
    groups: dict[tuple[str, str | None], list[Question]] = {}
    for q in questions:
        groups.setdefault((" ".join(q.question.lower().split()), q.as_of), []).append(q)
    both = [g for g in groups.values() if len({q.answerable for q in g}) > 1]
    return {"distinct": len(groups), "repeated_rows": len(questions) - len(groups),
            "labelled_both_ways": len(both),
            "rows_labelled_both_ways": {"answerable": sum(q.answerable for g in both for q in g),
                                        "unanswerable": sum(not q.answerable for g in both for q in g)},
            "examples": sorted({g[0].id for g in both})[:5]}


def sample_questions(questions: list[Question], n: int, min_unanswerable: float = 0.15) -> list[Question]:
    """``n`` questions spread evenly over the set, unanswerable ones over-sampled to at least
    ``min_unanswerable`` of them (all of them when there are fewer); deterministic, in file order."""
    unans = [q for q in questions if not q.answerable]
    ans = [q for q in questions if q.answerable]
    n_un = min(len(unans), max(round(n * min_unanswerable), round(n * len(unans) / max(1, len(questions)))))
    n_an = min(len(ans), n - n_un)

    def spread(items: list[Question], m: int) -> list[Question]:
        return [items[int(i * len(items) / m)] for i in range(m)] if m else []

    chosen = {id(q) for q in spread(unans, n_un) + spread(ans, n_an)}
    return [q for q in questions if id(q) in chosen]


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


# ---- building the index once -----------------------------------------------------------
def corpus_index_dir(corpus: Path, cache: Path, chunking: ChunkingConfig, model: str) -> Path:
    """The cached index of a corpus file (or a folder of texts, e.g. chunking-eval's corpora), named
    by the corpus's bytes, the chunking, the model, the text normalisation (``TEXT_VERSION``) and the
    chunker's rules (``CHUNKER_VERSION``): changing any of them builds another."""
    h = hashlib.sha1()
    files = sorted(p for p in corpus.iterdir() if p.is_file()) if corpus.is_dir() else [corpus]
    for path in files:
        if corpus.is_dir():
            h.update(path.name.encode() + b"\0")
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    h.update(json.dumps({"chunking": as_dict(chunking), "model": model, "format": FORMAT_VERSION,
                         "text": TEXT_VERSION, "chunker": CHUNKER_VERSION}, sort_keys=True).encode())
    return cache / f"{corpus.stem}{'-spans' if corpus.is_dir() else ''}-{h.hexdigest()[:12]}"


# ---- running ---------------------------------------------------------------------------
def _rank_of_gold(doc_ids: list[str], gold: set[str]) -> int | None:
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


def baseline_answers(q: Question, a: Answer) -> dict:
    """The trivial answers from the same retrieval, never abstaining: ``lead`` = the first sentence
    of the top passage, ``passage`` = the whole top passage."""
    from .text import sentence_spans

    top = a.passages[0] if a.passages else None
    texts = {"lead": "", "passage": ""}
    if top is not None:
        spans = sentence_spans(top.text)
        texts = {"lead": top.text[spans[0][0]:spans[0][1]] if spans else top.text, "passage": top.text}
    gold = bool(top is not None and top.doc_id in q.evidence_ids)
    return {name: {"correct": contains_answer(t, q.answers) if q.answerable else None,
                   "first_citation_gold": gold if q.answerable else None, "words": answer_words(t)}
            for name, t in texts.items()}


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
        rank = _rank_of_gold(doc_ids, set(q.evidence_ids)) if q.answerable else None
        row = {"id": q.id, "question": q.question, "as_of": q.as_of, "answerable": q.answerable,
               "gold": q.answers, "gold_doc_ids": q.evidence_ids, **score_answer(q, a, scorer),
               "confidence": round(a.confidence, 4), "mode": a.mode,
               "retrieved": [{"doc_id": p.doc_id, "score": round(p.score, 5), "dense": p.dense,
                              "text": p.text[:300]} for p in a.passages[:10]],
               "gold_rank": rank, "gold_in_corpus": _gold_in_corpus(engine, q),
               "latency_ms": round(latency, 2),
               "first_token_ms": round(a.timings.get("first_token", latency), 2),
               "baselines": baseline_answers(q, a)}
        if a.mode != "extractive":
            row["retrieval_gate"] = a.retrieval_gate
            row["draft"] = score_answer(q, a.draft, scorer) if a.draft is not None else None
            row["verification"] = a.verification
        rows.append(row)
        if progress:
            progress(i + 1, len(questions))
    metrics = summarize(rows)
    metrics["question_set"] = question_set(questions)
    if (split := gold_in_corpus(rows)) is not None:
        metrics["gold_in_corpus"] = split
    if mode != "extractive":
        metrics["variants"] = variants(rows)
    return metrics, rows


def _gold_in_corpus(engine, q: Question) -> bool | None:
    """Whether any article the question names as its evidence is indexed (None: it names none, or
    it is unanswerable). A question whose evidence is missing can only be answered by chance."""
    if not q.answerable or not q.evidence_ids:
        return None
    return any(d in engine.store.articles for d in q.evidence_ids)


def gold_in_corpus(rows: list[dict]) -> dict | None:
    """The answer metrics over the answerable questions whose evidence article is in the corpus, beside
    those whose evidence is missing (news-dev: 170 of 2,040 cite an article that is not in its corpus, so
    no answer can cite a gold article for them); None when no evidence is missing."""
    def block(rs: list[dict]) -> dict:  # the whole set's definitions (summarize, compare_answers), on a part
        m, base = summarize(rs), compare_answers(rs, list(ANSWER_BASELINES))
        return {"n": len(rs), "hit@5": m["retrieval"]["hit@5"], "accuracy": m["answer"]["accuracy"],
                "first_citation_gold": m["answer"]["first_citation_gold"],
                "false_abstention": m["abstention"]["false_abstention"],
                **{f"{b}_accuracy": base[b]["accuracy"] for b in ANSWER_BASELINES}}
    missing = [r for r in rows if r.get("gold_in_corpus") is False]
    if not missing:
        return None
    return {"present": block([r for r in rows if r.get("gold_in_corpus")]), "missing": block(missing)}


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


def word_stats(counts: list[int | None]) -> dict:
    """Mean and 95th percentile of answer length in words (abstentions not counted)."""
    w = np.array([c for c in counts if c is not None], dtype=float)
    return {"mean_words": float(w.mean()) if len(w) else 0.0,
            "p95_words": float(np.percentile(w, 95)) if len(w) else 0.0}


def compare_answers(rows: list[dict], which: list[str]) -> dict:
    """Answer metrics of the trivial baselines (``baseline_answers``) over the same questions."""
    out = {}
    ans = [r for r in rows if r["answerable"]]
    for name in which:
        b = [r["baselines"][name] for r in rows]
        ba = [r["baselines"][name] for r in ans]
        out[name] = {"accuracy": sum(1 for x in ba if x["correct"]) / max(1, len(ba)),
                     "first_citation_gold": sum(1 for x in ba if x["first_citation_gold"]) / max(1, len(ba)),
                     **word_stats([x["words"] for x in b])}
    return out


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


# ---- plain retrievers for --compare -----------------------------------------------------
def compare_retrievers(engine, questions: list[Question], which: list[str], k: int = 10,
                       ignore_as_of: bool = False, progress: Callable[[str, int, int], None] | None = None) -> dict:
    """Retrieval metrics of plain baselines over the same chunks.

    dense:   LlamaIndex's default vector retriever (VectorStoreIndex over a FaissVectorStore
             holding the engine's own chunk vectors), no filters, no fusion, no as_of.
    lexical: the engine's BM25 alone (same filters and as_of as the pipeline unless ignored).
    """
    out = {}
    answerable = [q for q in questions if q.answerable]
    for name in which:
        ranks = []
        if name == "dense":
            retrieve = _llamaindex_dense(engine, k)
        elif name == "lexical":
            def retrieve(q: Question) -> list[str]:
                from .retrieval import Filters

                f = Filters(as_of=None if ignore_as_of else q.as_of)
                return [p.doc_id for p in engine.retriever.search(q.question, k=k, filters=f, mode="lexical")]
        else:
            raise ValueError(f"unknown --compare retriever {name!r}; use dense and/or lexical")
        for i, q in enumerate(answerable):
            ranks.append(_rank_of_gold(retrieve(q), set(q.evidence_ids)))
            if progress:
                progress(name, i + 1, len(answerable))
        out[name] = retrieval_metrics(ranks)
    return out


def _llamaindex_dense(engine, k: int):
    import faiss
    from llama_index.core import Settings, StorageContext, VectorStoreIndex
    from llama_index.core.schema import TextNode
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding
    from llama_index.vector_stores.faiss import FaissVectorStore

    from .embeddings import model_path

    Settings.llm = None  # never an LLM (and never OpenAI) in this path
    embed = HuggingFaceEmbedding(model_name=model_path(), device="cpu", normalize=True)
    Settings.embed_model = embed
    store = engine.store
    ids, vecs = store.vector_matrix()
    nodes = []
    for cid, vec in zip(ids, vecs):
        c = store.chunks[int(cid)]
        nodes.append(TextNode(id_=str(cid), text=c.text, embedding=vec.tolist(), metadata={"doc_id": c.doc_id}))
    vector_store = FaissVectorStore(faiss_index=faiss.IndexFlatIP(store.manifest.dim))
    index = VectorStoreIndex(nodes, storage_context=StorageContext.from_defaults(vector_store=vector_store),
                             embed_model=embed)
    retriever = index.as_retriever(similarity_top_k=k)

    def retrieve(q: Question) -> list[str]:
        return [n.node.metadata["doc_id"] for n in retriever.retrieve(q.question)]

    return retrieve


def print_table(metrics: dict, compare: dict | None = None, file=sys.stdout,
                answers: dict | None = None) -> None:
    print(f"questions: {metrics['n_questions']} ({metrics['n_answerable']} answerable, "
          f"{metrics['n_unanswerable']} unanswerable)", file=file)
    qs = metrics.get("question_set")
    if qs and (qs["repeated_rows"] or qs["labelled_both_ways"]):
        both = qs["rows_labelled_both_ways"]
        print(f"question set  {qs['distinct']} different questions ({qs['repeated_rows']} rows repeat one); "
              f"{qs['labelled_both_ways']} labelled both answerable and unanswerable ({both['answerable']} + "
              f"{both['unanswerable']} rows, e.g. {', '.join(qs['examples'][:3])}): no answer is right for both",
              file=file)
    for group in ("retrieval", "answer", "abstention", "faithfulness", "latency_ms"):
        vals = "  ".join(f"{k}={v:.3f}" if group != "latency_ms" and "words" not in k else f"{k}={v:.1f}"
                         for k, v in metrics[group].items())
        print(f"{group:<13} {vals}", file=file)
    for name, m in metrics.get("variants", {}).items():
        vals = "  ".join(f"{k}={v:.3f}" for g in ("answer", "abstention", "faithfulness") for k, v in m[g].items())
        print(f"{name:<16} {vals}", file=file)
    if compare:
        print("\nretrieval       hit@1   hit@5  hit@10  mrr@10", file=file)
        rows = {"pipeline": metrics["retrieval"], **compare}
        for name, m in rows.items():
            print(f"{name:<14} {m['hit@1']:.3f}  {m['hit@5']:.3f}  {m['hit@10']:.3f}  {m['mrr@10']:.3f}", file=file)
    if answers:
        print("\nanswers        accuracy  first_citation_gold  mean_words  p95_words", file=file)
        rows = {"pipeline": metrics["answer"], **answers}
        for name, m in rows.items():
            print(f"{name:<14} {m['accuracy']:.3f}     {m['first_citation_gold']:.3f}                "
                  f"{m['mean_words']:>6.1f}     {m['p95_words']:>6.1f}", file=file)
        print("(lead = first sentence of the top passage, passage = the whole top passage; both never abstain)",
              file=file)
    if split := metrics.get("gold_in_corpus"):
        print("\nevidence article   n      hit@5  accuracy  first_citation_gold  false_abstention  lead   passage",
              file=file)
        for name, label in (("present", "in the corpus"), ("missing", "not in it")):
            m = split[name]
            print(f"{label:<16} {m['n']:>5}  {m['hit@5']:.3f}  {m['accuracy']:.3f}     {m['first_citation_gold']:.3f}"
                  f"                {m['false_abstention']:.3f}             {m['lead_accuracy']:.3f}  "
                  f"{m['passage_accuracy']:.3f}", file=file)


# ---- the report --------------------------------------------------------------------------
def _png(fig) -> str:
    import base64
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def write_report(path: Path, metrics: dict, rows: list[dict], threshold: float, compare: dict | None,
                 answers: dict | None = None) -> None:
    """report.html: metrics, plots (hit@k, confidence by answerability, latency), worst failures."""
    import html

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ans = [r for r in rows if r["answerable"]]
    ks = list(range(1, 11))
    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.plot(ks, [sum(1 for r in ans if r["gold_rank"] and r["gold_rank"] <= k) / max(1, len(ans)) for k in ks],
            marker="o")
    ax.set(xlabel="k", ylabel="hit@k", title="Retrieval: gold article in the top k", ylim=(0, 1))
    ax.grid(alpha=0.3)
    hit_png = _png(fig)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(5, 3.2))
    bins = np.linspace(0, 1, 41)
    ax.hist([r["confidence"] for r in rows if r["answerable"]], bins=bins, alpha=0.6, density=True,
            label="answerable")
    ax.hist([r["confidence"] for r in rows if not r["answerable"]], bins=bins, alpha=0.6, density=True,
            label="unanswerable")
    ax.axvline(threshold, color="k", linestyle="--", label=f"abstain below {threshold:.2f}")
    ax.set(xlabel="answer confidence", ylabel="density", title="Confidence by answerability")
    ax.legend()
    conf_png = _png(fig)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.hist([r["latency_ms"] for r in rows], bins=40)
    ax.set(xlabel="latency (ms)", ylabel="questions", title="Latency per question")
    lat_png = _png(fig)
    plt.close(fig)

    def table(m: dict) -> str:
        def fmt(v) -> str:
            return f"{v:.4f}" if isinstance(v, float) else html.escape(str(v))

        cells = []
        for group, vals in m.items():
            if isinstance(vals, dict):
                for k, v in flatten(vals).items() if any(isinstance(x, dict) for x in vals.values()) else vals.items():
                    cells.append(f"<tr><td>{html.escape(group)}</td><td>{html.escape(k)}</td><td>{fmt(v)}</td></tr>")
            else:
                cells.append(f"<tr><td colspan=2>{html.escape(group)}</td><td>{fmt(vals)}</td></tr>")
        return "<table>" + "".join(cells) + "</table>"

    failures = sorted((r for r in ans if not r["correct"]), key=lambda r: (r["gold_rank"] is not None, -r["confidence"]))
    fail_html = []
    for r in failures[:25]:
        retrieved = "".join(
            f"<li><code>{html.escape(p['doc_id'])}</code> ({p['score']:.3f}"
            f"{' <b>gold</b>' if p['doc_id'] in r['gold_doc_ids'] else ''}): {html.escape(p['text'])}</li>"
            for p in r["retrieved"][:5])
        fail_html.append(
            f"<div class=fail><p><b>{html.escape(r['question'])}</b> <small>as_of {html.escape(str(r['as_of']))}"
            f"</small><br>gold: {html.escape(', '.join(r['gold']))} · gold rank: {r['gold_rank']} · confidence "
            f"{r['confidence']:.3f}</p><p>answer: {html.escape(r['answer'])}</p><ol>{retrieved}</ol></div>")
    comp = ""
    if answers:
        comp += ("<h2>Answers compared with trivial baselines</h2><p>lead = the first sentence of the top passage, "
                 "passage = the whole top passage (same retrieval; they never abstain).</p>"
                 + table({"pipeline": {k: v for k, v in metrics["answer"].items() if k in
                                       ("accuracy", "first_citation_gold", "mean_words", "p95_words")}, **answers}))
    if compare:
        comp += "<h2>Retrievers compared</h2>" + table({"pipeline": metrics["retrieval"], **compare})
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>qa eval report</title>
<style>body{{font-family:sans-serif;max-width:1000px;margin:2em auto;padding:0 1em}}
table{{border-collapse:collapse}}td{{border:1px solid #ccc;padding:2px 8px}}
img{{max-width:100%;margin:4px}}.fail{{border-top:1px solid #ddd;margin-top:1em}}
.plots{{display:flex;flex-wrap:wrap}}</style></head><body>
<h1>Evaluation report</h1>
<p>{metrics['n_questions']} questions ({metrics['n_answerable']} answerable, {metrics['n_unanswerable']}
unanswerable).</p>{table(metrics)}{comp}
<h2>Plots</h2><div class=plots><img alt="hit@k curve" src="{hit_png}"><img alt="confidence by answerability"
src="{conf_png}"><img alt="latency histogram" src="{lat_png}"></div>
<h2>Worst failures (answerable, answered wrongly or abstained)</h2>{''.join(fail_html) or '<p>none</p>'}
</body></html>"""
    path.write_text(page, encoding="utf-8")


# ---- span recall (chunking-eval) -----------------------------------------------------------
def span_recall(engine, questions_path: Path, corpora_dir: Path, k: int = 5,
                progress: Callable[[int, int], None] | None = None) -> dict:
    """Share of gold characters covered by the top-k retrieved chunks of the right corpus; and
    ``answer_span_hit``: the share of questions whose answer's first citation overlaps a gold span."""
    from .retrieval import Filters

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


def load_chunking_corpora(corpora_dir: Path) -> list:
    """The chunking-eval texts as articles whose source is the corpus name (for filtering)."""
    from .loaders import content_hash
    from .types import Article

    out = []
    for f in sorted(Path(corpora_dir).glob("*.md")):
        text = f.read_text(encoding="utf-8")  # not normalised: the gold spans index the raw text
        out.append(Article(id=f"corpus-{f.stem}", text=text, title="", source=f.stem, origin=str(f),
                           content_hash=content_hash(text)))
    return out


# ---- command line ------------------------------------------------------------------------
def main(args) -> int:
    """``qa eval``: see ``qa eval --help``."""
    from .embeddings import DEFAULT_BACKEND, MODEL_NAME
    from .engine import QA
    from .progress import Bars

    questions_path = Path(args.questions)
    corpus = Path(args.corpus)
    if not corpus.exists():
        raise InputError(str(corpus), "corpus not found")
    quiet = args.quiet
    chunking = ChunkingConfig()
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
    span_mode = corpus.is_dir()
    engine = QA(index_dir=index_dir, chunking=chunking)
    bar = Bars(not quiet)

    if span_mode:  # chunking-eval: corpora folder + span-labelled questions
        if not len(engine.store):
            engine.ingest(articles=load_chunking_corpora(corpus), progress=bar)
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
    metrics["settings"] = {"k": args.k, "ignore_as_of": args.ignore_as_of, "shift_as_of_days": shift,
                           "roundups": getattr(args, "roundups", 0) or 0,
                           "index": str(index_dir), "mode": mode,
                           "gate": not getattr(args, "no_gate", False),
                           "abstain_threshold": engine.answer_config.abstain_threshold}
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
        with open(out / "results.jsonl", "w", encoding="utf-8") as f:
            for r in rows:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
        write_report(out / "report.html", metrics, rows, engine.answer_config.abstain_threshold, compare, answers)
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
