"""Text normalisation, sentence splitting with exact offsets, and word helpers.

The sentence splitter is hand-written on purpose: we need exact character offsets into the
article for every sentence (citations quote ``article.text[start:end]``), it runs on every
retrieved passage at query time, and the libraries available offline either lose offsets
(nltk punkt needs downloaded data) or are slow (pysbd). It is rule-based: a sentence ends at
., ! or ? (plus closing quotes/brackets) followed by whitespace and an upper-case letter,
digit or opening quote, unless the word before the dot is a known abbreviation or an initial;
a line break always ends a sentence.
"""
from __future__ import annotations

import re
import unicodedata

_ABBREVIATIONS = {
    "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "gen", "gov", "sen", "rep", "lt", "col",
    "sgt", "capt", "cmdr", "adm", "maj", "pres", "rev", "hon", "messrs", "mt", "ft", "no", "vs",
    "etc", "inc", "ltd", "co", "corp", "dept", "univ", "approx", "est", "fig", "al", "jan", "feb",
    "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "u.s", "u.k", "u.n",
    "e.g", "i.e", "a.m", "p.m", "d.c", "u.s.a", "ph.d",
}

# What normalize_text makes of a text; bump it when that changes, so that indexes the evaluation
# caches by their corpus (qa/evaluation.py) are built again. 2: one paragraph per line gets blank lines.
TEXT_VERSION = 2

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b\u200c\u200d\ufeff]")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_MANY_NEWLINES = re.compile(r"\n{3,}")
_BOUNDARY = re.compile(r"[.!?]+[\"'\u201d\u2019)\]]*(?=\s+[\"'\u201c\u2018(\[]?[A-Z0-9\u00c0-\u024f])")
_WORD = re.compile(r"\w+(?:[-'\u2019.]\w+)*", re.UNICODE)


def valid_utf8(s: str) -> str:
    """Lone surrogates (``"\\ud800"`` in JSON) cannot be stored or encoded: each becomes "?"."""
    return s.encode("utf-8", "replace").decode("utf-8") if any("\ud800" <= ch <= "\udfff" for ch in s) else s


def paragraph_break(text: str, start: int, end: int) -> bool:
    """Does ``text[start:end]`` hold a paragraph break (a blank line, as ``normalize_text`` leaves them)?"""
    return "\n\n" in text[start:end]


def shouting(sentence: str) -> bool:
    """Mostly capital letters: a credit line, a section banner or a "SEE MORE ... AT:" footer, which
    answers nothing even when its words match the question."""
    letters = [ch for ch in sentence if ch.isalpha()]
    return len(letters) >= 10 and sum(ch.isupper() for ch in letters) >= 0.8 * len(letters)


_QUESTION_END = re.compile(r"\?[\"'\u201d\u2019)\]]*\s*$")


def asks(sentence: str) -> bool:
    """The sentence is a question ("How do I find Spotify Wrapped 2022?", a web page's FAQ heading or
    a reporter's rhetorical question): it restates a topic and answers nothing."""
    return bool(_QUESTION_END.search(sentence))


def lines_are_paragraphs(lines: list[str]) -> bool:
    """A text without blank lines whose lines are its paragraphs (a scraped article, one paragraph per
    line), not a hard-wrapped one: at least a fifth of its lines are longer than a wrapped line
    (100 characters)."""
    full = [line for line in lines if line]
    return (len(full) >= 2 and len(full) == len(lines)
            and sum(len(line) > 100 for line in full) >= 0.2 * len(full))


def normalize_text(text: str) -> str:
    """Unicode NFKC, no control characters, single spaces, trimmed lines, at most one blank line;
    paragraphs are separated by a blank line -- also in a text that wrote one paragraph per line
    (``lines_are_paragraphs``), so that the chunker and the answerer see its paragraphs."""
    text = valid_utf8(text)
    text = unicodedata.normalize("NFKC", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text)
    lines = [_SPACES.sub(" ", line).strip() for line in text.strip().split("\n")]
    if lines_are_paragraphs(lines):
        return "\n\n".join(lines)
    return _MANY_NEWLINES.sub("\n\n", "\n".join(lines)).strip()


def _is_abbreviation(text: str, dot: int) -> bool:
    """True when the '.' at ``dot`` ends an abbreviation or an initial, not a sentence."""
    j = dot
    while j > 0 and (text[j - 1].isalnum() or text[j - 1] == "."):
        j -= 1
    word = text[j:dot].lower()
    if not word:
        return False
    if len(word) == 1 and word.isalpha():  # an initial: "J. Smith"
        return True
    return word in _ABBREVIATIONS


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Sentences of ``text[start:end]`` as (start, end) offsets into ``text``, whitespace trimmed."""
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    for line in re.finditer(r"[^\n]+", text[start:end]):
        ls, le = start + line.start(), start + line.end()
        cut = ls
        for m in _BOUNDARY.finditer(text, ls, le):
            if text[m.start()] == "." and m.end() - m.start() == 1 and _is_abbreviation(text, m.start()):
                continue
            spans.append((cut, m.end()))
            cut = m.end()
        spans.append((cut, le))
    out = []
    for s, e in spans:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            out.append((s, e))
    return out


def words(text: str) -> list[str]:
    """Lower-cased word tokens."""
    return [w.lower() for w in _WORD.findall(text)]


STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further had
    has have having he her here hers herself him himself his how i if in into is it its itself just
    me more most my myself nor of off on once only or other our ours ourselves out over own same she
    should so some such than that the their theirs them themselves then there these they this those
    through to too under until up very was we were what when where which while who whom why will
    with would you your yours yourself yourselves also said says say according new one two would
    may might must shall us per via within without among upon whose what's it's""".split()
)

