"""Web-page boilerplate in article texts: the lines that are not the story.

Articles saved from news sites carry sign-up boxes ("Get CNN Health's weekly newsletter…"), video
and ad widgets ("Video Ad Feedback…", "How relevant is this ad to you?"), related-story links
("RELATED: …", "Read more: …", "►Label: headline"), contact lines and reporter bios ("Follow her on Twitter @…"),
credit lines ("Contributing: The Associated Press"), update notes, consent texts ("We will use the
details you have shared…") and bare datelines ("London CNN —"). Their words match questions
("newsletter", "Twitter", a reporter's name) while they answer nothing, and a quoted "Read more"
link is a wrong answer. ``lines`` finds them; the chunker leaves them out of every chunk, so they
are never embedded, searched, quoted or counted as corroboration. The article's text is kept as
given (citations index it).

A line is judged whole by conservative patterns (a line of the story that mentions a newsletter or
Twitter is kept: each pattern wants the form of the widget, not the word); only a paragraph of the
story that closes with a sign-off loses just that sentence (``lines``).
Measured on news-fullarticles-dev (docs/answering.md, "Long articles"). Hand-written because the
offline libraries for it (trafilatura, jusText) work on HTML, and here the HTML is gone: a JSON
export holds the page's text.
"""
from __future__ import annotations

import re

from .text import sentence_spans

MAX_LINE = 400  # longer lines are paragraphs of the story, whatever words they contain

_FLAGS = re.I
_PATTERNS = [re.compile(p, _FLAGS) for p in (
    # sign-up boxes and promotions
    r"\bnewsletters?\b.{0,120}\b(sign up|subscribe|inbox|delivered|every (morning|day|week|\w+day))\b",
    r"\b(sign up|subscribe)\b.{0,80}\bnewsletters?\b",
    r"\b(sign up|subscribe) (here|now|today)\b(?!\s+(to|for) (watch|stream|see))",
    r"\bsign up for (our|text|email|full digital)\b",
    r"^(would you like to receive|the short list is|get deals and shopping advice)\b",
    r"\bsupport (local )?journalism\b", r"\bthank you for (supporting|reading) our journalism\b",
    r"\b(text message alerts|delivered (straight )?to your (inbox|phone))\b",
    r"^(just for|for) subscribers\s*:", r"\bthese articles are for .{0,30}subscribers\b",
    r"\bplay to win\b.{0,80}\bsign up\b", r"^get .{0,60}\bin(to)? your inbox\b",
    # video and ad widgets
    r"\bvideo ad feedback\b", r"\bhow relevant is this ad to you\b", r"\bvideo player was slow to load\b",
    r"\bad froze or did not finish loading\b", r"^(advertisement|ad feedback|skip ad)$",
    r"^hit play on the player above\b",
    # related stories and navigation
    r"^(related|read more|more|more news|more stories|see also|up next|more from \w+( \w+)?|also read)\s*(:|$)",
    r"^(follow every game|live leaderboard|nfl stats central|super bowl central|world cup central)\b",
    # contact lines and reporter bios
    r"^(contact|reach|follow|call|email|e-mail)\b.{0,200}(@\w|\btwitter\b|\bfacebook\b|\binstagram\b|"
    r"\b\d{3}[-.]\d{3}[-.]\d{4}\b)",
    r"\b(reach|contact|email|e-mail) (him|her|them|the reporter)\b.{0,120}(@\w|\b\d{3}[-.]\d{3}[-.]\d{4}\b)",
    r"\bfollow (him|her|them|us|\w+ \w+) on (twitter|facebook|instagram|x|threads|bluesky)\b",
    r"\bis a .{0,60}\b(reporter|editor|writer|correspondent|columnist)\b.{0,160}(@\w|\bemail\b|\breach\b)",
    # credit lines and notes about the page
    r"^(contributing|contributors?|reporting by|additional reporting|editing by|written by|photos? by)\b"
    r"\s*(:|[A-Z])",
    r"^(staff and wire reports|from usa today network and wire reports|(the )?associated press|ap|reuters|"
    r"afp|usa today( sports| network)?|special (to|for) usa today|editors)$",
    r"^this (story|article|report|post) (has been|was|will be|is being) updated\b",
    r"^(a version of this (story|article)|editor['’]s note: a version of this)\b",
    r"\bis a usa today content partner\b", r"\bprices were accurate at the time\b",
    r"\brecommendations are independently chosen\b", r"\bpurchases you make through (our|the) links\b",
    r"\bthe product experts at reviewed\b", r"\bis made possible in part by a grant\b",
    # consent and cookie texts
    r"\bwe will use the (details|information) you have shared\b",
    r"\bif you wish to object to the use of your data\b", r"\bplease tick here\b",
    r"^['‘’]we['‘’] includes\b", r"\byou agree to the (processing|privacy|terms)\b",
    r"\b(we|this (site|website)) uses? cookies\b", r"\baccept (all )?cookies\b",
)]
# case matters here: an upper-case label before a headline is a link to another story ("TRAINS ARE
# BECOMING LESS SAFE:Why …", "RELATED: …", "Read moreWhy …") -- one of two words or more, or a known
# one; a single other word is a speaker's name in a transcript ("DUNN: I always…") or a list's field
# ("SIGNED: Nine years…", "WINNER: …"), and a live blog's "UPDATE:" is news; a headline has no final
# full stop, a transcript's speech has ("SEN. JOHN SMITH: We will vote.")
_CAPS_LINK = re.compile(r"^(?!(MORE INFORMATION|EDITOR'S NOTE|EDITOR’S NOTE)\b)"
                        r"([A-Z][A-Z0-9'’&!?.,-]*( [A-Z0-9][A-Z0-9'’&!?.,-]*)+|RELATED|MORE|RECAP|STORY|PREVIOUSLY|"
                        r"BACKGROUND|OPINION|ANALYSIS|VIDEO|PHOTOS|PODCAST|WATCH)"
                        r"\s?:\s*[A-Z0-9\"'“‘$](\S*\s+){3}.*[^.]$")
