"""Load test: 20 chat clients for 2 minutes while 400 articles are uploaded and some deleted.

    python benchmarks/load.py [--clients 20] [--seconds 120] [--index DIR] [--json]

Starts the real app (app.py, real MiniLM) on a copy of an index of news-dev (built once into
.cache/, or --index), then runs ``--clients`` gradio_client users, each asking news-dev questions
one after another. After 10 s a library user uploads 400 new articles (written here, in our own
words) through the app's upload API, then deletes 50 of them and 5 news-dev articles. Counted:

- errors: an exception, an error message in the answer, or an answer whose citations do not all
  resolve in the sources panel sent with it (each cited quote is the marked span of its card:
  the snapshot that produced the answer also rendered it);
- latency p50 / p95 per question (queueing in the app included), and questions per second.
Exit 1 on any error.
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


def _bulletins(n: int, folder: Path) -> Path:
    rng = random.Random(5)
    towns = ["Port Alder", "Quillby", "Marrow Bay", "Easthollow", "Fennick", "Glasswater"]
    topics = ["the ferry timetable", "a council vote on parking", "repairs to the harbour wall",
              "a school closure", "the winter market", "flood defences"]
    with open(folder / "bulletins.jsonl", "w", encoding="utf-8") as f:
        for i in range(n):
            town, topic = rng.choice(towns), rng.choice(topics)
            text = " ".join(f"{town} bulletin {i} item {j}: residents discussed {topic} at a meeting on day {j}."
                            for j in range(8))
            f.write(json.dumps({"id": f"load-{i}", "title": f"{town} bulletin {i}", "source": "bulletin.example",
                                "published": f"2017-02-{1 + i % 27:02d}", "text": text}) + "\n")
    return folder / "bulletins.jsonl"


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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=120)
    ap.add_argument("--index", help="an index of news-dev to copy (default: the eval cache, built if absent)")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    if not (NEWS / "questions.jsonl").exists():
        print(f"{NEWS} is absent: the load test asks news-dev questions", file=sys.stderr)
        return 0
    from gradio_client import Client, handle_file

    questions = [json.loads(x) for x in (NEWS / "questions.jsonl").read_text().splitlines() if x.strip()]
    work = Path(tempfile.mkdtemp(prefix="qa-load-"))
    try:
        idx = work / "idx"
        shutil.copytree(_index(a.index), idx)
        upload = _bulletins(400, work)
        port = _free_port()
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False",
               "QA_FEEDBACK_FILE": str(work / "fb.jsonl"), "QA_UPLOAD_DIR": str(work / "uploads")}
        proc = subprocess.Popen([sys.executable, "app.py", "--index", str(idx), "--port", str(port), "--no-demo"],
                                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=open(work / "app.log", "w"))
        url = f"http://127.0.0.1:{port}/"
        for _ in range(600):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None:
                    print((work / "app.log").read_text(), file=sys.stderr)
                    return 1
                time.sleep(0.2)
        lat: list[float] = []
        errors: list[str] = []
        lock = threading.Lock()
        stop = time.time() + a.seconds
        library: dict = {}
        checked = [0]  # citations checked against their sources panel

        def chat(n: int) -> None:
            rng = random.Random(n)
            client = Client(url, verbose=False)
            while time.time() < stop:
                q = rng.choice(questions)
                t = time.perf_counter()
                try:
                    final = client.predict(message=q["question"], history=[], as_of="", date_from="", date_to="",
                                           sources=[], k=8, mode="extractive", api_name="/ask")
                    problem, n_cited = _resolves(final)
                except Exception as e:  # noqa: BLE001 - counted
                    problem, n_cited = f"{type(e).__name__}: {e}", 0
                with lock:
                    checked[0] += n_cited
                    if problem:
                        errors.append(f"client {n}: {q['question'][:60]}: {problem}")
                    else:
                        lat.append(time.perf_counter() - t)

        def librarian() -> None:
            time.sleep(10)
            client = Client(url, verbose=False)
            t = time.perf_counter()
            log = client.predict([handle_file(str(upload))], "", "newest first", api_name="/upload")[0]
            library["upload_s"] = time.perf_counter() - t
            library["upload"] = log.split("\n")[0]
            if "added 400" not in log:
                errors.append(f"upload: {log[:300]}")
            doomed = [f"load-{i}" for i in range(50)] + [json.loads(x)["id"] for x in
                                                         (NEWS / "corpus.jsonl").open().readlines()[:5]]
            t = time.perf_counter()
            log = client.predict(doomed, "", "newest first", api_name="/delete")[0]
            library["delete_s"] = time.perf_counter() - t
            library["delete"] = log[:80]
            if not log.startswith("Deleted 55"):
                errors.append(f"delete: {log[:300]}")

        threads = [threading.Thread(target=chat, args=(i,)) for i in range(a.clients)]
        threads.append(threading.Thread(target=librarian))
        t0 = time.perf_counter()
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        wall = time.perf_counter() - t0
        proc.terminate()
        proc.wait(timeout=30)
        ms = np.array(lat) * 1000
        out = {"clients": a.clients, "seconds": round(wall, 1), "answers": len(lat), "errors": len(errors),
               "p50_ms": round(float(np.percentile(ms, 50)), 1) if len(ms) else None,
               "p95_ms": round(float(np.percentile(ms, 95)), 1) if len(ms) else None,
               "answers_per_s": round(len(lat) / wall, 2),
               "citations_resolved": checked[0], **library, "first_errors": errors[:10]}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if a.json:
        print(json.dumps(out, indent=2))
    else:
        print(f"{out['clients']} clients, {out['seconds']} s: {out['answers']} answers, {out['errors']} errors; "
              f"latency p50 {out['p50_ms']} ms, p95 {out['p95_ms']} ms; {out['answers_per_s']} answers/s; "
              f"{out['citations_resolved']} citations resolved in their answers' sources")
        print(f"upload of 400 articles: {library.get('upload_s', 0):.1f} s ({library.get('upload', '')}); "
              f"delete of 55: {library.get('delete_s', 0):.1f} s")
        for e in errors[:10]:
            print("  " + e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
