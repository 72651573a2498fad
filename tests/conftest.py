"""Shared fixtures: every test gets its own index folder; nothing touches the project's index/."""

from __future__ import annotations

import shutil
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from assistant.config import PROJECT_DIR, Settings, load_settings
from assistant.serve.runtime import Services, limit_threads

from .openai_stub import OpenAIStub
from .postgres import PostgresServer

FIXTURES = Path(__file__).parent / "fixtures"
FICTIONAL = FIXTURES / "policies"


@pytest.fixture(scope="session", autouse=True)
def _threads() -> None:
    """The same thread limits as the command line and the server."""
    limit_threads()


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the settings at a fresh index folder for each test."""
    index_dir = tmp_path / "index"
    monkeypatch.setenv("ASSISTANT_INDEX_DIR", str(index_dir))
    for name in (
        "ASSISTANT_CHROMA_URL",
        "ASSISTANT_EMBEDDER",
        "ASSISTANT_ST_MODEL_PATH",
        "ASSISTANT_CORPUS_DIR",
    ):
        monkeypatch.delenv(name, raising=False)
    return index_dir


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """A private copy of the fictional policies, free to change."""
    target = tmp_path / "corpus"
    shutil.copytree(FICTIONAL, target)
    return target


@pytest.fixture
def settings(corpus: Path, isolated_env: Path) -> Settings:
    return load_settings(corpus_dir=corpus, index_dir=isolated_env)


@pytest.fixture
def services(settings: Settings) -> Services:
    return Services(settings)


@pytest.fixture(scope="session")
def shipped_services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    """The shipped corpus, ingested once for the whole session into a private index."""
    index_dir = tmp_path_factory.mktemp("shipped-index")
    services = Services(load_settings(corpus_dir=PROJECT_DIR / "corpus", index_dir=index_dir))
    services.store.ingest()
    yield services


@pytest.fixture(scope="session")
def foreign_services(shipped_services: Services) -> Services:
    """The fictional development corpus (evals/foreign), indexed apart as `eval` indexes it."""
    from assistant.evaluation import SETS, corpus_services

    [one] = [s for s in SETS if s.name == "foreign"]
    assert one.corpus is not None
    return corpus_services(shipped_services, one.corpus)


@pytest.fixture(autouse=True)
def _site_of_the_shipped_corpus(request: pytest.FixtureRequest) -> None:
    """A test over the shipped corpus sees its site's wording of the location facts, which a
    process words once, by the site it served last (an earlier test may have served another)."""
    if "shipped_services" in request.fixturenames:
        from assistant.serve.runtime import use_site

        use_site(request.getfixturevalue("shipped_services").settings)


@pytest.fixture
def openai_stub() -> Iterator[OpenAIStub]:
    """A local OpenAI-compatible chat server with scripted replies (see tests/openai_stub.py)."""
    with OpenAIStub() as stub:
        yield stub


def free_port() -> int:
    """A loopback port nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def served(app: Any) -> Iterator[str]:
    """The app under a real uvicorn server on a free loopback port, run as `policy-assistant
    serve` runs it (the app alone reads X-Forwarded-For); its base URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            proxy_headers=False,
            timeout_graceful_shutdown=10,
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A real PostgreSQL 15 for the whole session, in a temporary folder removed at the end;
    a test may stop and start it (`postgres_server.stop()`, `.start()`)."""
    with PostgresServer.create() as server:
        yield server


@pytest.fixture(scope="session")
def postgres_url(postgres_server: PostgresServer) -> str:
    """`postgresql+psycopg://…@127.0.0.1:PORT/assistant`: one database shared by the session."""
    return postgres_server.url


@pytest.fixture
def fresh_postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """An empty database of its own for one test, dropped after it; the server is started
    again first if an earlier test left it stopped."""
    postgres_server.start()
    name = f"t{uuid.uuid4().hex[:12]}"
    yield postgres_server.new_database(name)
    postgres_server.start()
    postgres_server.drop_database(name)
