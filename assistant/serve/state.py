"""The state every worker and replica shares, kept in the database beside the records (the
`sessions` and `buckets` tables of assistant.serve.schema): the token buckets (each app key's
budget, each end user's, the wrong keys per address) and the conversations the server keeps.

    state = SharedState(records.engine, secret)            # one per process
    app = SharedBuckets(state, per_minute=600, kind="app")  # access.Buckets
    sessions = SharedSessions(state, turns=10, ttl=1800)    # access.Conversations

Rows are named by a keyed hash (HMAC-SHA256 with the records secret) of what they belong to,
never by a key name, user id or address. Times are wall-clock epoch seconds, so that every
machine reads the same age.

Each change is one transaction that holds the row while it reads and writes it: on
PostgreSQL the row is created if missing (INSERT … ON CONFLICT DO NOTHING) and locked
(SELECT … FOR UPDATE); on SQLite the transaction takes the database's write lock first
(BEGIN IMMEDIATE), so workers on one machine never both spend the last token.

When the database fails, answers go on: the buckets fall back to the process's own memory
(never to no limit), a session that cannot be read is reported as UnavailableError (the
question is answered on its own), and a session that cannot be written is logged and counted.
After a failure the database is left alone for a few seconds (Breaker), then tried again by
one request, so a dead database costs no request a wait, and a database that returns is used
again without a restart. Rows no longer needed (expired sessions, full buckets) are deleted
once a minute by whichever request comes along.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from assistant.errors import UnavailableError
from assistant.models import Message
from assistant.serve.access import FULL_AFTER_S, RateLimiter, bucket_after
from assistant.serve.schema import buckets, sessions

__all__ = ["Breaker", "SharedBuckets", "SharedSessions", "SharedState", "shared_state"]

log = logging.getLogger(__name__)

T = TypeVar("T")

PAUSE_S = 5.0  # after a failure, the database is left alone this long before a retry
PRUNE_EVERY_S = 60.0  # how often one process deletes the rows no longer needed


@dataclass
class Breaker:
    """Whether to try the database now: always while it works; after a failure, not for
    `pause` seconds, then by one caller at a time until a try succeeds."""

    pause: float = PAUSE_S
    clock: Callable[[], float] = time.monotonic
    down: bool = False  # the last try failed
    _until: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def allows(self) -> bool:
        """Whether this caller may use the database now (it must report how it went)."""
        with self._lock:
            now = self.clock()
            if now < self._until:
                return False
            if self.down:  # this caller tries; the others wait for its outcome
                self._until = now + self.pause
            return True

    def failed(self) -> bool:
        """Count a failure; whether the database was thought up until now."""
        with self._lock:
            was_up, self.down = not self.down, True
            self._until = self.clock() + self.pause
            return was_up

    def succeeded(self) -> bool:
        """Count a success; whether the database was thought down until now."""
        with self._lock:
            was_down, self.down = self.down, False
            self._until = 0.0
            return was_down


def unreachable() -> UnavailableError:
    """What a use of the shared state raises while its database is away."""
    return UnavailableError(
        "共享状态数据库暂时无法访问。", "The database of the shared state cannot be reached now."
    )


class SharedState:
    """The database the shared state is kept in, its circuit breaker, and what was lost
    while it was away; safe to share between threads."""

    def __init__(
        self,
        engine: Engine,
        secret: bytes,
        clock: Callable[[], float] = time.time,
        breaker: Breaker | None = None,
    ) -> None:
        self.engine = engine
        self.secret = secret
        self.clock = clock
        self.breaker = breaker or Breaker()
        self.dialect = engine.dialect.name
        self.lost_session_writes = 0  # conversations' turns that could not be kept
        self.fallbacks = 0  # limits decided in this process's memory, the database away
        self._prunes: list[Callable[[Connection, float], None]] = []
        self._pruned = time.monotonic()
        self._pruning = threading.Lock()
        self._counting = threading.Lock()

    def key(self, kind: str, name: str) -> str:
        """The row's name for `name` of this kind: a keyed hash, so no id is stored."""
        message = f"{kind}\0{name}".encode()
        return hmac.new(self.secret, message, hashlib.sha256).hexdigest()

    def run(self, work: Callable[[Connection, float], T], write: bool = False) -> T:
        """`work(connection, now)` in one transaction; UnavailableError when the database is
        failing (or was a moment ago).

        A `write` transaction on SQLite takes the write lock before it reads, so that what
        it reads cannot change before it writes (PostgreSQL locks the rows it reads).
        """
        if not self.breaker.allows():
            raise unreachable()
        started = time.perf_counter()
        try:
            with self.engine.connect() as conn:
                if write and self.dialect == "sqlite" and not _in_transaction(conn):
                    conn.exec_driver_sql("BEGIN IMMEDIATE")
                result = work(conn, self.clock())
                conn.commit()
        except SQLAlchemyError as exc:
            if self.breaker.failed():
                log.error(
                    "shared state: the database failed (%s); limits are kept in this "
                    "process and sessions skipped for now, retrying every %.0f s",
                    _first_line(exc),
                    self.breaker.pause,
                )
            raise unreachable() from None
        if self.breaker.succeeded():
            log.warning("shared state: the database is back")
        log.debug(
            "shared state: %s in %.1f ms", work.__name__, 1000 * (time.perf_counter() - started)
        )
        self._maybe_prune()
        return result

    def insert_missing(self, conn: Connection, table: sa.Table, **values: Any) -> None:
        """Insert a row unless one with its primary key is there (then it is left as it is)."""
        if self.dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            conn.execute(pg_insert(table).values(**values).on_conflict_do_nothing())
        elif self.dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            conn.execute(sqlite_insert(table).values(**values).on_conflict_do_nothing())
        else:  # another database: a savepoint keeps the transaction usable after a clash
            [key] = table.primary_key.columns
            if conn.execute(sa.select(key).where(key == values[key.name])).first() is None:
                try:
                    with conn.begin_nested():
                        conn.execute(table.insert().values(**values))
                except sa.exc.IntegrityError:
                    pass

    def reachable(self) -> bool:
        """Whether the database answers now (not tried again while the breaker holds it off)."""

        def ping(conn: Connection, now: float) -> None:
            conn.execute(sa.select(1))

        try:
            self.run(ping)
        except UnavailableError:
            return False
        return True

    def prune_with(self, prune: Callable[[Connection, float], None]) -> None:
        """Have `prune(connection, now)` delete rows no longer needed, now and then."""
        self._prunes.append(prune)

    def prune(self) -> None:
        """Delete the rows no longer needed (every table's prune, in one transaction)."""

        def deleted(conn: Connection, now: float) -> None:
            for prune in self._prunes:
                prune(conn, now)

        self.run(deleted, write=True)

    def count_lost_session_write(self) -> None:
        with self._counting:
            self.lost_session_writes += 1

    def count_fallback(self) -> None:
        with self._counting:
            self.fallbacks += 1

    def _maybe_prune(self) -> None:
        # One thread of this process prunes, at most once a minute; the others never wait.
        if time.monotonic() - self._pruned < PRUNE_EVERY_S or not self._pruning.acquire(False):
            return
        try:
            self._pruned = time.monotonic()
            self.prune()
        except UnavailableError:
            pass
        finally:
            self._pruning.release()


