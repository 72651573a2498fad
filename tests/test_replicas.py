"""Several replicas as one, checked from outside: a real PostgreSQL 15, a real Chroma server and
two real `policy-assistant serve` processes sharing them, the index folder and the records
secret, as `make cluster` runs them.

One pair of replicas serves the module, over a private copy of the shipped district document,
with small limits: 10 requests a minute per key (the app's budget), 5 per (key, end user).
Each test speaks with keys of its own, so that no test spends another's budget. The last tests start
`policy-assistant cluster` itself and stop it with Ctrl-C.

The uploaded file is fictional policy text written by the test and says so.
"""

from __future__ import annotations

import itertools
import os
import random
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from assistant.config import PROJECT_DIR
from assistant.errors import AssistantError
from assistant.serve.cluster import (
    Layout,
    LocalPostgres,
    core_shares,
    plan,
    port_free,
    replica_env,
    start_chroma,
)

from .conftest import FICTIONAL, free_port
from .postgres import PostgresServer
from .test_chroma_server import BIN, stop, wait_until

KEY_BUDGET = 10  # ASSISTANT_RATE_LIMIT_PER_MINUTE of the module's replicas
USER_BUDGET = 5  # ASSISTANT_USER_RATE_LIMIT_PER_MINUTE
ADMIN = "replicas-admin-key-0001"
KEY_NAMES = (
    "conversation",
    "budget",
    "users",
    "records",
    "upload",
    *(f"outage{n}" for n in range(12)),
)
KEYS = {name: f"replicas-{name}-key-0001" for name in KEY_NAMES}
SETTLE_S = 5.0  # "within a few seconds"


# -- the module's replicas --------------------------------------------------------------------


@dataclass
class Replicas:
    """Two replicas (A, B) sharing one PostgreSQL database, one Chroma server, one index."""

    urls: tuple[str, str]
    corpus: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def a(self) -> str:
        return self.urls[0]

    @property
    def b(self) -> str:
        return self.urls[1]


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def chat(
    base: str, key: str, question: str, *, user: str | None = None, session: str | None = None
) -> httpx.Response:
    body: dict[str, Any] = {"messages": [{"role": "user", "content": question}]}
    if user is not None:
        body["user"] = user
    if session is not None:
        body["session_id"] = session
    return httpx.post(f"{base}/v1/chat", json=body, headers=auth(key), timeout=60)


def health(base: str) -> dict[str, Any]:
    response = httpx.get(f"{base}/healthz", timeout=10)
    assert response.status_code == 200, response.text
    return dict(response.json())


@pytest.fixture(scope="module")
def replicas(
    postgres_server: PostgresServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Replicas]:
    root = tmp_path_factory.mktemp("replicas")
    corpus = root / "corpus"
    # The shipped district document, its site and its rules: what these tests ask about,
    # ingested in a few seconds (the laws would take a minute). Uploads land in this copy.
    shutil.copytree(PROJECT_DIR / "corpus", corpus, ignore=shutil.ignore_patterns("laws"))
    (corpus / "rules" / "national-laws.yaml").unlink()
    postgres_server.start()
    database = f"replicas_{uuid.uuid4().hex[:8]}"
    database_url = postgres_server.new_database(database)
    chroma_port = free_port()
    chroma = start_chroma(root / "chroma-data", chroma_port, root / "chroma.log")
    chroma_url = f"http://127.0.0.1:{chroma_port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env.update(
        {
            "ASSISTANT_CORPUS_DIR": str(corpus),
            "ASSISTANT_INDEX_DIR": str(root / "index"),
            "ASSISTANT_CHROMA_URL": chroma_url,
            "ASSISTANT_DATABASE_URL": database_url,
            "ASSISTANT_RECORDS_SECRET": "replicas-records-secret-0001",
            "ASSISTANT_API_KEYS": ",".join(f"{n}:{k}" for n, k in KEYS.items()),
            "ASSISTANT_ADMIN_KEY": ADMIN,
            "ASSISTANT_RATE_LIMIT_PER_MINUTE": str(KEY_BUDGET),
            "ASSISTANT_USER_RATE_LIMIT_PER_MINUTE": str(USER_BUDGET),
            "ASSISTANT_LOG_LEVEL": "WARNING",
        }
    )
    pair = Replicas(("", ""), corpus)
    try:
        ingest = subprocess.run(
            [str(BIN / "policy-assistant"), "ingest", "--json"],
            env=env,
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=300,
        )
        assert ingest.returncode == 0, ingest.stderr[-3000:]
        ports = free_port(), free_port()
        for name, port in zip("ab", ports, strict=True):
            with (root / f"{name}.log").open("wb") as out:
                pair.processes.append(
                    subprocess.Popen(
                        [
                            str(BIN / "policy-assistant"),
                            "serve",
                            "--host",
                            "127.0.0.1",
                            "--port",
                            str(port),
                        ],
                        env=env,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                    )
                )
        pair.urls = (f"http://127.0.0.1:{ports[0]}", f"http://127.0.0.1:{ports[1]}")
        for process, url, name in zip(pair.processes, pair.urls, "ab", strict=True):
            wait_until(process, f"{url}/healthz", root / f"{name}.log")
        yield pair
    finally:
        for process in pair.processes:
            stop(process)
        chroma.stop()
        postgres_server.start()
        postgres_server.drop_database(database)


