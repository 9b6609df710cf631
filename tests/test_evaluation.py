import io
import json
import subprocess
import sys

import pytest
from conftest import DEMO, ROOT, SHARED, needs_shared

from qa.errors import InputError
from qa.evaluation import Question, contains_answer, corpus_index_dir, load_questions, run
from qa.evaluation.datasets import remap_evidence, roundups, shift_as_of
from qa.evaluation.metrics import faithfulness, regressions
from qa.support import SupportScorer
from qa.types import Answer, Chunk, Citation, Passage
from qa.verify import cited_sentences

DEMO_SET = ROOT / "eval" / "sets" / "demo.jsonl"
DEMO_BASELINE = ROOT / "eval" / "baselines" / "demo.json"


def test_malformed_question_line_is_rejected_with_its_number(tmp_path):
    f = tmp_path / "q.jsonl"
    f.write_text('{"question": "ok?", "answers": ["a"]}\n{"question": 5}\n')
    with pytest.raises(InputError) as e:
        load_questions(f)
    assert e.value.line == 2
    f.write_text('{"question": "ok?"}\n{broken\n')
    with pytest.raises(InputError, match="malformed JSON") as e:
        load_questions(f)
    assert e.value.line == 2


def test_demo_set_is_well_formed_and_varied():
    qs = load_questions(DEMO_SET)
    kinds = {json.loads(line)["kind"] for line in DEMO_SET.read_text().splitlines()}
    assert len(qs) >= 40
    assert {"factual", "numeric", "date", "who said", "multi-article", "unanswerable", "date matters"} <= kinds
    assert sum(not q.answerable for q in qs) >= 5


def test_answer_matching_is_normalised_and_whole_word():
    assert contains_answer("They met in São Paulo, Brazil.", ["sao paulo"])
    assert contains_answer("The U.S. embassy", ["US"]) is False  # "u s" is not "us"
    assert not contains_answer("Iranian officials", ["Iran"])
    assert contains_answer("Talks with the Iran team", ["Iran"])
    # a possessive contains its word (typographic or plain apostrophe), an apostrophe name still matches
    assert contains_answer("Myanmar’s military committed genocide", ["Myanmar"])
    assert contains_answer("New York City's mayor announced it", ["New York City"])
    assert contains_answer("Conan O’Brien hosted", ["O'Brien"])
    assert not contains_answer("Myanmarese officials", ["Myanmar"])


def test_shifting_as_of_asks_the_same_questions_later():
    qs = [Question("a", "What happened this week?", ["x"], True, [], "2020-01-03"),
          Question("b", "Undated?", ["y"], True, []), Question("c", "Timestamped?", [], False, [], "2021-12-20T10:00:00")]
    moved = shift_as_of(qs, 30)
    assert [q.as_of for q in moved] == ["2020-02-02", None, "2022-01-19"]
    assert [q.as_of for q in shift_as_of(qs, -3)] == ["2019-12-31", None, "2021-12-17"]
    assert qs[0].as_of == "2020-01-03" and moved[0].question == qs[0].question  # a copy; the rest unchanged
    with pytest.raises(InputError, match="not a date"):
        shift_as_of([Question("d", "?", [], False, [], "last week")], 30)


