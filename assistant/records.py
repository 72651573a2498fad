"""Exchanges and feedback kept for staff, in any SQL database SQLAlchemy reaches (SQLite by
default). Text is redacted before it is written: no phone, ID-card or e-mail ever lands here.

Staff read them to see what the documents are missing: the questions the assistant could
not answer, and the answers users marked 👎.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from .errors import AssistantError, ConfigError
from .models import Answer
from .redaction import redact

log = logging.getLogger(__name__)

Only = Literal["all", "unanswered", "negative"]

_meta = sa.MetaData()
exchanges = sa.Table(
    "exchanges", _meta,
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
feedback = sa.Table(
    "feedback", _meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("message_id", sa.String(64), nullable=False, index=True),
    sa.Column("rating", sa.Integer, nullable=False),
    sa.Column("comment", sa.Text),
    sa.Column("created", sa.String(32), nullable=False),
)


class RecordError(AssistantError):
    """A record could not be written or read."""


class UnknownMessageError(RecordError):
    def __init__(self, message_id: str) -> None:
        super().__init__(f"找不到编号为 {message_id!r} 的回答，无法记录反馈。",
                         f"No answer with message_id {message_id!r}; feedback not recorded.")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            return sa.create_engine(parsed, connect_args={"check_same_thread": False})
        return sa.create_engine(parsed, pool_pre_ping=True)
    except (ArgumentError, ValueError, ImportError, OSError) as exc:
        raise ConfigError(f"ASSISTANT_DATABASE_URL 无效：{exc}",
                          f"ASSISTANT_DATABASE_URL is invalid: {exc}") from None


class RecordStore:
    """Writes exchanges and feedback; exports them for staff. Safe to share between threads."""

    def __init__(self, database_url: str) -> None:
        self.engine = _engine(database_url)
        try:
            _meta.create_all(self.engine)
        except SQLAlchemyError as exc:
            raise ConfigError(f"无法打开记录数据库（ASSISTANT_DATABASE_URL）：{exc.__class__.__name__}",
                              f"Cannot open the records database (ASSISTANT_DATABASE_URL): "
                              f"{exc.__class__.__name__}") from None

    def add_exchange(self, message_id: str, question: str, answer: Answer, client: str,
                     session_id: str | None, latency_ms: float) -> None:
        citations = [{k: v for k, v in c.to_json().items() if k != "quote"} for c in answer.citations]
        self._write(exchanges.insert().values(
            message_id=message_id, created=_now(), client=client, session_id=session_id,
            question=redact(question), answer=redact(answer.answer),
            citations=json.dumps(citations, ensure_ascii=False), abstained=answer.abstained,
            mode=answer.mode, intent=answer.intent, latency_ms=round(latency_ms, 1)))

    def exchange_exists(self, message_id: str) -> bool:
        with self.engine.connect() as conn:
            found = conn.execute(sa.select(exchanges.c.message_id)
                                 .where(exchanges.c.message_id == message_id)).first()
        return found is not None

    def add_feedback(self, message_id: str, rating: int, comment: str | None) -> None:
        if not self.exchange_exists(message_id):
            raise UnknownMessageError(message_id)
        self._write(feedback.insert().values(
            message_id=message_id, rating=1 if rating > 0 else -1,
            comment=redact(comment) if comment else None, created=_now()))

    def _write(self, statement: Any) -> None:
        try:
            with self.engine.begin() as conn:
                conn.execute(statement)
        except SQLAlchemyError as exc:
            log.error("record not written: %s", exc)
            raise RecordError("记录写入失败。", f"The record was not written ({exc.__class__.__name__}).") from None

    def export(self, since: datetime | None = None, only: Only = "all") -> list[dict[str, Any]]:
        """Exchanges (newest first) with their feedback: all, unanswered, or with a 👎."""
        rating = sa.func.min(feedback.c.rating).label("rating")
        comments = sa.func.group_concat(feedback.c.comment).label("comments") \
            if self.engine.dialect.name == "sqlite" else sa.func.string_agg(feedback.c.comment, "; ").label("comments")
        query = (sa.select(exchanges, rating, comments)
                 .select_from(exchanges.outerjoin(feedback,
                                                  feedback.c.message_id == exchanges.c.message_id))
                 .group_by(*exchanges.c).order_by(exchanges.c.created.desc()))
        if since is not None:
            stamp = since if since.tzinfo else since.replace(tzinfo=UTC)
            query = query.where(exchanges.c.created >= stamp.astimezone(UTC).isoformat(timespec="seconds"))
        if only == "unanswered":
            query = query.where(exchanges.c.abstained.is_(True))
        elif only == "negative":
            query = query.having(sa.func.min(feedback.c.rating) < 0)
        with self.engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(query)]
        for r in rows:
            r["citations"] = json.loads(r["citations"])
            r["abstained"] = bool(r["abstained"])
        return rows


CSV_FIELDS = ("created", "message_id", "client", "session_id", "question", "answer",
              "abstained", "mode", "intent", "latency_ms", "rating", "comments", "citations")


def to_csv(rows: list[dict[str, Any]]) -> str:
    """Rows as CSV with a header; citations as their document numbers and sections."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, extrasaction="ignore")
    writer.writeheader()
    for r in rows:
        cited = "; ".join(" ".join(p for p in (c.get("doc_number"), c.get("section")) if p)
                          for c in r.get("citations", []))
        writer.writerow({**r, "citations": cited})
    return out.getvalue()
