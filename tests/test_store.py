"""Persistence, incremental ingest, delete, atomic writes and locking (with the embedding double)."""
import json
import os
import threading

import pytest

from conftest import write_jsonl
from qa import store as store_mod
from qa.config import ChunkingConfig
from qa.engine import QA
from qa.errors import IndexError_, IndexLockedError
from qa.store import IndexStore, writer


def _engine(tmp_path, fake_embedder):
    return QA(index_dir=tmp_path / "idx", embedder=fake_embedder)


def _snapshot(engine):
    s = engine.store
    return (sorted(s.articles), sorted(s.chunks), s.vectors.ntotal, s.generation_name)


def test_round_trip_persists_articles_chunks_and_vectors(tmp_path, fake_embedder, articles_jsonl):
    e = _engine(tmp_path, fake_embedder)
    report = e.ingest([articles_jsonl])
    assert len(report.added) == 3 and not report.failed
    e2 = _engine(tmp_path, fake_embedder)
    assert sorted(e2.store.articles) == ["a1", "a2", "a3"]
    assert e2.store.vectors.ntotal == len(e2.store.chunks) > 0
    for c in e2.store.chunks.values():
        assert e2.article_text(c.doc_id)[c.start:c.end] == c.text
    manifest = json.loads((tmp_path / "idx" / e2.store.generation_name / "manifest.json").read_text())
    assert manifest["model"] == fake_embedder.name and manifest["dim"] == fake_embedder.dim
    assert manifest["chunking"] == ChunkingConfig().__dict__


def test_incremental_unchanged_updated_and_deleted(tmp_path, fake_embedder, articles_jsonl):
    e = _engine(tmp_path, fake_embedder)
    e.ingest([articles_jsonl])
    again = e.ingest([articles_jsonl])
    assert again.unchanged == ["a1", "a2", "a3"] and not again.added and not again.updated
    old_chunks = set(e.store.chunks_by_doc["a2"])
    changed = tmp_path / "changed.jsonl"
    write_jsonl(changed, [{"id": "a2", "title": "Tennis final", "text": "Serena Williams won her 23rd title."}])
    r = e.ingest([changed])
    assert r.updated == ["a2"]
    new_chunks = set(e.store.chunks_by_doc["a2"])
    assert not (old_chunks & new_chunks)
    assert all(cid not in e.store.chunks for cid in old_chunks)
    assert e.store.vectors.ntotal == len(e.store.chunks)
    assert "Serena" in e.ask("Who won her 23rd title?").text
    deleted, missing = e.delete(["a1", "nope"])
    assert deleted == ["a1"] and missing == ["nope"]
    assert "a1" not in _engine(tmp_path, fake_embedder).store.articles


def test_duplicate_content_is_skipped(tmp_path, fake_embedder):
    f = write_jsonl(tmp_path / "d.jsonl", [{"id": "p", "text": "Same story."}, {"id": "q", "text": "same   STORY."}])
    r = _engine(tmp_path, fake_embedder).ingest([f])
    assert r.added == ["p"] and r.duplicates == [(f"{f}:2", "p")]


@pytest.mark.parametrize("name,content", [
    ("empty.txt", b""),
    ("binary.txt", b"\x00\x00\x01\x02"),
    ("latin1.txt", b"caf\xe9 au lait"),
    ("broken.jsonl", b'{"text": "fine"}\n{oops\n'),
    ("nocol.csv", b"title,author\nA,B\n"),
])
def test_bad_file_reports_failure_and_leaves_index_as_it_was(tmp_path, fake_embedder, articles_jsonl, name, content):
    e = _engine(tmp_path, fake_embedder)
    e.ingest([articles_jsonl])
    before = _snapshot(e)
    bad = tmp_path / name
    bad.write_bytes(content)
    r = e.ingest([bad])
    assert len(r.failed) == 1 and name in r.failed[0][1]
    assert _snapshot(e) == before
    assert _snapshot(_engine(tmp_path, fake_embedder)) == before


