"""Load run: how many chat answers a second the HTTP server gives, beside the pipeline's own pace.

Run it from the project folder (after `make setup`):

    .venv/bin/python evals/load.py                       # 50 clients for 30 s
    .venv/bin/python evals/load.py --clients 20 --seconds 10
    .venv/bin/python evals/load.py --json                # one JSON object instead of the table
    .venv/bin/python evals/load.py --replicas 0          # without the run over two replicas

What it does, on loopback only (figures only, nothing is asserted):

1. Builds a temporary index of the shipped corpus (`corpus/`), as `evals/bench.py` does; the
   project's own `index/` is never touched.
2. In-process ceiling: `services.assistant.ask` over the questions of `evals/questions.jsonl`
   (with their conversation history) for `--ask-seconds`, first on 1 thread, then on 2. The
   server runs each request on a worker thread, but on a 2-CPU machine at most two run at once,
   so 2 threads is the ceiling it can reach: answers/s, p50 and p95.
3. The server as a separate process (`python -m uvicorn --factory assistant.serve.app:app_factory`)
   on a free loopback port, configured by `ASSISTANT_*` variables for the temporary index and
   records database, without API keys and with a rate limit it never reaches. Once `/healthz`
   answers, `--clients` concurrent httpx clients post to `/v1/chat` for `--seconds`, each
   cycling through the question set from its own offset, so concurrent requests differ, and
   each naming its own end user (`user`), as a mini-program's requests do:
   requests/s, p50, p95 and max latency, errors (non-200 or exceptions), and served req/s over
   the in-process answers/s on 2 threads. Before the load, the CPU the idle server uses (its
   background loops) over 5 s; during it, the cores the server and the load generator each
   used (Linux only). The server is terminated at the end.

4. Several replicas as one (`--replicas`, 2 by default; 0 skips it): PostgreSQL (Debian's
   package, in the temporary folder) and a Chroma server, a second index of the shipped corpus
   built through the Chroma server, and `--replicas` servers as in 3., sharing the database
   (records, sessions, rate-limit buckets), the Chroma server and the index folder. The same
   clients, spread over the replicas in turn, for the same time: requests/s, p95 and errors,
   beside the single process of 3. as a ratio, and the CPU of the replicas, of the Chroma
   server and of PostgreSQL. Each replica is pinned to its share of the cores (and embeds on
   that many threads), as replicas sharing one machine are deployed: each sized for all the
   cores, they only contend. The single process stays up, idle, and the two runs take turns
   in three slices each, so that other work on the machine weighs on both alike. On one
   machine the replicas add no CPU: what the ratio shows is what sharing the state costs
   (the target is 0 errors and at least 0.8x).

The load generator runs on the same CPUs as the server and takes part of them: the served
figures are a lower bound for a server with the machine to itself.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from bench import load_average  # evals/ is on the path when run as a script
from shared_parts import shared_parts

from assistant.config import PROJECT_DIR, load_settings
from assistant.evaluation import DEFAULT_QUESTIONS, load_questions
from assistant.models import Message
from assistant.serve.runtime import Services, limit_threads

# The Settings bound (`rate_limit_per_minute` le=100_000): a bucket this deep is never emptied
# by one load run, so every request reaches the handler.
RATE_LIMIT = 100_000
STARTUP_TIMEOUT_S = 180.0
IDLE_SETTLE_S, IDLE_SECONDS = 2.0, 5.0
SLICES = 3  # with replicas, each HTTP run is this many slices, the two runs taking turns  # the server's CPU use with no request, after start-up
REQUEST_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class Conversation:
    """One question of the set with the earlier user turns it follows."""

    question: str
    history: tuple[str, ...] = ()

    def messages(self) -> list[dict[str, str]]:
        """The `/v1/chat` request messages: earlier user turns, then the question."""
        return [{"role": "user", "content": text} for text in (*self.history, self.question)]


@dataclass
class Tally:
    """Latencies of the calls that succeeded, and how many failed."""

    seconds: list[float] = field(default_factory=list)
    errors: int = 0
    error_kinds: dict[str, int] = field(default_factory=dict)

    def fail(self, kind: str) -> None:
        """Count one failed request under its kind (an exception name or an HTTP status)."""
        self.errors += 1
        self.error_kinds[kind] = self.error_kinds.get(kind, 0) + 1


def latency_stats(seconds: Sequence[float]) -> dict[str, float]:
    """p50, p95 and max of a list of durations, in milliseconds."""
    ms = sorted(s * 1000 for s in seconds)
    if not ms:
        return {"p50_ms": float("nan"), "p95_ms": float("nan"), "max_ms": float("nan"), "n": 0}
    p95 = statistics.quantiles(ms, n=20, method="inclusive")[18] if len(ms) > 1 else ms[0]
    return {"p50_ms": statistics.median(ms), "p95_ms": p95, "max_ms": ms[-1], "n": len(ms)}


def process_cpu_seconds(pid: int) -> float | None:
    """User plus system CPU time of a process so far (Linux /proc), or None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(root: int) -> dict[int, float]:
    """CPU seconds so far of a process and its children, by pid (Linux /proc; empty elsewhere)."""
    found: dict[int, float] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text(encoding="ascii").rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        pid = int(stat.parent.name)
        if pid == root or int(fields[1]) == root:
            found[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return found


def tree_cores(root: int, started: dict[int, float], seconds: float) -> float | None:
    """Cores a process and its children used since `started` (a process born since counts
    from nothing; one gone since is not counted: a lower bound)."""
    now = tree_cpu_seconds(root)
    if not now:
        return None
    return sum(cpu - started.get(pid, 0.0) for pid, cpu in now.items()) / seconds


def cpu_share(pid: int, started: float | None, seconds: float) -> float | None:
    """CPU a process used since `started` (its CPU seconds then), in cores over `seconds`."""
    now = process_cpu_seconds(pid)
    return None if now is None or started is None else (now - started) / seconds


def free_port() -> int:
    """A TCP port on loopback nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- in process ------------------------------------------------------------------------------


def ask_throughput(
    services: Services, conversations: Sequence[Conversation], threads: int, seconds: float
) -> dict[str, Any]:
    """`assistant.ask` on `threads` threads for `seconds`, each thread from its own offset."""
    assistant = services.assistant
    deadline = time.perf_counter() + seconds
    offsets = [i * len(conversations) // threads for i in range(threads)]

    def work(offset: int) -> list[float]:
        durations: list[float] = []
        n = offset
        while time.perf_counter() < deadline:
            c = conversations[n % len(conversations)]
            started = time.perf_counter()
            assistant.ask(c.question, [Message("user", h) for h in c.history])
            durations.append(time.perf_counter() - started)
            n += 1
        return durations

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        runs = list(pool.map(work, offsets))
    elapsed = time.perf_counter() - started  # includes the calls still running at the deadline
    durations = [d for run in runs for d in run]
    return {
        "threads": threads,
        "seconds": elapsed,
        "answers": len(durations),
        "answers_per_s": len(durations) / elapsed,
        **latency_stats(durations),
    }


# -- over HTTP -------------------------------------------------------------------------------


def start_server(
    tmp: Path,
    port: int,
    shared: dict[str, str] | None = None,
    name: str = "server",
    cores: set[int] | None = None,
) -> tuple[subprocess.Popen[bytes], Path]:
    """uvicorn in its own process, serving the temporary index (or, with `shared`, the
    settings that replicas share), on `cores` only if given; its output goes to a file."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("ASSISTANT_")}
    env.update(
        {
            "ASSISTANT_CORPUS_DIR": str(PROJECT_DIR / "corpus"),
            "ASSISTANT_INDEX_DIR": str(tmp / "index"),
            "ASSISTANT_DATABASE_URL": f"sqlite:///{tmp / 'records.sqlite3'}",
            "ASSISTANT_RATE_LIMIT_PER_MINUTE": str(RATE_LIMIT),
            "ASSISTANT_USER_RATE_LIMIT_PER_MINUTE": str(RATE_LIMIT),
            **(shared or {}),
        }
    )
    log_path = tmp / f"{name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "assistant.serve.app:app_factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            cwd=PROJECT_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=None if cores is None else lambda: os.sched_setaffinity(0, cores),
        )
    return process, log_path


