"""A Chroma server shared by processes: ingest through it, two server processes (three workers)
answer alike from it, index folders sharing it keep their own collections, and a server that
cannot be reached is a clear error in Chinese and English, never a traceback.

The server tests start a real `chroma run` on a free loopback port; the error tests that need
no server run in the fast suite.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from assistant.config import Settings, load_settings
from assistant.errors import ConfigError, StoreUnavailableError
from assistant.search.index import IndexStore
from assistant.serve.runtime import Services

from .conftest import FICTIONAL

BIN = Path(sys.executable).parent
STARTUP_S = 90.0
QUESTIONS = (
    "首次认定的高新技术企业奖励多少？",
    "孵化器奖励多少？",
    "申请创新券需要什么条件？",
    "小巨人企业能拿多少支持？",
    "研发费用有什么优惠？",
    "示例区的高企补贴什么时候申报？",  # the documents do not say: an abstention, alike too
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def dead_url() -> str:
    """A loopback address where nothing listens."""
    return f"http://127.0.0.1:{free_port()}"


def wait_until(
    process: subprocess.Popen[bytes], url: str, log: Path, ok: tuple[int, ...] = (200,)
) -> None:
    """Poll `url` until it answers with a status in `ok`; fail with the process's output."""
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(
                f"{process.args!r} exited with {process.returncode}:\n"
                + log.read_text(encoding="utf-8", errors="replace")[-3000:]
            )
        try:
            if httpx.get(url, timeout=2).status_code in ok:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail(f"{url} did not answer within {STARTUP_S:.0f} s")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@dataclass
class ChromaServer:
    url: str
    process: subprocess.Popen[bytes]


@pytest.fixture
def chroma(tmp_path: Path) -> Iterator[ChromaServer]:
    """`chroma run` on a free loopback port, its data in the test's folder."""
    port = free_port()
    log = tmp_path / "chroma.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                str(BIN / "chroma"),
                "run",
                "--path",
                str(tmp_path / "chroma-data"),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until(process, f"{url}/api/v2/heartbeat", log)
        yield ChromaServer(url, process)
    finally:
        stop(process)


def process_env(index_dir: Path, chroma_url: str, database: Path) -> dict[str, str]:
    """The environment of a child process: only the settings given here."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env.update(
        {
            "ASSISTANT_CORPUS_DIR": str(FICTIONAL),
            "ASSISTANT_INDEX_DIR": str(index_dir),
            "ASSISTANT_CHROMA_URL": chroma_url,
            "ASSISTANT_DATABASE_URL": f"sqlite:///{database}",
            "ASSISTANT_RATE_LIMIT_PER_MINUTE": "100000",
            "ASSISTANT_LOG_LEVEL": "WARNING",
        }
    )
    return env


def cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "policy-assistant"), *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        timeout=120,
    )


def serve(port: int, workers: int, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [
                str(BIN / "policy-assistant"),
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                str(workers),
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def chat(base: str, question: str) -> dict[str, Any]:
    """The answer and its citations, without what differs per request by design."""
    response = httpx.post(
        f"{base}/v1/chat", timeout=60, json={"messages": [{"role": "user", "content": question}]}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    del body["message_id"], body["session_id"]
    return body


def search(base: str, question: str) -> list[tuple[str, float]]:
    response = httpx.post(f"{base}/v1/search", json={"query": question, "k": 5}, timeout=60)
    assert response.status_code == 200, response.text
    return [(r["chunk_id"], round(r["score"], 5)) for r in response.json()["results"]]


@pytest.mark.slow
def test_two_servers_answer_alike_from_one_chroma_server(
    chroma: ChromaServer, tmp_path: Path
) -> None:
    index_dir = tmp_path / "index"
    ingest = cli(["ingest", "--json"], process_env(index_dir, chroma.url, tmp_path / "i.db"))
    assert ingest.returncode == 0, ingest.stderr
    version = json.loads(ingest.stdout)["version"]
    assert not (index_dir / "chroma").exists()  # the vectors went to the server alone

    ports = free_port(), free_port()
    servers = [
        serve(
            ports[0], 2, process_env(index_dir, chroma.url, tmp_path / "a.db"), tmp_path / "a.log"
        ),
        serve(
            ports[1], 1, process_env(index_dir, chroma.url, tmp_path / "b.db"), tmp_path / "b.log"
        ),
    ]
    try:
        bases = [f"http://127.0.0.1:{p}" for p in ports]
        for server, base, log in zip(servers, bases, ("a.log", "b.log"), strict=True):
            wait_until(server, f"{base}/healthz", tmp_path / log)
            assert httpx.get(f"{base}/healthz").json()["index_version"] == version

        for question in QUESTIONS:
            # New connections each time, so the two workers behind the first port share them.
            first = [chat(bases[0], question) for _ in range(2)]
            assert first[0] == first[1]
            assert chat(bases[1], question) == first[0], question
            assert search(bases[0], question) == search(bases[1], question), question
        award = chat(bases[1], QUESTIONS[0])
        assert "88万元" in award["answer"] and award["citations"]
        assert chat(bases[1], QUESTIONS[-1])["abstained"]

        # The Chroma server goes away: both answer 503 with the reason, and recover no answer
        # from elsewhere.
        stop(chroma.process)
        for base in bases:
            response = httpx.post(f"{base}/v1/search", json={"query": QUESTIONS[1]}, timeout=60)
            assert response.status_code == 503
            error = response.json()["error"]
            assert error["code"] == "store_unavailable"
            assert chroma.url in error["zh"] and "Cannot reach the Chroma server" in error["en"]
    finally:
        for server in servers:
            stop(server)
    for log in ("a.log", "b.log"):
        assert "Traceback" not in (tmp_path / log).read_text(encoding="utf-8", errors="replace")


def server_settings(tmp_path: Path, name: str, url: str) -> Settings:
    return load_settings(corpus_dir=FICTIONAL, index_dir=tmp_path / name, chroma_url=url)


def client(url: str) -> Any:
    """A plain Chroma client of the server, as an operator would use it."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    return chromadb.HttpClient(
        host="127.0.0.1",
        port=int(url.rsplit(":", 1)[1]),
        settings=ChromaSettings(anonymized_telemetry=False),
    )


