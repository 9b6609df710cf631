"""The store contract: every test here runs on both stores (``index_location``: a folder, and a
schema in a real PostgreSQL) -- persistence, incremental ingest, delete, atomic writes, locking.
"""
import threading

import numpy as np
import pytest
from conftest import engine_at, snapshot, write_jsonl

from qa.config import ChunkingConfig
from qa.errors import IndexError_, IndexLockedError
from qa.lexical import lexical_terms
from qa.stores import Filters, Hit, Store, WritableStore, open_store, writer

_engine = engine_at
_snapshot = snapshot


def test_round_trip_persists_articles_chunks_and_vectors(tmp_path, index_location, fake_embedder, articles_jsonl):
    e = _engine(index_location, fake_embedder)
    report = e.ingest([articles_jsonl])
    assert len(report.added) == 3 and not report.failed
    e2 = _engine(index_location, fake_embedder)
    assert sorted(e2.store.articles) == ["a1", "a2", "a3"]
    assert e2.store.n_vectors == len(e2.store.chunks) > 0
    for c in e2.store.chunks.values():
        assert e2.store.articles[c.doc_id].text[c.start:c.end] == c.text  # chunks index the normalised text
        assert e2.store.search_dense(e2.store.vector(c.id), 1)[0][0] == c.id  # each vector is stored under its id
    manifest = e2.store.manifest
    assert manifest.model == fake_embedder.name and manifest.dim == fake_embedder.dim
    assert manifest.chunking == ChunkingConfig().__dict__


def test_incremental_unchanged_updated_and_deleted(tmp_path, index_location, fake_embedder, articles_jsonl):
    e = _engine(index_location, fake_embedder)
    e.ingest([articles_jsonl])
    again = e.ingest([articles_jsonl])
    assert again.unchanged == ["a1", "a2", "a3"] and not again.added and not again.updated
    old_chunks = set(e.store.chunk_ids("a2"))
    changed = tmp_path / "changed.jsonl"
    write_jsonl(changed, [{"id": "a2", "title": "Tennis final", "text": "Serena Williams won her 23rd title."}])
    r = e.ingest([changed])
    assert r.updated == ["a2"]
    new_chunks = set(e.store.chunk_ids("a2"))
    assert not (old_chunks & new_chunks)
    assert all(cid not in e.store.chunks for cid in old_chunks)
    assert e.store.n_vectors == len(e.store.chunks)
    assert "Serena" in e.ask("Who won her 23rd title?").text
    deleted, missing = e.delete(["a1", "nope"])
    assert deleted == ["a1"] and missing == ["nope"]
    assert "a1" not in _engine(index_location, fake_embedder).store.articles


def test_duplicate_content_is_skipped(tmp_path, index_location, fake_embedder):
    f = write_jsonl(tmp_path / "d.jsonl", [{"id": "p", "text": "Same story."}, {"id": "q", "text": "same   STORY."}])
    r = _engine(index_location, fake_embedder).ingest([f])
    assert r.added == ["p"] and r.duplicates == [(f"{f}:2", "p")]


@pytest.mark.parametrize("name,content", [
    ("empty.txt", b""),
    ("binary.txt", b"\x00\x00\x01\x02"),
    ("latin1.txt", b"caf\xe9 au lait"),
    ("broken.jsonl", b"{oops\n[1]\n"),  # no line readable (a good line beside a bad one goes in: test_ingest.py)
    ("nocol.csv", b"title,author\nA,B\n"),
])
def test_bad_file_reports_failure_and_leaves_index_as_it_was(tmp_path, index_location, fake_embedder, articles_jsonl, name, content):
    e = _engine(index_location, fake_embedder)
    e.ingest([articles_jsonl])
    before = _snapshot(e)
    bad = tmp_path / name
    bad.write_bytes(content)
    r = e.ingest([bad])
    assert len(r.failed) == 1 and name in r.failed[0][1]
    assert _snapshot(e) == before
    assert _snapshot(_engine(index_location, fake_embedder)) == before


