"""Checkable offsets: every citation's start/end index the text the user gave (the JSON field, the
.txt body, the text extracted from HTML), which QA.article / qa show / qa ask --with-text return, so
``users_text[start:end] == quote`` -- also for texts that normalisation changes."""
import json
import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import DEMO, SEED, needs_shared, write_jsonl
from qa import cli
from qa.engine import QA
from qa.text import normalize_text, normalize_with_map, source_span

# a story that normalisation changes in every way it can: one paragraph per line (blank lines are
# inserted), CRLF, a tab and runs of spaces, a control character, a zero-width space, NFKC forms
# (a ligature, a fraction, a full-width digit, a no-break space), curly quotes
MESSY = ("The harbour authority said on Monday that the \ufb01rst ferry would sail at 6\u00a0a.m. from "
         "Pier \uff17, after a closure of \u00bd a day.  \t It called the storm \u201cthe worst in a "
         "decade\u201d.\r\nDock workers,\x07 who had waited since dawn, cheered when the gates opened "
         "and the first passengers boarded the ferry.\u200b Officials said repairs to the damaged "
         "breakwater would cost about 40 million euros and take until the spring.\r\n"
         "The ferry company said that all cancelled tickets would be refunded within two weeks and that "
         "extra crossings would run on Saturday for those who had missed their journey.")


def _engine(tmp_path, fake_embedder):
    return QA(location=tmp_path / "idx", embedder=fake_embedder)


def _check(engine, answer, own_text) -> int:
    """Checks every citation and cited passage of ``answer``; returns how many citations it checked."""
    for c in answer.citations:
        assert own_text[c.start:c.end] == c.quote
        assert engine.article(c.doc_id).source_text == own_text == answer.article_texts[c.doc_id]
    for p in answer.passages:
        if answer.citations and p.doc_id == answer.citations[0].doc_id:
            assert own_text[p.chunk.start:p.chunk.end] == p.text
    return len(answer.citations)


@pytest.mark.parametrize("fmt", ["jsonl", "json", "csv", "txt", "html"])
def test_citations_index_the_users_own_text_for_every_loader(tmp_path, fake_embedder, fmt):
    f = tmp_path / f"story.{fmt}"
    if fmt == "jsonl":
        f.write_text(json.dumps({"id": "ferry", "text": MESSY}) + "\n")
    elif fmt == "json":
        f.write_text(json.dumps([{"id": "ferry", "text": MESSY}]))
    elif fmt == "csv":
        import csv

        with open(f, "w", newline="", encoding="utf-8") as out:
            csv.writer(out).writerows([["id", "text"], ["ferry", MESSY]])
    elif fmt == "txt":
        f.write_bytes(("---\nid: ferry\n---\n" + MESSY).encode("utf-8"))
    else:
        f.write_text(f"<html><body><article><p>{MESSY.replace(chr(13) + chr(10), '</p><p>')}</p></article></body></html>")
    e = _engine(tmp_path, fake_embedder)
    assert e.ingest([f]).added
    article = next(iter(e.articles()))
    own = article.source_text
    if fmt in ("jsonl", "json", "csv"):
        assert own == MESSY.replace("\x07", "\x07")  # the JSON field / CSV cell, byte for byte
    elif fmt == "txt":
        assert own == MESSY  # the body after the front matter
    assert own != article.text  # normalisation did change it
    checked = sum(_check(e, e.ask(q), own) for q in (
        "When would the first ferry sail?", "How much would the breakwater repairs cost?",
        "What did the storm get called?", "Who cheered when the gates opened?", "When will tickets be refunded?"))
    assert checked >= 3


def test_qa_show_and_ask_with_text_return_the_indexed_text(tmp_path, fake_embedder, capsys, monkeypatch):
    f = write_jsonl(tmp_path / "s.jsonl", [{"id": "ferry", "text": MESSY, "title": "Ferries return"}])
    _engine(tmp_path, fake_embedder).ingest([f])
    monkeypatch.setattr("qa.engine.default_embedder", lambda backend=None: fake_embedder)
    assert cli.main(["--index", str(tmp_path / "idx"), "show", "ferry", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["text"] == MESSY and shown["title"] == "Ferries return" and "original" not in shown
    assert cli.main(["--index", str(tmp_path / "idx"), "ask", "How much would the repairs cost?", "--json",
                     "--with-text"]) == 0
    out = json.loads(capsys.readouterr().out)
    for c in out["citations"]:
        assert out["articles"][c["doc_id"]]["text"][c["start"]:c["end"]] == c["quote"]
    assert cli.main(["--index", str(tmp_path / "idx"), "show", "nope"]) == 2


def test_an_index_from_before_original_texts_still_answers_and_a_reingest_upgrades_it(tmp_path, fake_embedder):
    f = write_jsonl(tmp_path / "s.jsonl", [{"id": "ferry", "text": MESSY}])
    e = _engine(tmp_path, fake_embedder)
    e.ingest([f])
    db = sqlite3.connect(tmp_path / "idx" / "index.sqlite")  # as an older release wrote it: no column
    db.execute("ALTER TABLE articles DROP COLUMN original")
    db.commit()
    db.close()
    old = _engine(tmp_path, fake_embedder)
    a = old.ask("How much would the repairs cost?")
    text = old.article("ferry").source_text
    assert text == old.store.articles["ferry"].text and all(text[c.start:c.end] == c.quote for c in a.citations)
    r = old.ingest([f])  # the next ingest adds the column and the article's own text
    assert r.updated == ["ferry"]
    new = _engine(tmp_path, fake_embedder)
    assert _check(new, new.ask("How much would the repairs cost?"), MESSY)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab .\n\r\t\u00a0\u200b\x07\ufb01\u00bd\uff17\u201c\u201dAé\u0301")),
               max_size=80))
def test_the_offset_map_reproduces_the_normalised_text_and_points_into_the_source(text):
    mapped = normalize_with_map(text)
    if mapped is None:
        return  # a composition the map cannot follow: the caller keeps normalised offsets
    norm, where = mapped
    assert norm == normalize_text(text) and len(where) == len(norm) + 1
    assert all(0 <= w <= len(text) for w in where) and where == sorted(where)
    for s in range(len(norm)):
        a, b = source_span(where, s, len(norm))
        assert 0 <= a <= b <= len(text)


@pytest.mark.slow
def test_every_demo_answer_quotes_the_demo_file_at_its_offsets(minilm, tmp_path):
    e = QA(location=tmp_path / "idx", embedder=minilm)
    e.ingest([DEMO])
    own = {json.loads(line)["id"]: json.loads(line)["text"] for line in DEMO.read_text(encoding="utf-8").splitlines()}
    questions = [json.loads(line) for line in (DEMO.parent.parent / "eval" / "sets" / "demo.jsonl").read_text().splitlines()]
    checked = 0
    for q in questions:
        a = e.ask(q["question"], as_of=q.get("as_of"))
        for c in a.citations:
            assert own[c.doc_id][c.start:c.end] == c.quote, (q["question"], c.quote)
            checked += 1
    assert checked >= 40


@pytest.mark.slow
@needs_shared("seed", "corpus.jsonl")
def test_the_seed_answer_quotes_the_seed_file_at_its_offsets(minilm, tmp_path):
    e = QA(location=tmp_path / "idx", embedder=minilm)
    e.ingest([SEED])
    own = json.loads(SEED.read_text(encoding="utf-8").splitlines()[0])["text"]
    a = e.ask("Who will mediate the Astana talks?")
    assert a.citations and "Russia, Turkey" in a.text
    for c in a.citations:
        assert own[c.start:c.end] == c.quote
