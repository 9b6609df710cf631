from conftest import write_jsonl
from qa.engine import QA
from qa.retrieval import Filters


def _engine(tmp_path, fake_embedder, records, location=None):
    e = QA(location=location or tmp_path / "idx", embedder=fake_embedder)
    e.ingest([write_jsonl(tmp_path / "c.jsonl", records)])
    return e


RECS = [
    {"id": "old", "source": "a.example", "published": "2017-01-01", "text": "The summit on trade opened in Geneva today."},
    {"id": "recent", "source": "b.example", "published": "2017-01-19", "text": "The summit on trade opened in Vienna today."},
    {"id": "future", "source": "a.example", "published": "2017-02-01", "text": "The summit on trade opened in Paris today."},
    {"id": "undated", "source": "c.example", "published": "", "text": "Football scores from the weekend league."},
]


def test_hybrid_finds_lexical_and_dense_matches(tmp_path, fake_embedder, index_location):
    e = _engine(tmp_path, fake_embedder, RECS, index_location)
    got = [p.doc_id for p in e.retriever.search("weekend football scores", k=2)]
    assert got[0] == "undated"


def test_as_of_excludes_later_articles_and_favours_recent_ones(tmp_path, fake_embedder, index_location):
    e = _engine(tmp_path, fake_embedder, RECS, index_location)
    ids = [p.doc_id for p in e.retriever.search("where did the trade summit open", k=4, filters=Filters(as_of="2017-01-20"))]
    assert "future" not in ids
    assert ids.index("recent") < ids.index("old")


def test_source_and_date_filters(tmp_path, fake_embedder, index_location):
    e = _engine(tmp_path, fake_embedder, RECS, index_location)
    ids = {p.doc_id for p in e.retriever.search("trade summit", k=5, filters=Filters(sources=["A.example"]))}
    assert ids == {"old", "future"}
    ids = {p.doc_id for p in e.retriever.search("trade summit", k=5, filters=Filters(date_from="2017-01-10", date_to="2017-01-31"))}
    assert ids == {"recent"}
    assert e.retriever.search("trade summit", filters=Filters(sources=["nowhere.example"])) == []


def test_near_duplicates_collapse(tmp_path, fake_embedder):
    text = "The central bank raised interest rates by half a point on Thursday to fight inflation."
    recs = [{"id": "x", "text": text}, {"id": "y", "text": text + " Markets fell."},
            {"id": "z", "text": "Unrelated story about gardening tips and roses."}]
    e = _engine(tmp_path, fake_embedder, recs)
    ids = [p.doc_id for p in e.retriever.search("central bank interest rates", k=3)]
    assert ids.count("x") + ids.count("y") == 1


def test_scores_are_scaled_and_ranked(tmp_path, fake_embedder):
    e = _engine(tmp_path, fake_embedder, RECS)
    ps = e.retriever.search("trade summit Vienna", k=3)
    assert [p.rank for p in ps] == [1, 2, 3]
    assert 0 < ps[-1].score <= ps[0].score <= 1.0


def test_rank_fusion_mode_ranks_and_scales(tmp_path, fake_embedder):
    from qa.config import RetrievalConfig

    e = _engine(tmp_path, fake_embedder, RECS)
    e.retriever.config = RetrievalConfig(fusion="rrf")
    ps = e.retriever.search("weekend football scores", k=3)
    assert ps[0].doc_id == "undated"
    assert all(0 < p.score <= 1.0 for p in ps)
    dated = e.retriever.search("trade summit", k=4, filters=Filters(as_of="2017-01-20"))
    assert "future" not in {p.doc_id for p in dated}
    assert all(0 < p.score <= 1.0 for p in dated)


def test_long_article_fills_k_beyond_the_per_article_cap(tmp_path, fake_embedder):
    # one long article searched alone: the diversity cap (3 per article) must not leave places empty
    text = " ".join(f"Section {i} covers the harbour expansion budget item number {i}." for i in range(40))
    e = _engine(tmp_path, fake_embedder, [{"id": "long", "source": "report", "text": text},
                                          {"id": "other", "source": "else", "text": "Gardening tips for roses."}])
    assert e.retriever.config.max_per_article == 3
    ps = e.retriever.search("harbour expansion budget", k=5, filters=Filters(sources=["report"]))
    assert len(ps) == 5 and {p.doc_id for p in ps} == {"long"}
    assert len({p.chunk.id for p in ps}) == 5
    assert [p.rank for p in ps] == [1, 2, 3, 4, 5]


