"""End to end with the real MiniLM model and real FAISS: demo corpus and the seed article."""
import json

import pytest
from conftest import DEMO, ROOT, SEED, needs_shared

from qa.engine import QA
from qa.errors import QAError

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo_engine(tmp_path_factory, minilm):
    e = QA(location=tmp_path_factory.mktemp("demo") / "idx", embedder=minilm)
    r = e.ingest([DEMO])
    assert len(r.added) >= 12 and not r.failed
    return e


def _assert_citations_exact(engine, answer):
    assert answer.citations
    for c in answer.citations:
        assert engine.article_text(c.doc_id)[c.start:c.end] == c.quote
        assert f"[{c.n}]" in answer.text
        assert c.support is not None and c.support > 0


def test_demo_question_is_answered_with_exact_citations(demo_engine):
    a = demo_engine.ask("Who led the Syrian government delegation in Astana?")
    assert not a.abstained
    assert "Bashar al-Jaafari" in a.text
    _assert_citations_exact(demo_engine, a)
    assert set(a.timings) >= {"embed", "retrieve", "answer", "verify", "total"}


def test_off_topic_question_abstains_with_related_passages(demo_engine):
    a = demo_engine.ask("What is the capital of France?")
    assert a.abstained and not a.citations
    assert "don't say" in a.text
    assert a.related


def test_as_of_changes_the_answer(demo_engine):
    early = demo_engine.ask("When is the next round of Syria talks in Astana?", as_of="2017-01-18")
    later = demo_engine.ask("When is the next round of Syria talks in Astana?", as_of="2017-02-12")
    assert "January 23" in early.text and "February 15" not in early.text
    assert "February 15" in later.text


def test_source_filter(demo_engine):
    """An unknown source is an error naming the indexed ones, never a silent search of nothing."""
    with pytest.raises(QAError, match="unknown source 'nowhere.example'; the index holds: Demo Wire, Adriatic Herald"):
        demo_engine.ask("Who will mediate the Astana talks?", sources=["nowhere.example"])
    with pytest.raises(QAError, match="unknown source"):
        demo_engine.search("Astana", sources=["Demo Wire", "nowhere.example"])
    a = demo_engine.ask("Who will mediate the Astana talks?", sources=["demo wire"])  # sources match loosely
    assert not a.abstained and all(p.source == "Demo Wire" for p in a.passages)


@needs_shared("seed")
def test_seed_astana_mediators(tmp_path, minilm):
    e = QA(location=tmp_path / "idx", embedder=minilm)
    e.ingest([SEED])
    # written one paragraph per line: read as paragraphs, one story, packed across them
    from qa.chunking import multi_topic
    [seed] = e.store.articles.values()
    assert seed.text.count("\n\n") >= 10 and not multi_topic(seed.text)
    a = e.ask("Who will mediate the Astana talks?")
    assert not a.abstained
    cited = [c for c in a.citations if all(x in c.quote for x in ("Russia", "Turkey", "Iran"))]
    assert cited, a.text
    _assert_citations_exact(e, a)
    off = e.ask("What is the capital of France?")
    assert off.abstained


@pytest.mark.parametrize("long_chars", [None, 0], ids=["as-shipped", "every-article-long"])
def test_lazy_sentence_embedding_gives_the_answers_of_embedding_everything(demo_engine, long_chars):
    """The answerer embeds only sentences that can change the answer (answer.score, lazy): on every
    demo question the answer, its citations and its confidence equal those of embedding all of them --
    also when every article counts as long, so the long-article scorer's best sentence of the answer's
    article must be exact too (tests/test_answer.py has a case where it differs from the common one's)."""
    from dataclasses import replace

    questions = [json.loads(line)["question"] for line in (ROOT / "eval" / "sets" / "demo.jsonl").open()]
    cfg = demo_engine.answer_config if long_chars is None else replace(demo_engine.answer_config,
                                                                       long_article_chars=long_chars)
    lazy = QA(location=demo_engine.location, embedder=demo_engine.embedder, answering=cfg)
    eager = QA(location=demo_engine.location, embedder=demo_engine.embedder,
               answering=replace(cfg, lazy_embedding=False))
    texts = {"n": 0}
    real = demo_engine.embedder.encode

    def counting(batch, progress=None):
        texts["n"] += len(batch)
        return real(batch, progress)

    counts, outs = {}, {}
    for name, engine in (("lazy", lazy), ("eager", eager)):
        texts["n"] = 0
        engine.embedder.encode = counting
        engine.sentence_vectors = None  # count every sentence embedded
        try:
            outs[name] = [engine.ask(q) for q in questions]
        finally:
            del engine.embedder.encode
        counts[name] = texts["n"]
    for a, b in zip(outs["lazy"], outs["eager"]):
        assert (a.text, [(c.doc_id, c.start, c.end) for c in a.citations]) == \
               (b.text, [(c.doc_id, c.start, c.end) for c in b.citations])
        assert abs(a.confidence - b.confidence) < 1e-5
    assert counts["lazy"] < 0.7 * counts["eager"]


