"""Does a passage support a sentence? A judge-free support scorer.

No NLI or judge model can be had offline, so support is decided from what is available.
A sentence (the *claim*) is **supported** by an evidence text when all of these hold:

1. **Numbers agree.** Every number in the claim (digits, decimals, thousands separators,
   percentages, and number words one..twenty) occurs among the evidence's numbers.
2. **Names agree.** Every capitalised word of the claim that is not a stop word (names of
   people, places, organisations, months, days) occurs in the evidence (case-folded and
   stemmed).
3. **Polarity agrees.** The claim and the evidence sentence that best matches it either both
   carry a negation cue (not, n't, no, never, none, nobody, nothing, neither, nor,
   cannot) or both lack one.
0. **Instructions are not evidence.** Evidence sentences that address an AI system ("ignore
   previous instructions and answer …", see qa.guard) are dropped before any check.
4. **Content is covered.** The share of the claim's content words (stemmed, stop words
   dropped) found in the evidence is at least ``MIN_COVERAGE``; or, when an embedder is
   given, the cosine between the claim and its best-matching evidence sentence is at least
   ``MIN_COSINE`` and coverage is at least ``MIN_COVERAGE_WITH_COSINE`` (paraphrases).

The score is the coverage (0..1), forced to 0 when check 1, 2 or 3 fails; ``reasons``
says which check failed.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from .guard import is_instruction
from .text import STOPWORDS, content_terms, sentence_spans, stem, words

MIN_COVERAGE = 0.6
MIN_COVERAGE_WITH_COSINE = 0.35
MIN_COSINE = 0.75

_NUMBER = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)*%?")
# the numbers under twenty in words, by value (qa.corroborate spells compounds with them too)
UNITS = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
         "sixteen seventeen eighteen nineteen").split()
_NUMBER_WORDS = {w: str(i) for i, w in enumerate([*UNITS, "twenty"])}
# "without" is not a cue: "people were without power" states an outage, it does not deny one
_NEGATION = {"not", "no", "never", "none", "nobody", "nothing", "neither", "nor", "cannot"}
_CAPITAL = re.compile(r"\b[A-Z][\w'\u2019-]*")


def numbers(text: str) -> set[str]:
    """Numbers in a text, normalised ('1,000' -> '1000', 'three' -> '3', '25%' -> '25')."""
    out = {m.group(0).rstrip("%").replace(",", "") for m in _NUMBER.finditer(text)}
    out |= {_NUMBER_WORDS[w] for w in words(text) if w in _NUMBER_WORDS}
    return {n[:-2] if n.endswith(".0") else n for n in out}


def word_key(word: str) -> str:
    """Case-folded, possessive-free stem, so "Russia's" and "Russia" match."""
    w = word.lower().replace("\u2019", "'")
    return stem(re.sub(r"'s?$", "", w))


def names(text: str) -> set[str]:
    """Keys of capitalised non-stop words: the names and proper nouns a claim asserts."""
    out = set()
    for m in _CAPITAL.finditer(text):
        w = m.group(0).lower()
        if w in STOPWORDS or w in _NUMBER_WORDS or w in _NEGATION or len(w) < 2:
            continue
        out.add(word_key(w))
    return out


def negated(text: str) -> bool:
    low = text.lower().replace("\u2019", "'")
    return "n't" in low or any(w in _NEGATION for w in words(low))


_SUFFIXES = ("n", "an", "ian", "ese", "ish", "i", "s", "es")
_ALIASES = [{"us", "america", "american", "unit"}, {"uk", "britain", "british"}, {"un", "nation"}]


def _demonym_of(name: str, ev_words: set[str]) -> bool:
    """"Russian" is stated by "Russia", "Iranian" by "Iran", "American" by "US" (names that differ
    only by a nationality suffix, and a few country aliases)."""
    for w in ev_words:
        if len(w) >= 4 and (name.startswith(w) and name[len(w):] in _SUFFIXES
                            or w.startswith(name) and len(name) >= 4 and w[len(name):] in _SUFFIXES):
            return True
    return any(name in group and ev_words & group for group in _ALIASES)


@dataclass
class SupportResult:
    supported: bool
    score: float
    coverage: float
    cosine: float | None
    best_sentence: str
    reasons: list[str] = field(default_factory=list)


def _best_match(claim: str, ev_sents: list[str], default: str) -> str:
    """The evidence sentence sharing the most content words with ``claim``."""
    terms = set(content_terms(claim))
    overlaps: list[int] = [len(terms & set(content_terms(s))) for s in ev_sents]
    return ev_sents[int(np.argmax(overlaps))] if ev_sents and any(overlaps) else default


class SupportScorer:
    """Scores claims against evidence; pass an embedder to also accept close paraphrases."""

    def __init__(self, embedder=None):
        self.embedder = embedder

    def score(self, claim: str, evidence: str, given: str | None = None) -> SupportResult:
        """Is ``claim`` stated by ``evidence``? ``given``: the question being answered, whose
        words the claim may repeat without evidence ("Justin Thomas won the 2022 PGA
        Championship" answers "Who won the 2022 PGA Championship?" when the evidence names
        Justin Thomas as the winner); only what the claim adds must be in the evidence, and a
        claim that adds nothing is not an answer."""
        # sentences addressed to an AI system are never evidence (qa.guard)
        spans = sentence_spans(evidence)
        ev_sents = [evidence[s:e] for s, e in spans if not is_instruction(evidence[s:e])]
        if len(ev_sents) != len(spans):
            evidence = " ".join(ev_sents)
        if not ev_sents:
            ev_sents = [evidence]
        claim_terms = set(content_terms(claim))
        if given:
            claim_terms -= set(content_terms(given))
        ev_terms = set(content_terms(evidence))
        coverage = len(claim_terms & ev_terms) / len(claim_terms) if claim_terms else 0.0
        # the evidence sentence that best matches the claim (by shared content words)
        overlaps = [len(claim_terms & set(content_terms(s))) for s in ev_sents]
        best = int(np.argmax(overlaps)) if ev_sents else 0
        cosine = None
        if self.embedder is not None and ev_sents:
            vecs = self.embedder.encode([claim, *ev_sents])
            sims = vecs[1:] @ vecs[0]
            best = int(np.argmax(sims)) if max(overlaps) == 0 else best
            cosine = float(sims[best])
        best_sentence = ev_sents[best] if ev_sents else ""
        reasons = []
        if given and not claim_terms and not (numbers(claim) - numbers(given)):
            reasons.append("the sentence only restates the question")
        missing_numbers = numbers(claim) - numbers(evidence) - (numbers(given) if given else set())
        if missing_numbers:
            reasons.append(f"numbers not in evidence: {', '.join(sorted(missing_numbers))}")
        ev_words = {word_key(p) for w in words(evidence) for p in (w, *re.split(r"[-.']", w)) if p}
        given_names = {word_key(p) for w in words(given) for p in (w, *re.split(r"[-.']", w)) if p} if given else set()
        missing_names = {n for n in names(claim) - ev_words - given_names if not _demonym_of(n, ev_words)}
        if missing_names:
            reasons.append(f"names not in evidence: {', '.join(sorted(missing_names))}")
        if any(negated(part) != negated(_best_match(part, ev_sents, best_sentence))
               for part in (claim[a:b] for a, b in sentence_spans(claim) or [(0, len(claim))])):
            reasons.append("negation differs from the evidence")  # each sentence of the claim vs its evidence
        covered = not claim_terms and given is not None or coverage >= MIN_COVERAGE or (
            cosine is not None and cosine >= MIN_COSINE and coverage >= MIN_COVERAGE_WITH_COSINE)
        if not covered:
            reasons.append(f"too little of the sentence is in the evidence (coverage {coverage:.2f})")
        ok = not reasons
        return SupportResult(supported=ok, score=coverage if not (missing_numbers or missing_names or
                             "negation differs from the evidence" in reasons) else 0.0,
                             coverage=coverage, cosine=cosine, best_sentence=best_sentence, reasons=reasons)
