"""What ``qa eval --compare`` measures the answers against, in the same run: trivial answers from the
same retrieval (``lead``: the top passage's first sentence; ``passage``: the whole top passage) and
single retrievers (``dense``, ``lexical``, and LlamaIndex's own dense retrieval)."""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

from ..config import settings
from ..types import Answer
from .datasets import Question
from .metrics import answer_words, contains_answer, rank_of_gold, retrieval_metrics, summarize, word_stats

ANSWER_BASELINES = ("lead", "passage")  # --compare: trivial answers from the same retrieval


RETRIEVER_BASELINES = ("dense", "lexical", "windows")
WINDOW_WORDS = 180  # the windows baseline: plain dense MiniLM over windows of this many words


def baseline_answers(q: Question, a: Answer) -> dict:
    """The trivial answers from the same retrieval, never abstaining: ``lead`` = the first sentence
    of the top passage, ``passage`` = the whole top passage."""
    from ..text import sentence_spans

    top = a.passages[0] if a.passages else None
    texts = {"lead": "", "passage": ""}
    if top is not None:
        spans = sentence_spans(top.text)
        texts = {"lead": top.text[spans[0][0]:spans[0][1]] if spans else top.text, "passage": top.text}
    gold = bool(top is not None and top.doc_id in q.evidence_ids)
    return {name: {"correct": contains_answer(t, q.answers) if q.answerable else None,
                   "first_citation_gold": gold if q.answerable else None, "words": answer_words(t)}
            for name, t in texts.items()}


def compare_answers(rows: list[dict], which: list[str]) -> dict:
    """Answer metrics of the trivial baselines (``baseline_answers``) over the same questions."""
    out = {}
    ans = [r for r in rows if r["answerable"]]
    for name in which:
        b = [r["baselines"][name] for r in rows]
        ba = [r["baselines"][name] for r in ans]
        out[name] = {"accuracy": sum(1 for x in ba if x["correct"]) / max(1, len(ba)),
                     "first_citation_gold": sum(1 for x in ba if x["first_citation_gold"]) / max(1, len(ba)),
                     **word_stats([x["words"] for x in b])}
    return out


# ---- plain retrievers for --compare -----------------------------------------------------
def compare_retrievers(engine, questions: list[Question], which: list[str], k: int = 10,
                       ignore_as_of: bool = False, progress: Callable[[str, int, int], None] | None = None) -> dict:
    """Retrieval metrics of plain baselines over the same chunks.

    dense:   LlamaIndex's default vector retriever (VectorStoreIndex over a FaissVectorStore
             holding the engine's own chunk vectors), no filters, no fusion, no as_of.
    lexical: the engine's BM25 alone (same filters and as_of as the pipeline unless ignored).
    windows: plain dense MiniLM over consecutive ``WINDOW_WORDS``-word windows of every article (no
             title, no boilerplate removal, no as_of; the model truncates what exceeds its 256 word
             pieces): the reference a long-article retriever must beat (issue 27). The windows'
             vectors are embedded once and cached in the eval cache (QA_EVAL_CACHE), by their texts.
    """
    out = {}
    answerable = [q for q in questions if q.answerable]
    for name in which:
        ranks = []
        if name == "dense":
            retrieve = _llamaindex_dense(engine, k)
        elif name == "windows":
            retrieve = _windows_dense(engine, k, progress)
        elif name == "lexical":
            def retrieve(q: Question) -> list[str]:
                from ..retrieval import Filters

                f = Filters(as_of=None if ignore_as_of else q.as_of)
                return [p.doc_id for p in engine.retriever.search(q.question, k=k, filters=f, mode="lexical")]
        else:
            raise ValueError(f"unknown --compare retriever {name!r}; use {', '.join(RETRIEVER_BASELINES)}")
        for i, q in enumerate(answerable):
            ranks.append(rank_of_gold(retrieve(q), set(q.evidence_ids)))
            if progress:
                progress(name, i + 1, len(answerable))
        out[name] = retrieval_metrics(ranks)
    return out


