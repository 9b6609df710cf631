"""The extractive answerer: one article, the right sentence, neighbours only when needed."""
import numpy as np
import pytest
from conftest import write_jsonl

from qa.answer import depends_on_previous, freshness, needs_several
from qa.engine import QA


def test_depends_on_previous():
    prev = "Russia, Turkey and Iran agreed to hold talks in Astana."
    assert depends_on_previous("They will mediate between the parties.", prev)
    assert depends_on_previous("\u201cWe are ready,\u201d he said on Monday.", prev)
    assert depends_on_previous("The talks open on January 23.", prev)  # "talks" introduced before
    assert not depends_on_previous("The weather was cold in Kazakhstan.", prev)
    assert not depends_on_previous("Astana hosted the first round.", prev)
    assert not depends_on_previous("They will mediate.", "")


def test_needs_several():
    assert needs_several("Which countries will mediate the talks?")
    assert needs_several("Compare the two offers made by the unions")
    assert not needs_several("Who will mediate the Astana talks?")


def test_freshness():
    assert freshness("2017-01-20", "2017-01-20") == 1.0
    assert abs(freshness("2017-01-13", "2017-01-20") - 0.5) < 1e-9
    assert freshness("", "2017-01-20") == 0.0


RECS = [
    {"id": "quake", "title": "Quake", "published": "2020-01-10",
     "text": "A wave of earthquakes shook Puerto Rico this week. Some residents slept outdoors as a precaution."},
    {"id": "quake-old", "title": "Old quake", "published": "2019-05-01",
     "text": "Earthquakes are common in the Caribbean region. Seismologists monitor the area closely."},
    {"id": "glacier", "title": "Glacier", "published": "2021-02-07",
     "text": "A glacier broke off in northern India and flooded a valley. Rescuers searched tunnels."},
]


def _engine(tmp_path, embedder):
    e = QA(location=tmp_path / "idx", embedder=embedder)
    e.ingest([write_jsonl(tmp_path / "c.jsonl", RECS)])
    return e


def _searched(tmp_path, embedder, question: str, articles: list, k: int = 3):
    """An engine over ``articles``, the question's vector and its top ``k`` passages."""
    e = QA(location=tmp_path / "idx", embedder=embedder)
    e.ingest(articles=articles)
    return e, embedder.encode([question])[0], e.retriever.search(question, k=k)


def test_answer_comes_from_one_article_with_exact_spans(tmp_path, fake_embedder):
    e = _engine(tmp_path, fake_embedder)
    a = e.ask("Which island was shaken by a wave of earthquakes this week?", as_of="2020-01-11")
    assert not a.abstained
    assert "Puerto Rico" in a.text
    assert {c.doc_id for c in a.citations} == {"quake"}  # no runner-up sentences from other articles
    for c in a.citations:
        assert e.article_text(c.doc_id)[c.start:c.end] == c.quote
    # a short lead paragraph is quoted as one contiguous span, within the word budget
    assert len(a.citations) == 1 and len(a.citations[0].quote.split()) <= e.answer_config.lead_pair_words


def test_neighbour_joins_only_when_the_sentence_leans_on_it(tmp_path, fake_embedder):
    from qa.answer import ExtractiveAnswerer
    from qa.config import AnswerConfig
    from qa.types import Article

    text = ("The city council met on Monday to discuss the new harbour. Officials presented three plans. "
            "They chose the northern site for the harbour, which will cost 40 million euros. "
            "Fishing boats will move there in 2019. The council also discussed parking.")
    question = "Which site did they choose for the harbour?"
    e, qvec, passages = _searched(tmp_path, fake_embedder, question, [Article(id="h", text=text, title="Harbour")])
    for budget, expect_lead_pair in ((0, False), (200, True)):
        a = ExtractiveAnswerer(fake_embedder, e.article_text, AnswerConfig(lead_pair_words=budget))
        cands = a.candidates(passages)
        a.score(question, qvec, cands)
        they = next(c for c in cands if c.text.startswith("They chose"))
        fishing = next(c for c in cands if c.text.startswith("Fishing"))
        assert they.dependent and not fishing.dependent
        s, t = a.span(they, cands)
        quote = text[s:t]
        assert "Officials presented three plans. They chose" in quote  # leans on the sentence before
        if not expect_lead_pair:
            assert quote == "Officials presented three plans. They chose the northern site for the harbour, " \
                            "which will cost 40 million euros."
            assert text[slice(*a.span(fishing, cands))] == "Fishing boats will move there in 2019."
        else:  # a lead paragraph within the budget: the paragraph's other likeliest sentence joins
            assert len(quote) > len("Officials presented three plans. They chose the northern site")


