"""Extractive answers: the sentence of the best passage that answers the question, cited.

1. Candidates: every sentence of the top ``passages_considered`` passages, and of the further
   retrieved passages of their articles (``same_article_passages``; each article sentence once,
   none that asks a question), with the sentence before it.
2. Features per sentence (``ExtractiveAnswerer.score``): how well it matches the question
   (MiniLM cosine, alone or read with the sentence before it; IDF-weighted question-word
   coverage; the passage's cosine; whether it holds what the question asks for -- a number for
   "how many", a date for "when", a name for "who", a country or US state the question does not
   name for "which country" (``qa.places``); whether it adds anything beyond the question or
   names something the question does not; the question's focus word; whether it is a lead
   sentence: its article's first, or the first of a passage that opens a paragraph, since each
   paragraph of a multi-topic article opens its own story -- ``paragraph_leads``), and *the
   evidence*: its passage's rank and final retrieval score relative to the top passage
   (date-aware when ``as_of`` is given), so the best-ranked passage wins unless another's
   sentence is clearly better. Position is not fitted (see
   ``eval/fit_answerer.py``): only the article's lead has a weight, set by hand.
3. A logistic model turns the features into the probability that the sentence holds the answer
   (``AnswerConfig.sentence_weights``, fitted by ``eval/fit_answerer.py`` on the earlier half of
   news-dev by date and checked on the later half).
4. One sentence answers, so the answer comes from one article: the top passage's, unless another
   article's sentence is clearly likelier (``other_article_margin``). In a long article (a web page,
   ``long_article_chars``) a second scorer fitted on long articles chooses which of its sentences
   (``within_article``). The sentence before it joins
   (same citation, one contiguous span) only when the chosen sentence leans on it (a pronoun or
   connective, "he said", "The talks" after the sentence that introduced them); in a short lead
   paragraph (a passage that opens its article or a paragraph), the paragraph's other likeliest
   sentence joins when the scorer cannot tell the two apart (``lead_pair_ratio``) and both fit
   in ``lead_pair_words`` words; the sentence after it joins when it turns against it
   ("However, …"), so a quote never says the opposite of its article. Only a question that
   asks for several things ("which countries", "both", comparisons) gets more sentences, each
   from a different article and each adding a fact the others do not.
5. Confidence: a second logistic model over the best sentence's probability and the top
   passage's relevance and cosine -- plus, only for a dated question that asks about recent
   events ("this week", "latest", "on Tuesday"), the top passage's freshness; an undated
   question has its own model and threshold, so it is not judged by a recency it never got, and
   an older article answering a dated question without such a cue is not doubted for its age.
   Below the threshold the answer abstains ("the articles don't say") and the passages are
   returned as related reading.
"""
from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from . import boilerplate
from .chunking import multi_topic
from .config import AnswerConfig
from .embeddings import Embedder
from .places import KINDS, places
from .reader import holds
from .retrieval import temporal_cue
from .stores import day_number
from .support import names, numbers
from .text import STOPWORDS, asks, content_terms, paragraph_break, sentence_spans, shouting, stem, words
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
    prev_span: tuple[int, int] | None = None  # that sentence's span, when adjacent
    score: float = 0.0  # probability that the sentence holds the answer (AnswerConfig.sentence_weights)
    # in a long article, the same under the long-article scorer (AnswerConfig.long_sentence_weights): it
    # picks the sentence within the article the answer comes from (ExtractiveAnswerer.within_article)
    long_score: float | None = None
    embedded: bool = False  # its cosine was computed (see ExtractiveAnswerer.score, lazy)
    terms: frozenset[str] | set[str] = frozenset()  # question terms the sentence contains
    features: dict = field(default_factory=dict)  # what the score is computed from (ExtractiveAnswerer.score)
    dependent: bool = False  # leans on the sentence before it (in the same passage)
    lead: bool = False  # the first sentence of its article (news puts the main fact there)
    rank: int = 0  # its passage's place among the passages read, by retrieval score (1 = best)