def test_roundups_join_one_source_and_days_short_articles_and_the_evidence_follows(tmp_path):
    """The long-article stress test: short articles of one source and day become multi-topic roundups
    (in file order, at most N paragraphs each); long articles and other days stay apart."""
    from conftest import write_jsonl

    recs = [{"id": f"a{i}", "source": "Wire", "published": "2021-03-05", "text": f"Story {i} happened today."}
            for i in range(5)]
    recs += [{"id": "b", "source": "Other Paper", "published": "2021-03-05", "text": "A story of another paper."},
             {"id": "c", "source": "Wire", "published": "2021-03-12", "text": "Next week's story."},
             {"id": "long", "source": "Wire", "published": "2021-03-05", "text": "word " * 250}]
    corpus = write_jsonl(tmp_path / "corpus.jsonl", recs)
    out, mapping = roundups(corpus, tmp_path / "cache", max_paragraphs=3)
    rows = {r["id"]: r for r in map(json.loads, out.read_text().splitlines())}
    assert sorted(rows) == ["long", "roundup-Other-Paper-2021-03-05-1", "roundup-Wire-2021-03-05-1",
                            "roundup-Wire-2021-03-05-2", "roundup-Wire-2021-03-12-1"]
    first = rows["roundup-Wire-2021-03-05-1"]
    assert first["text"] == "Story 0 happened today.\n\nStory 1 happened today.\n\nStory 2 happened today."
    assert first["published"] == "2021-03-05" and first["source"] == "Wire"
    assert mapping["a4"] == "roundup-Wire-2021-03-05-2" and "long" not in mapping
    q = Question("q", "What happened?", ["Story 4"], True, ["a4", "a3", "gone"], "2021-03-06")
    assert remap_evidence([q], mapping)[0].evidence_ids == ["roundup-Wire-2021-03-05-2", "gone"]
    assert roundups(corpus, tmp_path / "cache", max_paragraphs=3)[0] == out  # cached by the corpus's bytes


def test_a_folder_corpus_index_is_keyed_by_its_texts_and_the_chunking(tmp_path):
    """chunking-eval's corpora folder: another chunking (or another text) must not reuse the cached index."""
    from qa.config import ChunkingConfig

    d = tmp_path / "corpora"
    d.mkdir()
    (d / "one.md").write_text("Some text.")
    a = corpus_index_dir(d, tmp_path, ChunkingConfig(), "m")
    assert a == corpus_index_dir(d, tmp_path, ChunkingConfig(), "m") and a.name.startswith("corpora-spans-")
    assert a != corpus_index_dir(d, tmp_path, ChunkingConfig(paragraph_fill=None), "m")
    (d / "one.md").write_text("Other text.")
    assert a != corpus_index_dir(d, tmp_path, ChunkingConfig(), "m")


def test_a_corpus_index_is_built_again_when_the_text_normalisation_or_the_chunker_changes(tmp_path, monkeypatch):
    """The loader's normalisation decides the stored texts (one paragraph per line gets blank lines):
    a cached index built under another normalisation must not be reused."""
    import qa.evaluation.datasets as ev
    from qa.config import ChunkingConfig

    f = tmp_path / "c.jsonl"
    f.write_text('{"text": "Some text."}\n')
    a = corpus_index_dir(f, tmp_path, ChunkingConfig(), "m")
    monkeypatch.setattr(ev, "TEXT_VERSION", ev.TEXT_VERSION + 1)
    b = corpus_index_dir(f, tmp_path, ChunkingConfig(), "m")
    monkeypatch.setattr(ev, "CHUNKER_VERSION", ev.CHUNKER_VERSION + 1)  # and so do the chunker's rules
    assert len({a, b, corpus_index_dir(f, tmp_path, ChunkingConfig(), "m")}) == 3


def test_question_set_counts_repeats_and_questions_labelled_both_ways():
    import io

    from qa.evaluation import summarize
    from qa.evaluation.datasets import question_set
    from qa.evaluation.report import print_table

    qs = [Question("a", "Who won?", ["x"], True, ["d1"], "2020-01-03"),
          Question("a", "Who  won?", [], False, [], "2020-01-03"),  # the same question, labelled unanswerable
          Question("a", "Who won?", ["x"], True, ["d1"], "2020-01-03"),
          Question("b", "Who won?", ["y"], True, ["d2"], "2021-05-01"),  # asked on another day: another question
          Question("c", "Where?", [], False, [], None)]
    got = question_set(qs)
    assert got == {"distinct": 3, "repeated_rows": 2, "labelled_both_ways": 1,
                   "rows_labelled_both_ways": {"answerable": 2, "unanswerable": 1}, "examples": ["a"]}
    assert question_set(qs[3:])["labelled_both_ways"] == 0 and question_set(qs[3:])["repeated_rows"] == 0
    metrics = summarize([])
    metrics["question_set"] = got
    out = io.StringIO()
    print_table(metrics, file=out)
    assert "1 labelled both answerable and unanswerable (2 + 1 rows, e.g. a)" in out.getvalue()


