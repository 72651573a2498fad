"""Several replicas as one, on one machine and on loopback only: `policy-assistant cluster`.

    policy-assistant cluster                      PostgreSQL, a Chroma server, two replicas
    policy-assistant cluster --replicas 3 --port 9001

In this order, each listening on 127.0.0.1 only:

1. PostgreSQL from Debian's `postgresql` package (`/usr/lib/postgresql/15/bin`), its data in
   `pg/` of the cluster folder (`index/cluster/` by default), made by `initdb` on the first
   run. `initdb` refuses to run as root, so when started by root the server runs as the
   `postgres` system user, which owns `pg/`. Its password is made once and kept in
   `pg-password` (readable by its owner only).
2. A Chroma server (`chroma run`), its data in `chroma/`.
3. An ingest of the corpus (`ASSISTANT_CORPUS_DIR`, the shipped `corpus/` by default) into the
   cluster's own index folder `index/`, through the Chroma server. It is incremental: when
   nothing changed it only says so.
4. The replicas: `policy-assistant serve` processes on consecutive ports, sharing
   `ASSISTANT_DATABASE_URL`, `ASSISTANT_CHROMA_URL`, the index folder and one
   `ASSISTANT_RECORDS_SECRET` (the setting, else one made once and kept in `records-secret`).
   Every other `ASSISTANT_*` setting (keys, limits) reaches them as it is. Each replica is
   pinned to its share of the machine's cores, and embeds on that many threads.

Then it prints the addresses and waits. Ctrl-C (or SIGTERM) stops the replicas first, so that
open requests still reach the database, then Chroma, then PostgreSQL. The logs are in `logs/`.
If a process stops on its own, the rest are stopped and the command fails with its log's end.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import httpx

from assistant.errors import AssistantError

PG_BIN = Path("/usr/lib/postgresql/15/bin")
PG_USER = "assistant"  # the database role the replicas log in as
PG_DATABASE = "assistant"
SYSTEM_USER = "postgres"  # who runs the server when the command runs as root
HOST = "127.0.0.1"
START_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 15.0
EXIT_OK_OR_PARTIAL = (0, 3)  # ingest: done, or done with some files skipped

Echo = Callable[[str], None]


class ClusterError(AssistantError):
    """Part of the cluster cannot be started; the message says which and what to do."""

    code = "cluster_error"


# -- the plan (pure) --------------------------------------------------------------------------


@dataclass(frozen=True)
class Layout:
    """Where each part of a cluster lives: folders under one cluster folder, loopback ports."""

    folder: Path
    pg_port: int
    chroma_port: int
    replica_ports: tuple[int, ...]

    @property
    def pg_folder(self) -> Path:
        return self.folder / "pg"

    @property
    def chroma_data(self) -> Path:
        return self.folder / "chroma"

    @property
    def index_dir(self) -> Path:
        return self.folder / "index"

    @property
    def logs(self) -> Path:
        return self.folder / "logs"

    @property
    def password_file(self) -> Path:
        return self.folder / "pg-password"

    @property
    def secret_file(self) -> Path:
        return self.folder / "records-secret"

    @property
    def chroma_url(self) -> str:
        return f"http://{HOST}:{self.chroma_port}"

    @property
    def replica_urls(self) -> list[str]:
        return [f"http://{HOST}:{port}" for port in self.replica_ports]

    def database_url(self, password: str) -> str:
        """The SQLAlchemy URL of the cluster's database (psycopg 3 driver)."""
        return f"postgresql+psycopg://{PG_USER}:{password}@{HOST}:{self.pg_port}/{PG_DATABASE}"


def plan(folder: Path, port: int, replicas: int, chroma_port: int, pg_port: int) -> Layout:
    """The layout of a cluster: replicas on consecutive ports from `port`; every port distinct."""
    if replicas < 1:
        raise ClusterError("副本数至少为 1。", "A cluster needs at least one replica.")
    ports = tuple(range(port, port + replicas))
    every = [pg_port, chroma_port, *ports]
    if len(set(every)) != len(every) or not all(0 < p < 65536 for p in every):
        raise ClusterError(
            f"端口须各不相同且在 1–65535 之间（PostgreSQL {pg_port}、Chroma {chroma_port}、"
            f"副本 {ports[0]}–{ports[-1]}）。",
            f"Ports must differ and lie in 1-65535 (PostgreSQL {pg_port}, Chroma "
            f"{chroma_port}, replicas {ports[0]}-{ports[-1]}).",
        )
    return Layout(folder, pg_port, chroma_port, ports)


