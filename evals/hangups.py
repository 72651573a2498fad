"""Hung-up streams: how long a chat answer takes before and after clients abandon streams.

Run it from the project folder (after `make setup`):

    .venv/bin/python evals/hangups.py                 # 12 abandoned streams, 20 answers each side
    .venv/bin/python evals/hangups.py --streams 30 --answers 40

What it does, on loopback only (figures only, nothing is asserted):

1. Builds a temporary index of the shipped corpus (`corpus/`); the project's own `index/` is
   never touched.
2. Starts the server as `policy-assistant serve` runs it (uvicorn, no proxy headers) on a free
   port, with one API key.
3. Baseline: `--answers` plain `POST /v1/chat` requests one after another: median and p95.
4. Abuse: `--streams` connections each send a valid `POST /v1/chat/stream` (or a streamed
   `/v1/chat/completions`), read the first 120 bytes and hang up.
5. After: the same `--answers` requests again, the first timed on its own: median, p95, the
   ratio of the medians to the baseline, and the answer slots free once the server is quiet.
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import tempfile
import threading
import time
from pathlib import Path

import httpx
import uvicorn

from assistant.config import PROJECT_DIR, load_settings
from assistant.serve.app import create_app
from assistant.serve.runtime import Services, limit_threads

KEY = "hangups-bench-key-0001"
QUESTIONS = (
    "高企的企业所得税税率是多少？",
    "微贷通最高能贷多少？",
    "去年全区有效高企有多少家？",
    "科技型中小企业研发费用加计扣除比例是多少？",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def timed_answers(url: str, n: int) -> list[float]:
    """Seconds per plain chat answer, one after another."""
    out = []
    with httpx.Client(timeout=120, headers={"Authorization": f"Bearer {KEY}"}) as client:
        for i in range(n):
            started = time.perf_counter()
            response = client.post(
                url + "/v1/chat",
                json={"messages": [{"role": "user", "content": QUESTIONS[i % len(QUESTIONS)]}]},
            )
            response.raise_for_status()
            out.append(time.perf_counter() - started)
    return out


def hang_up(port: int, path: str) -> None:
    """Send a streamed question, read the first bytes of the reply, and close the socket."""
    body = json.dumps(
        {"messages": [{"role": "user", "content": QUESTIONS[0]}], "stream": True},
        ensure_ascii=False,
    ).encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {KEY}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(head.encode() + body)
        sock.recv(120)


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--streams", type=int, default=12)
    parser.add_argument("--answers", type=int, default=20)
    args = parser.parse_args()
    limit_threads()
    root = Path(tempfile.mkdtemp(prefix="hangups-"))
    settings = load_settings(
        corpus_dir=PROJECT_DIR / "corpus",
        index_dir=root / "index",
        api_keys=f"bench:{KEY}",
        rate_limit_per_minute=100_000,
        database_url=f"sqlite:///{root / 'records.sqlite3'}",
    )
    Services(settings).store.ingest()
    app = create_app(settings)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            proxy_headers=False,
            timeout_graceful_shutdown=10,
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    url = f"http://127.0.0.1:{port}"
    try:
        before = timed_answers(url, args.answers)
        for n in range(args.streams):
            hang_up(port, "/v1/chat/stream" if n % 2 else "/v1/chat/completions")
        after = timed_answers(url, args.answers)
        time.sleep(2)
        runtime = app.state.runtime
        free = runtime.slots._value  # a figure, read once the server is quiet
    finally:
        server.should_exit = True
        thread.join(timeout=20)
    ms = 1000
    print(
        f"answers before: median {statistics.median(before) * ms:.0f} ms, "
        f"p95 {p95(before) * ms:.0f} ms (n={len(before)})"
    )
    print(f"{args.streams} streams hung up after 120 bytes")
    print(f"first answer after: {after[0] * ms:.0f} ms")
    print(
        f"answers after: median {statistics.median(after) * ms:.0f} ms, "
        f"p95 {p95(after) * ms:.0f} ms, median ratio to before "
        f"{statistics.median(after) / statistics.median(before):.2f}x"
    )
    print(f"answer slots free when quiet: {free}")


if __name__ == "__main__":
    main()
