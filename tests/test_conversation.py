import pytest

from conftest import DEMO
from qa.conversation import Turn, is_followup, search_query


def test_followups_are_recognised():
    assert is_followup("and who else was invited?")
    assert is_followup("What did he say about the cyber attacks?")
    assert is_followup("When is the next round?")
    assert is_followup("How many people died?")
    assert not is_followup("Who led the Syrian government delegation in Astana?")
    assert not is_followup("What is the capital of France?")


def test_previous_topic_is_carried_into_the_search_query():
    h = [Turn("Who did Lavrov want invited to the Astana talks?", "Who did Lavrov want invited to the Astana talks?")]
    q = search_query("and who else was invited?", h)
    assert q.startswith("and who else was invited?")
    assert "Lavrov" in q and "Astana" in q and "who" not in q.split("?")[1].lower()
    assert search_query("Where did Yahya Jammeh go into exile?", h) == "Where did Yahya Jammeh go into exile?"
    assert search_query("and who else?", []) == "and who else?"


@pytest.mark.slow
def test_followup_carries_the_topic_and_answers(tmp_path, minilm):
    from qa.engine import QA

    e = QA(location=tmp_path / "idx", embedder=minilm)
    e.ingest([DEMO])
    first = e.ask("What did Russia, Turkey and Iran agree on in Astana?")
    history = [Turn(first.question, first.search_query, first.text)]
    alone = e.ask("When is the next round?")
    followup = e.ask("When is the next round?", history=history)
    assert "February 15" in followup.text
    assert followup.citations[0].doc_id == "demo-astana-round2-2017"
    assert "Astana" in followup.search_query
    assert alone.search_query == "When is the next round?"  # no history: nothing is carried over
    # the question's own words ("next round") decide the answer sentence, with or without context
    assert alone.abstained or "February 15" in alone.text
