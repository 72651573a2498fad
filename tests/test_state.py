"""The state the replicas share, in a real database: token buckets and server-kept sessions
that several stores (and processes) see alike, changed atomically; limits that fall back to
the process's memory while the database is away, sessions that say they cannot be read, and
a store that comes back by itself when the database does. Over SQLite files, a PostgreSQL 15
server, and `policy-assistant serve` processes over HTTP.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from assistant.errors import UnavailableError
from assistant.serve.access import RateLimiter, admit
from assistant.serve.schema import buckets, metadata, sessions
from assistant.serve.state import Breaker, SharedBuckets, SharedSessions, SharedState

from .conftest import FICTIONAL, free_port
from .test_chroma_server import stop, wait_until

SECRET = b"state-test-secret-0123456789abcdef"
KEY = "state-client-key-001"


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def engine_of(url: str) -> sa.Engine:
    engine = sa.create_engine(url, pool_pre_ping=True)
    metadata.create_all(engine)
    return engine


def sqlite_url(folder: Path) -> str:
    return f"sqlite:///{folder / 'state.sqlite3'}"


@pytest.fixture
def sqlite_engines(tmp_path: Path) -> Iterator[tuple[sa.Engine, sa.Engine]]:
    """Two engines over one SQLite file, as two processes would have."""
    first, second = engine_of(sqlite_url(tmp_path)), engine_of(sqlite_url(tmp_path))
    yield first, second
    first.dispose()
    second.dispose()


def dead_state(clock: Clock | None = None, pause: float = 60.0) -> SharedState:
    """A store whose PostgreSQL does not listen (refused at once, as a stopped server)."""
    url = f"postgresql+psycopg://nobody:nothing@127.0.0.1:{free_port()}/none"
    return SharedState(sa.create_engine(url), SECRET, breaker=Breaker(pause=pause))


# -- the breaker (pure) ----------------------------------------------------------------------


def test_the_breaker_holds_the_database_off_after_a_failure_then_lets_one_caller_retry() -> None:
    clock = Clock(0.0)
    breaker = Breaker(pause=5.0, clock=clock)
    assert breaker.allows() and breaker.allows()  # up: everyone goes
    assert breaker.failed() is True  # it was up until now
    assert not breaker.allows()
    clock.now = 5.0
    assert breaker.allows()  # one caller tries …
    assert not breaker.allows()  # … the others do not, while it does
    assert breaker.failed() is False  # still down
    clock.now = 10.0
    assert breaker.allows() and breaker.succeeded() is True  # back
    assert breaker.allows() and breaker.allows() and not breaker.down


def test_a_user_over_their_limit_spends_nothing_of_the_apps_budget() -> None:
    clock = Clock()
    app, users = RateLimiter(3, clock), RateLimiter(1, clock)
    assert admit(app, users, "app", "u1") is None
    for _ in range(5):  # u1 keeps asking: refused by its own limit, the app's untouched
        refused = admit(app, users, "app", "u1")
        assert refused is not None and refused[0] == "user"
    assert admit(app, users, "app", "u2") is None
    assert admit(app, users, "app", None) is None
    refused = admit(app, users, "app", "u3")  # the app's three are spent
    assert refused is not None and refused[0] == "app" and refused[1] == pytest.approx(20.0)
    assert users.peek("app\0u3") == 0.0  # and u3's token was not taken for nothing


# -- SQLite ----------------------------------------------------------------------------------


def test_two_stores_on_one_sqlite_file_share_a_keys_budget(
    sqlite_engines: tuple[sa.Engine, sa.Engine],
) -> None:
    clock = Clock()
    a, b = (SharedState(e, SECRET, clock) for e in sqlite_engines)
    limit_a, limit_b = SharedBuckets(a, 4, "app"), SharedBuckets(b, 4, "app")
    waits = [(limit_a if n % 2 else limit_b).take("app") for n in range(6)]
    assert waits[:4] == [0.0] * 4
    assert waits[4] == pytest.approx(15.0) and waits[5] == pytest.approx(15.0)
    assert limit_b.peek("other") == 0.0 and limit_a.take("other") == 0.0
    clock.now += 15.0  # one token back, for both
    assert limit_b.take("app") == 0.0 and limit_a.take("app") > 0
    with sqlite_engines[0].connect() as conn:
        names = conn.execute(sa.select(buckets.c.key)).scalars().all()
    assert len(names) == 2 and all(len(n) == 64 and "app" not in n for n in names)


def test_two_stores_on_one_sqlite_file_share_a_conversation_and_forget_it_after_its_time(
    sqlite_engines: tuple[sa.Engine, sa.Engine],
) -> None:
    clock = Clock()
    a, b = (SharedState(e, SECRET, clock) for e in sqlite_engines)
    first, second = SharedSessions(a, turns=2, ttl=60), SharedSessions(b, turns=2, ttl=60)
    owner = "app\0openid-13812345678\0s1"
    for n in range(3):
        (first if n % 2 else second).add(owner, f"问题{n}", f"回答{n}")
    assert [m.content for m in first.history(owner)] == ["问题1", "回答1", "问题2", "回答2"]
    assert second.history(owner) == first.history(owner)
    assert first.history("app\0\0other") == []
    with sqlite_engines[0].connect() as conn:
        [row] = conn.execute(sa.select(sessions.c.key)).all()
    assert "openid" not in row.key and "13812345678" not in row.key
    clock.now += 61
    assert second.history(owner) == []
    second.add(owner, "新问题", "新回答")  # an expired conversation starts afresh
    assert [m.content for m in first.history(owner)] == ["新问题", "新回答"]


def test_pruning_deletes_expired_sessions_and_full_buckets_only(
    sqlite_engines: tuple[sa.Engine, sa.Engine],
) -> None:
    clock = Clock()
    state = SharedState(sqlite_engines[0], SECRET, clock)
    talks, limits = SharedSessions(state, 2, ttl=600), SharedBuckets(state, 10, "app")
    talks.add("old", "q", "a")
    limits.take("old")
    clock.now += 300
    talks.add("new", "q", "a")
    clock.now += 301  # "old" is 601 s old: expired, and its bucket full; "new" is neither
    limits.take("new")
    state.prune()
    with sqlite_engines[0].connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(sessions)).scalar() == 1
        assert conn.execute(sa.select(sa.func.count()).select_from(buckets)).scalar() == 1
    assert talks.history("new") and limits.peek("new") == 0.0


WORKER = """
import sys, sqlalchemy as sa
from assistant.serve.state import SharedState, SharedBuckets, SharedSessions
url, worker, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
state = SharedState(sa.create_engine(url), sys.argv[4].encode(), clock=lambda: 1e6)
limits, talks = SharedBuckets(state, 60, "app"), SharedSessions(state, 1000, 3600)
granted = 0
for i in range(n):
    granted += limits.take("app") == 0
    talks.add("shared", worker + "-" + str(i), "answer")
