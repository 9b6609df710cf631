"""Sentence-aware chunking sized in the embedding model's word pieces, with exact offsets.

Sentences are packed greedily until the token budget is reached; the next chunk starts with
the last sentences of the previous one (up to ``overlap_tokens``). A chunk ends at a paragraph
break (a blank line) once it holds ``paragraph_fill`` of its budget, and no overlap is carried
across one: the paragraphs of a multi-topic article (a roundup, a briefing) are separate stories,
and a chunk that mixes two matches neither (docs/experiments/2026-12-news-dev-v1.md, "Long, multi-topic articles"). Shorter
paragraphs are packed together as before. A sentence longer than the
budget is cut at word boundaries using the tokenizer's own offsets. The embedded text is
``title + "\n" + chunk`` when ``title_in_embedding`` is on, and the budget accounts for it, so
``2 + tokens(embedded text) <= max_tokens`` always holds and the model never truncates.
"""
from __future__ import annotations

from functools import lru_cache

from . import boilerplate
from .config import ChunkingConfig
from .embeddings import Embedder
from .support import names
from .text import paragraph_break, sentence_spans
from .types import Article, Chunk

# How chunk_article cuts an article; bump it when that changes, so that the indexes the evaluation
# caches by their corpus (qa/evaluation.py) are built again. 2: paragraphs only in multi-topic articles.
# 3: web-page boilerplate lines (qa.boilerplate) are left out of every chunk. 4: arrow-marked links too.
CHUNKER_VERSION = 4


@lru_cache(maxsize=1024)
def multi_topic(text: str) -> bool:
    """Is ``text`` a multi-topic article (a roundup, a briefing) rather than one story? Its paragraphs
    are separate stories when it has four or more and no name recurs in 40 % of them: a story keeps
    naming its subject ("Jammeh", "Astana"), a roundup names a new one in each paragraph. Measured on
    news-dev's roundups (``qa eval --roundups 12``: 85 % of those of 4+ paragraphs), its long articles
    (56 %) and the demo and seed articles (none). With three paragraphs or fewer a story often names its
    subject once and goes on with "he": too few to tell, and short enough to pack."""
    paras = [p for p in text.split("\n\n") if p.strip()]
    if len(paras) < 4:
        return False
    counts: dict[str, int] = {}
    for p in paras:
        for n in names(p):
            counts[n] = counts.get(n, 0) + 1
    return max(counts.values(), default=0) < 0.4 * len(paras)

MAX_TITLE_TOKENS = 32


def embedded_text(title: str, text: str, config: ChunkingConfig) -> str:
    """The text given to the embedding model for a chunk (``title`` already cut by embedding_title)."""
    return f"{title}\n{text}" if config.title_in_embedding and title else text


def embedding_title(title: str, embedder: Embedder) -> tuple[str, int]:
    """The title cut to MAX_TITLE_TOKENS word pieces, and its token count."""
    if not title:
        return "", 0
    ends = embedder.token_ends(title)
    if len(ends) <= MAX_TITLE_TOKENS:
        return title, len(ends)
    cut = ends[MAX_TITLE_TOKENS - 1]
    return title[:cut], MAX_TITLE_TOKENS


MAX_CHARS_PER_TOKEN = 24  # a word piece is rarely longer; bounds the text tokenized per cut


def _split_long(text: str, start: int, end: int, budget: int, embedder: Embedder) -> list[tuple[int, int]]:
    """Cut text[start:end] into pieces of at most ``budget`` word pieces, at whitespace.

    Each cut tokenizes a window of at most ``budget * MAX_CHARS_PER_TOKEN`` characters, so a
    run-on "sentence" of megabytes costs linear time (tokenizing the whole remainder for every
    cut was quadratic: minutes for a 10 MB line). A window holding fewer than ``budget`` pieces
    (one enormous word) is cut at its end."""
    pieces = []
    s = start
    window = budget * MAX_CHARS_PER_TOKEN
    while s < end:
        w_end = min(end, s + window)
        ends = embedder.token_ends(text[s:w_end])
        if len(ends) <= budget and w_end == end:
            pieces.append((s, end))
            break
        limit = s + (ends[budget - 1] if len(ends) > budget else w_end - s)
        cut = text.rfind(" ", s + 1, limit + 1)
        if cut <= s:  # one enormous word: cut at the token boundary (or the window's end) itself
            cut = limit
        pieces.append((s, cut))
        s = cut
        while s < end and text[s].isspace():
            s += 1
    return [(a, b) for a, b in pieces if b > a]