def test_articles_built_by_hand_are_not_taken_for_duplicates(tmp_path, fake_embedder):
    """Article objects passed to ``ingest`` without a content hash (the dataclass default) each go in;
    a real duplicate (same text) is still one."""
    from qa.engine import QA
    from qa.types import Article

    e = QA(location=tmp_path / "idx", embedder=fake_embedder)
    report = e.ingest(articles=[Article(id="a", text="The ferry restarted on Friday."),
                                Article(id="b", text="A storm closed the harbour."),
                                Article(id="c", text="The ferry restarted on Friday.")])
    assert sorted(report.added) == ["a", "b"] and [d for _, d in report.duplicates] == ["a"]
    assert sorted(a.id for a in e.articles()) == ["a", "b"]


def test_a_query_object_and_keyword_options_give_the_same_answer(demo_engine):
    from qa.types import Query

    by_options = demo_engine.ask("Who will mediate the Astana talks?", as_of="2017-01-20", k=5)
    by_query = demo_engine.ask(Query.build("Who will mediate the Astana talks?", as_of="2017-01-20", k=5))
    assert by_query.text == by_options.text and by_query.citations[0].doc_id == by_options.citations[0].doc_id
    with pytest.raises(QAError, match="unknown option 'top_k'"):
        demo_engine.ask("Who will mediate the Astana talks?", top_k=3)


def test_a_toll_reported_by_three_outlets_and_disputed_by_one(demo_engine):
    """The demo's Rigopiano reports: three outlets (and a copy) give 29, an earlier report of another outlet 24."""
    a = demo_engine.ask("How many people were killed by the avalanche at the Hotel Rigopiano?")
    k = a.corroboration
    assert k is not None and k.value == "29" and k.kind == "number"
    assert sorted(k.outlets) == ["Adriatic Herald", "Demo Wire", "Mountain Courier"]
    others = [o for c in a.citations for o in c.corroborated_by]
    copy = next(o for o in a.citations + others if o.source == "Lakeshore Daily")  # the answer may quote it
    assert copy.copy_of and demo_engine.store.articles[copy.copy_of].source == "Mountain Courier"
    assert k.first_reported.published == "2017-01-19" and k.latest_reported.published == "2017-01-27"
    c = k.conflict
    assert c is not None and not c.revision and c.reports[c.lead].value == "29"
    disputed = next(r for r in c.reports if r.value == "24")
    assert disputed.outlets == ["Valley Evening News"] and disputed.latest_reported == "2017-01-25"
    assert a.text.index("29") < a.text.index("another report says") < a.text.index("24")
    _assert_citations_exact(demo_engine, a)
    for o in others + [x for r in c.reports for x in r.citations]:
        assert demo_engine.article_text(o.doc_id)[o.start:o.end] == o.quote


def test_a_toll_asked_before_the_later_reports_is_the_earlier_one(demo_engine):
    a = demo_engine.ask("How many people were killed by the avalanche at the Hotel Rigopiano?", as_of="2017-01-25")
    assert a.corroboration is not None and all(
        (c.published or "") <= "2017-01-25" for x in a.citations for c in [x, *x.corroborated_by])