# -- acceptance -------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_conversation_alternating_between_replicas_keeps_its_history(
    replicas: Replicas,
) -> None:
    key, user, session = KEYS["conversation"], "openid-conversation", "conversation-1"
    first = chat(replicas.a, key, "去年全区有效高企有多少家？", user=user, session=session)
    assert first.status_code == 200, first.text
    follow_up = chat(replicas.b, key, "那今年的目标呢？", user=user, session=session)
    assert follow_up.status_code == 200, follow_up.text
    assert "1210家" in follow_up.json()["answer"], follow_up.json()
    # The history is what made it the 高企 target: a new conversation is not read so.
    fresh = chat(replicas.a, key, "那今年的目标呢？", user=user, session="conversation-2")
    assert fresh.status_code == 200, fresh.text
    assert "1210家" not in fresh.json()["answer"]


@pytest.mark.slow
def test_a_keys_budget_is_shared_by_the_replicas(replicas: Replicas) -> None:
    statuses: list[int] = []
    codes: list[str] = []
    started = time.monotonic()
    for n in range(16):  # each from another end user: only the key's budget can refuse them
        base = replicas.urls[n % 2]
        response = chat(base, KEYS["budget"], "孵化器有什么支持？", user=f"budget-user-{n}")
        statuses.append(response.status_code)
        if response.status_code == 429:
            codes.append(response.json()["error"]["code"])
            assert int(response.headers["Retry-After"]) >= 1
    assert set(statuses) <= {200, 429}, statuses
    assert 429 in statuses, statuses
    assert set(codes) == {"rate_limited"}, codes
    # Ten a minute over both replicas together, not ten on each (one more may drip in).
    refilled = int((time.monotonic() - started) * KEY_BUDGET / 60) + 1
    assert statuses.count(200) <= KEY_BUDGET + refilled, statuses


@pytest.mark.slow
def test_one_busy_user_is_limited_while_another_of_the_same_key_is_served(
    replicas: Replicas,
) -> None:
    key = KEYS["users"]
    for n in range(USER_BUDGET):
        response = chat(replicas.urls[n % 2], key, "孵化器有什么支持？", user="u1")
        assert response.status_code == 200, (n, response.text)
    limited = chat(replicas.b, key, "孵化器有什么支持？", user="u1")
    assert limited.status_code == 429, limited.text
    assert limited.json()["error"]["code"] == "user_rate_limited"
    other = chat(replicas.a, key, "孵化器有什么支持？", user="u2")
    assert other.status_code == 200, other.text


