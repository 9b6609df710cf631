"""Safe by default: API keys on /v1 and /mcp (constant-time, never from argv), a read-only server
beyond loopback with --insecure on every surface, and the refusals that keep an index from being
exposed unprotected."""
import os
import shutil
import subprocess
import sys

import httpx
import pytest

from conftest import ROOT, Served

KEY = "k-" + "a1b2c3d4" * 4


def test_policy_rules(monkeypatch):
    from qa.errors import QAError
    from qa.server.security import plan

    monkeypatch.delenv("QA_API_KEYS", raising=False)
    local = plan("127.0.0.1", None, (), insecure=False)
    assert local.api_open and local.allow_writes and local.page
    keyed = plan("127.0.0.1", None, (KEY,), insecure=False)
    assert not keyed.api_open and keyed.key_ok(f"Bearer {KEY}") and not keyed.key_ok("Bearer wrong")
    assert not keyed.key_ok(KEY) and not keyed.key_ok(None) and not keyed.key_ok(f"Basic {KEY}")
    with pytest.raises(QAError, match="refusing to serve on 0.0.0.0 without a password or API key"):
        plan("0.0.0.0", None, (), insecure=False)
    ro = plan("0.0.0.0", None, (), insecure=True)
    assert ro.api_open and not ro.allow_writes and ro.page
    keys_only = plan("0.0.0.0", None, (KEY,), insecure=False)
    assert not keys_only.page and keys_only.allow_writes and not keys_only.api_open
    login_only = plan("0.0.0.0", [("ann", "pw")], (), insecure=False)
    assert login_only.page and not login_only.api_open and not login_only.keys  # the API stays closed


def test_keys_come_from_a_file_or_the_environment(tmp_path, monkeypatch):
    from qa.errors import QAError
    from qa.server.security import read_keys

    monkeypatch.delenv("QA_API_KEYS", raising=False)
    assert read_keys() == ()
    monkeypatch.setenv("QA_API_KEYS", f"{KEY},{KEY}-second")
    assert read_keys() == (KEY, f"{KEY}-second")
    f = tmp_path / "keys"
    f.write_text(f"# the newsroom tool\n{KEY}\n")
    assert read_keys(str(f)) == (KEY,)
    f.write_text("short\n")
    with pytest.raises(QAError, match="at least 16 characters"):
        read_keys(str(f))
    with pytest.raises(QAError, match="cannot read --api-keys-file"):
        read_keys(str(tmp_path / "missing"))
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    r = subprocess.run([sys.executable, "-m", "qa.cli", "serve", "--api-key", KEY], env=env, cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "visible to every user" in r.stderr and KEY not in r.stderr


def test_api_keys_are_required_on_v1_and_mcp(demo_index, tmp_path):
    keys = tmp_path / "keys"
    keys.write_text(KEY + "\n")
    served = Served(demo_index, "--api-keys-file", str(keys), "--workers", "1")
    try:
        with httpx.Client(base_url=served.url, timeout=60) as c:
            assert c.get("/healthz").status_code == 200  # liveness needs no key
            for headers in ({}, {"Authorization": "Bearer not-the-key"}, {"Authorization": KEY}):
                for method, path in (("GET", "/v1/stats"), ("POST", "/v1/ask"), ("POST", "/mcp"),
                                     ("GET", "/v1/models")):
                    r = c.request(method, path, headers=headers, json={"question": "x"})
                    assert r.status_code == 401, (path, headers, r.status_code)
                    assert r.json()["error"]["type"] == "unauthorized" and r.headers["www-authenticate"] == "Bearer"
            ok = {"Authorization": f"Bearer {KEY}"}
            assert c.get("/v1/stats", headers=ok).json()["articles"] >= 18
            a = c.post("/v1/ask", headers=ok, json={"question": "Who will mediate the Astana talks?"}).json()
            assert not a["abstained"]
        assert KEY not in served.log()
    finally:
        served.stop()


def test_insecure_is_read_only_everywhere(demo_index, tmp_path):
    idx = tmp_path / "idx"
    shutil.copytree(demo_index, idx)
    served = Served(idx, "--insecure", "--workers", "1", host="0.0.0.0")
    try:
        with httpx.Client(base_url=served.url, timeout=60) as c:
            assert "read-only" in served.log()
            before = c.get("/v1/stats").json()["articles"]
            r = c.post("/v1/articles", json={"articles": [{"text": "A new article."}]})
            assert r.status_code == 403 and "read-only" in r.json()["error"]["message"]
            r = c.post("/v1/articles", files=[("files", ("a.txt", b"A new article.", "text/plain"))])
            assert r.status_code == 403
            r = c.delete("/v1/articles/demo-lavrov-presser-2017")
            assert r.status_code == 403
            assert c.get("/v1/stats").json()["articles"] == before
            assert not c.post("/v1/ask", json={"question": "Who will mediate the Astana talks?"}).json()["abstained"]
            page = c.get("/config").json()  # the page's own API: no upload or delete endpoint
            names = {d.get("api_name") for d in page.get("dependencies", [])}
            assert "ask" in names and not names & {"upload", "delete"}
    finally:
        served.stop()


def test_cors_is_closed_unless_an_origin_is_given(demo_index):
    plain = Served(demo_index, "--workers", "1")
    opened = Served(demo_index, "--workers", "1", "--cors-origin", "https://newsroom.example")
    try:
        pre = {"Origin": "https://newsroom.example", "Access-Control-Request-Method": "POST",
               "Access-Control-Request-Headers": "content-type"}
        r = httpx.options(plain.url + "/v1/ask", headers=pre)
        assert "access-control-allow-origin" not in r.headers
        r = httpx.options(opened.url + "/v1/ask", headers=pre)
        assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "https://newsroom.example"
        r = httpx.options(opened.url + "/v1/ask", headers={**pre, "Origin": "https://elsewhere.example"})
        assert r.headers.get("access-control-allow-origin") != "https://elsewhere.example"
    finally:
        plain.stop()
        opened.stop()
