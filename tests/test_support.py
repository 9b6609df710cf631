"""The support scorer must be able to fail: swapped numbers, names and negations are unsupported."""
import pytest

from qa.support import SupportScorer

EVIDENCE = ("The negotiations will be held between the Damascus government and opposition groups in Astana. "
            "The negotiations will be mediated by Russia, Turkey, and Iran. The meeting will take place on "
            "January 23, as planned. Obama ordered 35 Russian diplomats to leave within 72 hours.")


@pytest.fixture
def scorer():
    return SupportScorer()


@pytest.mark.parametrize("claim", [
    "The negotiations will be mediated by Russia, Turkey, and Iran.",  # verbatim
    "Russia, Turkey and Iran will mediate the negotiations in Astana.",  # paraphrase
    "The Astana meeting is planned for January 23.",
    "Obama expelled thirty-five Russian diplomats.".replace("thirty-five", "35"),
])
def test_faithful_sentences_are_supported(scorer, claim):
    r = scorer.score(claim, EVIDENCE)
    assert r.supported, r.reasons


@pytest.mark.parametrize("claim,reason", [
    ("The meeting will take place on January 25, as planned.", "numbers"),
    ("Obama ordered 53 Russian diplomats to leave within 72 hours.", "numbers"),
    ("The negotiations will be mediated by Russia, France, and Iran.", "names"),
    ("The negotiations will be mediated by Russia, Turkey, and Egypt.", "names"),
    ("The negotiations will not be mediated by Russia, Turkey, and Iran.", "negation"),
    ("Paris is the capital of France.", "names"),
    ("The weather in the region was unusually warm and sunny that week.", "coverage"),
])
def test_unfaithful_sentences_are_unsupported(scorer, claim, reason):
    r = scorer.score(claim, EVIDENCE)
    assert not r.supported
    assert r.score == 0.0 or reason == "coverage"
    assert any(reason in x for x in r.reasons), r.reasons


def test_score_is_coverage_when_supported(scorer):
    r = scorer.score("Russia, Turkey and Iran will mediate.", EVIDENCE)
    assert r.supported and 0.6 <= r.score <= 1.0
