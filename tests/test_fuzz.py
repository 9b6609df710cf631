"""Hostile input: 500+ generated files (tests/fuzz_files.py) through ``qa ingest`` and the app's
upload, and property-based tests (Hypothesis) of the loaders, the sentence splitter and the chunker.

Every file must end as articles or as one clear line naming it: never a traceback, never a hang,
and the failures leave what was indexed before exactly as it was."""
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import ROOT
from qa.testing.crash import CHILD, open_index
from fuzz_files import generate

PER_FILE_SECONDS = 60  # a hang detector, far above the slowest file (about 11 s: a 10 MB run-on line)
BASE = [{"id": f"base-{i}", "title": f"Base {i}", "source": "base.example", "published": "2024-02-01",
         "text": f"Base article {i} says the ferry to Isla Gorrion runs {i} times a day. It is run by the port."}
        for i in range(3)]


def _fingerprint(idx: Path) -> dict:
    store = open_index(idx)
    counts = store.chunk_counts()
    out = {}
    for a in store.articles.values():
        ids = store.chunk_ids(a.id)
        assert len(ids) == counts.get(a.id, 0)
        for c in ids[:3] + ids[-3:]:  # chunks are spans of their article (the first and last few)
            ch = store.chunks[c]
            assert a.text[ch.start:ch.end] == ch.text and ch.text
        out[a.id] = (a.text, a.origin, counts.get(a.id, 0))
    assert sum(counts.values()) == len(store.chunks)
    return out


def _accounted(files: list[Path], report: dict, state: dict) -> list[Path]:
    """Generated files that neither failed with a reason nor gave an article (should be none)."""
    failed = {Path(f["file"]).name for f in report["failed"]}
    gave = {Path(origin.rsplit(":", 1)[0] if origin.rsplit(":", 1)[-1].isdigit() else origin).name
            for _, origin, _ in state.values()}
    dups = {Path(d["origin"].rsplit(":", 1)[0] if d["origin"].rsplit(":", 1)[-1].isdigit() else d["origin"]).name
            for d in report["duplicates"]}
    return [f for f in files if not f.is_dir() and f.name not in failed | gave | dups]


@pytest.mark.slow
def test_500_hostile_files_through_qa_ingest(tmp_path):
    folder = tmp_path / "in"
    files = generate(folder, 500, seed=int(os.environ.get("QA_FUZZ_SEED", "0")))
    assert len(files) >= 500
    idx = tmp_path / "idx"
    base = tmp_path / "base.jsonl"
    base.write_text("".join(json.dumps(r) + "\n" for r in BASE), encoding="utf-8")
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    assert subprocess.run([*CHILD, "--index", str(idx), "ingest", "--quiet", str(base)], env=env,
                          cwd=ROOT, capture_output=True, timeout=120).returncode == 0
    before = _fingerprint(idx)
    t0 = time.perf_counter()
    r = subprocess.run([*CHILD, "--index", str(idx), "ingest", "--quiet", "--strict", "--json", str(folder)],
                       env=env, cwd=ROOT, capture_output=True, text=True, timeout=PER_FILE_SECONDS * 10)
    took = time.perf_counter() - t0
    assert "Traceback" not in r.stderr and r.returncode == 0, r.stderr[-2000:]
    report = json.loads(r.stdout.split("\n", 1)[1])  # after the child's "ready" line
    for f in report["failed"]:
        reason = f["reason"]
        assert "\n" not in reason and Path(f["file"]).name in reason and len(reason) < 600, reason[:600]
        assert "Traceback" not in reason and "Error:" not in reason.split(":", 1)[0]
    after = _fingerprint(idx)
    for doc_id, row in before.items():  # what was there is untouched
        assert after[doc_id] == row
    assert not _accounted(files, report, after)
    assert len(report["failed"]) > 200 and len(after) > len(before) + 100  # both outcomes really happened
    print(f"{len(files)} files in {took:.0f} s: {len(report['failed'])} failed with a reason, "
          f"{len(after) - len(before)} articles added, {len(report['duplicates'])} duplicates")


