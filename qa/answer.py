"""Extractive answers: pick the retrieved sentences that answer the question, cite each one.

Every sentence of the top passages is scored against the question:

    score = 0.55 * cosine(question, sentence)      # MiniLM; the better of the sentence alone and
                                                   # the sentence with the one before it (minus
                                                   # ``context_penalty``)
          + 0.30 * covered question terms          # IDF-weighted share of the question's stemmed
                                                   # content words found in the sentence (half
                                                   # credit when only elsewhere in its passage)
          + 0.15 * cosine(question, passage)       # how on-topic the whole passage is
    then x 0.8 when the sentence lacks what the question asks for (a number for "how many",
    a date for "when", a name for "who"), and x 0.7 when it adds nothing beyond the question.

The best sentence is the answer; up to two more join it when they score within
``relative_margin`` of it. Confidence mixes the best sentence score with the top passage's
retrieval score (1.0 = ranked first by dense and lexical search, and fresh with ``as_of``).
Below ``abstain_threshold`` (or with a best sentence under ``min_sentence_score``) the answer
abstains ("the articles don't say") and the passages are returned as related reading.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .config import AnswerConfig
from .embeddings import Embedder
from .support import names, numbers
from .text import STOPWORDS, content_terms, sentence_spans, stem, words
from .types import Answer, Citation, Passage

ABSTAIN_TEXT = "The articles don't say. The closest passages are listed below as related reading."
EMPTY_TEXT = "The index is empty, so there is nothing to answer from. Add articles with `qa ingest PATH`."

_MONTHS = r"(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
_DATEISH = re.compile(rf"\b({_MONTHS}|\d{{4}}|monday|tuesday|wednesday|thursday|friday|saturday|sunday|"
                      r"yesterday|today|tomorrow|week|month|year)\b", re.I)


@dataclass
class Candidate:
    passage: Passage
    start: int
    end: int
    text: str
    context: str = ""  # the sentence before it in the article (pronouns often point there)
    score: float = 0.0


def expected_type(question: str) -> str | None:
    q = question.lower()
    if re.search(r"\bhow (many|much)\b|\bwhat (number|percentage|share)\b|\bhow (old|long|far)\b", q):
        return "number"
    if re.search(r"\bwhen\b|\bwhat (year|date|day|month)\b", q):
        return "date"
    if re.search(r"\bwho(m|se)?\b", q):
        return "name"
    return None


_WH = re.compile(r"^\s*(who|whom|whose|what|which|when|where|why|how(?: many| much)?)\b(.*)$", re.I)
_AUX = {"is", "are", "was", "were", "will", "would", "did", "does", "do", "has", "have", "had", "can",
        "could", "should", "might", "may", "be", "been"}


def focus_term(question: str) -> str | None:
    """The question's focus: the first content word after "who will", "what did", ... (stemmed).

    In "Who will mediate the Astana talks?" it is "mediat": the sentence that answers usually
    shares the question's verb, while its topic words (Astana, talks) are everywhere nearby.
    """
    m = _WH.match(question)
    if not m:
        return None
    rest = words(m.group(2))
    while rest and rest[0] in _AUX:
        rest = rest[1:]
    if not rest or rest[0] in STOPWORDS:
        return None
    return stem(rest[0])


def has_type(sentence: str, kind: str | None) -> bool:
    if kind == "number":
        return bool(numbers(sentence))
    if kind == "date":
        return bool(_DATEISH.search(sentence))
    if kind == "name":
        return bool(names(sentence))
    return True


class ExtractiveAnswerer:
    def __init__(self, embedder: Embedder, article_text: Callable[[str], str], config: AnswerConfig | None = None,
                 term_weight: Callable[[str], float] | None = None):
        self.embedder = embedder
        self.term_weight = term_weight or (lambda t: 1.0)
        self.article_text = article_text
        self.config = config or AnswerConfig()

    def candidates(self, passages: list[Passage]) -> list[Candidate]:
        """Sentences of the top passages (each article sentence once), with the sentence before it."""
        out = []
        seen: set[tuple[str, int]] = set()
        for p in passages[: self.config.passages_considered]:
            text = self.article_text(p.doc_id)
            before = sentence_spans(text, max(0, p.chunk.start - 600), p.chunk.start)
            prev = text[before[-1][0]:before[-1][1]] if before and p.chunk.start - before[-1][1] <= 2 else ""
            for s, e in sentence_spans(text, p.chunk.start, p.chunk.end):
                if len(text[s:e]) >= 12 and (p.doc_id, s) not in seen:
                    seen.add((p.doc_id, s))
                    out.append(Candidate(p, s, e, text[s:e], context=prev))
                prev = text[s:e]
        return out

    def score(self, question: str, qvec: np.ndarray, cands: list[Candidate]) -> None:
        if not cands:
            return
        with_ctx = [i for i, c in enumerate(cands) if c.context]
        vecs = self.embedder.encode([c.text for c in cands] + [f"{cands[i].context} {cands[i].text}" for i in with_ctx])
        sims = vecs[: len(cands)] @ qvec
        # a sentence read with the one before it may match better ("The talks ... They will be ...")
        for j, i in enumerate(with_ctx):
            sims[i] = max(sims[i], float(vecs[len(cands) + j] @ qvec) - self.config.context_penalty)
        q_terms = set(content_terms(question))
        kind = expected_type(question)
        sent_terms = [set(content_terms(c.text)) for c in cands]
        n = len(cands)
        # corpus IDF times IDF among the candidate sentences: terms that single out a sentence count most
        weights = {t: self.term_weight(t) * np.log(1.0 + n / (1 + sum(t in s for s in sent_terms)))
                   for t in q_terms}
        focus = focus_term(question)
        if focus in weights:
            weights[focus] *= self.config.focus_weight
        total = sum(weights.values()) or 1.0
        passage_terms: dict[int, set[str]] = {}
        for c, sim, s_terms in zip(cands, sims, sent_terms):
            pid = c.passage.chunk.id
            if self.config.nearby == "context":
                passage_terms[pid] = set(content_terms(c.context))
            elif pid not in passage_terms:
                passage_terms[pid] = set(content_terms(c.passage.title + " " + c.passage.text))
            if q_terms:
                inside = sum(weights[t] for t in q_terms & s_terms)
                nearby = sum(weights[t] for t in (q_terms - s_terms) & passage_terms[pid])
                lex = (inside + 0.5 * nearby) / total
            else:
                lex = 0.0
            pdense = c.passage.dense if c.passage.dense is not None else float(sim)
            score = 0.55 * float(sim) + 0.30 * lex + 0.15 * pdense
            if not has_type(c.text, kind):
                score *= 0.8
            if s_terms and not (s_terms - q_terms):
                score *= 0.7
            c.score = score

    def answer(self, question: str, qvec: np.ndarray, passages: list[Passage]) -> Answer:
        cands = self.candidates(passages)
        self.score(question, qvec, cands)
        cands.sort(key=lambda c: c.score, reverse=True)
        best = cands[0].score if cands else 0.0
        cfg = self.config
        top = passages[0].score if passages else 0.0
        confidence = (1 - cfg.retrieval_weight) * best + cfg.retrieval_weight * min(1.0, top)
        if not cands or best < cfg.min_sentence_score or confidence < cfg.abstain_threshold:
            return Answer(question=question, text=ABSTAIN_TEXT, citations=[], abstained=True,
                          passages=passages, confidence=confidence)
        chosen: list[Candidate] = []
        for c in cands:
            if len(chosen) >= self.config.max_sentences or c.score < best * self.config.relative_margin:
                break
            if any(c.passage.doc_id == o.passage.doc_id and c.start < o.end and o.start < c.end for o in chosen):
                continue
            if any(c.text.strip().lower() == o.text.strip().lower() for o in chosen):
                continue
            chosen.append(c)
        citations = []
        parts = []
        for n, c in enumerate(chosen, start=1):
            p = c.passage
            citations.append(Citation(n=n, doc_id=p.doc_id, title=p.title, url=p.url, published=p.published,
                                      source=p.source, quote=c.text, start=c.start, end=c.end,
                                      passage_rank=p.rank))
            parts.append(f"{c.text} [{n}]")
        return Answer(question=question, text=" ".join(parts), citations=citations, abstained=False,
                      passages=passages, confidence=confidence)