def test_undated_confidence_does_not_use_freshness(tmp_path, fake_embedder):
    e = _engine(tmp_path, fake_embedder)
    q = "Which island was shaken by a wave of earthquakes this week?"
    assert "fresh_if_cue" in e.answer_config.confidence_weights_dated
    assert not any("fresh" in k for k in e.answer_config.confidence_weights)
    a1 = e.ask(q)
    a2 = e.ask(q)
    assert a1.confidence == a2.confidence
    # moving the date far away lowers a dated question's confidence (the top passage is no longer fresh)
    fresh = e.ask(q, as_of="2020-01-11").confidence
    stale = e.ask(q, as_of="2020-09-11").confidence
    assert fresh > stale


def test_off_topic_question_abstains(tmp_path, fake_embedder):
    e = _engine(tmp_path, fake_embedder)
    a = e.ask("What is the recipe for sourdough bread?")
    assert a.abstained and a.citations == []


def test_sentence_vectors_are_reused_and_bounded(fake_embedder):
    from qa.answer import SentenceVectors

    cache = SentenceVectors(size=3)
    texts = ["The ferry restarted.", "A storm closed the harbour.", "The ferry restarted."]
    got = cache.encode(fake_embedder, texts)
    assert np.allclose(got, fake_embedder.encode(texts)) and (cache.hits, cache.misses) == (1, 2)
    cache.encode(fake_embedder, ["Talks in Astana.", "Talks resumed.", "The ferry restarted."])
    assert (cache.hits, cache.misses) == (2, 4) and len(cache._vecs) == 3  # the oldest went out
    assert "A storm closed the harbour." not in cache._vecs


def test_a_repeated_question_reuses_sentence_vectors_with_the_same_answer(tmp_path, fake_embedder, articles_jsonl):
    from qa.engine import QA

    e = QA(location=tmp_path / "idx", embedder=fake_embedder)
    e.ingest([articles_jsonl])
    first = e.ask("Who will mediate the talks on Syria?")
    misses = e.sentence_vectors.misses
    again = e.ask("Who will mediate the talks on Syria?")
    assert e.sentence_vectors.misses == misses and e.sentence_vectors.hits > 0
    assert (again.text, again.confidence, [c.quote for c in again.citations]) == \
        (first.text, first.confidence, [c.quote for c in first.citations])


def test_pair_vector_by_sum_embeds_each_sentence_once_and_answers_the_same(tmp_path, minilm):
    """Real MiniLM, demo corpus and eval set: a sentence read with the one before it is scored from
    the sum of the two sentences' vectors (pair_vectors="sum", the default) instead of embedding
    the pair again. Each sentence is embedded once, abstentions do not change, at least 90 % of the
    demo answers are the same and no fewer are right."""
    import json
    from pathlib import Path

    from qa.config import AnswerConfig

    root = Path(__file__).resolve().parent.parent
    shipped = QA(location=tmp_path / "idx", embedder=minilm)
    shipped.ingest([root / "demo" / "articles.jsonl"])
    exact = QA(location=tmp_path / "idx", embedder=minilm, answering=AnswerConfig(pair_vectors="embed"))
    questions = [json.loads(x) for x in (root / "eval" / "sets" / "demo.jsonl").read_text().splitlines() if x.strip()]
    same, right = 0, {"sum": 0, "embed": 0}
    for q in questions:
        a, b = shipped.ask(q["question"], as_of=q.get("as_of")), exact.ask(q["question"], as_of=q.get("as_of"))
        same += (a.text, a.abstained) == (b.text, b.abstained)
        assert a.abstained == b.abstained and abs(a.confidence - b.confidence) < 0.05, q["question"]
        for name, ans in (("sum", a), ("embed", b)):
            right[name] += any(g.lower() in ans.text.lower() for g in q.get("answers") or [])
    assert same >= 0.9 * len(questions) and right["sum"] >= right["embed"], (same, right)
    # the pairs were never embedded as one text: every cached text is a single sentence of an article
    texts = set(shipped.sentence_vectors._vecs)
    assert texts and shipped.sentence_vectors.misses < exact.sentence_vectors.misses
    assert not texts & {t for t in exact.sentence_vectors._vecs if t not in texts}
    assert all(t in shipped.article_text(doc) for t in list(texts)[:50] for doc in [_doc_of(shipped, t)])


