"""The server as an attacker meets it: a real uvicorn server on loopback, real sockets, the
page's framework routes reached over HTTP as a script would reach them. Each test names what
the server must keep doing while someone misuses it."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from assistant.config import Settings, load_settings
from assistant.serve.access import session_key
from assistant.serve.app import create_app
from assistant.serve.runtime import Runtime, Services

from .conftest import FICTIONAL, served

pytestmark = pytest.mark.slow

KEY_A = "tenant-a-key-000001"
KEY_B = "tenant-b-key-000002"
ADMIN = "security-admin-key-01"
SECRET_LINE = "机密测试行：本文件不应被任何人检索到 QX-7731"
PHONE, ID_NUMBER = "13812345678", "110101199003071234"


@dataclass
class Server:
    url: str
    app: FastAPI
    settings: Settings
    gradio_dir: Path

    @property
    def runtime(self) -> Runtime:
        return self.app.state.runtime  # type: ignore[no-any-return]

    def post(self, path: str, key: str | None = KEY_A, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.post(self.url + path, headers=headers, timeout=30, **kwargs)


def make(root: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "corpus_dir": root / "corpus",
        "index_dir": root / "index",
        "admin_key": ADMIN,
        "api_keys": f"a:{KEY_A},b:{KEY_B}",
        "rate_limit_per_minute": 10_000,
        "database_url": f"sqlite:///{root / 'records.sqlite3'}",
    }
    return load_settings(**{**values, **overrides})


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with a copy of the fictional corpus, ingested once for the module."""
    import shutil

    root = tmp_path_factory.mktemp("security")
    shutil.copytree(FICTIONAL, root / "corpus")
    Services(make(root)).store.ingest()
    return root


@pytest.fixture(scope="module")
def server(built: Path) -> Iterator[Server]:
    gradio_dir = built / "gradio-cache"
    gradio_dir.mkdir()
    previous = os.environ.get("GRADIO_TEMP_DIR")
    os.environ["GRADIO_TEMP_DIR"] = str(gradio_dir)
    try:
        settings = make(built, body_timeout_s=2.0)
        app = create_app(settings)
        with served(app) as url:
            yield Server(url, app, settings, gradio_dir)
    finally:
        if previous is None:
            os.environ.pop("GRADIO_TEMP_DIR", None)
        else:
            os.environ["GRADIO_TEMP_DIR"] = previous


