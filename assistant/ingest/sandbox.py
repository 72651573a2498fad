"""Loading files in a worker process, so that one hostile file costs bounded time and memory.

Parsers of PDF, Word and web pages can be driven by a crafted file to run for minutes or to
fill gigabytes. Loading therefore runs in a separate Python process: its address space is
capped (RLIMIT_AS), a file that is not loaded within its time is stopped by killing the
process, and a file that exhausts the memory fails alone. Either way the file gets a message
naming it and the limit, and the next file gets a fresh process.

The worker is started as `python -m assistant.ingest.sandbox`, not forked: the server runs threads,
and a forked copy of a threaded process can deadlock. It imports only the loaders (no
embedding model), so it starts in a fraction of a second, and one worker loads a whole batch:

    with Sandbox(limits) as sandbox:
        doc = sandbox.load(path, root, max_bytes)   # a Document, or raises a DocumentError

Requests and replies are JSON over a pair of pipes, so the server never unpickles what a
process that parsed an untrusted file sends back.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import asdict
from multiprocessing.connection import Connection
from pathlib import Path
from types import TracebackType
from typing import Any

from assistant import errors
from assistant.errors import CorruptFileError, DocumentError, IngestError, LoadLimitError
from assistant.ingest.loaders.common import MB, LoadLimits
from assistant.models import Document

log = logging.getLogger(__name__)

# The worker is replaced after this many files: memory that Python keeps after a large file
# counts against the cap of every file after it.
RECYCLE_AFTER = 50
_START_TIMEOUT_S = 30.0
_MAX_REPLY = 512 * MB  # a document's text as JSON; far beyond any real policy file
_PACKAGE_ROOT = Path(__file__).resolve().parents[2]


class Sandbox:
    """Loads files one at a time in a worker process under `limits`; thread-safe."""

    def __init__(self, limits: LoadLimits | None = None) -> None:
        self.limits = limits or LoadLimits()
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._requests: Connection | None = None
        self._replies: Connection | None = None
        self._served = 0

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def load(
        self,
        path: Path,
        root: Path | None = None,
        max_bytes: int | None = None,
        as_path: Path | None = None,
    ) -> Document:
        """`loading.load_document` in the worker: a Document, or the DocumentError it met."""
        name = str(as_path or path)
        request = json.dumps(
            {
                "path": str(path),
                "as_path": None if as_path is None else str(as_path),
                "root": None if root is None else str(root),
                "max_bytes": max_bytes,
                "limits": asdict(self.limits),
            }
        ).encode("utf-8")
        with self._lock:
            if self._served >= RECYCLE_AFTER:
                self._stop()
            requests, replies = self._worker()
            started = time.perf_counter()
            try:
                requests.send_bytes(request)
                ready = replies.poll(self.limits.seconds)
                raw = replies.recv_bytes(_MAX_REPLY) if ready else None
            except (EOFError, OSError):
                raw = b""  # the worker died: its exit status says why
            self._served += 1
            if raw is None:
                self._stop()
                log.warning(
                    "loading %s took over %g s; its worker was stopped", name, self.limits.seconds
                )
                raise _timed_out(name, self.limits)
            if not raw:
                status = self._stop()
                raise _died(name, status, self.limits)
            reply = json.loads(raw)
            if reply.get("exit"):
                self._stop()  # it ran out of memory: a fresh process serves the next file
            log.debug(
                "loaded %s in the worker in %.0f ms", name, (time.perf_counter() - started) * 1000
            )
        if "error" in reply:
            raise _error(reply["error"])
        return _document(reply["document"])

    def close(self) -> None:
        """Stop the worker, if one is running."""
        with self._lock:
            self._stop()

    # -- the worker process --------------------------------------------------------------

    def _worker(self) -> tuple[Connection, Connection]:
        if self._process is not None and self._process.poll() is None:
            assert self._requests is not None and self._replies is not None
            return self._requests, self._replies
        self._stop()
        to_worker, from_parent = os.pipe()
        from_worker, to_parent = os.pipe()
        env = dict(os.environ)
        # The worker imports this very package, wherever it was imported from here.
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(_PACKAGE_ROOT), env.get("PYTHONPATH", "")) if p
        )
        try:
            self._process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "assistant.ingest.sandbox",
                    str(to_worker),
                    str(to_parent),
                    str(self.limits.memory_mb),
                ],
                pass_fds=(to_worker, to_parent),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                env=env,
            )
        except OSError as exc:
            for fd in (to_worker, from_parent, from_worker, to_parent):
                os.close(fd)
            raise _cannot_start(str(exc)) from exc
        os.close(to_worker)
        os.close(to_parent)
        self._requests = Connection(from_parent, readable=False)
        self._replies = Connection(from_worker, writable=False)
        self._served = 0
        started = time.perf_counter()
        try:
            ready = self._replies.poll(_START_TIMEOUT_S) and self._replies.recv_bytes() == b"ready"
        except (EOFError, OSError):
            ready = False
        if not ready:
            status = self._stop()
            raise _cannot_start(f"exit status {status}")
        log.debug(
            "loader worker %d started in %.0f ms",
            self._process.pid,
            (time.perf_counter() - started) * 1000,
        )
        return self._requests, self._replies

    def _stop(self) -> int | None:
        """End the worker (killing it if it is busy); its exit status, if it had one."""
        process, self._process = self._process, None
        for connection in (self._requests, self._replies):
            if connection is not None:
                connection.close()
        self._requests = self._replies = None
        if process is None:
            return None
        if process.poll() is None:
            process.kill()
        return process.wait()


def _document(data: dict[str, Any]) -> Document:
    return Document(**{**data, "pages": tuple(data.get("pages", ()))})


def _error(data: dict[str, str]) -> DocumentError:
    """The worker's DocumentError, rebuilt as the same class."""
    kind = getattr(errors, data["type"], DocumentError)
    if not (isinstance(kind, type) and issubclass(kind, DocumentError)):
        kind = DocumentError
    return kind(data["path"], data["zh"], data["en"])


