"""Sentence-aware chunking sized in the embedding model's word pieces, with exact offsets.

Sentences are packed greedily until the token budget is reached; the next chunk starts with
the last sentences of the previous one (up to ``overlap_tokens``). A chunk ends at a paragraph
break (a blank line) once it holds ``paragraph_fill`` of its budget, and no overlap is carried
across one: the paragraphs of a multi-topic article (a roundup, a briefing) are separate stories,
and a chunk that mixes two matches neither (README "Long, multi-topic articles"). Shorter
paragraphs are packed together as before. A sentence longer than the
budget is cut at word boundaries using the tokenizer's own offsets. The embedded text is
``title + "\n" + chunk`` when ``title_in_embedding`` is on, and the budget accounts for it, so
``2 + tokens(embedded text) <= max_tokens`` always holds and the model never truncates.
"""
from __future__ import annotations

from .config import ChunkingConfig
from .embeddings import Embedder
from .text import paragraph_break, sentence_spans
from .types import Article, Chunk

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


def chunk_article(article: Article, embedder: Embedder, config: ChunkingConfig, first_id: int = 0) -> list[Chunk]:
    """Chunks of one article, numbered from ``first_id``."""
    text = article.text
    title_tokens = 0
    if config.title_in_embedding and article.title:
        _, title_tokens = embedding_title(article.title, embedder)
    budget = config.max_tokens - 2 - title_tokens
    if budget < 16:
        raise ValueError(f"chunk budget too small ({budget} tokens); raise max_tokens")
    spans = sentence_spans(text)
    counts = embedder.count_tokens([text[s:e] for s, e in spans])
    units: list[tuple[int, int, int]] = []
    for (s, e), n in zip(spans, counts):
        if n <= budget:
            units.append((s, e, n))
        else:
            pieces = _split_long(text, s, e, budget, embedder)
            for (a, b), m in zip(pieces, embedder.count_tokens([text[a:b] for a, b in pieces])):
                units.append((a, b, m))
    # new_para[i]: unit i opens a paragraph (a blank line before it)
    new_para = [i > 0 and paragraph_break(text, units[i - 1][1], units[i][0]) for i in range(len(units))]
    fill = config.paragraph_fill
    chunks: list[Chunk] = []
    i = 0
    while i < len(units):
        j, total = i, 0
        while j < len(units) and total + units[j][2] <= budget:
            if j > i and new_para[j] and fill is not None and total >= fill * budget:
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
                not (fill is not None and new_para[k]):
            carried += units[k - 1][2]
            k -= 1
        i = k
    return chunks
