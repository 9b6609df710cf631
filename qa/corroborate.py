"""Corroboration and conflicts: which other articles state the answer's fact, how many independent
outlets that is, and where reports disagree.

The answer's *value* is what its quote gives for the asked-for slot (``expected_type``): the number
for "how many", the date for "when", the country or state for "which country", the name for "who"
-- a value the question does not already contain (``values_in``). Then, over the articles that
retrieval already scored for the question (``Retriever.search(pool=...)``; no new search, no new
embedding):

1. **Corroboration.** An article *states the value* when one of its sentences holds it
   (``states``) and that sentence, read with the one before it and the article's title, covers at
   least ``min_topic`` of the question's own terms (IDF-weighted, the value's words left out): the
   same fact about the same story, not the same name in another story.
2. **Independent outlets.** Articles of one outlet count once, and so do near-identical texts
   under different outlets (wire copies, syndication, one story under two urls: word 5-gram
   containment ``copy_containment``); a copy is shown, marked as the copy of the earliest.
3. **Conflicts.** A sentence of another article that says what the quote says with the slot
   filled differently -- the two aligned word by word (difflib), the quote's value replaced by
   another value of the same kind, and the value nowhere in that sentence -- is a conflicting
   report. When the two come from one outlet, or the later one says it corrects or updates
   ("corrected", "has risen to"), the later *revises* the earlier and is no conflict.
4. **The lead.** The value that the most independent outlets report leads (a revision wins over
   what it revises; a tie keeps the best-ranked answer), the other beside it.
5. **Timeline.** The earliest and latest dated articles that state the lead value.

Alignment makes conflicts strict on purpose: two differently worded reports of a toll are not
compared, so an unaltered corpus shows few false conflicts (``qa eval`` measures both).
"""
from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date

from .answer import asking_sentence, expected_type, focus_term
from .places import KINDS, is_demonym, places
from .stores import normalize_source
from .support import UNITS, numbers
from .support import word_key as name_key
from .text import STOPWORDS, content_terms, sentence_spans
from .types import Answer, Article, Citation, Conflict, Corroboration, Report

_MONTH = (r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
          r"Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?")
_DAY = r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
_DATE = re.compile(rf"\b{_MONTH}(?:\s+\d{{1,2}}(?:st|nd|rd|th)?)?(?:,?\s+(?:19|20)\d{{2}})?\b|"
                   rf"\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}(?:,?\s+(?:19|20)\d{{2}})?\b|"
                   rf"\b{_DAY}\b|\b(?:19|20)\d{{2}}\b")
_NAME_RUN = re.compile(r"\b[A-Z][\w'\u2019.-]*(?:\s+(?:(?:of|de|da|del|van|von|al|bin|la|le|du)\s+)?"
                       r"[A-Z][\w'\u2019-]*)*")
_CALENDAR = {w.lower() for w in "January February March April May June July August September October "
             "November December Jan Feb Mar Apr Jun Jul Aug Sep Sept Oct Nov Dec Monday Tuesday Wednesday "
             "Thursday Friday Saturday Sunday".split()}
_TOKEN = re.compile(r"\w+(?:[.,'\u2019]\w+)*%?")
# a report that says it revises an earlier one
_REVISES = re.compile(r"\b(correct(?:ion|ed|s)?|updated?|revised?|earlier (?:version|report)|previously reported|"
                      r"(?:rose|risen|climbed|increased|grew|jumped) to|now (?:stands|stood) at)\b", re.I)


@dataclass(frozen=True)
class Value:
    """A value of the asked-for slot as one sentence writes it: ``kind`` (number, date, country,
    state, name or term), ``text`` as written, ``keys`` what is matched."""
    kind: str
    text: str
    keys: tuple[str, ...]


@dataclass(frozen=True)
class CorroborationConfig:
    articles: int = 40  # the best-scored candidate articles searched for the value
    min_topic: float = 0.4  # share of the question's terms (IDF) the stating sentence's context covers
    story_weight: float = 0.7  # the topic: this share from the whole article, the rest from the sentence's context
    copy_containment: float = 0.5  # word 5-gram containment of two texts that are copies of one story
    min_alignment: float = 0.6  # difflib ratio of two sentences compared for a conflict
    max_sentence_words: int = 80
    max_days_apart: int = 14  # a report of another value published further apart is of another event
    min_shared_words: int = 3  # content words two sentences compared for a conflict must share, in order
    # a question asking for a clause ("What did they agree on?"): the agreeing sentence must also say this
    # share (IDF) of the quote's own claim (its terms the question lacks), not only mention the same name
    min_claim: float = 0.5


def _key(word: str) -> str:
    """A name word's key: the support checker's (case-folded, possessive-free stem), dots dropped."""
    return name_key(word.replace(".", ""))


def _date_key(text: str) -> tuple[str, ...]:
    out = []
    for w in re.findall(r"[A-Za-z]+|\d+", text):
        lw = w.lower()
        if lw in ("of", "st", "nd", "rd", "th"):
            continue
        out.append(lw[:3] if lw.isalpha() else str(int(lw)))
    return tuple(out)


