"""Load test of `qa serve` (one process: page, /v1, workers), for /v1/ask and for the page's Gradio API.

    python benchmarks/load.py [--clients 20] [--seconds 120] [--baseline-seconds 20] [--surfaces api,gradio]
                              [--workers N] [--index DIR] [--json]

Starts `qa serve` on a copy of an index of news-dev (built once into .cache/, or --index) and, for
each surface, in one run:

1. one client asking news-dev questions one after another (the baseline: one warm answer's time);
2. ``--clients`` clients for ``--seconds``;
3. ``--clients`` clients while 400 new articles (written here, in our own words) are uploaded
   (POST /v1/articles for the API, the page's upload for Gradio) and then 55 articles deleted.

Counted: answers/s, latency p50/p95 per question (queueing included), and errors: an exception,
an HTTP error, an error message in the answer, or a citation that does not resolve (API: its quote
is not in its passage of the same article; Gradio: not the marked span of its card in the sources
panel sent with it). The target, on this 2-core machine: phase 2 sustains at least
0.7 x cores / (phase 1's mean latency) answers/s with p95 <= 2 s; phase 3 at least 3 answers/s;
no errors anywhere. Exit 1 on any error.
"""
from __future__ import annotations

import argparse
import html
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
NEWS = ROOT.parent / "shared" / "data" / "news-dev"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _index(path: str | None) -> Path:
    if path:
        return Path(path)
    from qa.config import ChunkingConfig
    from qa.embeddings import MODEL_NAME
    from qa.engine import QA
    from qa.evaluation import corpus_index_dir

    cache = corpus_index_dir(NEWS / "corpus.jsonl", ROOT / ".cache" / "eval-index", ChunkingConfig(), MODEL_NAME)
    if not (cache / "index.sqlite").exists():  # the eval harness's cache; built once
        print(f"indexing news-dev into {cache} (once) …", file=sys.stderr)
        QA(location=cache).ingest([NEWS / "corpus.jsonl"])
    return cache


def _bulletins(n: int, folder: Path, prefix: str = "load-") -> Path:
    rng = random.Random(5)
    towns = ["Port Alder", "Quillby", "Marrow Bay", "Easthollow", "Fennick", "Glasswater"]
    topics = ["the ferry timetable", "a council vote on parking", "repairs to the harbour wall",
              "a school closure", "the winter market", "flood defences"]
    path = folder / f"{prefix}bulletins.jsonl"
    with open(path, "w", encoding="utf-8") as f:
        for i in range(n):
            town, topic = rng.choice(towns), rng.choice(topics)
            text = " ".join(f"{town} bulletin {prefix}{i} item {j}: residents discussed {topic} at a meeting on day {j}."
                            for j in range(8))
            f.write(json.dumps({"id": f"{prefix}{i}", "title": f"{town} bulletin {i}", "source": "bulletin.example",
                                "published": f"2017-02-{1 + i % 27:02d}", "text": text}) + "\n")
    return path


def _resolves(final) -> tuple[str | None, int]:
    """(None if every citation in the copy text is the marked span of its source card, citations checked)."""
    _, _, sources_html, copy, _ = final
    if "<b>Error:</b>" in json.dumps(final[0]):
        return "error message in the answer", 0
    found = list(re.finditer(r'^\[(\d+)\] .*? — "(.*)"$', copy or "", re.M))
    for m in found:
        quote = html.escape(m.group(2))
        card = re.search(rf"id='source-\d+-{m.group(1)}'.*?</details></div>", sources_html or "", re.S)
        if not card or f"<mark>{quote}</mark>" not in card.group(0):
            return f"citation [{m.group(1)}] does not resolve in its sources panel", len(found)
    return None, len(found)


def _api_ok(a: dict) -> str | None:
    """None if every citation's quote is in the passage (same article) it was quoted from."""
    if a.get("error"):
        return str(a["error"])[:200]
    texts = {(p["doc_id"], p["start"], p["end"]): p["text"] for p in a["passages"]}
    for c in a["citations"]:
        if not any(d == c["doc_id"] and s <= c["start"] and c["end"] <= e and c["quote"] == t[c["start"] - s:c["end"] - s]
                   for (d, s, e), t in texts.items()):
            return f"citation [{c['n']}] is not its passage's text at its offsets"
    return None


