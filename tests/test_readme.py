"""The README's serving examples, run as written: the curl lines, the OpenAI client snippet, the
MCP host config and the LlamaIndex snippet, against a real `qa serve` on a copy of the demo index."""
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT, Served

README = (ROOT / "README.md").read_text(encoding="utf-8")


def example(name: str) -> str:
    m = re.search(rf"<!-- tested: {name} \(tests/test_readme.py\) -->\n```\w+\n(.*?)```", README, re.S)
    assert m, f"README has no tested {name} example"
    return m.group(1)


@pytest.fixture(scope="module")
def served(demo_index, tmp_path_factory):
    idx = tmp_path_factory.mktemp("readme") / "idx"
    shutil.copytree(demo_index, idx)
    s = Served(idx, "--workers", "1")
    yield s, idx
    s.stop()


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl_examples(served):
    s, _ = served
    lines = example("curl").replace("\\\n", " ").replace("127.0.0.1:7860", f"127.0.0.1:{s.port}").splitlines()
    outputs = []
    for line in filter(str.strip, lines):
        r = subprocess.run(line, shell=True, cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, (line, r.stderr)
        outputs.append(r.stdout)
    ask, stream, search, listed, article, upload = outputs
    a = json.loads(ask)
    assert "Russia, Turkey and Iran" in a["answer"]
    assert stream.index("event: passages") < stream.index("event: citation") < stream.index("event: answer")
    assert len(json.loads(search)["passages"]) == 3
    assert json.loads(listed)["limit"] == 5
    c = a["citations"][0]
    assert json.loads(article)["text"][c["start"]:c["end"]] == c["quote"]
    assert json.loads(upload)["report"]["unchanged"]  # the demo corpus again: nothing new


def test_openai_example(served):
    s, _ = served
    code = example("openai").replace("127.0.0.1:7860", f"127.0.0.1:{s.port}")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("Russia, Turkey and Iran will act as mediators. [1]") and "\n1 demo-" in r.stdout


def test_mcp_host_config(served):
    from mcp import Client, StdioServerParameters

    _, idx = served
    config = json.loads(example("mcp").replace("/path/to/newsqa/.venv/bin/qa", str(ROOT / ".venv" / "bin" / "qa"))
                        .replace("/path/to/newsqa/index_store", str(idx)))
    spec = config["mcpServers"]["newsqa"]
    if not os.path.exists(spec["command"]):  # the venv of `make test`; another interpreter runs the same CLI
        spec = {"command": sys.executable, "args": ["-m", "qa.cli", *spec["args"]]}

    async def run():
        params = StdioServerParameters(command=spec["command"], args=spec["args"], cwd=str(ROOT),
                                       env={**os.environ, "HF_HUB_OFFLINE": "1"})
        async with Client(params, read_timeout_seconds=120) as client:
            assert {t.name for t in (await client.list_tools()).tools} >= {"search_news", "ask_news", "get_article"}
            r = await client.call_tool("ask_news", {"question": "Who will mediate the Astana talks?"})
            assert "Russia, Turkey and Iran" in r.structured_content["answer"]

    asyncio.run(run())


def test_llamaindex_example(served, tmp_path):
    _, idx = served
    (tmp_path / "my-articles").mkdir()
    (tmp_path / "my-articles" / "harbour.txt").write_text("The Port Alder council voted 7 to 2 to repair the harbour "
                                                          "wall.", encoding="utf-8")
    code = example("llamaindex").replace('"index_store/"', repr(str(idx)))
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                       env={**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"})
    assert r.returncode == 0, r.stderr
    assert "'doc_id': 'demo-" in r.stdout and "Russia, Turkey and Iran will act as mediators. [1]" in r.stdout