def shared_state(engine: Engine, secret: bytes) -> SharedState | None:
    """The shared state in this database, or None for an in-memory SQLite database (one
    connection, seen by this process alone: its memory serves as well)."""
    if engine.dialect.name == "sqlite" and engine.url.database in (None, "", ":memory:"):
        return None
    return SharedState(engine, secret)


class SharedBuckets:
    """Token buckets of one kind in the database (access.Buckets): `per_minute` requests a
    minute per name, bursts up to that many; while the database is away, this process's."""

    def __init__(self, state: SharedState, per_minute: int, kind: str) -> None:
        self.state = state
        self.per_minute = per_minute
        self.kind = kind
        self.fallback = RateLimiter(per_minute)
        state.prune_with(self._prune)

    def take(self, client: str) -> float:
        """0 when the request may go ahead; otherwise the seconds to wait before retrying."""
        key = self.state.key(self.kind, client)

        def take_token(conn: Connection, now: float) -> float:
            full = float(self.per_minute)
            self.state.insert_missing(conn, buckets, key=key, tokens=full, updated=now)
            row = conn.execute(
                sa.select(buckets.c.tokens, buckets.c.updated)
                .where(buckets.c.key == key)
                .with_for_update()
            ).one()
            tokens, wait = bucket_after(row.tokens, now - row.updated, self.per_minute, True)
            if wait == 0:
                conn.execute(
                    buckets.update().where(buckets.c.key == key).values(tokens=tokens, updated=now)
                )
            return wait

        try:
            return self.state.run(take_token, write=True)
        except UnavailableError:
            self.state.count_fallback()
            return self.fallback.take(client)

    def peek(self, client: str) -> float:
        """What `take` would answer, without spending anything (a read, no lock)."""
        key = self.state.key(self.kind, client)

        def look(conn: Connection, now: float) -> float:
            row = conn.execute(
                sa.select(buckets.c.tokens, buckets.c.updated).where(buckets.c.key == key)
            ).first()
            if row is None:
                return 0.0
            return bucket_after(row.tokens, now - row.updated, self.per_minute, False)[1]

        try:
            return self.state.run(look)
        except UnavailableError:
            self.state.count_fallback()
            return self.fallback.peek(client)

    @staticmethod
    def _prune(conn: Connection, now: float) -> None:
        # A bucket left alone for a minute is full, the same as none; twice that allows for
        # replicas whose clocks differ a little.
        conn.execute(buckets.delete().where(buckets.c.updated < now - 2 * FULL_AFTER_S))