def test_second_writer_gets_a_clear_error(index_location, fake_embedder):
    d = index_location
    got = {}
    with writer(d, fake_embedder.name, fake_embedder.dim, ChunkingConfig()):
        def other():
            try:
                with writer(d, fake_embedder.name, fake_embedder.dim, ChunkingConfig(), wait=0):
                    pass
            except IndexLockedError as e:
                got["err"] = str(e)
        t = threading.Thread(target=other)
        t.start()
        t.join()
    assert "another process is writing" in got["err"] and "--wait SECONDS" in got["err"]


def test_a_second_writer_waits_its_turn_and_gives_up_clearly(index_location, fake_embedder):
    """A second writer waits (and says so once) while the first holds the index, then goes in; one that
    waits longer than it may gives up naming how long it waited."""
    d, cfg = index_location, ChunkingConfig()
    told: list[str] = []
    first_done = threading.Event()
    out = {}

    def second():
        with writer(d, fake_embedder.name, fake_embedder.dim, cfg, wait=20, on_wait=told.append) as w:
            out["saw_first"] = first_done.is_set()
            out["articles"] = len(w.articles)

    with writer(d, fake_embedder.name, fake_embedder.dim, cfg):
        t = threading.Thread(target=second)
        t.start()
        for _ in range(100):  # until the second writer says it waits
            if told:
                break
            threading.Event().wait(0.05)
        with pytest.raises(IndexLockedError, match="still was after 0.3 s"):
            with writer(d, fake_embedder.name, fake_embedder.dim, cfg, wait=0.3):
                pass
        first_done.set()
    t.join(30)
    assert len(told) == 1 and "waiting for another process" in told[0]
    assert out["saw_first"] is True  # it went in only after the first writer finished


def test_index_built_with_another_model_is_refused(index_location, fake_embedder, articles_jsonl):
    _engine(index_location, fake_embedder).ingest([articles_jsonl])
    with pytest.raises(IndexError_, match="built with model"):
        open_store(index_location, "other/model", 384, ChunkingConfig())


def test_a_reader_keeps_its_snapshot_while_another_process_commits(tmp_path, index_location, fake_embedder, articles_jsonl):
    e = _engine(index_location, fake_embedder)
    e.ingest([articles_jsonl])
    old_store, old_retriever = e.store, e.retriever
    other = _engine(index_location, fake_embedder)
    other.ingest([write_jsonl(tmp_path / "n.jsonl", [{"id": "n", "text": "Talks on Syria moved to Geneva."}])])
    other.delete(["a2"])
    assert sorted(old_store.articles) == ["a1", "a2", "a3"]  # the old snapshot is unchanged...
    got = {p.doc_id for p in old_retriever.search("talks on Syria", k=5)}
    assert "n" not in got and old_store.articles["a2"].title == "Tennis final"
    e.ask("Where did the talks on Syria move?")  # ...and the engine reloads to the new one
    assert sorted(e.store.articles) == ["a1", "a3", "n"]
    assert "n" in {p.doc_id for p in e.retriever.search("talks on Syria", k=5)}


def test_a_large_ingest_commits_batch_by_batch(tmp_path, index_location, fake_embedder, articles_jsonl, monkeypatch):
    monkeypatch.setenv("QA_COMMIT_CHUNKS", "1")
    e = _engine(index_location, fake_embedder)
    e.ingest([articles_jsonl])
    assert e.store.manifest.generation >= 3  # one commit per article here
    assert sorted(e.store.articles) == ["a1", "a2", "a3"]


