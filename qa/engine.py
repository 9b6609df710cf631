"""The engine: the whole question-answering pipeline, top-down, in one place.

    question ──embed──▶ query vector
             ──retrieve (dense + BM25, filters, as_of)──▶ passages
             ──answer (extractive sentence selection / abstention)──▶ answer with [n]
               [reader] in a long article, the sentence holding the language model's short
               answer is quoted (qa.reader)
             ──[judge] a borderline answer's passage: "does it answer?" (qa.judge; "no" abstains)
             ──[mode local/openai] generate from the numbered passages (gated by the
               extractive abstention), then qa.verify every generated sentence
             ──verify (support scorer, per cited sentence)──▶ Answer

``QA`` holds one loaded index generation and reloads it when another process commits a new
one, so a long-running app sees ingests made from the CLI.
"""
from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from . import conversation
from .answer import ABSTAIN_TEXT, EMPTY_TEXT, ExtractiveAnswerer, SentenceVectors
from .config import (
    AnswerConfig,
    ChunkingConfig,
    GenerationConfig,
    RetrievalConfig,
    default_location,
    is_database,
    settings,
)
from .corroborate import CorroborationConfig, Corroborator, lead_with_majority
from .embeddings import Embedder, default_embedder
from .errors import QAError
from .generate import GenerativeAnswerer, draft_answer
from .ingest import IngestReport, Progress, delete, ingest
from .judge import AnswerabilityJudge, JudgeConfig
from .llm import ChatModel, get_model
from .loaders import article_from_document
from .reader import ArticleReader, ReaderConfig
from .retrieval import Retriever
from .stores import Store, current_generation, describe, normalize_source, open_store
from .support import SupportScorer
from .text import normalize_with_map, source_span
from .types import Answer, AnswerMode, Article, Citation, Filters, Passage, Query, Retrieved, Verdict, check_date
from .verify import Verification, verify_answer


def _model_spec(given: ChatModel | str | None, env: str, what: str) -> ChatModel | str | None:
    """A language-model helper's setting (the judge's, the reader's): a ChatModel, "local" or "openai"
    (loaded on first use), or None: off. Not given, $QA_<WHAT> sets it."""
    spec = given if given is not None else (env or None)
    if isinstance(spec, str) and spec not in ("local", "openai"):
        raise QAError(f"unknown {what} {spec!r} (QA_{what.upper()} or --{what}): use 'local' or 'openai', "
                      "or leave it empty")
    return spec


def _chat_model(spec: ChatModel | str) -> ChatModel:
    return get_model(spec) if isinstance(spec, str) else spec


