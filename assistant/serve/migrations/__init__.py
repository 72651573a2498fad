"""The records database's schema, brought up to date when a RecordStore opens it (Alembic).

    upgrade(engine)   # at the newest revision afterwards; a no-op when it is there already

Each schema change is a revision in `versions/` (shipped in the wheel), so an upgrade of the
package changes the tables in place and keeps every row:

    0001  the tables of the releases before migrations: exchanges, feedback, checks
    0002  exchanges.user_hash (the keyed hash of the end user), sessions and buckets

A database written by a release before migrations has the tables but no `alembic_version`:
revision 0001 creates only the tables it lacks (the oldest lack `checks`), which stamps it at
the baseline with its rows, and the later revisions go on from there. Revisions check what
is there before changing it, so one interrupted half-way (SQLite runs DDL outside the
transaction) is simply run again.

A migration runs under the lock the caller gives (see RecordStore), so that two processes
starting at once do not both migrate; a database at the newest revision is left alone
without taking it.
"""

from __future__ import annotations

import logging
import time
from contextlib import AbstractContextManager
from functools import lru_cache
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine

log = logging.getLogger(__name__)

FOLDER = Path(__file__).parent


def _config(connection: Connection | None = None) -> Config:
    """Alembic's configuration, made in code: users need no alembic.ini."""
    config = Config()
    config.set_main_option("script_location", str(FOLDER))
    config.attributes["connection"] = connection
    return config


@lru_cache(maxsize=1)
def head() -> str:
    """The newest revision."""
    return str(ScriptDirectory.from_config(_config()).get_current_head())


def current(connection: Connection) -> str | None:
    """The revision the database is at, None before the first migration."""
    # Read directly: Alembic's own reader logs at INFO on every open of every worker.
    if not sa.inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


def upgrade(engine: Engine, lock: AbstractContextManager[object]) -> str | None:
    """Bring the database to the newest revision, holding `lock` while it changes; the
    revision it was at before (None for a database that had none)."""
    with engine.connect() as connection:
        before = current(connection)
    if before == head():
        return before
    started = time.perf_counter()
    with lock, engine.begin() as connection:
        before = current(connection)  # another process may have migrated meanwhile
        if before == head():
            return before
        command.upgrade(_config(connection), "head")
    log.info(
        "records database migrated from %s to %s in %.1f ms",
        before or "no revision",
        head(),
        (time.perf_counter() - started) * 1000,
    )
    return before