def replica_env(
    base: Mapping[str, str], layout: Layout, password: str, secret: str
) -> dict[str, str]:
    """The environment of the ingest and of every replica: the caller's, with the shared
    database, Chroma server, index folder and records secret."""
    env = dict(base)
    env.update(
        {
            "ASSISTANT_DATABASE_URL": layout.database_url(password),
            "ASSISTANT_CHROMA_URL": layout.chroma_url,
            "ASSISTANT_INDEX_DIR": str(layout.index_dir),
            "ASSISTANT_RECORDS_SECRET": secret,
        }
    )
    return env


def addresses(layout: Layout) -> str:
    """What the cluster serves, and where, as printed once it is up."""
    lines = [
        f"PostgreSQL  postgresql+psycopg://{PG_USER}:…@{HOST}:{layout.pg_port}/{PG_DATABASE}"
        f"  (password in {layout.password_file})",
        f"Chroma      {layout.chroma_url}",
    ]
    lines += [
        f"replica {n}   {url}/  (the page; the API at {url}/docs)"
        for n, url in enumerate(layout.replica_urls, 1)
    ]
    lines += [f"logs        {layout.logs}/", "Ctrl-C stops them all."]
    return "\n".join(lines)


# -- PostgreSQL -------------------------------------------------------------------------------


class LocalPostgres:
    """A PostgreSQL server in a folder of its own on a loopback port, driven by pg_ctl.

    The folder holds `data/` (initdb's), `run/` (the Unix socket) and `server.log`. When the
    caller is root, every command runs as the `postgres` system user, which owns the folder.
    `durable=False` switches fsync off, for data that lives for one test run.
    """

    def __init__(
        self, folder: Path, port: int, password: str, *, bin_dir: Path = PG_BIN, durable: bool
    ) -> None:
        self.folder = folder
        self.port = port
        self.password = password
        self.bin_dir = bin_dir
        self.durable = durable
        self.data = folder / "data"
        self.sockets = folder / "run"
        self.log = folder / "server.log"
        self._as_system_user = os.geteuid() == 0

    def url(self, database: str = PG_DATABASE) -> str:
        """The SQLAlchemy URL of one database on this server."""
        return f"postgresql+psycopg://{PG_USER}:{self.password}@{HOST}:{self.port}/{database}"

    def initialised(self) -> bool:
        return (self.data / "PG_VERSION").exists()

    def init(self) -> None:
        """initdb: the `assistant` role with the password (over TCP), and its database."""
        if not (self.bin_dir / "initdb").exists():
            raise ClusterError(
                f"未找到 {self.bin_dir / 'initdb'}：请安装 Debian 的 postgresql 软件包"
                "（make postgres）。",
                f"{self.bin_dir / 'initdb'} is missing: install Debian's `postgresql` package "
                "(`make postgres`).",
            )
        self.folder.mkdir(parents=True, exist_ok=True)
        self.folder.chmod(0o700)
        self.sockets.mkdir(exist_ok=True)
        password_file = self.folder / "initdb-password"
        password_file.write_text(self.password + "\n", encoding="utf-8")
        if self._as_system_user:
            self._hand_over(password_file)
        try:
            self._run(
                [
                    "initdb",
                    "-D",
                    str(self.data),
                    "-U",
                    PG_USER,
                    f"--pwfile={password_file}",
                    # The socket lies in a folder only the server's own user can open.
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                    "--encoding=UTF8",
                    "--locale=C.UTF-8",
                    "--no-instructions",
                    *([] if self.durable else ["--no-sync"]),
                ],
                "initdb",
            )
        finally:
            password_file.unlink(missing_ok=True)
        self.start()
        self.create_database(PG_DATABASE)

    def start(self) -> None:
        """Start the server (again) on its port; returns once it accepts connections."""
        if self.running():
            return
        options = [
            f"-p {self.port}",
            f"-c listen_addresses={HOST}",
            f"-c unix_socket_directories={self.sockets}",
            "-c max_connections=200",
        ]
        if not self.durable:
            options += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        self._run(
            [
                "pg_ctl",
                "start",
                "-D",
                str(self.data),
                "-l",
                str(self.log),
                "-w",
                "-t",
                str(int(START_TIMEOUT_S)),
                "-o",
                " ".join(options),
            ],
            f"PostgreSQL on port {self.port}",
        )

    def stop(self, mode: str = "fast") -> None:
        """Stop the server: `fast` ends open connections as a shutdown does, `immediate` as
        a crash does. Nothing happens when it is not running."""
        if self.running():
            self._run(["pg_ctl", "stop", "-D", str(self.data), "-m", mode, "-w"], "pg_ctl stop")

    def running(self) -> bool:
        """Whether this folder's server is up."""
        if not self.initialised():
            return False
        return self._call(["pg_ctl", "status", "-D", str(self.data)]).returncode == 0

    def create_database(self, name: str) -> None:
        self.sql(f"CREATE DATABASE {name}")

    def drop_database(self, name: str) -> None:
        """Drop a database, ending the connections to it first."""
        self.sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def sql(self, statement: str) -> None:
        """Run one statement as the `assistant` role, over the Unix socket."""
        self._run(
            [
                "psql",
                "-h",
                str(self.sockets),
                "-p",
                str(self.port),
                "-U",
                PG_USER,
                "-d",
                "postgres",
                "-v",
                "ON_ERROR_STOP=1",
                "-q",
                "-c",
                statement,
            ],
            repr(statement),
        )

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log.read_text(encoding="utf-8", errors="replace")[-chars:]
        except OSError:
            return ""

    def _hand_over(self, *also: Path) -> None:
        """Give the folder (and the files named) to the system user that runs the server."""
        user = pwd.getpwnam(SYSTEM_USER)
        for path in (self.folder, self.sockets, *also):
            os.chown(path, user.pw_uid, user.pw_gid)
        probe = ["test", "-w", str(self.folder)]
        if subprocess.run(["runuser", "-u", SYSTEM_USER, "--", *probe], check=False).returncode:
            raise ClusterError(
                f"系统用户 {SYSTEM_USER} 无法进入 {self.folder}：请选择其上级目录对其他用户可进入的文件夹。",
                f"The {SYSTEM_USER!r} system user cannot reach {str(self.folder)!r}: choose a "
                "folder whose parent folders others may enter.",
            )

    def _call(self, command: list[str]) -> subprocess.CompletedProcess[str]:
        argv = [str(self.bin_dir / command[0]), *command[1:]]
        if self._as_system_user:
            argv = ["runuser", "-u", SYSTEM_USER, "--", *argv]
        return subprocess.run(
            argv,
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=START_TIMEOUT_S + 30,
            cwd=self.folder,
            check=False,
            start_new_session=True,  # the terminal's Ctrl-C is for the runner, which stops it
        )

    def _run(self, command: list[str], what: str) -> None:
        result = self._call(command)
        if result.returncode != 0:
            raise ClusterError(
                f"PostgreSQL 操作失败（{what}）：{result.stderr.strip()}",
                f"PostgreSQL failed ({what}): {result.stderr.strip()}\n{self.log_tail()}",
            )


