"""The MCP tools through the official `mcp` SDK's own client: over stdio (`qa mcp`) and over
streamable HTTP (`/mcp` inside `qa serve`). List the tools, call each, and a bad argument is a
tool error that says what is allowed."""
import asyncio
import os
import sys

import httpx2
import pytest
from mcp import Client, StdioServerParameters

from conftest import ROOT, Served

ASTANA = "Who will mediate the Astana talks?"
TOLL = "How many people were killed by the avalanche at the Hotel Rigopiano?"
TOOLS = {"search_news", "ask_news", "get_article", "list_sources"}


async def _exercise(client) -> None:
    tools = {t.name: t for t in (await client.list_tools()).tools}
    assert set(tools) == TOOLS
    assert {"query", "as_of", "sources", "date_from", "date_to", "k"} <= set(tools["search_news"].input_schema[
        "properties"])
    found = await client.call_tool("search_news", {"query": "Astana talks mediators", "k": 3})
    assert not found.is_error
    passages = found.structured_content["passages"]
    assert len(passages) == 3 and {"doc_id", "title", "source", "url", "published", "quote", "start", "end",
                                   "score"} <= set(passages[0])
    answer = await client.call_tool("ask_news", {"question": ASTANA, "as_of": "2017-01-20"})
    a = answer.structured_content
    assert not answer.is_error and not a["abstained"] and "Russia, Turkey and Iran" in a["answer"]
    c = a["citations"][0]
    toll = (await client.call_tool("ask_news", {"question": TOLL})).structured_content
    k = toll["corroboration"]
    assert k["value"] == "29" and k["independent_outlets"] == 3 and k["conflict"]["revision"] is False
    assert {r["value"] for r in k["conflict"]["reports"]} == {"29", "24"}
    article = (await client.call_tool("get_article", {"doc_id": c["doc_id"]})).structured_content
    assert article["text"][c["start"]:c["end"]] == c["quote"]
    p = passages[0]
    article = (await client.call_tool("get_article", {"doc_id": p["doc_id"]})).structured_content
    assert article["text"][p["start"]:p["end"]] == p["quote"]
    sources = (await client.call_tool("list_sources", {})).structured_content
    assert sum(sources["sources"].values()) == sources["articles"] and len(sources["published_range"]) == 2
    assert sources["sources"]["Demo Wire"] > sources["sources"]["Valley Evening News"] == 1
    resource = await client.read_resource("newsqa://sources")
    assert '"Demo Wire"' in resource.contents[0].text
    for tool, args, says in (
            ("search_news", {"query": "Astana", "sources": ["nowhere.example"]}, "the index holds: Demo Wire, Adriatic Herald"),
            ("ask_news", {"question": ASTANA, "as_of": "next Tuesday"}, "as_of must be a date like"),
            ("ask_news", {"question": ASTANA, "k": 0}, "k must be at least 1"),
            ("get_article", {"doc_id": "no-such-article"}, "no article 'no-such-article'"),
            ("search_news", {"k": 3}, "query")):
        r = await client.call_tool(tool, args)
        assert r.is_error and says in r.content[0].text, (tool, r.content)


def test_mcp_over_stdio(demo_index):
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    params = StdioServerParameters(command=sys.executable, args=["-m", "qa.cli", "--index", str(demo_index), "mcp"],
                                   env=env, cwd=str(ROOT))

    async def run():
        async with Client(params, read_timeout_seconds=120) as client:
            await _exercise(client)

    asyncio.run(run())


@pytest.mark.parametrize("keyed", [False, True])
def test_mcp_over_http_in_qa_serve(demo_index, tmp_path, keyed):
    key = "mcp-test-key-0123456789"
    args = ["--workers", "1"]
    if keyed:
        (tmp_path / "keys").write_text(key + "\n")
        args += ["--api-keys-file", str(tmp_path / "keys")]
    served = Served(demo_index, *args)
    try:
        async def run():
            headers = {"Authorization": f"Bearer {key}"} if keyed else {}
            from mcp.client.streamable_http import streamable_http_client

            async with httpx2.AsyncClient(headers=headers, timeout=120) as http:
                async with Client(streamable_http_client(served.url + "/mcp", http_client=http)) as client:
                    await _exercise(client)

        asyncio.run(run())
    finally:
        served.stop()