def test_cited_sentences_parse_markers():
    assert cited_sentences("One fact. [1] Two facts. [2][3] Loose end.") == [
        ("One fact.", [1]), ("Two facts.", [2, 3]), ("Loose end.", [])]


def _answer(text, quote):
    chunk = Chunk(id=1, doc_id="d", start=0, end=len(quote), text=quote, n_tokens=10)
    p = Passage(chunk=chunk, title="t", source="s", url="", published="", score=1.0, rank=1)
    c = Citation(n=1, doc_id="d", title="t", url="", published="", source="s", quote=quote, start=0,
                 end=len(quote), passage_rank=1)
    return Answer(question="q", text=text, citations=[c], abstained=False, passages=[p])


def test_faithfulness_counts_a_miscited_sentence():
    quote = "The talks will be mediated by Russia, Turkey and Iran."
    good = faithfulness(_answer(f"{quote} [1]", quote), SupportScorer())
    bad = faithfulness(_answer("The talks will be mediated by France. [1] Uncited claim.", quote), SupportScorer())
    assert good == {"sentences": 1, "supported": 1, "citations": 1, "citations_ok": 1, "with_supporting_citation": 1}
    assert bad["sentences"] == 2 and bad["supported"] == 0 and bad["citations_ok"] == 0


@pytest.fixture(scope="module")
def demo_eval_engine(tmp_path_factory, minilm):
    from qa.engine import QA

    e = QA(location=tmp_path_factory.mktemp("ev") / "idx", embedder=minilm)
    e.ingest([DEMO])
    return e


@pytest.mark.slow
def test_demo_set_meets_its_baseline(demo_eval_engine):
    metrics, rows = run(demo_eval_engine, load_questions(DEMO_SET))
    baseline = json.loads(DEMO_BASELINE.read_text())
    assert regressions(metrics, baseline, 0.01) == []
    assert len(rows) == metrics["n_questions"]


@pytest.mark.slow
def test_regression_gate_fails_when_retrieval_is_weakened(demo_eval_engine, monkeypatch):
    retriever = demo_eval_engine.retriever
    real = retriever.search
    monkeypatch.setattr(retriever, "search", lambda *a, **kw: real(*a, **kw)[2:])  # drop the two best passages
    metrics, _ = run(demo_eval_engine, load_questions(DEMO_SET))
    worse = regressions(metrics, json.loads(DEMO_BASELINE.read_text()), 0.01)
    assert any(w.startswith("retrieval.hit@1") for w in worse), worse
    assert any(w.startswith("answer.accuracy") for w in worse), worse


@pytest.mark.slow
def test_cli_eval_writes_report_and_gates(tmp_path):
    strict = tmp_path / "strict.json"
    base = json.loads(DEMO_BASELINE.read_text())
    base["retrieval"]["mrr@10"] = 1.5  # impossible to reach: must be reported as a regression
    strict.write_text(json.dumps(base))
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "qa.cli", "eval", str(DEMO_SET), "--corpus", str(DEMO), "--out", str(out),
           "--limit", "12", "--quiet", "--compare", "dense,lexical,lead,passage", "--baseline", str(strict),
           "--shift-as-of", "30"]
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=600,
                       env={**__import__("os").environ, "QA_EVAL_CACHE": str(tmp_path / "cache")})
    assert r.returncode == 1, r.stderr
    assert "retrieval.mrr@10" in r.stderr
    m = json.loads((out / "metrics.json").read_text())
    assert set(m["compare"]) == {"dense", "lexical"}
    assert set(m["compare_answers"]) == {"lead", "passage"}
    assert {"mean_words", "p95_words", "first_citation_gold"} <= set(m["answer"])
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert len(rows) == 12 and m["settings"]["shift_as_of_days"] == 30
    assert {r["id"]: r["as_of"] for r in rows}["demo-001"] == "2017-02-19"  # asked 2017-01-20, moved 30 days
    page = (out / "report.html").read_text()
    assert page.count("data:image/png;base64,") == 4 and "Abstention trade-off" in page
    assert "Answers compared with trivial baselines" in page
    t = m["tradeoff"]
    assert t["operating_threshold"] == m["settings"]["abstain_threshold"]
    assert [p["false_abstention"] for p in t["curve"]] == sorted(p["false_abstention"] for p in t["curve"])
    answered = [p for p in t["curve"] if p.get("coverage") is not None]  # only where the answers were written
    assert answered and answered[0]["threshold"] >= t["operating_threshold"] > answered[0]["threshold"] - 0.01
    assert set(m["by_date_half"]) == {"earlier", "later"}
    assert sum(h["n"] for h in m["by_date_half"].values()) == sum(1 for r in rows if r["as_of"])