def raw(url: str, request: bytes, read: int = 4096, wait: float = 10.0) -> bytes:
    """Send bytes on a fresh connection and read up to `read` bytes of the reply (what has
    come once the reply pauses for half a second), then hang up."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=wait) as sock:
        sock.sendall(request)
        received = b""
        try:
            while len(received) < read:
                part = sock.recv(read - len(received))
                if not part:
                    break
                received += part
                sock.settimeout(0.5)
        except TimeoutError:
            pass
        return received


def http_post(path: str, body: bytes, headers: dict[str, str]) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def free_slots(runtime: Runtime) -> int:
    return runtime.slots._value  # type: ignore[attr-defined, no-any-return]


# -- C1: streams whose reader hangs up -----------------------------------------------------


def test_a_dozen_hung_up_streams_leave_every_answer_slot_free(server: Server) -> None:
    full = free_slots(server.runtime)
    question = json.dumps(
        {"messages": [{"role": "user", "content": "孵化器有什么奖励？"}], "stream": True},
        ensure_ascii=False,
    ).encode()
    headers = {
        "Authorization": f"Bearer {KEY_A}",
        "Content-Type": "application/json",
        "Content-Length": str(len(question)),
    }
    for n in range(12):
        path = "/v1/chat/stream" if n % 2 else "/v1/chat/completions"
        reply = raw(server.url, http_post(path, question, headers), read=120)
        assert reply.startswith(b"HTTP/1.1 200"), reply[:200]
    answered = server.post(
        "/v1/chat",
        json={"messages": [{"role": "user", "content": "对首次认定的高新技术企业奖励多少？"}]},
    )
    assert answered.status_code == 200 and "88万元" in answered.json()["answer"]
    deadline = time.monotonic() + 30
    while free_slots(server.runtime) != full:
        assert time.monotonic() < deadline, "a hung-up stream still holds an answer slot"
        time.sleep(0.1)


def test_a_server_with_hung_up_streams_stops_within_its_graceful_timeout(built: Path) -> None:
    import uvicorn

    from .conftest import free_port

    app = create_app(make(built))
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=5
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    url = f"http://127.0.0.1:{port}"
    body = json.dumps({"messages": [{"role": "user", "content": "孵化器"}]}).encode()
    headers = {
        "Authorization": f"Bearer {KEY_A}",
        "Content-Type": "application/json",
        "Content-Length": str(len(body)),
    }
    for _ in range(4):
        raw(url, http_post("/v1/chat/stream", body, headers), read=120)
    server.should_exit = True
    thread.join(timeout=20)
    assert not thread.is_alive(), "the server did not stop"


# -- H1, H2, M3: the page's upload and its file inputs --------------------------------------


def cached_files(server: Server) -> list[Path]:
    return [p for p in server.gradio_dir.rglob("*") if p.is_file()]


def test_an_anonymous_page_upload_is_refused_before_anything_is_written(server: Server) -> None:
    before = cached_files(server)
    response = httpx.post(
        server.url + "/gradio_api/upload", files={"files": ("x.bin", b"\0" * 300_000)}, timeout=30
    )
    assert response.status_code == 401
    assert "zh" in response.json()["error"] and "en" in response.json()["error"]
    forged = httpx.post(
        server.url + "/gradio_api/upload",
        cookies={"pa_staff": "1.2.3"},
        files={"files": ("x.bin", b"\0" * 1000)},
        timeout=30,
    )
    assert forged.status_code == 401
    assert cached_files(server) == before


def test_only_the_staff_who_uploaded_a_page_file_can_fetch_it(server: Server) -> None:
    signed_in = server.post("/v1/admin/page-session", key=ADMIN)
    assert signed_in.status_code == 200 and "httponly" in signed_in.headers["set-cookie"].lower()
    stored = httpx.post(
        server.url + "/gradio_api/upload",
        cookies=signed_in.cookies,
        files={"files": ("staff.txt", "标题\n正文".encode())},
        timeout=30,
    )
    assert stored.status_code == 200, stored.text
    [path] = stored.json()
    link = server.url + "/gradio_api/file=" + path
    assert httpx.get(link, timeout=30).status_code == 401
    assert httpx.get(link, cookies=signed_in.cookies, timeout=30).status_code == 200


def test_a_declared_huge_upload_without_a_key_is_refused_before_its_body(server: Server) -> None:
    for path in ("/v1/admin/documents", "/gradio_api/upload"):
        headers = {
            "Content-Type": "multipart/form-data; boundary=x",
            "Content-Length": str(100 * 1024 * 1024),
        }
        started = time.monotonic()
        reply = raw(server.url, http_post(path, b"--x\r\n", headers), read=400, wait=5)
        assert reply.startswith(b"HTTP/1.1 401"), (path, reply[:200])
        assert time.monotonic() - started < 5  # answered without waiting for 100 MB
    staff = {
        "Authorization": f"Bearer {ADMIN}",
        "Content-Type": "multipart/form-data; boundary=x",
        "Content-Length": str(400 * 1024 * 1024),
    }
    reply = raw(server.url, http_post("/v1/admin/documents", b"--x\r\n", staff), read=400)
    assert reply.startswith(b"HTTP/1.1 413"), reply[:200]


def page_config(server: Server) -> dict[str, Any]:
    return httpx.get(server.url + "/config", timeout=30).json()  # type: ignore[no-any-return]


def staff_upload_fn(config: dict[str, Any]) -> int:
    """The page event whose inputs include the file picker: the staff upload."""
    files = {c["id"] for c in config["components"] if c.get("type") == "file"}
    for n, dependency in enumerate(config["dependencies"]):
        if files & set(dependency.get("inputs", [])):
            return int(dependency.get("id", n))
    raise AssertionError("no page event takes files")


def run_event(
    server: Server, fn_index: int, data: list[Any], cookies: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """Join the page's queue with an event and read its messages to the end."""
    session = uuid.uuid4().hex[:11]
    joined = httpx.post(
        server.url + "/gradio_api/queue/join",
        cookies=cookies,
        timeout=30,
        json={
            "data": data,
            "fn_index": fn_index,
            "session_hash": session,
            "event_data": None,
            "trigger_id": None,
        },
    )
    assert joined.status_code == 200, joined.text
    messages = []
    with httpx.stream(
        "GET",
        server.url + "/gradio_api/queue/data",
        cookies=cookies,
        params={"session_hash": session},
        timeout=60,
    ) as stream:
        for line in stream.iter_lines():
            if line.startswith("data:"):
                message = json.loads(line[5:])
                messages.append(message)
                if message.get("msg") in ("process_completed", "close_stream"):
                    break
    return messages


