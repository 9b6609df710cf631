"""Engine settings, with defaults that can be overridden by environment variables.

QA_STORE       index location: a folder, or postgresql://… (qa/stores/postgres.py); overrides QA_INDEX_DIR
QA_INDEX_DIR   index folder (default ``index_store/``)
QA_TOP_K       passages returned by retrieval (default 8)
"""
from __future__ import annotations

import os
import re
from dataclasses import asdict, dataclass, field

def is_database(location: object) -> bool:
    """Is this index location a PostgreSQL address (``postgresql://…``) rather than a folder?"""
    return isinstance(location, str) and bool(re.match(r"^postgres(ql)?://", location, re.I))


def default_index_dir() -> str:
    """Where the index lives: $QA_STORE (a folder or a postgresql:// address), else $QA_INDEX_DIR,
    else ``index_store/``."""
    return os.environ.get("QA_STORE") or os.environ.get("QA_INDEX_DIR", "index_store")


@dataclass(frozen=True)
class ChunkingConfig:
    max_tokens: int = 128  # word pieces per chunk, special tokens and title prefix included
    overlap_tokens: int = 32  # whole sentences carried over from the previous chunk, at most this many
    title_in_embedding: bool = True  # embed "title\n\ntext" (measured: see README)
    # a chunk ends at a paragraph break (a blank line) once it holds at least this share of its budget,
    # and carries no overlap across one, so a chunk does not mix the stories of a multi-topic article
    # (None: sentences are packed across paragraphs, as indexes built before it were; README "Long articles")
    paragraph_fill: float | None = 0.2
    # ... only in a multi-topic article (qa.chunking.multi_topic); one story is packed across its paragraphs
    # (False: every article with blank lines, as indexes built before it were)
    paragraph_topics: bool = True


@dataclass(frozen=True)
class RetrievalConfig:
    k: int = field(default_factory=lambda: int(os.environ.get("QA_TOP_K", "8")))
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
    near_duplicate_jaccard: float = 0.8


@dataclass(frozen=True)
class AnswerConfig:
    max_sentences: int = 3  # only for questions that ask for several things (answer.needs_several)
    passages_considered: int = 5
    # Sentence scorer and abstention: logistic models fitted on the earlier half of news-dev by date and
    # checked on the later half (python eval/fit_answerer.py prints these; README "Answers and abstention").
    sentence_weights: dict = field(default_factory=lambda: dict(SENTENCE_WEIGHTS))
    confidence_weights: dict = field(default_factory=lambda: dict(CONFIDENCE_WEIGHTS))  # questions without a date
    confidence_weights_dated: dict = field(default_factory=lambda: dict(CONFIDENCE_WEIGHTS_DATED))
    abstain_threshold: float = 0.285  # abstain when the confidence is below it (undated questions)
    abstain_threshold_dated: float = 0.175  # the same for questions with as_of
    # a passage that opens a paragraph has a lead sentence too, not only the article's first passage: in a
    # multi-topic article (a roundup, a briefing) each paragraph opens its own story (README "Long articles")
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


SENTENCE_WEIGHTS = {"bias": -2.6296, "sim": 1.8088, "lex": -0.5545, "pdense": 1.4402, "typed": 2.0, "adds": -1.4494, "novel": 0.5339, "rank": -6.5794, "score_gap": 5.6719, "relevance_gap": -3.0703, "words": 0.2192, "dependent": 0.0, "question_terms": 1.9008, "focus": 1.0, "lead": 1.0}
CONFIDENCE_WEIGHTS = {"bias": -5.1723, "sentence": 0.1105, "relevance": 4.1517, "dense": 4.8181}
CONFIDENCE_WEIGHTS_DATED = {"bias": -5.5145, "sentence": 1.7424, "relevance": 3.1272, "dense": 4.3836, "recent_cue": -1.0751, "fresh_if_cue": 3.3032}


def as_dict(*configs) -> dict:
    out: dict = {}
    for c in configs:
        out[type(c).__name__] = asdict(c)
    return out