_PLACE_QUESTION = re.compile(r"\b(?:which|what)\s+(?:[\w-]+\s+){0,2}?(country|countries|nation|nations|state|states)\b|"
                             r"\bthis (country|nation)\b", re.I)


def asking_sentence(question: str) -> str:
    """The sentence that asks: the last one with a question mark, else the whole question.

    Quiz-style questions set the scene first ("Joe Biden gained ground when six states went to the
    polls on Tuesday. Which state had the most delegates?"): what they ask for is in the question
    sentence, not in the scene's "when" or "who"."""
    asks = [question[s:e] for s, e in sentence_spans(question) if "?" in question[s:e]]
    return asks[-1] if asks else question


# "when" asks only as the question word: first in its sentence, before a verb it asks about, or "by when?"
_WHEN = re.compile(r"^\W*(?:and |so |but )?when\b|\bwhen\s+(?:did|does|do|is|was|will|were|are|has|have|had|"
                   r"could|would|can|should)\b|\bwhen\s*\?", re.I)


def expected_type(question: str) -> str | None:
    """What the question asks for: "number", "date", "country", "state" (a US state), "name" or None
    -- read from its asking sentence (``asking_sentence``)."""
    question = asking_sentence(question)
    q = question.lower()
    if re.search(r"\bhow (many|much)\b|\bwhat (number|percentage|share)\b|\bhow (old|long|far)\b", q):
        return "number"
    if _WHEN.search(q) or re.search(r"\bwhat (year|date|day|month)\b", q):
        return "date"
    m = _PLACE_QUESTION.search(question)
    if m:
        return "state" if (m.group(1) or m.group(2)).lower().startswith("state") else "country"
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


def has_type(sentence: str, kind: str | None, question: str = "") -> bool:
    """Does the sentence hold what ``expected_type`` asked for? A country or state counts only when
    the question does not name it already ("Sri Lanka's president fled to which country?")."""
    if kind in KINDS:
        return bool(places(sentence, kind) - places(question, kind))
    if kind == "number":
        return bool(numbers(sentence))
    if kind == "date":
        return bool(_DATEISH.search(sentence))
    if kind == "name":
        return bool(names(sentence))
    return True


_DEPENDENT_START = re.compile(
    r"^[\"'\u201c\u2018(]*(he|she|they|it|its|his|her|their|them|this|that|these|those|there|such|both|"
    r"but|however|also|meanwhile|still|instead|yet|so|and|then|thus|the latter|the former)\b", re.I)
_ATTRIBUTION = re.compile(r"\b(he|she|they) (said|says|added|told|wrote|noted|explained|argued)\b", re.I)
# a sentence that turns against the one before it ("Many predicted X would win. However, Y won.")
_CONTRAST_START = re.compile(r"^[\"'\u201c\u2018(]*(however|but|yet|instead|still|in fact|actually|"
                             r"nevertheless|nonetheless)\b", re.I)
_THE_NOUN = re.compile(r"^[\"'\u201c\u2018(]*the\s+(\w+)", re.I)
_MULTI = re.compile(
    r"\b(both|compared?|comparison|difference between|respectively|as well as)\b|"
    r"\b(which|what)\s+(two|three|four|five|\d+)\b|"
    r"\b(which|what)\s+(countries|nations|states|cities|companies|teams|people|players|candidates|leaders|"
    r"members|groups|events)\b", re.I)


def depends_on_previous(sentence: str, previous: str) -> bool:
    """True when ``sentence`` cannot be read alone: it points back at ``previous``."""
    if not previous:
        return False
    if _DEPENDENT_START.match(sentence) or _ATTRIBUTION.search(sentence):
        return True
    m = _THE_NOUN.match(sentence)  # "The talks ..." after a sentence that introduced the talks
    return m is not None and stem(m.group(1).lower()) in set(content_terms(previous))


def needs_several(question: str) -> bool:
    """Questions whose answer spans several facts or articles (comparisons, "which countries")."""
    return bool(_MULTI.search(question))


