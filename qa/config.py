"""Every setting in one place: the engine's config dataclasses, and the environment variables
(``ENVIRONMENT``), read by one function (``settings()``) when they are used, never at import.

The README's configuration table lists ``ENVIRONMENT``; tests/test_config.py checks that no other
module reads a ``QA_*`` variable and that the table is complete.
"""
from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path


@dataclass(frozen=True)
class Variable:
    name: str
    default: str
    help: str
    field: str  # the Settings field it sets
    also: tuple[str, ...] = ()  # other names read when it is unset, in order


ENVIRONMENT: tuple[Variable, ...] = (
    Variable("QA_STORE", "", "index location: a folder or a postgresql:// address (overrides QA_INDEX_DIR)", "store"),
    Variable("QA_INDEX_DIR", "index_store", "index folder", "index_dir"),
    Variable("QA_TOP_K", "8", "passages retrieved per question", "top_k"),
    Variable("QA_MAX_QUESTION_CHARS", "2000", "longest question accepted", "max_question_chars"),
    Variable("QA_SENTENCE_CACHE", "50000", "sentence vectors kept between questions", "sentence_cache"),
    Variable("QA_THREADS", "0", "encoder threads (0: every core)", "threads"),
    Variable("QA_EMBED_BACKEND", "onnx", "embedding backend: onnx, onnx-int8 or torch", "embed_backend"),
    Variable("QA_CACHE_DIR", "", "cache folder for the converted encoder and the assembled local model "
             "(default $XDG_CACHE_HOME/newsqa or ~/.cache/newsqa)", "cache_dir", ("QA_MODEL_CACHE",)),
    Variable("QA_MAX_FILE_MB", "50", "largest file ingested or uploaded, in MB (JSONL and CSV stream past it)",
             "max_file_mb"),
    Variable("QA_COMMIT_CHUNKS", "4096", "chunks per ingest commit (a large ingest commits batch by batch)",
             "commit_chunks"),
    Variable("QA_LOCK_TIMEOUT", "60", "seconds a second writer waits for the index lock (ingest --wait)", "lock_timeout"),
    Variable("QA_ANN_MIN", "200000", "vectors from which a merged segment becomes IVF-SQ8", "ann_min"),
    Variable("QA_LEXICAL_POSTINGS", "300000", "BM25 postings scored per query before common terms are left out",
             "lexical_postings"),
    Variable("QA_PG_SCHEMA", "newsqa", "PostgreSQL schema of the index", "pg_schema"),
    Variable("QA_PG_INDEX_MEMORY", "1GB", "PostgreSQL maintenance_work_mem for a bulk HNSW build", "pg_index_memory"),
    Variable("QA_LLM_MODEL_PATH", "", "a GGUF file for answer mode local (default: the packaged model)",
             "llm_model_path"),
    Variable("QA_JUDGE", "", "check borderline extractive answers with a language model: local or openai "
             "(empty: off; qa.judge)", "judge"),
    Variable("QA_READER", "", "choose a long article's quoted sentence by a language model's short answer: local or "
             "openai (empty: off; qa.reader)", "reader"),
    Variable("QA_LLM_EXTRA_BUFFERS", "0", "1: let llama.cpp use its extra buffer types (AMX)", "llm_extra_buffers"),
    Variable("QA_OPENAI_BASE_URL", "", "OpenAI-compatible endpoint for answer mode openai", "openai_base_url",
             ("OPENAI_BASE_URL",)),
    Variable("QA_OPENAI_MODEL", "", "model name at that endpoint", "openai_model"),
    Variable("QA_OPENAI_API_KEY", "", "its API key", "openai_api_key", ("OPENAI_API_KEY",)),
    Variable("QA_OPENAI_TIMEOUT", "60", "seconds to wait for it", "openai_timeout"),
    Variable("QA_PORT", "7860", "port of the chat app", "port"),
    Variable("QA_AUTH", "", "user:password[,user:password] logins for the chat app (prefer --auth-file)", "auth"),
    Variable("QA_API_KEYS", "", "API keys for /v1 and /mcp, comma-separated (prefer --api-keys-file)", "api_keys"),
    Variable("QA_MAX_REQUEST_MB", "100", "largest request body of qa serve's upload (other /v1 and /mcp bodies: 1 MB)",
             "max_request_mb"),
    Variable("QA_ANSWER_WORKERS", "0", "qa serve: processes answering extractive questions (0: one per core, "
             "1: answer in the server process)", "answer_workers"),
    Variable("QA_MAX_UPLOAD_FILES", "20", "files per upload in the chat app", "max_upload_files"),
    Variable("QA_UPLOAD_DIR", "", "where the chat app keeps uploads (default: uploads/ in the index folder)",
             "upload_dir"),
    Variable("QA_FEEDBACK_FILE", "feedback.jsonl", "where the chat app appends answer feedback", "feedback_file"),
    Variable("QA_EVAL_CACHE", ".cache/eval-index", "where qa eval keeps the indexes it builds", "eval_cache"),
    Variable("QA_DEBUG", "0", "1: print tracebacks", "debug"),
    Variable("QA_CRASH_AT", "", "fault injection for the kill tests: point[:n]", "crash_at"),
)


