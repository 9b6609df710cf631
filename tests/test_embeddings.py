"""The ONNX Runtime MiniLM against sentence-transformers (the real model, both backends)."""
import numpy as np
import pytest

from qa.embeddings import BACKENDS, MiniLMEmbedder, OnnxMiniLMEmbedder, default_embedder

TEXTS = [
    "Russia, Turkey and Iran will mediate the Astana talks.",
    "A short one.",
    "An avalanche buried the Hotel Rigopiano in Abruzzo after a series of earthquakes; " * 12,  # > 256 pieces
    "Ünïcode, emoji 🙂 and numbers: 1,234.5 — all tokenized the same way.",
]


@pytest.fixture(scope="module")
def torch_minilm():
    return default_embedder("torch")


def test_onnx_fp32_gives_the_same_vectors_and_tokens(torch_minilm):
    onnx = OnnxMiniLMEmbedder(quantized=False)
    ref = torch_minilm.encode(TEXTS)
    got = onnx.encode(TEXTS)
    assert got.shape == ref.shape
    assert np.allclose(got, ref, atol=2e-4)
    assert onnx.count_tokens(TEXTS) == torch_minilm.count_tokens(TEXTS)
    assert all(onnx.token_ends(t) == torch_minilm.token_ends(t) for t in TEXTS)


def test_onnx_int8_stays_close(torch_minilm):
    int8 = OnnxMiniLMEmbedder(quantized=True)
    cos = (int8.encode(TEXTS) * torch_minilm.encode(TEXTS)).sum(axis=1)
    assert cos.min() > 0.9


def test_backend_is_chosen_by_name_and_checked(monkeypatch):
    assert isinstance(default_embedder("torch"), MiniLMEmbedder)
    assert default_embedder("torch") is default_embedder("torch")
    monkeypatch.setenv("QA_EMBED_BACKEND", "tensorflow")
    with pytest.raises(ValueError, match="QA_EMBED_BACKEND must be one of"):
        default_embedder()
    assert BACKENDS == ("torch", "onnx", "onnx-int8")


@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_encoder_and_tokenizer_are_safe_under_concurrent_calls(backend, torch_minilm):
    """Chat workers and an upload share one model: 8 threads encoding, counting tokens and finding
    token ends at once get exactly what one thread gets (a bare fast tokenizer raises "Already
    borrowed" here)."""
    from concurrent.futures import ThreadPoolExecutor

    from qa.embeddings import default_embedder

    emb = torch_minilm if backend == "torch" else default_embedder("onnx")
    texts = [f"Report {i}: the ferry to Isla Gorrion restarted after a strike of {i} days. " * (1 + i % 7)
             for i in range(48)]
    want_vecs = emb.encode(texts)
    want_counts = emb.count_tokens(texts)
    want_ends = [emb.token_ends(t) for t in texts]

    def work(i: int):
        t = texts[i % len(texts)]
        return i % len(texts), emb.encode([t, texts[(i + 1) % len(texts)]]), emb.count_tokens([t]), emb.token_ends(t)

    with ThreadPoolExecutor(8) as pool:
        for i, vecs, counts, ends in pool.map(work, range(200)):
            np.testing.assert_allclose(vecs[0], want_vecs[i], atol=1e-5)
            assert counts == [want_counts[i]] and ends == want_ends[i]