def _doc_of(engine, sentence: str) -> str:
    return next(a.id for a in engine.store.articles.values() if sentence in a.text)


def test_the_answer_follows_the_top_passages_article_unless_another_is_clearly_likelier():
    """``follow_evidence``: the top passage's article answers when its best sentence's log-odds are
    within ``other_article_margin`` of a likelier sentence elsewhere; a clearly likelier one still wins."""
    from qa.answer import Candidate, ExtractiveAnswerer
    from qa.config import AnswerConfig
    from qa.types import Chunk, Passage

    def cand(doc, rank, score):
        p = Passage(chunk=Chunk(rank, doc, 0, 10, "x" * 10, 3), title="", source="", url="", published="",
                    score=1.0 / rank, rank=rank)
        return Candidate(p, 0, 10, "x" * 10, score=score)

    a = ExtractiveAnswerer(None, lambda d: "", AnswerConfig(other_article_margin=0.5))
    other, top, top2 = cand("syria", 2, 0.62), cand("haneda", 1, 0.55), cand("haneda", 1, 0.40)
    assert [c.passage.doc_id for c in a.follow_evidence([other, top, top2])] == ["haneda", "syria", "haneda"]
    clearly = cand("syria", 2, 0.70)  # odds 2.33 against 1.22: the margin is in log-odds
    assert a.follow_evidence([clearly, top, top2])[0] is clearly
    near_one = [cand("expel", 2, 0.87), cand("lavrov", 1, 0.75)]  # only 0.12 apart, yet odds 6.7 against 3
    assert a.follow_evidence(near_one)[0].passage.doc_id == "expel"
    assert a.follow_evidence([top, other])[0] is top and a.follow_evidence([other]) == [other]
    # a likelier sentence holding what the question asks for is not displaced by one that does not
    maldives, fled = cand("maldives", 2, 0.62), cand("fled", 1, 0.55)
    maldives.features, fled.features = {"typed": 1.0}, {"typed": 0.0}
    assert a.follow_evidence([maldives, fled])[0] is maldives
    fled.features = {"typed": 1.0}  # both hold it: the top article answers
    assert a.follow_evidence([maldives, fled])[0] is fled
    fled.features = {"typed": 0.0}
    moldova = cand("fled", 1, 0.30)  # another sentence of the top article holds it: that article still answers
    moldova.features = {"typed": 1.0}
    assert a.follow_evidence([maldives, fled, moldova])[0] is fled


