import json

import pytest

from conftest import SEED, needs_shared
from qa.chunking import chunk_article, embedded_text, embedding_title
from qa.config import ChunkingConfig
from qa.loaders import make_article


def _article(text, title="A title"):
    return make_article({"id": "x", "title": title, "text": text}, "test", "x")


def test_offsets_are_exact_and_chunks_overlap(fake_embedder):
    text = " ".join(f"Sentence number {i} talks about topic {i % 7}." for i in range(60))
    a = _article(text)
    cfg = ChunkingConfig(max_tokens=40, overlap_tokens=10)
    chunks = chunk_article(a, fake_embedder, cfg)
    assert len(chunks) > 5
    for c in chunks:
        assert a.text[c.start:c.end] == c.text
        assert c.n_tokens <= 40
    assert any(chunks[i + 1].start < chunks[i].end for i in range(len(chunks) - 1)), "no overlap"
    assert chunks[0].start == 0 and chunks[-1].end == len(a.text)


def test_a_sentence_longer_than_the_budget_is_cut_at_words(fake_embedder):
    a = _article("word " * 300 + "end.")
    chunks = chunk_article(a, fake_embedder, ChunkingConfig(max_tokens=50, overlap_tokens=0))
    assert len(chunks) >= 6
    for c in chunks:
        assert a.text[c.start:c.end] == c.text
        assert not c.text.startswith(" ") and not c.text.endswith(" ")


@pytest.mark.slow
def test_real_tokenizer_never_exceeds_the_model_limit(minilm):
    """With the real MiniLM tokenizer, no embedded chunk is truncated (<= 256 word pieces)."""
    text = ("The Kazakh capital hosted negotiations, which were mediated by Russia, Turkey and Iran. " * 40 +
            "Supercalifragilisticexpialidocious-antidisestablishmentarianism " * 60)
    a = _article(text, title="Negotiations " * 50)
    cfg = ChunkingConfig(max_tokens=256, overlap_tokens=32)
    chunks = chunk_article(a, minilm, cfg)
    title, _ = embedding_title(a.title, minilm)
    for c in chunks:
        assert a.text[c.start:c.end] == c.text
        n = minilm.count_tokens([embedded_text(title, c.text, cfg)])[0] + 2  # + [CLS] and [SEP]
        assert n <= cfg.max_tokens <= minilm.max_tokens
        assert n == c.n_tokens


@needs_shared("seed")
@pytest.mark.slow
def test_seed_article_chunks_cover_it(minilm):
    rec = json.loads(SEED.read_text().splitlines()[0])
    a = make_article(rec, "seed", "seed")
    chunks = chunk_article(a, minilm, ChunkingConfig())
    covered = set()
    for c in chunks:
        assert a.text[c.start:c.end] == c.text
        covered.update(range(c.start, c.end))
    letters = {i for i, ch in enumerate(a.text) if not ch.isspace()}
    assert letters <= covered