@pytest.mark.slow
def test_hostile_uploads_through_the_app(tmp_path, minilm):
    """The same kind of files through the app's upload API (regular files only: an upload is a
    copy), 20 per request: every file named in the reply, no traceback, no server path.
    ``QA_FUZZ_APP_FILES`` sets how many files are generated (default 200)."""
    from gradio_client import Client, handle_file

    from qa.app.layout import build_app
    from qa.app.library import safe_upload_name
    from qa.engine import QA
    from qa.loaders import make_article

    n = int(os.environ.get("QA_FUZZ_APP_FILES", "200"))  # 500 for the full run (README)
    files = [f for f in generate(tmp_path / "in", n, seed=1, long_lines=0) if f.is_file() and not f.is_symlink()]
    idx = tmp_path / "idx"
    engine = QA(location=idx, embedder=minilm)
    engine.ingest(articles=[make_article(r, "base", r["id"]) for r in BASE])
    before = {a.id: a.text for a in engine.articles()}
    demo, app_engine = build_app(str(idx), feedback_path=str(tmp_path / "fb.jsonl"),
                                 upload_dir=str(tmp_path / "uploads"))
    demo.queue().launch(server_name="127.0.0.1", prevent_thread_lock=True, quiet=True)
    named: set[str] = set()  # files a Failed or Duplicate line names
    gave: set[str] = set()
    try:
        client = Client(demo.local_url, verbose=False)
        for i in range(0, len(files), 20):
            batch = files[i:i + 20]
            log = client.predict([handle_file(str(f)) for f in batch], "", "newest first", api_name="/upload")[0]
            assert "Traceback" not in log and str(tmp_path) not in log and "/tmp/" not in log, log[:500]
            assert log.startswith("**Done**") or log.startswith("**Failed**"), log[:500]
            named |= set(re.findall(r"^\*\*(?:Failed|Duplicate)\*\* ([^:\s]+):", log, re.M))
            # files that gave articles (read after each request: a later file may update an article)
            gave |= {Path(a.origin).name.split(":")[0] for a in app_engine.articles()}
    finally:
        demo.close()
    articles = app_engine.articles()
    missing = [f.name for f in files if safe_upload_name(f.name) not in named | gave]
    assert not missing, missing[:10]  # every file: articles, or a line that names it
    after = {a.id: a.text for a in articles}
    assert all(after[k] == v for k, v in before.items())
    assert len(after) > len(before)


# ---- properties (Hypothesis) -------------------------------------------------------------------
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=400) | st.lists(
    st.sampled_from(list("ab .!?\n\t\"'(") + ["Mr.", "U.S.", "e.g.", "  ", "...", "Astana", "1.5"]),
    max_size=120).map("".join)


@settings(max_examples=300, deadline=None)
@given(TEXT)
def test_sentence_spans_cover_the_text_in_order(text):
    from qa.text import sentence_spans

    spans = sentence_spans(text)
    covered = set()
    last = 0
    for s, e in spans:
        assert last <= s < e <= len(text)
        assert not text[s].isspace() and not text[e - 1].isspace()
        covered.update(range(s, e))
        last = e
    assert all(i in covered for i, ch in enumerate(text) if not ch.isspace())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TEXT.filter(lambda t: t.strip()), st.integers(32, 300))
def test_chunks_are_spans_within_the_budget(text, max_tokens):
    from qa.testing.fakes import HashEmbedder

    from qa.chunking import chunk_article
    from qa.config import ChunkingConfig
    from qa.types import Article

    emb = HashEmbedder()
    chunks = chunk_article(Article(id="x", text=text), emb, ChunkingConfig(max_tokens=max_tokens))
    for c in chunks:
        assert text[c.start:c.end] == c.text and c.text.strip()
        assert c.n_tokens <= max_tokens
    assert all(a.start < b.start for a, b in zip(chunks, chunks[1:]))


JSONISH = st.recursive(st.none() | st.booleans() | st.floats(allow_nan=True) | st.integers() | st.text(max_size=30),
                       lambda kids: st.lists(kids, max_size=4) | st.dictionaries(
                           st.sampled_from(["id", "title", "text", "published", "url", "source", "x"]), kids, max_size=6),
                       max_leaves=20)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(JSONISH, st.sampled_from([".json", ".jsonl"]))
def test_any_json_loads_or_fails_clearly(tmp_path, value, ext):
    from qa.errors import InputError
    from qa.loaders import load_file

    p = tmp_path / f"f{ext}"
    p.write_text(json.dumps(value) if ext == ".json" else json.dumps(value) + "\n", encoding="utf-8")
    try:
        for a in load_file(p):
            assert a.id and a.text.strip()
    except InputError as e:
        assert str(p) in str(e) and "\n" not in str(e)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=3000), st.sampled_from([".txt", ".md", ".html", ".json", ".jsonl", ".csv"]))
def test_any_bytes_load_or_fail_clearly(tmp_path, data, ext):
    from qa.errors import InputError
    from qa.loaders import load_file

    p = tmp_path / f"f{ext}"
    p.write_bytes(data)
    try:
        for a in load_file(p):
            assert a.text.strip()
    except InputError as e:
        assert str(p) in str(e) and "\n" not in str(e)
