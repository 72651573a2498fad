"""Records in a real SQLite file and a real PostgreSQL 15: redacted on the way in, exported
for staff, and lost (counted, never raised) while the database is away."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from assistant.cli import parse_since
from assistant.config import load_settings
from assistant.errors import (
    AssistantError,
    ConfigError,
    RecordError,
    UnavailableError,
    UnknownMessageError,
)
from assistant.models import Answer, Chunk, Citation
from assistant.serve.records import RecordStore, to_csv, users_by_day

from .postgres import PostgresServer

CHUNK = Chunk(
    "c1",
    "d1",
    "示范区科技创新扶持办法",
    "示科〔2099〕7号",
    "第五条",
    "对首次认定的高新技术企业给予奖励88万元。",
    0,
    20,
)


def answered(text: str = "对首次认定的高企给予奖励88万元[1]。") -> Answer:
    return Answer(text, (Citation(1, CHUNK, CHUNK.text, 0, 20),), intent="figure")


def abstained() -> Answer:
    return Answer("现有文件未载明截止日期。", (), abstained=True, intent="deadline")


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'nested' / 'folder' / 'records.sqlite3'}"


@pytest.fixture
def store(url: str) -> RecordStore:
    return RecordStore(url)


def test_the_sqlite_folder_is_created_and_records_outlive_the_store(
    url: str, tmp_path: Path
) -> None:
    first = RecordStore(url)
    first.add_exchange("m1", "高企奖励多少？", answered(), "app", "s1", 12.34)
    first.close()
    assert (tmp_path / "nested" / "folder" / "records.sqlite3").is_file()
    row = RecordStore(url).export()[0]
    assert row["message_id"] == "m1" and row["session_id"] == "s1" and row["latency_ms"] == 12.3
    assert row["abstained"] is False and row["intent"] == "figure" and row["mode"] == "extractive"
    assert row["citations"][0]["doc_number"] == "示科〔2099〕7号"
    assert row["rating"] is None and row["comments"] == []
    assert datetime.fromisoformat(row["created"]).tzinfo is not None


def test_an_exchange_is_stored_without_phone_id_or_email(store: RecordStore) -> None:
    store.add_exchange(
        "m1",
        "我是张三，电话138 1234 5678，身份证310101199001011234，邮箱zs@example.com，高企奖励多少？",
        answered("请致电021-69712345咨询[1]。"),
        "anonymous",
        None,
        12.3,
    )
    with store.engine.connect() as conn:  # the raw table, not only the export
        raw = [tuple(r) for r in conn.exec_driver_sql("SELECT * FROM exchanges")]
    stored = json.dumps(raw, ensure_ascii=False)
    for secret in ("1234 5678", "310101199001011234", "zs@example.com", "69712345"):
        assert secret not in stored
    row = store.export()[0]
    assert row["question"] == (
        "我是张三，电话【手机号已隐去】，身份证【身份证号已隐去】，"
        "邮箱【邮箱已隐去】，高企奖励多少？"
    )
    assert row["answer"] == "请致电【电话已隐去】咨询[1]。" and row["client"] == "anonymous"


def test_feedback_on_an_unknown_answer_is_refused(store: RecordStore) -> None:
    with pytest.raises(UnknownMessageError) as caught:
        store.add_feedback("missing", 1, None)
    assert isinstance(caught.value, RecordError)
    assert "missing" in caught.value.en and "missing" in caught.value.zh
    assert store.export() == []


def test_a_rating_other_than_up_or_down_is_refused(store: RecordStore) -> None:
    store.add_exchange("m1", "高企奖励多少？", answered(), "app", None, 10)
    with pytest.raises(RecordError):
        store.add_feedback("m1", 0, None)


def test_export_picks_the_unanswered_the_thumbs_down_and_the_recent(store: RecordStore) -> None:
    store.add_exchange("ok", "高企奖励多少？", answered(), "app", "s1", 10)
    store.add_exchange("silent", "补贴截止日期？", abstained(), "app", None, 10)
    store.add_exchange("liked", "创新券怎么申请？", answered(), "app", None, 10)
    store.add_feedback("ok", 1, "")
    store.add_feedback("ok", -1, "没说申报时间，电话13812345678")
    store.add_feedback("silent", 1, None)
    store.add_feedback("liked", 1, "清楚")

    assert {r["message_id"] for r in store.export()} == {"ok", "silent", "liked"}
    assert [r["message_id"] for r in store.export(only="unanswered")] == ["silent"]
    negative = store.export(only="negative")
    assert [r["message_id"] for r in negative] == ["ok"]
    assert negative[0]["rating"] == -1
    assert negative[0]["comments"] == ["没说申报时间，电话【手机号已隐去】"]
    assert store.export(since=datetime.now(UTC) + timedelta(hours=1)) == []
    assert len(store.export(since=datetime.now(UTC) - timedelta(hours=1))) == 3
    naive_past = datetime.now(UTC).replace(tzinfo=None) - timedelta(minutes=5)
    assert len(store.export(since=naive_past, only="negative")) == 1


def test_export_lists_the_newest_first(store: RecordStore) -> None:
    for n in range(3):
        store.add_exchange(f"m{n}", f"问题{n}", answered(), "app", None, 10)
    created = [r["created"] for r in store.export()]
    assert created == sorted(created, reverse=True)


def test_csv_has_a_header_and_keeps_the_chinese(store: RecordStore) -> None:
    store.add_exchange("m1", "高企奖励多少，能否“一次性”拨付？", answered(), "app", None, 10)
    store.add_feedback("m1", -1, "没说申报时间, 也没说材料")
    text = to_csv(store.export())
    assert text.splitlines()[0].startswith("created,message_id,client")
    (row,) = csv.DictReader(io.StringIO(text))
    assert row["question"] == "高企奖励多少，能否“一次性”拨付？"
    assert row["comments"] == "没说申报时间, 也没说材料" and row["rating"] == "-1"
    assert row["citations"] == "《示范区科技创新扶持办法》 示科〔2099〕7号 第五条"


def test_csv_keeps_a_question_from_running_as_a_spreadsheet_formula() -> None:
    text = to_csv([{"message_id": "m1", "question": '=HYPERLINK("http://x")', "citations": []}])
    (row,) = csv.DictReader(io.StringIO(text))
    assert row["question"].startswith("'=")


def test_one_store_takes_writes_from_many_threads(store: RecordStore) -> None:
    def write(n: int) -> None:
        for i in range(10):
            store.add_exchange(f"t{n}-{i}", "高企奖励多少？", answered(), "app", None, 1)
            store.add_feedback(f"t{n}-{i}", -1, None)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(store.export(only="negative")) == 80


@pytest.mark.parametrize("bad", ["nosuchdb://x", "not a url at all"])
def test_a_bad_database_url_names_the_setting(bad: str) -> None:
    with pytest.raises(ConfigError) as caught:
        RecordStore(bad)
    assert "ASSISTANT_DATABASE_URL" in caught.value.en
    assert "ASSISTANT_DATABASE_URL" in caught.value.zh


def test_records_default_to_sqlite_in_the_index_folder(tmp_path: Path) -> None:
    settings = load_settings(index_dir=tmp_path / "idx")
    assert settings.records_url == f"sqlite:///{tmp_path / 'idx' / 'records.sqlite3'}"
    assert load_settings(database_url="sqlite:///x.db").records_url == "sqlite:///x.db"


def test_since_reads_days_hours_and_dates() -> None:
    now = datetime(2026, 11, 28, 12, tzinfo=UTC)
    assert parse_since("7d", now) == now - timedelta(days=7)
    assert parse_since("24h", now) == now - timedelta(hours=24)
    assert parse_since("2026-11-01") == datetime(2026, 11, 1, tzinfo=UTC)
    with pytest.raises(AssistantError):
        parse_since("last week")


def _logs(args: list[str], url: str, index: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ASSISTANT_DATABASE_URL": url, "ASSISTANT_INDEX_DIR": str(index)}
    return subprocess.run(
        [sys.executable, "-m", "assistant.cli", "logs", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        timeout=120,
    )


def test_the_logs_command_prints_json_and_csv_with_filters(url: str, tmp_path: Path) -> None:
    store = RecordStore(url)
    store.add_exchange("m1", "高企奖励多少？电话13812345678", answered(), "app", None, 10)
    store.add_exchange("m2", "补贴截止日期？", abstained(), "app", None, 10)
    store.add_feedback("m1", -1, "想知道申报时间")

    everything = _logs(["--since", "1d"], url, tmp_path / "index")
    assert everything.returncode == 0, everything.stderr
    assert {r["message_id"] for r in json.loads(everything.stdout)} == {"m1", "m2"}
    assert "13812345678" not in everything.stdout

    unanswered = _logs(["--only", "unanswered"], url, tmp_path / "index")
    assert [r["question"] for r in json.loads(unanswered.stdout)] == ["补贴截止日期？"]

    negative = _logs(
        ["--only", "negative", "--format", "csv", "--since", "2020-01-01"], url, tmp_path / "index"
    )
    assert negative.returncode == 0, negative.stderr
    rows = list(csv.DictReader(io.StringIO(negative.stdout)))
    assert [r["message_id"] for r in rows] == ["m1"] and rows[0]["comments"] == "想知道申报时间"

    future = _logs(["--since", "2999-01-01"], url, tmp_path / "index")
    assert future.returncode == 0 and json.loads(future.stdout) == []


def test_the_logs_command_refuses_a_bad_since_or_only(url: str, tmp_path: Path) -> None:
    RecordStore(url)
    bad = _logs(["--since", "yesterday-ish"], url, tmp_path / "index")
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    assert "yesterday-ish" in bad.stderr and "7d" in bad.stderr and bad.stdout == ""
    wrong = _logs(["--only", "angry"], url, tmp_path / "index")
    assert wrong.returncode == 1 and "unanswered" in wrong.stderr


def test_the_logs_command_names_a_bad_database_url(tmp_path: Path) -> None:
    bad = _logs([], "nosuchdb://x", tmp_path / "index")
    assert bad.returncode == 1 and "ASSISTANT_DATABASE_URL" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_sqlite_runs_in_wal_mode_and_waits_for_a_busy_writer(store: RecordStore) -> None:
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000


WRITER = """
import sys
from assistant.models import Answer
from assistant.serve.records import RecordStore
store = RecordStore(sys.argv[1])
for i in range(int(sys.argv[3])):
    assert store.add_exchange(f"{sys.argv[2]}-{i}", "高企奖励多少？", Answer("答", ()), "app", None, 1)
    store.export(only="unanswered")