def _names(sentence: str, context: str = "") -> list[tuple[str, tuple[str, ...]]]:
    """Runs of capitalised words (names), each with its keys. A possessive ends a name ("Elon Musk's
    Twitter" is two), a hyphenated adjective is none ("Chinese-owned"), nor is a country's adjective
    alone ("Korean"), a company suffix is dropped ("Twitter Inc."), and a sentence's first word counts
    only when the article also capitalises it mid-sentence ("Officials said" is no name)."""
    out = []
    for m in _NAME_RUN.finditer(sentence):
        offset = m.start()
        parts = [p for p in re.split(r"(?<=['\u2019]s)\s+|(?<=['\u2019])\s+", m.group(0)) if p]
        # a title splits a run and is dropped ("Florida Gov. Ron DeSantis", "Former Starbucks CEO Howard Schultz")
        parts = [q for p in parts[-1:] for q in re.split(_TITLE, p) if q and q.strip()]
        for part in parts:
            at = sentence.find(part, offset)
            offset = at + len(part)
            tokens = [t for t in part.rstrip(".").split() if not re.search(r"-[a-z]", t)]
            while tokens and (tokens[0].lower() in STOPWORDS or tokens[0].lower() in _CALENDAR):
                tokens = tokens[1:]
            tokens = [re.sub(r"['\u2019]s?$", "", t) for t in tokens if t.lower() not in _CALENDAR]
            while tokens and tokens[-1].lower().rstrip(".") in _SUFFIXES:
                tokens = tokens[:-1]
            if not tokens or (len(tokens) == 1 and is_demonym(tokens[0])):
                continue
            opens = _OPENS.search(sentence[:at]) is not None
            if opens and len(tokens) == 1 and tokens[0].isupper() and len(tokens[0]) > 3 and \
                    _DATELINE_END.match(sentence, at + len(part)):
                continue  # a dateline ("WASHINGTON —", "KYIV, Ukraine (Reuters) -"), not "OPEC, which ..."
            if opens and not _name_at_start(tokens[0], context or sentence):
                # "Residents of Philadelphia": the opening word is none, the rest may be
                tokens = tokens[1:]
                while tokens and tokens[0].lower() in _CONNECTORS:
                    tokens = tokens[1:]
                if not tokens:
                    continue
            keys = tuple(_key(t) for t in tokens if t.lower() not in STOPWORDS)
            if keys:
                out.append((" ".join(tokens), keys))
    return out


_TITLE = re.compile(r"\s*\b(?:Former|Ex|CEO|President|Vice|Gov|Governor|Secretary|Minister|Prime|Sen|Senator|Rep|"
                    r"Chairman|Chairwoman|Chief|Director|King|Queen|Prince|Princess|Pope|Judge|Justice|General|"
                    r"Mayor|Speaker|Leader|Coach|QB|Quarterback|Dr|Mr|Mrs|Ms|Gen|Lt|Col|Sgt|Adm|Capt|Army|Rev|St)\b\.?\s*")
_DATELINE_END = re.compile(r"(?:,\s*[A-Z][\w.]*(?:\s[A-Z][\w.]*)*)?\s*(?:\([^)]*\)\s*)?[\u2014\u2013-]")
_OPENS = re.compile(r"(?:^|[.!?][\"'\u201d\u2019)]?\s)[\s\"'\u201c\u2018(]*$")
# words that open news sentences without being names ("Officials said ...", "Several ...")
_STARTERS = set("""officials authorities police experts researchers scientists critics residents witnesses analysts
many some most several both after before during while although though since despite according last next earlier
later today yesterday tonight now meanwhile however still here there what when why how where who which this that
these those such other another each every all none no one two three four five six seven eight nine ten first second
third new more less people fans voters students workers doctors lawmakers democrats republicans prosecutors
investigators scientists officers firefighters rescuers video photos footage data reports sources""".split())


def _name_at_start(word: str, context: str) -> bool:
    """A sentence's capitalised first word is a name when the article also capitalises it mid-sentence,
    or never writes it in lower case and it is no common opening word ("Volkswagen is recalling ...",
    not "Officials said ...")."""
    if re.search(rf"[a-z,;] {re.escape(word)}\b", context):
        return True
    low = word.lower()
    return low not in _STARTERS and not low.endswith(("ly", "ing")) and \
        re.search(rf"(?<![\w-]){re.escape(low)}(?![\w-])", context) is None


# words of names that do not tell one name from another
_GENERIC = {_key(w) for w in """national park university college city county state united new north south east west
club fc company airlines airline party group institute department ministry court school hospital river lake mount
mountain mountains island islands street bridge stadium center centre museum jr sr the""".split()}
_CONNECTORS = {"of", "de", "da", "del", "van", "von", "al", "bin", "la", "le", "du"}
_SUFFIXES = {"inc", "corp", "co", "ltd", "llc", "plc", "group"}


