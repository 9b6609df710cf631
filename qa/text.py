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
    chars: list[str] = []
    where: list[int] = []
    for m in re.finditer(r"\s+|\S+", src):  # NFKC word by word, then character by character inside a word
        seg, s0 = m.group(), m.start()
        out = unicodedata.normalize("NFKC", seg)
        if out == seg:
            chars.extend(seg)
            where.extend(range(s0, s0 + len(seg)))
            continue
        parts = [unicodedata.normalize("NFKC", c) for c in seg]
        if "".join(parts) == out:
            for i, p in enumerate(parts):
                chars.extend(p)
                where.extend([s0 + i] * len(p))
        else:  # composed across characters of the word: each output character points into the word
            chars.extend(out)
            where.extend(s0 + min(len(seg) - 1, j * len(seg) // max(1, len(out))) for j in range(len(out)))

    def keep(pairs):
        return [c for c, _ in pairs], [w for _, w in pairs]

    pairs = list(zip(chars, where))
    # CRLF and CR -> LF; control characters dropped
    out_pairs: list[tuple[str, int]] = []
    i = 0
    while i < len(pairs):
        c, w = pairs[i]
        if c == "\r":
            out_pairs.append(("\n", w))
            i += 2 if i + 1 < len(pairs) and pairs[i + 1][0] == "\n" else 1
            continue
        if not _CONTROL.match(c):
            out_pairs.append((c, w))
        i += 1
    pairs = out_pairs
    while pairs and pairs[0][0].isspace():  # text.strip()
        pairs.pop(0)
    while pairs and pairs[-1][0].isspace():
        pairs.pop()
    lines: list[list[tuple[str, int]]] = [[]]
    breaks: list[int] = []  # where each line break was
    for c, w in pairs:
        if c == "\n":
            lines.append([])
            breaks.append(w)
        else:
            lines[-1].append((c, w))
    cleaned = []
    for line in lines:  # _SPACES.sub(" ", line).strip()
        s = "".join(c for c, _ in line)
        new: list[tuple[str, int]] = []
        pos = 0
        for m in _SPACES.finditer(s):
            new.extend(line[pos:m.start()])
            new.append((" ", line[m.start()][1]))
            pos = m.end()
        new.extend(line[pos:])
        while new and new[0][0].isspace():
            new.pop(0)
        while new and new[-1][0].isspace():
            new.pop()
        cleaned.append(new)
    joined: list[tuple[str, int]] = []
    as_paragraphs = lines_are_paragraphs(["".join(c for c, _ in line) for line in cleaned])
    for k, line in enumerate(cleaned):
        if k:
            joined.extend([("\n", breaks[k - 1])] * (2 if as_paragraphs else 1))
        joined.extend(line)
    if not as_paragraphs:  # _MANY_NEWLINES.sub("\n\n", ...).strip()
        s = "".join(c for c, _ in joined)
        squeezed: list[tuple[str, int]] = []
        pos = 0
        for m in _MANY_NEWLINES.finditer(s):
            squeezed.extend(joined[pos:m.start() + 2])
            pos = m.end()
        squeezed.extend(joined[pos:])
        joined = squeezed
        while joined and joined[0][0].isspace():
            joined.pop(0)
        while joined and joined[-1][0].isspace():
            joined.pop()
    out_chars, out_where = keep(joined)
    normalised = "".join(out_chars)
    if normalised != normalize_text(text):
        return None
    return normalised, [*out_where, len(src)]


def source_span(where: list[int], start: int, end: int) -> tuple[int, int]:
    """The span of the source text that the normalised span ``[start, end)`` came from."""
    if end <= start:
        return where[start], where[start]
    return where[start], where[end - 1] + 1