def windows(text: str, size: int = WINDOW_WORDS) -> list[str]:
    """``text`` as consecutive windows of ``size`` words (the last one shorter)."""
    w = text.split()
    return [" ".join(w[i:i + size]) for i in range(0, len(w), size)] or [""]


def _windows_dense(engine, k: int, progress: Callable[[str, int, int], None] | None = None):
    import faiss
    import numpy as np

    store = engine.store
    doc_ids, texts = [], []
    for doc_id in sorted(store.articles):
        for w in windows(store.articles[doc_id].text):
            doc_ids.append(doc_id)
            texts.append(w)
    h = hashlib.sha1(engine.embedder.name.encode())
    for t in texts:
        h.update(t.encode("utf-8", "replace") + b"\0")
    where = Path(settings().eval_cache) / f"windows{WINDOW_WORDS}-{h.hexdigest()[:12]}.npy"
    vecs = np.load(where) if where.exists() else None
    if vecs is None or len(vecs) != len(texts):
        done = [0]

        def tick(n: int) -> None:
            done[0] += n
            if progress:
                progress("windows: embedding", done[0], len(texts))

        vecs = engine.embedder.encode(texts, progress=tick).astype(np.float32)
        where.parent.mkdir(parents=True, exist_ok=True)
        np.save(where, vecs)
    index = faiss.IndexFlatIP(vecs.shape[1])
    index.add(vecs)

    def retrieve(q: Question) -> list[str]:
        _, ids = index.search(engine.embedder.encode([q.question]).astype(np.float32), k)
        return [doc_ids[i] for i in ids[0] if i >= 0]

    return retrieve


def _llamaindex_dense(engine, k: int):
    import faiss
    from llama_index.core import Settings, StorageContext, VectorStoreIndex
    from llama_index.core.schema import TextNode
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding
    from llama_index.vector_stores.faiss import FaissVectorStore

    from ..embeddings import model_path

    Settings.llm = None  # never an LLM (and never OpenAI) in this path
    embed = HuggingFaceEmbedding(model_name=model_path(), device="cpu", normalize=True)
    Settings.embed_model = embed
    store = engine.store
    ids, vecs = store.vector_matrix()
    nodes = []
    for cid, vec in zip(ids, vecs):
        c = store.chunks[int(cid)]
        nodes.append(TextNode(id_=str(cid), text=c.text, embedding=vec.tolist(), metadata={"doc_id": c.doc_id}))
    vector_store = FaissVectorStore(faiss_index=faiss.IndexFlatIP(store.manifest.dim))
    index = VectorStoreIndex(nodes, storage_context=StorageContext.from_defaults(vector_store=vector_store),
                             embed_model=embed)
    retriever = index.as_retriever(similarity_top_k=k)

    def retrieve(q: Question) -> list[str]:
        return [n.node.metadata["doc_id"] for n in retriever.retrieve(q.question)]

    return retrieve


def gold_in_corpus(rows: list[dict]) -> dict | None:
    """The answer metrics over the answerable questions whose evidence article is in the corpus, beside
    those whose evidence is missing (news-dev: 170 of 2,040 cite an article that is not in its corpus, so
    no answer can cite a gold article for them); None when no evidence is missing."""
    def block(rs: list[dict]) -> dict:  # the whole set's definitions (summarize, compare_answers), on a part
        m, base = summarize(rs), compare_answers(rs, list(ANSWER_BASELINES))
        return {"n": len(rs), "hit@5": m["retrieval"]["hit@5"], "accuracy": m["answer"]["accuracy"],
                "first_citation_gold": m["answer"]["first_citation_gold"],
                "false_abstention": m["abstention"]["false_abstention"],
                **{f"{b}_accuracy": base[b]["accuracy"] for b in ANSWER_BASELINES}}
    missing = [r for r in rows if r.get("gold_in_corpus") is False]
    if not missing:
        return None
    return {"present": block([r for r in rows if r.get("gold_in_corpus")]), "missing": block(missing)}
