"""What several replicas share, for a load run: PostgreSQL and a Chroma server on loopback, in a
temporary folder, with an index of the shipped corpus built through the Chroma server.

    with shared_parts(folder) as parts:
        parts.database_url   # postgresql+psycopg://…@127.0.0.1:PORT/assistant
        parts.chroma_url     # http://127.0.0.1:PORT
        parts.index_dir      # the index folder every replica serves

PostgreSQL is `make cluster`'s (assistant.serve.cluster.LocalPostgres), durable as in
production; when run as root it runs as the `postgres` system user.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from assistant.serve.cluster import LocalPostgres, start_chroma


@dataclass(frozen=True)
class SharedParts:
    database_url: str
    chroma_url: str
    index_dir: Path
    chroma_pid: int
    postgres_pid: int  # the postmaster; each connection is served by a child of it


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def shared_parts(folder: Path) -> Iterator[SharedParts]:
    """PostgreSQL and a Chroma server in `folder` (which the `postgres` user must be able to
    pass through), stopped on leaving."""
    postgres = LocalPostgres(folder / "pg", _free_port(), secrets.token_hex(12), durable=True)
    postgres.init()
    try:
        port = _free_port()
        chroma = start_chroma(folder / "chroma", port, folder / "chroma.log")
        try:
            postmaster = (postgres.data / "postmaster.pid").read_text(encoding="ascii")
            yield SharedParts(
                postgres.url(),
                f"http://127.0.0.1:{port}",
                folder / "index",
                chroma.process.pid,
                int(postmaster.split()[0]),
            )
        finally:
            chroma.stop()
    finally:
        postgres.stop()
