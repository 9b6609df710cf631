"""Ingest throughput, one run, same articles: ``qa ingest`` (each embedding backend) against the
raw sentence-transformers encoder on the same chunk texts, and against LlamaIndex's pipeline.

    python benchmarks/ingest_speed.py [--articles 300] [--corpus ../shared/data/news-dev/corpus.jsonl]

- raw encoder: ``SentenceTransformer.encode`` (fp32, torch, batch 32, normalised) over exactly the
  texts ``qa`` embeds for these articles (chunks with their title prefix) -- the baseline;
- ``qa ingest`` end to end (read, dedup, chunk, embed, write the store, commit) into a fresh
  index, with ``QA_EMBED_BACKEND`` = torch, onnx (ONNX Runtime, same vectors), onnx-int8;
- LlamaIndex ``IngestionPipeline`` (SentenceSplitter sized in MiniLM's own word pieces like ours,
  128 per chunk, so nothing is truncated; HuggingFaceEmbedding), in memory (no store written).

Model loading is excluded (each encoder is warmed up first). Reports chunks/s and ratios.
Retrieval quality of the int8 index is measured by ``qa eval`` with QA_EMBED_BACKEND=onnx-int8.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
NEWS = ROOT.parent / "shared" / "data" / "news-dev" / "corpus.jsonl"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--articles", type=int, default=300)
    ap.add_argument("--corpus", default=str(NEWS if NEWS.exists() else ROOT / "demo" / "articles.jsonl"))
    args = ap.parse_args()

    from qa.chunking import chunk_article, embedded_text, embedding_title
    from qa.config import ChunkingConfig
    from qa.embeddings import default_embedder, model_path
    from qa.ingest import ingest
    from qa.loaders import iter_file

    arts = []
    for a in iter_file(args.corpus):
        arts.append(a)
        if len(arts) >= args.articles:
            break
    cfg = ChunkingConfig()
    torch_emb = default_embedder("torch")
    texts = []
    for a in arts:
        title, _ = embedding_title(a.title, torch_emb)
        texts += [embedded_text(title, c.text, cfg) for c in chunk_article(a, torch_emb, cfg)]
    n = len(texts)
    print(f"{len(arts)} articles from {args.corpus}: {n} chunks; {os.cpu_count()} cores", file=sys.stderr)
    rows = []

    model = torch_emb.model
    model.encode(texts[:32], batch_size=32, normalize_embeddings=True, show_progress_bar=False)
    t = time.perf_counter()
    model.encode(texts, batch_size=32, normalize_embeddings=True, show_progress_bar=False)
    raw = time.perf_counter() - t
    rows.append(("raw encoder (sentence-transformers, fp32)", n, raw))

    for backend in ("torch", "onnx", "onnx-int8"):
        emb = default_embedder(backend)
        emb.encode(texts[:32])
        tmp = Path(tempfile.mkdtemp(prefix="ingest-speed-"))
        try:
            t = time.perf_counter()
            report = ingest([], tmp / "idx", emb, articles=arts)
            rows.append((f"qa ingest, {backend}", report.chunks_added, time.perf_counter() - t))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    from llama_index.core import Document, Settings
    from llama_index.core.ingestion import IngestionPipeline
    from llama_index.core.node_parser import SentenceSplitter
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    Settings.llm = None
    hf = HuggingFaceEmbedding(model_name=model_path(), device="cpu", normalize=True)
    hf.get_text_embedding_batch(texts[:16])
    splitter = SentenceSplitter(chunk_size=128, chunk_overlap=32,
                                tokenizer=lambda s: torch_emb.tokenizer(s, add_special_tokens=False)["input_ids"])
    docs = [Document(text=a.text, metadata={"title": a.title}, excluded_embed_metadata_keys=["title"]) for a in arts]
    t = time.perf_counter()
    nodes = IngestionPipeline(transformations=[splitter, hf]).run(documents=docs)
    rows.append(("LlamaIndex IngestionPipeline (128-piece chunks)", len(nodes), time.perf_counter() - t))

    print(f"| pipeline | chunks | seconds | chunks/s | vs raw encoder (chunks/s) | articles: time vs LlamaIndex |")
    print("|---|---|---|---|---|---|")
    li = rows[-1][2]
    for name, chunks, secs in rows:
        print(f"| {name} | {chunks} | {secs:.1f} | {chunks / secs:.1f} | {chunks / secs / (n / raw):.2f}x | "
              f"{li / secs:.2f}x |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