@needs_shared("chunking-eval")
@pytest.mark.slow
def test_span_recall_on_chunking_eval(tmp_path, minilm):
    from qa.engine import QA
    from qa.evaluation.datasets import load_chunking_corpora
    from qa.evaluation.runner import span_recall

    e = QA(location=tmp_path / "idx", embedder=minilm)
    arts = [a for a in load_chunking_corpora(SHARED / "chunking-eval" / "corpora") if a.source == "state_of_the_union"]
    e.ingest(articles=arts)
    qfile = tmp_path / "q.jsonl"
    lines = [line for line in (SHARED / "chunking-eval" / "questions.jsonl").read_text().splitlines()
             if '"state_of_the_union"' in line][:30]
    qfile.write_text("\n".join(lines) + "\n")
    r = span_recall(e, qfile, SHARED / "chunking-eval" / "corpora", k=5)
    assert r["n_questions"] == 30
    assert r["char_recall"] > 0.5
    assert r["answer_span_hit"] > 0.5  # the answer quotes a gold span, not only retrieves one (0.77 here)


def test_answer_length_and_first_citation_metrics():
    from qa.evaluation import Question
    from qa.evaluation.baselines import baseline_answers, compare_answers
    from qa.evaluation.metrics import answer_words, score_answer

    quote = "The talks will be mediated by Russia, Turkey and Iran. Rebels attended."
    a = _answer("The talks will be mediated by Russia, Turkey and Iran. [1]", quote)
    q = Question(id="q", question="Who will mediate?", answers=["Russia"], answerable=True, evidence_ids=["d"])
    row = score_answer(q, a, SupportScorer())
    assert row["words"] == 10 and row["first_citation_gold"] is True
    assert answer_words("One two. [1] Three [2][3]") == 3
    other = Question(id="q2", question="Who?", answers=["Rebels"], answerable=True, evidence_ids=["elsewhere"])
    assert score_answer(other, a, SupportScorer())["first_citation_gold"] is False
    b = baseline_answers(other, a)
    assert b["lead"] == {"correct": False, "first_citation_gold": False, "words": 10}
    assert b["passage"]["correct"] is True and b["passage"]["words"] == 12
    rows = [{"answerable": True, "baselines": b}]
    assert compare_answers(rows, ["lead", "passage"])["passage"]["accuracy"] == 1.0


def test_gate_treats_answer_length_relatively():
    base = {"answer": {"mean_words": 20.0, "first_citation_gold": 0.9}}
    assert regressions({"answer": {"mean_words": 20.1, "first_citation_gold": 0.9}}, base, 0.01) == []
    worse = regressions({"answer": {"mean_words": 25.0, "first_citation_gold": 0.85}}, base, 0.01)
    assert any(w.startswith("answer.mean_words") for w in worse)
    assert any(w.startswith("answer.first_citation_gold") for w in worse)


def test_cli_rejects_unknown_compare_baseline(tmp_path):
    r = subprocess.run([sys.executable, "-m", "qa.cli", "eval", str(DEMO_SET), "--corpus", str(DEMO),
                        "--compare", "lead,foo"], capture_output=True, text=True, cwd=ROOT, timeout=300,
                       env={**__import__("os").environ, "QA_EVAL_CACHE": str(tmp_path / "cache")})
    assert r.returncode == 2
    assert "unknown baseline 'foo'" in r.stderr and "Traceback" not in r.stderr
    r = subprocess.run([sys.executable, "-m", "qa.cli", "eval", str(DEMO_SET), "--corpus", str(DEMO),
                        "--roundups", "1"], capture_output=True, text=True, cwd=ROOT, timeout=300,
                       env={**__import__("os").environ, "QA_EVAL_CACHE": str(tmp_path / "cache")})
    assert r.returncode == 2 and "--roundups: joins at least 2 articles" in r.stderr, r.stderr


