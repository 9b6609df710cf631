"""qa.corroborate: the asked-for value, who else reports it, and where reports disagree."""
import pytest

from conftest import engine_at, write_jsonl
from qa.corroborate import answer_value, number_keys, slot_kind, states, summary, values_in

TOLL = "How many people were killed by the avalanche at the Hotel Rigopiano?"


# ---- the value ------------------------------------------------------------------------------
def test_the_value_is_of_the_asked_kind_and_not_in_the_question():
    assert slot_kind(TOLL) == "number"
    found = values_in("Officials said 29 people were killed, and eleven were rescued.", TOLL, "number")
    assert [(v.text, v.keys) for v in found] == [("29", ("29",)), ("eleven", ("11",))]
    assert slot_kind("In which month did the storm hit Florida?") == "date"
    assert [v.text for v in values_in("The storm hit Florida in September 2017.",
                                      "In which month did the storm hit Florida?", "date")] == ["September 2017"]
    assert slot_kind("Which U.S. state passed the law?") == "state"
    # a name the question gives is no answer; the one it lacks is
    who = "Who is Biden's son?"
    assert [v.text for v in values_in("Biden's son Hunter Biden spoke.", who, slot_kind(who))] == ["Hunter Biden"]


def test_what_is_the_wage_or_the_score_asks_for_an_amount():
    wage = "What is the federal minimum wage in the harbour towns?"
    assert slot_kind(wage) == "number"
    v = answer_value(wage, "The minimum wage has been stuck at $7.25 an hour since 2009 as Republicans blocked bills.")
    assert v is not None and v.keys == ("7.25",)  # not the name beside it
    assert slot_kind("What was the final score of the harbour derby?") == "number"
    assert slot_kind("What is the name of the new harbour master?") is None  # a name, not an amount


def test_of_several_values_the_one_nearest_the_focus_word_is_the_answer():
    q = "How many people were rescued alive from the Hotel Rigopiano?"
    v = answer_value(q, "Officials said 29 people were killed, and eleven were rescued alive.")
    assert v is not None and v.keys == ("11",)


def test_a_name_joined_by_of_is_the_part_the_question_asks_for():
    league = "Lionel Messi announced where he will play next. Which league does he plan on joining?"
    v = answer_value(league, "He will join Inter Miami CF of Major League Soccer, he announced Wednesday.")
    assert v is not None and v.text == "Major League Soccer"  # the name holding "league"
    assert states(v, "Messi is coming to join the Major League Soccer club Inter Miami.")
    band = "Which member of the K-pop group BTS announced a solo world tour?"
    v = answer_value(band, "Suga of BTS announced a string of concerts around the world on Tuesday.")
    assert v is not None and v.text == "Suga"  # the question names BTS
    mvp = "The Kansas City Chiefs won the Super Bowl. Who was named the game's MVP?"
    v = answer_value(mvp, "Chiefs QB Patrick Mahomes was named the game's MVP.")
    assert v is not None and v.text == "Patrick Mahomes"  # a position is a title
    # one name with "of" in it stays whole
    v = answer_value("Which bank will buy the lender?", "The Bank of America said it would buy the lender.")
    assert v is not None and v.text == "Bank of America"


def test_a_number_is_stated_in_digits_or_words_but_not_as_another_number():
    v = answer_value(TOLL, "Officials said 29 people were killed.")
    assert states(v, "Twenty-nine people died in all.") and states(v, "twenty nine died")
    assert not states(v, "In all, 24 people were killed.") and not states(v, "Twenty people died.")
    assert number_keys("twenty nine and 20") == {"29", "20"} and number_keys("1,200") == {"1200"}


def test_a_name_is_stated_only_with_its_distinctive_words():
    who = "Who won the Australian Open men's final?"
    v = answer_value(who, "Roger Federer won the Australian Open on Sunday.")
    assert v is not None and v.text == "Roger Federer"
    assert states(v, "Federer beat Nadal in five sets.") is False  # "Roger" is missing: maybe another Federer
    assert states(v, "Nadal lost to Roger Federer in five sets.")


# ---- the engine: copies, outlets, conflicts, revisions ----------------------------------------
def _report(doc_id, source, published, text, title="Avalanche at the Hotel Rigopiano"):
    return {"id": doc_id, "title": title, "source": source, "url": f"https://{source.lower().replace(' ', '')}"
            f".example/{doc_id}", "published": published, "text": text}


STORY = ("An avalanche buried the Hotel Rigopiano in the Abruzzo mountains of Italy after a series of earthquakes. "
         "Rescuers dug through the snow for a week to reach the guests and staff. ")
WIRE = STORY + "Officials said 29 people were killed by the avalanche, and eleven guests were rescued alive."


@pytest.fixture
def reports(tmp_path, fake_embedder):
    arts = [
        _report("wire", "Alpine Wire", "2017-01-26", WIRE),
        # the wire's story under another name, a day later: a copy, one outlet with the wire
        _report("copy", "Town Crier", "2017-01-27", WIRE + " The hotel will not reopen this year."),
        _report("bee", "Bee Times", "2017-01-26", "Search teams ended their work at the Hotel Rigopiano in Italy on "
                "Thursday. In all, 29 people were killed by the avalanche, and eleven guests survived it."),
        _report("sea", "Sea Post", "2017-01-25", "Rescuers kept digging in the Abruzzo mountains of Italy for the "
                "guests and staff of the Hotel Rigopiano. Officials said 24 people were killed by the avalanche, "
                "and eleven guests were rescued alive."),
        _report("tennis", "Sport Daily", "2017-01-29", "Roger Federer won the Australian Open. 29 aces were served.",
                title="Federer wins in Melbourne"),
    ]
    e = engine_at(tmp_path, fake_embedder)
    e.ingest([write_jsonl(tmp_path / "a.jsonl", arts)])
    return e