def values_in(sentence: str, question: str, kind: str | None, context: str = "",
              term_weight: Callable[[str], float] | None = None) -> list[Value]:
    """The values a sentence gives for the slot of ``kind`` that the question does not contain, in
    the order they are written. ``kind`` None (a "what" question): its names, else its numbers, else
    its rarest word the question lacks."""
    if kind in KINDS:
        have = places(question, kind)
        found = [(sentence.find(p), p) for p in places(sentence, kind) - have]
        return [Value(kind, p, (p,)) for _, p in sorted(found)]
    if kind == "date":
        asked = {_date_key(m.group(0)) for m in _DATE.finditer(question)}
        return [Value("date", m.group(0), _date_key(m.group(0))) for m in _DATE.finditer(sentence)
                if _date_key(m.group(0)) not in asked]
    if kind == "number":
        return _numbers(sentence, question)
    q_words = {_key(w) for w in re.findall(r"[\w'\u2019-]+", question)}
    q_names = {_key(w) for w in re.findall(r"\b[A-Z][\w'\u2019-]*", question)}
    # a name the question already gives is no answer ("Hunter Biden" is, when it asks about "Biden's son")
    names = [Value("name", text, keys) for run in _names(sentence, context)
             for text, keys in _of_parts(run, q_names) if not set(keys) <= q_words]
    if kind == "name" or names:
        return names
    nums = _numbers(sentence, question)
    if nums:
        return nums
    q_terms = set(content_terms(question))
    novel = [t for t in content_terms(sentence) if t not in q_terms]
    if not novel:
        return []
    weight = term_weight or (lambda t: 1.0)
    best = max(novel, key=weight)
    return [Value("term", best, (best,))]


def _of_parts(run: tuple[str, tuple[str, ...]], q_names: set[str]) -> list[tuple[str, tuple[str, ...]]]:
    """A name run joined by "of" that is two names: "Suga of BTS" is Suga when the question names BTS,
    "Inter Miami CF of Major League Soccer" is two names (each of two words or more); "Bank of
    America" and "University of Michigan" stay whole."""
    text, _keys = run
    halves = re.split(r"\s+of\s+", text, maxsplit=1)
    if len(halves) != 2:
        return [run]
    parts = [(h, tuple(_key(t) for t in h.split() if t.lower() not in STOPWORDS)) for h in halves]
    (left, lk), (right, rk) = parts
    if not lk or not rk:
        return [run]
    if set(rk) <= q_names:
        return [parts[0]]
    if set(lk) <= q_names:
        return [parts[1]]
    if len(lk) >= 2 and len(rk) >= 2:
        return parts
    return [run]


def _numbers(sentence: str, question: str) -> list[Value]:
    plain = _DATE.sub(" ", sentence)
    asked = number_keys(question)
    out, seen = [], set()
    for m in re.finditer(_SPELLED.pattern + r"|(?<![\w.])\d+(?:[.,]\d+)*%?|\b[a-z]+\b", plain, re.I):
        n = number_keys(m.group(0))
        if len(n) == 1 and (v := next(iter(n))) not in asked and v not in seen:
            seen.add(v)
            out.append(Value("number", m.group(0), (v,)))
    return out


_UNITS = UNITS
_TENS = {w: 10 * (i + 2) for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split())}
_SPELLED = re.compile(r"\b(" + "|".join(_TENS) + r")(?:[-\s](" + "|".join(_UNITS[1:10]) + r"))?\b", re.I)


def number_keys(text: str) -> set[str]:
    """The numbers a text states (``support.numbers``), also spelled compounds: "Twenty-nine" is 29."""
    found = {str(_TENS[m.group(1).lower()] + (_UNITS.index(m.group(2).lower()) if m.group(2) else 0))
             for m in _SPELLED.finditer(text)}
    return numbers(_SPELLED.sub(" ", text)) | found if found else numbers(text)


def spelled(n: str) -> str:
    """The words a number under 100 is written in ("29" -> "twenty-nine"), else ""."""
    if not n.isdigit() or int(n) >= 100:
        return ""
    i = int(n)
    if i < 20:
        return _UNITS[i]
    tens = next(w for w, v in _TENS.items() if v == i - i % 10)
    return tens + (f"-{_UNITS[i % 10]}" if i % 10 else "")


def states(value: Value, sentence: str) -> bool:
    """Does the sentence state ``value``?"""
    if value.kind in KINDS:
        return value.keys[0] in places(sentence, value.kind)
    if value.kind == "number":
        return value.keys[0] in number_keys(_DATE.sub(" ", sentence))
    if value.kind == "date":
        return any(_date_key(m.group(0))[: len(value.keys)] == value.keys or
                   value.keys[: len(k := _date_key(m.group(0)))] == k and len(k) >= 2
                   for m in _DATE.finditer(sentence))
    if value.kind == "term":
        return value.keys[0] in set(content_terms(sentence))
    have = {_key(w) for w in re.findall(r"[A-Z][\w'\u2019-]*", sentence)}
    # every word of the name but generic ones ("Hunter Biden" is not "Joe Biden", "Zion National Park" not
    # "Yellowstone National Park"; "the Buffalo Bills" and "the Bills" differ, "Clemson" is "Clemson University")
    distinct = [k for k in value.keys if k not in _GENERIC] or list(value.keys)
    return all(k in have for k in distinct)


def _same(a: Value, b: Value) -> bool:
    return states(a, b.text) or states(b, a.text)


# "What did they agree on?", "How will it work?": the answer is a clause, not one name or number in it
_CLAUSE_QUESTION = re.compile(r"^\W*(?:what|how|why)\s+(?:did|does|do|will|would|can|could|should|has|have|had|"
                              r"might|may)\b", re.I)
