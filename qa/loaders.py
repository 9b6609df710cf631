"""Read article files into :class:`Article` objects.

Accepted: ``.txt``/``.md`` (optional YAML front matter with title/source/url/published),
``.html``/``.htm`` (main text and title; scripts, styles, navigation dropped), ``.json``
(an object, a list of objects, or ``{"articles": [...]}``), ``.jsonl`` and ``.csv`` with the
usual column names of news datasets, and folders (recursively).

Every problem raises :class:`InputError` naming the file (and line) and what to do; a file
goes in whole or not at all. JSONL and CSV are streamed record by record (checked in a first
pass), so their size is not limited; other files are read whole, up to ``QA_MAX_FILE_MB``.
"""
from __future__ import annotations

import csv
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from .config import settings
from .errors import InputError
from .text import normalize_text, normalize_with_map, valid_utf8
from .types import Article

TEXT_SUFFIXES = {".txt", ".md", ".markdown"}
HTML_SUFFIXES = {".html", ".htm"}
RECORD_SUFFIXES = {".json", ".jsonl", ".ndjson", ".csv"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | RECORD_SUFFIXES

FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "text": ("text", "content", "body", "article", "maintext", "full_text", "article_text", "story", "description"),
    "title": ("title", "headline", "name", "heading"),
    "source": ("source", "publisher", "source_name", "site", "site_name", "domain", "outlet", "publication"),
    "url": ("url", "link", "href", "source_url", "article_url", "canonical_url"),
    "published": ("published", "date", "published_at", "publish_date", "publishedat", "pubdate",
                  "date_published", "datetime", "timestamp", "created_at", "time"),
    "id": ("id", "doc_id", "article_id", "uid", "guid", "_id"),
}


def max_file_bytes() -> int:
    return int(settings().max_file_mb * 1024 * 1024)


def content_hash(text: str) -> str:
    """Hash of the text with case and whitespace folded: equal hashes mean duplicate articles."""
    folded = " ".join(text.lower().split())
    return hashlib.sha1(folded.encode("utf-8")).hexdigest()


def normalize_date(value: Any) -> str:
    """ISO date (YYYY-MM-DD) from common date formats; "" when absent or unparseable."""
    if value is None:
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        import datetime as dt

        seconds = value / 1000 if value > 1e11 else value
        try:
            return dt.datetime.fromtimestamp(seconds, dt.timezone.utc).date().isoformat()
        except (OverflowError, OSError, ValueError):
            return ""
    s = str(value).strip()
    if not s:
        return ""
    m = re.match(r"^(\d{4})-(\d{2})-(\d{2})", s)
    if m:
        return m.group(0)
    try:
        from dateutil import parser

        return parser.parse(s, fuzzy=False).date().isoformat()
    except (ValueError, OverflowError, TypeError):
        return ""


MAX_ID_CHARS = 512


def make_article(record: dict[str, Any], origin: str, fallback_id: str) -> Article:
    """Build an Article from a record with any of the accepted field names."""
    lower = {str(k).strip().lower(): v for k, v in record.items()}

    def pick(field: str) -> Any:
        for alias in FIELD_ALIASES[field]:
            v = lower.get(alias)
            if v not in (None, ""):
                return v
        return None

    raw_text = pick("text")
    if raw_text is None or not str(raw_text).strip():
        raise ValueError(f"no article text (looked for fields: {', '.join(FIELD_ALIASES['text'])})")
    text = normalize_text(str(raw_text))
    if not text:
        raise ValueError("no readable text (only control characters or spaces)")
    title = normalize_text(str(pick("title") or ""))
    url = valid_utf8(str(pick("url") or "").strip())
    source = valid_utf8(str(pick("source") or "").strip())
    if not source and url:
        m = re.match(r"^[a-z]+://(?:www\.)?([^/]+)", url, re.I)
        source = m.group(1).lower() if m else ""
    given = pick("id")
    if given is not None:
        doc_id = valid_utf8(re.sub(r"\s+", "_", str(given).strip()))
        if len(doc_id) > MAX_ID_CHARS:
            raise ValueError(f"article id is {len(doc_id):,} characters long (at most {MAX_ID_CHARS})")
    elif url:
        doc_id = "url-" + hashlib.sha1(url.encode("utf-8")).hexdigest()[:16]
    else:
        doc_id = fallback_id
    return Article(
        id=doc_id,
        text=text,
        title=title,
        source=source,
        url=url,
        published=normalize_date(pick("published")),
        origin=origin,
        content_hash=content_hash(text),
        original=_original(str(raw_text), text),
    )


