"""The /v1 API of a real `qa serve` process (real MiniLM, two answer workers), driven with httpx:
answers whose quotes are the article text at their offsets, SSE order, paging, uploads as jobs,
and JSON errors with the right status that never show a traceback or a server path."""
import json
import shutil

import httpx
import pytest

from conftest import Served, sse_events

ASTANA = "Who will mediate the Astana talks?"
TOLL = "How many people were killed by the avalanche at the Hotel Rigopiano?"
# a text that normalisation changes (CRLF, curly quotes, a blank-line paragraph, a ligature): offsets
# must index the text as sent, not a normalised copy
ODD = ("Harbour council\u2019s vote\r\n\r\nThe \ufb01nal vote on the Port Alder harbour wall was 7 to 2, "
       "the council said on Tuesday.\r\nRepairs start in March.")


@pytest.fixture(scope="module")
def api(demo_index, tmp_path_factory):
    idx = tmp_path_factory.mktemp("api") / "idx"
    shutil.copytree(demo_index, idx)
    served = Served(idx, "--workers", "2")
    with httpx.Client(base_url=served.url, timeout=60) as client:
        yield client, served
    served.stop()


def _clean(r: httpx.Response) -> dict:
    """A JSON error: {"error": {"type", "message"}}, without a traceback or a server path."""
    body = r.json()
    assert set(body) == {"error"} and set(body["error"]) == {"type", "message"}, body
    assert "Traceback" not in r.text and "/tmp" not in r.text and "site-packages" not in r.text, r.text
    return body["error"]


def _check_quotes(client, citations) -> None:
    assert citations
    for c in citations:
        article = client.get(f"/v1/articles/{c['doc_id']}").json()
        assert article["text"][c["start"]:c["end"]] == c["quote"]


def test_ask_cites_the_article_text_at_its_offsets(api):
    client, _ = api
    r = client.post("/v1/ask", json={"question": ASTANA, "as_of": "2017-01-20"})
    assert r.status_code == 200
    a = r.json()
    assert not a["abstained"] and "Russia, Turkey and Iran" in a["answer"] and "[1]" in a["answer"]
    assert a["passages"] and a["timings_ms"]["total"] > 0
    _check_quotes(client, a["citations"])
    off = client.post("/v1/ask", json={"question": "What is the capital of France?"}).json()
    assert off["abstained"] and not off["citations"]


def test_ask_reports_who_else_reports_it_and_where_they_disagree(api):
    client, _ = api
    a = client.post("/v1/ask", json={"question": TOLL}).json()
    k = a["corroboration"]
    assert a["answer"].startswith("Officials said 29 people were killed") and "another report says: Officials said 24" in a["answer"]
    assert k["value"] == "29" and k["independent_outlets"] == 3
    assert set(k["outlets"]) == {"Demo Wire", "Mountain Courier", "Adriatic Herald"}
    assert k["first_reported"]["published"] == "2017-01-19" and k["latest_reported"]["source"] == "Lakeshore Daily"
    others = [o for c in a["citations"] for o in c["corroborated_by"]]
    assert [o["copy_of"] for o in a["citations"] + others
            if o["source"] == "Lakeshore Daily"] == ["demo-rigopiano-last-victims-2017"]
    c = k["conflict"]
    assert c["revision"] is False and [r["value"] for r in c["reports"]][c["lead"]] == "29"
    assert {r["value"]: r["outlets"] for r in c["reports"]}["24"] == ["Valley Evening News"]
    assert "Sources disagree" in c["summary"] or "29" in c["summary"]
    _check_quotes(client, a["citations"] + others + [x for r in c["reports"] for x in r["citations"]])


def test_ask_with_history_searches_the_follow_up_in_context(api):
    client, _ = api
    a = client.post("/v1/ask", json={"question": "and who else was invited?",
                                     "history": [{"question": "Who did Lavrov invite to the Astana talks?"}]}).json()
    assert "Lavrov" in a["search_query"] and "Astana" in a["search_query"]