# -- processes --------------------------------------------------------------------------------


def port_free(port: int) -> bool:
    """Whether nothing listens on this loopback port now."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, port))
        except OSError:
            return False
    return True


def kept_secret(path: Path, make: Callable[[], str]) -> str:
    """A secret made once and kept in a file only its owner reads."""
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        secret = make()
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(secret + "\n")
        return secret


def executable(name: str) -> str:
    """A command installed beside this Python (the venv's), else on PATH."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        raise ClusterError(
            f"未找到命令 {name}（请先 make setup）。", f"{name!r} not found (make setup)."
        )
    return found


@dataclass
class Child:
    """A process the cluster started, with its log."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def log_tail(self, chars: int = 3000) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")[-chars:]

    def stop(self) -> None:
        """SIGTERM (a server finishes open requests), then SIGKILL if it lingers."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def core_shares(count: int, cores: Sequence[int]) -> list[set[int]]:
    """`cores` split evenly between `count` replicas; none when there are fewer cores than
    replicas (then every replica may use every core)."""
    each = len(cores) // count
    if each < 1:
        return []
    ordered = sorted(cores)
    return [set(ordered[n * each : (n + 1) * each]) for n in range(count)]


def spawn(
    name: str,
    argv: Sequence[str],
    log: Path,
    env: Mapping[str, str],
    cores: set[int] | None = None,
) -> Child:
    """Start a process in a session of its own, its output in `log`, on `cores` if given."""
    with log.open("ab") as out:
        process = subprocess.Popen(
            list(argv),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=dict(env),
            start_new_session=True,
            preexec_fn=None if cores is None else lambda: os.sched_setaffinity(0, cores),
        )
    return Child(name, process, log)