def test_date_prior_only_among_the_most_relevant(tmp_path, fake_embedder):
    from qa.config import RetrievalConfig

    recs = [{"id": "answer", "published": "2016-06-01",
             "text": "The volcano Eyjafjallajokull erupted and closed airspace over northern Europe."}]
    # fresh articles that share no word with the question
    recs += [{"id": f"fresh{i}", "published": "2017-01-19", "text": f"Local bakery number {i} sells bread and cakes."}
             for i in range(6)]
    e = QA(location=tmp_path / "idx", embedder=fake_embedder, retrieval=RetrievalConfig(recency_top_n=2))
    e.ingest([write_jsonl(tmp_path / "c.jsonl", recs)])
    ps = e.retriever.search("Which volcano erupted and closed airspace?", k=3, filters=Filters(as_of="2017-01-20"))
    assert ps[0].doc_id == "answer"
    # relevance (no date prior) is kept beside the final score
    assert all(p.relevance is not None and 0 <= p.relevance <= 1 for p in ps)
    loose = QA(location=tmp_path / "idx", embedder=fake_embedder, retrieval=RetrievalConfig(recency_top_n=0,
                                                                                             recency_bonus=5.0))
    top = loose.retriever.search("Which volcano erupted and closed airspace?", k=3, filters=Filters(as_of="2017-01-20"))
    assert top[0].doc_id != "answer"  # an unbounded prior does bury it: the gate is what keeps it


def test_temporal_cue():
    from qa.retrieval import temporal_cue

    assert temporal_cue("Which country said this week it is bankrupt?")
    assert temporal_cue("What did the minister announce on Tuesday?")
    assert not temporal_cue("What is the world's tallest nation?")


def test_every_passage_has_its_cosine_read_once(tmp_path, fake_embedder, index_location, monkeypatch):
    """Each kept passage's ``dense`` is its cosine to the query, also for a passage only BM25 found;
    vectors are read once per search: fusion reads the lexical-only hits' (linear), or the search
    reads the kept passages' that fusion did not score (rank fusion) -- never the same ones twice."""
    from qa.config import RetrievalConfig

    e = _engine(tmp_path, fake_embedder, RECS, index_location)
    r = e.retriever
    query = "weekend football scores trade summit"
    qv = fake_embedder.encode([query])[0]
    exact = dict(zip(range(e.store.manifest.next_chunk_id), e.store.vectors(
        list(range(e.store.manifest.next_chunk_id))) @ qv))
    dense = r.dense
    monkeypatch.setattr(r, "dense", lambda v, n, allowed=None: dense(v, 1, allowed))  # lexical-only hits exist
    reads = []
    read = e.store.vectors
    monkeypatch.setattr(e.store, "vectors", lambda ids: reads.append(list(ids)) or read(ids))
    for fusion in ("linear", "rrf"):
        r.config = RetrievalConfig(fusion=fusion)
        reads.clear()
        ps = r.search(query, k=4, query_vec=qv)
        assert len(ps) == 4 and len(reads) == 1, (fusion, reads)
        assert all(abs(p.dense - exact[p.chunk.id]) < 1e-5 for p in ps), fusion


def test_the_lexical_search_runs_beside_the_dense_one_with_the_same_results(tmp_path, fake_embedder):
    """On the embedded store the lexical search runs in a worker thread while FAISS searches; the
    passages are exactly those of the one-thread order, with and without filters."""
    import threading

    e = _engine(tmp_path, fake_embedder, RECS)
    store, where = e.store, []
    lexical = store.search_lexical

    def spy(*a, **kw):
        where.append(threading.current_thread() is threading.main_thread())
        return lexical(*a, **kw)

    store.search_lexical = spy
    asks = [("where did the trade summit open", None), ("weekend football scores", None),
            ("trade summit", Filters(as_of="2017-01-20", sources=["a.example", "b.example"]))]
    together = [[(p.doc_id, p.score) for p in e.retriever.search(q, k=4, filters=f)] for q, f in asks]
    assert where == [False] * 3 and all(together)
    store.concurrent_searches = False
    alone = [[(p.doc_id, p.score) for p in e.retriever.search(q, k=4, filters=f)] for q, f in asks]
    assert where[3:] == [True] * 3 and alone == together


def test_diverse_top_puts_different_articles_first(tmp_path, fake_embedder):
    """diverse_top=3: the first three passages are the best of three different articles, even when one
    long article has the three best-scoring chunks; off (1), score order puts the long article first.
    The default puts five articles first."""
    from dataclasses import replace

    long = " ".join(f"The harbour expansion budget grew in year {i} by {i} million." for i in range(60))
    recs = [{"id": "long", "source": "a", "text": long},
            {"id": "b", "source": "b", "text": "The harbour expansion budget was debated by the council."},
            {"id": "c", "source": "c", "text": "Council members questioned the harbour budget again."},
            {"id": "d", "source": "d", "text": "Gardening tips for roses in spring."}]
    e = _engine(tmp_path, fake_embedder, recs)
    assert e.retriever.config.diverse_top == 5
    shipped = e.retriever.search("harbour expansion budget grew year million", k=6)
    assert len({p.doc_id for p in shipped[:4]}) == 4  # all four articles before the long one's second passage
    e.retriever.config = replace(e.retriever.config, diverse_top=1)
    plain = e.retriever.search("harbour expansion budget grew year million", k=6)
    assert [p.doc_id for p in plain[:3]] == ["long", "long", "long"]
    e.retriever.config = replace(e.retriever.config, diverse_top=3)
    ps = e.retriever.search("harbour expansion budget grew year million", k=6)
    assert len({p.doc_id for p in ps[:3]}) == 3 and ps[0].doc_id == "long"
    assert [p.rank for p in ps] == list(range(1, len(ps) + 1))
    assert len(ps) == 6 and len({p.chunk.id for p in ps}) == 6