def test_place_questions_want_a_place_the_question_does_not_name():
    from qa.answer import expected_type, has_type

    q = "Sri Lankan President Gotabaya Rajapaksa fled to which country this week?"
    assert expected_type(q) == "country"
    assert has_type("Rajapaksa travelled to the Maldives as protests went on.", "country", q)
    assert not has_type("The president of Sri Lanka has fled the nation.", "country", q)  # named in the question
    assert expected_type("This country pardoned more than 4,000 prisoners.") == "country"
    assert expected_type("Which US state now has the highest gas prices?") == "state"
    assert has_type("Gas in Washington costs $4.90.", "state", "Which state took the crown from California?")
    assert not has_type("Gas in California is cheaper.", "state", "Which state took the crown from California?")
    assert expected_type("How many countries signed the pact?") == "number"  # a count, not a place
    assert expected_type("Who will mediate the talks?") == "name"
    # a quiz question sets the scene first: the type comes from the sentence that asks
    scene = "Biden gained ground when six states went to the polls on Tuesday. "
    assert expected_type(scene + "Which state had the most delegates?") == "state"  # not "date" from "when"
    assert expected_type("Police arrested 31 men who planned to riot. Where was the event?") is None  # not "name"
    assert expected_type("Fox News rocked the media world when it parted ways with which host?") is None
    assert expected_type("A survey asked about Roe v. Wade. What percentage of adults disagree?") == "number"
    assert expected_type("The ozone layer will fully recover by when?") == "date"
    assert expected_type("When did the talks start?") == "date"


def test_the_articles_first_sentence_is_its_lead(tmp_path, fake_embedder):
    from qa.answer import ExtractiveAnswerer

    e = _engine(tmp_path, fake_embedder)
    q = "Which island was shaken by a wave of earthquakes this week?"
    passages = e.retriever.search(q, k=3)
    a = ExtractiveAnswerer(fake_embedder, e.article_text, e.answer_config)
    cands = a.candidates(passages)
    a.score(q, fake_embedder.encode([q])[0], cands)
    leads = {c.text for c in cands if c.lead}
    assert leads == {e.article_text(p.doc_id).split(". ")[0] + "." for p in passages}
    assert all(c.features["lead"] == float(c.lead) for c in cands)
    assert e.answer_config.sentence_weights["lead"] > 0


def test_a_passage_that_opens_a_paragraph_has_a_lead_sentence_too():
    """In a multi-topic article (a roundup), each paragraph opens its own story: its first sentence is a
    lead like the article's first; a passage that starts inside a paragraph has none."""
    from qa.answer import ExtractiveAnswerer
    from qa.config import AnswerConfig
    from qa.types import Chunk, Passage

    roundup = ("Storms hit the coast. Roads were closed.\n\nThe central bank raised rates. Markets fell. "
               "Traders were surprised.\n\nA new museum opened in Lyon.\n\nKenya won the relay.")
    story = ("Jammeh flew out of Banjul on Saturday.\n\nThe crisis had lasted six weeks. Jammeh went into "
             "exile.\n\nJammeh had ruled since 1994.\n\nTroops loyal to Jammeh gave up.")

    def leads(text, second, inside, **cfg):
        def passage(cid, start):
            return Passage(chunk=Chunk(cid, "r", start, len(text), text[start:], 10), title="", source="", url="",
                           published="", score=1.0, rank=cid + 1)
        a = ExtractiveAnswerer(None, lambda d: text, AnswerConfig(**cfg))
        return [c.text for c in a.candidates([passage(0, text.index(second)), passage(1, text.index(inside))])
                if c.lead]

    assert leads(roundup, "The central", "Markets") == ["The central bank raised rates."]
    assert leads(roundup, "The central", "Markets", paragraph_leads=False) == []
    # one story (its subject named in every paragraph): only the article's first sentence is its lead
    assert leads(story, "The crisis", "Jammeh went") == []


def test_a_lead_pair_stays_inside_its_paragraph():
    """A passage may hold two short paragraphs (two stories of a roundup): the lead pair never quotes
    the other story's sentence, however close its probability."""
    from qa.answer import Candidate, ExtractiveAnswerer
    from qa.config import AnswerConfig
    from qa.types import Chunk, Passage

    text = ("Airline halts flights at JFK.\n\nTesla's new robot walked on stage. It waved at the crowd.\n\n"
            "Lyon opened a museum.\n\nKenya won the relay.")
    p = Passage(chunk=Chunk(0, "r", 0, len(text), text, 20), title="", source="", url="", published="",
                score=1.0, rank=1)
    a = ExtractiveAnswerer(None, lambda d: text, AnswerConfig())
    s1, s2, s3 = text.index("Airline"), text.index("Tesla"), text.index("It waved")
    other = Candidate(p, s1, s2 - 2, text[s1:s2 - 2], score=0.79, lead=True)
    robot = Candidate(p, s2, s3 - 1, text[s2:s3 - 1], score=0.8)
    e3 = text.index("\n\nLyon")
    waved = Candidate(p, s3, e3, text[s3:e3], score=0.1, prev_span=(s2, s3 - 1))
    assert text[slice(*a.span(robot, [other, robot, waved]))] == "Tesla's new robot walked on stage."
    waved.score = 0.7  # the same paragraph's sentence still pairs when the scorer cannot tell them apart
    assert text[slice(*a.span(robot, [other, robot, waved]))] == text[s2:e3]