@pytest.mark.slow
def test_index_folders_sharing_a_server_keep_their_own_collections(
    chroma: ChromaServer, tmp_path: Path, corpus: Path
) -> None:
    staging = Services(server_settings(tmp_path, "staging", chroma.url))
    staging.store.ingest()
    staging_collection = staging.index.collection.name

    production = Services(
        load_settings(corpus_dir=corpus, index_dir=tmp_path / "production", chroma_url=chroma.url)
    )
    first = production.store.ingest()
    for n in range(2):  # each change builds a new version; the one before stays one more
        (corpus / f"notice-{n}.txt").write_text(
            f"通知{n}（虚构）\n一、事项\n(一)说明{n}。仅供测试。\n", encoding="utf-8"
        )
        production.store.ingest()
    production.reload()
    names = {c.name for c in client(chroma.url).list_collections()}
    assert staging_collection in names  # another folder's ingests left it alone
    assert production.index.collection.name in names
    assert not any(first.version in name for name in names)  # two generations back: removed
    assert staging.retriever.search("孵化器奖励", k=1)[0].chunk.doc_id == "fictional-subsidy-notice"


@pytest.mark.slow
def test_an_index_whose_collection_the_server_lost_is_rebuilt_by_the_next_ingest(
    chroma: ChromaServer, tmp_path: Path
) -> None:
    services = Services(server_settings(tmp_path, "index", chroma.url))
    first = services.store.ingest()
    lost = services.index.collection.name
    client(chroma.url).delete_collection(lost)  # as a reset or a lost data volume would
    with pytest.raises(StoreUnavailableError) as err:
        services.retriever.search("孵化器奖励", k=1)
    assert lost in err.value.en and "policy-assistant ingest" in err.value.zh

    again = services.store.ingest()  # nothing changed on disk, but nothing to reuse either
    assert again.swapped and again.embedded_chunks == first.chunks
    services.reload()
    assert (
        services.retriever.search("孵化器奖励", k=1)[0].chunk.doc_id == "fictional-subsidy-notice"
    )


@pytest.mark.slow
def test_the_command_line_names_an_unreachable_server_without_a_traceback(tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    Services(load_settings(corpus_dir=FICTIONAL, index_dir=index_dir)).store.ingest()
    serving = (index_dir / "CURRENT").read_text(encoding="utf-8")
    url = dead_url()
    env = process_env(index_dir, url, tmp_path / "r.db")
    for args in (["search", "孵化器奖励"], ["ingest"]):
        result = cli(args, env)
        assert result.returncode == 1, result.stderr
        assert "无法连接 Chroma 服务器" in result.stderr and url in result.stderr
        assert "Cannot reach the Chroma server" in result.stderr
        assert "Traceback" not in result.stderr
    assert (index_dir / "CURRENT").read_text(encoding="utf-8") == serving


# -- no server needed ------------------------------------------------------------------------


def test_an_ingest_against_an_unreachable_server_fails_at_once_and_builds_nothing(
    services: Services, settings: Settings
) -> None:
    url = dead_url()
    store = IndexStore(settings.model_copy(update={"chroma_url": url}), services.embeddings)
    started = time.monotonic()
    with pytest.raises(StoreUnavailableError) as err:
        store.ingest()
    assert time.monotonic() - started < 10  # before any embedding
    assert url in err.value.zh and url in err.value.en and "ASSISTANT_CHROMA_URL" in err.value.en
    assert store.current_version() is None


def test_opening_an_index_on_an_unreachable_server_says_so(
    services: Services, settings: Settings
) -> None:
    services.store.ingest()
    url = dead_url()
    store = IndexStore(settings.model_copy(update={"chroma_url": url}), services.embeddings)
    with pytest.raises(StoreUnavailableError) as err:
        store.open()
    assert "无法连接 Chroma 服务器" in err.value.zh and url in err.value.en


@pytest.mark.parametrize(
    "url", ["localhost:8000", "http://", "http://10.0.0.5:99999", "http://10.0.0.5:8000/chroma"]
)
def test_a_malformed_chroma_url_is_a_config_error(
    services: Services, settings: Settings, url: str
) -> None:
    store = IndexStore(settings.model_copy(update={"chroma_url": url}), services.embeddings)
    with pytest.raises(ConfigError) as err:
        store.ingest()
    assert "ASSISTANT_CHROMA_URL" in err.value.zh and "ASSISTANT_CHROMA_URL" in err.value.en