class Phase:
    def __init__(self):
        self.lat: list[float] = []
        self.errors: list[str] = []
        self.lock = threading.Lock()
        self.t0 = self.t1 = 0.0

    def add(self, seconds: float, problem: str | None, who: str) -> None:
        with self.lock:
            if problem:
                self.errors.append(f"{who}: {problem}")
            else:
                self.lat.append(seconds)

    def summary(self) -> dict:
        wall = self.t1 - self.t0
        ms = np.array(self.lat) * 1000
        return {"seconds": round(wall, 1), "answers": len(self.lat), "errors": len(self.errors),
                "answers_per_s": round(len(self.lat) / wall, 2) if wall else 0,
                "mean_ms": round(float(ms.mean()), 1) if len(ms) else None,
                "p50_ms": round(float(np.percentile(ms, 50)), 1) if len(ms) else None,
                "p95_ms": round(float(np.percentile(ms, 95)), 1) if len(ms) else None,
                "first_errors": self.errors[:5]}


class Questions:
    """news-dev's questions, shuffled once and handed out in turn to every client of every phase: a
    question comes again only after all 1,558 have been asked (then the workers' caches know it)."""

    def __init__(self, questions: list):
        self.items = list(questions)
        random.Random(5).shuffle(self.items)
        self.i = 0
        self.lock = threading.Lock()

    def next(self) -> dict:
        with self.lock:
            q = self.items[self.i % len(self.items)]
            self.i += 1
            return q


def _asker(surface: str, url: str, questions: Questions, phase: Phase, n: int, until):
    import httpx

    def run() -> None:
        if surface == "api":
            client = httpx.Client(base_url=url, timeout=60)
        else:
            from gradio_client import Client

            client = Client(url + "/", verbose=False)
        while not until():
            q = questions.next()
            t = time.perf_counter()
            try:
                if surface == "api":
                    r = client.post("/v1/ask", json={"question": q["question"]})
                    problem = None if r.status_code == 200 else f"HTTP {r.status_code}: {r.text[:200]}"
                    problem = problem or _api_ok(r.json())
                else:
                    final = client.predict(message=q["question"], history=[], as_of="", date_from="", date_to="",
                                           sources=[], k=8, mode="extractive", api_name="/ask")
                    problem = _resolves(final)[0]
            except Exception as e:  # noqa: BLE001 - counted
                problem = f"{type(e).__name__}: {e}"
            phase.add(time.perf_counter() - t, problem, f"{surface} client {n}: {q['question'][:50]}")
    return run


def _upload(surface: str, url: str, upload: Path, doomed: list[str], phase: Phase, out: dict) -> None:
    import httpx

    t = time.perf_counter()
    try:
        if surface == "api":
            with httpx.Client(base_url=url, timeout=600) as c:
                r = c.post("/v1/articles", params={"wait": 0}, files=[("files", (upload.name, upload.read_bytes()))])
                job = r.json()
                while job.get("status") in ("queued", "running"):
                    time.sleep(0.5)
                    job = c.get(f"/v1/jobs/{job['id']}").json()
                out["upload"] = job.get("summary") or job.get("error")
                if job.get("status") != "done" or len(job["report"]["added"]) != 400:
                    phase.errors.append(f"upload: {json.dumps(job)[:300]}")
                out["upload_s"] = round(time.perf_counter() - t, 1)
                t = time.perf_counter()
                gone = [d for d in doomed if c.delete(f"/v1/articles/{d}").status_code == 200]
                if len(gone) != len(doomed):
                    phase.errors.append(f"delete: {len(gone)} of {len(doomed)}")
        else:
            from gradio_client import Client, handle_file

            client = Client(url + "/", verbose=False)
            log = client.predict([handle_file(str(upload))], "", "newest first", api_name="/upload")[0]
            out["upload"] = log.split("\n")[0]
            if "added 400" not in log:
                phase.errors.append(f"upload: {log[:300]}")
            out["upload_s"] = round(time.perf_counter() - t, 1)
            t = time.perf_counter()
            log = client.predict(doomed, "", "newest first", api_name="/delete")[0]
            if not log.startswith(f"Deleted {len(doomed)}"):
                phase.errors.append(f"delete: {log[:300]}")
        out["delete_s"] = round(time.perf_counter() - t, 1)
    except Exception as e:  # noqa: BLE001 - counted
        phase.errors.append(f"library: {type(e).__name__}: {e}")


def _deadline(at: float):
    return lambda: time.time() > at