class QA:
    """A question-answering engine over one index (a folder, or a postgresql:// address).

    >>> engine = QA(location="index_store/")
    >>> answer = engine.ask("Who will mediate the Astana talks?", as_of="2017-01-20")
    >>> answer.text, answer.citations, answer.abstained
    """

    def __init__(self, location: str | Path | None = None, embedder: Embedder | None = None,
                 retrieval: RetrievalConfig | None = None, answering: AnswerConfig | None = None,
                 chunking: ChunkingConfig | None = None, generation_config: GenerationConfig | None = None,
                 corroboration: CorroborationConfig | None = None, *, index_dir: str | Path | None = None,
                 judge: ChatModel | str | None = None, judge_config: JudgeConfig | None = None,
                 reader: ChatModel | str | None = None, reader_config: ReaderConfig | None = None):
        where = str(location or index_dir or default_location())  # index_dir: the earlier name
        self.location = where if is_database(where) else Path(where)
        self.embedder = embedder or default_embedder()
        self.retrieval_config = retrieval or RetrievalConfig()
        self.answer_config = answering or AnswerConfig()
        self.chunking = chunking or ChunkingConfig()
        self.generation_config = generation_config or GenerationConfig()
        # None: answers carry no corroboration (qa.corroborate)
        self.corroboration: CorroborationConfig | None = corroboration or CorroborationConfig()
        self.scorer = SupportScorer()
        # borderline answers checked by a language model (qa.judge): a ChatModel, "local" or "openai"
        # (loaded on first use), or None: off ($QA_JUDGE sets it when not given)
        self.judge = _model_spec(judge, settings().judge, "judge")
        self.judge_config = judge_config or JudgeConfig()
        # a long article's quoted sentence chosen by a language model's short answer (qa.reader): the
        # same kinds of value as judge ($QA_READER sets it when not given)
        self.reader = _model_spec(reader, settings().reader, "reader")
        self.reader_config = reader_config or ReaderConfig()
        # sentences embedded for earlier questions (a text's vector does not depend on the index)
        self.sentence_vectors = SentenceVectors(settings().sentence_cache)
        self._lock = threading.RLock()
        self._loaded: str | None = "unloaded"  # the index generation in the snapshot
        self._snapshot: tuple[Store, Retriever]
        self._refresh()

    @property
    def index_dir(self) -> str | Path:
        """The earlier name of ``location``."""
        return self.location

    @property
    def store(self) -> Store:
        return self._snapshot[0]

    @property
    def retriever(self) -> Retriever:
        return self._snapshot[1]

    # ---- index state ------------------------------------------------------------------
    def _refresh(self) -> None:
        """(Re)load the index if its live generation changed on disk."""
        gen = current_generation(self.location)
        if gen == self._loaded:
            return
        with self._lock:
            if gen == self._loaded:
                return
            store = open_store(self.location, self.embedder.name, self.embedder.dim, self.chunking)
            # one assignment: a question takes store and retriever of the same generation
            self._snapshot = (store, Retriever(store, self.embedder, self.retrieval_config))
            self._loaded = gen

    def _judge_model(self) -> ChatModel:
        assert self.judge is not None
        return _chat_model(self.judge)

    def _reader(self, timings: dict[str, float]) -> Callable[[str, list[Passage]], str] | None:
        """The reader the answerer asks in a long article (qa.reader), timed; None when off. The model
        is loaded on the first long article, not for every question."""
        if self.reader is None:
            return None
        spec = self.reader

        def read(question: str, passages: list[Passage]) -> str:
            t = time.perf_counter()
            try:
                return ArticleReader(_chat_model(spec), self.reader_config).read(question, passages)
            finally:
                timings["read"] = (time.perf_counter() - t) * 1000
        return read

    def article_text(self, doc_id: str) -> str:
        """The text that citations of this article index: the text the user gave (KeyError if unknown)."""
        self._refresh()
        return self.store.articles[doc_id].source_text

    def article(self, doc_id: str) -> Article:
        """An article with its metadata; ``article.source_text`` is what citation offsets index."""
        self._refresh()
        a = self.store.articles.get(doc_id)
        if a is None:
            raise QAError(f"no article {doc_id!r} in {describe(self.location)} (see `qa stats --list` for the ids)")
        return a

    # ---- the pipeline -----------------------------------------------------------------
    def query(self, question: str | Query, **options) -> Query:
        """The checked Query for ``question`` and its options (see ``Query``); QAError when bad."""
        if isinstance(question, Query):
            query = Query.build(question.question, max_chars=settings().max_question_chars,
                                **{**{o: getattr(question, o) for o in Query.OPTIONS}, **options})
        else:
            query = Query.build(question, max_chars=settings().max_question_chars, **options)
        self.check_sources(query.sources)
        return query

    def check_sources(self, sources: Iterable[str]) -> None:
        """QAError naming the indexed sources when a filter asks for one the index does not hold
        (a typo would otherwise search nothing and abstain, as if the articles did not say)."""
        wanted = [s for s in sources if s]
        if not wanted:
            return
        self._refresh()
        known = self.store.source_counts()
        have = {normalize_source(k) for k in known}
        missing = [s for s in wanted if normalize_source(s) not in have]
        if missing:
            listed = sorted(known, key=lambda k: -known[k])
            shown = ", ".join(listed[:20]) + (f" … ({len(listed)} in all)" if len(listed) > 20 else "")
            raise QAError(f"unknown source {missing[0]!r}; the index holds: {shown or 'no sources'}")

    def ask(self, question: str | Query, on_token: Callable[[str], None] | None = None, **options) -> Answer:
        """Answer ``question`` from the indexed articles, with citations, or abstain.

        ``options`` are those of ``Query`` (k, as_of, sources, date_from, date_to, retrieval,
        search_query, history, mode, verify, gate, drop_unsupported); ``on_token`` receives a
        generated answer's text as the model streams it.
        """
        answer = None
        for event in self.ask_stream(question, **options):
            if isinstance(event, Answer):
                answer = event
            elif on_token is not None and isinstance(event, str):
                on_token(event)
        assert answer is not None
        return answer

    def ask_stream(self, question: str | Query, *, passages_first: bool = False,
                   **options) -> Iterator[str | Retrieved | Answer]:
        """Like ``ask``, as a generator: the model's text deltas (generated modes), then the Answer;
        ``passages_first``: a ``Retrieved`` event with the passages (offsets into the users' texts) as
        soon as they are found. The question and its options are checked before the first event (QAError)."""
        query = self.query(question, **options)
        model = get_model(query.mode.value) if query.mode is not AnswerMode.EXTRACTIVE else None  # fail fast
        return self._answer(query, model, passages_first)

    def search(self, query: str | Query, **options) -> list[Passage]:
        """The passages retrieval finds for ``query`` (options as for ``ask``: k, as_of, sources,
        date_from, date_to, retrieval), their offsets and texts those of the users' own texts."""
        q = self.query(query, **options)
        self._refresh()
        store, retriever = self._snapshot
        if not len(store):
            return []
        passages = retriever.search(q.search_query or q.question, k=q.k or self.retrieval_config.k,
                                    filters=q.filters, mode=q.retrieval)
        return _source_passages(passages, _ArticleTexts(store))

    def _answer(self, q: Query, model, passages_first: bool = False) -> Iterator[str | Retrieved | Answer]:
        mode = q.mode.value
        overrides = {"verify": q.verify, "gate": q.gate, "drop_unsupported": q.drop_unsupported}
        gen_cfg = replace(self.generation_config, **{k_: v for k_, v in overrides.items() if v is not None})
        filters = q.filters
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        self._refresh()
        store, retriever = self._snapshot
        question = q.question
        history = list(q.history)
        query = (q.search_query or conversation.search_query(question, history)).strip()
        if not len(store):
            yield Answer(question=question, text=EMPTY_TEXT, citations=[], abstained=True, passages=[],
                         search_query=query, mode=mode, timings={"total": (time.perf_counter() - t0) * 1000})
            return
        # 1. retrieve
        t = time.perf_counter()
        qvec = self.embedder.encode([query])[0]
        timings["embed"] = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        pool: list[int] = []
        passages = retriever.search(query, k=q.k or self.retrieval_config.k, filters=filters, mode=q.retrieval,
                                    query_vec=qvec, pool=pool)
        timings["retrieve"] = (time.perf_counter() - t) * 1000
        text_of = _ArticleTexts(store)
        if passages_first:
            yield Retrieved(passages=_source_passages(passages, text_of))
        # 2. extract: the answer in extractive mode, and the retrieval gate of generated modes
        t = time.perf_counter()
        answerer = ExtractiveAnswerer(self.embedder, text_of, self.answer_config,
                                      term_weight=retriever.idf, cache=self.sentence_vectors)
        # a follow-up is matched with its context, but its own words decide which sentence answers it
        answer = answerer.answer(query, qvec, passages, as_of=filters.as_of, asked=question,
                                 reader=self._reader(timings))
        answer.question = question
        timings["answer"] = (time.perf_counter() - t) * 1000
        # 2b. a borderline answer: does its passage answer the question? (qa.judge; a "no" abstains)
        if self.judge is not None and not answer.abstained and answer.citations and self.judge_config.borderline(
                answer.confidence, answerer.threshold(filters.as_of), filters.as_of is not None):
            t = time.perf_counter()
            cited = answer.citations[0]
            passage = next((p for p in passages if p.rank == cited.passage_rank), passages[0])
            # the model is loaded on the first borderline answer, not for every question
            answer.judged = AnswerabilityJudge(self._judge_model(), self.judge_config).answers(question, passage)
            timings["judge"] = (time.perf_counter() - t) * 1000
            if answer.judged is False:
                answer = Answer(question=question, text=ABSTAIN_TEXT, citations=[], abstained=True,
                                passages=passages, confidence=answer.confidence, judged=False)
        # 3. generate and verify (language-model modes)
        gate_open = not answer.abstained
        if model is not None and (gate_open or not gen_cfg.gate):
            generator = GenerativeAnswerer(model, text_of, self.scorer, gen_cfg)
            t = time.perf_counter()
            for event in generator.stream(question, passages, history):
                if isinstance(event, str):
                    yield event
                else:
                    generated = event
            timings["first_token"] = (t - t0) * 1000 + generated.timings["first_token"]
            timings.update({k_: v for k_, v in generated.timings.items() if k_ != "first_token"})
            confidence = answer.confidence
            answer = generated.final
            answer.confidence = confidence
            answer.draft = generated.draft
            if generated.verification is not None:
                answer.verification = _verdicts(generated.verification)
            if answer.abstained and gen_cfg.drop_unsupported:
                answer.text = ABSTAIN_TEXT
        else:
            t = time.perf_counter()
            self.verify(answer)
            timings["verify"] = (time.perf_counter() - t) * 1000
        if model is not None:
            answer.retrieval_gate = gate_open
        # 4. corroborate: the other articles stating the answer's value, by independent outlet; conflicts
        if self.corroboration is not None:
            t = time.perf_counter()
            corroborator = Corroborator(text_of.article, text_of, retriever.idf, self.corroboration)
            answer.corroboration = corroborator.corroborate(answer, question, pool,
                                                            lambda cid: store.chunks[cid].doc_id)
            if answer.corroboration is not None and answer.corroboration.conflict is not None and model is None:
                lead_with_majority(answer, answer.corroboration)
                self.verify(answer)
            timings["corroborate"] = (time.perf_counter() - t) * 1000
        answer.mode = mode
        timings["total"] = (time.perf_counter() - t0) * 1000
        timings.setdefault("first_token", timings["total"])  # an extractive answer appears all at once
        answer.timings = timings
        answer.search_query = query
        _keep_texts(answer, text_of)
        yield answer

    def verify_text(self, answer_text: str, question: str, k: int = 5, as_of: str | None = None,
                    drop_unsupported: bool = True) -> Answer:
        """Check any answer (an external system's, or typed by a user) with qa.verify.

        Passages are retrieved for ``question`` and numbered [1]..[k] as in a generated answer's
        prompt; the returned Answer keeps the text as given in ``draft`` and the per-sentence
        verdicts in ``verification``.
        """
        if not (answer_text or "").strip():
            raise QAError("the answer to verify is empty")
        self._refresh()
        store, retriever = self._snapshot
        passages = retriever.search(question, k=k, filters=Filters(as_of=check_date("as_of", as_of)))
        text_of = _ArticleTexts(store)
        v = verify_answer(answer_text, passages, text_of, self.scorer, drop_unsupported=drop_unsupported,
                          question=question)
        answer = Answer(question=question, text=v.text if not (v.abstained and drop_unsupported) else ABSTAIN_TEXT,
                        citations=v.citations, abstained=v.abstained, passages=passages, mode="verified")
        answer.draft = draft_answer(question, answer_text, passages, text_of, self.scorer)
        answer.verification = _verdicts(v)
        _keep_texts(answer, text_of)
        return answer

    def verify(self, answer: Answer) -> None:
        """Score each citation's quote against its passage; drop citations that fail."""
        by_rank = {p.rank: p for p in answer.passages}
        for c in answer.citations:
            passage = by_rank.get(c.passage_rank)
            evidence = passage.text if passage else c.quote
            c.support = self.scorer.score(c.quote, evidence).score

    # ---- managing the index -----------------------------------------------------------
    def ingest(self, paths: Iterable[str | Path] = (), articles: Iterable[Any] | None = None,
               progress: Progress | None = None, strict: bool = False, wait: float | None = None,
               on_wait: Callable[[str], None] | None = None) -> IngestReport:
        """Add/update articles from files, folders and/or ``articles``: Article objects or LlamaIndex
        ``Document``s (qa.loaders.article_from_document), atomic per batch and incremental.
        A malformed JSONL line or CSV row is skipped and listed in ``report.skipped`` (``strict``: the
        whole file is refused). Another writer is waited for up to ``wait`` seconds (default
        QA_LOCK_TIMEOUT), ``on_wait`` told once that it waits."""
        given = []
        for i, a in enumerate(articles or []):
            try:
                given.append(a if isinstance(a, Article) else article_from_document(a))
            except ValueError as e:
                raise QAError(f"document {i} ({getattr(a, 'id_', type(a).__name__)}): {e}; nothing was indexed") from None
        report = ingest(paths, self.location, self.embedder, self.chunking, progress, articles=given,
                        strict=strict, wait=wait, on_wait=on_wait)
        self._refresh()
        return report

    def delete(self, doc_ids: Iterable[str]) -> tuple[list[str], list[str]]:
        """Remove articles by id; returns (deleted, not found)."""
        out = delete(doc_ids, self.location, self.embedder)
        self._refresh()
        return out

    def newest_date(self, sources: Iterable[str] | None = None) -> str | None:
        """The newest article's publication date (among ``sources`` when given): the chat app's
        default "as of" date, so the date prior favours the latest news unless cleared."""
        self._refresh()
        wanted = {normalize_source(s) for s in sources} if sources else None
        dates = [d for d, src in self.store.published_dates() if wanted is None or normalize_source(src) in wanted]
        return max(dates) if dates else None

    def articles(self) -> list[Article]:
        self._refresh()
        return list(self.store.articles.values())

    def stats(self) -> dict:
        self._refresh()
        s = self.store
        dates = sorted(d for d, _ in s.published_dates())
        sources = s.source_counts()
        return {
            "index_dir": describe(self.location),
            "generation": s.generation_name,
            "articles": len(s.articles),
            "chunks": len(s.chunks),
            "model": s.manifest.model,
            "dim": s.manifest.dim,
            "chunking": s.manifest.chunking,
            "format_version": s.manifest.format_version,
            "updated": s.manifest.updated,
            "published_range": [dates[0], dates[-1]] if dates else None,
            "sources": dict(sorted(sources.items(), key=lambda kv: -kv[1])),
        }


