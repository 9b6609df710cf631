"""Kill ``qa ingest`` / ``qa delete`` / ``qa compact`` at random moments and check the index each time.

Used by tests/test_crash.py (50 kills in CI) and benchmarks/crash_loop.py (500). Every round runs
one command in a subprocess (qa/testing/crash_child.py: the real CLI with the test embedding double) on
one index that keeps growing, and kills it with SIGKILL either after a random delay or at a named
point inside a commit (``QA_CRASH_AT``, see qa.stores.faults.crash_point), including the very first commit
of an empty index. After each round:

- the index opens and the engine answers a question (``QA.ask``; every few rounds ``qa ask`` too);
- its content is exactly a state the command may leave: the state before it, or after it (an
  ingest that commits in batches may also stop after a whole batch: an article is never half
  there). Compared: article ids and versions, each article's chunk count against chunking its
  text, and an exact dense search recomputed from the stored chunks;
- after a command that finished, no file is left that the index does not reference (temporary
  segment files, orphaned segments): a killed writer's leftovers are removed by the next writer.
"""
from __future__ import annotations

import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

CHILD = [sys.executable, "-m", "qa.testing.crash_child"]  # the qa command with the embedding double

WORDS = ("harbour council ferry strike minister election river bridge storm vaccine budget school "
         "railway drought harvest court verdict museum festival airport tariff union protest mayor "
         "hospital flood wildfire senate treaty border summit lottery orchestra glacier satellite "
         "reactor pipeline market shipyard canal stadium refinery library clinic").split()
SOURCES = ["north.example", "south.example", "wire.example"]
EXPECTED_FILES = {"index.sqlite", "index.sqlite-wal", "index.sqlite-shm", ".write.lock", "segments"}
MARK = re.compile(r"^Report (\d+) version (\d+)\.")


@dataclass
class Tally:
    rounds: int = 0
    killed: int = 0  # by the harness's timer or at a crash point
    finished: int = 0
    bad_open: int = 0  # the index did not open, or the engine failed
    bad_state: int = 0  # content not a state the command may leave (mixed / partial / corrupt)
    leftovers: int = 0  # files left after a command that finished
    max_transient: int = 0  # most unreferenced files seen right after a kill (removed by the next writer)
    by_point: dict = field(default_factory=dict)
    by_op: dict = field(default_factory=dict)
    errors: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.bad_open or self.bad_state or self.leftovers)

    def to_dict(self) -> dict:
        d = {k: v for k, v in self.__dict__.items() if k != "errors"}
        d["errors"] = self.errors[:10]
        return d


def _article(i: int, version: int, rng: random.Random) -> dict:
    sentences = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 16))).capitalize() + "."
                 for _ in range(rng.randint(2, 14))]
    return {"id": f"art-{i}", "title": f"Bulletin {i}", "source": rng.choice(SOURCES),
            "published": f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            "text": f"Report {i} version {version}. " + " ".join(sentences)}


def open_index(index: Path):
    """The live snapshot of an index written with the test embedding double."""
    from qa.config import ChunkingConfig
    from qa.stores import open_store

    from .fakes import HashEmbedder

    emb = HashEmbedder()
    return open_store(index, emb.name, emb.dim, ChunkingConfig())


def observe(index: Path):
    """(state, store): state maps article id -> (version, chunk count)."""
    store = open_index(index)
    counts = store.chunk_counts()
    state = {}
    for a in store.articles.values():
        m = MARK.match(a.text)
        state[a.id] = (int(m.group(2)) if m else -1, counts.get(a.id, 0))
    return state, store