def article_from_document(doc: Any) -> Article:
    """An Article from a LlamaIndex ``Document`` (duck-typed: its text, ``metadata`` and ``id_``), so
    ``SimpleDirectoryReader`` and LlamaIndex's readers feed ``QA.ingest``. The metadata's title,
    source, url and published date (any accepted field name) are used; the title defaults to the
    file name; the id is ``metadata["id"]``, else the Document's own id (pass
    ``filename_as_id=True`` to ``SimpleDirectoryReader`` for ids that stay the same between runs)."""
    meta = dict(getattr(doc, "metadata", None) or {})
    text = doc.get_content() if hasattr(doc, "get_content") else getattr(doc, "text", "")
    given_id = next((meta[k] for k in FIELD_ALIASES["id"] if meta.get(k)), None) or getattr(doc, "id_", None)
    record = {**{k: v for k, v in meta.items() if isinstance(v, (str, int, float))}, "text": text, "id": given_id}
    if not any(meta.get(k) for k in FIELD_ALIASES["title"]) and meta.get("file_name"):
        record["title"] = Path(str(meta["file_name"])).stem
    origin = str(meta.get("file_path") or meta.get("file_name") or "llamaindex")
    return make_article(record, origin, "doc-" + content_hash(str(text))[:16])


def _original(raw: str, text: str) -> str:
    """The user's text, kept when normalisation changed it and its offsets can be carried back to it
    (qa.text.normalize_with_map); "" otherwise (then citations index the normalised text)."""
    raw = valid_utf8(raw)
    if raw == text or normalize_with_map(raw) is None:
        return ""
    return raw


def _path_id(path: Path, suffix: str = "") -> str:
    return "file-" + hashlib.sha1((str(path.resolve()) + suffix).encode("utf-8")).hexdigest()[:16]


def _read_text(path: Path) -> str:
    """Read a file as UTF-8 text with clear errors for empty, huge, binary and non-UTF-8 files."""
    try:
        size = path.stat().st_size
    except OSError as e:
        raise InputError(str(path), f"cannot read file ({e.strerror}); check the path and permissions") from e
    if size == 0:
        raise InputError(str(path), "file is empty; nothing to index")
    limit = max_file_bytes()
    if size > limit:
        raise InputError(
            str(path),
            f"file is too large ({size / 1e6:.1f} MB > {limit / 1e6:.1f} MB limit); "
            "split it into smaller files or raise QA_MAX_FILE_MB",
        )
    data = path.read_bytes()
    if b"\x00" in data[:8192]:
        raise InputError(str(path), "looks like a binary file, not text; only txt, md, html, json, jsonl and csv are accepted")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise InputError(
            str(path), f"is not valid UTF-8 (byte {e.start}); re-save the file as UTF-8", line=line
        ) from e
    if not text.strip():
        raise InputError(str(path), "file holds only whitespace; nothing to index")
    return text


_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n---[ \t]*\n", re.S)


def _markdown_to_text(md: str) -> str:
    md = re.sub(r"!\[[^\]]*\]\([^)]*\)", "", md)  # images
    md = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", md)  # links -> their text
    md = re.sub(r"^\s{0,3}#{1,6}\s*", "", md, flags=re.M)  # heading marks
    md = re.sub(r"^\s{0,3}>\s?", "", md, flags=re.M)  # quotes
    md = re.sub(r"(\*\*|__)(.+?)\1", r"\2", md)
    md = re.sub(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])", r"\1", md)
    md = re.sub(r"`([^`]*)`", r"\1", md)
    return md


