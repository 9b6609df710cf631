"""qa.reader: in a long article the quoted sentence is the one that holds the language model's short
answer; a reply no sentence holds changes nothing, a short article is never sent, the quote stays
verbatim with exact offsets."""
import pytest
from conftest import engine_at, write_jsonl

from qa.engine import QA
from qa.errors import QAError
from qa.reader import ArticleReader, ReaderConfig, holds
from qa.testing.fakes import ScriptedModel
from qa.types import Chunk, Passage


@pytest.mark.parametrize("sentence, reply, held", [
    ("The contract went to Halvorsen Builders, a firm from Bergen.", "Halvorsen Builders", True),
    ("The contract went to Halvorsen Builders.", "halvorsen builders.", True),  # case, final period
    ("The U.S.-led talks resume on Monday.", "U.S.", True),
    ("The fee rose to $35 a month.", "$35", True),
    ("The fee rose to $350 a month.", "$35", False),  # whole words only
    ("Builders from Halvorsen won.", "Halvorsen Builders", False),  # in order
    ("Nobody knows what the panel decided.", "none", False),  # the model found nothing
    ("Anything at all.", "", False),
])
def test_a_sentence_holds_the_replys_words_whole_and_in_order(sentence, reply, held):
    assert holds(sentence, reply) is held


def _passage(text, rank=1):
    return Passage(chunk=Chunk(id=rank, doc_id="a", start=0, end=len(text), text=text, n_tokens=20),
                   title="Reservoir contract awarded", source="s.example", url="", published="2023-03-02",
                   score=1.0, rank=rank)


def test_the_prompt_holds_the_question_title_date_and_the_first_passages():
    model = ScriptedModel(" Halvorsen Builders \n")
    passages = [_passage(f"Passage number {i}.", rank=i) for i in range(1, 5)]
    reply = ArticleReader(model, ReaderConfig(passages=3)).read("Who won the contract?", passages)
    assert reply == "Halvorsen Builders"
    prompt = model.prompts[0][-1]["content"]
    assert "Who won the contract?" in prompt and "Reservoir contract awarded" in prompt and "2023-03-02" in prompt
    assert "Passage number 3." in prompt and "Passage number 4." not in prompt
    assert ArticleReader(model).read("Who won the contract?", []) == "" and len(model.prompts) == 1


FILLER = ("Residents packed the town hall on Tuesday evening to hear the plans, and several asked about the "
          "cost of the work to households over the coming decade. ")
LONG = ("Brindlemoor council approved a new reservoir on the moor above the town on Monday, ending two years of "
        "argument about the water supply. " + FILLER * 6 +
        "The building contract went to Halvorsen Builders, a firm from Bergen that built the dam at Skarvik. " +
        FILLER * 4 + "Work on the reservoir is due to start in the spring, the council said.")
SHORT = "The ferry strike ended on Tuesday after three days, the union said. Crossings resume on Wednesday."
ARTICLES = [
    {"id": "reservoir", "title": "Brindlemoor approves a new reservoir", "source": "Moor Post",
     "published": "2023-03-02", "text": LONG},
    {"id": "ferry", "title": "Ferry strike ends", "source": "Harbour Gazette", "published": "2023-03-01",
     "text": SHORT},
]
Q = "Which company won the contract to build the Brindlemoor reservoir?"


@pytest.fixture
def engine(tmp_path, fake_embedder):
    assert len(LONG) >= 1500  # a long article (AnswerConfig.long_article_chars)
    e = engine_at(tmp_path / "idx", fake_embedder)
    e.ingest([write_jsonl(tmp_path / "a.jsonl", ARTICLES)])
    return e


def test_the_sentence_holding_the_readers_answer_is_quoted(engine):
    plain = engine.ask(Q)
    assert not plain.abstained and "Halvorsen" not in plain.text and plain.read is None  # the scorer alone misses it
    model = ScriptedModel("Halvorsen Builders")
    engine.reader = model
    a = engine.ask(Q)
    assert a.read == "Halvorsen Builders" and a.to_dict()["read"] == "Halvorsen Builders" and a.timings["read"] >= 0
    assert "The building contract went to Halvorsen Builders" in a.text
    assert a.confidence == plain.confidence  # whether to answer is the extractive answerer's
    c = a.citations[0]
    assert c.doc_id == "reservoir" and engine.article_text(c.doc_id)[c.start:c.end] == c.quote
    assert "Brindlemoor" in model.prompts[0][-1]["content"]  # it read the article's passages


@pytest.mark.parametrize("reply", ["none", "Skarvik Dam Company", ""])
def test_a_reply_no_sentence_holds_changes_nothing(engine, reply):
    plain = engine.ask(Q)
    engine.reader = ScriptedModel(reply)
    a = engine.ask(Q)
    assert a.text == plain.text and a.citations == plain.citations and a.read == reply


def test_a_short_article_is_never_sent(engine):
    model = ScriptedModel("Wednesday")
    engine.reader = model
    a = engine.ask("When did the ferry strike end?")
    assert not a.abstained and "ferry strike ended on Tuesday" in a.text
    assert a.read is None and not model.prompts and "read" not in a.timings


def test_an_unknown_reader_is_refused(tmp_path, fake_embedder):
    with pytest.raises(QAError, match="unknown reader 'gpt'"):
        QA(location=tmp_path / "idx", embedder=fake_embedder, reader="gpt")


PORT = ("The port strike in Calder Bay ended on Friday after nine days. Dockers return to work on Monday, the union "
        "said.\n\n" + (FILLER * 3 + "\n\n") * 4)


def test_a_lead_sentence_the_reader_points_at_is_quoted_without_its_neighbour(tmp_path, fake_embedder):
    """The lead paragraph's other likeliest sentence joins the quote only when the scorer cannot tell the
    two apart; the reader's short answer tells them apart."""
    e = engine_at(tmp_path / "idx", fake_embedder)
    e.ingest([write_jsonl(tmp_path / "a.jsonl", [{"id": "port", "title": "Calder Bay port strike ends",
                                                   "source": "Bay Echo", "published": "2023-03-03", "text": PORT}])])
    q = "When do the Calder Bay dockers return to work?"
    plain = e.ask(q)
    assert plain.text.startswith("The port strike in Calder Bay ended on Friday after nine days. Dockers return")
    e.reader = ScriptedModel("Monday")
    a = e.ask(q)
    assert a.citations[0].quote == "Dockers return to work on Monday, the union said."
    e.reader = ScriptedModel("next week")  # held by no sentence: the scorer's quote, pair and all
    assert e.ask(q).text == plain.text