class SharedSessions:
    """Conversations in the database (access.Conversations): the last `turns` exchanges of
    each, forgotten `ttl` seconds after their last use."""

    def __init__(self, state: SharedState, turns: int, ttl: float) -> None:
        self.state = state
        self.turns = turns
        self.ttl = ttl
        state.prune_with(self._prune)

    def history(self, session_id: str) -> list[Message]:
        """The kept turns of a session (empty if unknown or expired); UnavailableError when
        the database cannot be read now."""
        key = self.state.key("session", session_id)

        def read(conn: Connection, now: float) -> list[Message]:
            row = conn.execute(
                sa.select(sessions.c.turns, sessions.c.used).where(sessions.c.key == key)
            ).first()
            if row is None or now - row.used > self.ttl:
                return []
            return _messages(row.turns)

        return self.state.run(read)

    def add(self, session_id: str, question: str, answer: str) -> None:
        """Keep one more exchange; a write that fails is logged and counted, not raised."""
        key = self.state.key("session", session_id)

        def append(conn: Connection, now: float) -> None:
            self.state.insert_missing(conn, sessions, key=key, used=now, turns="[]")
            row = conn.execute(
                sa.select(sessions.c.turns, sessions.c.used)
                .where(sessions.c.key == key)
                .with_for_update()
            ).one()
            kept = [] if now - row.used > self.ttl else _messages(row.turns)
            kept = [*kept, Message("user", question), Message("assistant", answer)]
            conn.execute(
                sessions.update()
                .where(sessions.c.key == key)
                .values(used=now, turns=_turns_json(kept[-2 * self.turns :]))
            )

        try:
            self.state.run(append, write=True)
        except UnavailableError:
            # Neither the session nor its text is logged: they may hold personal data.
            self.state.count_lost_session_write()
            log.warning(
                "shared state: a session's turn was not kept (%d lost so far)",
                self.state.lost_session_writes,
            )

    def _prune(self, conn: Connection, now: float) -> None:
        conn.execute(sessions.delete().where(sessions.c.used < now - self.ttl))

    @staticmethod
    def new_id() -> str:
        return uuid.uuid4().hex


def _messages(turns: str) -> list[Message]:
    return [Message(role, content) for role, content in json.loads(turns)]


def _turns_json(history: list[Message]) -> str:
    return json.dumps([[m.role, m.content] for m in history], ensure_ascii=False)


def _in_transaction(conn: Connection) -> bool:
    """Whether SQLite's own connection has a transaction open already (an engine set up to
    begin one on every connection), so that BEGIN IMMEDIATE would be refused."""
    raw: Any = conn.connection.dbapi_connection
    return bool(getattr(raw, "in_transaction", False))


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
