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


def _paragraphs(n_words):
    """Paragraphs of distinct stories, each of ``n_words`` words (~one fake token per word)."""
    return [" ".join(f"{topic}{i}" for i in range(n_words - 1)) + "." for topic in ("alpha", "beta", "gamma", "delta")]


def test_a_chunk_ends_at_a_paragraph_once_it_is_filled_and_carries_nothing_across(fake_embedder):
    """A multi-topic article (a roundup): with ``paragraph_fill`` each story is its own chunk, and no
    chunk's overlap drags the end of one story into the next; packing across paragraphs mixes them."""
    paras = _paragraphs(12)
    text = "\n\n".join(paras)
    a = _article(text, title="")
    assert [c.text for c in chunk_article(a, fake_embedder, ChunkingConfig(max_tokens=60, overlap_tokens=10))] == paras
    chunks = chunk_article(a, fake_embedder, ChunkingConfig(max_tokens=60, overlap_tokens=10, paragraph_fill=None))
    assert any("\n\n" in c.text for c in chunks)
    chunks = chunk_article(a, fake_embedder, ChunkingConfig(max_tokens=60, overlap_tokens=10, paragraph_fill=0.2))
    assert [c.text for c in chunks] == paras
    assert all(a.text[c.start:c.end] == c.text for c in chunks)


def test_paragraphs_too_short_to_fill_a_chunk_are_packed_together(fake_embedder):
    """One-line paragraphs (below ``paragraph_fill`` of the budget) still share a chunk with the next."""
    text = "\n\n".join(_paragraphs(4))  # 4 fake tokens each
    chunks = chunk_article(_article(text, title=""), fake_embedder, ChunkingConfig(max_tokens=62, paragraph_fill=0.2))
    # the budget is 60: a chunk takes paragraphs until it holds 12 tokens (0.2 * 60), then ends at the next break
    assert [c.text.count("\n\n") for c in chunks] == [2, 0]
    assert chunks[0].text.startswith("alpha0") and chunks[1].text.startswith("delta0")


def test_a_long_paragraph_is_still_cut_at_sentences_with_overlap_inside_it(fake_embedder):
    para = " ".join(f"Sentence {i} of the long story." for i in range(30))
    text = para + "\n\nA second, short story follows here.\n\nA third one.\n\nA fourth ends it."
    chunks = chunk_article(_article(text, title=""), fake_embedder,
                           ChunkingConfig(max_tokens=40, overlap_tokens=10, paragraph_fill=0.2))
    inside = [c for c in chunks if c.end <= len(para)]
    assert len(inside) > 3
    assert any(inside[i + 1].start < inside[i].end for i in range(len(inside) - 1)), "no overlap inside a paragraph"
    after = [c.text for c in chunks if c.start >= len(para)]  # nothing of the long story carried over
    assert after[0].startswith("A second") and not any("Sentence" in t for t in after)


def test_one_story_is_packed_across_its_paragraphs_a_roundup_is_not(fake_embedder):
    """``multi_topic``: a story names its subject in paragraph after paragraph, a roundup names a new
    one in each. Only a roundup's chunks end at its paragraphs (``paragraph_topics``)."""
    from qa.chunking import multi_topic

    story = "\n\n".join(f"Jammeh {w} on day {i} of the crisis." for i, w in enumerate(["left", "flew", "spoke", "rested"]))
    roundup = "\n\n".join(["Storms hit Florida on day one.", "Markets in Tokyo fell sharply.",
                            "Lyon opened a new museum.", "Kenya won the relay."])
    assert not multi_topic(story) and multi_topic(roundup)
    assert not multi_topic("Storms hit Florida.\n\nMarkets in Tokyo fell.\n\nLyon opened a museum.")  # too few to tell
    cfg = ChunkingConfig(max_tokens=40, overlap_tokens=0, paragraph_fill=0.0)
    assert [c.text.count("\n\n") for c in chunk_article(_article(story, title=""), fake_embedder, cfg)] == [3]
    assert [c.text.count("\n\n") for c in chunk_article(_article(roundup, title=""), fake_embedder, cfg)] == [0] * 4
    every = ChunkingConfig(max_tokens=40, overlap_tokens=0, paragraph_fill=0.0, paragraph_topics=False)
    assert [c.text.count("\n\n") for c in chunk_article(_article(story, title=""), fake_embedder, every)] == [0] * 4