def test_a_file_input_naming_a_server_file_is_neither_copied_nor_ingested(
    server: Server, tmp_path: Path
) -> None:
    secret = tmp_path / "secret-policy.txt"
    secret.write_text(f"标题\n{SECRET_LINE}\n", encoding="utf-8")
    fn = staff_upload_fn(page_config(server))
    token = server.post("/v1/admin/page-session", key=ADMIN).cookies.get("pa_staff")
    assert token
    for target in (secret, Path("/etc/passwd")):
        for key, cookies in ((ADMIN, {"pa_staff": token}), ("", None)):
            file_data = {
                "path": str(target),
                "orig_name": target.name,
                "meta": {"_type": "gradio.FileData"},
            }
            run_event(server, fn, [key, [file_data]], cookies)
            # The same event without the queue: the page's route for events that skip it.
            skipped = httpx.post(
                server.url + "/gradio_api/run/predict",
                cookies=cookies,
                timeout=60,
                json={"data": [key, [file_data]], "fn_index": fn, "session_hash": "x" * 11},
            )
            assert skipped.status_code != 200 or "已收录" not in skipped.text
    copied = [
        p
        for p in cached_files(server)
        if p.name in ("passwd", secret.name) or SECRET_LINE in _text(p)
    ]
    assert copied == []
    corpus = server.settings.corpus_dir
    assert not [p for p in corpus.rglob("*") if p.is_file() and SECRET_LINE in _text(p)]
    time.sleep(1)  # an ingest, had one started, would be serving by now
    hits = server.post("/v1/search", json={"query": SECRET_LINE}).json()["results"]
    assert not any("QX-7731" in h["text"] for h in hits)


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="ignore")
    except OSError:
        return ""


def test_the_page_answers_only_its_own_routes(server: Server) -> None:
    assert httpx.get(server.url + "/", timeout=30).status_code == 200
    for path in (
        "/gradio_api/runs",
        "/monitoring",
        "/gradio_api/vibe-code",
        "/gradio_api/dev/reload",
        "/gradio_api/proxy=http://169.254.169.254/",
        "/gradio_api/openapi.json",
        "/gradio_api/run-history/buckets",
        "/gradio_api/mcp/schema",
    ):
        assert httpx.get(server.url + path, timeout=30).status_code == 404, path


# -- H3: personal data in the log ------------------------------------------------------------


def test_a_phone_or_id_number_in_a_question_appears_in_no_log_line(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    question = f"我手机{PHONE}，身份证{ID_NUMBER}，想问孵化器有什么奖励？"
    caplog.set_level(logging.DEBUG)
    for path in ("/v1/chat", "/v1/chat/stream", "/v1/chat/completions"):
        response = server.post(path, json={"messages": [{"role": "user", "content": question}]})
        assert response.status_code == 200
    server.post("/v1/chat", json={"messages": [{"role": "user", "content": question * 40}]})
    server.post("/v1/search", json={"query": question, "k": "many"})
    logged = caplog.text + "".join(str(r.exc_text or "") for r in caplog.records)
    assert logged  # the server did log these requests
    assert PHONE not in logged and ID_NUMBER not in logged


# -- H4: sessions ------------------------------------------------------------------------------


def test_another_key_naming_a_session_id_starts_a_fresh_conversation(server: Server) -> None:
    def ask(key: str, question: str, **extra: Any) -> dict[str, Any]:
        response = server.post(
            "/v1/chat",
            key=key,
            json={
                "messages": [{"role": "user", "content": question}],
                "session_id": "openid-123",
                **extra,
            },
        )
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    def kept(client: str, user: str | None = None) -> list[str]:
        history = server.runtime.sessions.history(session_key(client, user, "openid-123"))
        return [m.content for m in history if m.role == "user"]

    ask(KEY_A, "首次认定的高新技术企业奖励多少？")
    assert "30万元" in ask(KEY_A, "那重新认定的呢？")["answer"]  # A's conversation goes on
    ask(KEY_B, "孵化器有什么奖励？")
    assert kept("a") == ["首次认定的高新技术企业奖励多少？", "那重新认定的呢？"]
    assert kept("b") == ["孵化器有什么奖励？"]  # B started afresh, and A's is untouched
    ask(KEY_A, "众创空间有什么补助？", user="user-1")
    ask(KEY_A, "小巨人企业支持多少？", user="user-2")
    assert kept("a", "user-1") == ["众创空间有什么补助？"]
    assert kept("a", "user-2") == ["小巨人企业支持多少？"]


# -- M5: weak keys, guessing, the loopback rule ------------------------------------------------


def test_guessing_keys_is_throttled_per_address(built: Path) -> None:
    app = create_app(make(built, auth_failures_per_minute=5))
    with served(app) as url:
        codes = [
            httpx.post(
                url + "/v1/search",
                json={"query": "孵化器"},
                timeout=30,
                headers={"Authorization": f"Bearer wrong-key-{n:08d}"},
            ).status_code
            for n in range(8)
        ]
        assert codes[:5] == [401] * 5 and set(codes[5:]) == {429}
        right = httpx.post(
            url + "/v1/search",
            json={"query": "孵化器"},
            timeout=30,
            headers={"Authorization": f"Bearer {KEY_A}"},
        )
        assert right.status_code == 429 and "Retry-After" in right.headers


@pytest.mark.parametrize(
    "env",
    [
        {"ASSISTANT_ADMIN_KEY": "1"},
        {"ASSISTANT_API_KEYS": "app:short-key"},
        {"ASSISTANT_TRUSTED_PROXIES": "not-an-address"},
    ],
)
def test_unsafe_settings_are_refused_at_start_up_with_a_message(
    built: Path, env: dict[str, str]
) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "assistant.serve.app:app_factory",
            "--port",
            "0",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={
            **os.environ,
            "ASSISTANT_INDEX_DIR": str(built / "index"),
            "ASSISTANT_CORPUS_DIR": str(built / "corpus"),
            **env,
        },
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "错误" in result.stderr and "error:" in result.stderr


# -- L1: upload names --------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["policy\0.txt", "长" * 100 + ".txt", "a" * 300 + ".txt"])
def test_a_bad_upload_name_gets_a_clear_4xx_and_leaves_nothing_behind(
    server: Server, name: str
) -> None:
    staging = set(Path(tempfile.gettempdir()).glob("upload-*"))
    body = (
        b'--x\r\nContent-Disposition: form-data; name="files"; filename="'
        + name.encode()
        + b'"\r\nContent-Type: text/plain\r\n\r\n\xe6\xa0\x87\xe9\xa2\x98\r\n'
        + b"--x--\r\n"
    )
    headers = {
        "Authorization": f"Bearer {ADMIN}",
        "Content-Length": str(len(body)),
        "Content-Type": "multipart/form-data; boundary=x",
    }
    reply = raw(server.url, http_post("/v1/admin/documents", body, headers))
    assert reply.startswith(b"HTTP/1.1 400"), reply[:300]
    assert '"zh"' in reply.decode("utf-8", "replace")
    assert set(Path(tempfile.gettempdir()).glob("upload-*")) == staging


# -- L3: start-up with broken folders --------------------------------------------------------


def test_a_corrupt_records_database_stops_the_server_with_a_message(tmp_path: Path) -> None:
    records = tmp_path / "records.sqlite3"
    records.write_bytes(os.urandom(4096))
    result = subprocess.run(
        [sys.executable, "-m", "assistant.cli", "serve", "--port", "1"],
        capture_output=True,
        text=True,
        timeout=120,
        env={
            **os.environ,
            "ASSISTANT_INDEX_DIR": str(tmp_path / "index"),
            "ASSISTANT_DATABASE_URL": f"sqlite:///{records}",
        },
    )
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "记录数据库" in result.stderr and "records database" in result.stderr


def test_an_unwritable_index_folder_stops_the_server_with_a_message(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "assistant.cli", "serve", "--port", "1"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "ASSISTANT_INDEX_DIR": str(blocker / "index")},
    )
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "索引目录" in result.stderr and "index folder" in result.stderr