def test_ask_streams_passages_then_citations_then_the_answer(api):
    client, _ = api
    for how in ({"json": {"question": ASTANA, "stream": True}},
                {"json": {"question": ASTANA}, "headers": {"Accept": "text/event-stream"}}):
        with client.stream("POST", "/v1/ask", **how) as r:
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
            events = sse_events(r)
        kinds = [k for k, _ in events]
        assert kinds[0] == "passages" and kinds[-1] == "answer" and set(kinds[1:-1]) == {"citation"}, kinds
        final = events[-1][1]
        assert [d for k, d in events if k == "citation"] == final["citations"]
        assert events[0][1] == final["passages"]
    with client.stream("POST", "/v1/ask", json={"question": ASTANA, "stream": True, "as_of": "2017-13-45"}) as r:
        assert r.status_code == 400  # checked before the stream starts
        r.read()
        assert "as_of must be a date" in _clean(r)["message"]


def test_search_and_its_filters(api):
    client, _ = api
    r = client.post("/v1/search", json={"query": "Astana talks mediators", "k": 3})
    ps = r.json()["passages"]
    assert r.status_code == 200 and len(ps) == 3 and ps[0]["rank"] == 1
    text = client.get(f"/v1/articles/{ps[0]['doc_id']}").json()["text"]
    assert text[ps[0]["start"]:ps[0]["end"]] == ps[0]["text"]
    assert all(p["published"] <= "2017-01-18" for p in client.post("/v1/search", json={
        "query": "Astana talks", "date_to": "2017-01-18"}).json()["passages"])
    bad = client.post("/v1/search", json={"query": "Astana", "sources": ["nowhere.example"]})
    assert bad.status_code == 400 and "the index holds: Demo Wire, Adriatic Herald" in _clean(bad)["message"]
    bad = client.post("/v1/search", json={"query": "Astana", "date_from": "last week"})
    assert bad.status_code == 400 and "date_from must be a date" in _clean(bad)["message"]


def test_verify(api):
    client, _ = api
    v = client.post("/v1/verify", json={"question": ASTANA,
                                        "answer": "Russia, Turkey and Iran will act as mediators. [1] "
                                                  "The talks were cancelled by Brazil. [2]"}).json()
    kept = [x for x in v["verification"] if x["kept"]]
    assert len(v["verification"]) == 2 and len(kept) == 1 and "Russia" in kept[0]["sentence"]
    _check_quotes(client, v["citations"])


def test_articles_are_paged_and_filtered(api):
    client, _ = api
    total = client.get("/v1/articles").json()["total"]
    seen, offset = [], 0
    while offset is not None:
        page = client.get("/v1/articles", params={"limit": 5, "offset": offset}).json()
        assert page["total"] == total and len(page["items"]) <= 5
        seen += [a["id"] for a in page["items"]]
        offset = page["next_offset"]
    assert len(seen) == len(set(seen)) == total >= 18
    dates = [a["published"] for a in client.get("/v1/articles", params={"limit": 200}).json()["items"]]
    assert dates == sorted(dates, reverse=True)  # newest first
    astana = client.get("/v1/articles", params={"q": "astana"}).json()
    assert astana["total"] >= 2 and all("astana" in (a["title"] + a["id"]).lower() for a in astana["items"])
    jan = client.get("/v1/articles", params={"date_from": "2017-01-01", "date_to": "2017-01-31"}).json()
    assert 0 < jan["total"] < total and all(a["published"].startswith("2017-01") for a in jan["items"])
    wire = client.get("/v1/articles", params={"source": "Demo Wire"}).json()
    assert 0 < wire["total"] < total and {a["source"] for a in wire["items"]} == {"Demo Wire"}
    assert client.get("/v1/articles", params={"source": "nowhere"}).status_code == 400
    assert client.get("/v1/articles", params={"limit": 0}).status_code == 422
    missing = client.get("/v1/articles/no-such-article")
    assert missing.status_code == 404 and _clean(missing)["type"] == "not_found"


def test_json_articles_upload_ask_and_delete(api):
    client, _ = api
    r = client.post("/v1/articles", json={"articles": [{"id": "odd-harbour", "title": "Harbour vote", "text": ODD,
                                                        "source": "harbour.example", "published": "2017-03-01"}]})
    assert r.status_code == 200, r.text
    job = r.json()
    assert job["status"] == "done" and job["report"]["added"] == ["odd-harbour"] and "added 1" in job["summary"]
    a = client.post("/v1/ask", json={"question": "What was the final vote on the Port Alder harbour wall?",
                                     "sources": ["harbour.example"]}).json()
    assert not a["abstained"] and "7 to 2" in a["answer"]
    article = client.get("/v1/articles/odd-harbour").json()
    assert article["text"] == ODD  # the text as sent; the offsets index it
    _check_quotes(client, a["citations"])
    assert client.delete("/v1/articles/odd-harbour").json() == {"deleted": ["odd-harbour"]}
    gone = client.delete("/v1/articles/odd-harbour")
    assert gone.status_code == 404 and "odd-harbour" in _clean(gone)["message"]
    assert client.get("/v1/articles/odd-harbour").status_code == 404
    bad = client.post("/v1/articles", json={"articles": [{"title": "no text"}]})
    assert bad.status_code == 422 and "text" in _clean(bad)["message"]


