"""Kill the writer at random moments (50 times) and at every step of a commit: the index always
opens, answers, and holds exactly the state before or after the killed command (qa/testing/crash.py)."""
import json
import os
import signal
import subprocess
import sys

import pytest

from conftest import DEMO, ROOT
from qa.testing.crash import observe, run, unreferenced


@pytest.mark.slow
def test_kill_loop_50_rounds(tmp_path):
    tally = run(50, tmp_path, seed=int(os.environ.get("QA_CRASH_SEED", "7")), log=lambda *a: None)
    assert tally.killed >= 25, tally.to_dict()  # most rounds really were killed
    assert tally.ok, tally.to_dict()
    assert not tally.errors, tally.errors


def test_kill_during_the_first_commit_leaves_an_empty_index_that_works(tmp_path):
    """The real CLI and the real MiniLM: killed inside its very first commit, ``qa ingest`` leaves an
    index that opens empty, ``qa ask`` says so, and the next ingest succeeds."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    idx = tmp_path / "idx"
    qa = [sys.executable, "-m", "qa.cli", "--index", str(idx)]
    killed = subprocess.run([*qa, "ingest", "--quiet", str(DEMO)], env={**env, "QA_CRASH_AT": "before-commit"},
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert killed.returncode == -signal.SIGKILL
    assert (idx / "segments").exists() and unreferenced(idx)  # the killed commit's files are still there
    asked = subprocess.run([*qa, "ask", "--json", "Who will mediate the Astana talks?"], env=env, cwd=ROOT,
                           capture_output=True, text=True, timeout=300)
    assert asked.returncode == 0, asked.stderr
    out = json.loads(asked.stdout)
    assert out["abstained"] and "index is empty" in out["answer"]
    done = subprocess.run([*qa, "ingest", "--quiet", str(DEMO)], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert not unreferenced(idx)  # the next writer removed what the killed one left
    asked = subprocess.run([*qa, "ask", "Who will mediate the Astana talks?"], env=env, cwd=ROOT,
                           capture_output=True, text=True, timeout=300)
    assert asked.returncode == 0 and "Turkey" in asked.stdout


@pytest.mark.parametrize("point", ["segment-files", "segment-registered", "before-commit", "after-commit"])
def test_each_commit_step_killed(tmp_path, point):
    """A second ingest killed at each step of its commit: before the SQLite commit, the index is as
    before; after it, as after. Nothing else is possible."""
    from qa.testing.crash import _child

    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    idx = tmp_path / "idx"
    first = tmp_path / "first.jsonl"
    second = tmp_path / "second.jsonl"
    first.write_text(json.dumps({"id": "art-1", "text": "Report 1 version 1. The ferry strike ended."}) + "\n")
    second.write_text(json.dumps({"id": "art-1", "text": "Report 1 version 2. The ferry strike resumed."}) + "\n"
                      + json.dumps({"id": "art-2", "text": "Report 2 version 1. A storm closed the harbour."}) + "\n")
    assert _child(["--index", str(idx), "ingest", "--quiet", str(first)], env).wait() == 0
    before, _ = observe(idx)
    proc = _child(["--index", str(idx), "ingest", "--quiet", str(second)], {**env, "QA_CRASH_AT": point})
    assert proc.wait() == -signal.SIGKILL
    state, store = observe(idx)
    versions = {k: v[0] for k, v in state.items()}
    if point == "after-commit":
        assert versions == {"art-1": 2, "art-2": 1}
    else:
        assert state == before and versions == {"art-1": 1}
    assert store.search_dense(store.vector(store.chunk_ids("art-1")[0]), 1)[0][0] == store.chunk_ids("art-1")[0]
