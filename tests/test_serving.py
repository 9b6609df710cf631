"""Serving safely: no password beyond loopback is refused (or read-only with --insecure), logins
never come from argv, error messages carry no server paths, and the app makes no outbound
connection while it starts, answers and uploads (a socket guard in this process)."""
import json
import os
import socket
import subprocess
import sys

import pytest

from conftest import DEMO, ROOT, write_jsonl


def test_loopback_and_logins(tmp_path, monkeypatch):
    from qa.app.serving import is_loopback, read_auth, serving_plan
    from qa.errors import QAError

    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1") and is_loopback("127.0.0.2")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5") and not is_loopback("example.org")
    monkeypatch.delenv("QA_AUTH", raising=False)
    assert read_auth() is None
    with pytest.raises(QAError, match="without a password"):
        serving_plan("0.0.0.0", None, insecure=False)
    assert serving_plan("0.0.0.0", None, insecure=True) is False  # read-only
    assert serving_plan("127.0.0.1", None, insecure=False) is True
    monkeypatch.setenv("QA_AUTH", "ann:s3cret,bob:pw:with:colons")
    assert read_auth() == [("ann", "s3cret"), ("bob", "pw:with:colons")]
    assert serving_plan("0.0.0.0", read_auth(), insecure=False) is True
    f = tmp_path / "logins"
    f.write_text("# who may log in\ncarol:hunter2\n")
    assert read_auth(str(f)) == [("carol", "hunter2")]  # the file wins over QA_AUTH
    f.write_text("carol\n")
    with pytest.raises(QAError, match="user:password"):
        read_auth(str(f))