# -- L5: origins, forwarded addresses, stalled bodies ----------------------------------------


def test_the_page_and_the_api_grant_no_other_origin(server: Server) -> None:
    evil = {"Origin": "https://evil.example"}
    for method, path in (
        ("GET", "/"),
        ("GET", "/config"),
        ("POST", "/gradio_api/queue/join"),
        ("GET", "/healthz"),
    ):
        response = httpx.request(method, server.url + path, headers=evil, timeout=30, json={})
        assert "access-control-allow-origin" not in response.headers, path
        assert "access-control-allow-credentials" not in response.headers, path
    preflight = httpx.options(
        server.url + "/gradio_api/upload",
        timeout=30,
        headers={**evil, "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in preflight.headers


def test_forwarded_addresses_count_only_from_a_trusted_proxy(built: Path) -> None:
    spoofed = {"X-Forwarded-For": "203.0.113.9"}
    with served(create_app(make(built, api_keys=None))) as url:
        # No keys: loopback only. A client writing another address is still who it is.
        assert httpx.get(url + "/healthz", headers=spoofed, timeout=30).status_code == 200
    with served(create_app(make(built, api_keys=None, trusted_proxies="127.0.0.1"))) as url:
        # From a trusted proxy, the forwarded address is the client: not loopback, refused.
        assert httpx.get(url + "/healthz", headers=spoofed, timeout=30).status_code == 403
        assert httpx.get(url + "/healthz", timeout=30).status_code == 200


def test_a_stalled_request_body_is_cut_off(server: Server) -> None:
    headers = {
        "Authorization": f"Bearer {KEY_A}",
        "Content-Type": "application/json",
        "Content-Length": "1000",
    }
    started = time.monotonic()
    reply = raw(server.url, http_post("/v1/search", b'{"query": "', headers), wait=20)
    assert reply.startswith(b"HTTP/1.1 408"), reply[:200]
    assert time.monotonic() - started < 15
    assert server.post("/v1/search", json={"query": "孵化器"}).status_code == 200
