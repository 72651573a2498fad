"""Migrations of the records database, on a real SQLite file and a real PostgreSQL 15: an
upgrade keeps every row, and processes starting at once migrate once."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from assistant.serve.migrations import head
from assistant.serve.records import RecordStore
from assistant.serve.schema import metadata

# The tables as the releases before migrations created them (`metadata.create_all`): the
# oldest had no `checks`, none had `exchanges.user_hash`, `sessions` or `buckets`.
EARLIER = sa.MetaData()
sa.Table(
    "exchanges",
    EARLIER,
    sa.Column("message_id", sa.String(64), primary_key=True),
    sa.Column("created", sa.String(32), nullable=False, index=True),
    sa.Column("client", sa.String(100), nullable=False),
    sa.Column("session_id", sa.String(64)),
    sa.Column("question", sa.Text, nullable=False),
    sa.Column("answer", sa.Text, nullable=False),
    sa.Column("citations", sa.Text, nullable=False),
    sa.Column("abstained", sa.Boolean, nullable=False),
    sa.Column("mode", sa.String(20), nullable=False),
    sa.Column("intent", sa.String(40), nullable=False),
    sa.Column("latency_ms", sa.Float, nullable=False),
)
sa.Table(
    "feedback",
    EARLIER,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("message_id", sa.String(64), nullable=False, index=True),
    sa.Column("rating", sa.Integer, nullable=False),
    sa.Column("comment", sa.Text),
    sa.Column("created", sa.String(32), nullable=False),
)
sa.Table(
    "checks",
    EARLIER,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("created", sa.String(32), nullable=False),
    sa.Column("question", sa.Text, nullable=False),
    sa.Column("expect", sa.Text, nullable=False),
    sa.Column("abstain", sa.Boolean, nullable=False),
    sa.Column("ran", sa.String(32)),
    sa.Column("trigger", sa.String(20)),
    sa.Column("index_version", sa.String(64)),
    sa.Column("passed", sa.Boolean),
    sa.Column("was_passed", sa.Boolean),
    sa.Column("excerpt", sa.Text),
    sa.Column("fingerprint", sa.String(16)),
    sa.Column("changed", sa.Boolean),
)

EXCHANGE = {
    "message_id": "m-old",
    "created": "2026-10-01T08:00:00.000+00:00",
    "client": "app",
    "session_id": "s-old",
    "question": "高企奖励多少？",
    "answer": "对首次认定的高企给予奖励[1]。",
    "citations": "[]",
    "abstained": False,
    "mode": "extractive",
    "intent": "figure",
    "latency_ms": 12.5,
}


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database: a SQLite file, or a database of its own on the test PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'records.sqlite3'}"
    return str(request.getfixturevalue("fresh_postgres_url"))


def write_earlier_release(url: str, tables: tuple[str, ...] = ("exchanges", "feedback", "checks")):
    """The database as an earlier release left it: its tables, an exchange and its feedback."""
    engine = sa.create_engine(url)
    try:
        EARLIER.create_all(engine, tables=[EARLIER.tables[t] for t in tables])
        with engine.begin() as conn:
            conn.execute(EARLIER.tables["exchanges"].insert().values(**EXCHANGE))
            conn.execute(
                EARLIER.tables["feedback"]
                .insert()
                .values(message_id="m-old", rating=-1, comment="没说申报时间", created="x")
            )
    finally:
        engine.dispose()


def revision_rows(store: RecordStore) -> list[str]:
    with store.engine.connect() as conn:
        return [r[0] for r in conn.execute(sa.text("SELECT version_num FROM alembic_version"))]


def schema_differences(store: RecordStore) -> list[object]:
    """What differs between the database's tables and assistant.serve.schema."""
    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return [d for d in compare_metadata(context, metadata) if "alembic_version" not in str(d)]


def test_a_database_of_an_earlier_release_keeps_its_rows_and_reaches_the_newest_revision(
    url: str,
) -> None:
    write_earlier_release(url)
    store = RecordStore(url)
    try:
        (row,) = store.export()
        assert row["message_id"] == "m-old" and row["question"] == "高企奖励多少？"
        assert row["rating"] == -1 and row["comments"] == ["没说申报时间"]
        assert row["user_hash"] is None
        assert revision_rows(store) == [head()]
        assert schema_differences(store) == []
        # The new column takes new records beside the old ones.
        columns = {c["name"] for c in sa.inspect(store.engine).get_columns("exchanges")}
        assert "user_hash" in columns
    finally:
        store.close()


def test_opening_a_migrated_database_again_changes_nothing(url: str) -> None:
    write_earlier_release(url)
    RecordStore(url).close()
    again = RecordStore(url)
    try:
        assert revision_rows(again) == [head()]
        assert [r["message_id"] for r in again.export()] == ["m-old"]
        assert schema_differences(again) == []
    finally:
        again.close()


def test_a_new_database_is_created_by_the_migrations_as_the_schema_module_says(url: str) -> None:
    store = RecordStore(url)
    try:
        assert revision_rows(store) == [head()]
        assert schema_differences(store) == []
    finally:
        store.close()


def test_the_oldest_databases_without_saved_checks_gain_the_table(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'records.sqlite3'}"
    write_earlier_release(url, tables=("exchanges", "feedback"))
    store = RecordStore(url)
    try:
        assert [r["message_id"] for r in store.export()] == ["m-old"]
        check_id = store.add_check("高企奖励多少？", ["奖励"], False, limit=10)
        assert [c["id"] for c in store.checks()] == [check_id]
        assert schema_differences(store) == []
    finally:
        store.close()


OPEN_STORE = """
import json, sys
from assistant.serve.records import RecordStore
store = RecordStore(sys.argv[1])
store.close()
print(json.dumps("ok"))
"""


@pytest.mark.slow
def test_processes_starting_at_once_on_one_database_migrate_it_once(url: str) -> None:
    write_earlier_release(url)
    starting = [
        subprocess.Popen(
            [sys.executable, "-c", OPEN_STORE, url],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )
        for _ in range(4)
    ]
    for process in starting:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        assert json.loads(out) == "ok"
    store = RecordStore(url)
    try:
        assert revision_rows(store) == [head()]
        assert [r["message_id"] for r in store.export()] == ["m-old"]
    finally:
        store.close()
