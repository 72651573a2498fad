"""One holder at a time: the processes of one machine, or every replica of a deployment.

    with exclusive("ingest", index_dir / ".ingest.lock", settings.database_url):
        ...  # no other ingest runs meanwhile

With a PostgreSQL database the lock is a PostgreSQL advisory lock named by `name`, held on a
connection of its own: replicas on several machines share the database but not a file system
that locks reliably, and PostgreSQL releases the lock when its holder dies (its connection
ends). Otherwise it is an `flock` on the file, which the kernel releases the same way. The
callers do not need to know which.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from assistant.errors import UnavailableError

log = logging.getLogger(__name__)

# A database that does not answer within this many seconds is taken to be away.
CONNECT_TIMEOUT_S = 3


def is_postgres(database_url: str | None) -> bool:
    """Whether the URL names a PostgreSQL database."""
    if not database_url:
        return False
    try:
        return make_url(database_url).get_backend_name() == "postgresql"
    except ArgumentError:
        return False


def exclusive(
    name: str, lock_file: Path | None, database_url: str | None
) -> AbstractContextManager[None]:
    """Hold the lock called `name` while inside: an advisory lock when `database_url` names a
    PostgreSQL database, else a lock on `lock_file` (None: nothing to share, no lock). Waits
    for the holder to let go."""
    if is_postgres(database_url):
        assert database_url is not None
        return advisory_lock(database_url, name)
    if lock_file is None:
        return nullcontext()
    return file_lock(lock_file)


def lock_key(name: str) -> int:
    """The advisory lock's number for a name: the same in every process (a signed 64-bit int,
    as pg_advisory_lock takes), and unlikely to be another application's."""
    digest = hashlib.blake2b(f"policy-assistant:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive `flock` on `path` (created if missing)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "ab") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.info("waiting for %s, held by another process", path)
            fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


@contextmanager
def advisory_lock(database_url: str, name: str) -> Iterator[None]:
    """Hold PostgreSQL's session advisory lock for `name` on a connection of its own."""
    key = lock_key(name)
    engine = sa.create_engine(
        database_url,
        poolclass=sa.NullPool,  # the connection is the lock: closed, never pooled
        connect_args={"connect_timeout": CONNECT_TIMEOUT_S},
    )
    where = engine.url.render_as_string(hide_password=True)
    try:
        try:
            conn = engine.connect()
        except SQLAlchemyError as exc:
            raise _unreachable(name, where, exc) from None
        try:
            started = time.perf_counter()
            try:
                got = conn.execute(sa.select(sa.func.pg_try_advisory_lock(key))).scalar_one()
                if not got:
                    log.info("waiting for the %s lock in %s, held by another process", name, where)
                    conn.execute(sa.select(sa.func.pg_advisory_lock(key)))
                conn.commit()  # the lock outlives transactions; none stays open while held
            except SQLAlchemyError as exc:
                raise _unreachable(name, where, exc) from None
            log.debug("%s lock taken in %.1f ms", name, (time.perf_counter() - started) * 1000)
            try:
                yield
            finally:
                try:
                    conn.execute(sa.select(sa.func.pg_advisory_unlock(key)))
                    conn.commit()
                except SQLAlchemyError as exc:
                    # The connection is gone, and the lock with it: PostgreSQL released it.
                    log.warning("%s lock in %s lost before its release: %s", name, where, exc)
        finally:
            conn.close()
    finally:
        engine.dispose()


def _unreachable(name: str, where: str, exc: Exception) -> UnavailableError:
    first = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
    return UnavailableError(
        f"无法在数据库 {where} 中取得“{name}”锁（ASSISTANT_DATABASE_URL）：{first}。"
        "请确认数据库可用后重试。",
        f"Cannot take the {name!r} lock in the database {where} (ASSISTANT_DATABASE_URL): "
        f"{first}. Try again once the database is available.",
    )
