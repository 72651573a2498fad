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
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from assistant.serve.cluster import LocalPostgres

STARTUP_TIMEOUT_S = 120.0


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


def _start_chroma(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    """`chroma run` on a free loopback port; returns once its heartbeat answers."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = folder / "chroma.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "chroma"),
                "run",
                "--path",
                str(folder / "chroma"),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                "chroma run exited:\n" + log.read_text(encoding="utf-8", errors="replace")[-3000:]
            )
        try:
            if httpx.get(f"{url}/api/v2/heartbeat", timeout=2).status_code == 200:
                return process, url
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"the Chroma server did not answer within {STARTUP_TIMEOUT_S:.0f} s")


@contextmanager
def shared_parts(folder: Path) -> Iterator[SharedParts]:
    """PostgreSQL and a Chroma server in `folder` (which the `postgres` user must be able to
    pass through), stopped on leaving."""
    postgres = LocalPostgres(folder / "pg", _free_port(), secrets.token_hex(12), durable=True)
    postgres.init()
    try:
        chroma, chroma_url = _start_chroma(folder)
        try:
            postmaster = (postgres.data / "postmaster.pid").read_text(encoding="ascii")
            yield SharedParts(
                postgres.url(), chroma_url, folder / "index", chroma.pid, int(postmaster.split()[0])
            )
        finally:
            chroma.terminate()
            try:
                chroma.wait(timeout=15)
            except subprocess.TimeoutExpired:
                chroma.kill()
    finally:
        postgres.stop()
