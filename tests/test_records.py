"""Records in a real SQLite file: redacted on the way in, exported for staff."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from assistant.cli import parse_since
from assistant.errors import AssistantError
from assistant.models import Answer
from assistant.records import RecordStore, UnknownMessageError, to_csv


@pytest.fixture
def store(tmp_path: Path) -> RecordStore:
    return RecordStore(f"sqlite:///{tmp_path / 'nested' / 'records.sqlite3'}")


def answered(text: str = "对首次认定的高企给予奖励88万元[1]。") -> Answer:
    return Answer(text, (), intent="figure")


def test_an_exchange_is_stored_without_phone_id_or_email(store: RecordStore) -> None:
    store.add_exchange("m1", "我是张三，电话13812345678，身份证310101199001011234，"
                       "邮箱zs@example.com，高企奖励多少？", answered(), "app", None, 12.3)
    row = store.export()[0]
    stored = json.dumps(row, ensure_ascii=False)
    for secret in ("13812345678", "310101199001011234", "zs@example.com"):
        assert secret not in stored
    assert "高企奖励多少" in row["question"] and row["client"] == "app"


def test_feedback_on_an_unknown_answer_is_refused(store: RecordStore) -> None:
    with pytest.raises(UnknownMessageError):
        store.add_feedback("missing", 1, None)


def test_export_picks_the_unanswered_the_thumbs_down_and_the_recent(store: RecordStore) -> None:
    store.add_exchange("ok", "高企奖励多少？", answered(), "app", "s1", 10)
    store.add_exchange("silent", "补贴截止日期？",
                       Answer("现有文件未载明截止日期。", (), abstained=True), "app", None, 10)
    store.add_feedback("ok", -1, "没说申报时间，电话13812345678")
    store.add_feedback("silent", 1, None)
    assert [r["message_id"] for r in store.export(only="unanswered")] == ["silent"]
    negative = store.export(only="negative")
    assert [r["message_id"] for r in negative] == ["ok"]
    assert "没说申报时间" in negative[0]["comments"] and "13812345678" not in negative[0]["comments"]
    assert store.export(since=datetime.now(UTC) + timedelta(hours=1)) == []
    assert len(store.export(since=datetime.now(UTC) - timedelta(hours=1))) == 2


def test_csv_has_a_header_and_keeps_the_chinese(store: RecordStore) -> None:
    store.add_exchange("m1", "高企奖励多少？", answered(), "app", None, 10)
    text = to_csv(store.export())
    assert text.splitlines()[0].startswith("created,message_id") and "高企奖励多少" in text


def test_a_bad_database_url_names_the_setting() -> None:
    with pytest.raises(AssistantError) as caught:
        RecordStore("nosuchdb://x")
    assert "ASSISTANT_DATABASE_URL" in caught.value.en


def test_since_reads_days_hours_and_dates() -> None:
    now = datetime(2026, 11, 28, 12, tzinfo=UTC)
    assert parse_since("7d", now) == now - timedelta(days=7)
    assert parse_since("24h", now) == now - timedelta(hours=24)
    assert parse_since("2026-11-01") == datetime(2026, 11, 1, tzinfo=UTC)
    with pytest.raises(AssistantError):
        parse_since("last week")


def test_the_logs_command_exports_csv_and_refuses_a_bad_since(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'records.sqlite3'}"
    RecordStore(url).add_exchange("m1", "高企奖励多少？", answered(), "app", None, 10)
    env = {**os.environ, "ASSISTANT_DATABASE_URL": url, "ASSISTANT_INDEX_DIR": str(tmp_path)}
    run = [sys.executable, "-m", "assistant.cli", "logs"]
    result = subprocess.run([*run, "--since", "1d", "--format", "csv"], capture_output=True,
                            text=True, encoding="utf-8", env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "高企奖励多少" in result.stdout
    bad = subprocess.run([*run, "--since", "yesterday-ish"], capture_output=True, text=True,
                         encoding="utf-8", env=env, timeout=120)
    assert bad.returncode == 1 and "Traceback" not in bad.stderr and "7d" in bad.stderr