def test_calibration_fits_on_the_earlier_half_and_reports_the_later(tmp_path, capsys):
    import importlib.util

    spec = importlib.util.spec_from_file_location("calibrate", ROOT / "eval" / "calibrate.py")
    cal = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cal)
    rows = []
    for i in range(40):  # earlier half: confidences separate at 0.5; later half: drifted down by 0.1
        late = i >= 20
        rows.append({"id": f"a{i}", "as_of": f"2020-{2 if late else 1:02d}-{i % 20 + 1:02d}", "answerable": True,
                     "confidence": 0.6 + (i % 5) * 0.05 - (0.1 if late else 0.0)})
        rows.append({"id": f"u{i}", "as_of": f"2020-{2 if late else 1:02d}-{i % 20 + 1:02d}", "answerable": False,
                     "confidence": 0.3 + (i % 5) * 0.03 - (0.1 if late else 0.0)})
    f = tmp_path / "results.jsonl"
    f.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = cal.main([str(f)])
    assert 0.42 < out["threshold"] <= 0.6
    assert out["earlier"]["false_abstention"] == 0.0 and out["earlier"]["correct_rejection"] == 1.0
    assert out["later"]["n"] == 40 and out["later"]["correct_rejection"] == 1.0
    assert "later half (held out)" in capsys.readouterr().out


def test_answers_are_also_measured_where_the_evidence_article_is_in_the_corpus():
    """A question whose evidence article is not indexed can only be answered by chance: metrics.json
    splits the answerable questions by it (news-dev: 170 of 2,040), printed beside the rest."""
    from qa.evaluation import summarize
    from qa.evaluation.baselines import gold_in_corpus
    from qa.evaluation.report import print_table

    def row(in_corpus, correct, rank):
        return {"answerable": True, "gold_in_corpus": in_corpus, "correct": correct, "grounded": correct,
                "first_citation_gold": correct and in_corpus, "gold_rank": rank, "abstained": False, "words": 5,
                "baselines": {"lead": {"correct": correct, "first_citation_gold": correct, "words": 5},
                              "passage": {"correct": True, "first_citation_gold": True, "words": 9}},
                "faithfulness": {"sentences": 1, "supported": 1, "citations": 1, "citations_ok": 1,
                                 "with_supporting_citation": 1}, "latency_ms": 1.0, "confidence": 0.9}
    rows = [row(True, True, 1), row(True, False, 7), row(False, False, None), row(None, True, None)]
    split = gold_in_corpus(rows)
    assert split["present"]["n"] == 2 and split["present"]["accuracy"] == 0.5 and split["present"]["hit@5"] == 0.5
    assert split["missing"] == {"n": 1, "hit@5": 0.0, "accuracy": 0.0, "first_citation_gold": 0.0,
                                "false_abstention": 0.0, "lead_accuracy": 0.0, "passage_accuracy": 1.0}
    assert gold_in_corpus(rows[:2]) is None  # nothing missing: no split
    metrics = {**summarize(rows), "gold_in_corpus": split}
    buf = io.StringIO()
    print_table(metrics, file=buf)
    out = buf.getvalue()
    assert "in the corpus        2  0.500  0.500" in out and "not in it            1" in out


def test_a_cached_index_left_part_built_is_built_again(tmp_path, monkeypatch, capsys):
    """An ingest into the eval cache stopped part-way (a large ingest commits batch by batch) left
    part of the corpus: the next run must not measure on it."""
    from qa import cli
    from qa.engine import QA
    from qa.evaluation.runner import COMPLETE

    monkeypatch.setenv("QA_EVAL_CACHE", str(tmp_path / "cache"))
    args = ["eval", str(DEMO_SET), "--corpus", str(DEMO), "--limit", "3", "--quiet", "--no-gate"]
    assert cli.main(args) == 0
    (index,) = [p for p in (tmp_path / "cache").iterdir() if (p / COMPLETE).exists()]
    (index / COMPLETE).unlink()
    QA(location=index).delete(["demo-doomsday-clock-2017"])  # as if the ingest had stopped before it
    assert len(QA(location=index).articles()) == 21
    assert cli.main(args) == 0
    assert len(QA(location=index).articles()) == 22 and (index / COMPLETE).exists()


