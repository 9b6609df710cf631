"""Verify any answer text against the passages it was given: fix, drop or keep each sentence.

Usable on generated answers, on external systems' answers and on text a user typed:

    v = verify_answer("Russia, Turkey and Iran mediate. [2] Paris is in France. [1]", passages, article_text)
    v.text, v.citations, v.abstained, v.removed

For each sentence (split at its ``[n]`` markers):
1. citation numbers outside 1..len(passages) are discarded;
2. the sentence is scored (qa.support.SupportScorer) against each passage it cites; the best
   supporting one is kept;
3. if none of its citations supports it, it is scored against every passage: a supporting
   passage replaces the wrong number (the citation is *corrected*);
4. a sentence no passage supports is removed, or kept and marked "[unsupported]" when
   ``drop_unsupported`` is False;
5. if no sentence survives (or the answer says it does not know), the result abstains.
Every kept citation quotes the passage sentence that best matches the claim, with its exact
span in the article, as extractive answers do.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from .support import SupportResult, SupportScorer
from .text import sentence_spans
from .types import Citation, Passage

_CITED_SENTENCE = re.compile(r"(.+?)((?:\s*\[\d+\])+)(?=\s|$)", re.S)
_DONT_KNOW = re.compile(r"\b(i don'?t know|i do not know|not (?:stated|mentioned|say)|don'?t say|cannot answer)\b", re.I)


def _expand(m: re.Match) -> str:
    nums: list[str] = []
    for part in re.split(r"\s*[,;]\s*", m.group(1)):
        a, _, b = part.partition("-")
        if b.strip().isdigit() and a.strip().isdigit() and 0 <= int(b) - int(a) <= 10:
            nums += [str(i) for i in range(int(a), int(b) + 1)]
        elif part.strip().isdigit():
            nums.append(part.strip())
    return "".join(f"[{n}]" for n in nums)


def normalize_citations(text: str) -> str:
    """Bring the ways models write citations to one form: "claim. [1][2]".

    "[1, 2]" and "[1-2]" become "[1][2]"; "[1], [2]" and "[1] and [2]" lose the separator;
    a marker written before the sentence's full stop ("talks [1].") moves after it; markers that
    open the answer ("[1] Iraq") move to the end of its first claim.
    """
    lead = re.match(r"\s*((?:\[\d+\]\s*)+)(?=[^\s\[])", text)
    if lead:
        marks, rest = re.sub(r"\s+", "", lead.group(1)), text[lead.end():]
        spans = sentence_spans(rest)
        end = spans[0][1] if spans else len(rest)
        nxt = re.search(r"\s*\[\d+\]", rest)
        at = nxt.start() if nxt and nxt.start() <= end else end
        text = f"{rest[:at]} {marks}{rest[at:]}"
    text = re.sub(r"\[(\d+(?:\s*(?:[,;]|-|\u2013)\s*\d+)+)\]", lambda m: _expand(m).replace("\u2013", "-"),
                  text.replace("\u2013", "-"))
    text = re.sub(r"\]\s*(?:,|;|and|&)\s*\[(?=\d)", "][", text)
    text = re.sub(r"\s*((?:\[\d+\])+)\s*([.!?;:,]+)(?=\s|$)", r"\2 \1", text)
    return re.sub(r"(\[\d+\])\s*[,;]+(?=\s|$)", r"\1", text)


def says_dont_know(text: str) -> bool:
    """The answer is a refusal ("I don't know", "the passages don't say"), not a claim."""
    return bool(_DONT_KNOW.search(text)) and len(cited_sentences(text)) <= 1


def cited_sentences(text: str) -> list[tuple[str, list[int]]]:
    """Split an answer into (sentence, [citation numbers]); uncited sentences get []."""
    text = normalize_citations(text)
    out = []
    pos = 0
    for m in _CITED_SENTENCE.finditer(text):
        sent = m.group(1).strip()
        nums = [int(x) for x in re.findall(r"\[(\d+)\]", m.group(2))]
        if sent:
            out.append((sent, nums))
        pos = m.end()
    rest = text[pos:].strip()
    if rest:
        for s, e in sentence_spans(rest):
            out.append((rest[s:e], []))
    return out


@dataclass
class SentenceVerdict:
    sentence: str
    cited: list[int]  # as written
    kept: bool
    passage_rank: int | None  # the supporting passage (1-based), after correction
    corrected: bool
    support: SupportResult | None
    reasons: list[str] = field(default_factory=list)


@dataclass
class Verification:
    text: str
    citations: list[Citation]
    abstained: bool
    verdicts: list[SentenceVerdict]

    @property
    def removed(self) -> list[str]:
        return [v.sentence for v in self.verdicts if not v.kept]

    @property
    def corrected(self) -> list[str]:
        return [v.sentence for v in self.verdicts if v.kept and v.corrected]


def quote_for(passage: Passage, best_sentence: str, article_text: Callable[[str], str]) -> tuple[str, int, int]:
    """The passage sentence (with article offsets) that the scorer matched to the claim."""
    text = article_text(passage.doc_id)
    spans = sentence_spans(text, passage.chunk.start, passage.chunk.end)
    for s, e in spans:
        if text[s:e] == best_sentence:
            return text[s:e], s, e
    s, e = spans[0] if spans else (passage.chunk.start, passage.chunk.end)
    return text[s:e], s, e


def _best_support(sentence: str, numbers: Iterable[int], passages: list[Passage], scorer: SupportScorer,
                  question: str | None) -> tuple[tuple, int, SupportResult] | None:
    """The supporting passage among ``numbers``, preferring one that states the whole sentence
    (supported without taking the question's words as given), then the higher score."""
    best = None
    for n in numbers:
        r = scorer.score(sentence, passages[n - 1].text, given=question)
        if not r.supported:
            continue
        whole = scorer.score(sentence, passages[n - 1].text) if question else r
        key = (whole.supported, whole.coverage, r.score)
        if best is None or key > best[0]:
            best = (key, n, r)
    return best


def verify_answer(answer_text: str, passages: list[Passage], article_text: Callable[[str], str],
                  scorer: SupportScorer | None = None, drop_unsupported: bool = True,
                  question: str | None = None) -> Verification:
    """Check every sentence of ``answer_text`` against ``passages`` (numbered from 1).

    ``question``: what the answer answers; a sentence may repeat its words without evidence, and
    only what it adds must be supported (see SupportScorer.score).
    """
    scorer = scorer or SupportScorer()
    verdicts: list[SentenceVerdict] = []
    parts: list[str] = []
    citations: list[Citation] = []
    if says_dont_know(answer_text):
        return Verification(text=answer_text, citations=[], abstained=True, verdicts=[])
    for sentence, nums in cited_sentences(answer_text):
        valid = [n for n in dict.fromkeys(nums) if 1 <= n <= len(passages)]
        reasons = [f"citation [{n}] points outside the {len(passages)} passages" for n in nums if n not in valid]
        best = _best_support(sentence, valid, passages, scorer, question)
        corrected = False
        if best is None or (question and not best[0][0]):
            # no cited passage supports it, or one does only with the question's words taken as
            # given: a passage that states the whole sentence is the better citation
            other = _best_support(sentence, range(1, len(passages) + 1), passages, scorer, question)
            if other is not None and (best is None or other[0] > best[0]):
                best = other
                corrected = other[1] not in valid
        if best is None:
            verdicts.append(SentenceVerdict(sentence, nums, False, None, False, None,
                                            reasons + ["no passage supports it"]))
            if not drop_unsupported:
                parts.append(f"{sentence} [unsupported]")
            continue
        _, n, result = best
        p = passages[n - 1]
        quote, start, end = quote_for(p, result.best_sentence, article_text)
        k = len(citations) + 1
        citations.append(Citation(n=k, doc_id=p.doc_id, title=p.title, url=p.url, published=p.published,
                                  source=p.source, quote=quote, start=start, end=end, passage_rank=p.rank,
                                  support=result.score))
        parts.append(f"{sentence} [{k}]")
        verdicts.append(SentenceVerdict(sentence, nums, True, n, corrected, result,
                                        reasons + ([f"citation corrected to passage {n}"] if corrected else [])))
    abstained = not citations
    return Verification(text=" ".join(parts), citations=citations, abstained=abstained, verdicts=verdicts)
