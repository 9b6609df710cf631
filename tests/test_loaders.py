import json

import pytest

from qa.errors import InputError
from qa.loaders import load_file, normalize_date


def test_txt_with_front_matter(tmp_path):
    f = tmp_path / "a.txt"
    f.write_text("---\ntitle: Front title\nsource: wire.example\npublished: Jan 17, 2017\n---\nBody text here.\n")
    [a] = load_file(f)
    assert (a.title, a.source, a.published, a.text) == ("Front title", "wire.example", "2017-01-17", "Body text here.")


def test_markdown_heading_becomes_title_and_markup_is_dropped(tmp_path):
    f = tmp_path / "b.md"
    f.write_text("# The heading\n\nSome **bold** text with a [link](https://x.example).\n")
    [a] = load_file(f)
    assert a.title == "The heading"
    assert a.text == "Some bold text with a link."


def test_html_keeps_main_text_and_drops_scripts_and_navigation(tmp_path):
    f = tmp_path / "c.html"
    f.write_text("""<html><head><title>Page title</title><script>var x=1;</script>
    <meta property="article:published_time" content="2017-01-20T10:00:00Z"></head>
    <body><nav>Home | World</nav><article><h1>Page title</h1><p>First paragraph.</p><p>Second one.</p></article>
    <footer>Copyright</footer><style>p{}</style></body></html>""")
    [a] = load_file(f)
    assert a.title == "Page title"
    assert a.published == "2017-01-20"
    assert a.text == "First paragraph.\n\nSecond one."  # a blank line between paragraphs, as in text files


def test_json_jsonl_csv_with_dataset_column_names(tmp_path):
    (tmp_path / "d.json").write_text(json.dumps({"articles": [{"headline": "H", "content": "Body one."}]}))
    (tmp_path / "e.jsonl").write_text(json.dumps({"id": "x1", "body": "Body two.", "date": "2020-05-01"}) + "\n\n")
    (tmp_path / "f.csv").write_text("Title,Text,Published_At,Link\nT,\"Body, three.\",2021-02-03,https://www.site.example/p\n")
    [d] = load_file(tmp_path / "d.json")
    [e] = load_file(tmp_path / "e.jsonl")
    [c] = load_file(tmp_path / "f.csv")
    assert (d.title, d.text) == ("H", "Body one.")
    assert (e.id, e.published) == ("x1", "2020-05-01")
    assert (c.text, c.published, c.source) == ("Body, three.", "2021-02-03", "site.example")


def test_ids_are_stable_across_loads(tmp_path):
    f = tmp_path / "g.jsonl"
    f.write_text(json.dumps({"url": "https://n.example/1", "text": "Same."}) + "\n")
    assert load_file(f)[0].id == load_file(f)[0].id


@pytest.mark.parametrize("name,content,expect,line", [
    ("empty.txt", b"", "empty", None),
    ("bin.txt", b"\x00\x01\x02binary", "binary", None),
    ("bad.txt", b"fine line\nbad \xff\xfe byte", "not valid UTF-8", 2),
    ("bad.jsonl", b'{"text": "ok"}\n{"text": broken}\n', "malformed JSON", 2),
    ("notext.csv", b"title,author\nA,B\n", "no text column", 1),
    ("notext.jsonl", b'{"text": "ok"}\n{"title": "no body"}\n', "no article text", 2),
    ("x.pdf", b"%PDF-1.4", "unsupported file type", None),
])
def test_bad_inputs_give_specific_errors(tmp_path, name, content, expect, line):
    f = tmp_path / name
    f.write_bytes(content)
    with pytest.raises(InputError) as e:
        load_file(f)
    assert expect in str(e.value)
    assert str(f) in str(e.value)
    assert e.value.line == line


def test_huge_file_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("QA_MAX_FILE_MB", "0.01")
    f = tmp_path / "huge.txt"
    f.write_text("word " * 5000)
    with pytest.raises(InputError, match="too large"):
        load_file(f)


def test_dates_normalise():
    assert normalize_date("2017-01-17T10:00:00Z") == "2017-01-17"
    assert normalize_date("17 January 2017") == "2017-01-17"
    assert normalize_date("not a date") == ""
