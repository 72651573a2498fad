"""A local OpenAI-compatible chat server for tests: the double for a remote model.

It answers `POST /v1/chat/completions`, plain or streamed (`"stream": true` as server-sent
events), with replies a test scripts, and keeps every request body it received:

    stub.script("答复文字 [1]")                 every request gets this text
    stub.script("问题改写", "答复 [1]")          in order; the last one repeats
    stub.script(Reply(delay=2.0))               wait before answering, to provoke a timeout
    stub.script(Reply(status=500))              fail with HTTP 500
    stub.requests[-1]["messages"]               what the client sent
    stub.most_at_once                           the most requests it held at the same time
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Reply:
    """One scripted answer: its text, a wait before it, and its HTTP status."""

    text: str = ""
    delay: float = 0.0
    status: int = 200
    piece: int = 3  # characters per streamed chunk, so a short text still arrives in several


class OpenAIStub:
    """A chat-completions server on a free loopback port, in a background thread."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.at_once = 0
        self.most_at_once = 0
        self._script: list[Reply] = [Reply("（桩服务器的默认答复）[1]")]
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True  # a handler still waiting must not block close()
        # A short poll so close() returns at once rather than after serve_forever's 0.5 s.
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.02,), daemon=True
        )
        self._thread.start()
        host, port = self._server.server_address[:2]
        self.base_url = f"http://{host!s}:{port}/v1"

    def script(self, *replies: str | Reply) -> None:
        """Answer the next requests with these replies in order; the last one repeats."""
        if not replies:
            raise ValueError("script at least one reply")
        with self._lock:
            self._script = [r if isinstance(r, Reply) else Reply(r) for r in replies]

    def close(self) -> None:
        """Stop serving, waking any handler that is still waiting out a delay."""
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> OpenAIStub:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _next(self, body: dict[str, Any]) -> Reply:
        with self._lock:
            self.requests.append(body)
            return self._script.pop(0) if len(self._script) > 1 else self._script[0]


def _handler_for(stub: OpenAIStub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
            pass

        def do_POST(self) -> None:
            if self.path.rstrip("/") != "/v1/chat/completions":
                self._send_json(404, {"error": {"message": f"no route {self.path}"}})
                return
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            reply = stub._next(body)
            with stub._lock:
                stub.at_once += 1
                stub.most_at_once = max(stub.most_at_once, stub.at_once)
            try:
                closing = reply.delay and stub._closing.wait(reply.delay)
            finally:
                with stub._lock:
                    stub.at_once -= 1
            if closing:
                return
            try:
                if reply.status != 200:
                    self._send_json(
                        reply.status,
                        {"error": {"message": "scripted failure", "type": "server_error"}},
                    )
                elif body.get("stream"):
                    self._send_stream(reply, body.get("model", "stub"))
                else:
                    self._send_json(200, _completion(reply.text, body.get("model", "stub")))
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (its timeout); nothing left to tell it

        def _send_json(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _send_stream(self, reply: Reply, model: str) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.end_headers()  # HTTP/1.0: closing the connection ends the stream
            text = reply.text
            deltas: list[dict[str, Any]] = [{"role": "assistant", "content": ""}]
            deltas += [
                {"content": text[i : i + reply.piece]} for i in range(0, len(text), reply.piece)
            ]
            for delta in deltas:
                self._event(_chunk(model, delta, None))
            self._event(_chunk(model, {}, "stop"))
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()

        def _event(self, payload: dict[str, Any]) -> None:
            self.wfile.write(
                b"data: " + json.dumps(payload, ensure_ascii=False).encode("utf-8") + b"\n\n"
            )
            self.wfile.flush()

    return Handler


def _completion(text: str, model: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-stub",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}
        ],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
    }


def _chunk(model: str, delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-stub",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
