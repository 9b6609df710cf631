"""A reader for long articles: the language model reads the answer's article and says the answer in a
few words; the answer then quotes the article's sentence that holds those words.

In a long article (a web page: ``AnswerConfig.long_article_chars``) the feature scorers choose the
right article far more often than the right sentence of it: on news-fullarticles-dev 49 of the 299
answerable questions had the gold answer in another sentence of the article they were answered
from (docs/answering.md, "Long articles"). A chat model asked to answer from that article's
retrieved passages ("a few words copied from the passage") names the answer more often than the
scorers point at its sentence; its reply is only used to *choose* among the article's candidate
sentences -- the one holding the reply, the long-article scorer deciding between several -- so the
answer stays a verbatim quote with exact offsets, and a reply that no sentence holds (a paraphrase,
"none", an answer from the model's own memory) changes nothing. A sentence the reply points at is
quoted without its lead paragraph's neighbour (that sentence joins only when the scorer cannot tell
the two apart). Which article answers, and whether
to answer at all, stay the extractive answerer's (the confidence is unchanged).

Off unless asked for: ``QA(reader="local")``, ``qa ask --reader local``, ``qa eval --reader local`` or
``QA_READER=local`` (the app and ``qa serve`` read it too). It costs one short prompt (about 1.8 s on
2 cores) for each answered question whose article is long, and nothing for the others.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from .llm import ChatModel
from .types import Passage


@dataclass(frozen=True)
class ReaderConfig:
    passages: int = 3  # the answer article's retrieved passages the model reads, best first
    max_chars: int = 2400  # of those passages together (chunks are ~128 word pieces)
    max_tokens: int = 16  # the reply: a few words


SYSTEM = "You answer questions about news articles. Reply with the answer only: a few words copied from the passage."
_NO_ANSWER = {"", "none", "unknown", "n/a", "not mentioned", "not stated"}


def _norm(text: str) -> str:
    """Lower case, NFKC, punctuation other than ``$ % .`` as spaces and a word's final period dropped:
    "the U.S.-led talks." holds "U.S.", "led talks"."""
    text = re.sub(r"[^\w$%.]+", " ", unicodedata.normalize("NFKC", text).lower())
    return " ".join(w.rstrip(".") for w in text.split() if w.rstrip("."))


def holds(sentence: str, reply: str) -> bool:
    """Does the sentence hold the reply's words, whole and in order (case and punctuation aside)?"""
    r = _norm(reply)
    return r not in _NO_ANSWER and f" {r} " in f" {_norm(sentence)} "


class ArticleReader:
    """Asks a chat model for the answer, in a few words, from one article's passages."""

    def __init__(self, model: ChatModel, config: ReaderConfig | None = None):
        self.model = model
        self.config = config or ReaderConfig()

    def messages(self, question: str, passages: list[Passage]) -> list[dict]:
        first = passages[0]
        dated = f" ({first.published})" if first.published else ""
        text = "\n".join(p.text for p in passages[: self.config.passages])[: self.config.max_chars]
        return [{"role": "system", "content": SYSTEM},
                {"role": "user", "content": f"Article: {first.title}{dated}\n{text}\n\nQuestion: {question}\n"
                                            "Answer (a few words from the article):"}]

    def read(self, question: str, passages: list[Passage]) -> str:
        """The model's short answer from ``passages`` (one article's, best first); "" when none."""
        if not passages:
            return ""
        return "".join(self.model.stream(self.messages(question, passages), max_tokens=self.config.max_tokens)).strip()
