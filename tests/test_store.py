"""Persistence, incremental ingest, delete, atomic writes and locking (with the embedding double)."""
import json
import os
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor

import faiss
import numpy as np
import pytest

from conftest import write_jsonl
from qa import ann
from qa import store as store_mod
from qa.config import ChunkingConfig
from qa.engine import QA
from qa.errors import IndexError_, IndexLockedError
from qa.store import IndexStore, open_store, writer


def _engine(where, fake_embedder):
    """An engine on ``where``: a test's tmp_path (its idx/ folder) or an ``index_location``."""
    loc = where if isinstance(where, str) or where.name == "idx" else where / "idx"
    return QA(index_dir=loc, embedder=fake_embedder)


def _compact(tmp_path) -> dict:
    m = store_mod.manifest_of(tmp_path / "idx")
    with writer(tmp_path / "idx", m.model, m.dim, ChunkingConfig(**m.chunking)) as s:
        return s.compact()


def _snapshot(engine):
    s = engine.store
    return (sorted(s.articles), sorted(s.chunks), s.n_vectors, s.generation_name)


def test_round_trip_persists_articles_chunks_and_vectors(tmp_path, index_location, fake_embedder, articles_jsonl):
    e = _engine(index_location, fake_embedder)
    report = e.ingest([articles_jsonl])
    assert len(report.added) == 3 and not report.failed
    e2 = _engine(index_location, fake_embedder)
    assert sorted(e2.store.articles) == ["a1", "a2", "a3"]
    assert e2.store.n_vectors == len(e2.store.chunks) > 0
    for c in e2.store.chunks.values():
        assert e2.article_text(c.doc_id)[c.start:c.end] == c.text
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
    ("broken.jsonl", b'{"text": "fine"}\n{oops\n'),
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
    real = store_mod._fsync_dir

    def dying(path):  # the segment files are in place, the transaction is not committed
        if path.name == "segments":
            raise OSError("disk on fire")
        real(path)

    monkeypatch.setattr(store_mod, "_fsync_dir", dying)
    extra = write_jsonl(tmp_path / "x.jsonl", [{"id": "new", "text": "A brand new story."}])
    with pytest.raises(OSError):
        e.ingest([extra])
    monkeypatch.setattr(store_mod, "_fsync_dir", real)
    assert _snapshot(_engine(tmp_path, fake_embedder)) == before
    segs = tmp_path / "idx" / "segments"
    assert len(list(segs.glob("seg-*.faiss"))) == 2  # the live one and the orphan of the failed commit
    r = _engine(tmp_path, fake_embedder).ingest([extra])  # and the next write works, removing the orphan
    assert r.added == ["new"]
    assert len(list(segs.glob("seg-*.faiss"))) == 2
    assert _engine(tmp_path, fake_embedder).ask("brand new story").citations


def test_second_writer_gets_a_clear_error(index_location, fake_embedder):
    d = index_location
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
                assert s.n_vectors == len(s.chunks)
            except Exception as ex:  # noqa: BLE001
                errors.append(ex)
    t = threading.Thread(target=read)
    t.start()
    for i in range(8):
        e.ingest([write_jsonl(tmp_path / f"n{i}.jsonl", [{"id": f"n{i}", "text": f"Story {i} about things."}])])
    stop.set()
    t.join()
    assert not errors


def test_index_built_with_another_model_is_refused(index_location, fake_embedder, articles_jsonl):
    _engine(index_location, fake_embedder).ingest([articles_jsonl])
    with pytest.raises(IndexError_, match="built with model"):
        open_store(index_location, "other/model", 384, ChunkingConfig())


def test_index_of_another_format_is_refused(tmp_path, fake_embedder, articles_jsonl):
    e = _engine(tmp_path, fake_embedder)
    e.ingest([articles_jsonl])
    db = sqlite3.connect(tmp_path / "idx" / "index.sqlite")
    d = json.loads(db.execute("SELECT value FROM meta WHERE key = 'manifest'").fetchone()[0])
    d["format_version"] = 99
    with db:
        db.execute("UPDATE meta SET value = ? WHERE key = 'manifest'", (json.dumps(d),))
    db.close()
    with pytest.raises(IndexError_, match="format v99"):
        _engine(tmp_path, fake_embedder)