print(granted, state.fallbacks, state.lost_session_writes)
"""


@pytest.mark.slow
def test_processes_sharing_a_sqlite_file_never_both_spend_the_last_token_or_lose_a_turn(
    tmp_path: Path,
) -> None:
    url = sqlite_url(tmp_path)
    engine = engine_of(url)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA journal_mode = WAL")
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, url, str(n), "40", SECRET.decode()],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(4)
    ]
    outputs = [w.communicate(timeout=120) for w in workers]
    assert all(w.returncode == 0 for w in workers), [err for _, err in outputs]
    counts = [[int(x) for x in out.split()] for out, _ in outputs]
    assert sum(c[0] for c in counts) == 60  # 160 tries, a bucket of 60 that never refills
    assert all(c[1] == 0 and c[2] == 0 for c in counts)  # the database was always there
    history = SharedSessions(SharedState(engine, SECRET, lambda: 1_000_000.0), 1000, 3600)
    asked = [m.content for m in history.history("shared") if m.role == "user"]
    assert len(asked) == 160 and len(set(asked)) == 160
    engine.dispose()


# -- the database away -----------------------------------------------------------------------


def test_limits_fall_back_to_the_process_while_the_database_is_away_never_to_no_limit() -> None:
    state = dead_state()
    limits = SharedBuckets(state, 3, "app")
    started = time.monotonic()
    waits = [limits.take("app") for _ in range(5)]
    assert waits[:3] == [0.0, 0.0, 0.0] and all(w > 0 for w in waits[3:])
    assert limits.peek("app") > 0 and limits.peek("other") == 0.0
    assert state.breaker.down and state.fallbacks == 7
    assert time.monotonic() - started < 5  # tried once, then left alone
    assert not state.reachable()


def test_sessions_say_they_cannot_be_read_and_count_the_turns_they_could_not_keep() -> None:
    state = dead_state()
    talks = SharedSessions(state, 2, 60)
    with pytest.raises(UnavailableError):
        talks.history("app\0\0s1")
    talks.add("app\0\0s1", "问题", "回答")  # not raised: the answer was given
    talks.add("app\0\0s1", "问题", "回答")
    assert state.lost_session_writes == 2


# -- PostgreSQL ------------------------------------------------------------------------------


@pytest.fixture
def pg_engines(fresh_postgres_url: str) -> Iterator[tuple[sa.Engine, sa.Engine]]:
    first, second = engine_of(fresh_postgres_url), engine_of(fresh_postgres_url)
    yield first, second
    first.dispose()
    second.dispose()


@pytest.mark.slow
def test_two_stores_on_postgres_share_limits_and_conversations_atomically(
    pg_engines: tuple[sa.Engine, sa.Engine],
) -> None:
    clock = Clock()
    a, b = (SharedState(e, SECRET, clock) for e in pg_engines)
    limits = [SharedBuckets(a, 100, "app"), SharedBuckets(b, 100, "app")]
    talks = [SharedSessions(a, 1000, 600), SharedSessions(b, 1000, 600)]

    def ask(n: int) -> bool:
        talks[n % 2].add("app\0u\0s", f"问题{n}", f"回答{n}")
        return limits[n % 2].take("app") == 0

    with ThreadPoolExecutor(8) as pool:  # row locks, not luck: 160 tries at once
        granted = sum(pool.map(ask, range(160)))
    assert granted == 100
    asked = [m.content for m in talks[0].history("app\0u\0s") if m.role == "user"]
    assert sorted(asked) == sorted(f"问题{n}" for n in range(160))
    assert talks[1].history("app\0u\0s") == talks[0].history("app\0u\0s")
    assert a.fallbacks == b.fallbacks == 0


@pytest.mark.slow
def test_a_store_on_postgres_goes_on_through_an_outage_and_comes_back_by_itself(
    postgres_server: Any, fresh_postgres_url: str
) -> None:
    engine = engine_of(fresh_postgres_url)
    state = SharedState(engine, SECRET, breaker=Breaker(pause=0.5))
    limits, talks = SharedBuckets(state, 100, "app"), SharedSessions(state, 5, 600)
    talks.add("s", "问题一", "回答一")
    assert limits.take("app") == 0.0 and state.reachable()
    postgres_server.stop()
    try:
        assert limits.take("app") == 0.0  # the process's own bucket, fresh
        with pytest.raises(UnavailableError):
            talks.history("s")
        talks.add("s", "问题二", "回答二")
        assert state.lost_session_writes == 1 and not state.reachable()
    finally:
        postgres_server.start()
    time.sleep(0.6)  # the breaker's pause
    assert state.reachable()
    assert [m.content for m in talks.history("s")] == ["问题一", "回答一"]
    talks.add("s", "问题三", "回答三")
    assert [m.content for m in talks.history("s")][-2:] == ["问题三", "回答三"]
    assert limits.peek("app") == 0.0 and state.fallbacks >= 1
    engine.dispose()


# -- real servers over HTTP ------------------------------------------------------------------


def serve_env(tmp_path: Path, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env.update(
        {
            "ASSISTANT_CORPUS_DIR": str(FICTIONAL),
            "ASSISTANT_INDEX_DIR": str(tmp_path / "index"),
            "ASSISTANT_API_KEYS": f"app:{KEY}",
            "ASSISTANT_LOG_LEVEL": "WARNING",
            **{f"ASSISTANT_{k.upper()}": v for k, v in settings.items()},
        }
    )
    return env


def ingest(tmp_path: Path, env: dict[str, str]) -> None:
    """The index the servers of `env` serve, built in this process (its model loaded once)."""
    from assistant.config import load_settings
    from assistant.serve.runtime import Services

    url = env.get("ASSISTANT_DATABASE_URL")
    settings = load_settings(corpus_dir=FICTIONAL, index_dir=tmp_path / "index", database_url=url)
    Services(settings).store.ingest()


def start_server(port: int, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "assistant.cli", "serve", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def post(base: str, path: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(
        f"{base}{path}", json=body, timeout=60, headers={"Authorization": f"Bearer {KEY}"}
    )


def chat(base: str, question: str, **extra: Any) -> httpx.Response:
    return post(base, "/v1/chat", {"messages": [{"role": "user", "content": question}], **extra})


@pytest.mark.slow
def test_two_serve_processes_on_one_index_folder_share_conversations_and_limits(
    tmp_path: Path,
) -> None:
    env = serve_env(tmp_path, rate_limit_per_minute="8", user_rate_limit_per_minute="3")
    ingest(tmp_path, env)
    ports = free_port(), free_port()
    logs = tmp_path / "a.log", tmp_path / "b.log"
    servers = [start_server(p, env, log) for p, log in zip(ports, logs, strict=True)]
    a, b = (f"http://127.0.0.1:{p}" for p in ports)
    try:
        for server, base, log in zip(servers, (a, b), logs, strict=True):
            wait_until(server, f"{base}/healthz", log)
        assert httpx.get(f"{a}/healthz").json()["database"] == "ok"

        # A conversation whose follow-up lands on the other process keeps its history.
        first = chat(a, "首次认定的高新技术企业奖励多少？", session_id="s1", user="openid-1")
        assert first.status_code == 200 and "88万元" in first.json()["answer"]
        follow = chat(b, "那重新认定的呢？", session_id="s1", user="openid-1")
        assert follow.status_code == 200, follow.text
        assert "高新技术企业" in follow.json()["question"]  # read with the first question
        assert "30万元" in follow.json()["answer"]

        # The user limit (3 a minute) counts across both processes: openid-1 has asked
        # twice; its third is served, its fourth refused, and another user is still served.
        assert chat(a, "孵化器奖励多少？", user="openid-1").status_code == 200
        refused = post(
            b,
            "/v1/chat/completions",
            {"messages": [{"role": "user", "content": "孵化器奖励多少？"}], "user": "openid-1"},
        )
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
        error = refused.json()["error"]
        assert error["code"] == "user_rate_limited"
        assert "用户" in error["zh"] and "user" in error["en"]
        assert chat(b, "孵化器奖励多少？", user="openid-2").status_code == 200

        # The key's budget (8 a minute) is one for both processes: 4 were spent above (the
        # refused user's request took none), so of 12 searches spread over both, about 4 are
        # served (a little more as the bucket refills), where each process's own bucket
        # would have served all 12.
        replies = [post((a, b)[n % 2], "/v1/search", {"query": "孵化器"}) for n in range(12)]
        codes = [r.status_code for r in replies]
        assert codes.count(429) >= 5, codes
        error = replies[-1].json()["error"]
        assert error["code"] == "rate_limited" and "应用" in error["zh"] and "app" in error["en"]
    finally:
        for server in servers:
            stop(server)
    for log in logs:
        text = log.read_text(encoding="utf-8", errors="replace")
        assert "Traceback" not in text and "openid" not in text


@pytest.mark.slow
def test_a_server_on_postgres_answers_through_an_outage_without_history_then_recovers(
    postgres_server: Any, fresh_postgres_url: str, tmp_path: Path
) -> None:
    env = serve_env(tmp_path, database_url=fresh_postgres_url, records_secret="s" * 32)
    ingest(tmp_path, env)
    port, log = free_port(), tmp_path / "server.log"
    server = start_server(port, env, log)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(server, f"{base}/healthz", log)
        asked = chat(base, "首次认定的高新技术企业奖励多少？", session_id="s1", user="u1")
        assert asked.status_code == 200

        postgres_server.stop()
        try:
            answered = chat(base, "那重新认定的呢？", session_id="s1", user="u1")
            assert answered.status_code == 200, answered.text
            body = answered.json()
            assert body["answer"].startswith("（对话记录暂时无法读取")
            assert "could not be read" in body["answer"] and body["notes"]
            assert "高新技术企业" not in body["question"]  # read on its own
            stream = post(
                base,
                "/v1/chat/stream",
                {"messages": [{"role": "user", "content": "那呢？"}], "session_id": "s1"},
            )
            assert stream.status_code == 200 and "对话记录暂时无法读取" in stream.text
            health = httpx.get(f"{base}/healthz", timeout=30)
            assert health.status_code == 200
            assert health.json()["status"] == "degraded"
            assert health.json()["database"] == "unavailable"
            codes = [chat(base, "孵化器奖励多少？", user="u2").status_code for _ in range(3)]
            assert codes == [200, 200, 200]  # limits from the process's memory meanwhile
        finally:
            postgres_server.start()

        deadline = time.monotonic() + 30
        while httpx.get(f"{base}/healthz", timeout=30).json()["status"] != "ok":
            assert time.monotonic() < deadline, "the server did not notice the database back"
            time.sleep(0.5)
        health = httpx.get(f"{base}/healthz", timeout=30).json()
        assert health["database"] == "ok" and health["session_writes_lost"] >= 1
        assert health["records_lost"] >= 1  # the exchanges answered meanwhile
        # The conversation kept before the outage is read again: the follow-up is answered
        # in its light, without the note.
        again = chat(base, "那重新认定的呢？", session_id="s1", user="u1").json()
        assert "对话记录" not in again["answer"] and "高新技术企业" in again["question"]
    finally:
        stop(server)
    assert "Traceback" not in log.read_text(encoding="utf-8", errors="replace")


@pytest.mark.slow
def test_an_end_user_over_their_limit_is_refused_on_every_chat_route_while_another_is_served(
    tmp_path: Path,
) -> None:
    from assistant.config import load_settings
    from assistant.serve.app import create_app
    from assistant.serve.runtime import Services

    from .conftest import served

    settings = load_settings(
        corpus_dir=FICTIONAL,
        index_dir=tmp_path / "index",
        api_keys=f"app:{KEY}",
        user_rate_limit_per_minute=5,
    )
    Services(settings).store.ingest()
    question = [{"role": "user", "content": "孵化器奖励多少？"}]
    with served(create_app(settings)) as base:
        routes = ["/v1/chat", "/v1/chat/stream", "/v1/chat/completions"]
        codes = [
            post(base, routes[n % 3], {"messages": question, "user": "u1"}).status_code
            for n in range(5)
        ]
        assert codes == [200] * 5
        for route in routes:
            refused = post(base, route, {"messages": question, "user": "u1"})
            assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
            error = refused.json()["error"]
            assert error["code"] == "user_rate_limited" and "每位用户每分钟 5 次" in error["zh"]
        served_u2 = post(base, "/v1/chat", {"messages": question, "user": "u2"})
        assert served_u2.status_code == 200 and "50万元" in served_u2.json()["answer"]
        assert post(base, "/v1/chat", {"messages": question}).status_code == 200  # no user
    from assistant.serve.records import RecordStore

    records = RecordStore(settings.records_url)
    hashes = {r["user_hash"] for r in records.export()}
    records.close()
    assert len(hashes - {None}) == 2 and not hashes & {"u1", "u2"}  # keyed hashes, not ids
