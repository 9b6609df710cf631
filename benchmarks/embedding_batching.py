"""Speed of embedding chunks sorted by length vs in corpus order (same run, same model).

    python benchmarks/embedding_batching.py [--n 1500]

Reports chunks/second for both and the ratio. (sentence-transformers sorts within one
``encode`` call; the baseline here feeds consecutive batches, as a progress-reporting loop
without sorting would.) Uses the demo corpus and, when
present, ../shared/data/news-dev for a realistic mix of short and long chunks.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from qa.chunking import chunk_article
from qa.config import ChunkingConfig
from qa.embeddings import default_embedder
from qa.loaders import load_file

ROOT = Path(__file__).resolve().parent.parent
NEWS = ROOT.parent / "shared" / "data" / "news-dev" / "corpus.jsonl"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1500)
    args = ap.parse_args()
    emb = default_embedder("torch")
    arts = load_file(NEWS if NEWS.exists() else ROOT / "demo" / "articles.jsonl")
    texts = []
    for a in arts:
        texts += [c.text for c in chunk_article(a, emb, ChunkingConfig())]
        if len(texts) >= args.n:
            break
    texts = (texts * (args.n // max(1, len(texts)) + 1))[: args.n]
    emb.encode(texts[:64])  # warm up
    t = time.perf_counter()
    for b in range(0, len(texts), emb.batch_size):  # naive: consecutive batches in corpus order
        emb.model.encode(texts[b:b + emb.batch_size], batch_size=emb.batch_size, normalize_embeddings=True,
                         show_progress_bar=False)
    unsorted = time.perf_counter() - t
    t = time.perf_counter()
    emb.encode(texts)
    sorted_ = time.perf_counter() - t
    print(f"{len(texts)} chunks: corpus order {len(texts) / unsorted:.1f}/s, sorted by length "
          f"{len(texts) / sorted_:.1f}/s, speed-up x{unsorted / sorted_:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
