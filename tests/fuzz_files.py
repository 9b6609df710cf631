"""A generator of hostile input files for the ingest fuzzer (tests/test_fuzz.py, benchmarks/fuzz_ingest.py).

``generate(folder, n)`` writes at least ``n`` files, deterministic for a seed, cycling through the
kinds below; every article id a file may carry starts with ``fz-``. Kinds: random bytes under every
accepted extension, truncated and deeply nested JSON, 10 MB single lines, mixed encodings, BOMs,
NULs, lone surrogates, CSV with huge fields and broken quoting, HTML with 100,000 nested tags, YAML
front-matter bombs, zero-byte files, symlinks (dangling, looping, to a folder), FIFOs, folders named
like files, and duplicate ids with different text.
"""
from __future__ import annotations

import json
import os
import random
from collections.abc import Callable
from pathlib import Path

EXTS = [".txt", ".md", ".html", ".json", ".jsonl", ".csv"]
WORDS = "ferry strike harbour council storm election bridge vaccine court budget treaty summit".split()


def _sentence(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 12))).capitalize() + "."


def _record(rng: random.Random, i: int, **over) -> dict:
    r = {"id": f"fz-{i}", "title": f"Fuzz {i}", "source": "fuzz.example", "published": "2024-03-0" + str(1 + i % 9),
         "text": " ".join(_sentence(rng) for _ in range(rng.randint(1, 6)))}
    r.update(over)
    return r


def _random_bytes(d: Path, i: int, rng: random.Random) -> list[Path]:
    p = d / f"random-{i}{rng.choice(EXTS)}"
    p.write_bytes(rng.randbytes(rng.choice([1, 17, 512, 4096, 70000])))
    return [p]


def _truncated_json(d: Path, i: int, rng: random.Random) -> list[Path]:
    recs = [_record(rng, i * 10 + j) for j in range(3)]
    full = json.dumps(recs) if rng.random() < 0.5 else "".join(json.dumps(r) + "\n" for r in recs)
    ext = ".json" if full.startswith("[") else ".jsonl"
    p = d / f"truncated-{i}{ext}"
    p.write_text(full[: rng.randint(1, len(full) - 2)], encoding="utf-8")
    return [p]


def _nested_json(d: Path, i: int, rng: random.Random) -> list[Path]:
    depth = rng.choice([1000, 50000, 200000])
    body = rng.choice([("[" * depth) + ("]" * depth), ('{"a":' * depth) + "1" + ("}" * depth),
                       json.dumps(_record(rng, i, text={"nested": [[["x"]]]}))])
    p = d / f"nested-{i}{rng.choice(['.json', '.jsonl'])}"
    p.write_text(body, encoding="utf-8")
    return [p]