@pytest.mark.slow
def test_corroboration_is_measured_on_the_demo_set(demo_eval_engine):
    """The demo's Rigopiano questions: four outlets hold the toll (one a copy), one report disputes it
    (labelled), and no other answer may report a conflict."""
    from qa.evaluation.report import corroboration_lines

    metrics, rows = run(demo_eval_engine, load_questions(DEMO_SET))
    k = metrics["corroboration"]
    assert k["conflict_set"]["questions"] == 2 and k["conflict_set"]["recall"] == 1.0
    assert k["conflict_set"]["precision"] == 1.0
    assert k["false_conflicts"]["conflicts"] == 0 and k["false_conflicts"]["answers"] >= 40
    assert k["correct_answers"]["n"] == 2 and k["correct_answers"]["recall"] >= 2 / 3
    row = next(r for r in rows if r["id"] == "demo-053")
    assert set(row["corroboration"]["outlets"]) == {"Demo Wire", "Mountain Courier", "Adriatic Herald"}
    assert row["corroboration"]["conflict"]["values"] == ["29", "24"] or sorted(
        row["corroboration"]["conflict"]["values"]) == ["24", "29"]
    printed = "\n".join(corroboration_lines(k))
    assert "conflict set   2 questions" in printed and "0 of" in printed and "correct ones" in printed


@needs_shared("news-dev")
def test_the_conflict_set_alters_or_rewords_one_answer_article_per_question(tmp_path):
    sys.path.insert(0, str(ROOT / "eval"))
    import make_conflict_set

    assert make_conflict_set.main([str(SHARED / "news-dev"), "--out", str(tmp_path), "--n", "10", "--seed", "3"]) == 0
    corpus = {json.loads(x)["id"]: json.loads(x) for x in (tmp_path / "corpus.jsonl").read_text().splitlines()}
    labelled = [json.loads(x) for x in (tmp_path / "questions.jsonl").read_text().splitlines()]
    assert len(labelled) == 10 and sum(q["conflict"]["value"] is not None for q in labelled) == 5
    for q in labelled:
        lab = q["conflict"]
        copy, original = corpus[lab["doc_id"]], corpus[lab["original"]]
        assert copy["source"] != original["source"] and copy["published"] == original["published"]
        gold = next(g for g in q["answers"] if g in original["text"])
        if lab["value"] is not None:  # the gold answer replaced by a wrong choice, nothing else changed
            assert copy["text"].replace(lab["value"], gold) == original["text"] != copy["text"]
            assert make_conflict_set._word(copy["text"], gold) is None  # not one whole-word gold left
        else:  # the same value in other words
            assert gold in copy["text"] and copy["text"] != original["text"]


def test_show_corroboration_draws_answers_by_a_seed(tmp_path):
    sys.path.insert(0, str(ROOT / "eval"))
    import show_corroboration

    def row(i, outlets, conflict=None):
        return {"question": f"Q{i}?", "answer": f"A{i}. [1]", "abstained": False,
                "corroboration": {"value": str(i), "outlets": outlets, "conflict": conflict,
                                  "listed": [{"doc_id": "d", "source": "b", "copy_of": "", "has_gold": True}]}}
    rows = [row(i, ["a", "b"] if i % 2 else ["a"], {"summary": "Sources disagree: 1 | 2"} if i == 3 else None)
            for i in range(8)] + [{"question": "Q?", "answer": "", "abstained": True, "corroboration": None}]
    assert [r["question"] for r in show_corroboration.pick(rows, 3, 1, "several")] == \
        [r["question"] for r in show_corroboration.pick(rows, 3, 1, "several")]
    assert all(len(r["corroboration"]["outlets"]) > 1 for r in show_corroboration.pick(rows, 10, 1, "several"))
    assert [r["question"] for r in show_corroboration.pick(rows, 10, 1, "conflict")] == ["Q3?"]
    text = show_corroboration.table(show_corroboration.pick(rows, 10, 1, "conflict"))
    assert "Sources disagree: 1 \\| 2" in text and text.count("\n") == 2


