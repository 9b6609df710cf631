"""Uploaded files, checked and kept under safe names: shared by the chat page and ``POST /v1/articles``.

Each upload goes to its own folder (``<uploads>/<batch>/``): a name cannot leave it, only the
article file types are kept, and a file over ``QA_MAX_FILE_MB`` is refused by name.
"""
from __future__ import annotations

import os
import re
import shutil
import uuid
from pathlib import Path
from typing import BinaryIO

UPLOAD_TYPES = [".txt", ".md", ".markdown", ".html", ".htm", ".json", ".jsonl", ".ndjson", ".csv"]


def safe_upload_name(name: str) -> str:
    """A file name that cannot leave the upload folder: basename, safe characters, no dot-files."""
    base = os.path.basename(str(name).replace("\\", "/"))
    base = re.sub(r"[^\w.\-]+", "_", base).lstrip(".") or "upload"
    return base[:120]


def new_batch(uploads: Path) -> Path:
    batch = uploads / uuid.uuid4().hex[:12]
    batch.mkdir(parents=True, exist_ok=True)
    return batch


def keep_upload(batch: Path, name: str, source: Path | BinaryIO, size: int, max_mb: float) -> tuple[Path | None, str]:
    """Copy one uploaded file into ``batch`` under a safe name: (its path, "") or (None, why refused)."""
    safe = safe_upload_name(name)
    if Path(safe).suffix.lower() not in UPLOAD_TYPES:
        return None, f"{safe}: unsupported type; accepted: {', '.join(UPLOAD_TYPES)}"
    if size > max_mb * 1024 * 1024:
        return None, f"{safe}: larger than {max_mb:g} MB"
    dest = batch / safe
    while dest.exists():
        dest = batch / f"{dest.stem}_1{dest.suffix}"
    if isinstance(source, Path):
        shutil.copyfile(source, dest)
    else:
        with open(dest, "wb") as out:
            shutil.copyfileobj(source, out)
    return dest, ""