def test_cli_refuses_exposure_and_argv_passwords(tmp_path):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False"}
    env.pop("QA_AUTH", None)
    for cmd in ([sys.executable, "-m", "qa.cli", "--index", str(tmp_path / "i"), "serve", "--host", "0.0.0.0"],
                [sys.executable, "app.py", "--index", str(tmp_path / "i"), "--host", "0.0.0.0", "--no-demo"]):
        r = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert r.returncode == 2 and "refusing to serve on 0.0.0.0 without a password" in r.stderr, r.stderr
        assert "Traceback" not in r.stderr
    r = subprocess.run([sys.executable, "-m", "qa.cli", "serve", "--auth", "ann:s3cret"], env=env, cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "visible to every user" in r.stderr
    assert not (tmp_path / "i").exists()  # refused before anything was indexed


def test_error_messages_carry_no_server_paths():
    from qa.app.render import public_message

    assert public_message("/srv/news/index_store/uploads/1a2b/feed.jsonl:3: bad JSON") == "feed.jsonl:3: bad JSON"
    assert public_message("/srv/idx: another process is writing (lock /srv/idx/.write.lock)") == \
        "idx: another process is writing (lock .write.lock)"
    assert public_message("see https://example.org/a/b and 3/4 of 1/2") == "see https://example.org/a/b and 3/4 of 1/2"


@pytest.fixture
def guard(monkeypatch):
    """Every connection and name lookup this process attempts that is not to this machine is recorded
    and refused."""
    attempts = []
    real_connect, real_connect_ex, real_getaddrinfo = socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo

    def local(host) -> bool:
        from qa.app.serving import is_loopback

        return host in ("", None) or is_loopback(str(host))

    def connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and not local(address[0]):
            attempts.append(address)
            raise ConnectionRefusedError(f"test guard: outbound connection to {address}")
        return real_connect(self, address)

    def connect_ex(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and not local(address[0]):
            attempts.append(address)
            return 111
        return real_connect_ex(self, address)

    def getaddrinfo(host, *a, **kw):
        if not local(host if not isinstance(host, bytes) else host.decode()):
            attempts.append((host, "dns"))
            raise socket.gaierror(f"test guard: lookup of {host}")
        return real_getaddrinfo(host, *a, **kw)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return attempts


def test_the_app_makes_no_outbound_connection(tmp_path, minilm, guard):
    """Start the real app (real MiniLM, real Gradio) in this process behind the guard, ask over the
    API, upload a file and read the page: not one connection leaves the machine."""
    import httpx
    from gradio_client import Client, handle_file

    from qa.app.layout import build_app
    from qa.app.render import CSS
    from qa.engine import QA

    with pytest.raises(OSError):  # the guard works: a lookup or connection beyond the machine is caught
        socket.create_connection(("huggingface.co", 443), timeout=5)
    with pytest.raises(OSError):
        socket.create_connection(("93.184.215.14", 443), timeout=5)
    assert len(guard) == 2
    guard.clear()
    idx = tmp_path / "idx"
    QA(location=idx, embedder=minilm).ingest([DEMO])
    demo, engine = build_app(str(idx), feedback_path=str(tmp_path / "fb.jsonl"))
    demo.queue().launch(server_name="127.0.0.1", server_port=None, prevent_thread_lock=True, share=False,
                        quiet=True, css=CSS)
    try:
        url = demo.local_url
        assert httpx.get(url, timeout=30).status_code == 200
        client = Client(url, verbose=False)
        final = client.predict(message="Who will mediate the Astana talks?", history=[], as_of="", date_from="",
                               date_to="", sources=[], k=8, mode="extractive", api_name="/ask")
        assert "Turkey" in final[3]
        new = write_jsonl(tmp_path / "ferry.jsonl", [{"id": "ferry-1", "title": "Ferry back", "published": "2017-01-27",
                                                       "text": "The ferry to Isla Gorrion restarted on Friday."}])
        log = client.predict([handle_file(str(new))], "", "newest first", api_name="/upload")[0]
        assert "added 1" in log and str(tmp_path) not in log
    finally:
        demo.close()
    assert guard == [], f"outbound connections attempted: {guard}"
    assert os.environ["GRADIO_ANALYTICS_ENABLED"] == "False"


def test_insecure_serving_is_read_only_and_a_login_opens_it(tmp_path):
    """Beyond loopback: --insecure serves questions only (no upload or delete endpoint); with
    QA_AUTH the app asks for the login, then upload is there."""
    from gradio_client import Client

    from test_app import _free_port, _wait_port

    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False"}
    env.pop("QA_AUTH", None)
    for extra, auth in (({"QA_AUTH": ""}, None), ({"QA_AUTH": "ann:s3cret"}, ("ann", "s3cret"))):
        port = _free_port()
        args = [sys.executable, "app.py", "--index", str(tmp_path / "idx"), "--no-demo", "--host", "0.0.0.0",
                "--port", str(port)] + (["--insecure"] if auth is None else [])
        proc = subprocess.Popen(args, env={**env, **extra}, cwd=ROOT, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        try:
            url = _wait_port(port, proc)
            if auth is None:
                endpoints = Client(url, verbose=False).view_api(print_info=False, return_format="dict")
                names = set(endpoints["named_endpoints"])
                assert "/ask" in names and "/upload" not in names and "/delete" not in names
            else:
                with pytest.raises(Exception):
                    Client(url, verbose=False)  # no login, no app
                names = set(Client(url, auth=auth, verbose=False).view_api(
                    print_info=False, return_format="dict")["named_endpoints"])
                assert {"/ask", "/upload", "/delete"} <= names
        finally:
            proc.terminate()
            proc.wait(timeout=20)


def test_an_unexpected_error_is_logged_not_shown(tmp_path, minilm, caplog):
    """A failure inside answering: the page gets a short message without server paths; the
    traceback goes to the server log."""
    import logging

    from gradio_client import Client

    from qa.app.layout import build_app

    demo, engine = build_app(str(tmp_path / "idx"), feedback_path=str(tmp_path / "fb.jsonl"))

    def broken(*a, **kw):
        raise RuntimeError("/srv/secret/index_store/segments/seg-000001.faiss: boom")
        yield  # a generator, like the real one

    engine.ask_stream = broken
    demo.queue().launch(server_name="127.0.0.1", prevent_thread_lock=True, quiet=True)
    try:
        with caplog.at_level(logging.ERROR, logger="newsqa.app"):
            final = Client(demo.local_url, verbose=False).predict(
                message="Who will mediate the Astana talks?", history=[], as_of="", date_from="", date_to="",
                sources=[], k=8, mode="extractive", api_name="/ask")
    finally:
        demo.close()
    shown = json.dumps(final[0])
    assert "something went wrong (RuntimeError)" in shown and "/srv/secret" not in shown and "Traceback" not in shown
    logged = [r for r in caplog.records if r.name == "newsqa.app"]
    assert logged and logged[0].exc_info and "/srv/secret" in str(logged[0].exc_info[1])