def test_windows_baseline_ranks_articles_by_their_best_window(tmp_path, fake_embedder, monkeypatch):
    """--compare windows: plain dense retrieval over consecutive 180-word windows of each article; the
    windows' vectors are embedded once and cached (a second run embeds nothing)."""
    from qa.engine import QA
    from qa.evaluation.baselines import compare_retrievers, windows

    assert [len(w.split()) for w in windows(" ".join(["w"] * 400))] == [180, 180, 40]
    monkeypatch.setenv("QA_EVAL_CACHE", str(tmp_path / "cache"))
    filler = " ".join(f"Unrelated filler sentence number {i} about the weather." for i in range(40))
    corpus = tmp_path / "c.jsonl"
    corpus.write_text("\n".join(json.dumps(r) for r in [
        {"id": "harbour", "title": "t", "text": filler + " The harbour expansion budget was approved." * 12},
        {"id": "roses", "title": "t", "text": filler.replace("weather", "roses")}]))
    e = QA(location=tmp_path / "idx", embedder=fake_embedder)
    e.ingest([corpus])
    qs = [Question(id="1", question="harbour expansion budget approved", answers=["approved"], answerable=True,
                   evidence_ids=["harbour"])]
    first = compare_retrievers(e, qs, ["windows"], k=1)
    assert first["windows"]["hit@1"] == 1.0
    assert len(list((tmp_path / "cache").glob("windows180-*.npy"))) == 1
    calls = []
    monkeypatch.setattr(fake_embedder, "encode", lambda texts, progress=None, _f=fake_embedder.encode:
                        calls.append(len(texts)) or _f(texts))
    compare_retrievers(e, qs, ["windows"], k=1)
    assert calls == [1]  # only the question: the windows came from the cache


def test_the_judges_checks_are_counted_with_their_cost():
    from qa.evaluation.runner import judge_metrics

    rows = [{"judged": False, "answerable": False, "judge_ms": 400.0},
            {"judged": False, "answerable": True, "judge_ms": 600.0},
            {"judged": True, "answerable": True, "judge_ms": 500.0}]
    j = judge_metrics(rows, total=12)
    assert (j["asked"], j["said_no"], j["said_no_answerable"]) == (3, 2, 1)
    assert j["share"] == 0.25 and j["ms_p50"] == 500.0


def test_the_readers_readings_are_counted_with_how_often_its_reply_held_the_gold():
    from qa.evaluation.runner import reader_metrics

    rows = [{"read": "Buffalo Bills", "answerable": True, "gold": ["Buffalo Bills"], "read_ms": 1800.0},
            {"read": "Bills", "answerable": True, "gold": ["Buffalo Bills"], "read_ms": 2000.0},
            {"read": "none", "answerable": False, "gold": [], "read_ms": 1000.0}]
    r = reader_metrics(rows, total=6)
    assert (r["asked"], r["answerable"], r["reply_gold"]) == (3, 2, 1)
    assert r["share"] == 0.5 and r["ms_p50"] == 1800.0


def test_the_judges_operating_point_is_where_the_answers_were_not_on_the_confidence_curve():
    from qa.evaluation.metrics import tradeoff

    # all four are above the threshold 0.3; the judge refused one answerable and one unanswerable question
    rows = [{"answerable": True, "confidence": 0.9, "abstained": False, "correct": True},
            {"answerable": True, "confidence": 0.4, "abstained": True, "correct": False, "judged": False},
            {"answerable": False, "confidence": 0.35, "abstained": True, "correct": None, "judged": False},
            {"answerable": False, "confidence": 0.8, "abstained": False, "correct": None, "judged": True}]
    t = tradeoff(rows, 0.3)
    on_curve = next(p for p in t["curve"] if p["threshold"] == 0.3)
    assert (on_curve["false_abstention"], on_curve["correct_rejection"]) == (0.0, 0.0)
    assert t["with_judge"] == {"false_abstention": 0.5, "correct_rejection": 0.5, "coverage": 0.5,
                               "answered_accuracy": 1.0}
    assert "with_judge" not in tradeoff([{k: v for k, v in r.items() if k != "judged"} for r in rows], 0.3)