_READ_MORE = re.compile(r"^Read more(?=[A-Z“\"'])")
# an arrow-marked link to another story, a short label and its headline ("►Ferry strike: Five things to
# know"); an arrow before a sentence of the story ("►Heavy snow was forecast ….") or a quoted front page
# ("► The Gazette: “…") is kept
_ARROW_LINK = re.compile(r"^(?:►|▶|>>)\s*(?:[\w'’&$.,-]+\s?){1,6}:\s*[^\s“\"‘'].*[^.]$")
# a dateline alone on its line ("London CNN —", "New York CNN Business —", "WASHINGTON (AP) —")
_DATELINE = re.compile(r"^[\w.,'’() -]{0,60}\s*[—–-]+$")
# a reporter's bio before their contact line ("Dana Reyes covers the statehouse for the Gazette. Reach her …")
_BIO = re.compile(r"^[A-Z][\w.'’-]*( [A-Z][\w.'’-]*){1,3},? (is an?|covers|writes)\b")
# an attribution alone on its line, as live blogs sign their posts ("– David Jackson")
_SIGNATURE = re.compile(r"^[–—-]\s*[A-Z][\w.'’-]*( [A-Z][\w.'’-]*){0,3}$")


def is_boilerplate(line: str) -> bool:
    """Is this line (stripped) page furniture rather than a line of the story?"""
    line = line.strip()
    if not line or len(line) > MAX_LINE:
        return False
    if _CAPS_LINK.match(line) or _READ_MORE.match(line) or _ARROW_LINK.match(line) or _SIGNATURE.match(line):
        return True
    if _DATELINE.match(line) and len(line.split()) <= 6:
        return True
    return any(p.search(line) for p in _PATTERNS)


STORY_WORDS = 20  # a paragraph's sentences before a sign-off this long are a story, not a widget's caption


def lines(text: str) -> list[tuple[int, int]]:
    """The (start, end) offsets of the boilerplate in ``text``, in order: whole lines of furniture, and
    the sign-off that closes a paragraph of the story ("… balanced an umbrella on his finger. For more
    odd news, sign up to our newsletter."): a one-paragraph article is its story, not its sign-up box."""
    out = []
    start = 0
    for line in text.split("\n"):
        end = start + len(line)
        if line.strip():
            out += _pieces(text, start, end, line)
        start = end + 1
    return out


def _pieces(text: str, start: int, end: int, line: str) -> list[tuple[int, int]]:
    """The boilerplate of one line: its closing sentences that are furniture on their own, when what
    comes before them is a story (``STORY_WORDS`` or more, no furniture itself); else the whole line
    when it is furniture ("Natalie Reyes covers trending news. Reach her at …" is a bio throughout)."""
    whole = is_boilerplate(line)
    spans = sentence_spans(text, start, end)
    tail = len(spans)
    while tail > 1 and is_boilerplate(text[spans[tail - 1][0]:spans[tail - 1][1]]):
        tail -= 1
    if tail < len(spans):
        head = text[start:spans[tail][0]]
        if len(head.split()) >= STORY_WORDS and not is_boilerplate(head) and not _BIO.match(head):
            return [(spans[tail][0], end)]
    return [(start, end)] if whole else []


LEAD_PREFIX = 600  # the most characters of boilerplate looked at before an article's first chunk


def opens_article(text: str, start: int) -> bool:
    """Does a chunk starting at ``start`` open its article: is what comes before it blank lines and
    boilerplate only ("London CNN —")? Only a prefix of at most ``LEAD_PREFIX`` characters can be
    (it is checked before anything is sliced: this runs for every candidate passage)."""
    if start == 0:
        return True
    if start > LEAD_PREFIX or not text[:start].strip():
        return False
    return all(not line.strip() or is_boilerplate(line) for line in text[:start].split("\n"))
