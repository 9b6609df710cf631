"""The verifier on hand-made faithful, miscited and hallucinated answers."""
import pytest

from qa.types import Chunk, Passage
from qa.verify import cited_sentences, verify_answer

ARTICLES = {
    "astana": "The talks will be held in Astana on January 23. The talks will be mediated by Russia, Turkey and Iran.",
    "tennis": "Roger Federer won the Australian Open on Sunday. He beat Rafael Nadal in five sets.",
}


def _passages():
    out = []
    for rank, (doc, text) in enumerate(ARTICLES.items(), start=1):
        c = Chunk(id=rank, doc_id=doc, start=0, end=len(text), text=text, n_tokens=30)
        out.append(Passage(chunk=c, title=doc, source="s", url="", published="", score=1.0, rank=rank))
    return out


def _verify(text, **kw):
    return verify_answer(text, _passages(), ARTICLES.__getitem__, **kw)


def test_faithful_answer_is_kept_with_exact_quotes():
    v = _verify("Russia, Turkey and Iran will mediate the talks. [1] Federer beat Nadal. [2]")
    assert not v.abstained and not v.removed and not v.corrected
    assert [c.doc_id for c in v.citations] == ["astana", "tennis"]
    for c in v.citations:
        assert ARTICLES[c.doc_id][c.start:c.end] == c.quote
    assert v.citations[0].quote == "The talks will be mediated by Russia, Turkey and Iran."


def test_miscited_sentence_is_corrected():
    v = _verify("Federer won the Australian Open. [1]")
    assert v.corrected == ["Federer won the Australian Open."]
    assert v.citations[0].doc_id == "tennis" and v.text == "Federer won the Australian Open. [1]"


def test_out_of_range_citation_is_never_kept():
    v = _verify("The talks will be held in Astana. [7]")
    assert v.citations[0].doc_id == "astana"
    assert any("outside" in r for r in v.verdicts[0].reasons)


def test_hallucinated_sentence_is_removed_or_marked():
    text = "The talks will be held in Astana. [1] Paris is the capital of France. [1]"
    v = _verify(text)
    assert v.removed == ["Paris is the capital of France."]
    assert "Paris" not in v.text
    marked = _verify(text, drop_unsupported=False)
    assert "Paris is the capital of France. [unsupported]" in marked.text


@pytest.mark.parametrize("text", ["Egypt will mediate the talks. [1]", "I don't know.",
                                  "The talks will not be mediated by Russia, Turkey and Iran. [1]"])
def test_nothing_supported_means_abstention(text):
    assert _verify(text).abstained


def test_sentence_split_keeps_uncited_text():
    assert cited_sentences("A fact. [1] Loose one. Another loose.") == [
        ("A fact.", [1]), ("Loose one.", []), ("Another loose.", [])]


@pytest.mark.parametrize("written, expected", [
    ("Russia, Turkey and Iran mediate. [1], [2]", [("Russia, Turkey and Iran mediate.", [1, 2])]),
    ("Russia mediates [1]. Federer won [2].", [("Russia mediates.", [1]), ("Federer won.", [2])]),
    ("Russia mediates. [1, 2] Federer won. [1-3]", [("Russia mediates.", [1, 2]), ("Federer won.", [1, 2, 3])]),
    ("[1] Iraq", [("Iraq", [1])]),
    ("[1] Popeye's [2]", [("Popeye's", [1, 2])]),
    ("No citation here. Nor here.", [("No citation here.", []), ("Nor here.", [])]),
])
def test_the_ways_models_write_citations_are_understood(written, expected):
    assert cited_sentences(written) == expected