def _long_line(d: Path, i: int, rng: random.Random) -> list[Path]:
    words = " ".join(rng.choice(WORDS) for _ in range(1000))
    line = (words + " ") * (10 * 1024 * 1024 // (len(words) + 1))  # ~10 MB, no sentence end, no newline
    kind = rng.choice(["txt", "jsonl", "nospace"])
    if kind == "nospace":  # one 10 MB "word"
        p = d / f"longline-{i}.txt"
        p.write_text("x" * (10 * 1024 * 1024), encoding="utf-8")
    elif kind == "jsonl":
        p = d / f"longline-{i}.jsonl"
        p.write_text(json.dumps(_record(rng, i, text=line)), encoding="utf-8")
    else:
        p = d / f"longline-{i}.txt"
        p.write_text(line, encoding="utf-8")
    return [p]


def _encodings(d: Path, i: int, rng: random.Random) -> list[Path]:
    text = f"Fuzz {i}: café Zürich naïve résumé. " + _sentence(rng)
    ext = rng.choice([".txt", ".md", ".jsonl", ".csv", ".html"])
    if ext == ".jsonl":
        text = json.dumps(_record(rng, i, text=text), ensure_ascii=False)
    elif ext == ".csv":
        text = f"id,title,text\nfz-{i},Fuzz {i},\"{text}\"\n"
    choice = rng.choice(["latin-1", "utf-16", "utf-8-sig", "cp1252-mid", "utf-32"])
    if choice == "cp1252-mid":  # valid UTF-8, then one Windows-1252 line
        data = text.encode("utf-8") + "\n“quoted” — dash\n".encode("cp1252") + text.encode("utf-8")
    else:
        data = text.encode(choice)
    p = d / f"encoding-{choice}-{i}{ext}"
    p.write_bytes(data)
    return [p]


def _nuls(d: Path, i: int, rng: random.Random) -> list[Path]:
    ext = rng.choice(EXTS)
    text = _sentence(rng) + ("\x00" * rng.randint(1, 50)) + _sentence(rng)
    if ext in (".json", ".jsonl"):
        text = json.dumps(_record(rng, i, text=text))  # NULs escaped inside a valid string
    late = rng.random() < 0.5  # past the first 8 kB, where the binary sniffing looks
    if late:
        text = (_sentence(rng) + " ") * 400 + text if ext not in (".json", ".jsonl") else text
    p = d / f"nul-{i}{ext}"
    p.write_text(text, encoding="utf-8")
    return [p]


def _surrogates(d: Path, i: int, rng: random.Random) -> list[Path]:
    p = d / f"surrogate-{i}{rng.choice(['.json', '.jsonl'])}"
    rec = _record(rng, i)
    raw = json.dumps(rec)
    raw = raw.replace('"text": "', '"text": "\\ud800 lone \\udfff surrogates ', 1)
    if rng.random() < 0.5:
        raw = raw.replace('"title": "', '"title": "\\udc80', 1)
    p.write_text(raw if p.suffix == ".jsonl" else "[" + raw + "]", encoding="utf-8")
    return [p]


def _csv(d: Path, i: int, rng: random.Random) -> list[Path]:
    kind = rng.choice(["huge", "unclosed", "noheader", "ragged", "manycols"])
    if kind == "huge":
        body = "id,title,text\n" + f"fz-{i},Huge,\"" + ("word " * 60000) + "\"\n"
    elif kind == "unclosed":
        body = f"id,title,text\nfz-{i},Open,\"this quote never closes\n" + "more,lines\n" * 50
    elif kind == "noheader":
        body = "\n".join(",".join(rng.choice(WORDS) for _ in range(3)) for _ in range(20))
    elif kind == "ragged":
        body = "id,title,text\n" + "".join(f"fz-{i}-{j}," * rng.randint(0, 6) + "\n" for j in range(20))
    else:
        body = ",".join(f"c{j}" for j in range(20000)) + "\n" + ",".join("x" for _ in range(20000)) + "\n"
    p = d / f"csv-{kind}-{i}.csv"
    p.write_text(body, encoding="utf-8")
    return [p]


def _html(d: Path, i: int, rng: random.Random) -> list[Path]:
    kind = rng.choice(["nested", "unclosed", "scripty", "empty"])
    if kind == "nested":
        n = rng.choice([1000, 100000])
        tag = rng.choice(["div", "p", "li", "b"])
        body = "<html><body>" + (f"<{tag}>" * n) + "Deep text. " + (f"</{tag}>" * n) + "</body></html>"
    elif kind == "unclosed":
        body = "<html><body><p>" + "<p>".join(_sentence(rng) for _ in range(200)) + "<div><span><a href='x"
    elif kind == "scripty":
        body = "<html><head><script>" + "x=1;" * 5000 + "</script></head><body><style>p{}</style></body></html>"
    else:
        body = "<html><head><title></title></head><body>   </body></html>"
    p = d / f"html-{kind}-{i}.html"
    p.write_text(body, encoding="utf-8")
    return [p]


def _markdown(d: Path, i: int, rng: random.Random) -> list[Path]:
    kind = rng.choice(["yaml-bomb", "bad-yaml", "yaml-list", "deep-list", "only-front-matter"])
    if kind == "yaml-bomb":
        lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
        for k in range(1, 9):
            prev = chr(ord("a") + k - 1)
            cur = chr(ord("a") + k)
            lines.append(f"{cur}: &{cur} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]")
        front = "\n".join(lines) + "\ntitle: *i"
    elif kind == "bad-yaml":
        front = "title: [unclosed\npublished: : :"
    elif kind == "yaml-list":
        front = "- just\n- a list"
    else:
        front = "title: Fine"
    body = "" if kind == "only-front-matter" else (
        "\n".join("  " * k + "- " + _sentence(rng) for k in range(500)) if kind == "deep-list" else _sentence(rng))
    p = d / f"md-{kind}-{i}.md"
    p.write_text(f"---\n{front}\n---\n{body}\n", encoding="utf-8")
    return [p]


def _empty(d: Path, i: int, rng: random.Random) -> list[Path]:
    p = d / f"empty-{i}{rng.choice(EXTS)}"
    p.write_bytes(rng.choice([b"", b"   \n\t\n", b"\xef\xbb\xbf", b"[]", b"{}", b"null", b"\n\n\n"]))
    return [p]


def _links(d: Path, i: int, rng: random.Random) -> list[Path]:
    kind = rng.choice(["dangling", "loop", "folder", "fifo", "dir-named-file", "outside"])
    p = d / f"link-{kind}-{i}{rng.choice(EXTS)}"
    if kind == "dangling":
        p.symlink_to(d / f"does-not-exist-{i}.txt")
    elif kind == "loop":
        p.symlink_to(p)
    elif kind == "folder":
        p.symlink_to(d)  # a link back to the folder being read
    elif kind == "fifo":
        os.mkfifo(p)  # reading it would block forever
    elif kind == "dir-named-file":
        p.mkdir()
    else:
        target = d.parent / f"outside-{i}.txt"
        target.write_text(_sentence(rng), encoding="utf-8")
        p.symlink_to(target)
    return [p]


def _duplicates(d: Path, i: int, rng: random.Random) -> list[Path]:
    same = f"fz-dup-{i}"
    a = d / f"dup-{i}-a.jsonl"
    b = d / f"dup-{i}-b.json"
    a.write_text(json.dumps(_record(rng, i, id=same)) + "\n" + json.dumps(_record(rng, i, id=same)) + "\n",
                 encoding="utf-8")
    b.write_text(json.dumps([_record(rng, i, id=same, text="A different text. " + _sentence(rng))]), encoding="utf-8")
    return [a, b]


def _wrong_types(d: Path, i: int, rng: random.Random) -> list[Path]:
    variants = [
        [_record(rng, i, text=12345)], [_record(rng, i, title=["a", "list"])], [_record(rng, i, published=1e308)],
        [_record(rng, i, published="99999-99-99")], [_record(rng, i, published=-1)], ["a string", 3, None],
        {"not": "a list of articles"}, [_record(rng, i, id={"an": "object"})], [_record(rng, i, text="")],
        [_record(rng, i, url="javascript:alert(1)", text="<script>alert(1)</script> " + _sentence(rng))],
        [_record(rng, i, id="x" * 100000)], [_record(rng, i, text=" ".join(["ok."] * 5), source="\u202e" * 50)],
    ]
    v = rng.choice(variants)
    ext = rng.choice([".json", ".jsonl"])
    p = d / f"types-{i}{ext}"
    if ext == ".json":
        p.write_text(json.dumps(v), encoding="utf-8")
    else:
        p.write_text("".join(json.dumps(r) + "\n" for r in (v if isinstance(v, list) else [v])), encoding="utf-8")
    return [p]


def _valid(d: Path, i: int, rng: random.Random) -> list[Path]:
    """Some ordinary files among the hostile ones: they must still load."""
    ext = rng.choice(EXTS)
    p = d / f"valid-{i}{ext}"
    r = _record(rng, i + 100000)
    if ext == ".json":
        p.write_text(json.dumps([r]), encoding="utf-8")
    elif ext == ".jsonl":
        p.write_text(json.dumps(r) + "\n", encoding="utf-8")
    elif ext == ".csv":
        p.write_text(f"id,title,text\n{r['id']},{r['title']},\"{r['text']}\"\n", encoding="utf-8")
    elif ext == ".html":
        p.write_text(f"<html><head><title>{r['title']}</title></head><body><p>{r['text']}</p></body></html>",
                     encoding="utf-8")
    else:
        p.write_text(f"{r['title']}\n\n{r['text']}\n", encoding="utf-8")
    return [p]


KINDS: list[Callable[[Path, int, random.Random], list[Path]]] = [
    _random_bytes, _truncated_json, _nested_json, _encodings, _nuls, _surrogates, _csv, _html, _markdown,
    _empty, _links, _duplicates, _wrong_types, _valid, _random_bytes, _truncated_json, _wrong_types,
]


def generate(folder: Path, n: int = 500, seed: int = 0, long_lines: int = 3) -> list[Path]:
    """At least ``n`` hostile files in ``folder`` (``long_lines`` of them ~10 MB single lines)."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    for i in range(long_lines):
        files += _long_line(folder, i, rng)
    i = 0
    while len(files) < n:
        files += KINDS[i % len(KINDS)](folder, i, rng)
        i += 1
    return files