_WHICH_DATE = re.compile(r"\b(?:which|what|in which)\s+(month|year|day|date)\b", re.I)
_WHICH_NOUN = re.compile(r"\b(?:which|what)\s+([a-z]{3,})\b", re.I)
_WHICH_STATE = re.compile(r"\b(?:which|what)\s+(?:u\.?s\.?\s+|american\s+)?state\b", re.I)
# "What is the federal minimum wage?", "What was the final score?": an amount is asked for
_WHAT_AMOUNT = re.compile(r"\bwhat\s+(?:is|was|are|were|will\s+be)\s+(?:the\s+|its\s+|their\s+)?(?:[\w'\u2019-]+\s+){0,4}?"
                          r"(?:wage|price|cost|salary|toll|rate|fee|fine|score|amount|total|budget|population|tariff|"
                          r"value|figure|sum|bill|debt|deficit)s?\b", re.I)


def slot_kind(question: str) -> str | None:
    """What the question asks for (``expected_type``), also for "in which month", "which U.S. state" and
    "what is the minimum wage / the final score" (an amount)."""
    kind = expected_type(question)
    if kind is None:
        asked = asking_sentence(question)
        if _WHICH_DATE.search(asked):
            return "date"
        if _WHICH_STATE.search(asked):
            return "state"
        if _WHAT_AMOUNT.search(asked):
            return "number"
    return kind


def answer_value(question: str, quote: str, context: str = "",
                 term_weight: Callable[[str], float] | None = None) -> Value | None:
    """The value the answer's quote gives for the asked-for slot. Of several: one of its first sentence
    (the answer's; the others are context), then a name holding the asked-for class word ("Major
    League Soccer" for "Which league ...?"), then the one nearest the question's focus word ("mediate"
    in "Who will mediate ...?"), then the first. For a number, whose focus is the counted noun, the one
    whose nearby words (six either side) hold most of the question's terms (IDF) comes first: in "29
    people were killed, and eleven were rescued alive", "How many people were rescued alive?" asks for
    eleven. (On news-fullarticles-dev's multi-outlet questions the nearby words chose names worse than
    the order did: docs/corroboration.md.)"""
    kind = slot_kind(question)
    found = values_in(quote, question, kind, context, term_weight)
    if not found and kind in KINDS:  # "Which group of countries ...?" is answered by a name ("OPEC")
        found = values_in(quote, question, "name", context, term_weight)
    if len(found) < 2:
        return found[0] if found else None
    weight = term_weight or (lambda t: 1.0)
    asked = set(content_terms(question))
    tokens = list(re.finditer(r"[\w'\u2019-]+", quote))
    focus = focus_term(question)
    spots = [m.start() for m in tokens if focus and _key(m.group(0)) == focus]
    starts = [a for a, _ in sentence_spans(quote)]
    # "Which league ...?": a name holding the asked-for class word ("Major League Soccer") is the answer
    m = _WHICH_NOUN.search(asking_sentence(question))
    noun = _key(m.group(1)) if m else None

    def rank(i_v: tuple[int, Value]) -> tuple[int, float, float, float, int]:
        i, v = i_v
        at = max(0, quote.find(v.text))
        first = next((n for n, m in enumerate(tokens) if m.end() > at), 0)
        last = first + len(v.text.split()) - 1
        lo, hi = tokens[max(0, first - 6)].start(), tokens[min(len(tokens) - 1, last + 6)].end()
        near = sum(weight(t) for t in set(content_terms(quote[lo:hi])) & asked)
        sentence = sum(1 for a in starts if a <= at) - 1  # the answer's own sentence comes first
        focus_gap = min((abs(at - s) for s in spots), default=0)
        if kind == "number":  # "How many people were rescued?": its focus ("people") is the counted noun
            return sentence, -round(near, 6), 0.0, float(focus_gap), i
        # names: the nearby words mislead more often than the order
        return sentence, 0.0, 0.0 if noun is None or noun in v.keys else 1.0, float(focus_gap), i

    return min(enumerate(found), key=rank)[1]


@dataclass
class _Scan:
    """What one pass over the candidate articles found for one value."""
    value: Value
    holder: Citation  # the answer's citation that states it
    agree: list[_Stated] = field(default_factory=list)
    disagree: list[_Stated] = field(default_factory=list)
    retarget: Value | None = None  # the quote's value in the slot where another report differs


@dataclass
class _Stated:
    """One article's sentence stating a value."""
    doc_id: str
    start: int
    end: int
    quote: str
    value: Value
    topic: float
    revises: bool = False


