"""A throwaway PostgreSQL 15 server for the tests: its own temporary folder, loopback only.

    with PostgresServer.create() as server:
        server.url                    # postgresql+psycopg://assistant:…@127.0.0.1:PORT/assistant
        server.stop()                 # as an outage would (open connections are cut)
        server.start()                # same port, same data
        server.new_database("other")  # an empty database on the same server, its URL

It is `make cluster`'s server (assistant.serve.cluster.LocalPostgres) in a temporary folder,
with durability off (fsync, synchronous commit): the data lives for one test run. The binaries
are Debian's (`postgresql` package, `make postgres`); when the tests run as root the server
runs as the `postgres` system user, which owns the folder.
"""

from __future__ import annotations

import secrets
import shutil
import socket
import tempfile
from pathlib import Path
from types import TracebackType

from assistant.serve.cluster import PG_DATABASE, LocalPostgres


def free_port() -> int:
    """A loopback port nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresServer:
    """One PostgreSQL server in a temporary folder; removed by `remove` (or leaving `with`)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.server = LocalPostgres(root / "pg", free_port(), secrets.token_hex(12), durable=False)

    @classmethod
    def create(cls) -> PostgresServer:
        """initdb into a fresh temporary folder, start it, and create the `assistant` database."""
        # Directly under the temporary folder: pytest's own folders are closed to other users.
        root = Path(tempfile.mkdtemp(prefix="assistant-pg-"))
        root.chmod(0o711)  # the server's user passes through to its own folder inside
        server = cls(root)
        try:
            server.server.init()
        except BaseException:
            server.remove()
            raise
        return server

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def url(self) -> str:
        """The SQLAlchemy URL of the `assistant` database (psycopg 3 driver)."""
        return self.server.url(PG_DATABASE)

    def url_of(self, database: str) -> str:
        return self.server.url(database)

    def start(self) -> None:
        """Start the server (again) on its port; returns once it accepts connections."""
        self.server.start()

    def stop(self, mode: str = "fast") -> None:
        """Stop it: `fast` as a shutdown does, `immediate` as a crash does."""
        self.server.stop(mode)

    def running(self) -> bool:
        return self.server.running()

    def new_database(self, name: str) -> str:
        """Create an empty database on this server; its URL."""
        self.server.create_database(name)
        return self.server.url(name)

    def drop_database(self, name: str) -> None:
        self.server.drop_database(name)

    def log_tail(self, chars: int = 3000) -> str:
        return self.server.log_tail(chars)

    def remove(self) -> None:
        """Stop the server and delete its folder."""
        try:
            self.server.stop("immediate")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.remove()
