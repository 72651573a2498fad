"""A throwaway PostgreSQL 15 server for the tests: its own data folder, loopback only.

    with PostgresServer.create() as server:
        server.url                    # postgresql+psycopg://assistant:…@127.0.0.1:PORT/assistant
        server.stop()                 # as an outage would (clients are cut off)
        server.start()                # same port, same data
        server.new_database("other")  # an empty database on the same server, its URL

The binaries are Debian's (`postgresql` package, `make postgres` installs it). `initdb` refuses
to run as root, so when the tests run as root the server runs as the `postgres` system user,
with its folder owned by that user. Durability is switched off (fsync, synchronous commit): the
data lives for one test run.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType

BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
USER = "assistant"
DATABASE = "assistant"
SYSTEM_USER = "postgres"
START_TIMEOUT_S = 60


class PostgresUnavailable(RuntimeError):
    """The binaries are missing or the server would not start; the message says what to do."""


def free_port() -> int:
    """A loopback port nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresServer:
    """One PostgreSQL server in a folder of its own; removed by `remove` (or leaving `with`)."""

    def __init__(self, root: Path, port: int, password: str) -> None:
        self.root = root
        self.port = port
        self.password = password
        self.data = root / "data"
        self.sockets = root / "sockets"
        self.log = root / "server.log"
        self._as_postgres = os.geteuid() == 0

    @classmethod
    def create(cls) -> PostgresServer:
        """initdb into a fresh temporary folder, start it, and create the `assistant` database."""
        if not (BIN / "initdb").exists():
            raise PostgresUnavailable(
                f"{BIN / 'initdb'} is missing: install Debian's `postgresql` package "
                "(`make postgres`)"
            )
        # Directly under the temporary folder: pytest's own folders are closed to other users.
        root = Path(tempfile.mkdtemp(prefix="assistant-pg-"))
        server = cls(root, free_port(), secrets.token_hex(12))
        try:
            server._init()
            server.start()
            server._psql(f"CREATE DATABASE {DATABASE}")
        except BaseException:
            server.remove()
            raise
        return server

    # -- addresses ---------------------------------------------------------------------------

    def url_of(self, database: str) -> str:
        """The SQLAlchemy URL of one database on this server (psycopg 3 driver)."""
        return f"postgresql+psycopg://{USER}:{self.password}@127.0.0.1:{self.port}/{database}"

    @property
    def url(self) -> str:
        return self.url_of(DATABASE)

    # -- life --------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the server (again) on its port; returns once it accepts connections."""
        if self.running():
            return
        options = " ".join(
            (
                f"-p {self.port}",
                "-c listen_addresses=127.0.0.1",
                f"-c unix_socket_directories={self.sockets}",
                "-c max_connections=200",
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
            )
        )
        result = self._run(
            [
                str(BIN / "pg_ctl"),
                "start",
                "-D",
                str(self.data),
                "-l",
                str(self.log),
                "-w",
                "-t",
                str(START_TIMEOUT_S),
                "-o",
                options,
            ]
        )
        if result.returncode != 0:
            raise PostgresUnavailable(
                f"PostgreSQL did not start on port {self.port}: {result.stderr.strip()}\n"
                + self.log_tail()
            )

    def stop(self, mode: str = "fast") -> None:
        """Stop the server: `fast` ends open connections as a shutdown does, `immediate` as a
        crash does. Nothing happens if it is not running."""
        if not self.running():
            return
        self._run([str(BIN / "pg_ctl"), "stop", "-D", str(self.data), "-m", mode, "-w"])

    def running(self) -> bool:
        """Whether the server's postmaster is alive."""
        if not self.data.exists():
            return False
        result = self._run([str(BIN / "pg_ctl"), "status", "-D", str(self.data)])
        return result.returncode == 0

    def remove(self) -> None:
        """Stop the server and delete its folder."""
        try:
            self.stop("immediate")
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

    # -- databases ---------------------------------------------------------------------------

    def new_database(self, name: str) -> str:
        """Create an empty database on this server; its URL."""
        self._psql(f"CREATE DATABASE {name}")
        return self.url_of(name)

    def drop_database(self, name: str) -> None:
        """Drop a database, ending any connection to it first."""
        self._psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def log_tail(self, chars: int = 3000) -> str:
        """The end of the server's log, for a failure message."""
        try:
            return self.log.read_text(encoding="utf-8", errors="replace")[-chars:]
        except OSError:
            return ""

    # -- the commands ------------------------------------------------------------------------

    def _init(self) -> None:
        self.sockets.mkdir()
        password_file = self.root / "password"
        password_file.write_text(self.password + "\n", encoding="utf-8")
        if self._as_postgres:
            user = pwd.getpwnam(SYSTEM_USER)
            for path in (self.root, self.sockets, password_file):
                os.chown(path, user.pw_uid, user.pw_gid)
        result = self._run(
            [
                str(BIN / "initdb"),
                "-D",
                str(self.data),
                "-U",
                USER,
                f"--pwfile={password_file}",
                "--auth-local=trust",  # the socket is in a folder only the server's user opens
                "--auth-host=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
                "--no-instructions",
            ]
        )
        password_file.unlink()
        if result.returncode != 0:
            raise PostgresUnavailable(f"initdb failed: {result.stderr.strip()}")

    def _psql(self, sql: str) -> None:
        result = self._run(
            [
                str(BIN / "psql"),
                "-h",
                str(self.sockets),
                "-p",
                str(self.port),
                "-U",
                USER,
                "-d",
                "postgres",
                "-v",
                "ON_ERROR_STOP=1",
                "-q",
                "-c",
                sql,
            ]
        )
        if result.returncode != 0:
            raise PostgresUnavailable(f"{sql!r} failed: {result.stderr.strip()}")

    def _run(self, command: list[str]) -> subprocess.CompletedProcess[str]:
        if self._as_postgres:
            command = ["runuser", "-u", SYSTEM_USER, "--", *command]
        return subprocess.run(
            command,
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=START_TIMEOUT_S + 30,
            cwd=self.root,
            check=False,
        )