@pytest.mark.slow
def test_an_exchange_answered_by_one_replica_is_in_the_other_replicas_records(
    replicas: Replicas,
) -> None:
    answered = chat(replicas.b, KEYS["records"], "高企认定后有什么奖励？", user="openid-records-1")
    assert answered.status_code == 200, answered.text
    message_id = answered.json()["message_id"]
    deadline = time.monotonic() + SETTLE_S
    while True:
        export = httpx.get(f"{replicas.a}/v1/admin/records", headers=auth(ADMIN), timeout=30)
        assert export.status_code == 200, export.text
        rows = {r["message_id"]: r for r in export.json()["records"]}
        if message_id in rows or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert message_id in rows
    row = rows[message_id]
    assert row["question"] == "高企认定后有什么奖励？"
    assert "openid-records-1" not in str(row)  # a keyed hash of the user, never the openid


@dataclass
class Traffic:
    """Answers asked of both replicas, turn by turn, from a thread, until told to stop."""

    replicas: Replicas
    statuses: list[tuple[float, int, str]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        keys = itertools.cycle([KEYS[f"outage{n}"] for n in range(12)])
        questions = itertools.cycle(
            ["孵化器有什么支持？", "那今年的目标呢？", "高企的税率是多少？"]
        )
        for n in itertools.count():
            if self.stopping.is_set():
                return
            base = self.replicas.urls[n % 2]
            try:
                # Keys and users in turn, so that no limit is reached: what is measured is
                # the outage alone.
                response = chat(
                    base, next(keys), next(questions), user=f"openid-{n % 5}", session="outage-1"
                )
            except httpx.HTTPError as exc:
                self.failures.append(f"{base}: {type(exc).__name__}")
                continue
            self.statuses.append((time.monotonic(), response.status_code, response.text[:300]))


def wait_for_status(replicas: Replicas, wanted: str, within: float) -> float:
    """Seconds until both replicas' /healthz say `wanted`."""
    started = time.monotonic()
    while True:
        seen = [health(url)["status"] for url in replicas.urls]
        if seen == [wanted, wanted]:
            return time.monotonic() - started
        assert time.monotonic() - started < within, f"/healthz says {seen}, not {wanted!r}"
        time.sleep(0.25)


@pytest.mark.slow
def test_stopping_postgres_mid_run_gives_no_server_errors_and_the_replicas_recover(
    replicas: Replicas, postgres_server: PostgresServer
) -> None:
    assert [health(url)["status"] for url in replicas.urls] == ["ok", "ok"]
    traffic = Traffic(replicas)
    thread = threading.Thread(target=traffic.run, daemon=True)
    thread.start()
    try:
        time.sleep(2)
        stopped_at = time.monotonic()
        postgres_server.stop()
        wait_for_status(replicas, "degraded", within=15)
        time.sleep(3)  # answers go on without the database
        restarted_at = time.monotonic()
        postgres_server.start()
        wait_for_status(replicas, "ok", within=30)
        time.sleep(2)
    finally:
        postgres_server.start()
        traffic.stopping.set()
        thread.join(timeout=90)
    errors = [(status, text) for _, status, text in traffic.statuses if status >= 500]
    assert not errors, errors
    assert not traffic.failures, traffic.failures
    during = [status for at, status, _ in traffic.statuses if stopped_at < at < restarted_at]
    assert during and 200 in during, traffic.statuses
    # After it: a conversation is kept again, across the replicas.
    key, user = KEYS["conversation"], "openid-after-outage"
    first = chat(replicas.b, key, "去年全区有效高企有多少家？", user=user, session="after-1")
    assert first.status_code == 200, first.text
    follow_up = chat(replicas.a, key, "那今年的目标呢？", user=user, session="after-1")
    assert follow_up.status_code == 200, follow_up.text
    assert "1210家" in follow_up.json()["answer"]


def voucher_notice(amount: int) -> bytes:
    return (
        "示例区创新券实施细则（虚构示例，仅供测试）\n"
        f"一、支持对象\n（一）额度。每家企业每年申领创新券最高{amount}万元。\n"
    ).encode()


@pytest.mark.slow
def test_a_document_uploaded_through_one_replica_is_answered_by_the_other_within_seconds(
    replicas: Replicas,
) -> None:
    started = httpx.post(
        f"{replicas.a}/v1/admin/documents",
        headers=auth(ADMIN),
        files=[("files", ("innovation-voucher.txt", voucher_notice(37), "text/plain"))],
        timeout=60,
    )
    assert started.status_code == 202, started.text
    deadline = time.monotonic() + 180
    while True:
        job = httpx.get(f"{replicas.a}{started.json()['status_url']}", headers=auth(ADMIN)).json()
        if job["state"] in ("done", "failed"):
            break
        assert time.monotonic() < deadline, job
        time.sleep(0.2)
    assert job["state"] == "done", job
    done = time.monotonic()
    version = health(replicas.a)["index_version"]
    while health(replicas.b)["index_version"] != version:
        assert time.monotonic() - done < SETTLE_S, "replica B still serves the old index"
        time.sleep(0.1)
    answer = chat(replicas.b, KEYS["upload"], "创新券每家企业每年最高多少？", user="openid-upload")
    assert answer.status_code == 200, answer.text
    assert "37万元" in answer.json()["answer"], answer.json()


# -- policy-assistant cluster -----------------------------------------------------------------


def test_the_replicas_of_a_cluster_share_one_database_chroma_server_index_and_secret(
    tmp_path: Path,
) -> None:
    layout = plan(tmp_path / "cluster", 9001, 3, 9100, 6543)
    assert layout.replica_urls == [f"http://127.0.0.1:{p}" for p in (9001, 9002, 9003)]
    env = replica_env({"ASSISTANT_API_KEYS": "app:k", "PATH": "/bin"}, layout, "pw", "secret")
    assert env == {
        "ASSISTANT_API_KEYS": "app:k",  # the caller's settings reach every replica
        "PATH": "/bin",
        "ASSISTANT_DATABASE_URL": "postgresql+psycopg://assistant:pw@127.0.0.1:6543/assistant",
        "ASSISTANT_CHROMA_URL": "http://127.0.0.1:9100",
        "ASSISTANT_INDEX_DIR": str(tmp_path / "cluster" / "index"),
        "ASSISTANT_RECORDS_SECRET": "secret",
    }


def test_replicas_on_one_machine_split_its_cores_evenly() -> None:
    assert core_shares(2, [0, 1]) == [{0}, {1}]
    assert core_shares(2, [3, 2, 1, 0, 4]) == [{0, 1}, {2, 3}]  # the odd one out is left idle
    assert core_shares(3, [0, 1]) == []  # fewer cores than replicas: every replica on all


@pytest.mark.parametrize(
    ("port", "replicas", "chroma_port", "pg_port"),
    [(8001, 2, 8002, 5433), (8001, 2, 8100, 8001), (65535, 2, 8100, 5433), (8001, 0, 8100, 5433)],
)
def test_a_cluster_with_colliding_ports_or_no_replica_is_refused(
    tmp_path: Path, port: int, replicas: int, chroma_port: int, pg_port: int
) -> None:
    with pytest.raises(AssistantError) as refused:
        plan(tmp_path, port, replicas, chroma_port, pg_port)
    assert refused.value.zh and refused.value.en


def read_until(process: subprocess.Popen[str], marker: str, timeout: float) -> str:
    """The command's output up to the line holding `marker`."""
    assert process.stdout is not None
    seen: list[str] = []
    result: dict[str, bool] = {}

    def reader() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            seen.append(line)
            if marker in line:
                result["found"] = True
                return

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    thread.join(timeout)
    assert result.get("found"), "".join(seen)[-3000:]
    return "".join(seen)


def free_ports(count: int) -> list[int]:
    """`count` consecutive loopback ports nobody listens on, below the range the system hands
    out for outgoing connections (one of those may be taken by a connection at any moment)."""
    for _ in range(200):
        first = random.randrange(20_000, 30_000)
        ports = list(range(first, first + count))
        if all(port_free(p) for p in ports):
            return ports
    raise AssertionError("no free ports")


@pytest.fixture
def open_folder() -> Iterator[Path]:
    """A temporary folder the `postgres` system user can pass through (pytest's cannot)."""
    folder = Path(tempfile.mkdtemp(prefix="assistant-cluster-"))
    folder.chmod(0o711)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.slow
def test_the_cluster_command_starts_every_part_on_loopback_and_ctrl_c_stops_them(
    open_folder: Path,
) -> None:
    ports = free_ports(4)
    layout: Layout = plan(open_folder / "cluster", ports[0], 2, ports[2], ports[3])
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env.update(
        {
            "ASSISTANT_CORPUS_DIR": str(FICTIONAL),
            "ASSISTANT_ADMIN_KEY": ADMIN,
            "ASSISTANT_LOG_LEVEL": "WARNING",
        }
    )
    command = [str(BIN / "policy-assistant"), "cluster", "--folder", str(layout.folder)]
    command += ["--port", str(layout.replica_ports[0]), "--replicas", "2"]
    command += ["--chroma-port", str(layout.chroma_port), "--pg-port", str(layout.pg_port)]
    runner = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        encoding="utf-8",
    )
    try:
        printed = read_until(runner, "Ctrl-C", timeout=180)
        for url in (*layout.replica_urls, layout.chroma_url):
            assert url in printed
        assert f"127.0.0.1:{layout.pg_port}" in printed
        a, b = layout.replica_urls
        assert health(a)["index_version"] == health(b)["index_version"]
        assert [health(url).get("database") for url in (a, b)] == ["ok", "ok"]

        answered = httpx.post(
            f"{b}/v1/chat",
            json={"messages": [{"role": "user", "content": "孵化器奖励多少？"}]},
            timeout=60,
        )
        assert answered.status_code == 200 and "50万元" in answered.json()["answer"]
        message_id = answered.json()["message_id"]
        deadline = time.monotonic() + SETTLE_S
        while True:
            rows = httpx.get(f"{a}/v1/admin/records", headers=auth(ADMIN), timeout=30).json()
            if any(r["message_id"] == message_id for r in rows["records"]):
                break
            assert time.monotonic() < deadline, "replica 1 does not see replica 2's exchange"
            time.sleep(0.2)
        # It is PostgreSQL that holds them, reachable on loopback with the kept password.
        password = layout.password_file.read_text(encoding="utf-8").strip()
        engine = sa.create_engine(layout.database_url(password))
        try:
            with engine.connect() as connection:
                assert connection.execute(sa.text("SELECT 1")).scalar_one() == 1
        finally:
            engine.dispose()

        runner.send_signal(signal.SIGINT)  # as Ctrl-C in the terminal
        assert runner.wait(timeout=60) == 0
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.wait()
        LocalPostgres(layout.pg_folder, layout.pg_port, "", durable=True).stop("immediate")
    for port in (layout.pg_port, layout.chroma_port, *layout.replica_ports):
        assert port_free(port), port
    assert not LocalPostgres(layout.pg_folder, layout.pg_port, "", durable=True).running()
    logs = "".join(p.read_text(encoding="utf-8", errors="replace") for p in layout.logs.iterdir())
    assert "Traceback" not in logs


def test_a_stopped_postgres_comes_back_with_its_data_on_the_same_address(
    postgres_server: PostgresServer, fresh_postgres_url: str
) -> None:
    engine = sa.create_engine(fresh_postgres_url, pool_pre_ping=True)
    try:
        with engine.begin() as connection:
            connection.execute(sa.text("CREATE TABLE kept (n integer)"))
            connection.execute(sa.text("INSERT INTO kept VALUES (1)"))
        postgres_server.stop()
        with pytest.raises(sa.exc.OperationalError), engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
        postgres_server.start()
        with engine.connect() as connection:
            assert connection.execute(sa.text("SELECT n FROM kept")).scalar_one() == 1
    finally:
        engine.dispose()
