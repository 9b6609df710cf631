"""Question sets and corpora for ``qa eval``: loading, sampling, shifting dates, roundups, and the
cache folder of a corpus's index.

Formats (one JSON object per line):
  corpus:    {"id", "title", "source", "url", "published", "text"}
  questions: {"id", "question", "answers": [..], "answerable": bool,
              "evidence": [{"doc_id", "text"}], "as_of"?: "YYYY-MM-DD", "choices"?: [..],
              "sources"?: [outlets holding the answer], "conflict"?: {"doc_id", "value"}}

The index for a corpus is built once and reused: its folder name is a hash of the corpus bytes
and of everything that decides the stored texts, chunks and vectors.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path

from ..chunking import CHUNKER_VERSION
from ..config import ChunkingConfig, as_dict
from ..errors import InputError
from ..stores import FORMAT_VERSION
from ..text import TEXT_VERSION


@dataclass
class Question:
    id: str
    question: str
    answers: list[str]
    answerable: bool
    evidence_ids: list[str]
    as_of: str | None = None
    choices: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)  # the outlets whose articles hold the answer
    # a conflict set's label (eval/make_conflict_set.py): {"doc_id", "value"} of an altered copy stating
    # another value (a conflict to find), {"doc_id", "value": null} of a reworded copy (none to find)
    conflict: dict | None = None


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
                                as_of=d.get("as_of") or None, choices=list(d.get("choices") or []),
                                sources=[str(x) for x in d.get("sources") or []],
                                conflict=d.get("conflict") if isinstance(d.get("conflict"), dict) else None))
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
    from ..loaders import iter_file

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


def load_chunking_corpora(corpora_dir: Path) -> list:
    """The chunking-eval texts as articles whose source is the corpus name (for filtering)."""
    from ..loaders import content_hash
    from ..types import Article

    out = []
    for f in sorted(Path(corpora_dir).glob("*.md")):
        text = f.read_text(encoding="utf-8")  # not normalised: the gold spans index the raw text
        out.append(Article(id=f"corpus-{f.stem}", text=text, title="", source=f.stem, origin=str(f),
                           content_hash=content_hash(text)))
    return out
