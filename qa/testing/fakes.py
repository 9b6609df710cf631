"""Test doubles: a tiny, deterministic embedder (hashed bag of words; fast, no model) and a scripted chat model."""
from __future__ import annotations

import hashlib
import re

import numpy as np

_TOKEN = re.compile(r"\w+|[^\w\s]")


class HashEmbedder:
    name = "test/hash-embedder"
    dim = 64
    max_tokens = 256

    def _vec(self, text: str) -> np.ndarray:
        v = np.zeros(self.dim, dtype=np.float32)
        for w in re.findall(r"\w+", text.lower()):
            h = int(hashlib.md5(w.encode()).hexdigest()[:8], 16)
            v[h % self.dim] += 1.0
        n = np.linalg.norm(v)
        return v / n if n else v

    def encode(self, texts, progress=None):
        out = np.stack([self._vec(t) for t in texts]) if texts else np.zeros((0, self.dim), np.float32)
        if progress:
            progress(len(texts))
        return out

    def count_tokens(self, texts):
        return [len(_TOKEN.findall(t)) for t in texts]

    def token_ends(self, text):
        return [m.end() for m in _TOKEN.finditer(text)]


class ScriptedModel:
    """A chat model double (``qa.llm.ChatModel``): replies with a fixed text, or what ``reply(messages)``
    returns, a few characters at a time, and records the prompts it got."""

    name = "scripted"

    def __init__(self, reply):
        self.reply = reply
        self.prompts: list[list[dict]] = []

    def stream(self, messages: list[dict], max_tokens: int = 256):
        self.prompts.append(messages)
        reply = self.reply(messages) if callable(self.reply) else self.reply
        for i in range(0, len(reply), 7):
            yield reply[i:i + 7]