def test_an_index_from_before_paragraph_chunking_goes_on_chunking_as_it_was_built(tmp_path, fake_embedder,
                                                                                  articles_jsonl):
    """Its manifest has no ``paragraph_fill``: articles added to it are packed across paragraphs, as its
    older ones were (one rule per index); a new index ends chunks at paragraphs."""
    e = _engine(tmp_path, fake_embedder)
    e.ingest([articles_jsonl])
    db = sqlite3.connect(tmp_path / "idx" / "index.sqlite")
    d = json.loads(db.execute("SELECT value FROM meta WHERE key = 'manifest'").fetchone()[0])
    assert d["chunking"].pop("paragraph_fill") == 0.2
    with db:
        db.execute("UPDATE meta SET value = ? WHERE key = 'manifest'", (json.dumps(d),))
    db.close()
    stories = ["Ships sailed past the harbour wall, watched by crowds on the pier.",
               "Voters in Ohio queued for hours to cast ballots at the town hall.",
               "Bakers in Lyon sold out of bread before noon on the busy market day.",
               "Runners from Kenya won the relay at the athletics meeting in Oslo."]
    roundup = write_jsonl(tmp_path / "r.jsonl", [{"id": "r", "text": "\n\n".join(f"{s} {s}" for s in stories)}])
    old = _engine(tmp_path, fake_embedder)
    assert old.store.chunking.paragraph_fill is None
    old.ingest([roundup])
    assert any("\n\n" in c.text for c in old.store.chunks.values() if c.doc_id == "r")
    new = _engine(tmp_path / "new", fake_embedder)
    new.ingest([roundup])
    assert [c.text.count("\n\n") for c in new.store.chunks.values() if c.doc_id == "r"] == [0, 0, 0, 0]


def test_an_index_from_before_topic_detection_goes_on_ending_every_articles_chunks_at_paragraphs(
        tmp_path, fake_embedder, articles_jsonl):
    """Its manifest has ``paragraph_fill`` but no ``paragraph_topics``: a single story added to it is
    chunked at its paragraphs, as its older articles were; a new index packs that story."""
    e = _engine(tmp_path, fake_embedder)
    e.ingest([articles_jsonl])
    db = sqlite3.connect(tmp_path / "idx" / "index.sqlite")
    d = json.loads(db.execute("SELECT value FROM meta WHERE key = 'manifest'").fetchone()[0])
    assert d["chunking"].pop("paragraph_topics") is True
    with db:
        db.execute("UPDATE meta SET value = ? WHERE key = 'manifest'", (json.dumps(d),))
    db.close()
    story = write_jsonl(tmp_path / "s.jsonl", [{"id": "s", "text": "\n\n".join(
        f"Jammeh {w} from Banjul on the last day of a crisis that had lasted weeks, and crowds watched him "
        f"go from the road, the harbour and the airport." for w in ("flew", "drove", "sailed", "rode"))}])
    old = _engine(tmp_path, fake_embedder)
    assert old.store.chunking.paragraph_topics is False
    old.ingest([story])
    assert [c.text.count("\n\n") for c in old.store.chunks.values() if c.doc_id == "s"] == [0, 0, 0, 0]
    new = _engine(tmp_path / "new", fake_embedder)
    new.ingest([story])
    assert any("\n\n" in c.text for c in new.store.chunks.values() if c.doc_id == "s")


def test_index_of_the_old_layout_is_refused_with_what_to_do(tmp_path, fake_embedder):
    old = tmp_path / "idx"
    (old / "gen-000001").mkdir(parents=True)
    (old / "CURRENT").write_text("gen-000001")
    with pytest.raises(IndexError_, match="older version.*qa ingest"):
        _engine(tmp_path, fake_embedder)


