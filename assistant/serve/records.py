"""Exchanges and feedback kept for staff, in any SQL database SQLAlchemy reaches (SQLite by
default, `ASSISTANT_DATABASE_URL` otherwise), and the questions staff saved as checks with
their last result (see assistant.serve.checks). Text is redacted before it is written: no
phone, ID-card or e-mail address ever lands here, and an end user is kept only as a keyed
hash (`user_hash`).

Staff read them to see what the documents are missing: the questions the assistant could not
answer, and the answers users marked 👎 (`policy-assistant logs`, `GET /v1/admin/records`),
and how many end users asked each day (`users_by_day`).

    store = RecordStore("sqlite:///index/records.sqlite3")
    store.add_exchange(message_id, question, answer, client="app", session_id=None, latency_ms=840)
    store.add_feedback(message_id, -1, "没说申报时间")
    rows = store.export(since=None, only="negative")

Opening a store brings its tables up to date (assistant.serve.migrations), under a lock so
that the workers and replicas starting at once migrate once. SQLite runs in WAL mode, so the
workers of `serve --workers N` read while one writes. The database may go away while the
server runs (a PostgreSQL restart): an exchange that cannot be written is then logged and
counted in `lost`, never raised, and for a few seconds no write is tried; `healthy()` says
whether the database answers now.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import secrets
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, DisconnectionError, OperationalError, SQLAlchemyError

from assistant.config import Settings
from assistant.errors import (
    AssistantError,
    CheckError,
    ConfigError,
    RecordError,
    UnavailableError,
    UnknownMessageError,
)
from assistant.locks import CONNECT_TIMEOUT_S, exclusive
from assistant.models import Answer
from assistant.serve.migrations import upgrade
from assistant.serve.schema import checks, exchanges, feedback
from assistant.text.redaction import redact

__all__ = [
    "CSV_FIELDS",
    "Only",
    "RecordError",
    "RecordStore",
    "UnknownMessageError",
    "records_secret",
    "to_csv",
    "users_by_day",
]

log = logging.getLogger(__name__)

Only = Literal["all", "unanswered", "negative"]

# How long a SQLite writer waits for another process's write to end before giving up.
SQLITE_BUSY_TIMEOUT_MS = 30_000
# After the database failed to answer, exchanges are counted lost without a try for this
# long: an answer must not wait out a connect timeout on every request of an outage.
RETRY_AFTER_S = 5.0


def _stamp(moment: datetime) -> str:
    """A UTC ISO timestamp in one fixed format, so that text order is time order."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat(timespec="milliseconds")


def _sqlite_file_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """On every new SQLite connection: wait for a busy writer rather than fail at once, and
    WAL, so that readers go on while one writes (the workers of one server share the file)."""
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode = WAL")
    # Safe with WAL: a power cut may lose the last commits, never corrupt the file.
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.close()


def _engine(url: str) -> Engine:
    """An engine for the URL; a SQLite file's folder is created, its connections shared."""
    try:
        parsed = make_url(url)
        backend = parsed.get_backend_name()
        if backend == "postgresql":
            return sa.create_engine(
                parsed,
                pool_pre_ping=True,  # a connection from before an outage is replaced, not used
                pool_timeout=10,
                connect_args={
                    "connect_timeout": CONNECT_TIMEOUT_S,  # a database away fails fast
                    # A peer that vanished without closing (a network cut) is noticed in
                    # seconds rather than after the system's TCP timeout of minutes.
                    "keepalives": 1,
                    "keepalives_idle": 5,
                    "keepalives_interval": 2,
                    "keepalives_count": 2,
                    "tcp_user_timeout": CONNECT_TIMEOUT_S * 2000,
                },
            )
        if backend != "sqlite":
            return sa.create_engine(parsed, pool_pre_ping=True)
        args = {"check_same_thread": False}  # the API writes from many threads
        if parsed.database in (None, "", ":memory:"):  # one in-memory database for every thread
            return sa.create_engine(parsed, connect_args=args, poolclass=sa.StaticPool)
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(parsed, connect_args=args)
        sa.event.listen(engine, "connect", _sqlite_file_pragmas)
        return engine
    except (ArgumentError, ValueError, ImportError, OSError) as exc:
        raise ConfigError(
            f"配置项 ASSISTANT_DATABASE_URL 无效：{exc}",
            f"Setting ASSISTANT_DATABASE_URL is invalid: {exc}",
        ) from None