def check_store(store, state: dict, rng: random.Random) -> str | None:
    """Chunk counts match chunking each article's text; a dense search equals exact search recomputed
    from the stored chunk texts (the vectors belong to the chunks they claim). None when fine."""
    from qa.chunking import chunk_article, embedded_text, embedding_title

    from .fakes import HashEmbedder

    emb = HashEmbedder()
    for doc_id, (version, n) in state.items():
        a = store.articles[doc_id]
        if version < 0:
            return f"{doc_id}: text is not an article version"
        if len(chunk_article(a, emb, store.chunking, first_id=0)) != n:
            return f"{doc_id}: {n} chunks stored, chunking its text gives another count"
    if not state:
        return None if not len(store) else f"no articles but {len(store)} chunks"
    ids, texts = [], []
    for d in state:  # the text each chunk was embedded as (title first, when configured)
        a = store.articles[d]
        title = embedding_title(a.title, emb)[0] if store.chunking.title_in_embedding else ""
        for c in store.chunk_ids(d):
            ids.append(c)
            texts.append(embedded_text(title, store.chunks[c].text, store.chunking))
    query = " ".join(rng.choice(WORDS) for _ in range(4))
    q = emb.encode([query])[0]
    exact = emb.encode(texts) @ q
    want = sorted(zip(-exact, ids))[:5]
    got = store.search_dense(q, 5)
    want_scores, got_scores = -np.array([s for s, _ in want]), np.array([s for _, s in got])
    if len(got) != len(want) or np.abs(want_scores - got_scores).max(initial=0) > 1e-4:
        return f"dense search {got} != exact {want}"
    for i, (_, c) in enumerate(want):  # where the exact score is not tied, the same chunk
        tied = np.abs(exact - want_scores[i]) < 1e-4
        if tied.sum() == 1 and got[i][0] != c:
            return f"dense search {got} != exact {want}"
    if len(got) != min(5, len(ids)):
        return f"dense search returned {len(got)} of {min(5, len(ids))}"
    return None


def unreferenced(index: Path) -> list[str]:
    """Files under the index that no committed state references (temporaries, orphaned segments)."""
    if not index.exists():
        return []
    out = [p.name for p in index.iterdir() if p.name not in EXPECTED_FILES]
    segdir = index / "segments"
    if segdir.exists():
        known: set[int] = set()
        if (index / "index.sqlite").exists():
            db = sqlite3.connect(f"file:{index / 'index.sqlite'}?mode=ro", uri=True)
            try:
                known = {r[0] for r in db.execute("SELECT no FROM segments")}
            except sqlite3.OperationalError:
                pass
            finally:
                db.close()
        for p in segdir.iterdir():
            if p.name.startswith(".") or not p.name[4:10].isdigit() or int(p.name[4:10]) not in known:
                out.append("segments/" + p.name)
    return out