print(store.lost)
"""


@pytest.mark.slow
def test_processes_sharing_one_sqlite_file_all_write_as_serve_workers_do(url: str) -> None:
    RecordStore(url).close()
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, url, f"w{n}", "40"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )
        for n in range(4)
    ]
    for writer in writers:
        out, err = writer.communicate(timeout=120)
        assert writer.returncode == 0, err
        assert out.strip() == "0"
    assert len(RecordStore(url).export()) == 160


def test_an_end_user_is_kept_only_as_the_hash_the_caller_gives(store: RecordStore) -> None:
    store.add_exchange("m1", "高企奖励多少？", answered(), "app", "s1", 10, user_hash="ab12" * 16)
    store.add_exchange("m2", "补贴截止日期？", abstained(), "app", None, 10)
    rows = {r["message_id"]: r for r in store.export()}
    assert rows["m1"]["user_hash"] == "ab12" * 16 and rows["m2"]["user_hash"] is None
    (first, second) = csv.DictReader(io.StringIO(to_csv(store.export())))
    assert {first["user_hash"], second["user_hash"]} == {"ab12" * 16, ""}


def test_users_by_day_counts_distinct_users_and_questions_asked_again() -> None:
    def row(day: str, user: str | None, question: str) -> dict[str, object]:
        return {"created": f"{day}T08:00:00.000+00:00", "user_hash": user, "question": question}

    rows = [
        row("2026-11-30", "u1", "高企奖励多少？"),
        row("2026-11-30", "u1", " 高企奖励多少？"),
        row("2026-11-30", "u1", "高企奖励多少？"),
        row("2026-11-30", "u2", "高企奖励多少？"),
        row("2026-11-30", None, "补贴截止日期？"),
        row("2026-11-29", "u1", "高企奖励多少？"),
    ]
    assert users_by_day(rows) == [
        {"day": "2026-11-30", "questions": 5, "users": 2, "repeated": 2},
        {"day": "2026-11-29", "questions": 1, "users": 1, "repeated": 0},
    ]
    assert users_by_day([]) == []


@pytest.mark.slow
def test_a_record_written_while_postgres_is_away_is_counted_and_writing_resumes_when_it_is_back(
    postgres_server: PostgresServer, fresh_postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    store = RecordStore(fresh_postgres_url, retry_after_s=1.0)
    try:
        assert store.add_exchange("before", "高企奖励多少？", answered(), "app", None, 10)
        assert store.healthy() and store.lost == 0
        postgres_server.stop()

        question = "我的电话13812345678，高企奖励多少？"
        started = time.monotonic()
        assert store.add_exchange("during", question, answered(), "app", None, 10) is False
        assert store.add_exchange("soon-after", question, answered(), "app", None, 10) is False
        assert store.lost == 2
        assert not store.healthy()
        assert time.monotonic() - started < 15  # failed fast, never hung
        with pytest.raises(UnavailableError):
            store.export()
        with pytest.raises(UnavailableError):
            store.add_feedback("before", -1, None)
        logged = caplog.text
        assert "during" in logged and "2 lost" in logged
        assert "13812345678" not in logged and "高企" not in logged  # no question in the log

        postgres_server.start()
        assert store.healthy()  # the same store, no restart
        assert store.add_exchange("after", "创新券怎么申请？", answered(), "app", None, 10)
        store.add_feedback("after", 1, None)
        assert {r["message_id"] for r in store.export()} == {"before", "after"}
        assert store.lost == 2
    finally:
        postgres_server.start()
        store.close()


def test_an_exchange_is_not_retried_while_the_database_was_away_a_moment_ago(
    postgres_server: PostgresServer, fresh_postgres_url: str
) -> None:
    store = RecordStore(fresh_postgres_url, retry_after_s=60)
    try:
        postgres_server.stop()
        assert store.add_exchange("first", "问", answered(), "app", None, 1) is False
        postgres_server.start()
        # Within the pause after a failure, no write is tried: counted lost at once.
        assert store.add_exchange("second", "问", answered(), "app", None, 1) is False
        assert store.lost == 2
        assert store.healthy()  # the database answers again: writes resume
        assert store.add_exchange("third", "问", answered(), "app", None, 1)
        assert [r["message_id"] for r in store.export()] == ["third"]
    finally:
        postgres_server.start()
        store.close()