class Corroborator:
    """Finds corroboration and conflicts for one answer over the candidates retrieval scored."""

    def __init__(self, article: Callable[[str], Article], article_text: Callable[[str], str],
                 term_weight: Callable[[str], float], config: CorroborationConfig | None = None):
        self.article = article  # doc id -> Article (title, source, published)
        self.article_text = article_text  # doc id -> the text offsets index here
        self.term_weight = term_weight
        self.config = config or CorroborationConfig()
        self._shingles: dict[str, set[int]] = {}
        self._lowered: dict[str, str] = {}

    # ---- pieces -----------------------------------------------------------------------
    def topic(self, q_terms: dict[str, float], text: str) -> float:
        total = sum(q_terms.values())
        if not total:
            return 1.0
        have = set(content_terms(text))
        return sum(w for t, w in q_terms.items() if t in have) / total

    def story(self, q_terms: dict[str, float], doc_id: str) -> float:
        """The share of the story's terms (IDF) that the whole article holds (stems found as word starts)."""
        total = sum(q_terms.values())
        if not total:
            return 1.0
        low = self._lower(doc_id)
        return sum(w for t, w in q_terms.items() if f" {t}" in low or low.startswith(t)) / total

    def shingles(self, doc_id: str) -> set[int]:
        s = self._shingles.get(doc_id)
        if s is None:
            w = re.findall(r"\w+", self.article_text(doc_id).lower())
            s = self._shingles[doc_id] = {hash(tuple(w[i:i + 5])) for i in range(max(1, len(w) - 4))}
        return s

    def copies(self, a: str, b: str) -> bool:
        sa, sb = self.shingles(a), self.shingles(b)
        return bool(sa and sb) and len(sa & sb) / min(len(sa), len(sb)) >= self.config.copy_containment

    def _near(self, doc_id: str, needles: Iterable[str], limit: int = 40) -> list[tuple[int, int]]:
        """The spans of the article's sentences that contain one of ``needles`` (lowercase), without
        splitting the whole article: only the stretch around each occurrence is split."""
        text = self.article_text(doc_id)
        low = self._lower(doc_id)
        spans: dict[tuple[int, int], None] = {}
        for needle in needles:
            if not needle:
                continue
            at = low.find(needle)
            while at >= 0 and len(spans) < limit:
                nxt = at + len(needle)
                for s, e in sentence_spans(text, max(0, at - 300), min(len(text), at + 300)):
                    if s <= at < e:
                        if len(text[s:e].split()) <= self.config.max_sentence_words:
                            spans[(s, e)] = None
                        nxt = max(nxt, e)  # the next occurrence in another sentence
                        break
                at = low.find(needle, nxt)
        return sorted(spans)

    def _comparable(self, found: _Stated, value: Value, doc_id: str, cited_id: str) -> bool:
        """Does the report count beside the answer? One stating the value always does (agreement has no
        time window); one giving another value only when the two could be of one event: published within
        ``max_days_apart`` (or either undated). ("Jill Biden tested positive this week" in August is no
        conflict with July's "Joe Biden tested positive".)"""
        if found.value is value:
            return True
        da, db = _day(self.article(doc_id).published), _day(self.article(cited_id).published)
        return da is None or db is None or abs((da - db).days) <= self.config.max_days_apart

    def _lower(self, doc_id: str) -> str:
        low = self._lowered.get(doc_id)
        if low is None:
            low = self._lowered[doc_id] = self.article_text(doc_id).lower()
        return low

    # ---- the whole step ---------------------------------------------------------------
    def corroborate(self, answer: Answer, question: str, pool: Iterable[int],
                    chunk_doc: Callable[[int], str]) -> Corroboration | None:
        """Attach corroborating citations to the answer's citation that gives its value, and return
        the answer's corroboration (None when the answer abstains or gives no value)."""
        if answer.abstained or not answer.citations:
            return None
        cited = answer.citations[0]
        group = [c for c in answer.citations if c.doc_id == cited.doc_id]
        quote = " ".join(c.quote for c in group)
        text = self.article_text(cited.doc_id)
        # whether an opening word is a name is read from how these articles write it (qa.corroborate._names)
        docs = list(dict.fromkeys(chunk_doc(c) for c in pool))[: self.config.articles]
        context = " ".join([text, *(self.article_text(d)[:3000] for d in docs[:5])])
        value = answer_value(question, quote, context, self.term_weight)
        if value is None:
            return None
        scan = self._scan(answer, question, group, value, docs)
        if scan.retarget is not None:
            # another report says the quote's sentence with a different value in another slot: that slot is
            # the one reports disagree on, and the asked-for one (a value chosen from several can be wrong)
            scan = self._scan(answer, question, group, scan.retarget, docs)
        value, holder = scan.value, scan.holder
        own = _Stated(cited.doc_id, holder.start, holder.end, holder.quote, value, 1.0)
        reports = [self._report([own, *scan.agree], holder)]
        for _value, stated in _by_value(scan.disagree):
            reports.append(self._report(stated, None))
        holder.corroborated_by = [c for c in reports[0].citations if c is not holder]
        conflict = self._conflict(reports) if len(reports) > 1 else None
        lead = reports[0] if conflict is None else conflict.reports[conflict.lead]
        dated = [c for c in lead.citations if c.published]
        return Corroboration(value=lead.value, kind=value.kind, outlets=lead.outlets,
                             first_reported=min(dated, key=lambda c: c.published) if dated else None,
                             latest_reported=max(dated, key=lambda c: c.published) if dated else None,
                             conflict=conflict)

    def _scan(self, answer: Answer, question: str, group: list[Citation], value: Value, docs: list[str]) -> _Scan:
        """The candidate articles that state ``value`` and those that give another value in its place."""
        cited = group[0]
        quote = " ".join(c.quote for c in group)
        holder = next((c for c in group if states(value, c.quote)), cited)
        # the story: the question's terms that the answer's own article shares (title, passage, quote)
        passage = next((p.text for p in answer.passages if p.rank == holder.passage_rank), "")
        shared = set(content_terms(f"{self.article(cited.doc_id).title} {passage} {quote}"))
        q_terms = {t: self.term_weight(t) for t in set(content_terms(question)) & shared
                   if t not in set(content_terms(value.text))}
        used = {cited.doc_id}  # the answer's other articles, if any, are compared too
        # the quote's sentences, the one that gives the value first: what another report's sentence is aligned with
        spans = sorted(sentence_spans(quote), key=lambda sp: not states(value, quote[sp[0]:sp[1]]))
        quote_sentences = [_TOKEN.findall(quote[a:b]) for a, b in spans] or [_TOKEN.findall(quote)]
        # the quote's rarest words: where another report of the same sentence would be found
        rare = self._rare(quote_sentences, value)
        claim: dict[str, float] = {}
        if slot_kind(question) is None and _CLAUSE_QUESTION.search(asking_sentence(question)):
            q_own = set(content_terms(question)) | set(content_terms(value.text))
            claim = {t: self.term_weight(t) for t in content_terms(" ".join(quote_sentences[0])) if t not in q_own}
        scan = _Scan(value, holder)
        for d in docs:
            if d in used:
                continue
            found, other_slot = self._stated(d, value, question, q_terms, quote_sentences, rare, claim)
            if found is not None and self._comparable(found, value, d, cited.doc_id):
                (scan.agree if found.value is value else scan.disagree).append(found)
            if other_slot is not None and scan.retarget is None:
                scan.retarget = other_slot
        if not scan.disagree and scan.agree:
            # a report that says what another report of this value says, with another value ("Officials said
            # 24 people were killed" against another outlet's "Officials said 29 ...", not the answer's words)
            said = [_TOKEN.findall(a.quote) for a in sorted(scan.agree, key=lambda a: -a.topic)[:2]]
            more = self._rare(said, value)
            agreeing = {a.doc_id for a in scan.agree}
            for d in docs:
                if d not in used and d not in agreeing:
                    found, _ = self._clash(d, value, question, q_terms, said, more)
                    if found is not None and self._comparable(found, value, d, cited.doc_id):
                        scan.disagree.append(found)
        if scan.disagree:
            scan.retarget = None  # reports disagree on this very value
        return scan

    def _rare(self, sentences: list[list[str]], value: Value) -> list[str]:
        """The rarest words of each sentence (3 of the first, 2 of the others), the value's left out:
        where another report of the same sentence is looked for."""
        rare: list[str] = []
        for i, tokens in enumerate(sentences[:3]):
            rare += sorted({w.lower() for w in tokens if len(w) > 3 and w.lower() not in STOPWORDS
                            and _bare(w) not in value_words(value)} - set(rare),
                           key=lambda w: -self.term_weight(_key(w)))[:3 if i == 0 else 2]
        return rare

    def _stated(self, doc_id: str, value: Value, question: str, q_terms: dict[str, float],
                quote_sentences: list[list[str]], rare: list[str],
                claim: dict[str, float] | None = None) -> tuple[_Stated | None, Value | None]:
        """The article's best sentence stating ``value`` on the question's topic, or else its sentence
        that says what the quote says with another value (a conflict), or None; and, when its sentence
        says the quote's with another value in *another* slot, the quote's value in that slot. Only the
        sentences around the value's words (or the quote's rarest words) are read."""
        text = self.article_text(doc_id)
        title = self.article(doc_id).title
        best: _Stated | None = None
        story = None
        for s, e in self._near(doc_id, _needles(value), limit=8):
            sent = text[s:e]
            if states(value, sent) and (not claim or self.topic(claim, sent) >= self.config.min_claim):
                if story is None:
                    story = self.story(q_terms, doc_id)
                before = sentence_spans(text, max(0, s - 400), s)
                prev = text[before[-1][0]:before[-1][1]] if before else ""
                near = self.topic(q_terms, f"{title} {prev} {sent}")
                t = self.config.story_weight * story + (1 - self.config.story_weight) * near
                if t >= self.config.min_topic and (best is None or t > best.topic):
                    best = _Stated(doc_id, s, e, sent, value, t)
        clash, other_slot = self._clash(doc_id, value, question, q_terms, quote_sentences, rare)
        return (clash or best), other_slot

    def _clash(self, doc_id: str, value: Value, question: str, q_terms: dict[str, float],
               sentences: list[list[str]], rare: list[str]) -> tuple[_Stated | None, Value | None]:
        """The article's sentence that says what one of ``sentences`` says with another value: for this
        value (a conflicting report) or in another slot (that slot's value is returned)."""
        text = self.article_text(doc_id)
        title = self.article(doc_id).title
        for s, e in self._near(doc_id, rare, limit=6):
            sent = text[s:e]
            words_ = set(_TOKEN.findall(sent.lower()))
            for said in sentences:
                wanted = {t.lower() for t in said}
                if len(words_ & wanted) * 2 < len(wanted):
                    continue
                aligned = self._aligned_value(value, question, said, sent)
                if aligned is None:
                    continue
                ours, theirs = aligned
                if ours is not value:
                    return None, ours
                # the same sentence with another value: a conflicting report, whatever else the article says
                return _Stated(doc_id, s, e, sent, theirs, self.topic(q_terms, f"{title} {sent}"),
                               revises=bool(_REVISES.search(sent))), None
        return None, None

    def _aligned_value(self, value: Value, question: str, s_tokens: list[str], sentence: str) -> tuple[Value, Value] | None:
        """When ``sentence`` says what the quote's sentence (``s_tokens``) says with one value replaced by
        another of the same kind (aligned word by word), the two values: the quote's (``value`` itself
        when that is the one replaced) and the sentence's; else None."""
        t_tokens = _TOKEN.findall(sentence)
        s_low = [t.lower() for t in s_tokens]
        t_low = [t.lower() for t in t_tokens]
        if not t_low or abs(len(t_low) - len(s_low)) > max(len(s_low), len(t_low)) * 0.5:
            return None
        m = difflib.SequenceMatcher(None, s_low, t_low, autojunk=False)
        if m.quick_ratio() < self.config.min_alignment or m.ratio() < self.config.min_alignment:
            return None
        opcodes = m.get_opcodes()
        shared = [s_low[k] for op, i1, i2, _, _ in opcodes if op == "equal" for k in range(i1, i2)]
        if sum(1 for w in shared if len(w) > 2 and w not in STOPWORDS) < self.config.min_shared_words:
            return None  # "The final vote was 52-48" is not the sentence "The final vote was 61-36" of one story
        regions = _differences(opcodes)
        if len({pair for i1, i2, j1, j2 in regions if (pair := _other_names(s_tokens[i1:i2], t_tokens[j1:j2]))}) > 1:
            # two slots filled differently ("Hurricane Eta ... Nicaragua" / "Storm Beta ... Monday"): another event;
            # one value replaced twice ("China's Xinjiang ... China's expansion") is one slot
            return None
        said = " ".join(s_tokens)
        asked = slot_kind(question)
        for i1, i2, j1, j2 in regions:
            ours_seg = " ".join(s_tokens[max(0, i1 - 1):i2 + 1])
            theirs_seg = " ".join(t_tokens[max(0, j1 - 1):j2 + 1])
            mine = {_bare(t) for t in s_tokens[i1:i2]}
            replaced = {_bare(t) for t in t_tokens[j1:j2]}
            ours: Value | None
            if states(value, " ".join(s_tokens[i1:i2])) or (value.kind == "name" and states(value, ours_seg)
                                                            and _overlaps(mine, value)):
                ours = value
            else:  # another slot: of the kind the question asks for, when it asks for one
                kinds = dict.fromkeys([asked] if asked else
                                      [value.kind if value.kind != "term" else "name", "name", "number", "date"])
                ours = next((v for k in kinds for v in values_in(ours_seg, question, k, said)
                             if _overlaps(mine, v)), None)
                if ours is None:
                    continue
                if _same(ours, value):
                    ours = value
            kind = ours.kind if ours.kind != "term" else None
            found = [v for v in values_in(theirs_seg, question, kind, sentence)
                     if not _same(v, ours) and _overlaps(replaced, v)]
            if not found and ours is value and asked is None:
                # a question with no slot ("what image?"): the very words that replace the value are the other value
                words = [t for t in t_tokens[j1:j2] if t.lower() not in STOPWORDS and _bare(t) not in mine]
                if words and not (replaced & value_words(value)):
                    text = " ".join(words)
                    found = [Value("term", text, tuple(content_terms(text)) or tuple(_bare(w) for w in words))]
            if found:
                return ours, found[0]
        return None

    def _report(self, stated: list[_Stated], holder: Citation | None) -> Report:
        """One value and the articles stating it, grouped into independent outlets."""
        # earliest first (undated last): the first of a group of copies is its original
        stated = sorted(stated, key=lambda s: self.article(s.doc_id).published or "9999")
        groups: list[list[str]] = []  # doc ids of one outlet or of one story's copies, earliest first
        citations: list[Citation] = []
        for s in stated:
            a = self.article(s.doc_id)
            if holder is not None and s.doc_id == holder.doc_id:
                c = holder
            else:
                c = Citation(n=0, doc_id=s.doc_id, title=a.title, url=a.url, published=a.published, source=a.source,
                             quote=s.quote, start=s.start, end=s.end)
            for g in groups:
                first = g[0]
                if normalize_source(self.article(first).source or first) == normalize_source(a.source or s.doc_id):
                    g.append(s.doc_id)
                    break
                if self.copies(first, s.doc_id):
                    c.copy_of = first
                    g.append(s.doc_id)
                    break
            else:
                groups.append([s.doc_id])
            citations.append(c)
        outlets = [self.article(g[0]).source or g[0] for g in groups]
        dates = sorted(c.published for c in citations if c.published)
        return Report(value=stated[0].value.text, citations=citations, outlets=outlets,
                      first_reported=dates[0] if dates else "", latest_reported=dates[-1] if dates else "",
                      revises=any(s.revises for s in stated))

    def _conflict(self, reports: list[Report]) -> Conflict:
        """The reports of different values: a revision when one outlet (or a report saying it corrects)
        gave the later value; which leads."""
        ours = reports[0]
        newest_first = sorted(reports, key=lambda r: r.latest_reported or "", reverse=True)
        later = newest_first[0]

        def dates(r: Report) -> dict[str, str]:  # outlet -> its latest report of this value
            out: dict[str, str] = {}
            for c in r.citations:
                key = normalize_source(c.source or c.doc_id)
                out[key] = max(out.get(key, ""), c.published or "")
            return out

        mine = dates(later)
        # a revision: the newest value's report says it corrects, or one outlet reported another value earlier
        revision = any((r.latest_reported or "") < (later.latest_reported or "") and
                       (later.revises or any(o in mine and d < mine[o] for o, d in dates(r).items()))
                       for r in reports if r is not later)
        if revision:
            lead = later
        else:
            lead = max(reports, key=lambda r: (len(r.outlets), r is ours))
        return Conflict(reports=newest_first, lead=newest_first.index(lead), revision=revision)