def _check_offsets(engine, answer):
    for c in answer.citations:
        for o in [c, *c.corroborated_by]:
            assert engine.article_text(o.doc_id)[o.start:o.end] == o.quote
    if answer.corroboration and answer.corroboration.conflict:
        for r in answer.corroboration.conflict.reports:
            for c in r.citations:
                assert engine.article_text(c.doc_id)[c.start:c.end] == c.quote


def test_outlets_count_copies_once_and_a_minority_value_is_named_beside_the_majority(reports):
    a = reports.ask(TOLL)
    k = a.corroboration
    assert not a.abstained and k is not None and k.value == "29" and k.kind == "number"
    assert sorted(k.outlets) == ["Alpine Wire", "Bee Times"]  # the copy is the wire's, not a third outlet
    listed = {c.doc_id: c for c in a.citations for c in [c, *c.corroborated_by]}
    assert {"wire", "copy", "bee"} <= set(listed) and "tennis" not in listed  # 29 aces are no toll
    assert listed["copy"].copy_of == "wire" and not listed["bee"].copy_of
    assert (k.first_reported.published, k.latest_reported.published) == ("2017-01-26", "2017-01-27")
    # the conflict: each value with its reports, newest first; the answer leads with 29, names 24 beside it
    c = k.conflict
    assert c is not None and not c.revision
    assert [r.value for r in c.reports] == ["29", "24"] or [r.value for r in c.reports] == ["24", "29"]
    assert c.reports[c.lead].value == "29" and "Sea Post" in c.reports[1 - c.lead].outlets
    assert a.text.index("29") < a.text.index("24") and "another report says" in a.text
    assert "Sources disagree" in summary(k) and "24" in summary(k)
    from qa.app.render import corroboration_note

    page = corroboration_note(a)
    assert "Reported by 2 independent outlets: " in page and "Alpine Wire" in page and "Bee Times" in page
    assert "(a copy of Alpine Wire's report)" in page or "a copy: Town Crier of Alpine Wire's report" in page
    assert "Sources disagree" in page and "Sea Post" in page
    _check_offsets(reports, a)
    # the JSON form carries it all
    d = a.to_dict()
    assert d["corroboration"]["outlets"] == k.outlets and d["corroboration"]["conflict"]["reports"]


def test_a_later_report_of_the_same_outlet_is_a_revision_not_a_conflict(tmp_path, fake_embedder):
    arts = [_report("early", "Alpine Wire", "2017-01-20", STORY + "Officials said 24 people were killed by the "
                    "avalanche, and eleven guests were rescued alive."),
            _report("late", "Alpine Wire", "2017-01-26", WIRE)]
    e = engine_at(tmp_path, fake_embedder)
    e.ingest([write_jsonl(tmp_path / "a.jsonl", arts)])
    k = e.ask(TOLL).corroboration
    assert k is not None and k.conflict is not None and k.conflict.revision
    newest = k.conflict.reports[0]
    assert newest.value == "29" and k.conflict.lead == 0
    assert "Updated report: 29 (2017-01-26) revises the earlier 24 (Alpine Wire, 2017-01-20)" in summary(k)
    from qa.app.render import corroboration_note

    assert "Updated report" in corroboration_note(e.ask(TOLL)) and "Sources disagree" not in corroboration_note(e.ask(TOLL))


def test_an_unrelated_value_far_apart_in_time_is_no_conflict(tmp_path, fake_embedder):
    arts = [_report("now", "Alpine Wire", "2017-01-26", WIRE),
            _report("old", "Bee Times", "2016-03-02", STORY + "Officials said 24 people were killed by the "
                    "avalanche, and eleven guests were rescued alive.")]
    e = engine_at(tmp_path, fake_embedder)
    e.ingest([write_jsonl(tmp_path / "a.jsonl", arts)])
    k = e.ask(TOLL, as_of="2017-01-28").corroboration
    assert k is not None and k.conflict is None  # a report of another value a year earlier is of another event


def test_corroboration_can_be_switched_off(reports):
    reports.corroboration = None
    a = reports.ask(TOLL)
    assert a.corroboration is None and all(not c.corroborated_by for c in a.citations)
    assert "another report" not in a.text and "corroborate" not in a.timings


def test_a_question_with_no_slot_needs_the_claim_not_only_a_name(tmp_path, fake_embedder):
    arts = [_report("deal", "Alpine Wire", "2017-01-24", "Talks on Syria ended in Astana, Kazakhstan, with Russia, "
                    "Turkey and Iran agreeing to set up a joint mechanism to monitor the fragile ceasefire.",
                    title="Astana talks end with a monitoring deal"),
            _report("venue", "Bee Times", "2017-01-10", "Russia, Turkey and Iran said the talks will be held in "
                    "Kazakhstan, in its capital Astana.", title="Astana to host talks")]
    e = engine_at(tmp_path, fake_embedder)
    e.ingest([write_jsonl(tmp_path / "a.jsonl", arts)])
    a = e.ask("What did Russia, Turkey and Iran agree on in Astana?")
    assert not a.abstained and "monitor" in a.text
    assert all(o.doc_id != "venue" for c in a.citations for o in c.corroborated_by)
