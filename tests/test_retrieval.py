from conftest import write_jsonl
from qa.engine import QA
from qa.retrieval import Filters


def _engine(tmp_path, fake_embedder, records):
    e = QA(index_dir=tmp_path / "idx", embedder=fake_embedder)
    e.ingest([write_jsonl(tmp_path / "c.jsonl", records)])
    return e


RECS = [
    {"id": "old", "source": "a.example", "published": "2017-01-01", "text": "The summit on trade opened in Geneva today."},
    {"id": "recent", "source": "b.example", "published": "2017-01-19", "text": "The summit on trade opened in Vienna today."},
    {"id": "future", "source": "a.example", "published": "2017-02-01", "text": "The summit on trade opened in Paris today."},
    {"id": "undated", "source": "c.example", "published": "", "text": "Football scores from the weekend league."},
]


def test_hybrid_finds_lexical_and_dense_matches(tmp_path, fake_embedder):
    e = _engine(tmp_path, fake_embedder, RECS)
    got = [p.doc_id for p in e.retriever.search("weekend football scores", k=2)]
    assert got[0] == "undated"


def test_as_of_excludes_later_articles_and_favours_recent_ones(tmp_path, fake_embedder):
    e = _engine(tmp_path, fake_embedder, RECS)
    ids = [p.doc_id for p in e.retriever.search("where did the trade summit open", k=4, filters=Filters(as_of="2017-01-20"))]
    assert "future" not in ids
    assert ids.index("recent") < ids.index("old")


def test_source_and_date_filters(tmp_path, fake_embedder):
    e = _engine(tmp_path, fake_embedder, RECS)
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
