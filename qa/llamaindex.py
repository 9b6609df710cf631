"""LlamaIndex integration: our retrieval as a ``BaseRetriever``, our verified, cited answers as a
query engine, and LlamaIndex ``Document``s into ``QA.ingest`` (qa.loaders.article_from_document).
Importable without the server.

    from llama_index.core.query_engine import RetrieverQueryEngine
    from qa.llamaindex import NewsQueryEngine, NewsRetriever

    retriever = NewsRetriever(QA(location="index_store/"), k=5, as_of="2017-01-20")
    nodes = retriever.retrieve("Who will mediate the Astana talks?")   # NodeWithScore, exact offsets
    engine = RetrieverQueryEngine.from_args(retriever, llm=your_llm)      # LlamaIndex's own engine
    response = NewsQueryEngine(QA(location="index_store/")).query("Who will mediate the Astana talks?")
    response.response, response.source_nodes                            # the cited answer, the cited passages
"""
from __future__ import annotations

import asyncio
from typing import Any

from llama_index.core.base.base_query_engine import BaseQueryEngine
from llama_index.core.base.response.schema import Response
from llama_index.core.callbacks import CallbackManager
from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from .engine import QA
from .types import Answer, Passage

# offsets and scores stay out of the text an LLM or an embedding model sees
_HIDDEN = ["doc_id", "start", "end", "quote_start", "quote_end", "n", "rank", "support"]


def _node(p: Passage, **extra: Any) -> TextNode:
    meta = {"doc_id": p.doc_id, "title": p.title, "source": p.source, "url": p.url, "published": p.published,
            "start": p.chunk.start, "end": p.chunk.end, "rank": p.rank, **extra}
    return TextNode(id_=f"{p.doc_id}:{p.chunk.start}-{p.chunk.end}", text=p.text, metadata=meta,
                    excluded_llm_metadata_keys=_HIDDEN, excluded_embed_metadata_keys=_HIDDEN)


class NewsRetriever(BaseRetriever):
    """Hybrid retrieval (dense + BM25, filters, the ``as_of`` prior) over a QA index. Each node is a
    passage whose metadata hold doc_id, title, source, url, published and ``start``/``end``:
    ``QA.article(doc_id).source_text[start:end] == node.text``."""

    def __init__(self, engine: QA | None = None, *, k: int | None = None, as_of: str | None = None,
                 sources: list[str] | None = None, date_from: str | None = None, date_to: str | None = None,
                 retrieval: str = "hybrid", callback_manager: CallbackManager | None = None):
        super().__init__(callback_manager=callback_manager)
        self.engine = engine or QA()
        self.options: dict[str, Any] = {"k": k, "as_of": as_of, "sources": sources, "date_from": date_from,
                                        "date_to": date_to, "retrieval": retrieval}
        self.engine.query("check", **self.options)  # a bad option fails here, not at the first question

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return [NodeWithScore(node=_node(p), score=p.score)
                for p in self.engine.search(query_bundle.query_str, **self.options)]


class NewsQueryEngine(BaseQueryEngine):
    """Our answer as a LlamaIndex ``Response``: ``response`` is the verified answer with [n] markers
    (or the abstention), ``source_nodes`` the cited passages in [n] order (metadata: the citation's
    n, quote and its ``quote_start``/``quote_end`` offsets, beside the passage's), ``metadata`` the
    whole ``qa ask --json`` object."""

    def __init__(self, engine: QA | None = None, callback_manager: CallbackManager | None = None, **options: Any):
        super().__init__(callback_manager=callback_manager)
        self.engine = engine or QA()
        self.options = options
        self.engine.query("check", **options)

    def _response(self, answer: Answer) -> Response:
        by_rank = {p.rank: p for p in answer.passages}
        nodes = []
        for c in answer.citations:
            p = by_rank.get(c.passage_rank)
            if p is None:
                continue
            nodes.append(NodeWithScore(node=_node(p, n=c.n, quote=c.quote, quote_start=c.start, quote_end=c.end,
                                                  support=c.support), score=c.support))
        return Response(response=answer.text, source_nodes=nodes, metadata=answer.to_dict())

    def _query(self, query_bundle: QueryBundle) -> Response:
        return self._response(self.engine.ask(query_bundle.query_str, **self.options))

    async def _aquery(self, query_bundle: QueryBundle) -> Response:
        return await asyncio.to_thread(self._query, query_bundle)

    def _get_prompt_modules(self) -> dict[str, Any]:
        return {}