def test_a_lead_paragraph_pairs_its_sentences_only_when_the_scorer_cannot_tell_them_apart():
    """``span``: the paragraph's other likeliest sentence joins the chosen one when its probability is
    at least ``lead_pair_ratio`` of the chosen one's and both fit in ``lead_pair_words``."""
    from qa.answer import Candidate, ExtractiveAnswerer
    from qa.config import AnswerConfig
    from qa.types import Chunk, Passage

    text = "Moderna applied for authorization on Monday. Pfizer had applied two weeks earlier."
    first_end = text.index(".") + 1
    p = Passage(chunk=Chunk(0, "vax", 0, len(text), text, 14), title="", source="", url="", published="",
                score=1.0, rank=1)

    def pair(p_first, p_second, **cfg):
        a = ExtractiveAnswerer(None, lambda d: text, AnswerConfig(**cfg))
        c1 = Candidate(p, 0, first_end, text[:first_end], score=p_first, lead=True)
        c2 = Candidate(p, first_end + 1, len(text), text[first_end + 1:], score=p_second)
        return text[slice(*a.span(c1, [c1, c2]))]

    assert pair(0.8, 0.6) == text  # 0.6 >= 0.6 * 0.8: either may hold the answer, both are cited
    assert pair(0.9, 0.3) == text[:first_end]  # the first is clearly the one: it is cited alone
    assert pair(0.8, 0.6, lead_pair_words=8) == text[:first_end]  # together over the word budget
    assert pair(0.8, 0.6, lead_pair_words=0) == text[:first_end]  # pairing off


def test_a_sentence_is_quoted_with_the_next_one_when_that_one_turns_against_it():
    """``span``: "Many predicted X would win." alone says the opposite of an article that goes on
    "However, Y won."; the turn joins (within ``contrast_words``), an ordinary next sentence does not."""
    from qa.answer import Candidate, ExtractiveAnswerer
    from qa.config import AnswerConfig
    from qa.types import Chunk, Passage

    def quote(second, **cfg):
        text = "The ceremony ran long. Many predicted that Boseman would win best actor. " + second
        s1 = text.index("Many")
        e1 = text.index("actor.") + len("actor.")
        # a passage that does not open its article, so the lead-paragraph rule stays out of it
        p = Passage(chunk=Chunk(0, "oscars", s1, len(text), text[s1:], 20), title="", source="", url="",
                    published="", score=1.0, rank=1)
        a = ExtractiveAnswerer(None, lambda d: text, AnswerConfig(**cfg))
        c1 = Candidate(p, s1, e1, text[s1:e1], score=0.9)
        c2 = Candidate(p, e1 + 1, len(text), second, score=0.1, prev_span=(s1, e1))
        return text[slice(*a.span(c1, [c1, c2]))]

    first = "Many predicted that Boseman would win best actor."
    assert quote("However, Hopkins won it.") == f"{first} However, Hopkins won it."
    assert quote("But Hopkins won it.") == f"{first} But Hopkins won it."
    assert quote("Hopkins, 83, was not there.") == first  # does not turn against it
    assert quote("However, Hopkins won it.", contrast_words=10) == first  # together over the budget
    assert quote("However, Hopkins won it.", contrast_words=0) == first  # off