def load_text_file(path: Path) -> list[Article]:
    raw = _read_text(path)
    meta: dict[str, Any] = {}
    m = _FRONT_MATTER.match(raw)
    if m:
        import yaml

        class NoAliases(yaml.SafeLoader):
            """Article metadata never needs YAML aliases, and a few nested ones (a "billion laughs"
            block) expand to billions of items when the title is read: refused."""

            def compose_node(self, parent, index):
                if self.check_event(yaml.events.AliasEvent):
                    raise yaml.YAMLError("aliases (*name) are not accepted in front matter")
                return super().compose_node(parent, index)

        try:
            loaded = yaml.load(m.group(1), Loader=NoAliases)  # noqa: S506 - a SafeLoader without aliases
        except yaml.YAMLError as e:
            why = "it uses YAML aliases (*name), which are not accepted" if "aliases" in str(e) else \
                f"it is not valid YAML ({e.__class__.__name__})"
            raise InputError(str(path), f"front matter: {why}; fix or remove the block between the --- lines",
                             line=1) from e
        if isinstance(loaded, dict):
            meta = loaded
        raw = raw[m.end():]
    is_md = path.suffix.lower() in {".md", ".markdown"}
    if is_md and not meta.get("title"):
        h = re.search(r"^\s{0,3}#\s+(.+)$", raw, re.M)
        if h:
            meta["title"] = h.group(1).strip()
            raw = raw[: h.start()] + raw[h.end():]
    body = _markdown_to_text(raw) if is_md else raw
    if not meta.get("title"):
        first, _, rest = body.strip().partition("\n")
        if rest.strip() and len(first) <= 150:
            meta["title"], body = first.strip(), rest
        else:
            meta["title"] = path.stem.replace("_", " ").replace("-", " ")
    record = {**meta, "text": body}
    try:
        return [make_article(record, str(path), _path_id(path))]
    except ValueError as e:
        raise InputError(str(path), str(e)) from e


def load_html_file(path: Path) -> list[Article]:
    from bs4 import BeautifulSoup

    raw = _read_text(path)
    soup = BeautifulSoup(raw, "html.parser")

    def meta(*names: str) -> str:
        for n in names:
            tag = soup.find("meta", attrs={"property": n}) or soup.find("meta", attrs={"name": n})
            if tag and tag.get("content"):
                return str(tag["content"]).strip()
        return ""

    title = meta("og:title", "twitter:title")
    if not title and soup.title and soup.title.string:
        title = soup.title.string.strip()
    if not title and soup.find("h1"):
        title = soup.find("h1").get_text(" ", strip=True)
    canonical = soup.find("link", rel="canonical")
    url = meta("og:url") or (str(canonical["href"]) if canonical and canonical.get("href") else "")
    published = meta("article:published_time", "datePublished", "date", "pubdate", "publish-date")
    if not published and soup.find("time") and soup.find("time").get("datetime"):
        published = str(soup.find("time")["datetime"])
    source = meta("og:site_name")
    for tag in soup(["script", "style", "noscript", "nav", "header", "footer", "aside", "form",
                     "iframe", "svg", "button", "template", "head"]):
        tag.decompose()
    root = soup.find("article") or soup.find("main") or soup.body or soup
    h1 = root.find("h1")
    if h1 is not None and title and h1.get_text(" ", strip=True) == title:
        h1.decompose()
    blocks = root.find_all(["p", "h2", "h3", "h4", "li", "blockquote", "pre"])
    if blocks:
        # each block is a paragraph: a blank line between them (the chunker and the answerer use it)
        text = "\n\n".join(b.get_text(" ", strip=True) for b in blocks if not b.find(["p", "li"]))
    else:
        text = root.get_text("\n", strip=True)
    record = {"title": title, "url": url, "published": published, "source": source, "text": text}
    try:
        return [make_article(record, str(path), _path_id(path))]
    except ValueError as e:
        raise InputError(str(path), f"{e}: no readable text found in the HTML") from e