def _schema_lock_file(url: URL) -> Path | None:
    """The file whose lock the processes opening one SQLite file take turns on while they
    migrate it (None: an in-memory database is never shared)."""
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    database = Path(url.database)
    return database.with_name(f".{database.name}.lock")


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__


def _is_outage(exc: SQLAlchemyError) -> bool:
    """Whether the database did not answer (away, restarting, unreachable, busy), rather than
    refused what was asked of it."""
    return isinstance(exc, (OperationalError, DisconnectionError))


def _failed(exc: SQLAlchemyError, zh: str, en: str) -> AssistantError:
    """The error to raise for a failed read or write: 503 while the database is away."""
    if _is_outage(exc):
        return UnavailableError(
            f"{zh}：记录数据库暂时无法访问，请稍后重试。",
            f"{en}: the records database cannot be reached now; try again later.",
        )
    return RecordError(f"{zh}。", f"{en} ({exc.__class__.__name__}).")


class RecordStore:
    """Writes exchanges and feedback and exports them for staff; safe to share between threads."""

    def __init__(self, database_url: str, retry_after_s: float = RETRY_AFTER_S) -> None:
        """Open the database and bring its tables up to date; ConfigError if it cannot be."""
        self.engine = _engine(database_url)
        self.lost = 0  # exchanges that could not be written since the store opened
        self._retry_after_s = retry_after_s
        self._away_until = 0.0  # time.monotonic() before which no exchange write is tried
        self._guard = threading.Lock()
        where = self.engine.url.render_as_string(hide_password=True)
        try:
            upgrade(
                self.engine,
                exclusive("records-schema", _schema_lock_file(self.engine.url), database_url),
            )
        except (SQLAlchemyError, UnavailableError, OSError) as exc:
            reason = exc.en if isinstance(exc, AssistantError) else _first_line(exc)
            raise ConfigError(
                f"无法打开记录数据库 {where}（ASSISTANT_DATABASE_URL）：{reason}",
                f"Cannot open the records database {where} (ASSISTANT_DATABASE_URL): {reason}",
            ) from None

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    def add_exchange(
        self,
        message_id: str,
        question: str,
        answer: Answer,
        client: str,
        session_id: str | None,
        latency_ms: float,
        user_hash: str | None = None,
    ) -> bool:
        """Record one question and its answer, with personal data removed from both; whether
        it was written.

        `user_hash` is the keyed hash of the end user the app named (never the raw id), so
        staff can count distinct users and see a user's repeated questions. A record that
        cannot be written is logged and counted in `lost`, not raised: the answer it records
        goes out all the same. It is not tried again."""
        statement = exchanges.insert().values(
            message_id=message_id,
            created=_stamp(datetime.now(UTC)),
            client=client,
            session_id=session_id,
            user_hash=user_hash,
            question=redact(question),
            answer=redact(answer.answer),
            citations=json.dumps([c.to_json() for c in answer.citations], ensure_ascii=False),
            abstained=answer.abstained,
            mode=answer.mode,
            intent=answer.intent,
            latency_ms=round(latency_ms, 1),
        )
        if time.monotonic() < self._away_until:
            self._lose(message_id, "the records database did not answer a moment ago")
            return False
        try:
            self._execute(statement)
        except SQLAlchemyError as exc:
            if _is_outage(exc):
                self._away_until = time.monotonic() + self._retry_after_s
            # The driver's first line only: the later ones hold the statement's values.
            self._lose(message_id, f"{exc.__class__.__name__}: {_first_line(exc)}")
            return False
        self._away_until = 0.0
        return True

    def _lose(self, message_id: str, reason: str) -> None:
        with self._guard:
            self.lost += 1
            lost = self.lost
        log.error("exchange %s not recorded (%d lost so far): %s", message_id, lost, reason)

    def healthy(self) -> bool:
        """Whether the database answers now; fails within seconds when it is away (for
        /healthz), and a success lets the next exchange be written without waiting."""
        try:
            with self.engine.connect() as conn:
                conn.execute(sa.select(1))
        except SQLAlchemyError as exc:
            log.warning("records database does not answer: %s", _first_line(exc))
            return False
        self._away_until = 0.0
        return True

    def exchange_exists(self, message_id: str) -> bool:
        """Whether an exchange with this message_id was recorded."""
        query = sa.select(exchanges.c.message_id).where(exchanges.c.message_id == message_id)
        try:
            with self.engine.connect() as conn:
                return conn.execute(query).first() is not None
        except SQLAlchemyError as exc:
            raise _failed(exc, "无法读取记录", "The records could not be read") from None

    def add_feedback(self, message_id: str, rating: int, comment: str | None) -> None:
        """Record 👍 (+1) or 👎 (-1) on a recorded answer; the comment is redacted."""
        if rating not in (1, -1):
            raise RecordError(
                f"评分只能是 1 或 -1（收到 {rating!r}）。", f"A rating is 1 or -1 (got {rating!r})."
            )
        if not self.exchange_exists(message_id):
            raise UnknownMessageError(message_id)
        self._write(
            feedback.insert().values(
                message_id=message_id,
                rating=rating,
                comment=redact(comment.strip()) if comment and comment.strip() else None,
                created=_stamp(datetime.now(UTC)),
            )
        )

    def _execute(self, statement: sa.Insert | sa.Update | sa.Delete) -> int:
        """Run one change; the number of rows it touched. Raises SQLAlchemyError."""
        started = time.perf_counter()
        with self.engine.begin() as conn:
            touched = conn.execute(statement).rowcount
        log.debug(
            "%s: %d rows written in %.1f ms",
            statement.table,
            touched,
            (time.perf_counter() - started) * 1000,
        )
        return touched

    def _write(self, statement: sa.Insert | sa.Update | sa.Delete) -> int:
        """Run one change; the number of rows it touched. Raises RecordError, or
        UnavailableError while the database is away."""
        try:
            return self._execute(statement)
        except SQLAlchemyError as exc:
            log.error("record not written to %s: %s", statement.table, _first_line(exc))
            raise _failed(exc, "记录写入失败", "The record was not written") from None

    def export(self, since: datetime | None = None, only: Only = "all") -> list[dict[str, Any]]:
        """Exchanges, newest first, each with its feedback: all, the unanswered, or those with a 👎.

        Each row holds the exchange's columns (citations as a list), `rating` (the lowest
        given: -1 when anyone disliked it, None without feedback) and `comments` (a list).
        """
        started = time.perf_counter()
        query = sa.select(exchanges)
        if since is not None:
            query = query.where(exchanges.c.created >= _stamp(since))
        if only == "unanswered":
            query = query.where(exchanges.c.abstained.is_(True))
        elif only == "negative":
            disliked = sa.select(feedback.c.message_id).where(feedback.c.rating < 0)
            query = query.where(exchanges.c.message_id.in_(disliked))
        ids = query.with_only_columns(exchanges.c.message_id)
        try:
            with self.engine.connect() as conn:
                rows = [
                    dict(r._mapping)
                    for r in conn.execute(
                        query.order_by(exchanges.c.created.desc(), exchanges.c.message_id)
                    )
                ]
                notes = conn.execute(
                    sa.select(feedback.c.message_id, feedback.c.rating, feedback.c.comment)
                    .where(feedback.c.message_id.in_(ids))
                    .order_by(feedback.c.id)
                ).all()
        except SQLAlchemyError as exc:
            raise _failed(exc, "无法读取记录", "The records could not be read") from None
        by_id = {r["message_id"]: r for r in rows}
        for r in rows:
            r["citations"] = json.loads(r["citations"])
            r["rating"], r["comments"] = None, []
        for message_id, rating, comment in notes:
            r = by_id[message_id]
            r["rating"] = rating if r["rating"] is None else min(r["rating"], rating)
            if comment:
                r["comments"].append(comment)
        log.debug(
            "exported %d records (%s) in %.1f ms",
            len(rows),
            only,
            (time.perf_counter() - started) * 1000,
        )
        return rows

    # -- saved checks ----------------------------------------------------------------------

    def add_check(self, question: str, expect: list[str], abstain: bool, limit: int) -> int:
        """Save a question and the words its answer must hold (redacted); its new id.

        Raises CheckError when `limit` checks are saved already."""
        try:
            with self.engine.begin() as conn:
                saved = conn.execute(sa.select(sa.func.count()).select_from(checks)).scalar_one()
                if saved >= limit:
                    raise CheckError(
                        f"已保存 {saved} 个测试问题，达到上限 {limit}，请先删除不再需要的。",
                        f"{saved} checks are saved, the limit is {limit}; delete some first.",
                    )
                inserted = conn.execute(
                    checks.insert().values(
                        created=_stamp(datetime.now(UTC)),
                        question=redact(question),
                        expect=json.dumps([redact(w) for w in expect], ensure_ascii=False),
                        abstain=abstain,
                    )
                )
        except SQLAlchemyError as exc:
            log.error("check not saved: %s", _first_line(exc))
            raise _failed(exc, "测试问题保存失败", "The check was not saved") from None
        key = inserted.inserted_primary_key
        assert key is not None
        return int(key[0])

    def checks(self) -> list[dict[str, Any]]:
        """The saved checks, oldest first, each with its last result (`expect` as a list)."""
        try:
            with self.engine.connect() as conn:
                query = sa.select(checks).order_by(checks.c.id)
                rows = [dict(r._mapping) for r in conn.execute(query)]
        except SQLAlchemyError as exc:
            raise _failed(exc, "无法读取测试问题", "The checks could not be read") from None
        for r in rows:
            r["expect"] = json.loads(r["expect"])
        return rows

    def remove_check(self, check_id: int) -> bool:
        """Delete a saved check; whether there was one with this id."""
        return self._write(checks.delete().where(checks.c.id == check_id)) > 0

    def record_check(self, check_id: int, result: dict[str, Any]) -> None:
        """Keep a check's last result: the `checks` columns from `ran` on (excerpt redacted)."""
        values = {**result, "excerpt": redact(str(result.get("excerpt") or ""))}
        self._write(checks.update().where(checks.c.id == check_id).values(**values))