def test_a_sentence_in_capitals_is_never_a_candidate():
    """A footer ("SEE MORE ... NEWS AT: ...") or a credit line matches question words but answers
    nothing; a sentence with an acronym in it is still a candidate."""
    from qa.answer import ExtractiveAnswerer
    from qa.types import Chunk, Passage

    text = ("NASA said the probe reached orbit on Monday. SEE MORE SPACE NEWS AT: ORBIT DAILY.ORG\n\n"
            "DIRECTORS OF PHOTOGRAPHY")
    p = Passage(chunk=Chunk(0, "a", 0, len(text), text, 20), title="", source="", url="", published="",
                score=1.0, rank=1)
    cands = ExtractiveAnswerer(None, lambda d: text).candidates([p])
    assert [c.text for c in cands] == ["NASA said the probe reached orbit on Monday."]


def test_a_one_sentence_lead_paragraph_goes_on_in_the_next_passage_each_part_citing_its_own():
    """Newswire: the lead paragraph is one sentence and the next paragraph (another chunk) goes on
    with it. When the scorer cannot tell the two apart the answer quotes both, each part citing the
    passage that holds it; a later paragraph's sentence never reaches back into the lead."""
    from qa.answer import Candidate, ExtractiveAnswerer
    from qa.types import Chunk, Passage

    text = ("Former leader Yahya Jammeh flew out of Banjul on Saturday.\n\n"
            "He went into exile in Equatorial Guinea. Troops moved in.")
    s2 = text.index("He went")
    s3 = text.index("Troops")
    p0 = Passage(chunk=Chunk(0, "g", 0, s2 - 2, text[:s2 - 2], 14), title="", source="", url="", published="",
                 score=0.9, rank=1)
    p1 = Passage(chunk=Chunk(1, "g", s2, len(text), text[s2:], 14), title="", source="", url="", published="",
                 score=0.8, rank=2)
    a = ExtractiveAnswerer(None, lambda d: text)
    lead = Candidate(p0, 0, s2 - 2, text[:s2 - 2], score=0.95, lead=True)
    exile = Candidate(p1, s2, s3 - 1, text[s2:s3 - 1], score=0.7, lead=True, prev_span=(0, s2 - 2))
    troops = Candidate(p1, s3, len(text), text[s3:], score=0.1, prev_span=(s2, s3 - 1))
    cands = [lead, exile, troops]
    assert a.span(lead, cands) == (0, s3 - 1)
    assert a.span(exile, cands) == (s2, s3 - 1)  # never backwards into the lead paragraph
    exile.score = 0.3  # clearly less likely: the lead alone
    assert a.span(lead, cands) == (0, s2 - 2)

    exile.score = 0.7
    a.score = lambda *args, **kw: None
    a.confidence = lambda *args, **kw: 1.0
    ans = a.answer("Where did Jammeh go?", None, [p0, p1])
    assert [(c.passage_rank, c.quote) for c in ans.citations] == [
        (1, "Former leader Yahya Jammeh flew out of Banjul on Saturday."),
        (2, "He went into exile in Equatorial Guinea.")]
    assert ans.text == ("Former leader Yahya Jammeh flew out of Banjul on Saturday. [1] "
                        "He went into exile in Equatorial Guinea. [2]")


def test_a_long_article_has_its_sentence_chosen_by_the_long_article_scorer_and_its_confidence_by_the_common_one(
        tmp_path, fake_embedder):
    from qa.answer import ExtractiveAnswerer
    from qa.config import AnswerConfig
    from qa.types import Article

    text = ("The city council met on Monday to discuss the new harbour. Officials presented three plans. "
            "The council chose the northern site for the harbour, which will cost 40 million euros and open "
            "to fishing boats in the spring of 2019. Parking near the town hall was also discussed.")
    question = "Which site did the council choose for the harbour?"
    e, qvec, passages = _searched(tmp_path, fake_embedder, question, [Article(id="h", text=text, title="Harbour")])
    longest = {k: 0.0 for k in AnswerConfig().sentence_weights} | {"bias": -3.0, "words": -50.0}
    answers = {}
    for name, chars in (("common", 10_000), ("long", 100)):  # only the second calls this text long
        cfg = AnswerConfig(long_sentence_weights=longest, long_article_chars=chars, lead_pair_words=0)
        a = ExtractiveAnswerer(fake_embedder, e.article_text, cfg).answer(question, qvec, passages)
        answers[name] = a
    assert "northern site" in answers["common"].text
    # this long scorer prefers the shortest sentence: another sentence answers ...
    assert answers["long"].text == "Officials presented three plans. [1]"
    # ... and whether to answer at all is still judged by the common scorer, as its confidence model was fitted
    assert answers["long"].confidence == answers["common"].confidence