def _timed_out(name: str, limits: LoadLimits) -> LoadLimitError:
    return LoadLimitError(
        name,
        f"解析超时（超过 {limits.seconds:g} 秒）已停止；文件可能过大、过于复杂或是恶意构造的，"
        "请拆分或换一种格式后上传",
        f"loading took longer than {limits.seconds:g} s and was stopped; the file may be too "
        "large, too complex or crafted: split it or provide another format",
    )


def _out_of_memory(name: str, limits: LoadLimits) -> LoadLimitError:
    return LoadLimitError(
        name,
        f"解析所需内存超过上限（{limits.memory_mb} MB）；文件可能过大或是恶意构造的，"
        "请拆分或换一种格式后上传",
        f"loading needs more memory than the limit ({limits.memory_mb} MB); the file may be "
        "too large or crafted: split it or provide another format",
    )


def _died(name: str, status: int | None, limits: LoadLimits) -> DocumentError:
    """The error for a worker that ended while loading: what its exit status tells."""
    if status == -signal.SIGXCPU:
        return _timed_out(name, limits)
    if status in (-signal.SIGKILL, -signal.SIGSEGV, -signal.SIGABRT, -signal.SIGBUS):
        # Under the address-space cap, a parser written in C that fails to allocate crashes
        # rather than raising; the system's out-of-memory killer sends SIGKILL.
        return _out_of_memory(name, limits)
    return CorruptFileError(
        name,
        f"解析时处理进程意外退出（状态 {status}），文件可能已损坏",
        f"the loading process ended unexpectedly (status {status}); the file may be damaged",
    )


def _cannot_start(reason: str) -> IngestError:
    return IngestError(
        f"无法启动解析文件的进程（{reason}），未收录任何文件，原索引继续使用。",
        f"Cannot start the process that loads files ({reason}); nothing was ingested and the "
        "previous index still serves.",
    )


