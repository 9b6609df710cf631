"""The embedded store's own behaviour: segment files, merges, purges, crash safety and old
index formats (with the embedding double).
"""
import json
import os
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from conftest import engine_at, snapshot, write_jsonl

from qa import stores as store_mod
from qa.config import ChunkingConfig
from qa.errors import IndexError_
from qa.stores import ann, embedded, segments, writer
from qa.stores.embedded import IndexStore

_engine = engine_at


def _compact(tmp_path) -> dict:
    m = store_mod.manifest_of(tmp_path / "idx")
    with writer(tmp_path / "idx", m.model, m.dim, ChunkingConfig(**m.chunking)) as s:
        return s.compact()


_snapshot = snapshot


def test_crash_during_write_keeps_previous_generation(tmp_path, fake_embedder, articles_jsonl, monkeypatch):
    e = _engine(tmp_path, fake_embedder)
    e.ingest([articles_jsonl])
    before = _snapshot(e)
    real = segments.fsync_dir

    def dying(path):  # the segment files are in place, the transaction is not committed
        if path.name == "segments":
            raise OSError("disk on fire")
        real(path)

    monkeypatch.setattr(segments, "fsync_dir", dying)
    extra = write_jsonl(tmp_path / "x.jsonl", [{"id": "new", "text": "A brand new story."}])
    with pytest.raises(OSError):
        e.ingest([extra])
    monkeypatch.setattr(segments, "fsync_dir", real)
    assert _snapshot(_engine(tmp_path, fake_embedder)) == before
    segs = tmp_path / "idx" / "segments"
    assert len(list(segs.glob("seg-*.faiss"))) == 2  # the live one and the orphan of the failed commit
    r = _engine(tmp_path, fake_embedder).ingest([extra])  # and the next write works, removing the orphan
    assert r.added == ["new"]
    assert len(list(segs.glob("seg-*.faiss"))) == 2
    assert _engine(tmp_path, fake_embedder).ask("brand new story").citations


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
    monkeypatch.setattr(embedded, "TOMBSTONE_RATIO", 0.9)  # 1 of 3 deleted would otherwise rewrite the segment
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
    monkeypatch.setattr(embedded, "MAX_SMALL_SEGMENTS", 3)
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


def test_an_ivf_sq8_segment_in_the_store_searches_filters_deletes_reopens_and_compacts(
        tmp_path, fake_embedder, monkeypatch):
    """The whole store path of a large segment: written by a commit, re-ranked from its memory-mapped
    float vectors, filtered, tombstoned, reopened, and merged back by ``compact``."""
    monkeypatch.setenv("QA_ANN_MIN", "1500")
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


@pytest.mark.parametrize("error, says", [
    (OSError(28, "No space left on device"), "the disk is full"),
    (RuntimeError("Error in faiss::FileIOWriter::operator(): write error in seg.faiss: 319406 != 1536000"),
     "the disk is full"),
    (OSError(30, "Read-only file system"), "the file system is read-only"),
    (PermissionError(13, "Permission denied", "seg-000002.npz"), "permission denied (seg-000002.npz)"),
])
def test_a_write_that_fails_for_space_or_permission_says_so_plainly_and_keeps_the_index(
        tmp_path, fake_embedder, articles_jsonl, monkeypatch, error, says):
    e = _engine(tmp_path, fake_embedder)
    e.ingest([articles_jsonl])
    before = _snapshot(e)

    def failing(*args, **kwargs):
        raise error

    monkeypatch.setattr(segments, "write_files", failing)
    extra = write_jsonl(tmp_path / "x.jsonl", [{"id": "new", "text": "A brand new story."}])
    with pytest.raises(IndexError_) as got:
        e.ingest([extra])
    message = str(got.value)
    assert says in message and "the index is unchanged" in message and str(tmp_path / "idx") in message
    assert "MB free" in message or "free space" in message or says != "the disk is full"
    assert "319406" not in message and "Traceback" not in message
    monkeypatch.undo()
    assert _snapshot(_engine(tmp_path, fake_embedder)) == before


def test_other_write_errors_are_not_dressed_up_as_storage_errors(tmp_path, fake_embedder, articles_jsonl, monkeypatch):
    e = _engine(tmp_path, fake_embedder)
    monkeypatch.setattr(segments, "write_files", lambda *a, **k: (_ for _ in ()).throw(ValueError("a bug")))
    with pytest.raises(ValueError, match="a bug"):
        e.ingest([articles_jsonl])