def test_with_the_long_article_scorer_lazy_embedding_still_gives_the_common_scorers_exact_confidence(
        tmp_path, fake_embedder):
    from dataclasses import replace

    from qa.answer import ExtractiveAnswerer
    from qa.config import AnswerConfig
    from qa.types import Article

    short = ["Officials met.", "Plans were shown.", "Boats waited.", "Rain fell.", "Fish swam.", "Gulls cried."]
    filler = " ".join(f"The old market on street number {i} sold bread and cheese." for i in range(1, 25))
    text = filler + "\n\n" + " ".join(short) + (" The council chose the northern site for the new harbour, which "
                                                "will cost 40 million euros and open to fishing boats in the spring of 2019.")
    question = "Which site did the council choose for the new harbour?"
    e, qvec, passages = _searched(tmp_path, fake_embedder, question, [Article(id="h", text=text, title="Harbour")])
    # a long scorer that embeds the short sentences first: the common scorer's best is the last it reaches
    shortest = {k: 0.0 for k in AnswerConfig().sentence_weights} | {"bias": -3.0, "words": -50.0, "sim": 0.01}
    cfg = AnswerConfig(long_sentence_weights=shortest, long_article_chars=0, lead_pair_words=0)
    lazy, eager = (ExtractiveAnswerer(fake_embedder, e.article_text, c).answer(question, qvec, passages)
                   for c in (cfg, replace(cfg, lazy_embedding=False)))
    common = ExtractiveAnswerer(fake_embedder, e.article_text, replace(cfg, long_sentence_weights={})).answer(
        question, qvec, passages)
    assert lazy.text == eager.text and "northern site" not in lazy.text
    assert lazy.confidence == pytest.approx(eager.confidence) == pytest.approx(common.confidence)


def test_the_long_article_scorer_chooses_within_the_article_the_common_scorer_chose(tmp_path, fake_embedder):
    from dataclasses import replace

    from qa.answer import ExtractiveAnswerer
    from qa.config import AnswerConfig
    from qa.types import Article

    filler = " ".join(f"The old market on street number {i} sold bread and cheese." for i in range(1, 25))
    quay = " ".join(f"Quay number {i} was painted blue." for i in range(1, 9))
    long_text = (filler + "\n\nThe council chose the northern site for the new harbour on Monday. " + quay)
    short_text = ("Elsewhere, a regional orchestra announced a long summer tour of forty concerts across "
                  "seven coastal towns, with tickets on sale from the first of May.")
    question = "Which site did the council choose for the new harbour?"
    e, qvec, passages = _searched(tmp_path, fake_embedder, question, [
        Article(id="harbour", text=long_text, title="Harbour site chosen by the council"),
        Article(id="tour", text=short_text, title="Orchestra tour")], k=5)
    assert passages[0].doc_id == "harbour" and "tour" in {p.doc_id for p in passages}
    # a long-article scorer that loves long sentences: it never compares articles, so the orchestra's
    # long sentence does not win, even when both articles count as long
    lengthy = dict(AnswerConfig().sentence_weights) | {"words": 40.0}
    for chars in (len(short_text) + 1, 0):
        cfg = AnswerConfig(long_sentence_weights=lengthy, long_article_chars=chars, lead_pair_words=0,
                           abstain_threshold=0.0)
        a = ExtractiveAnswerer(fake_embedder, e.article_text, cfg).answer(question, qvec, passages)
        assert [c.doc_id for c in a.citations] == ["harbour"] and "northern site" in a.text
    # within the article it does choose: a scorer that shuns the question's words quotes another line,
    # the same one whether the sentences are embedded lazily or all of them
    shun = dict(AnswerConfig().sentence_weights) | {"lex": -20.0, "question_terms": -20.0}
    picks = [ExtractiveAnswerer(fake_embedder, e.article_text, replace(cfg, long_sentence_weights=shun,
                                                                       lazy_embedding=lazy)).answer(
        question, qvec, passages) for lazy in (True, False)]
    assert [c.doc_id for c in picks[0].citations] == ["harbour"] and "northern site" not in picks[0].text
    assert picks[0].text == picks[1].text and picks[0].confidence == pytest.approx(picks[1].confidence)


