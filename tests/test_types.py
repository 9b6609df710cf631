"""The typed request: Query.build checks a question and its options once; modes are str enums."""
import json

import pytest

from qa.errors import QAError
from qa.types import AnswerMode, Query, RetrievalMode, Turn, Verdict


def test_a_query_is_checked_and_normalised_once():
    q = Query.build("  Who won?  ", k=3, as_of="2017-01-20T10:00", sources=["a.example"], mode="local",
                    retrieval="dense", history=[Turn("Who?", "Who?")])
    assert q.question == "Who won?" and q.as_of == "2017-01-20" and q.sources == ("a.example",)
    assert q.mode is AnswerMode.LOCAL and q.retrieval is RetrievalMode.DENSE and len(q.history) == 1
    assert q.filters.sources == ["a.example"] and q.filters.as_of == "2017-01-20" and q.filters.active()
    with pytest.raises(AttributeError):
        q.k = 5  # frozen: what the engine passes down cannot change on the way


@pytest.mark.parametrize("options, message", [
    ({"asof": "2017-01-20"}, "unknown option 'asof'; the options are: k, as_of"),
    ({"mode": "gpt"}, "unknown answer mode 'gpt'; use one of: extractive, local, openai"),
    ({"retrieval": "fuzzy"}, "unknown retrieval mode 'fuzzy'; use one of: hybrid, dense, lexical"),
    ({"k": 0}, "k must be at least 1"),
    ({"date_from": "yesterday"}, "date_from must be a date like 2017-01-20"),
])
def test_bad_options_say_what_is_allowed(options, message):
    with pytest.raises(QAError, match=message.replace("(", r"\(")):
        Query.build("Who won?", **options)


def test_an_empty_or_overlong_question_is_refused():
    with pytest.raises(QAError, match="the question is empty"):
        Query.build("   ")
    with pytest.raises(QAError, match="at most 10"):
        Query.build("x" * 11, max_chars=10)


def test_modes_are_strings_to_json_and_comparisons():
    assert AnswerMode.EXTRACTIVE == "extractive" and str(RetrievalMode.LEXICAL) == "lexical"
    assert json.dumps({"mode": AnswerMode.OPENAI}) == '{"mode": "openai"}'
    assert Query.build("q", mode=AnswerMode.LOCAL).mode is AnswerMode.LOCAL


def test_a_verdict_serialises_with_the_keys_the_json_output_had():
    v = Verdict(sentence="S.", cited=[2], kept=True, passage=1, corrected=True, reasons=["citation corrected"])
    assert v.to_dict() == {"sentence": "S.", "cited": [2], "kept": True, "passage": 1, "corrected": True,
                           "reasons": ["citation corrected"]}
