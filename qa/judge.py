"""A second opinion on borderline answers: the language model asked "does this passage answer the question?".

The extractive answerer's confidence separates answerable from unanswerable questions well at the
extremes and poorly in between: an article on the right story that lacks the asked-for fact scores
like one that has it (docs/experiments/2026-12-abstention-judge.md). For an answer whose confidence
is above the abstention threshold but below ``JudgeConfig.below`` (``below_undated`` without a
date), the passage it quotes is shown to a chat model with the question; a "no" turns the answer
into an abstention. Answers outside that band are never sent (and the model is not even loaded), so
it costs one short prompt for a minority of questions (measured: 4-19 %, 9 % of news-dev's dated ones).

Off unless asked for: ``QA(judge="local")``, ``qa ask --judge local``, ``qa eval --judge local`` or
``QA_JUDGE=local`` (the app and ``qa serve`` read it too). The bands were fitted on news-dev's
earlier half by date and reported on its later half.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .llm import ChatModel
from .types import Passage


@dataclass(frozen=True)
class JudgeConfig:
    # answers with a confidence from the abstention threshold up to these are checked
    below: float = 0.5  # questions with a date (as_of)
    below_undated: float = 0.35
    max_passage_chars: int = 2400  # the quoted passage as the model sees it (chunks are ~128 word pieces)
    max_tokens: int = 3

    def borderline(self, confidence: float, threshold: float, dated: bool) -> bool:
        """Is an answer of this confidence (not abstained: at least ``threshold``) checked?"""
        return threshold <= confidence < (self.below if dated else self.below_undated)


SYSTEM = "You check whether a news passage answers a question. Reply with one word: yes or no."
# what the chat page and ``qa ask`` say beside an abstention the judge made
REFUSED = "a borderline answer: the language model found that its passage does not answer the question"
_REPLY = re.compile(r"\b(yes|no)\b", re.I)


class AnswerabilityJudge:
    """Asks a chat model whether a passage answers a question."""

    def __init__(self, model: ChatModel, config: JudgeConfig | None = None):
        self.model = model
        self.config = config or JudgeConfig()

    @staticmethod
    def messages(question: str, passage: Passage, max_chars: int) -> list[dict]:
        dated = f", {passage.published}" if passage.published else ""
        return [{"role": "system", "content": SYSTEM},
                {"role": "user", "content": f"Passage ({passage.title}{dated}):\n{passage.text[:max_chars]}\n\n"
                                            f"Question: {question}\n\n"
                                            "Does the passage give the answer to this exact question? Reply yes or no."}]

    def answers(self, question: str, passage: Passage) -> bool | None:
        """True for "yes", False for "no", None when the reply is neither (the answer then stands)."""
        reply = "".join(self.model.stream(self.messages(question, passage, self.config.max_passage_chars),
                                          max_tokens=self.config.max_tokens))
        m = _REPLY.search(reply)
        return None if m is None else m.group(1).lower() == "yes"