def test_a_question_in_the_article_is_never_the_answer(tmp_path, fake_embedder):
    from qa.text import asks

    assert asks("How do I find Spotify Wrapped 2022?") and asks("What does TikTok say?\u201d")
    assert not asks("\u201cWhy now?\u201d she asked, and resigned.") and not asks("Spotify Wrapped is out.")
    e = QA(location=tmp_path / "idx", embedder=fake_embedder)
    e.ingest([write_jsonl(tmp_path / "c.jsonl", [
        {"id": "w", "title": "Spotify Wrapped 2022", "published": "2022-12-01",
         "text": "How do I find Spotify Wrapped 2022? Bad Bunny was the most streamed artist of 2022 on Spotify."}])])
    from qa.answer import ExtractiveAnswerer

    passages = e.retriever.search("How do I find Spotify Wrapped 2022?", k=3)
    cands = ExtractiveAnswerer(fake_embedder, e.article_text).candidates(passages)
    assert [c.text for c in cands] == ["Bad Bunny was the most streamed artist of 2022 on Spotify."]


def test_the_answerer_reads_the_further_passages_of_the_first_five_articles(tmp_path, fake_embedder):
    """With five different articles first (RetrievalConfig.diverse_top), the long article's second
    passage falls below the fifth place; the answerer still reads it (and no passage of a sixth
    article), ranked by its score rather than by its place."""
    from qa.answer import ExtractiveAnswerer
    from qa.config import AnswerConfig
    from qa.types import Article

    harbour = " ".join(f"The harbour council met on day {i} and discussed the harbour budget." for i in range(1, 30))
    harbour += " The harbour council chose the northern site for the new harbour."
    towns = ["Avonmouth", "Brixham", "Cromer", "Dover", "Exmouth", "Fowey"]
    news = ["ferries ran late", "a crane was repaired", "the fish market moved", "two yachts collided",
            "a lighthouse reopened", "the quay flooded"]
    others = [Article(id=f"o{i}", title=f"{town} harbour",
                      text=f"In {town}, {what} at the harbour, the harbour master said on day {i}.")
              for i, (town, what) in enumerate(zip(towns, news))]
    question = "Which site did the harbour council choose?"
    e, qvec, passages = _searched(tmp_path, fake_embedder, question,
                                  [Article(id="harbour", text=harbour, title="Harbour council")] + others, k=10)
    first = {p.doc_id for p in passages[:5]}
    assert len(first) == 5 and "harbour" in first
    later_own = [p for p in passages[5:] if p.doc_id == "harbour"]
    later_other = [p for p in passages[5:] if p.doc_id not in first]
    assert later_own and later_other  # both kinds are below the fifth place
    reads = ExtractiveAnswerer(fake_embedder, e.article_text, AnswerConfig()).candidates(passages)
    read_ids = {c.passage.chunk.id for c in reads}
    assert {p.chunk.id for p in later_own} <= read_ids
    assert not read_ids & {p.chunk.id for p in later_other}
    order = sorted({c.passage.chunk.id: c.passage for c in reads}.values(), key=lambda p: -p.score)
    assert all(c.rank == order.index(c.passage) + 1 for c in reads)
    # as before the option: only the first five passages
    only_five = ExtractiveAnswerer(fake_embedder, e.article_text,
                                   AnswerConfig(same_article_passages=False)).candidates(passages)
    assert {c.passage.chunk.id for c in only_five} <= {p.chunk.id for p in passages[:5]}