def test_file_upload_is_a_job_with_progress(api):
    client, _ = api
    lines = "".join(json.dumps({"id": f"bulletin-{i}", "title": f"Quillby bulletin {i}", "source": "bulletin.example",
                                "published": "2017-02-03", "text": f"Quillby bulletin {i}: the ferry runs twice "
                                f"a day from pier {i}."}) + "\n" for i in range(30))
    files = [("files", ("../../bulletins.jsonl", lines.encode(), "application/json")),
             ("files", ("notes.exe", b"MZ", "application/octet-stream"))]
    r = client.post("/v1/articles", params={"wait": 0}, files=files)
    assert r.status_code == 202 and r.headers["location"] == f"/v1/jobs/{r.json()['id']}"
    import time

    deadline = time.time() + 120
    job = r.json()
    while job["status"] in ("queued", "running") and time.time() < deadline:
        time.sleep(0.2)
        job = client.get(r.headers["location"]).json()
    assert job["status"] == "done", job
    assert len(job["report"]["added"]) == 30 and job["total"] > 0 and job["done"] == job["total"]
    assert job["report"]["failed"] == [{"file": "notes.exe", "reason": "unsupported type; accepted: .txt, .md, "
                                        ".markdown, .html, .htm, .json, .jsonl, .ndjson, .csv"}]
    assert "/tmp" not in json.dumps(job)
    a = client.post("/v1/ask", json={"question": "How often does the ferry run from pier 7?",
                                     "sources": ["bulletin.example"]}).json()
    assert "twice a day" in a["answer"]  # the workers answer from the new generation
    assert client.get("/v1/jobs/nope").status_code == 404


def test_errors_are_json_with_the_right_status(api):
    client, served = api
    cases = [
        (client.post("/v1/ask", content=b"{not json", headers={"content-type": "application/json"}), 400,
         "malformed JSON"),
        (client.post("/v1/ask", json={"question": 12}), 422, "question"),
        (client.post("/v1/ask", json={"question": ASTANA, "top_k": 3}), 422, "top_k"),  # a misspelt option
        (client.post("/v1/ask", json={"question": ASTANA, "k": "many"}), 422, "k"),
        (client.post("/v1/ask", json={"question": "   "}), 400, "empty"),
        (client.post("/v1/ask", json={"question": ASTANA, "mode": "psychic"}), 422, "mode"),
        (client.post("/v1/ask", content=b"{" + b" " * (2 * 1024 * 1024) + b"}",
                     headers={"content-type": "application/json"}), 413, "at most"),
        (client.get("/v1/no-such-route"), 404, "no route"),
        (client.post("/v1/articles", content=b"text", headers={"content-type": "text/plain"}), 415, "multipart"),
    ]
    for r, status, words in cases:
        assert r.status_code == status, (r.status_code, r.text)
        assert words in _clean(r)["message"], r.text
    assert "Traceback" not in served.log()  # bad input is not a crash


def test_health_readiness_and_the_schema(api):
    client, _ = api
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready" and ready["articles"] >= 18
    schema = client.get("/openapi.json").json()
    for path in ("/v1/ask", "/v1/search", "/v1/verify", "/v1/articles", "/v1/articles/{doc_id}", "/v1/jobs/{job_id}",
                 "/v1/stats", "/v1/chat/completions", "/v1/models", "/healthz", "/readyz"):
        assert path in schema["paths"], path
    assert schema["paths"]["/v1/ask"]["post"]["requestBody"]["content"]["application/json"]
    assert client.get("/docs").status_code == 200
    stats = client.get("/v1/stats").json()
    assert stats["articles"] >= 18 and "Demo Wire" in stats["sources"] and "index_dir" not in stats