class _ArticleTexts:
    """doc id -> article text in one answer's snapshot, each article read from the store once
    (candidate sentences, cited spans, quotes and the kept texts all ask for the same few)."""

    def __init__(self, store: Store):
        self.article = functools.cache(lambda d: store.articles[d])

    def __call__(self, doc_id: str) -> str:
        return self.article(doc_id).text

    def to_source(self, doc_id: str, start: int, end: int) -> tuple[int, int, str] | None:
        """A span of the normalised text as (start, end, text) of the user's own text; None when the
        two are the same text (or the map does not lead back to it)."""
        a = self.article(doc_id)
        w = _source_map(a.original, a.text) if a.original else None
        if w is None:
            return None
        start, end = source_span(w, start, end)
        return start, end, a.original[start:end]


def _keep_texts(answer: Answer, text_of: _ArticleTexts) -> None:
    """Carry the answer's offsets back to the user's own texts, and keep the cited articles' texts
    from the answer's own snapshot (see Answer.article_texts).

    The pipeline works on the normalised text (``Article.text``); every citation's and passage's
    ``start``/``end`` are moved here to the text the user gave (``Article.source_text``, which
    ``QA.article``, ``qa show`` and ``qa ask --json --with-text`` return), and each quote becomes
    that text's slice, so ``source_text[start:end] == quote`` holds for the user's own file."""
    drafts = answer.draft.citations if answer.draft else []
    every = {id(c): c for c in [*answer.citations, *drafts, *_corroborating(answer)]}
    for c in every.values():  # each Citation object once (a report and the answer may share one)
        moved = text_of.to_source(c.doc_id, c.start, c.end)
        if moved is not None:
            c.start, c.end, c.quote = moved
    answer.passages = _source_passages(answer.passages, text_of)
    cited = [c.doc_id for c in every.values()]
    answer.article_texts = {d: text_of.article(d).source_text for d in dict.fromkeys(cited)}