CSV_FIELDS = (
    "created",
    "message_id",
    "client",
    "session_id",
    "user_hash",
    "question",
    "answer",
    "abstained",
    "mode",
    "intent",
    "latency_ms",
    "rating",
    "comments",
    "citations",
)


def _cell(value: Any) -> Any:
    """A text cell a spreadsheet will not run as a formula (questions come from the public)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def to_csv(rows: list[dict[str, Any]]) -> str:
    """Exported rows as CSV with a header; citations as their documents and sections."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, extrasaction="ignore")
    writer.writeheader()
    for r in rows:
        cited = "; ".join(
            " ".join(
                p for p in (f"《{c.get('title', '')}》", c.get("doc_number"), c.get("section")) if p
            )
            for c in r.get("citations", [])
        )
        flat = {**r, "comments": " | ".join(r.get("comments", [])), "citations": cited}
        writer.writerow({k: _cell(flat.get(k)) for k in CSV_FIELDS})
    return out.getvalue()


def users_by_day(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per UTC day of exported rows, newest first: the questions, the distinct end users (by
    their keyed hash; rows without one count as questions only), and the questions an end
    user asked again that day (the second and later asks of the same text)."""
    days: dict[str, Counter[tuple[str, str]]] = {}
    questions: Counter[str] = Counter()
    for r in rows:
        day = str(r["created"])[:10]
        questions[day] += 1
        asked = days.setdefault(day, Counter())
        if r.get("user_hash"):
            asked[(r["user_hash"], " ".join(str(r["question"]).split()))] += 1
    return [
        {
            "day": day,
            "questions": questions[day],
            "users": len({user for user, _ in days[day]}),
            "repeated": sum(n - 1 for n in days[day].values()),
        }
        for day in sorted(questions, reverse=True)
    ]


def records_secret(settings: Settings) -> bytes:
    """The key of the hashes records keep instead of session and user ids: the setting, else
    one made once and kept beside the index (readable by its owner only)."""
    if settings.records_secret:
        return settings.records_secret.encode()
    path = settings.index_dir / ".records-secret"
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise ConfigError(
            f"索引目录 {path.parent} 不可用：无法读取 {path.name}（{exc.strerror}）。",
            f"The index folder {str(path.parent)!r} is not usable: cannot read "
            f"{path.name} ({exc.strerror}).",
        ) from None
    secret = secrets.token_hex(32).encode()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(secret)
    except FileExistsError:  # another worker made it first
        return path.read_bytes()
    except OSError as exc:
        raise ConfigError(
            f"索引目录 {path.parent} 不可写（{exc.strerror}）。",
            f"The index folder {str(path.parent)!r} is not writable: {exc.strerror}.",
        ) from None
    return secret