def test_no_temporary_files_left_after_commit(tmp_path, fake_embedder, articles_jsonl):
    _engine(tmp_path, fake_embedder).ingest([articles_jsonl])
    names = os.listdir(tmp_path / "idx") + os.listdir(tmp_path / "idx" / "segments")
    assert not [n for n in names if ".tmp" in n]


# ---- segments, tombstones, merges, ANN --------------------------------------------------
def _segment_files(tmp_path):
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in (tmp_path / "idx" / "segments").glob("seg-*")}


def test_adding_an_article_writes_one_small_segment_and_rewrites_nothing(tmp_path, fake_embedder, articles_jsonl):
    e = _engine(tmp_path, fake_embedder)
    e.ingest([articles_jsonl])
    before = _segment_files(tmp_path)
    e.ingest([write_jsonl(tmp_path / "n.jsonl", [{"id": "n", "text": "A ferry sank off the coast of Bali."}])])
    after = _segment_files(tmp_path)
    assert all(after[name] == stat for name, stat in before.items())  # untouched files
    assert len(after) == len(before) + 3  # one new .faiss, its .npz and its .lex postings
    e._refresh()
    assert e.retriever.search("ferry sank off Bali", k=1)[0].doc_id == "n"


def test_delete_is_a_tombstone_that_no_search_returns_until_compaction_drops_it(tmp_path, fake_embedder,
                                                                               articles_jsonl, monkeypatch):
    monkeypatch.setattr(store_mod, "TOMBSTONE_RATIO", 0.9)  # 1 of 3 deleted would otherwise rewrite the segment
    e = _engine(tmp_path, fake_embedder)
    e.ingest([articles_jsonl])
    before = _segment_files(tmp_path)
    e.delete(["a1"])
    assert _segment_files(tmp_path) == before  # the vectors stay on disk, tombstoned
    e._refresh()
    for mode in ("dense", "lexical", "hybrid"):
        assert "a1" not in {p.doc_id for p in e.retriever.search("talks on Syria in Astana", k=5, mode=mode)}
    assert e.store.n_vectors == len(e.store.chunks)
    with writer(tmp_path / "idx", fake_embedder.name, fake_embedder.dim, ChunkingConfig()) as w:
        report = w.compact()
    assert report["segments_after"] == 1 and report["vectors"] == len(_engine(tmp_path, fake_embedder).store.chunks)
    e2 = _engine(tmp_path, fake_embedder)
    assert sorted(e2.store.articles) == ["a2", "a3"]
    assert e2.retriever.search("Federer won the Australian Open", k=1)[0].doc_id == "a2"


def test_small_segments_are_merged_automatically(tmp_path, fake_embedder, monkeypatch):
    monkeypatch.setattr(store_mod, "MAX_SMALL_SEGMENTS", 3)
    e = _engine(tmp_path, fake_embedder)
    for i in range(7):
        e.ingest([write_jsonl(tmp_path / f"s{i}.jsonl", [{"id": f"s{i}", "text": f"Story number {i} about harbour {i}."}])])
    e._refresh()
    assert len(e.store.segments) <= 4
    assert sorted(e.store.articles) == [f"s{i}" for i in range(7)]
    assert e.store.n_vectors == len(e.store.chunks) == 7


def test_deleted_rows_are_purged_once_no_reader_generation_can_see_them(tmp_path, fake_embedder, articles_jsonl):
    e = _engine(tmp_path, fake_embedder)
    e.ingest([articles_jsonl])
    e.delete(["a1"])
    db_path = tmp_path / "idx" / "index.sqlite"
    rows = lambda: sqlite3.connect(db_path).execute("SELECT count(*) FROM articles WHERE id = 'a1'").fetchone()[0]  # noqa: E731
    assert rows() == 1  # the previous generation still shows it to a reader that has not reloaded
    for i in range(2):
        e.ingest([write_jsonl(tmp_path / f"p{i}.jsonl", [{"id": f"p{i}", "text": f"Another story {i}."}])])
    with writer(tmp_path / "idx", fake_embedder.name, fake_embedder.dim, ChunkingConfig()) as w:
        w.compact()
    assert rows() == 0


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