class SentenceVectors:
    """The vectors of sentences embedded for earlier questions, by text (least recently used out
    first): questions about the same story meet the same sentences, and embedding them is most
    of an extractive answer's time. Thread-safe; ``size`` vectors at most."""

    def __init__(self, size: int = 50_000):
        self.size = size
        self._vecs: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def encode(self, embedder: Embedder, texts: list[str]) -> np.ndarray:
        with self._lock:
            found = [self._vecs.get(t) for t in texts]
            for t, v in zip(texts, found):
                if v is not None:
                    self._vecs.move_to_end(t)
        todo = list(dict.fromkeys(t for t, v in zip(texts, found) if v is None))
        fresh = dict(zip(todo, embedder.encode(todo))) if todo else {}
        with self._lock:
            self.hits += len(texts) - len(todo)
            self.misses += len(todo)
            for t, v in fresh.items():
                self._vecs[t] = v
            while len(self._vecs) > self.size:
                self._vecs.popitem(last=False)
        return np.stack([v if v is not None else fresh[t] for t, v in zip(texts, found)])


class ExtractiveAnswerer:
    def __init__(self, embedder: Embedder, article_text: Callable[[str], str], config: AnswerConfig | None = None,
                 term_weight: Callable[[str], float] | None = None, cache: SentenceVectors | None = None):
        self.embedder = embedder
        self.term_weight = term_weight or (lambda t: 1.0)
        self.article_text = article_text
        self.config = config or AnswerConfig()
        self.cache = cache

    def candidates(self, passages: list[Passage]) -> list[Candidate]:
        """Sentences of the top passages -- and of the further passages of their articles, with
        ``same_article_passages`` -- (each article sentence once, none in capitals, none a question),
        with the sentence before it and its passage's place by score among the passages read."""
        out = []
        seen: set[tuple[str, int]] = set()
        read = passages[: self.config.passages_considered]
        if self.config.same_article_passages:
            docs = {p.doc_id for p in read}
            read = read + [p for p in passages[self.config.passages_considered:] if p.doc_id in docs]
        by_score = sorted(read, key=lambda p: (-p.score, p.rank))
        place = {id(p): n for n, p in enumerate(by_score, 1)}
        for p in read:
            text = self.article_text(p.doc_id)
            before = sentence_spans(text, max(0, p.chunk.start - 600), p.chunk.start)
            prev = (before[-1] if before and p.chunk.start - before[-1][1] <= 2 else None)
            for n, (s, e) in enumerate(sentence_spans(text, p.chunk.start, p.chunk.end)):
                if (len(text[s:e]) >= 12 and (p.doc_id, s) not in seen and not shouting(text[s:e])
                        and not asks(text[s:e])):
                    seen.add((p.doc_id, s))
                    c = Candidate(p, s, e, text[s:e], context=text[prev[0]:prev[1]] if prev else "",
                                  lead=n == 0 and self._opens_story(p, text), rank=place[id(p)])
                    c.prev_span = prev
                    out.append(c)
                prev = (s, e)
        return out

    def _opens_story(self, p: Passage, text: str) -> bool:
        """The passage starts its article (only boilerplate before it: "London CNN —") -- or, with
        ``paragraph_leads``, a paragraph of a multi-topic article (``multi_topic``: each of its
        paragraphs opens a story)."""
        start = p.chunk.start
        return boilerplate.opens_article(text, start) or (
            self.config.paragraph_leads and paragraph_break(text, max(0, start - 2), start) and multi_topic(text))

    def score(self, question: str, qvec: np.ndarray, cands: list[Candidate], asked: str | None = None,
              lazy: bool | None = None) -> None:
        """Each candidate's features and its probability of holding the answer. ``question`` is what was
        searched (for a follow-up: the question plus the previous turn's topic words), ``asked`` the
        question as the user put it: its own words, type and focus decide which sentence answers.

        ``lazy`` (default ``AnswerConfig.lazy_embedding``): the sentence cosine is the only feature
        that needs the model, and it is at most 1, so candidates are embedded in order of their
        score without it, and the rest are left out once none of them could reach the margin of the
        best one (``relative_margin``) -- or, in a short lead paragraph, beside it. Every candidate
        that can change the answer or its confidence gets its exact score; the others get a lower
        bound below the margin (the same answer as embedding everything, for a fraction of the
        model's work)."""
        if not cands:
            return
        asked = asked or question
        cfg = self.config
        lazy = cfg.lazy_embedding if lazy is None else lazy
        q_terms = set(content_terms(question))
        own_terms = set(content_terms(asked))
        q_facts = names(question) | numbers(question)
        kind = expected_type(asked)
        sent_terms = [set(content_terms(c.text)) for c in cands]
        n = len(cands)
        # corpus IDF times IDF among the candidate sentences: terms that single out a sentence count most
        weights = {t: self.term_weight(t) * np.log(1.0 + n / (1 + sum(t in s for s in sent_terms)))
                   for t in q_terms}
        focus = focus_term(asked)
        if focus in weights:
            weights[focus] *= cfg.focus_weight
        total = sum(weights.values()) or 1.0
        top_score = max(c.passage.score for c in cands)
        top_rel = max(_relevance(c.passage) for c in cands)
        passage_terms: dict[int, set[str]] = {}
        for c, s_terms in zip(cands, sent_terms):
            pid = c.passage.chunk.id
            if pid not in passage_terms:
                passage_terms[pid] = set(content_terms(c.passage.title + " " + c.passage.text))
            if q_terms:
                inside = sum(weights[t] for t in q_terms & s_terms)
                nearby = sum(weights[t] for t in (q_terms - s_terms) & passage_terms[pid])
                lex = (inside + 0.5 * nearby) / total
            else:
                lex = 0.0
            c.terms = s_terms & own_terms
            c.dependent = bool(c.prev_span and c.prev_span[0] >= c.passage.chunk.start
                               and depends_on_previous(c.text, c.context))
            c.features = {
                "sim": 0.0, "lex": lex,
                "pdense": c.passage.dense if c.passage.dense is not None else 0.0,
                "typed": float(has_type(c.text, kind, asked)),
                "adds": float(bool(s_terms - q_terms) or not s_terms),
                "novel": float(bool((names(c.text) | numbers(c.text)) - q_facts)),
                "rank": ((c.rank or c.passage.rank) - 1) / 9, "score_gap": c.passage.score - top_score,
                "relevance_gap": _relevance(c.passage) - top_rel, "words": min(len(c.text.split()), 60) / 60,
                "dependent": float(c.dependent), "question_terms": len(c.terms) / 5,
                "focus": float(focus is not None and focus in s_terms),
                "lead": float(c.lead),
            }
        w_sim = cfg.sentence_weights.get("sim", 0.0)
        if w_sim <= 0 or any(c.passage.dense is None for c in cands):
            lazy = False
        base = [_linear(cfg.sentence_weights, c.features) for c in cands]  # the score with sim = 0
        order = sorted(range(n), key=lambda i: -base[i])
        several = needs_several(question)
        top_doc = _top_article(cands)
        openers = {c.passage.chunk.id for c in cands if c.lead}  # passages that open their article (or story)
        done: set[int] = set()
        exact = lambda i: base[i] + w_sim * cands[i].features["sim"]  # noqa: E731 (logit, once embedded)
        while len(done) < n:
            if not lazy:
                todo = [i for i in order if i not in done]
            elif not done:
                todo = order[:4]  # the likeliest without the cosine first; they set the bar
            else:
                best = max((exact(i) for i in done), default=np.inf)
                # the lowest logit that can still matter: the best itself, or the margin under it
                floor = _logit(cfg.relative_margin * _sigmoid(best)) if several else best
                # the top article's sentences matter down to other_article_margin under the best (see answer)
                top_floor = min(floor, best - cfg.other_article_margin)
                todo = [i for i in order if i not in done and base[i] + w_sim >
                        (top_floor if cands[i].passage.doc_id == top_doc else floor)][:8]
                # a short lead paragraph's sentences are compared with each other (span)
                leads = {cands[i].passage.chunk.id for i in done
                         if exact(i) >= floor and cands[i].passage.chunk.id in openers}
                todo += [i for i in order if i not in done and i not in todo and cands[i].passage.chunk.id in leads]
                if not todo:
                    break
            self._embed_sims(qvec, [cands[i] for i in todo])
            done.update(todo)
        long_docs = self._long_articles(cands, max(done, key=exact) if done else None, top_doc)
        if long_docs:
            self._score_long(qvec, cands, long_docs, done, lazy)
        for i, c in enumerate(cands):
            if i not in done:  # never embedded: a lower bound, under everything that can matter
                c.features["sim"] = -1.0
            self._probabilities(c, c.passage.doc_id in long_docs)

    def _probabilities(self, c: Candidate, long: bool) -> None:
        """The candidate's probabilities from its features (its cosine as embedded, or the bound):
        the common scorer's, and the long-article scorer's when its article is long."""
        if c.passage.dense is None:
            c.features["pdense"] = c.features["sim"]
        c.score = _logistic(self.config.sentence_weights, c.features)
        if long:
            c.long_score = _logistic(self.config.long_sentence_weights, c.features)

    def _long_articles(self, cands: list[Candidate], best: int | None, top_doc: str) -> set[str]:
        """The long articles the answer can come from (``follow_evidence``: the top passage's, or the
        best sentence's, ``cands[best]``)."""
        cfg = self.config
        if not cfg.long_sentence_weights:
            return set()
        docs = {top_doc} | ({cands[best].passage.doc_id} if best is not None else set())
        return {d for d in docs if len(self.article_text(d)) >= cfg.long_article_chars}

    def _score_long(self, qvec: np.ndarray, cands: list[Candidate], docs: set[str], done: set[int],
                    lazy: bool) -> None:
        """Embed, in each long article in ``docs``, every sentence that could still beat the article's
        best under the long-article scorer (the cosine is at most 1): its choice is exact, as the
        common scorer's is."""
        w = self.config.long_sentence_weights
        w_sim = w.get("sim", 0.0)
        base = {i: _linear(w, {**c.features, "sim": 0.0}) for i, c in enumerate(cands) if c.passage.doc_id in docs}
        exact = lambda i: base[i] + w_sim * cands[i].features["sim"]  # noqa: E731 (logit, once embedded)
        for d in docs:
            mine = [i for i in base if cands[i].passage.doc_id == d]
            while True:
                best = max((exact(i) for i in mine if i in done), default=-np.inf)
                todo = [i for i in sorted(mine, key=lambda i: -base[i]) if i not in done
                        and (not lazy or w_sim <= 0 or base[i] + w_sim > best)][:8]
                if not todo:
                    break
                self._embed_sims(qvec, [cands[i] for i in todo])
                done.update(todo)
            # the chosen sentence's passage may be a lead paragraph, whose other sentences (and the one
            # right after it) may join the quote by their score (span): they must be exact too
            top = max((i for i in mine if i in done), key=exact, default=None)
            if top is not None:
                c = cands[top]
                rest = [i for i in mine if i not in done and (cands[i].passage is c.passage
                                                               or cands[i].prev_span == (c.start, c.end))]
                self._embed_sims(qvec, [cands[i] for i in rest])
                done.update(rest)

    def within_article(self, ranked: list[Candidate]) -> list[Candidate]:
        """In a long article, the sentence the answer quotes is the long-article scorer's best of that
        article (the common scorer still chooses the article, and judges whether to answer: the
        confidence model was fitted on it). That scorer, fitted by ``eval/fit_answerer.py`` on
        news-fullarticles-dev's and news-dev's earlier halves over questions with a long top article,
        leans on the question's words (lex) and new names and numbers more, and on passage rank and
        cosine less. On news-fullarticles-dev's later half the answer's sentence holds the gold for
        0.355 of the answerable questions with a long top article instead of 0.315 (the fit's
        ``long_top1``; docs/answering.md, "Long articles")."""
        if not ranked or ranked[0].long_score is None:
            return ranked
        doc = ranked[0].passage.doc_id
        best = max((c for c in ranked if c.passage.doc_id == doc), key=lambda c: c.long_score or 0.0)
        return ranked if best is ranked[0] else [best] + [c for c in ranked if c is not best]

    def _embed_sims(self, qvec: np.ndarray, cands: list[Candidate]) -> None:
        """The MiniLM cosine of each candidate with the question, alone or read with the sentence
        before it (whichever matches better, the latter less ``context_penalty``).

        By default (``pair_vectors="sum"``) the pair is not embedded as one text: its vector is the
        normalised sum of the two sentences' own vectors, so each sentence is embedded once (and
        cached) instead of once alone and again inside every pair -- about 60 % of the tokens. On
        400 news-dev questions 2 answers differ (benchmarks/answer_speed.py measures both ways)."""
        if not cands:
            return
        with_ctx = [i for i, c in enumerate(cands) if c.context]
        summed = self.config.pair_vectors == "sum"
        texts = [c.text for c in cands] + [cands[i].context if summed else f"{cands[i].context} {cands[i].text}"
                                           for i in with_ctx]
        vecs = self.cache.encode(self.embedder, texts) if self.cache is not None else self.embedder.encode(texts)
        sims = vecs[: len(cands)] @ qvec
        # a sentence read with the one before it may match better ("The talks ... They will be ...")
        for j, i in enumerate(with_ctx):
            pair = vecs[len(cands) + j] + vecs[i] if summed else vecs[len(cands) + j]
            sims[i] = max(sims[i], float(pair @ qvec) / (float(np.linalg.norm(pair)) or 1.0) - self.config.context_penalty)
        for c, sim in zip(cands, sims):
            c.features["sim"] = float(sim)
            c.embedded = True

    def confidence(self, question: str, best: Candidate | None, passages: list[Passage],
                   as_of: str | None = None) -> float:
        """Probability that the articles answer the question, from the best sentence's probability and
        the top passage's relevance and cosine -- and, only when the question has a date and asks about
        recent events ("this week", "latest"), how fresh the top passage is. An undated question has
        its own model, and an older article answering a dated question without such a cue is not
        doubted for its age."""
        cfg = self.config
        top = passages[0] if passages else None
        if best is None or top is None:
            return 0.0
        f = {"sentence": best.score, "relevance": _relevance(top),
             "dense": top.dense if top.dense is not None else 0.0}
        if as_of:
            cue = float(temporal_cue(question))
            f["recent_cue"] = cue
            f["fresh_if_cue"] = cue * freshness(top.published, as_of)
            return _logistic(cfg.confidence_weights_dated, f)
        return _logistic(cfg.confidence_weights, f)

    def threshold(self, as_of: str | None) -> float:
        return self.config.abstain_threshold_dated if as_of else self.config.abstain_threshold

    def choose(self, question: str, cands: list[Candidate]) -> list[Candidate]:
        """The best sentence, and more only when the question asks for several things."""
        cfg = self.config
        best = cands[0]
        chosen = [best]
        if needs_several(question):
            covered = set(best.terms)
            facts = names(best.text) | numbers(best.text)
            for c in cands[1:]:
                if len(chosen) >= cfg.max_sentences or c.score < best.score * cfg.relative_margin:
                    break
                if any(c.passage.doc_id == o.passage.doc_id for o in chosen):
                    continue  # each part from the article best for it
                new_facts = (names(c.text) | numbers(c.text)) - facts
                if not (c.terms - covered) and not new_facts:
                    continue  # says nothing the chosen sentences do not
                chosen.append(c)
                covered |= c.terms
                facts |= new_facts
        return chosen

    def follow_evidence(self, ranked: list[Candidate]) -> list[Candidate]:
        """The answer comes from the top passage's article: its likeliest sentence goes first unless
        another article's sentence is clearly likelier -- log-odds higher by ``other_article_margin``
        or more (a margin in probability would be too wide near 1: 0.87 against 0.75 is 2.3 times
        the odds) -- or likelier and holding what the question asks for (``expected_type``: a
        number for "how many", a country the question does not name) when no sentence of the top
        article does: "Sri Lanka's president fled to which country?" is not answered by "The
        president of Sri Lanka has fled the nation" because its article ranked first (when another
        of its sentences holds it, the top article still answers: a lead pair may cite both). On
        news-dev's candidates the best sentence's article is gold 0.872 of the time instead of
        0.867 (0.873 = the top passage's), the demo set and the long texts unchanged."""
        if not ranked:
            return ranked
        top_doc = _top_article(ranked)
        if ranked[0].passage.doc_id == top_doc:
            return ranked
        own = next((c for c in ranked if c.passage.doc_id == top_doc), None)
        if own is None or _logit(ranked[0].score) >= _logit(own.score) + self.config.other_article_margin:
            return ranked
        if ranked[0].features and ranked[0].features["typed"] and not any(
                c.features and c.features["typed"] for c in ranked if c.passage.doc_id == top_doc):
            return ranked  # no sentence of the top article holds what the question asks for; the likelier one does
        return [own] + [c for c in ranked if c is not own]

    def span(self, c: Candidate, cands: list[Candidate], pair: bool = True) -> tuple[int, int]:
        """The cited span: the sentence; with the one before it when it leans on it; in a short lead
        paragraph, with the paragraph's other most likely sentence when the scorer cannot tell the
        two apart -- its probability at least ``lead_pair_ratio`` of the chosen one's -- and together
        they stay within ``lead_pair_words`` words (words go where the answer is uncertain, not to
        answers that are clear); and with the sentence after it when that one turns against it
        ("However, …", "But …") and both fit in ``contrast_words``: "Many predicted that Chadwick
        Boseman would win" quoted without "However, Anthony Hopkins would ultimately win" says the
        opposite of the article. Always one contiguous stretch of the passage."""
        cfg = self.config
        text = self.article_text(c.passage.doc_id)
        start, end = (c.prev_span[0], c.end) if c.dependent and c.prev_span else (c.start, c.end)
        if pair and cfg.lead_pair_words and self._opens_story(c.passage, text):
            # the passage's other sentences -- in a multi-topic article only its paragraph's (a passage may
            # hold two short stories); in one story, the sentence right after a lead-paragraph sentence
            # may also join it from whichever passage holds it (newswire's one-sentence lead goes on in
            # the next paragraph: "He left after talks ...")
            stories = multi_topic(text)
            in_lead = (cfg.lead_pair_across_first and not stories and c.passage.chunk.start == 0
                       and not paragraph_break(text, 0, c.start))
            others = [o for o in cands if o is not c and (
                (o.passage is c.passage and not (stories and paragraph_break(text, min(o.start, c.start), max(o.end, c.end))))
                or (in_lead and o.passage.doc_id == c.passage.doc_id and o.prev_span == (c.start, c.end)
                    and paragraph_break(text, c.end, o.start)))]
            if others:
                o = max(others, key=lambda x: x.score)
                s2, e2 = min(start, o.start), max(end, o.end)
                if o.score >= cfg.lead_pair_ratio * c.score and len(text[s2:e2].split()) <= cfg.lead_pair_words:
                    start, end = s2, e2
        if cfg.contrast_words:  # the next sentence turns against this one: quoting this one alone would mislead
            turn = next((o for o in cands if o.passage is c.passage and o.prev_span == (c.start, c.end)
                         and _CONTRAST_START.match(o.text)), None)
            if turn is not None and turn.end > end and len(text[start:turn.end].split()) <= cfg.contrast_words:
                end = turn.end
        return start, end

    def read_article(self, question: str, qvec: np.ndarray, ranked: list[Candidate], passages: list[Passage],
                     reader: Callable[[str, list[Passage]], str]) -> tuple[list[Candidate], str]:
        """In a long article, the sentence that holds the reader's short answer (``qa.reader``: the
        language model given that article's retrieved passages, best first) goes first; among several,
        the long-article scorer's likeliest. A reply no sentence holds changes nothing. Returns the
        new order and the reply."""
        doc = ranked[0].passage.doc_id
        reply = reader(question, [p for p in passages if p.doc_id == doc])
        hits = [c for c in ranked if c.passage.doc_id == doc and holds(c.text, reply)]
        if not hits or ranked[0] in hits and len(hits) == 1:
            return ranked, reply
        unseen = [c for c in hits if not c.embedded]
        if unseen:  # never embedded (lazy scoring): their cosine was a lower bound
            self._embed_sims(qvec, unseen)
            for c in unseen:
                self._probabilities(c, long=True)
        best = max(hits, key=lambda c: c.long_score or 0.0)
        return [best] + [c for c in ranked if c is not best], reply

    def answer(self, question: str, qvec: np.ndarray, passages: list[Passage], as_of: str | None = None,
               asked: str | None = None, reader: Callable[[str, list[Passage]], str] | None = None) -> Answer:
        """The answer; with ``reader`` (``qa.reader``), a long article's quoted sentence is the one that
        holds the reader's short answer (``read_article``), and a lead paragraph's other sentence does
        not join it (``span``'s pair: the reader told the two apart; on news-fullarticles-dev the
        answers' mean length 31.9 -> 29.4 words at the same accuracy)."""
        cands = self.candidates(passages)
        self.score(question, qvec, cands, asked=asked)
        ranked = sorted(cands, key=lambda c: c.score, reverse=True)
        confidence = self.confidence(question, ranked[0] if ranked else None, passages, as_of)
        ranked = self.within_article(self.follow_evidence(ranked))
        if not ranked or confidence < self.threshold(as_of):
            return Answer(question=question, text=ABSTAIN_TEXT, citations=[], abstained=True,
                          passages=passages, confidence=confidence)
        read = None
        if reader is not None and ranked[0].long_score is not None and not needs_several(question):
            ranked, read = self.read_article(question, qvec, ranked, passages, reader)
        citations: list[Citation] = []
        parts = []
        for c in self.choose(question, ranked):
            start, end = self.span(c, cands, pair=not (read and holds(c.text, read)))
            # a lead paragraph that goes on in the next passage: each part cites the passage that holds it
            rest = None if end <= c.passage.chunk.end else next(
                (o for o in cands if o.passage is not c.passage and o.passage.doc_id == c.passage.doc_id
                 and o.end == end), None)
            pieces = [(c.passage, start, c.end), (rest.passage, rest.start, end)] if rest else [(c.passage, start, end)]
            for p, s, e in pieces:
                quote = self.article_text(p.doc_id)[s:e]
                n = len(citations) + 1
                citations.append(Citation(n=n, doc_id=p.doc_id, title=p.title, url=p.url, published=p.published,
                                          source=p.source, quote=quote, start=s, end=e, passage_rank=p.rank))
                parts.append(f"{quote} [{n}]")
        return Answer(question=question, text=" ".join(parts), citations=citations, abstained=False,
                      passages=passages, confidence=confidence, read=read)


def _top_article(cands: list[Candidate]) -> str:
    """The article of the best-ranked passage among the candidates (``score`` embeds its sentences
    down to the margin that ``follow_evidence`` then applies: both must mean the same article)."""
    return min(cands, key=lambda c: c.passage.rank).passage.doc_id


def _relevance(p: Passage) -> float:
    return p.relevance if p.relevance is not None else p.score


def freshness(published: str, as_of: str, half_life_days: float = 7.0) -> float:
    """1.0 for an article of the question's day, halving every week before it; 0 when undated."""
    age = day_number(as_of) - day_number(published)
    return 0.0 if np.isnan(age) else float(0.5 ** (max(0.0, age) / half_life_days))


def _linear(weights: dict[str, float], features: dict[str, float]) -> float:
    return weights.get("bias", 0.0) + sum(w * features[k] for k, w in weights.items() if k != "bias")


def _sigmoid(z: float) -> float:
    return float(1.0 / (1.0 + np.exp(-z)))


def _logit(p: float) -> float:
    p = min(max(p, 1e-12), 1 - 1e-12)
    return float(np.log(p / (1 - p)))


def _logistic(weights: dict[str, float], features: dict[str, float]) -> float:
    return _sigmoid(_linear(weights, features))
