"""Follow-up questions without a language model: carry the previous turn's topic into retrieval.

A question is treated as a follow-up when it leans on an earlier turn: it starts with "and",
"what about", "also"…, uses a pronoun or "else/other/too", or is short (fewer than four content
words) and names nothing (no capitalised word after the first). Its search query is then the
question plus the content words of the previous turn's search query (names first, at most
``MAX_CARRIED`` words, no duplicates), so
"and who else was invited?" after "Who did Lavrov invite to the Astana talks?" searches for
"and who else was invited? Lavrov Astana talks". The query is shown to the user.
"""
from __future__ import annotations

import re

from .text import STOPWORDS, content_terms, stem
from .types import Turn

MAX_CARRIED = 8
_LEADS = re.compile(r"^\s*(and|but|also|so|then|what about|how about|what else|anything else|and what|and who)\b", re.I)
_CUES = {"he", "she", "they", "it", "his", "her", "hers", "their", "theirs", "its", "him", "them", "this", "that",
         "these", "those", "there", "else", "other", "others", "too", "again", "same", "former", "latter"}
_WH = {"who", "whom", "whose", "what", "which", "when", "where", "why", "how", "many", "much"}



def is_followup(question: str) -> bool:
    words = re.findall(r"[\w']+", question)
    if _LEADS.match(question) or any(w.lower() in _CUES for w in words):
        return True
    names = [w for w in words[1:] if w[0].isupper()]
    return not names and len(content_terms(question)) < 4


def search_query(question: str, history: list[Turn]) -> str:
    """The text to retrieve with: the question, plus the previous turn's topic for follow-ups."""
    question = question.strip()
    if not history or not is_followup(question):
        return question
    have = {stem(w.lower()) for w in re.findall(r"[\w'-]+", question)}
    carried: list[str] = []
    prev = history[-1].search_query
    words = re.findall(r"[\w'-]+", prev)
    # names (capitalised, not sentence-initial wh-words) first, then other content words
    ordered = [w for w in words if w[0].isupper()] + [w for w in words if not w[0].isupper()]
    for w in ordered:
        low = w.lower()
        key = stem(low)
        if low in STOPWORDS or low in _WH or low in _CUES or len(low) < 2 or key in have:
            continue
        have.add(key)
        carried.append(w)
        if len(carried) >= MAX_CARRIED:
            break
    return f"{question} {' '.join(carried)}".strip()


def turns(said: list[tuple[str, str, str | None]]) -> list[Turn]:
    """Earlier turns given as (question, answer, search query or None), each None worked out as the
    turn would have searched then (``search_query`` over the turns before it)."""
    out: list[Turn] = []
    for question, answer, searched in said:
        out.append(Turn(question=question, answer=answer, search_query=searched or search_query(question, out)))
    return out