def _clustered_vectors(rng: np.random.Generator) -> np.ndarray:
    """6,000 unit vectors around 40 centres in 32 dimensions: the kind IVF calibrates on."""
    centers = rng.normal(size=(40, 32))
    vecs = (centers[rng.integers(0, 40, 6000)] + rng.normal(scale=0.6, size=(6000, 32))).astype(np.float32)
    return vecs / np.linalg.norm(vecs, axis=1, keepdims=True)


def test_large_segments_get_an_ivf_sq8_index_with_measured_recall(monkeypatch):
    monkeypatch.setattr(ann, "ANN_MIN", 2000)
    rng = np.random.default_rng(1)
    vecs = _clustered_vectors(rng)
    ids = np.arange(10, 6010, dtype=np.int64)
    faiss.omp_set_num_threads(2)
    built = ann.build(vecs, ids)
    assert faiss.omp_get_max_threads() == 2  # the calibration's one-thread searches leave the writer's setting
    assert built.kind == "ivf-sq8" and built.recall >= ann.ANN_RECALL and 0 < built.nprobe <= built.index.nlist // 3
    q = vecs[:50] + rng.normal(scale=0.05, size=(50, 32)).astype(np.float32)
    rows = lambda c: np.asarray(c) - 10  # noqa: E731
    truth = ids[(q @ vecs.T).argsort(axis=1)[:, ::-1][:, :10]]
    for nprobe in (built.nprobe, ann.SPLIT_FROM):  # one thread, and the lists split over two
        got = [ann.ivf_search(built.index, vecs, rows, x, 10, nprobe) for x in q]
        assert np.mean([len(set(g[1].tolist()) & set(t.tolist())) / 10 for g, t in zip(got, truth)]) >= 0.9
        for (scores, found), x in zip(got, q):  # the scores are exact inner products, best first
            assert np.allclose(scores, vecs[found - 10] @ x, atol=1e-5) and np.all(np.diff(scores) <= 0)
    odd = faiss.IDSelectorBatch(ids[1::2])  # a filter: only odd positions may come back
    scores, found = ann.ivf_search(built.index, vecs, rows, q[0], 10, ann.SPLIT_FROM, odd)
    assert len(found) == 10 and all((f - 10) % 2 == 1 for f in found)