def _differences(opcodes: list) -> list[tuple[int, int, int, int]]:
    """The stretches where two aligned sentences differ on both sides: difflib's replacements, with
    a difference on each side of one shared word joined ("Clemson University" against "University of
    California" is a deletion, one equal word, an insertion)."""
    out: list[list[int]] = []
    pending: list[int] | None = None
    for op, i1, i2, j1, j2 in opcodes:
        if op == "equal":
            if pending is not None and i2 - i1 > 1:
                out.append(pending)
                pending = None
            elif pending is not None:
                pending = [pending[0], i2, pending[2], j2]
            continue
        pending = [i1, i2, j1, j2] if pending is None else [pending[0], i2, pending[2], j2]
    if pending is not None:
        out.append(pending)
    # a value is a few words: a longer difference is another sentence, not another value
    return [(a, b, c, d) for a, b, c, d in out if 0 < b - a <= 6 and 0 < d - c <= 6]


def _other_names(ours: list[str], theirs: list[str]) -> tuple[frozenset[str], frozenset[str]] | None:
    """The capitalised words and numbers two aligned stretches fill differently (a slot), else None."""
    def marked(tokens: list[str]) -> frozenset[str]:
        return frozenset(_bare(t) for t in tokens if t[:1].isupper() or t[:1].isdigit())
    a, b = marked(ours), marked(theirs)
    return (a, b) if a and b and a != b else None