@dataclass(frozen=True)
class Settings:
    """The environment's settings, typed (``settings()`` reads them)."""
    store: str
    index_dir: str
    top_k: int
    max_question_chars: int
    sentence_cache: int
    threads: int
    embed_backend: str
    cache_dir: Path
    max_file_mb: float
    commit_chunks: int
    lock_timeout: float
    ann_min: int
    lexical_postings: int
    pg_schema: str
    pg_index_memory: str
    llm_model_path: str
    judge: str
    reader: str
    llm_extra_buffers: bool
    openai_base_url: str
    openai_model: str
    openai_api_key: str
    openai_timeout: float
    port: int
    auth: str
    api_keys: str
    max_request_mb: float
    answer_workers: int
    max_upload_files: int
    upload_dir: str
    feedback_file: str
    eval_cache: str
    debug: bool
    crash_at: str

    @property
    def location(self) -> str:
        """Where the index lives: $QA_STORE (a folder or a postgresql:// address), else $QA_INDEX_DIR."""
        return self.store or self.index_dir


def settings(environ: Mapping[str, str] | None = None) -> Settings:
    """The settings in ``environ`` (default: this process's environment, read now)."""
    env: Mapping[str, str] = os.environ if environ is None else environ
    types = {f.name: f.type for f in fields(Settings)}
    values: dict = {}
    for v in ENVIRONMENT:
        raw = next((env[n] for n in (v.name, *v.also) if env.get(n)), v.default)
        kind = types[v.field]
        try:
            if kind == "int":
                values[v.field] = int(raw)
            elif kind == "float":
                values[v.field] = float(raw)
            elif kind == "bool":
                values[v.field] = raw.strip().lower() not in ("", "0", "false", "no")
            else:
                values[v.field] = raw
        except ValueError:
            raise ValueError(f"{v.name}={raw!r} is not a valid {kind}: {v.help} (default {v.default})") from None
    cache = values["cache_dir"] or os.path.join(env.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "newsqa")
    values["cache_dir"] = Path(cache).expanduser()
    return Settings(**values)


def set_variable(name: str, value: str) -> None:
    """Set one declared variable for this process and the processes it starts (qa serve's answer
    workers take ``QA_THREADS=1`` so that they share the cores)."""
    if name not in {v.name for v in ENVIRONMENT}:
        raise KeyError(f"{name} is not a variable of ENVIRONMENT")
    os.environ[name] = value