def wait_healthy(process: subprocess.Popen[bytes], base_url: str, log_path: Path) -> float:
    """Seconds until `/healthz` answered 200; fails with the server's output if it never does."""
    started = time.perf_counter()
    while time.perf_counter() - started < STARTUP_TIMEOUT_S:
        if process.poll() is not None:
            raise RuntimeError(
                f"the server exited with {process.returncode}:\n"
                + log_path.read_text(encoding="utf-8", errors="replace")[-3000:]
            )
        try:
            if httpx.get(f"{base_url}/healthz", timeout=2).status_code == 200:
                return time.perf_counter() - started
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    raise RuntimeError(f"the server did not answer /healthz within {STARTUP_TIMEOUT_S:.0f} s")


def stop_server(process: subprocess.Popen[bytes]) -> None:
    """Terminate the server (SIGTERM lets uvicorn shut down cleanly), then kill if it lingers."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


async def drive_slice(
    base_urls: Sequence[str],
    conversations: Sequence[Conversation],
    clients: int,
    seconds: float,
    tally: Tally,
    turn: int = 0,
) -> float:
    """`clients` concurrent clients posting to /v1/chat until `seconds` have passed, each
    client to one of `base_urls` in turn, as its own end user; the seconds it took (the last
    requests finish after the deadline). `turn` moves every client on in the question set,
    so that a later slice does not repeat an earlier one."""
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(limits=limits, timeout=REQUEST_TIMEOUT_S) as http:
        started = time.perf_counter()
        deadline = started + seconds

        async def one_client(number: int, offset: int) -> None:
            url = f"{base_urls[number % len(base_urls)]}/v1/chat"
            user = f"load-user-{number}"
            n = offset
            while time.perf_counter() < deadline:
                c = conversations[n % len(conversations)]
                n += 1
                sent = time.perf_counter()
                try:
                    response = await http.post(url, json={"messages": c.messages(), "user": user})
                except httpx.HTTPError as exc:
                    tally.fail(type(exc).__name__)
                    continue
                if response.status_code == 200:
                    tally.seconds.append(time.perf_counter() - sent)
                else:
                    tally.fail(f"HTTP {response.status_code}")

        step = len(conversations) // clients + 1
        offsets = [i * len(conversations) // clients + turn * step for i in range(clients)]
        await asyncio.gather(*(one_client(i, o) for i, o in enumerate(offsets)))
        return time.perf_counter() - started


def figures(tally: Tally, elapsed: float, clients: int, servers: int) -> dict[str, Any]:
    """Throughput, latency and errors of what a drive (or several) recorded."""
    served = len(tally.seconds)
    return {
        "clients": clients,
        "servers": servers,
        "seconds": elapsed,
        "served": served,
        "requests_per_s": served / elapsed if elapsed else float("nan"),
        "errors": tally.errors,
        "error_kinds": tally.error_kinds,
        **latency_stats(tally.seconds),
    }


async def drive(
    base_urls: Sequence[str], conversations: Sequence[Conversation], clients: int, seconds: float
) -> dict[str, Any]:
    """One drive of `seconds` (see drive_slice); its figures."""
    tally = Tally()
    elapsed = await drive_slice(base_urls, conversations, clients, seconds, tally)
    return figures(tally, elapsed, clients, len(base_urls))


@dataclass
class Target:
    """What one HTTP run drives (the single process, or the replicas), with what it has
    measured so far over its slices: latencies, seconds, CPU seconds of each process."""

    urls: list[str]
    processes: dict[str, list[int]]  # "server": pids; "chroma", "postgres": tree roots
    tally: Tally = field(default_factory=Tally)
    elapsed: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)
    load_generator: float = 0.0

    def cpu_now(self) -> dict[str, dict[int, float]]:
        """CPU seconds so far of every process measured, by part and pid."""
        now: dict[str, dict[int, float]] = {}
        for part, pids in self.processes.items():
            now[part] = {}
            for pid in pids:
                if part == "server":
                    seconds = process_cpu_seconds(pid)
                    if seconds is not None:
                        now[part][pid] = seconds
                else:
                    now[part].update(tree_cpu_seconds(pid))
        return now

    def slice(self, conversations: Sequence[Conversation], clients: int, seconds: float) -> None:
        """Drive it for `seconds` more, adding to what it measured."""
        before, own = self.cpu_now(), time.process_time()
        turn = len(self.tally.seconds) + self.tally.errors
        elapsed = asyncio.run(
            drive_slice(self.urls, conversations, clients, seconds, self.tally, turn)
        )
        after = self.cpu_now()
        self.elapsed += elapsed
        self.load_generator += time.process_time() - own
        for part, pids in after.items():
            used = sum(cpu - before[part].get(pid, 0.0) for pid, cpu in pids.items())
            self.cpu[part] = self.cpu.get(part, 0.0) + used

    def result(self, clients: int) -> dict[str, Any]:
        out = figures(self.tally, self.elapsed, clients, len(self.urls))
        if self.elapsed and self.cpu.get("server"):
            for part, seconds in self.cpu.items():
                out[f"{part}_cores"] = seconds / self.elapsed
            out["load_generator_cores"] = self.load_generator / self.elapsed
        return out


# -- the run ---------------------------------------------------------------------------------


def core_shares(count: int) -> list[set[int]]:
    """The machine's cores split evenly between `count` replicas, as replicas sharing one
    machine are deployed (each sized for all the cores, they would only contend); none when
    there are fewer cores than replicas or the system cannot pin a process."""
    if not hasattr(os, "sched_getaffinity"):
        return []
    cores = sorted(os.sched_getaffinity(0))
    each = len(cores) // count
    if each < 1:
        return []
    return [set(cores[n * each : (n + 1) * each]) for n in range(count)]


@contextmanager
def replica_set(tmp: Path, count: int) -> Iterator[tuple[Target, dict[str, float]]]:
    """`count` servers sharing PostgreSQL, a Chroma server and one index folder (built here,
    through the Chroma server), up and idle; what to drive, and the ingest and start-up times."""
    folder = tmp / "replicas"
    folder.mkdir()
    tmp.chmod(0o711)  # PostgreSQL's system user passes through to its own folder
    folder.chmod(0o711)
    with shared_parts(folder) as parts:
        settings = load_settings(
            corpus_dir=PROJECT_DIR / "corpus",
            index_dir=parts.index_dir,
            chroma_url=parts.chroma_url,
            database_url=parts.database_url,
            api_keys=None,
        )
        started = time.perf_counter()
        Services(settings).store.ingest()
        times = {"ingest_s": time.perf_counter() - started}
        shared = {
            "ASSISTANT_INDEX_DIR": str(parts.index_dir),
            "ASSISTANT_CHROMA_URL": parts.chroma_url,
            "ASSISTANT_DATABASE_URL": parts.database_url,
            "ASSISTANT_RECORDS_SECRET": "load-run-records-secret",
        }
        shares = core_shares(count)
        if shares:
            shared["ASSISTANT_EMBED_THREADS"] = str(len(shares[0]))
        ports = [free_port() for _ in range(count)]
        servers = [
            start_server(folder, port, shared, f"replica-{n}", shares[n - 1] if shares else None)
            for n, port in enumerate(ports, 1)
        ]
        times["cores_each"] = len(shares[0]) if shares else 0
        urls = [f"http://127.0.0.1:{port}" for port in ports]
        try:
            times["startup_s"] = max(
                wait_healthy(process, url, log)
                for (process, log), url in zip(servers, urls, strict=True)
            )
            pids = {
                "server": [process.pid for process, _ in servers],
                # What the single process does in itself (vector search, its SQLite) is
                # done here by two other servers, on the same CPUs.
                "chroma": [parts.chroma_pid],
                "postgres": [parts.postgres_pid],
            }
            yield Target(urls, pids), times
        finally:
            for process, _ in servers:
                stop_server(process)


def run(
    clients: int, seconds: float, ask_seconds: float, questions_path: Path, replicas: int = 2
) -> dict[str, Any]:
    """Every measurement, in order; the figures."""
    limit_threads()
    conversations = [Conversation(q.question, q.history) for q in load_questions(questions_path)]
    result: dict[str, Any] = {
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "load_average_start": load_average(),
        },
        "questions": len(conversations),
    }
    with tempfile.TemporaryDirectory(prefix="load-index-") as name:
        tmp = Path(name)
        settings = load_settings(
            corpus_dir=PROJECT_DIR / "corpus",
            index_dir=tmp / "index",
            database_url=f"sqlite:///{tmp / 'records.sqlite3'}",
            rate_limit_per_minute=RATE_LIMIT,
            api_keys=None,
        )
        services = Services(settings)
        started = time.perf_counter()
        ingest = services.store.ingest()
        result["ingest"] = {
            "seconds": time.perf_counter() - started,
            "documents": ingest.documents,
            "chunks": ingest.chunks,
        }

        for c in conversations[:20]:  # open the index, load the model, warm the caches
            services.assistant.ask(c.question, [Message("user", h) for h in c.history])
        result["in_process"] = [
            ask_throughput(services, conversations, threads, ask_seconds) for threads in (1, 2)
        ]
        del services

        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        process, log_path = start_server(tmp, port)
        with ExitStack() as stack:
            stack.callback(stop_server, process)
            result["server_startup_s"] = wait_healthy(process, base_url, log_path)
            time.sleep(IDLE_SETTLE_S)  # start-up work (warm-up, page build) done
            idle_from = process_cpu_seconds(process.pid)
            time.sleep(IDLE_SECONDS)
            result["server_idle_cores"] = cpu_share(process.pid, idle_from, IDLE_SECONDS)
            single = Target([base_url], {"server": [process.pid]})
            targets = [single]
            if replicas:
                several, times = stack.enter_context(replica_set(tmp, replicas))
                time.sleep(IDLE_SETTLE_S)
                targets.append(several)
            # In turns, so that other work on the machine weighs on both alike.
            slices = SLICES if replicas else 1
            for _ in range(slices):
                for target in targets:
                    target.slice(conversations, clients, seconds / slices)
            result["http"] = single.result(clients)
            if replicas:
                result["replicas"] = {**several.result(clients), **times}
    two = result["in_process"][1]["answers_per_s"]
    result["http"]["over_in_process_2_threads"] = (
        result["http"]["requests_per_s"] / two if two else float("nan")
    )
    if replicas:
        single, several = result["http"], result["replicas"]
        several["over_single_process"] = (
            several["requests_per_s"] / single["requests_per_s"]
            if single["requests_per_s"]
            else float("nan")
        )
        several["p95_over_single_process"] = several["p95_ms"] / single["p95_ms"]
    result["machine"]["load_average_end"] = load_average()
    return result


def format_table(r: dict[str, Any]) -> str:
    """The figures as a readable text report."""
    m, h = r["machine"], r["http"]
    lines = [
        f"policy-assistant load run — {m['cpus']} CPUs, Python {m['python']}; "
        f"{r['questions']} questions, extractive answers",
        f"the load generator shares the {m['cpus']} CPUs with the server, so served figures "
        "are a lower bound",
        "",
        f"temporary index of corpus/: {r['ingest']['documents']} documents, "
        f"{r['ingest']['chunks']} chunks in {r['ingest']['seconds']:.1f} s",
        "",
        "in process: services.assistant.ask (resolve, search, assess, answer)",
        f"  {'threads':<10} {'answers':>8} {'answers/s':>10} {'p50 ms':>9} {'p95 ms':>9}",
    ]
    lines += [
        f"  {p['threads']:<10} {p['answers']:>8} {p['answers_per_s']:>10.1f} "
        f"{p['p50_ms']:>9.1f} {p['p95_ms']:>9.1f}"
        for p in r["in_process"]
    ]
    kinds = ", ".join(f"{k}: {n}" for k, n in sorted(h["error_kinds"].items()))
    lines += [
        "",
        f"over HTTP: POST /v1/chat, uvicorn in its own process (up in "
        f"{r['server_startup_s']:.1f} s), {h['clients']} concurrent clients for "
        f"{h['seconds']:.1f} s",
        f"  served        {h['served']:>8}   {h['requests_per_s']:.1f} requests/s "
        f"({h['over_in_process_2_threads']:.2f}x in-process answers/s on 2 threads)",
        f"  latency       p50 {h['p50_ms']:.0f} ms   p95 {h['p95_ms']:.0f} ms   "
        f"max {h['max_ms']:.0f} ms",
        f"  errors        {h['errors']:>8}" + (f"   ({kinds})" if kinds else ""),
    ]
    if h.get("server_cores") is not None:
        lines += [
            f"  CPU           server {h['server_cores']:.2f} cores, load generator "
            f"{h['load_generator_cores']:.2f} cores; the idle server used "
            f"{r['server_idle_cores']:.3f} cores"
        ]
    if "replicas" in r:
        x = r["replicas"]
        kinds = ", ".join(f"{k}: {n}" for k, n in sorted(x["error_kinds"].items()))
        lines += [
            "",
            f"over HTTP, {x['servers']} replicas sharing PostgreSQL, a Chroma server and one "
            f"index (ingest through the Chroma server {x['ingest_s']:.1f} s, up in "
            f"{x['startup_s']:.1f} s), "
            + (f"{x['cores_each']} core(s) each, " if x.get("cores_each") else "")
            + f"the same {x['clients']} clients spread over them for {x['seconds']:.1f} s",
            f"  served        {x['served']:>8}   {x['requests_per_s']:.1f} requests/s "
            f"({x['over_single_process']:.2f}x the single process above; target 0.8x)",
            f"  latency       p50 {x['p50_ms']:.0f} ms   p95 {x['p95_ms']:.0f} ms "
            f"({x['p95_over_single_process']:.2f}x)   max {x['max_ms']:.0f} ms",
            f"  errors        {x['errors']:>8}" + (f"   ({kinds})" if kinds else ""),
        ]
        if x.get("server_cores") is not None:
            lines += [
                f"  CPU           replicas {x['server_cores']:.2f} cores together, Chroma "
                f"server {x.get('chroma_cores', 0):.2f}, PostgreSQL {x.get('postgres_cores', 0):.2f}, "
                f"load generator {x['load_generator_cores']:.2f} cores"
            ]
    start, cpus = m["load_average_start"], m["cpus"] or 1
    if start is not None and start > cpus:
        lines += [
            "",
            f"note: load average {start} at start on {cpus} CPUs: other work "
            "competed with this run; read the figures, p95 above all, with care.",
        ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--clients", type=int, default=50, help="concurrent HTTP clients")
    parser.add_argument("--seconds", type=float, default=30.0, help="duration of the HTTP load")
    parser.add_argument(
        "--ask-seconds",
        type=float,
        default=15.0,
        help="duration of each in-process measurement (1 and 2 threads)",
    )
    parser.add_argument(
        "--questions", type=Path, default=DEFAULT_QUESTIONS, help="question set (JSONL)"
    )
    parser.add_argument(
        "--replicas",
        type=int,
        default=2,
        help="replicas sharing PostgreSQL and a Chroma server for the second HTTP run (0: none)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    if args.clients < 1:
        parser.error("--clients must be at least 1")
    if args.seconds <= 0 or args.ask_seconds <= 0:
        parser.error("--seconds and --ask-seconds must be positive")
    if args.replicas < 0:
        parser.error("--replicas must be 0 or more")
    result = run(args.clients, args.seconds, args.ask_seconds, args.questions, args.replicas)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=1))
    else:
        print(format_table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