def _day(published: str | None) -> date | None:
    try:
        return date.fromisoformat((published or "")[:10])
    except ValueError:
        return None


def _bare(word: str) -> str:
    """A word without case, possessive or dots ("Sudan's" -> "sudan", "E.T." -> "et")."""
    return re.sub(r"['\u2019]s?$", "", word.lower()).replace(".", "")


def _overlaps(tokens: set[str], value: Value) -> bool:
    """Do these (bare) words hold part of the value ("15bn" holds 15)?"""
    return any(w in t or t in w for w in value_words(value) for t in tokens if w and t)


def value_words(value: Value) -> set[str]:
    return {_bare(w) for w in _TOKEN.findall(value.text)}


def _needles(value: Value) -> list[str]:
    """Lowercase strings that every sentence stating ``value`` contains (a cheap first filter)."""
    if value.kind in KINDS:
        return [value.keys[0].lower()[:5]]
    if value.kind == "name":
        return [value.text.split()[-1].lower().rstrip("'’s")[:8]]
    if value.kind == "date":
        return [value.text.lower()[:3]]
    if value.kind == "number":
        # "29" is also written "twenty-nine" (or "twenty nine": the tens word finds both)
        return list(dict.fromkeys(x for x in (value.text.lower().rstrip("%"), value.keys[0],
                                              spelled(value.keys[0]).split("-")[0]) if x))
    return [value.keys[0][:6]]


