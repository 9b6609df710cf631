"""Ingest: large and malformed files, streams committed batch by batch (with the embedding double).
"""
import json
from pathlib import Path

from conftest import engine_at, snapshot, write_jsonl

_engine = engine_at
_snapshot = snapshot


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


def test_strict_a_bad_line_late_in_a_jsonl_keeps_the_whole_file_out(tmp_path, index_location, fake_embedder,
                                                                     articles_jsonl):
    e = _engine(index_location, fake_embedder)
    e.ingest([articles_jsonl])
    before = _snapshot(e)
    f = write_jsonl(tmp_path / "late.jsonl", [{"id": f"l{i}", "text": f"Story {i}."} for i in range(50)])
    with open(f, "a") as out:
        out.write('{"id": "broken", "text": \n')
    r = e.ingest([f], strict=True)
    assert len(r.failed) == 1 and "late.jsonl" in r.failed[0][1] and "late.jsonl:51:" in r.failed[0][1]
    assert not r.added and _snapshot(_engine(index_location, fake_embedder)) == before


def test_bad_lines_of_a_big_export_are_skipped_with_their_line_numbers_and_the_rest_goes_in(
        tmp_path, index_location, fake_embedder):
    f = tmp_path / "export.jsonl"
    lines = [json.dumps({"id": f"s{i}", "text": f"Story number {i} about the harbour."}) for i in range(40)]
    lines[9] = '{"id": "broken", "text": '  # line 10: cut off
    lines[19] = '["not", "an", "object"]'  # line 20
    lines[29] = json.dumps({"id": "empty", "text": "   "})  # line 30: no text
    f.write_bytes(("\n".join(lines[:34]) + "\n").encode() + b'{"id": "latin", "text": "caf\xe9"}\n'
                  + ("\n".join(lines[35:]) + "\n").encode())  # line 35: not UTF-8
    r = _engine(index_location, fake_embedder).ingest([f])
    assert [(Path(p).name, n) for p, n, _ in r.skipped] == [("export.jsonl", 10), ("export.jsonl", 20),
                                                           ("export.jsonl", 30), ("export.jsonl", 35)]
    assert "malformed JSON" in r.skipped[0][2] and "expected a JSON object" in r.skipped[1][2]
    assert "UTF-8" in r.skipped[3][2]
    assert len(r.added) == 36 and not r.failed and "36 articles" in r.summary() and "4 lines skipped" in r.summary()
    assert sorted(_engine(index_location, fake_embedder).store.articles) == sorted(f"s{i}" for i in range(40)
                                                                                 if i not in (9, 19, 29, 34))


def test_a_csv_row_with_extra_fields_is_skipped_and_a_file_of_only_bad_lines_fails(tmp_path, fake_embedder):
    csv_file = tmp_path / "rows.csv"
    csv_file.write_text("id,text\na,The first story.\nb,The second,story has one field too many\nc,The third.\n")
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{nope\n[1]\n")
    r = _engine(tmp_path, fake_embedder).ingest([csv_file, bad])
    assert sorted(r.added) == ["a", "c"] and [(Path(p).name, n) for p, n, _ in r.skipped][0] == ("rows.csv", 3)
    assert len(r.failed) == 1 and "bad.jsonl" in r.failed[0][0] and "no articles that could be read" in r.failed[0][1]


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