def _story_sentences(text: str, config: ChunkingConfig) -> tuple[list[tuple[int, int]], list[bool]]:
    """The sentence spans of ``text`` outside its boilerplate lines (``config.drop_boilerplate``), and
    for each whether boilerplate was left out just before it."""
    spans = sentence_spans(text)
    skip = boilerplate.lines(text) if config.drop_boilerplate else []
    if not skip:
        return spans, [False] * len(spans)
    kept: list[tuple[int, int]] = []
    cut: list[bool] = []
    b, pending = 0, False
    for s, e in spans:
        while b < len(skip) and skip[b][1] <= s:
            b += 1
        if b < len(skip) and skip[b][0] <= s and e <= skip[b][1] + 1:
            pending = True  # inside a boilerplate line
            continue
        kept.append((s, e))
        cut.append(pending and len(kept) > 1)  # boilerplate at the very start cuts nothing
        pending = False
    return kept, cut


def chunk_article(article: Article, embedder: Embedder, config: ChunkingConfig, first_id: int = 0) -> list[Chunk]:
    """Chunks of one article, numbered from ``first_id``."""
    text = article.text
    title_tokens = 0
    if config.title_in_embedding and article.title:
        _, title_tokens = embedding_title(article.title, embedder)
    budget = config.max_tokens - 2 - title_tokens
    if budget < 16:
        raise ValueError(f"chunk budget too small ({budget} tokens); raise max_tokens")
    spans, cut = _story_sentences(text, config)
    counts = embedder.count_tokens([text[s:e] for s, e in spans])
    units: list[tuple[int, int, int]] = []
    after_cut: list[bool] = []  # unit i follows left-out boilerplate: no chunk spans across it
    for (s, e), n, c in zip(spans, counts, cut):
        if n <= budget:
            units.append((s, e, n))
            after_cut.append(c)
        else:
            pieces = _split_long(text, s, e, budget, embedder)
            for k, ((a, b), m) in enumerate(zip(pieces, embedder.count_tokens([text[a:b] for a, b in pieces]))):
                units.append((a, b, m))
                after_cut.append(c and k == 0)
    # new_para[i]: unit i opens a paragraph (a blank line before it)
    new_para = [i > 0 and paragraph_break(text, units[i - 1][1], units[i][0]) for i in range(len(units))]
    fill = config.paragraph_fill
    if fill is not None and config.paragraph_topics and not multi_topic(text):
        fill = None  # one story: its sentences are packed across paragraphs
    chunks: list[Chunk] = []
    i = 0
    while i < len(units):
        j, total = i, 0
        while j < len(units) and total + units[j][2] <= budget:
            if j > i and (after_cut[j] or new_para[j] and fill is not None and total >= fill * budget):
                break
            total += units[j][2]
            j += 1
        start, end = units[i][0], units[j - 1][1]
        chunks.append(Chunk(id=first_id + len(chunks), doc_id=article.id, start=start, end=end,
                            text=text[start:end], n_tokens=total + 2 + title_tokens))
        if j >= len(units):
            break
        # overlap: carry trailing sentences of this chunk, but always move forward -- and, with
        # paragraph_fill, never from before the paragraph the next chunk starts in
        k, carried = j, 0
        while k - 1 > i and carried + units[k - 1][2] <= config.overlap_tokens and \
                not (fill is not None and new_para[k]) and not after_cut[k]:
            carried += units[k - 1][2]
            k -= 1
        i = k
    return chunks
