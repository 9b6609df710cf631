"""The qa command: ingest, ask (text and --json), stats, delete, and errors as messages."""
import json
import subprocess
import sys

import pytest

from conftest import DEMO, ROOT


def test_cli_ingest_ask_json_stats_delete(tmp_path):
    idx = str(tmp_path / "cli_idx")
    run = lambda *args: subprocess.run([sys.executable, "-m", "qa.cli", "--index", idx, *args],  # noqa: E731
                                       capture_output=True, text=True, cwd=ROOT, timeout=300)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "ok"}\n{nope\n')
    r = run("ingest", "--quiet", "--strict", str(DEMO), str(bad))  # strict: one bad line keeps the file out
    assert r.returncode == 0, r.stderr
    assert "added 22" in r.stdout and "failed 1" in r.stdout and "bad.jsonl:2" in r.stdout
    r = run("ask", "How many Russian diplomats did Obama expel?", "--json", "--k", "5", "--as-of", "2017-01-20")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert set(out) >= {"answer", "abstained", "citations", "passages", "timings_ms"}
    assert "35" in out["answer"] and not out["abstained"]
    c = out["citations"][0]
    assert set(c) >= {"n", "doc_id", "title", "url", "published", "quote", "start", "end"}
    assert len(out["passages"]) <= 5
    # who else reports the toll, with their quotes and offsets, and the report that disagrees
    toll = "How many people were killed by the avalanche at the Hotel Rigopiano?"
    r = run("ask", toll)
    assert r.returncode == 0, r.stderr
    assert "also: Adriatic Herald (2017-01-26): \"In all, 29 people were killed" in r.stdout
    assert "Reported by 3 independent outlets" in r.stdout
    assert "Sources disagree: 29 (3 outlets) against 24 (Valley Evening News, 2017-01-25)" in r.stdout
    k = json.loads(run("ask", toll, "--json").stdout)["corroboration"]
    assert k["independent_outlets"] == 3 and k["conflict"]["summary"].startswith("Sources disagree: 29")
    r = run("stats", "--json")
    assert json.loads(r.stdout)["articles"] == 22
    r = run("delete", "demo-doomsday-clock-2017")
    assert r.returncode == 0 and "deleted 1" in r.stdout
    r = run("ask", "x", "--as-of", "yesterday")
    assert r.returncode == 2 and "as_of must be a date" in r.stderr


def test_index_option_works_after_the_command(tmp_path, articles_jsonl, capsys):
    from qa import cli

    idx = str(tmp_path / "idx")
    assert cli.main(["ingest", str(articles_jsonl), "--index", idx, "--quiet"]) == 0
    capsys.readouterr()
    assert cli.main(["ask", "Who will mediate the talks on Syria?", "--index", idx, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["citations"][0]["doc_id"] == "a1"
    assert cli.main(["--index", str(tmp_path / "elsewhere"), "stats", "--store", idx, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["articles"] == 3  # the option after the command wins


def test_cli_errors_are_messages_not_tracebacks(tmp_path, capsys, monkeypatch, articles_jsonl):
    from qa import cli

    idx = str(tmp_path / "idx")
    assert cli.main(["ingest", str(articles_jsonl), "--index", idx, "--quiet"]) == 0
    capsys.readouterr()
    assert cli.main(["ask", "why " * 1000, "--index", idx]) == 2
    assert "at most 2,000" in capsys.readouterr().err

    def broken(args):
        raise OSError(28, "No space left on device", "/data/idx/index.sqlite")

    monkeypatch.setattr(cli, "cmd_stats", broken)
    assert cli.main(["stats", "--index", idx]) == 1
    err = capsys.readouterr().err
    assert "OSError: No space left on device (/data/idx/index.sqlite)" in err and "Traceback" not in err
    with pytest.raises(OSError):
        cli.main(["--debug", "stats", "--index", idx])


def test_ingest_skips_bad_lines_names_them_and_exits_1(tmp_path, capsys):
    from qa import cli

    f = tmp_path / "export.jsonl"
    f.write_text('{"id": "a", "text": "The harbour reopened on Monday."}\n{"id": "b", "text": \n'
                 '{"id": "c", "text": "The bridge closed for repairs."}\n')
    idx = str(tmp_path / "idx")
    assert cli.main(["--index", idx, "ingest", "--quiet", str(f)]) == 1  # something was left out
    out = capsys.readouterr().out
    assert "2 articles: added 2" in out and "1 line skipped" in out and f"skipped: {f}:2: malformed JSON" in out
    assert cli.main(["--index", idx, "ingest", "--quiet", "--strict", "--json", str(f)]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["failed"][0]["file"] == str(f) and ":2:" in report["failed"][0]["reason"] and not report["skipped"]
