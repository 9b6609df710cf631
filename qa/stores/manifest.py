"""An index's manifest: what it was built with (format, model, dimension, chunking) and where it
stands (generation, counts), stored as JSON in the ``meta`` table of either store, and the
checks that refuse an index another engine cannot read."""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from ..config import ChunkingConfig
from ..errors import IndexError_

FORMAT_VERSION = 2  # 2: SQLite + FAISS segments (qa/stores/embedded.py); 1 was JSONL + one FAISS file


@dataclass
class Manifest:
    format_version: int
    model: str
    dim: int
    chunking: dict
    generation: int = 0
    n_articles: int = 0
    n_chunks: int = 0
    next_chunk_id: int = 0
    updated: str = ""
    extra: dict = field(default_factory=dict)


def parse_manifest(row: tuple | None) -> Manifest | None:
    """The manifest stored in the meta table; None when there is none or it cannot be read
    (opening the index then says what is wrong)."""
    try:
        return Manifest(**json.loads(row[0])) if row else None
    except (ValueError, TypeError):
        return None


def generation_name(manifest: Manifest | None) -> str | None:
    """``gen-000007`` for a manifest's generation; None before the first commit."""
    return f"gen-{manifest.generation:06d}" if manifest and manifest.generation else None


def chunking_of(manifest: Manifest) -> ChunkingConfig:
    """The chunking an index was built with. Indexes from before ``paragraph_fill`` packed sentences
    across paragraphs, and those from before ``paragraph_topics`` ended chunks at the paragraphs of
    every article, and those from before ``drop_boilerplate`` kept web-page boilerplate in their chunks;
    they go on doing so for the articles added to them (one rule per index)."""
    return ChunkingConfig(**{"paragraph_fill": None, "paragraph_topics": False, "drop_boilerplate": False,
                             **manifest.chunking})


def check_manifest(manifest: Manifest, model: str, dim: int, where: str, rebuild: str, elsewhere: str) -> None:
    """Refuse an index of another format, model or dimension, saying what to do (``rebuild``:
    how to start over; ``elsewhere``: where to keep an index for this model instead)."""
    if manifest.format_version != FORMAT_VERSION:
        raise IndexError_(f"{where}: index format v{manifest.format_version} is not the supported "
                          f"v{FORMAT_VERSION}; {rebuild}.")
    if manifest.model != model or manifest.dim != dim:
        raise IndexError_(f"{where}: index was built with model {manifest.model} ({manifest.dim}-d) but the "
                          f"engine uses {model} ({dim}-d); {elsewhere}.")