def offline_environment() -> None:
    """Keep Hugging Face libraries off the network and quiet (before they are imported)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


def is_database(location: object) -> bool:
    """Is this index location a PostgreSQL address (``postgresql://…``) rather than a folder?"""
    return isinstance(location, str) and bool(re.match(r"^postgres(ql)?://", location, re.I))


def default_location() -> str:
    """Where the index lives unless told: $QA_STORE, else $QA_INDEX_DIR, else ``index_store/``."""
    return settings().location


WEIGHTS_FILE = Path(__file__).with_name("answerer_weights.json")


@functools.cache
def fitted_weights() -> dict:
    """The answerer's fitted weights and thresholds (qa/answerer_weights.json)."""
    data = json.loads(WEIGHTS_FILE.read_text(encoding="utf-8"))
    return {k: v for k, v in data.items() if not k.startswith("_")}


@dataclass(frozen=True)
class ChunkingConfig:
    max_tokens: int = 128  # word pieces per chunk, special tokens and title prefix included
    overlap_tokens: int = 32  # whole sentences carried over from the previous chunk, at most this many
    title_in_embedding: bool = True  # embed "title\n\ntext" (measured: docs/experiments/2026-12-news-dev-v1.md)
    # a chunk ends at a paragraph break (a blank line) once it holds at least this share of its budget,
    # and carries no overlap across one, so a chunk does not mix the stories of a multi-topic article
    # (None: sentences are packed across paragraphs, as indexes built before it were; docs/answering.md)
    paragraph_fill: float | None = 0.2
    # ... only in a multi-topic article (qa.chunking.multi_topic); one story is packed across its paragraphs
    # (False: every article with blank lines, as indexes built before it were)
    paragraph_topics: bool = True
    # web-page boilerplate lines (sign-up boxes, ad widgets, related-story links, bylines: qa.boilerplate)
    # are left out of every chunk, so they are never searched or quoted (False: as indexes built before it)
    drop_boilerplate: bool = True


@dataclass(frozen=True)
class RetrievalConfig:
    k: int = field(default_factory=lambda: settings().top_k)
    candidates: int = 60  # per retriever, before fusion
    rrf_k: int = 60
    dense_weight: float = 1.0
    lexical_weight: float = 0.25
    recency_half_life_days: float = 7.0  # as_of: weight of an article halves every this many days
    recency_weight: float = 2.0  # rrf: fused score x (1 + recency_weight * 0.5 ** (age / half_life))
    fusion: str = "linear"  # "linear": weighted cosine + scaled BM25 + recency bonus; "rrf": rank fusion
    recency_bonus: float = 0.4  # linear: + recency_bonus * 0.5 ** (age / half_life), top candidates only
    recency_top_n: int = 40  # the date prior applies only among this many most relevant candidates (0 = all)
    recency_no_cue: float = 1.0  # the prior's strength when the question has no "this week"/"latest" cue
    max_per_article: int = 3
    # the first this many passages come from different articles (1: score order only): on
    # news-fullarticles-dev hit@5 0.786 -> 0.839; a long article's second passage, which often holds the
    # answer, is still read (AnswerConfig.same_article_passages; docs/answering.md, "Long articles")
    diverse_top: int = 5
    near_duplicate_jaccard: float = 0.8


@dataclass(frozen=True)
class AnswerConfig:
    max_sentences: int = 3  # only for questions that ask for several things (answer.needs_several)
    passages_considered: int = 5
    # also read the passages further down (up to the retrieved k) whose article is among the first
    # passages_considered: with RetrievalConfig.diverse_top, a long article's second and third passages
    same_article_passages: bool = True
    # Sentence scorer and abstention: logistic models fitted on the earlier half of news-dev by date and
    # checked on the later half, read from qa/answerer_weights.json (written by eval/fit_answerer.py --write;
    # docs/answering.md)
    sentence_weights: dict = field(default_factory=lambda: dict(fitted_weights()["sentence_weights"]))
    # when the answer's article is this long or longer (a web page rather than a news paragraph), a scorer
    # fitted on long articles chooses its sentence ({} = the common one always); the common scorer still
    # chooses the article and gives the confidence (answer.ExtractiveAnswerer.within_article)
    long_sentence_weights: dict = field(default_factory=lambda: dict(fitted_weights().get("long_sentence_weights", {})))
    long_article_chars: int = 1500
    # questions without a date
    confidence_weights: dict = field(default_factory=lambda: dict(fitted_weights()["confidence_weights"]))
    confidence_weights_dated: dict = field(default_factory=lambda: dict(fitted_weights()["confidence_weights_dated"]))
    # abstain when the confidence is below it (undated questions; then questions with as_of)
    abstain_threshold: float = field(default_factory=lambda: fitted_weights()["abstain_threshold"])
    abstain_threshold_dated: float = field(default_factory=lambda: fitted_weights()["abstain_threshold_dated"])
    # a passage that opens a paragraph has a lead sentence too, not only the article's first passage: in a
    # multi-topic article (a roundup, a briefing) each paragraph opens its own story (docs/answering.md)
    paragraph_leads: bool = True
    lead_pair_words: int = 55  # a lead paragraph's two likeliest sentences are cited together up to this length,
    lead_pair_ratio: float = 0.6  # when the second's probability is at least this share of the first's
    # in one story (not multi_topic), the sentence right after a lead-paragraph sentence may join it from
    # the next passage: newswire's one-sentence lead paragraph goes on in the next (each part cites its own)
    lead_pair_across_first: bool = True
    contrast_words: int = 55  # the next sentence joins when it opens with "However"/"But" (0 = never), up to this length
    relative_margin: float = 0.85  # extra sentences (several-part questions) score within this ratio of the best
    other_article_margin: float = 0.5  # the answer leaves the top passage's article only for a sentence whose
    # log-odds are this much higher (odds 1.65x)
    context_penalty: float = 0.08  # cost of reading a sentence together with the one before it (pair_vectors)
    # "sum": a sentence read with the one before it is the normalised sum of their vectors (each
    # sentence embedded once); "embed": the pair embedded as one text (exact, about 1.8x the tokens)
    pair_vectors: str = "sum"
    lazy_embedding: bool = True  # embed only the sentences that can change the answer (answer.score)
    focus_weight: float = 2.0  # extra weight of the question's focus word (see answer.focus_term)


@dataclass(frozen=True)
class GenerationConfig:
    """Generated answers (answer modes "local" and "openai"; qa/generate.py)."""
    passages: int = 3  # top retrieved passages put in the prompt ([1]..[n]; 3 beat 5 on news-dev)
    max_tokens: int = 160
    history_turns: int = 2  # earlier turns of a conversation shown to the model
    verify: bool = True  # run qa.verify on the draft (False: show the model's draft as written)
    drop_unsupported: bool = True  # False: keep unsupported sentences, marked "[unsupported]"
    gate: bool = True  # abstain without generating when retrieval finds nothing close (extractive gate)


def as_dict(*configs) -> dict:
    out: dict = {}
    for c in configs:
        out[type(c).__name__] = asdict(c)
    return out


def environment_table() -> str:
    """The README's configuration table (``python -m qa.config``)."""
    rows = ["| variable | default | what it sets |", "| --- | --- | --- |"]
    for v in ENVIRONMENT:
        also = f" (or {', '.join(v.also)})" if v.also else ""
        rows.append(f"| `{v.name}`{also} | {f'`{v.default}`' if v.default else '—'} | {v.help} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(environment_table())