def _corroborating(answer: Answer) -> list[Citation]:
    """The citations of the answer's corroboration and conflict (not numbered in its text)."""
    out = [o for c in answer.citations for o in c.corroborated_by]
    k = answer.corroboration
    if k is not None:
        out += [c for c in (k.first_reported, k.latest_reported) if c is not None]
        if k.conflict is not None:
            out += [c for r in k.conflict.reports for c in r.citations]
    return out


def _source_passages(passages: list[Passage], text_of: _ArticleTexts) -> list[Passage]:
    """The passages with their chunks' offsets and texts moved to the users' own texts."""
    out = []
    for p in passages:
        moved = text_of.to_source(p.doc_id, p.chunk.start, p.chunk.end)
        if moved is not None:
            p = replace(p, chunk=replace(p.chunk, start=moved[0], end=moved[1], text=moved[2]))
        out.append(p)
    return out


@functools.lru_cache(maxsize=512)
def _source_map(original: str, text: str) -> list[int] | None:
    """Where each character of an article's normalised ``text`` came from in its ``original`` (None
    when the map does not lead back to this very text); kept for the articles answered from most
    often, since mapping a long article costs a millisecond or two."""
    mapped = normalize_with_map(original)
    return mapped[1] if mapped is not None and mapped[0] == text else None


def _verdicts(v: Verification) -> list[Verdict]:
    return [Verdict(sentence=x.sentence, cited=x.cited, kept=x.kept, passage=x.passage_rank,
                    corrected=x.corrected, reasons=x.reasons) for x in v.verdicts]


_ENGINES: dict[str, QA] = {}
_ENGINES_LOCK = threading.Lock()


def get_engine(location: str | Path | None = None) -> QA:
    """A shared engine per index location (the embedding model is loaded once; threads that ask
    at the same time get the same engine)."""
    where = str(location or default_location())
    key = where if is_database(where) else str(Path(where).resolve())
    with _ENGINES_LOCK:
        if key not in _ENGINES:
            _ENGINES[key] = QA(location=where)
        return _ENGINES[key]


def ask(question: str | Query, location: str | Path | None = None, **options) -> Answer:
    """Answer a question from the default index ($QA_STORE, $QA_INDEX_DIR or ``index_store/``);
    ``options`` are those of ``Query``."""
    return get_engine(location).ask(question, **options)