def _child(args: list[str], env: dict) -> subprocess.Popen:
    return subprocess.Popen([*CHILD, *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _plan(rng: random.Random, state: dict, next_id: list[int], work: Path, rnd: int):
    """One command: (op, argv, allowed final states, articles by id for an ingest)."""
    roll = rng.random()
    if state and roll < 0.25:
        doomed = rng.sample(sorted(state), k=min(len(state), rng.randint(1, 5)))
        after = {k: v for k, v in state.items() if k not in doomed}
        return "delete", ["delete", *doomed], [state, after]
    if state and roll < 0.35:
        return "compact", ["compact"], [state]
    recs = []
    for _ in range(rng.randint(2, 12)):
        if state and rng.random() < 0.3:
            d = rng.choice(sorted(state))
            recs.append(_article(int(d.split("-")[1]), state[d][0] + 1, rng))
        else:
            recs.append(_article(next_id[0], 1, rng))
            next_id[0] += 1
    seen, unique = set(), []
    for r in recs:  # one version per id in one file
        if r["id"] not in seen:
            seen.add(r["id"])
            unique.append(r)
    f = work / f"round-{rnd}.jsonl"
    f.write_text("".join(json.dumps(r) + "\n" for r in unique), encoding="utf-8")
    prefixes = []
    cur = {k: v[0] for k, v in state.items()}
    prefixes.append(dict(cur))
    for r in unique:
        mark = MARK.match(r["text"])
        assert mark is not None  # the harness writes every text with its mark
        cur[r["id"]] = int(mark.group(2))
        prefixes.append(dict(cur))
    return "ingest", ["ingest", "--quiet", str(f)], prefixes


def _versions(state: dict) -> dict:
    return {k: (v[0] if isinstance(v, tuple) else v) for k, v in state.items()}


def run(rounds: int, work: Path, seed: int = 0, log=print) -> Tally:
    from qa.stores.faults import CRASH_POINTS

    rng = random.Random(seed)
    work.mkdir(parents=True, exist_ok=True)
    index = work / "idx"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "QA_LOCK_TIMEOUT": "5"}
    env.pop("QA_CRASH_AT", None)
    tally = Tally()
    state: dict = {}
    next_id = [0]
    est = 0.4  # seconds a command takes after its imports (updated as commands finish)
    for rnd in range(rounds):
        op, argv, allowed = _plan(rng, state, next_id, work, rnd)
        cenv = dict(env, QA_COMMIT_CHUNKS=str(rng.choice([2, 5, 4096])))
        point = None
        if rnd < len(("segment-files", "before-commit")):  # the very first commit of a new index
            point = ("segment-files", "before-commit")[rnd]
        elif rng.random() < 0.5:
            point = f"{rng.choice(CRASH_POINTS)}:{rng.randint(1, 3)}"
        if point:
            cenv["QA_CRASH_AT"] = point
        proc = _child(["--index", str(index), *argv], cenv)
        assert proc.stdout is not None
        proc.stdout.readline()  # "ready": imports done
        t0 = time.perf_counter()
        if point is None:
            try:
                proc.wait(timeout=rng.uniform(0.05, 0.95) * est)  # inside a typical command (est: its mean)
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGKILL)
        proc.wait()
        took = time.perf_counter() - t0
        out, err = proc.communicate()
        tally.rounds += 1
        tally.by_op[op] = tally.by_op.get(op, 0) + 1
        killed = proc.returncode == -signal.SIGKILL
        if killed:
            tally.killed += 1
            key = point.split(":")[0] if point else "timer"
            tally.by_point[key] = tally.by_point.get(key, 0) + 1
        else:
            tally.finished += 1
            est = 0.8 * est + 0.2 * took
            if proc.returncode != 0:
                tally.errors.append(f"round {rnd}: {op} exited {proc.returncode}: {err.strip()[-300:]}")
        # 1. it opens, and the engine answers
        try:
            observed, store = observe(index)
            _ask(index, rng, observed, rnd)
        except Exception as e:  # noqa: BLE001 - counted and reported
            tally.bad_open += 1
            tally.errors.append(f"round {rnd} ({op}, {point or 'timer'}, killed={killed}): {type(e).__name__}: {e}")
            log(tally.errors[-1])
            break
        # 2. a state the command may leave, consistent in itself
        versions = _versions(observed)
        finals = [_versions(s) for s in allowed]
        ok = versions in finals if killed else versions == finals[-1]
        problem = None if ok else (f"content {sorted(versions.items())[:8]}… is not a state {op} may leave "
                                   f"(killed={killed})")
        problem = problem or check_store(store, observed, rng)
        if problem:
            tally.bad_state += 1
            tally.errors.append(f"round {rnd} ({op}, {point or 'timer'}): {problem}")
            log(tally.errors[-1])
        state = observed
        # 3. leftovers: none after a command that finished; a killed one's go with the next writer
        extra = unreferenced(index)
        if killed:
            tally.max_transient = max(tally.max_transient, len(extra))
        elif extra:
            tally.leftovers += 1
            tally.errors.append(f"round {rnd}: {op} finished and left {extra}")
        if (rnd + 1) % 10 == 0:
            log(f"round {rnd + 1}/{rounds}: {tally.killed} killed, {tally.finished} finished, "
                f"{len(state)} articles, bad {tally.bad_open + tally.bad_state + tally.leftovers}")
    # a final writer that finishes removes whatever the last kill left
    proc = _child(["--index", str(index), "compact"], env)
    proc.communicate()
    if unreferenced(index):
        tally.leftovers += 1
        tally.errors.append(f"after the final compact: {unreferenced(index)}")
    return tally


def _ask(index: Path, rng: random.Random, state: dict, rnd: int) -> None:
    """The engine answers from the index in this state; every few rounds through ``qa ask`` too."""
    from qa.engine import QA

    from .fakes import HashEmbedder

    if state:
        doc = rng.choice(sorted(state))
        question = f"What does report {doc.split('-')[1]} say about the {rng.choice(WORDS)}?"
    else:
        question = "What happened at the harbour?"
    answer = QA(location=index, embedder=HashEmbedder()).ask(question)
    for c in answer.citations:
        if c.doc_id not in state:
            raise AssertionError(f"answer cites {c.doc_id}, not in the index")
    if rnd % 10 == 9:
        proc = _child(["--index", str(index), "ask", "--json", question], dict(os.environ, HF_HUB_OFFLINE="1"))
        out, err = proc.communicate(timeout=60)
        if proc.returncode != 0:
            raise AssertionError(f"qa ask exited {proc.returncode}: {err.strip()[-300:]}")
        json.loads(out.split("\n", 1)[1])
