"""OpenAI-compatible chat, driven by the official `openai` client against a real `qa serve`:
the answer text with [n] markers and sources, the structured citations (non-streaming and in the
last streamed chunk), and every quote equal to the article text at its offsets."""
import httpx
import pytest
from openai import NotFoundError, OpenAI

from conftest import Served

ASTANA = "Who will mediate the Astana talks?"
TOLL = "How many people were killed by the avalanche at the Hotel Rigopiano?"


@pytest.fixture(scope="module")
def served(demo_index):
    s = Served(demo_index, "--workers", "2")
    yield s
    s.stop()


@pytest.fixture(scope="module")
def client(served):
    return OpenAI(base_url=served.url + "/v1", api_key="unused-on-loopback", max_retries=0)


def _quotes_match(base: str, citations: list[dict]) -> None:
    assert citations
    for c in citations:
        text = httpx.get(f"{base}/v1/articles/{c['doc_id']}").json()["text"]
        assert text[c["start"]:c["end"]] == c["quote"]


def test_models_one_per_answer_mode(client):
    ids = [m.id for m in client.models.list()]
    assert ids[0] == "newsqa" and set(ids) <= {"newsqa", "newsqa-local", "newsqa-openai"}


def test_chat_completion_with_citations(client, served):
    r = client.chat.completions.create(model="newsqa", messages=[
        {"role": "system", "content": "You are a newsroom assistant."},
        {"role": "user", "content": ASTANA}], extra_body={"filters": {"as_of": "2017-01-20", "k": 5}})
    m = r.choices[0].message
    assert r.choices[0].finish_reason == "stop" and m.role == "assistant"
    assert m.content.startswith("Russia, Turkey and Iran will act as mediators. [1]")
    assert "\nSources:\n[1] " in m.content
    citations = m.model_extra["citations"]
    assert citations[0]["n"] == 1 and citations[0]["quote"] in m.content and m.model_extra["abstained"] is False
    _quotes_match(served.url, citations)


def test_streamed_chat_completion_ends_with_the_citations(client, served):
    stream = client.chat.completions.create(model="newsqa", messages=[{"role": "user", "content": ASTANA}],
                                            stream=True)
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    last = chunks[-1].choices[0]
    assert last.finish_reason == "stop" and text.startswith("Russia, Turkey and Iran will act as mediators. [1]")
    citations = last.delta.model_extra["citations"]
    assert [c["n"] for c in citations] == [1]
    _quotes_match(served.url, citations)
    full = client.chat.completions.create(model="newsqa", messages=[{"role": "user", "content": ASTANA}])
    assert text == full.choices[0].message.content  # the same words, streamed or not


def test_the_reply_says_who_reports_it_and_where_reports_disagree(client, served):
    r = client.chat.completions.create(model="newsqa", messages=[{"role": "user", "content": TOLL}])
    m = r.choices[0].message
    assert "Reported by 3 independent outlets" in m.content and "Sources disagree: 29 (3 outlets) against 24" in m.content
    k = m.model_extra["corroboration"]
    assert k["value"] == "29" and k["conflict"]["reports"][k["conflict"]["lead"]]["value"] == "29"
    chunks = list(client.chat.completions.create(model="newsqa", messages=[{"role": "user", "content": TOLL}],
                                                 stream=True))
    assert chunks[-1].choices[0].delta.model_extra["corroboration"] == k
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == m.content


def test_conversation_and_abstention(client):
    r = client.chat.completions.create(model="newsqa", messages=[
        {"role": "user", "content": "Who did Lavrov invite to the Astana talks?"},
        {"role": "assistant", "content": "Lavrov invited the Trump administration. [1]"},
        {"role": "user", "content": "and who else was invited?"}])
    assert r.choices[0].message.content
    off = client.chat.completions.create(model="newsqa", messages=[{"role": "user",
                                                                    "content": "What is the capital of France?"}])
    assert off.choices[0].message.model_extra["abstained"] is True and off.choices[0].message.model_extra[
        "citations"] == []


def test_bad_requests(client, served):
    with pytest.raises(NotFoundError, match="unknown model"):
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": ASTANA}])
    r = httpx.post(served.url + "/v1/chat/completions", json={"model": "newsqa", "messages": [
        {"role": "user", "content": ASTANA}, {"role": "assistant", "content": "..."}]})
    assert r.status_code == 400 and "last message must be the user's question" in r.json()["error"]["message"]
    r = httpx.post(served.url + "/v1/chat/completions", json={"model": "newsqa", "messages": [
        {"role": "user", "content": ASTANA}], "filters": {"sources": ["nowhere.example"]}})
    assert r.status_code == 400 and "Demo Wire" in r.json()["error"]["message"]