def _run(threads: list[threading.Thread], phase: Phase) -> None:
    phase.t0 = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    phase.t1 = time.perf_counter()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=120)
    ap.add_argument("--baseline-seconds", type=float, default=20)
    ap.add_argument("--surfaces", default="api,gradio")
    ap.add_argument("--workers", type=int, default=None, help="qa serve --workers (default: one per core)")
    ap.add_argument("--index", help="an index of news-dev to copy (default: the eval cache, built if absent)")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    if not (NEWS / "questions.jsonl").exists():
        print(f"{NEWS} is absent: the load test asks news-dev questions", file=sys.stderr)
        return 0
    questions = Questions([json.loads(x) for x in (NEWS / "questions.jsonl").read_text().splitlines() if x.strip()])
    corpus_ids = [json.loads(x)["id"] for x in (NEWS / "corpus.jsonl").open().readlines()[:10]]
    cores = os.cpu_count() or 1
    results: dict = {"cores": cores, "clients": a.clients, "surfaces": {}}
    work = Path(tempfile.mkdtemp(prefix="qa-load-"))
    errors = 0
    try:
        idx = work / "idx"
        shutil.copytree(_index(a.index), idx)
        port = _free_port()
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False",
               "QA_FEEDBACK_FILE": str(work / "fb.jsonl"), "QA_UPLOAD_DIR": str(work / "uploads")}
        cmd = [sys.executable, "-m", "qa.cli", "--index", str(idx), "serve", "--port", str(port)]
        if a.workers is not None:
            cmd += ["--workers", str(a.workers)]
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=open(work / "app.log", "w"))
        url = f"http://127.0.0.1:{port}"
        for _ in range(900):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None:
                    print((work / "app.log").read_text(), file=sys.stderr)
                    return 1
                time.sleep(0.2)
        for k, surface in enumerate(a.surfaces.split(",")):
            out: dict = {"first_question": questions.i}
            # warm-up: every worker's sentence cache and the client paths
            warm = Phase()
            stop = time.time() + 5
            _run([threading.Thread(target=_asker(surface, url, questions, warm, 100 + i, _deadline(stop)))
                  for i in range(4)], warm)
            one = Phase()
            stop1 = time.time() + a.baseline_seconds
            _run([threading.Thread(target=_asker(surface, url, questions, one, 0, _deadline(stop1)))], one)
            out["one_client"] = one.summary()
            many = Phase()
            stop2 = time.time() + a.seconds
            _run([threading.Thread(target=_asker(surface, url, questions, many, i, _deadline(stop2)))
                  for i in range(a.clients)], many)
            out["clients"] = many.summary()
            out["questions_asked"] = questions.i - out["first_question"]
            busy = Phase()
            upload = _bulletins(400, work, prefix=f"load{k}-")
            doomed = [f"load{k}-{i}" for i in range(50)] + corpus_ids[5 * k:5 * k + 5]
            library: dict = {}
            librarian = threading.Thread(target=_upload, args=(surface, url, upload, doomed, busy, library))
            askers = [threading.Thread(target=_asker(surface, url, questions, busy, i,
                                                     lambda th=librarian: not th.is_alive())) for i in range(a.clients)]
            _run([librarian, *askers], busy)
            out["during_upload"] = {**busy.summary(), **library}
            warm_s = out["one_client"]["mean_ms"] / 1000 if out["one_client"]["mean_ms"] else float("inf")
            out["target_answers_per_s"] = round(0.7 * cores / warm_s, 2)
            out["targets_met"] = {
                "clients_throughput": out["clients"]["answers_per_s"] >= out["target_answers_per_s"],
                "clients_p95_le_2s": (out["clients"]["p95_ms"] or 1e9) <= 2000,
                "during_upload_ge_3_per_s": out["during_upload"]["answers_per_s"] >= 3,
                "no_errors": not (one.errors or many.errors or busy.errors)}
            errors += len(one.errors) + len(many.errors) + len(busy.errors)
            results["surfaces"][surface] = out
        proc.terminate()
        proc.wait(timeout=30)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if a.json:
        print(json.dumps(results, indent=2))
    else:
        print(f"{cores} cores, {a.clients} clients")
        print("| surface | phase | answers/s | mean ms | p50 ms | p95 ms | errors |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for surface, out in results["surfaces"].items():
            for phase in ("one_client", "clients", "during_upload"):
                r = out[phase]
                print(f"| {surface} | {phase} | {r['answers_per_s']} | {r['mean_ms']} | {r['p50_ms']} | {r['p95_ms']} | "
                      f"{r['errors']} |")
        for surface, out in results["surfaces"].items():
            up = out["during_upload"]
            print(f"{surface}: target {out['target_answers_per_s']} answers/s; met: {out['targets_met']}; upload of 400 "
                  f"{up.get('upload_s')} s ({up.get('upload')}), delete of 55 {up.get('delete_s')} s")
            for e in [*out["one_client"]["first_errors"], *out["clients"]["first_errors"],
                      *out["during_upload"]["first_errors"]]:
                print("  " + e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