_STEMMER = None


def stem(word: str) -> str:
    """Snowball (Porter 2) English stem: 'mediated', 'mediator' and 'mediate' all give 'mediat'."""
    global _STEMMER
    if _STEMMER is None:
        import Stemmer

        _STEMMER = Stemmer.Stemmer("english")
    return _STEMMER.stemWord(word)


_POSSESSIVE = re.compile(r"'s?$")


def content_terms(text: str) -> list[str]:
    """Stemmed, lower-cased content words (stop words and possessive 's dropped: "Colombia’s" and
    "Colombia" are one term)."""
    out = []
    for w in words(text.replace("\u2019", "'")):
        w = _POSSESSIVE.sub("", w)
        if w not in STOPWORDS and len(w) > 1:
            out.append(stem(w))
    return out


def normalize_with_map(text: str) -> tuple[str, list[int]] | None:
    """``normalize_text(text)`` together with where each of its characters came from in ``text``
    (after ``valid_utf8``, which keeps the length): ``where[i]`` is the offset in ``text`` of the
    normalised character ``i``; ``where[len(normalised)] == len(text)``. Inserted characters (the blank
    line between paragraphs) point at the line break they stand for; a character that NFKC expands
    ("ﬁ" -> "fi") points, in each of its parts, at the one it came from. None when the steps below do
    not reproduce ``normalize_text`` exactly (a composition across words, say): then offsets into the
    normalised text cannot be carried back, and the caller keeps them as they are.
    """
    src = valid_utf8(text)
    # the text and, beside it, where each of its characters came from; each step below rebuilds both
    # from slices (a character-by-character loop only where a step changes single characters)
    if unicodedata.is_normalized("NFKC", src):
        s, where = src, list(range(len(src)))
    else:  # NFKC word by word, then character by character inside a word
        pieces: list[str] = []
        where = []
        for m in re.finditer(r"\s+|\S+", src):
            seg, s0 = m.group(), m.start()
            out = unicodedata.normalize("NFKC", seg)
            pieces.append(out)
            if out == seg:
                where.extend(range(s0, s0 + len(seg)))
                continue
            parts = [unicodedata.normalize("NFKC", c) for c in seg]
            if "".join(parts) == out:
                for i, p in enumerate(parts):
                    where.extend([s0 + i] * len(p))
            else:  # composed across characters of the word: each output character points into the word
                where.extend(s0 + min(len(seg) - 1, j * len(seg) // max(1, len(out))) for j in range(len(out)))
        s = "".join(pieces)
    if "\r" in s or _CONTROL.search(s):  # CRLF and CR -> LF; control characters dropped
        chars, kept = [], []
        i = 0
        while i < len(s):
            c = s[i]
            if c == "\r":
                chars.append("\n")
                kept.append(where[i])
                i += 2 if s.startswith("\n", i + 1) else 1
                continue
            if not _CONTROL.match(c):
                chars.append(c)
                kept.append(where[i])
            i += 1
        s, where = "".join(chars), kept
    s, where = _strip_mapped(s, where)
    lines: list[tuple[str, list[int]]] = []
    breaks: list[int] = []  # where each line break came from
    pos = 0
    for line in s.split("\n"):  # each line: _SPACES.sub(" ", line).strip()
        w = where[pos:pos + len(line)]
        if pos + len(line) < len(s):
            breaks.append(where[pos + len(line)])
        pos += len(line) + 1
        out_s, out_w, last = [], [], 0
        for m in _SPACES.finditer(line):
            out_s.append(line[last:m.start()] + " ")
            out_w.extend(w[last:m.start()])
            out_w.append(w[m.start()])
            last = m.end()
        out_s.append(line[last:])
        out_w.extend(w[last:])
        lines.append(_strip_mapped("".join(out_s), out_w))
    as_paragraphs = lines_are_paragraphs([line for line, _ in lines])
    sep = "\n\n" if as_paragraphs else "\n"
    s = sep.join(line for line, _ in lines)
    where = []
    for k, (_, w) in enumerate(lines):
        if k:
            where.extend([breaks[k - 1]] * len(sep))
        where.extend(w)
    if not as_paragraphs:  # _MANY_NEWLINES.sub("\n\n", ...).strip()
        out_s, out_w, last = [], [], 0
        for m in _MANY_NEWLINES.finditer(s):
            out_s.append(s[last:m.start() + 2])
            out_w.extend(where[last:m.start() + 2])
            last = m.end()
        out_s.append(s[last:])
        out_w.extend(where[last:])
        s, where = _strip_mapped("".join(out_s), out_w)
    if s != normalize_text(text):
        return None
    return s, [*where, len(src)]


def _strip_mapped(s: str, where: list[int]) -> tuple[str, list[int]]:
    """``s.strip()`` and the same cut of ``where``."""
    head = len(s) - len(s.lstrip())
    kept = s.strip()
    return kept, where[head:head + len(kept)]


def source_span(where: list[int], start: int, end: int) -> tuple[int, int]:
    """The span of the source text that the normalised span ``[start, end)`` came from."""
    if end <= start:
        return where[start], where[start]
    return where[start], where[end - 1] + 1
