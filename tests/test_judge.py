"""qa.judge: a borderline answer's passage shown to a chat model; a "no" abstains, a "yes" keeps it,
answers outside the band are never sent."""
import pytest
from conftest import engine_at, write_jsonl

from qa.engine import QA
from qa.errors import QAError
from qa.judge import AnswerabilityJudge, JudgeConfig
from qa.testing.fakes import ScriptedModel
from qa.types import Chunk, Passage


def _passage(text):
    return Passage(chunk=Chunk(id=1, doc_id="a", start=0, end=len(text), text=text, n_tokens=20),
                   title="Ferry strike", source="s.example", url="", published="2017-01-20", score=1.0, rank=1)


@pytest.mark.parametrize("reply, verdict", [("Yes.", True), ("no", False), (" No, it does not", False),
                                            ("I cannot tell", None)])
def test_the_reply_is_read_as_yes_no_or_neither(reply, verdict):
    model = ScriptedModel(reply)
    p = _passage("The ferry strike ended on Tuesday after three days.")
    assert AnswerabilityJudge(model).answers("When did the ferry strike end?", p) is verdict
    prompt = model.prompts[0][-1]["content"]  # the question and the passage, with its title and date
    assert "When did the ferry strike end?" in prompt and "ended on Tuesday" in prompt and "2017-01-20" in prompt


def test_only_answers_in_the_band_are_borderline():
    j = JudgeConfig(below=0.5, below_undated=0.4)
    assert j.borderline(0.3, 0.21, dated=True) and not j.borderline(0.5, 0.21, dated=True)
    assert not j.borderline(0.2, 0.21, dated=True)  # already abstained
    assert j.borderline(0.3, 0.285, dated=False) and not j.borderline(0.45, 0.285, dated=False)


ARTICLES = [
    {"id": "ferry", "title": "Ferry strike ends", "source": "Harbour Gazette", "published": "2017-01-20",
     "text": "The ferry strike ended on Tuesday after three days, the union said. Crossings resume on Wednesday."},
    {"id": "bridge", "title": "Council closes the old bridge", "source": "Valley News", "published": "2017-01-19",
     "text": "The council voted 7-2 to close the old bridge. Repairs will take a year, the mayor said."},
]


@pytest.fixture
def corpus(tmp_path):
    return write_jsonl(tmp_path / "a.jsonl", ARTICLES)


def _engine(tmp_path, fake_embedder, corpus, judge, band):
    e = engine_at(tmp_path / "idx", fake_embedder)
    e.ingest([corpus])
    e.judge, e.judge_config = judge, JudgeConfig(below=band, below_undated=band)
    return e


def test_a_no_turns_a_borderline_answer_into_an_abstention(tmp_path, fake_embedder, corpus):
    q = "When did the ferry strike end?"
    plain = engine_at(tmp_path / "idx", fake_embedder)
    plain.ingest([corpus])
    kept = plain.ask(q)
    assert not kept.abstained and kept.judged is None  # no judge: no check
    no = ScriptedModel("no")
    e = _engine(tmp_path, fake_embedder, corpus, no, band=1.01)  # every answer is borderline
    a = e.ask(q)
    assert a.abstained and a.judged is False and not a.citations and a.passages
    assert a.to_dict()["judged"] is False and a.timings["judge"] >= 0
    assert "ended on Tuesday" in no.prompts[0][-1]["content"]  # it saw the passage the answer quoted
    yes = ScriptedModel("yes")
    e.judge = yes
    b = e.ask(q)
    assert not b.abstained and b.judged is True and b.text == kept.text
    e.judge, e.judge_config = ScriptedModel("no"), JudgeConfig(below=0.0, below_undated=0.0)  # no answer is borderline
    c = e.ask(q)
    assert not c.abstained and c.judged is None and not e.judge.prompts


def test_an_unknown_judge_is_refused(tmp_path, fake_embedder):
    with pytest.raises(QAError, match="unknown judge 'gpt'"):
        QA(location=tmp_path / "idx", embedder=fake_embedder, judge="gpt")
