"""One ingest at a time: real processes contending for the lock, a PostgreSQL advisory lock when
the database is PostgreSQL (replicas on several machines), a file lock otherwise."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.errors import UnavailableError
from assistant.locks import lock_key
from assistant.search.versions import VersionFolder

from .postgres import free_port

# Takes the index folder's ingest lock, notes when (acquired), holds it, notes when it lets go.
HOLD = """
import pathlib, sys, time
from assistant.search.versions import VersionFolder
root, url, marks, seconds = sys.argv[1], sys.argv[2] or None, pathlib.Path(sys.argv[3]), sys.argv[4]
with VersionFolder(pathlib.Path(root), url).lock():
    (marks / "acquired").write_text(repr(time.time()), encoding="utf-8")
    time.sleep(float(seconds))
    (marks / "released").write_text(repr(time.time()), encoding="utf-8")
"""


@pytest.fixture(params=["file", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    """No database URL (the file lock), or a PostgreSQL database (the advisory lock)."""
    if request.param == "file":
        return ""
    return str(request.getfixturevalue("fresh_postgres_url"))


class Holder:
    """A process holding the ingest lock of `root` for `seconds`."""

    def __init__(self, root: Path, url: str, marks: Path, seconds: float) -> None:
        marks.mkdir(parents=True)
        self.marks = marks
        self.process = subprocess.Popen(
            [sys.executable, "-c", HOLD, str(root), url, str(marks), str(seconds)],
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )

    def wait_until_acquired(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not (self.marks / "acquired").is_file():
            assert self.process.poll() is None, self.process.communicate()[1]
            assert time.monotonic() < deadline, "the lock was never taken"
            time.sleep(0.02)

    def when(self, mark: str) -> float:
        return float((self.marks / mark).read_text(encoding="utf-8"))

    def finish(self) -> None:
        _, err = self.process.communicate(timeout=60)
        assert self.process.returncode == 0, err


@pytest.fixture
def holders() -> Iterator[list[Holder]]:
    started: list[Holder] = []
    yield started
    for holder in started:
        if holder.process.poll() is None:
            holder.process.kill()
            holder.process.wait()


@pytest.mark.slow
def test_a_second_ingest_waits_until_the_first_lets_go(
    database_url: str, tmp_path: Path, holders: list[Holder]
) -> None:
    first = Holder(tmp_path / "index", database_url, tmp_path / "first", 1.5)
    holders.append(first)
    first.wait_until_acquired()
    second = Holder(tmp_path / "index", database_url, tmp_path / "second", 0)
    holders.append(second)
    first.finish()
    second.finish()
    assert second.when("acquired") >= first.when("released")


@pytest.mark.slow
def test_the_lock_of_a_killed_ingest_is_released(
    database_url: str, tmp_path: Path, holders: list[Holder]
) -> None:
    dying = Holder(tmp_path / "index", database_url, tmp_path / "dying", 600)
    holders.append(dying)
    dying.wait_until_acquired()
    next_one = Holder(tmp_path / "index", database_url, tmp_path / "next", 0)
    holders.append(next_one)
    time.sleep(0.5)
    assert not (next_one.marks / "acquired").exists()  # waiting, not failing
    dying.process.kill()  # as kill -9 would: no release runs
    dying.process.wait()
    next_one.finish()
    assert not (dying.marks / "released").exists()


def test_with_postgresql_the_ingest_lock_is_an_advisory_lock_not_a_file(
    fresh_postgres_url: str, tmp_path: Path
) -> None:
    import sqlalchemy as sa

    root = tmp_path / "index"
    engine = sa.create_engine(fresh_postgres_url)
    held = sa.text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = :objid")
    # pg_locks shows a bigint key as two 32-bit halves; the low half is objid.
    objid = lock_key("ingest") & 0xFFFFFFFF
    try:
        with VersionFolder(root, fresh_postgres_url).lock():
            with engine.connect() as conn:
                assert conn.execute(held, {"objid": objid}).scalar_one() == 1
        with engine.connect() as conn:
            assert conn.execute(held, {"objid": objid}).scalar_one() == 0
    finally:
        engine.dispose()
    assert not (root / ".ingest.lock").exists()


def test_an_unreachable_database_fails_the_ingest_lock_fast_with_the_setting_named(
    tmp_path: Path,
) -> None:
    url = f"postgresql+psycopg://nobody:x@127.0.0.1:{free_port()}/none"
    started = time.monotonic()
    with pytest.raises(UnavailableError) as caught, VersionFolder(tmp_path, url).lock():
        pass
    assert time.monotonic() - started < 10
    assert "ASSISTANT_DATABASE_URL" in caught.value.en
    assert "ASSISTANT_DATABASE_URL" in caught.value.zh
    assert "nobody:x" not in caught.value.en  # the password is not shown