# -- inside the worker -------------------------------------------------------------------


def _cap_memory(memory_mb: int) -> None:
    import resource

    cap = memory_mb * MB
    try:
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    except (ValueError, OSError):  # a system that does not let a process lower it
        logging.getLogger(__name__).warning("cannot cap the loader's memory at %d MB", memory_mb)


def _cap_cpu(seconds: float) -> None:
    """A CPU-time limit a little past the file's time: should the server die while the
    worker parses, the worker still ends (SIGXCPU) instead of running on unwatched."""
    import resource

    used = resource.getrusage(resource.RUSAGE_SELF)
    spent = used.ru_utime + used.ru_stime
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    soft = int(spent + 2 * seconds) + 1
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def _at_cap(memory_mb: int) -> bool:
    """Whether this process's address space has come within a tenth of its cap."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            peak_kb = next(int(line.split()[1]) for line in status if line.startswith("VmPeak:"))
    except (OSError, StopIteration, ValueError, IndexError):
        import resource

        peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # a lower bound
    return peak_kb * 1024 >= 0.9 * memory_mb * MB


def _serve(requests: Connection, replies: Connection, memory_mb: int) -> None:
    """Answer load requests until the server closes the pipe."""
    _cap_memory(memory_mb)
    # Imported after the cap, so the parsers' own memory counts against it.
    from assistant.ingest.loading import load_document

    replies.send_bytes(b"ready")
    while True:
        try:
            request = json.loads(requests.recv_bytes())
        except EOFError:
            return
        limits = LoadLimits(**request["limits"])
        name = request["as_path"] or request["path"]
        _cap_cpu(limits.seconds)
        out_of_memory = False
        reply: dict[str, Any] = {}
        try:
            doc = load_document(
                Path(request["path"]),
                Path(request["root"]) if request["root"] else None,
                request["max_bytes"],
                limits,
                Path(request["as_path"]) if request["as_path"] else None,
            )
            reply = {"document": asdict(doc)}
            del doc
        except DocumentError as exc:
            # libxml2 reports a failed allocation as a syntax error ("unknown error"): a file
            # that failed while the process stood at its cap failed for want of memory.
            out_of_memory = isinstance(exc, CorruptFileError) and _at_cap(memory_mb)
            reply = {"error": _error_json(exc)}
        except MemoryError:
            # The reply is built after this block, once the traceback (and with it the
            # parser's half-built tree) has been let go.
            out_of_memory = True
        if out_of_memory:
            reply = {"error": _error_json(_out_of_memory(name, limits))}
        # Near its cap the heap may be in pieces: the worker says it leaves, and the next
        # file gets a fresh process.
        leaving = out_of_memory or _at_cap(memory_mb)
        try:
            raw = json.dumps({**reply, "exit": leaving}, ensure_ascii=False).encode("utf-8")
        except MemoryError:
            reply.clear()
            leaving = True
            raw = json.dumps(
                {"error": _error_json(_out_of_memory(name, limits)), "exit": True}
            ).encode("utf-8")
        replies.send_bytes(raw)
        if leaving:
            return


def _error_json(exc: DocumentError) -> dict[str, str]:
    return {
        "type": type(exc).__name__,
        "path": exc.path,
        "zh": exc.zh.removeprefix(f"{exc.path}："),
        "en": exc.en.removeprefix(f"{exc.path}: "),
    }


def main(argv: list[str]) -> None:
    """The worker's entry point: the two pipe ends it was given and its memory cap."""
    logging.basicConfig(
        level=logging.WARNING,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s loader %(name)s: %(message)s",
    )
    # A damaged PDF makes pdfminer warn once per object; the file's outcome says enough.
    logging.getLogger("pdfminer").setLevel(logging.ERROR)
    read_fd, write_fd, memory_mb = (int(a) for a in argv)
    _serve(Connection(read_fd, writable=False), Connection(write_fd, readable=False), memory_mb)


if __name__ == "__main__":
    main(sys.argv[1:])