def test_qa_compact_command_merges_segments(tmp_path, fake_embedder, articles_jsonl, capsys):
    from qa import cli

    e = _engine(tmp_path, fake_embedder)
    e.ingest([articles_jsonl])
    e.ingest([write_jsonl(tmp_path / "n.jsonl", [{"id": "n", "text": "A ferry sank off the coast of Bali."}])])
    assert cli.main(["--index", str(tmp_path / "idx"), "compact", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report == {"segments_before": 2, "segments_after": 1, "kind": "flat", "vectors": 4}
    assert cli.main(["--index", str(tmp_path / "nothing"), "compact"]) == 2
    assert "no index here yet" in capsys.readouterr().err


# ---- streaming ingest --------------------------------------------------------------------
def test_jsonl_and_csv_stream_past_the_file_size_cap(tmp_path, index_location, fake_embedder, monkeypatch):
    monkeypatch.setenv("QA_MAX_FILE_MB", "0.001")  # 1 kB: still the limit for files read whole
    big = write_jsonl(tmp_path / "big.jsonl", [{"id": f"j{i}", "text": f"Story {i} about the harbour of town {i}."}
                                               for i in range(200)])
    rows = "id,title,text\n" + "".join(f"c{i},Title {i},A report number {i} on the river {i}.\n" for i in range(100))
    (tmp_path / "big.csv").write_text(rows)
    assert big.stat().st_size > 1024
    r = _engine(index_location, fake_embedder).ingest([big, tmp_path / "big.csv"])
    assert not r.failed and len(r.added) == 300


def test_a_bad_line_late_in_a_jsonl_keeps_the_whole_file_out(tmp_path, index_location, fake_embedder, articles_jsonl):
    e = _engine(index_location, fake_embedder)
    e.ingest([articles_jsonl])
    before = _snapshot(e)
    f = write_jsonl(tmp_path / "late.jsonl", [{"id": f"l{i}", "text": f"Story {i}."} for i in range(50)])
    with open(f, "a") as out:
        out.write('{"id": "broken", "text": \n')
    r = e.ingest([f])
    assert len(r.failed) == 1 and "late.jsonl" in r.failed[0][1] and "late.jsonl:51:" in r.failed[0][1]
    assert not r.added and _snapshot(_engine(index_location, fake_embedder)) == before


def test_deeply_nested_json_is_a_clear_error_and_the_other_files_go_in(tmp_path, index_location, fake_embedder, articles_jsonl):
    (tmp_path / "deep.json").write_text("[" * 200_000 + "]" * 200_000)
    (tmp_path / "deep.jsonl").write_text('{"text": ' + "[" * 100_000 + "]" * 100_000 + "}\n")
    r = _engine(index_location, fake_embedder).ingest([tmp_path / "deep.json", tmp_path / "deep.jsonl", articles_jsonl])
    assert sorted(r.added) == ["a1", "a2", "a3"]
    assert len(r.failed) == 2 and all("nested too deeply" in reason for _, reason in r.failed)


def test_batches_of_a_stream_share_duplicate_detection(tmp_path, index_location, fake_embedder, monkeypatch):
    from qa import ingest as ingest_mod

    monkeypatch.setattr(ingest_mod, "ARTICLE_BATCH", 2)
    f = write_jsonl(tmp_path / "s.jsonl", [{"id": "x", "text": "First story."}, {"id": "y", "text": "Second story."},
                                           {"id": "x", "text": "First story, again."},
                                           {"id": "z", "text": "second   STORY."}, {"id": "w", "text": "Third."}])
    e = _engine(index_location, fake_embedder)
    r = e.ingest([f])
    assert r.added == ["x", "y", "w"] and [d for _, d in r.duplicates] == ["x", "y"]
    assert e.store.manifest.generation >= 2 and sorted(_engine(index_location, fake_embedder).store.articles) == ["w", "x", "y"]


def test_an_ivf_sq8_segment_in_the_store_searches_filters_deletes_reopens_and_compacts(
        tmp_path, fake_embedder, monkeypatch):
    """The whole store path of a large segment: written by a commit, re-ranked from its memory-mapped
    float vectors, filtered, tombstoned, reopened, and merged back by ``compact``."""
    monkeypatch.setattr(ann, "ANN_MIN", 1500)
    monkeypatch.setattr(ann, "ANN_RECALL", 0.6)  # the hashed bag-of-words double clusters only loosely
    monkeypatch.setattr(ann, "SPLIT_FROM", 1)  # every search splits its lists over two threads
    rng = np.random.default_rng(5)
    topics = [[f"t{t}w{j}" for j in range(6)] for t in range(25)]
    recs = [{"id": f"n{i}", "title": "", "source": "Wire" if i % 2 else "Post",
             "published": f"2024-01-{1 + i % 28:02d}",
             "text": " ".join(topics[i % 25] + [f"x{rng.integers(0, 400)}" for _ in range(3)]) + "."}
            for i in range(1800)]
    e = _engine(tmp_path, fake_embedder)
    e.ingest([write_jsonl(tmp_path / "many.jsonl", recs)])  # committed in batches: small flat segments
    assert _compact(tmp_path)["kind"] == "ivf-sq8"
    e = _engine(tmp_path, fake_embedder)
    seg = e.store.segments[0]
    assert len(e.store.segments) == 1 and seg.kind == "ivf-sq8" and seg.nprobe > 0
    assert isinstance(seg.vectors, ann.VectorFile) and (tmp_path / "idx" / "segments" / f"seg-{seg.no:06d}.vec.npy").exists()
    some = [int(c) for c in rng.choice(seg.ids, 40, replace=False)]
    for cid in some:  # exact vectors back, and each finds itself first with its exact score
        text = e.store.chunks[cid].text
        v = fake_embedder.encode([text])[0]
        assert np.allclose(e.store.vector(cid), v, atol=1e-6)
        best = e.store.search_dense(v, 5)
        assert best[0][1] == pytest.approx(1.0, abs=1e-5) and np.isclose(best[0][1], float(v @ e.store.vector(best[0][0])))
    queries = [e.store.vector(cid) for cid in some]
    alone = [e.store.search_dense(v, 10) for v in queries]
    with ThreadPoolExecutor(8) as pool:  # concurrent questions share the probe threads: same answers
        together = list(pool.map(lambda v: e.store.search_dense(v, 10), queries * 4))
    assert together == alone * 4
    from qa.retrieval import Filters
    allowed = e.store.prepare_filters(Filters(sources=["Wire"], as_of="2024-01-10"))
    for cid in some[:10]:
        for c, _ in e.store.search_dense(e.store.vector(cid), 20, allowed):
            art = e.store.articles[e.store.chunks[c].doc_id]
            assert art.source == "Wire" and art.published <= "2024-01-10"
    victim = e.store.chunks[some[0]].doc_id
    e.delete([victim])
    e = _engine(tmp_path, fake_embedder)  # reopened: the IVF segment plus a tombstone
    assert e.store.segments[0].kind == "ivf-sq8"
    v = fake_embedder.encode([recs[int(victim[1:])]["text"]])[0]
    assert all(e.store.chunks[c].doc_id != victim for c, _ in e.store.search_dense(v, 50))
    report = _compact(tmp_path)
    assert report["kind"] == "ivf-sq8" and report["vectors"] == 1799
    e = _engine(tmp_path, fake_embedder)
    assert [s.kind for s in e.store.segments] == ["ivf-sq8"] and e.store.n_vectors == 1799
    e.ingest([write_jsonl(tmp_path / "one.jsonl", [{"id": "late", "text": "A late story."}])])  # purges
    assert sorted(p.name.split(".")[0] for p in (tmp_path / "idx" / "segments").glob("*.vec.npy")) == \
        [f"seg-{e.store.segments[0].no:06d}"]  # the merged-away segment's vectors are gone
    assert np.allclose(e.store.vector(some[1]), fake_embedder.encode([e.store.chunks[some[1]].text])[0], atol=1e-6)


def test_a_third_of_the_lists_is_probed_when_a_quarter_falls_short(monkeypatch):
    """The calibration's candidates go up to a third of the lists: where every smaller nprobe misses the
    recall target (here forced: their searches return nothing right), the third is tried last and
    chosen."""
    monkeypatch.setattr(ann, "ANN_MIN", 2000)
    vecs = _clustered_vectors(np.random.default_rng(1))
    real, tried = ann.ivf_search, set()

    def short_below_a_third(index, vectors, rows, q, n, nprobe, sel=None):
        tried.add(nprobe)
        scores, found = real(index, vectors, rows, q, n, nprobe, sel)
        return (scores, found) if nprobe >= index.nlist // 3 else (scores, found + 10**6)

    monkeypatch.setattr(ann, "ivf_search", short_below_a_third)
    built = ann.build(vecs, np.arange(6000, dtype=np.int64))
    nlist = built.index.nlist
    assert built.kind == "ivf-sq8" and built.nprobe == nlist // 3 and built.recall >= ann.ANN_RECALL
    assert nlist // 4 in tried and max(tried) == nlist // 3


def test_vectors_that_do_not_cluster_stay_exact(monkeypatch):
    """Where no nprobe up to a third of the lists reaches the recall target, an IVF index would be
    slower than exact search: the segment stays flat."""
    monkeypatch.setattr(ann, "ANN_MIN", 2000)
    rng = np.random.default_rng(2)
    vecs = rng.normal(size=(4000, 64)).astype(np.float32)  # uniform on the sphere: no clusters
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    built = ann.build(vecs, np.arange(4000, dtype=np.int64))
    assert built.kind == "flat" and built.nprobe == 0 and built.index.ntotal == 4000


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