def _by_value(stated: list[_Stated]) -> list[tuple[Value, list[_Stated]]]:
    out: list[tuple[Value, list[_Stated]]] = []
    for s in stated:
        for v, group in out:
            if _same(v, s.value):
                group.append(s)
                break
        else:
            out.append((s.value, [s]))
    return out


def lead_with_majority(answer: Answer, corroboration: Corroboration) -> None:
    """An extractive answer whose value fewer independent outlets report than another (or that a later
    report revises) leads with the other, and names its own beside it: never the single dissenting
    source alone. Every answer with a conflict names the disputed value, with its citation."""
    conflict = corroboration.conflict
    if conflict is None or not answer.citations:
        return
    lead = conflict.reports[conflict.lead]
    ours = next(r for r in conflict.reports if answer.citations[0] in r.citations or
                any(c.doc_id == answer.citations[0].doc_id for c in r.citations))
    others = [r for r in conflict.reports if r is not lead]
    if lead is ours:
        main = list(answer.citations)
    else:
        main = [lead.citations[0]]
    disputed = others[0].citations[0] if lead is ours else ours.citations[0]
    n = 0
    cites = []
    for c in [*main, disputed]:
        n += 1
        c.n = n
        cites.append(c)
    first = " ".join(f"{c.quote} [{c.n}]" for c in main)
    other = others[0] if lead is ours else ours
    count = len(other.outlets)
    # the joining words are lower case and hold no number or date, so the sentence they open is still
    # checked against its citation's own words (qa.verify, qa eval's faithfulness); the dates are in the conflict
    if conflict.revision:
        tail = f"— an earlier report said: {disputed.quote} [{disputed.n}]"
    else:
        tail = f"— {'another report says' if count == 1 else 'other reports say'}: {disputed.quote} [{disputed.n}]"
    answer.citations = cites
    answer.text = f"{first} {tail}"


def summary(c: Corroboration | None) -> str:
    """One line for people: "Reported by 3 independent outlets: a, b, c" / "Sources disagree: ..."."""
    if c is None:
        return ""
    parts = []
    n = len(c.outlets)
    parts.append(f"Reported by {n} independent outlet{'s' if n != 1 else ''}: {', '.join(c.outlets)}")
    if c.first_reported is not None and c.latest_reported is not None and c.first_reported.published:
        if c.first_reported.published != c.latest_reported.published:
            parts.append(f"first reported {c.first_reported.published} ({c.first_reported.source}), "
                         f"latest {c.latest_reported.published} ({c.latest_reported.source})")
        else:
            parts.append(f"reported {c.first_reported.published}")
    if c.conflict is not None:
        parts.append(c.conflict.describe())
    return "; ".join(parts)