def wait_for(child: Child, url: str, stopping: threading.Event) -> None:
    """Poll `url` until it answers 200; fail with the child's log if it exits or never does."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while not stopping.is_set():
        if child.process.poll() is not None:
            raise ClusterError(
                f"{child.name} 已退出（{child.process.returncode}），日志：{child.log}",
                f"{child.name} exited with {child.process.returncode}:\n{child.log_tail()}",
            )
        with suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code == 200:
                return
        if time.monotonic() > deadline:
            raise ClusterError(
                f"{child.name} 在 {START_TIMEOUT_S:.0f} 秒内未就绪，日志：{child.log}",
                f"{child.name} did not answer {url} within {START_TIMEOUT_S:.0f} s:\n"
                + child.log_tail(),
            )
        stopping.wait(0.3)


def start_chroma(
    data: Path,
    port: int,
    log: Path,
    env: Mapping[str, str] | None = None,
    stopping: threading.Event | None = None,
) -> Child:
    """`chroma run` on loopback `port`, its data in `data`; returns once its heartbeat
    answers (or `stopping` is set), and stops it again if it never does."""
    child = spawn(
        "Chroma",
        [executable("chroma"), "run", "--path", str(data), "--host", HOST, "--port", str(port)],
        log,
        os.environ if env is None else env,
    )
    try:
        wait_for(child, f"http://{HOST}:{port}/api/v2/heartbeat", stopping or threading.Event())
    except BaseException:
        child.stop()
        raise
    return child


@contextmanager
def stop_requests() -> Iterator[threading.Event]:
    """An event set by Ctrl-C or SIGTERM, for as long as the cluster runs."""
    stopping = threading.Event()

    def handler(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stopping
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


# -- the run ----------------------------------------------------------------------------------


def run(
    layout: Layout,
    env: Mapping[str, str],
    echo: Echo,
    *,
    records_secret: str | None = None,
    pg_bin: Path = PG_BIN,
) -> int:
    """Start every part, print the addresses, wait for Ctrl-C, stop every part; 0 when all
    stopped on request, 1 when a part stopped on its own."""
    for port in (layout.pg_port, layout.chroma_port, *layout.replica_ports):
        if not port_free(port):
            raise ClusterError(
                f"端口 {HOST}:{port} 已被占用：请用 --port、--chroma-port 或 --pg-port 另选。",
                f"Port {HOST}:{port} is in use: choose others with --port, --chroma-port "
                "or --pg-port.",
            )
    layout.logs.mkdir(parents=True, exist_ok=True)
    password = kept_secret(layout.password_file, lambda: secrets.token_hex(16))
    secret = records_secret or kept_secret(layout.secret_file, lambda: secrets.token_hex(32))
    shared = replica_env(env, layout, password, secret)
    postgres = LocalPostgres(
        layout.pg_folder, layout.pg_port, password, bin_dir=pg_bin, durable=True
    )
    children: list[Child] = []
    with stop_requests() as stopping:
        try:
            echo(f"PostgreSQL: {layout.pg_folder}")
            if postgres.initialised():
                postgres.start()
            else:
                postgres.init()
            if stopping.is_set():
                return 0
            children.append(
                start_chroma(
                    layout.chroma_data,
                    layout.chroma_port,
                    layout.logs / "chroma.log",
                    env,
                    stopping,
                )
            )
            if stopping.is_set():
                return 0
            echo(f"ingest: {shared.get('ASSISTANT_CORPUS_DIR', 'corpus/')} → {layout.index_dir}")
            ingest = subprocess.run(
                [sys.executable, "-m", "assistant.cli", "ingest"],
                env=shared,
                check=False,
                start_new_session=True,
            )
            if ingest.returncode not in EXIT_OK_OR_PARTIAL:
                raise ClusterError(
                    f"导入失败（退出码 {ingest.returncode}），见上方信息。",
                    f"The ingest failed (exit status {ingest.returncode}); see above.",
                )
            # Replicas sharing one machine each get their share of its cores: each sized
            # for all of them, they would only contend (measured: 40% more CPU an answer).
            shares = core_shares(len(layout.replica_ports), sorted(os.sched_getaffinity(0)))
            serving_env = dict(shared)
            if shares and "ASSISTANT_EMBED_THREADS" not in shared:
                serving_env["ASSISTANT_EMBED_THREADS"] = str(len(shares[0]))
            for n, port in enumerate(layout.replica_ports, 1):
                command = [sys.executable, "-m", "assistant.cli", "serve"]
                command += ["--host", HOST, "--port", str(port)]
                log = layout.logs / f"replica-{n}.log"
                cores = shares[n - 1] if shares else None
                children.append(spawn(f"replica {n}", command, log, serving_env, cores))
            for child, url in zip(children[1:], layout.replica_urls, strict=True):
                wait_for(child, f"{url}/healthz", stopping)
            if stopping.is_set():
                return 0
            echo(addresses(layout))
            while not stopping.wait(0.5):
                for child in children:
                    if child.process.poll() is not None:
                        echo(
                            f"{child.name} stopped on its own ({child.process.returncode}); "
                            f"stopping the rest. {child.log}:\n{child.log_tail()}"
                        )
                        return 1
            echo("stopping: replicas, then Chroma, then PostgreSQL")
            return 0
        finally:
            for child in reversed(children):  # the replicas first, while the database is up
                child.stop()
            postgres.stop()