@pytest.mark.parametrize("commit_chunks", ["1", "4096"])
def test_document_frequencies_match_the_live_chunks_after_adds_updates_and_deletes(
        tmp_path, index_location, fake_embedder, monkeypatch, commit_chunks):
    """The BM25 document frequencies are summed per batch and written in the commit's transaction:
    after adding, updating (same commit: remove + add) and deleting, every term's stored frequency
    equals a count over the live chunks' texts, on both stores and with one commit per article."""
    from qa.lexical import lexical_terms

    monkeypatch.setenv("QA_COMMIT_CHUNKS", commit_chunks)
    e = _engine(index_location, fake_embedder)
    recs = [{"id": f"n{i}", "title": f"Story {i % 3}", "text": f"Talks on topic {i % 4} resumed in Astana. "
             f"Delegates from {i} countries came to the talks."} for i in range(8)]
    e.ingest([write_jsonl(tmp_path / "a.jsonl", recs)])
    recs[2]["text"] = "The harbour closed after a storm. Ferries stopped for two days."
    recs.append({"id": "late", "title": "Late", "text": "A ferry strike ended in Astana after talks."})
    e.ingest([write_jsonl(tmp_path / "b.jsonl", recs)])
    e.delete(["n5", "n6"])
    store = e.store
    counted: dict[str, int] = {}
    for doc in store.articles:
        art = store.articles[doc]
        for cid in store.chunk_ids(doc):
            c = store.chunks[cid]
            for t in set(lexical_terms([f"{art.title}\n{art.text[c.start:c.end]}"])[0]):
                counted[t] = counted.get(t, 0) + 1
    stored = store.doc_freqs(sorted(counted) + ["harbour", "delegates", "nothing"])
    assert {t: n for t, n in stored.items() if n} == counted
    assert stored.get("nothing", 0) == 0 and counted.get("harbour") == 1


def test_vectors_of_many_chunks_in_one_call_match_one_by_one(index_location, fake_embedder, articles_jsonl):
    """``store.vectors(ids)`` (one query on PostgreSQL, used by retrieval for lexical-only hits and
    the passages' cosines) returns the same vectors as ``vector(id)``, in the order asked."""
    e = _engine(index_location, fake_embedder)
    e.ingest([articles_jsonl])
    ids = sorted(e.store.chunks)[::-1]
    many = e.store.vectors(ids)
    assert many.shape == (len(ids), fake_embedder.dim)
    assert np.allclose(many, np.stack([e.store.vector(i) for i in ids]), atol=1e-6)
    assert e.store.vectors([]).shape == (0, fake_embedder.dim)


def test_both_stores_keep_the_store_protocol(index_location, fake_embedder, articles_jsonl):
    """Searches return typed hits of live chunks; prepared filters restrict both searches."""
    e = _engine(index_location, fake_embedder)
    e.ingest([articles_jsonl])
    s = e.store
    assert isinstance(s, Store) and len(s) == 3 and s.n_vectors == len(s.chunks)
    q = fake_embedder.encode(["Who won the Australian Open?"])[0]
    dense = s.search_dense(q, 3)
    assert dense and all(isinstance(h, Hit) for h in dense) and s.chunks[dense[0].chunk_id].doc_id == "a2"
    assert [h.score for h in dense] == sorted((h.score for h in dense), reverse=True)
    lexical = s.search_lexical(lexical_terms(["avalanche hotel"])[0], 3)
    assert isinstance(lexical[0], Hit) and s.chunks[lexical[0].chunk_id].doc_id == "a3"
    wire = s.prepare_filters(Filters(sources=["https://www.wire.example/"]))
    assert {s.chunks[h.chunk_id].doc_id for h in s.search_dense(q, 5, wire)} <= {"a1", "a3"}
    assert s.search_lexical(lexical_terms(["Federer"])[0], 5, wire) == []
    before = s.prepare_filters(Filters(as_of="2017-01-18"))
    assert {s.chunks[h.chunk_id].doc_id for h in s.search_dense(q, 5, before)} == {"a1"}
    with writer(index_location, fake_embedder.name, fake_embedder.dim, ChunkingConfig()) as w:
        assert isinstance(w, WritableStore) and len(w.articles) == 3