def test_huge_file_reports_failure_and_leaves_index(tmp_path, fake_embedder, articles_jsonl, monkeypatch):
    e = _engine(tmp_path, fake_embedder)
    e.ingest([articles_jsonl])
    before = _snapshot(e)
    monkeypatch.setenv("QA_MAX_FILE_MB", "0.001")
    big = tmp_path / "big.txt"
    big.write_text("x " * 10000)
    r = e.ingest([big])
    assert "too large" in r.failed[0][1]
    assert _snapshot(_engine(tmp_path, fake_embedder)) == before


def test_crash_during_write_keeps_previous_generation(tmp_path, fake_embedder, articles_jsonl, monkeypatch):
    e = _engine(tmp_path, fake_embedder)
    e.ingest([articles_jsonl])
    before = _snapshot(e)
    real = store_mod._fsync_write
    calls = {"n": 0}

    def dying(path, data):
        calls["n"] += 1
        if calls["n"] == 3:  # after articles and chunks, before vectors and manifest
            raise OSError("disk on fire")
        real(path, data)

    monkeypatch.setattr(store_mod, "_fsync_write", dying)
    extra = write_jsonl(tmp_path / "x.jsonl", [{"id": "new", "text": "A brand new story."}])
    with pytest.raises(OSError):
        e.ingest([extra])
    monkeypatch.setattr(store_mod, "_fsync_write", real)
    assert _snapshot(_engine(tmp_path, fake_embedder)) == before
    r = _engine(tmp_path, fake_embedder).ingest([extra])  # and the next write works
    assert r.added == ["new"]


def test_second_writer_gets_a_clear_error(tmp_path, fake_embedder):
    d = tmp_path / "idx"
    got = {}
    with writer(d, fake_embedder.name, fake_embedder.dim, ChunkingConfig()):
        def other():
            try:
                with writer(d, fake_embedder.name, fake_embedder.dim, ChunkingConfig()):
                    pass
            except IndexLockedError as e:
                got["err"] = str(e)
        t = threading.Thread(target=other)
        t.start()
        t.join()
    assert "another process is writing" in got["err"]


def test_readers_see_a_complete_index_while_a_writer_commits(tmp_path, fake_embedder, articles_jsonl):
    e = _engine(tmp_path, fake_embedder)
    e.ingest([articles_jsonl])
    stop = threading.Event()
    errors = []

    def read():
        while not stop.is_set():
            try:
                s = IndexStore.open(tmp_path / "idx", fake_embedder.name, fake_embedder.dim, ChunkingConfig())
                assert s.vectors.ntotal == len(s.chunks)
            except Exception as ex:  # noqa: BLE001
                errors.append(ex)
    t = threading.Thread(target=read)
    t.start()
    for i in range(8):
        e.ingest([write_jsonl(tmp_path / f"n{i}.jsonl", [{"id": f"n{i}", "text": f"Story {i} about things."}])])
    stop.set()
    t.join()
    assert not errors
    assert len([p for p in (tmp_path / "idx").glob("gen-*")]) <= 3


def test_index_built_with_another_model_is_refused(tmp_path, fake_embedder, articles_jsonl):
    _engine(tmp_path, fake_embedder).ingest([articles_jsonl])
    with pytest.raises(IndexError_, match="built with model"):
        IndexStore.open(tmp_path / "idx", "other/model", 384, ChunkingConfig())


def test_index_of_another_format_is_refused(tmp_path, fake_embedder, articles_jsonl):
    e = _engine(tmp_path, fake_embedder)
    e.ingest([articles_jsonl])
    m = tmp_path / "idx" / e.store.generation_name / "manifest.json"
    d = json.loads(m.read_text())
    d["format_version"] = 99
    m.write_text(json.dumps(d))
    with pytest.raises(IndexError_, match="format v99"):
        _engine(tmp_path, fake_embedder)


def test_no_temporary_files_left_after_commit(tmp_path, fake_embedder, articles_jsonl):
    _engine(tmp_path, fake_embedder).ingest([articles_jsonl])
    names = os.listdir(tmp_path / "idx")
    assert not [n for n in names if ".tmp" in n]
