"""Ingest: large and malformed files, streams committed batch by batch (with the embedding double).
"""
from conftest import write_jsonl

from qa.engine import QA


def _engine(where, fake_embedder):
    """An engine on ``where``: a test's tmp_path (its idx/ folder) or an ``index_location``."""
    loc = where if isinstance(where, str) or where.name == "idx" else where / "idx"
    return QA(location=loc, embedder=fake_embedder)


def _snapshot(engine):
    s = engine.store
    return (sorted(s.articles), sorted(s.chunks), s.n_vectors, s.generation_name)


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