def _records_to_articles(records: Iterable[tuple[int | None, Any]], path: Path) -> list[Article]:
    out = list(_records_to_articles_iter(records, path))
    if not out:
        raise InputError(str(path), "holds no articles")
    return out


def load_json_file(path: Path) -> list[Article]:
    raw = _read_text(path)
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as e:
        raise InputError(str(path), f"is not valid JSON ({e.msg}, column {e.colno}); "
                         "for one article per line use the .jsonl extension", line=e.lineno) from e
    except RecursionError as e:
        raise InputError(str(path), "JSON nested too deeply; an article is an object of fields") from e
    if isinstance(data, dict) and isinstance(data.get("articles"), list):
        data = data["articles"]
    items = data if isinstance(data, list) else [data]
    return _records_to_articles(((i + 1, rec) for i, rec in enumerate(items)), path)


def _stream_check(path: Path) -> None:
    """What can be said before streaming a record file: it exists, is not empty, is not binary."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(8192)
    except OSError as e:
        raise InputError(str(path), f"cannot read file ({e.strerror}); check the path and permissions") from e
    if size == 0:
        raise InputError(str(path), "file is empty; nothing to index")
    if b"\x00" in head:
        raise InputError(str(path), "looks like a binary file, not text; only txt, md, html, json, jsonl and csv are accepted")


Skip = Callable[[InputError], None]  # told of each bad record that a lenient read leaves out


def _jsonl_records(path: Path) -> Iterator[tuple[int, Any]]:
    """(line number, parsed object) per non-blank line; a bad line yields its InputError instead of
    an object (the reader decides whether it ends the file or is skipped)."""
    with open(path, "rb") as f:
        for n, raw in enumerate(f, start=1):
            try:
                line = raw.decode("utf-8-sig" if n == 1 else "utf-8")
            except UnicodeDecodeError as e:
                yield n, InputError(str(path), f"is not valid UTF-8 (byte {e.start} of the line); re-save the file "
                                    "as UTF-8", line=n)
                continue
            if not line.strip():
                continue
            try:
                yield n, json.loads(line)
            except json.JSONDecodeError as e:
                yield n, InputError(str(path), f"malformed JSON on this line ({e.msg}, column {e.colno}); "
                                    "fix or remove the line and ingest again", line=n)
            except RecursionError:
                yield n, InputError(str(path), "JSON nested too deeply on this line", line=n)


def _csv_records(path: Path) -> Iterator[tuple[int, Any]]:
    csv.field_size_limit(max(max_file_bytes(), 1 << 26))
    reader = None
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            reader = csv.DictReader(f)
            fields = [x.strip().lower() for x in (reader.fieldnames or [])]
            if not any(a in fields for a in FIELD_ALIASES["text"]):
                shown = ", ".join(x[:30] for x in fields[:8]) + (f", … ({len(fields):,} in all)" if len(fields) > 8 else "")
                raise InputError(str(path), f"CSV has no text column (columns found: {shown or 'none'}; "
                                 f"expected one of: {', '.join(FIELD_ALIASES['text'])})", line=1)
            for row in reader:
                if None in row:
                    yield reader.line_num, InputError(str(path), "row has more fields than the header",
                                                      line=reader.line_num)
                    continue
                yield reader.line_num, row
    except csv.Error as e:
        raise InputError(str(path), f"malformed CSV ({e})", line=reader.line_num if reader else None) from e
    except UnicodeDecodeError as e:
        line = reader.line_num + 1 if reader else 1
        raise InputError(str(path), "is not valid UTF-8; re-save the file as UTF-8", line=line) from e


def _stream_records(path: Path, records, skip: Skip | None = None) -> Iterator[Article]:
    """Articles of a record file, streamed with constant memory.

    Strict (``skip`` None): a first pass checks every line, so the file goes in whole or not at
    all, and the second yields the articles. Lenient: one pass; a bad line or row is handed to
    ``skip`` (with its line number and reason) and the good ones are read. Either way a file with
    no good record is an error."""
    _stream_check(path)
    if skip is None:
        n = 0
        for _ in _records_to_articles_iter(records(path), path):
            n += 1
        if not n:
            raise InputError(str(path), "holds no articles")
        yield from _records_to_articles_iter(records(path), path)
        return
    n = 0
    bad: list[InputError] = []

    def told(e: InputError) -> None:
        bad.append(e)
        skip(e)

    for article in _records_to_articles_iter(records(path), path, told):
        n += 1
        yield article
    if not n:
        first = f"; line {bad[0].line}: {bad[0].reason}" if bad else ""
        raise InputError(str(path), f"holds no articles that could be read{first}")


def _records_to_articles_iter(records: Iterable[tuple[int | None, Any]], path: Path,
                              skip: Skip | None = None) -> Iterator[Article]:
    for line, rec in records:
        try:
            if isinstance(rec, InputError):
                raise rec
            if not isinstance(rec, dict):
                raise InputError(str(path), f"expected a JSON object per article, got {type(rec).__name__}", line=line)
            try:
                article = make_article(rec, f"{path}:{line}" if line else str(path), _path_id(path, f":{line}"))
            except ValueError as e:
                raise InputError(str(path), str(e), line=line) from e
        except InputError as e:
            if skip is None:
                raise
            skip(e)
            continue
        yield article


def load_jsonl_file(path: Path, skip: Skip | None = None) -> Iterator[Article]:
    """One article per line; streamed (no size limit). ``skip``: see _stream_records."""
    return _stream_records(path, _jsonl_records, skip)


def load_csv_file(path: Path, skip: Skip | None = None) -> Iterator[Article]:
    """One article per row, the header names the columns; streamed (no size limit). ``skip``: see
    _stream_records."""
    return _stream_records(path, _csv_records, skip)


# record files are streamed, and may skip a bad record (see _stream_records)
STREAM_LOADERS: dict[str, Callable[[Path, Skip | None], Iterable[Article]]] = {
    ".jsonl": load_jsonl_file,
    ".ndjson": load_jsonl_file,
    ".csv": load_csv_file,
}
LOADERS: dict[str, Callable[..., Iterable[Article]]] = {
    **{s: load_text_file for s in TEXT_SUFFIXES},
    **{s: load_html_file for s in HTML_SUFFIXES},
    ".json": load_json_file,
    **STREAM_LOADERS,
}


def load_file(path: str | Path) -> list[Article]:
    """Articles of one file; raises InputError with the file (and line) on any problem."""
    return list(iter_file(path))


def iter_file(path: str | Path, skip: Skip | None = None) -> Iterable[Article]:
    """Articles of one file, streamed for JSONL and CSV; the other types are read whole.

    ``skip`` None (strict): a JSONL or CSV file is checked whole first, so an error is raised
    before any article is yielded. Otherwise a bad line or row of one is handed to ``skip`` and
    left out, and the file's good records are read."""
    path = Path(path)
    if not path.exists():
        raise InputError(str(path), "is a broken symbolic link (or a link loop); nothing read" if path.is_symlink()
                         else "no such file or folder")
    if not path.is_file():  # a pipe would block the read forever; a device never ends
        raise InputError(str(path), "is a folder" if path.is_dir() else
                         "is not a regular file (a pipe, socket or device); nothing read")
    loader = LOADERS.get(path.suffix.lower())
    if loader is None:
        raise InputError(str(path), f"unsupported file type '{path.suffix or '(none)'}'; "
                         f"accepted: {', '.join(sorted(SUPPORTED_SUFFIXES))}")
    stream = STREAM_LOADERS.get(path.suffix.lower())
    return stream(path, skip) if stream is not None else loader(path)


def expand_paths(paths: Iterable[str | Path]) -> Iterator[Path]:
    """Files named, and supported files inside folders named (recursively, sorted)."""
    for p in paths:
        p = Path(p)
        if p.is_dir():
            for f in sorted(p.rglob("*")):  # links and pipes too: iter_file says why they are not read
                if not f.is_dir() and f.suffix.lower() in SUPPORTED_SUFFIXES and not any(
                    part.startswith(".") for part in f.relative_to(p).parts
                ):
                    yield f
        else:
            yield p
