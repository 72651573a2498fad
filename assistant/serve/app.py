"""The HTTP API: search, chat (plain and streamed), OpenAI-compatible completions, feedback.

Services are built once when the app starts (lifespan) and shared by every request. Every
error is a JSON body `{"error": {"code", "zh", "en"}}` with a 4xx/5xx status — never a stack
trace. Streams are server-sent events, one JSON object per `data:` line, so a WeChat
mini-program reading with `wx.request({enableChunked: true})` can split on blank lines.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import secrets
import shutil
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, File, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Scope

from assistant.answer.pipeline import Event
from assistant.config import Settings, get_settings
from assistant.eligibility.profile import ProfileInput
from assistant.errors import AssistantError, ConfigError, IndexNotBuiltError, UnavailableError
from assistant.ingest.library import recover
from assistant.ingest.loading import skipped_name
from assistant.models import Answer, Citation, Message
from assistant.search.index import ServedIndex
from assistant.serve.access import (
    STAFF_COOKIE,
    FailedAuth,
    Keys,
    RateLimiter,
    Sessions,
    StaffTokens,
    bounded,
    load_keys,
    session_key,
    staff_token,
)
from assistant.serve.jobs import Jobs
from assistant.serve.logs import protect as protect_logs
from assistant.serve.middleware import (
    Admission,
    BodyLimit,
    ClientAddress,
    client_host,
    error_body,
    error_response,
    is_loopback,
    parse_networks,
)
from assistant.serve.runtime import Services, limit_threads
from assistant.text.redaction import pseudonym

log = logging.getLogger(__name__)

MODEL_NAME = "policy-assistant"
_END = object()  # the end of a streamed answer's events


class ApiError(Exception):
    """An error answered as JSON with a status, a code, and a message in Chinese and English."""

    def __init__(
        self, status: int, code: str, zh: str, en: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(en)
        self.status, self.code, self.zh, self.en = status, code, zh, en
        self.headers = headers or {}


# -- requests --------------------------------------------------------------------------------


class ChatMessage(BaseModel):
    role: Literal["system", "user", "assistant"]
    content: str = Field(max_length=20_000)


class ChatRequest(BaseModel):
    """A conversation; its last user message is the question."""

    model_config = ConfigDict(extra="ignore")
    messages: list[ChatMessage] = Field(min_length=1, max_length=401)
    session_id: str | None = Field(None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    # The end user behind an app key (a mini-program sends the user's openid): a session
    # belongs to the key and this user, so another user or key naming it starts afresh.
    user: str | None = Field(None, min_length=1, max_length=128)


class CompletionRequest(ChatRequest):
    """The OpenAI chat-completions request; sampling options are accepted and ignored."""

    model: str = Field(MODEL_NAME, max_length=200)
    stream: bool = False


class SearchRequest(BaseModel):
    query: str = Field(min_length=1, max_length=2_000)
    k: int = Field(5, ge=1, le=20)


class EligibilityRequest(BaseModel):
    """An enterprise's profile; facts left out are unknown (and asked for)."""

    profile: ProfileInput


class FeedbackRequest(BaseModel):
    message_id: str = Field(min_length=1, max_length=64)
    rating: Literal["up", "down"]
    comment: str | None = Field(None, max_length=2_000)


# -- the app ---------------------------------------------------------------------------------


@dataclass
class Runtime:
    """Everything the requests share, built once at start-up."""

    settings: Settings
    services: Services
    keys: Keys
    limiter: RateLimiter
    sessions: Sessions
    records: Any  # assistant.serve.records.RecordStore
    # Every answer takes one of these slots: extractive answers are CPU-bound, and more of
    # them at once than there are cores only makes each slower and the waiting unfair
    # (`llm_concurrency` with a model, whose answers mostly wait). Requests that arrive as
    # async handlers first wait in `queue` on the event loop, in order of arrival, rather
    # than each holding a worker thread blocked on a slot. Measured with 50 clients on two
    # cores: the slowest answer 2.4 s -> 1.1-1.3 s, served answers/s +8-15%.
    slots: threading.BoundedSemaphore = field(init=False)
    queue: asyncio.Semaphore = field(init=False)
    failures: FailedAuth = field(default_factory=FailedAuth)
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    jobs: Jobs = field(default_factory=Jobs)
    _producers: set[asyncio.Future[None]] = field(default_factory=set)
    _checked: float = 0.0
    _swapping: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        at_once = (
            self.settings.llm_concurrency
            if self.settings.answerer == "llm"
            else os.cpu_count() or 2
        )
        self.slots = threading.BoundedSemaphore(at_once)
        self.queue = asyncio.Semaphore(at_once)

    async def answer(self, turn: Turn, who: str) -> tuple[Answer, str]:
        """The answer to a turn, in its turn, and the message id it was recorded under."""
        started = time.perf_counter()
        async with self.queue:
            answer = await run_in_threadpool(self._ask, turn)
        return answer, await run_in_threadpool(finish, self, turn, answer, who, started)

    def _ask(self, turn: Turn) -> Answer:
        with self.slots:
            return self.services.assistant.ask(turn.question, turn.history)

    async def stream(self, turn: Turn, who: str) -> AsyncIterator[tuple[Event, str | None]]:
        """A streamed answer's events, each with the message id it was recorded under (set on
        the result event only).

        The answer is written by a producer task that holds an answer slot only while it
        works, and runs to its end (or stops early once the reader has gone) whatever the
        reader does. The slot is never held while waiting on a client: a reader that hangs
        up, stalls, or whose generator is never closed cannot keep it.
        """
        loop = asyncio.get_running_loop()
        channel: asyncio.Queue[Any] = asyncio.Queue()
        gone = threading.Event()
        assistant = self.services.assistant  # fails here, before the stream, with no index
        started = time.perf_counter()

        def put(item: Any) -> None:
            try:
                loop.call_soon_threadsafe(channel.put_nowait, item)
            except RuntimeError:  # the loop has closed: the server is shutting down
                gone.set()

        def produce() -> None:
            try:
                if gone.is_set():
                    return
                with self.slots:
                    for event in assistant.stream(turn.question, turn.history):
                        message_id = None
                        if event.answer is not None:  # recorded even if the reader has left
                            message_id = finish(self, turn, event.answer, who, started)
                        put((event, message_id))
                        if gone.is_set():
                            return
            except Exception as exc:
                put(exc)
            finally:
                put(_END)

        async def run() -> None:
            async with self.queue:
                await run_in_threadpool(produce)

        producer = asyncio.ensure_future(run())
        self._producers.add(producer)  # a reference, so the task is not collected mid-way
        producer.add_done_callback(self._producers.discard)
        try:
            while (item := await channel.get()) is not _END:
                if isinstance(item, Exception):
                    raise item
                yield item
        finally:
            gone.set()

    def pseudonym(self, value: str | None) -> str | None:
        """What records keep instead of a session or user id: a keyed hash, so staff can group
        a conversation's questions without holding the id (a phone number, an openid)."""
        return pseudonym(value, self.secret) if value else None

    def swap(self) -> None:
        """Open the version now serving beside the current one, then answer from it."""
        with self._swapping:
            fresh = self.services.successor()
            try:
                _ = fresh.assistant  # the index, its keyword index and rules, opened now
            except AssistantError as exc:
                log.error(
                    "the new index did not open; still serving %s: %s",
                    self.services.served_version(),
                    exc.en,
                )
                return
            previous, self.services = self.services.served_version(), fresh
            log.info("now serving index %s (was %s)", fresh.served_version(), previous)

    def served_index(self) -> ServedIndex | None:
        """The index being served, or None before the first ingest."""
        try:
            return self.services.index
        except AssistantError:
            return None

    def watch(self, every: float = 2.0) -> None:
        """Notice an ingest by another process (another worker, the CLI) and switch to it.

        At most every `every` seconds one request reads CURRENT; if it moved, the switch
        happens on a background thread while this and other requests use the old index.
        """
        now = time.monotonic()
        if now - self._checked < every:
            return
        self._checked = now
        try:
            current = self.services.store.current_version()
        except (AssistantError, OSError):
            return
        served = self.services.served_version()
        if current and served and current != served and not self._swapping.locked():
            threading.Thread(target=self.swap, name="swap", daemon=True).start()


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    runtime.watch()
    return runtime


def create_app(settings: Settings | None = None) -> FastAPI:
    """The application; its services are built when it starts serving.

    Raises ConfigError at once for settings that must not serve (a short key, a bad proxy
    address), before anything listens.
    """
    from assistant.serve.records import RecordStore

    settings = settings or get_settings()
    protect_logs()
    keys = load_keys(settings.api_keys, settings.api_keys_file, settings.admin_key)
    trusted = parse_networks(settings.trusted_proxies)
    failures = FailedAuth(settings.auth_failures_per_minute)
    secret = records_secret(settings)  # the index folder must be writable
    records = RecordStore(settings.records_url)  # a corrupt database stops us here, clearly

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        limit_threads()
        services = Services(settings)
        started = time.perf_counter()
        try:
            services.assistant.ask("高新技术企业")  # load the model, open the index, warm up
        except IndexNotBuiltError:
            log.warning("no index yet: run `policy-assistant ingest`; answering 503 until then")
        except AssistantError as exc:
            log.error("the index did not open (%s); answering 503 until it does", exc.en)
        try:  # an upload interrupted by a crash is finished or set aside now
            for outcome in await run_in_threadpool(recover, settings, services.store):
                log.warning("interrupted upload %s: %s", outcome.name, outcome.en)
        except (AssistantError, OSError) as exc:
            log.error("interrupted uploads were not settled: %s", exc)
        app.state.runtime = Runtime(
            settings,
            services,
            keys,
            RateLimiter(settings.rate_limit_per_minute),
            Sessions(settings.session_turns, settings.session_ttl_minutes * 60),
            records,
            failures=failures,
            secret=secret,
        )
        log.info("ready in %.1f s", time.perf_counter() - started)
        yield
        app.state.runtime.jobs.shutdown()

    app = FastAPI(
        title="policy-assistant",
        version="0.1.0",
        lifespan=lifespan,
        description="Cited answers from Chinese policy documents. Errors are "
        '`{"error": {"code", "zh", "en"}}`.',
    )
    app.state.keys = keys
    app.state.failures = failures
    app.state.staff_tokens = StaffTokens(keys.admin)
    _install_error_handlers(app)
    _install_routes(app)
    from assistant.serve.page import PAGE_UPLOAD_PATH, STAFF_PAGE_ROUTES, mount_web

    mount_web(app, settings)  # the web page at "/", beside the API's routes
    # Added innermost first. A CORS middleware is always present, even with no origin
    # allowed: the page's framework then leaves CORS to it instead of answering any origin.
    origins = [o.strip() for o in settings.cors_origins.split(",") if o.strip()]
    app.add_middleware(
        CORSMiddleware,
        allow_origins=origins,
        allow_methods=["GET", "POST"],
        allow_headers=["Authorization", "Content-Type"],
    )
    upload_limit = int(settings.max_upload_mb * 1024 * 1024)
    app.add_middleware(
        BodyLimit,
        limit=settings.max_body_kb * 1024,
        limits={UPLOAD_PATH: upload_limit, PAGE_UPLOAD_PATH: upload_limit},
        timeout=settings.body_timeout_s,
    )
    app.add_middleware(Admission, check=_admission(app, STAFF_PAGE_ROUTES))
    app.add_middleware(ClientAddress, trusted=trusted)
    return app


def app_factory() -> FastAPI:
    """For `uvicorn --factory assistant.serve.app:app_factory` and `policy-assistant serve`."""
    try:
        return create_app()
    except AssistantError as exc:  # a clear message, not a traceback, from bare uvicorn too
        print(f"错误：{exc.zh}\nerror: {exc.en}", file=sys.stderr)
        raise SystemExit(2) from None


UPLOAD_PATH = "/v1/admin/documents"
UPLOAD_FILES = 20  # files per upload request


def records_secret(settings: Settings) -> bytes:
    """The key of the hashes records keep instead of session and user ids: the setting, else
    one made once and kept beside the index (readable by its owner only)."""
    if settings.records_secret:
        return settings.records_secret.encode()
    path = settings.index_dir / ".records-secret"
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise ConfigError(
            f"索引目录 {path.parent} 不可用：无法读取 {path.name}（{exc.strerror}）。",
            f"The index folder {str(path.parent)!r} is not usable: cannot read "
            f"{path.name} ({exc.strerror}).",
        ) from None
    secret = secrets.token_hex(32).encode()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(secret)
    except FileExistsError:  # another worker made it first
        return path.read_bytes()
    except OSError as exc:
        raise ConfigError(
            f"索引目录 {path.parent} 不可写（{exc.strerror}）。",
            f"The index folder {str(path.parent)!r} is not writable: {exc.strerror}.",
        ) from None
    return secret


def _admission(
    app: FastAPI, staff_page: tuple[str, ...]
) -> Callable[[Scope], Awaitable[Response | None]]:
    """The checks made before a request's body is read: the loopback rule, and the keys of
    the upload routes (the API's admin key; the page's staff cookie for its staff routes)."""
    keys: Keys = app.state.keys
    failures: FailedAuth = app.state.failures
    tokens: StaffTokens = app.state.staff_tokens

    async def check(scope: Scope) -> Response | None:
        host = client_host(scope)
        if not keys.required and not is_loopback(host):
            return error_response(
                403,
                "loopback_only",
                "本服务未配置 API 密钥，只接受本机访问。",
                "This server has no API keys configured and serves loopback clients only.",
            )
        path = scope["path"]
        api_upload = scope["method"] == "POST" and path == UPLOAD_PATH
        if not api_upload and not any(
            path == p or (p.endswith("=") and path.startswith(p)) for p in staff_page
        ):
            return None
        wait = failures.blocked(host)
        if wait > 0:
            refused = _too_many_failures(wait)
            return error_response(
                refused.status, refused.code, refused.zh, refused.en, refused.headers
            )
        headers = Headers(scope=scope)
        if api_upload:
            if keys.admin is None:
                return error_response(403, "admin_disabled", *ADMIN_DISABLED)
            scheme, _, token = headers.get("authorization", "").partition(" ")
            allowed = scheme.lower() == "bearer" and keys.is_admin(token.strip() or None)
        else:
            allowed = tokens.valid(staff_token(headers.get("cookie", "")))
        if allowed:
            return None
        failures.failed(host)
        return error_response(
            401,
            "unauthorized",
            "上传文件需要工作人员身份（管理员密钥）。",
            "Uploading needs a staff sign-in (the admin key).",
            {"WWW-Authenticate": "Bearer"},
        )

    return check


ADMIN_DISABLED = (
    "未配置管理员密钥（ASSISTANT_ADMIN_KEY）。",
    "No admin key is configured (ASSISTANT_ADMIN_KEY).",
)


def _too_many_failures(wait: float) -> ApiError:
    seconds = max(1, math.ceil(wait))
    return ApiError(
        429,
        "too_many_failures",
        f"密钥错误次数过多，请 {seconds} 秒后再试。",
        f"Too many wrong keys; retry in {seconds} s.",
        {"Retry-After": str(seconds)},
    )


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(
            error_body(exc.code, exc.zh, exc.en), status_code=exc.status, headers=exc.headers
        )

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()) if p != 'body') or 'body'}: {e.get('msg')}"
            for e in exc.errors()[:5]
        )
        return JSONResponse(
            error_body(
                "invalid_request",
                f"请求格式不正确：{problems}",
                f"The request is malformed: {problems}",
            ),
            status_code=422,
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        zh = {404: "没有这个地址。", 405: "此地址不支持该请求方法。"}.get(
            exc.status_code, "请求无法处理。"
        )
        return JSONResponse(
            error_body(f"http_{exc.status_code}", zh, str(exc.detail)), status_code=exc.status_code
        )

    @app.exception_handler(AssistantError)
    async def assistant_error(_: Request, exc: AssistantError) -> JSONResponse:
        status = 503 if isinstance(exc, UnavailableError) else 400
        return JSONResponse(error_body(exc.code, exc.zh, exc.en), status_code=status)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error")
        return JSONResponse(
            error_body(
                "internal", "服务内部错误，请稍后再试。", "Internal error; please try again later."
            ),
            status_code=500,
        )


# -- access ----------------------------------------------------------------------------------


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


# The two checks are async only so that they run on the event loop: they never wait, and a
# plain function would be sent to a worker thread and back on every request.
async def client(request: Request) -> str:
    """The caller's key name (or "anonymous" when the server has no keys), rate-limited."""
    runtime = _runtime(request)
    name = "anonymous"
    if runtime.keys.required:
        host = client_host(request.scope)
        if (wait := runtime.failures.blocked(host)) > 0:
            raise _too_many_failures(wait)
        found = runtime.keys.client(_bearer(request))
        if found is None:
            runtime.failures.failed(host)
            raise ApiError(
                401,
                "unauthorized",
                "缺少或无效的 API 密钥（Authorization: Bearer …）。",
                "Missing or invalid API key (Authorization: Bearer …).",
                {"WWW-Authenticate": "Bearer"},
            )
        name = found
    wait = runtime.limiter.take(name)
    if wait > 0:
        seconds = max(1, math.ceil(wait))
        raise ApiError(
            429,
            "rate_limited",
            f"请求过于频繁，请 {seconds} 秒后再试。",
            f"Too many requests; retry in {seconds} s.",
            {"Retry-After": str(seconds)},
        )
    return name


async def admin(request: Request) -> None:
    runtime = _runtime(request)
    if runtime.keys.admin is None:
        raise ApiError(403, "admin_disabled", *ADMIN_DISABLED)
    host = client_host(request.scope)
    if (wait := runtime.failures.blocked(host)) > 0:
        raise _too_many_failures(wait)
    if not runtime.keys.is_admin(_bearer(request)):
        runtime.failures.failed(host)
        raise ApiError(
            401,
            "unauthorized",
            "需要管理员密钥。",
            "The admin key is required.",
            {"WWW-Authenticate": "Bearer"},
        )


Client = Annotated[str, Depends(client)]


# -- conversations ---------------------------------------------------------------------------


@dataclass
class Turn:
    """A question to answer, its history, and whose conversation it continues."""

    question: str
    history: list[Message]
    session_id: str | None  # as the client named it, echoed back
    owner: str | None = None  # the server-kept session it belongs to (see session_key)


def read_turn(runtime: Runtime, request: ChatRequest, who: str) -> Turn:
    """The question, its history (sent, or kept by the server), within the configured limits."""
    s = runtime.settings
    messages = [Message(m.role, m.content) for m in request.messages if m.role != "system"]
    last = max((i for i, m in enumerate(messages) if m.role == "user"), default=None)
    if last is None or not messages[last].content.strip():
        raise ApiError(
            422,
            "no_question",
            "请求中没有用户提问（messages 里最后一条 user 消息）。",
            "The request holds no question (a last message with role 'user').",
        )
    question = messages[last].content.strip()
    if len(question) > s.max_question_chars:
        raise ApiError(
            422,
            "question_too_long",
            f"问题过长（上限 {s.max_question_chars} 字）。",
            f"The question is too long (limit {s.max_question_chars} characters).",
        )
    history = messages[:last]
    if sum(m.role == "user" for m in history) > s.max_history_turns:
        raise ApiError(
            422,
            "history_too_long",
            f"对话历史过长（上限 {s.max_history_turns} 轮）。",
            f"The history is too long (limit {s.max_history_turns} turns).",
        )
    owner = session_key(who, request.user, request.session_id) if request.session_id else None
    if owner and not history:
        history = runtime.sessions.history(owner)
    return Turn(question, bounded(history, s.history_turns), request.session_id, owner)


def finish(runtime: Runtime, turn: Turn, answer: Answer, who: str, started: float) -> str:
    """Keep the session, write the record; the new message id."""
    message_id = uuid.uuid4().hex
    if turn.owner:
        runtime.sessions.add(turn.owner, turn.question, answer.answer)
    latency = (time.perf_counter() - started) * 1000
    try:
        runtime.records.add_exchange(
            message_id,
            turn.question,
            answer,
            who,
            runtime.pseudonym(turn.owner or turn.session_id),
            latency,
        )
    except AssistantError as exc:  # a record lost must not lose the answer
        log.error("could not record exchange %s: %s", message_id, exc.en)
    return message_id


MAX_NAME_BYTES = 200  # a file name, in UTF-8; file systems stop at 255


def upload_name(filename: str | None) -> str:
    """An uploaded file's name as it will be kept, or ApiError (400) saying what is wrong."""
    name = Path((filename or "").replace("\\", "/")).name
    if not name:
        raise ApiError(
            400, "bad_upload", "上传的文件缺少文件名。", "An uploaded file has no file name."
        )
    if (skipped := skipped_name(name)) is not None:
        zh, en = skipped
        raise ApiError(
            400,
            "bad_upload",
            f"{name}：{zh}，请改名后上传。",
            f"{name!r}: {en}; rename it and upload it again.",
        )
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        raise ApiError(
            400,
            "bad_upload",
            "文件名中含有控制字符，请改名后再上传。",
            "A file name holds control characters; rename the file and upload it again.",
        )
    if len(name.encode("utf-8")) > MAX_NAME_BYTES:
        raise ApiError(
            400,
            "bad_upload",
            f"文件名过长（上限 {MAX_NAME_BYTES} 字节），请改名后再上传。",
            f"A file name is too long (limit {MAX_NAME_BYTES} bytes); rename the file.",
        )
    return name


def result_json(answer: Answer, message_id: str, session_id: str | None) -> dict[str, Any]:
    return {**answer.to_json(), "message_id": message_id, "session_id": session_id}


def footnotes(answer: Answer) -> str:
    """Citations as a text block, for clients that show only the message text."""

    def line(c: Citation) -> str:
        where = " ".join(
            p
            for p in (f"《{c.chunk.title}》", c.chunk.doc_number, c.chunk.section, c.page_label)
            if p
        )
        return f"[{c.n}] {where}：“{c.quote}”"

    blocks = []
    if answer.citations:
        blocks.append("引用：\n" + "\n".join(line(c) for c in answer.citations))
    if answer.related:
        blocks.append(
            "相关条文：\n" + "\n".join(line(c).replace(f"[{c.n}]", "-", 1) for c in answer.related)
        )
    return ("\n\n" + "\n\n".join(blocks)) if blocks else ""


def sse(data: dict[str, Any], event: str | None = None) -> str:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data, ensure_ascii=False)}\n\n"


# -- routes ----------------------------------------------------------------------------------


def _install_routes(app: FastAPI) -> None:
    @app.get("/healthz", tags=["service"])
    def healthz(request: Request) -> dict[str, Any]:
        """Status, documents, chunks and the index version being served."""
        runtime = _runtime(request)
        index = runtime.services.index
        return {
            "status": "ok",
            "documents": len(index.manifest.documents),
            "chunks": len(index.chunks),
            "index_version": index.manifest.version,
            "answerer": runtime.settings.answerer,
        }

    @app.post("/v1/search", tags=["answers"])
    def search(body: SearchRequest, request: Request, who: Client) -> dict[str, Any]:
        """The passages that best answer a query, with their citations."""
        hits = _runtime(request).services.retriever.search(body.query, k=body.k)
        return {"query": body.query, "results": [h.to_json() for h in hits]}

    @app.post("/v1/chat", tags=["answers"], response_model=dict[str, Any])
    async def chat(body: ChatRequest, request: Request, who: Client) -> JSONResponse:
        """A cited answer to the last user message, in the light of the conversation."""
        runtime = _runtime(request)
        turn = read_turn(runtime, body, who)
        answer, message_id = await runtime.answer(turn, who)
        return JSONResponse(result_json(answer, message_id, turn.session_id))

    @app.post(
        "/v1/chat/stream",
        tags=["answers"],
        response_class=StreamingResponse,
        responses={
            200: {
                "content": {"text/event-stream": {}},
                "description": "delta…, [replace], result, done events",
            }
        },
    )
    async def chat_stream(body: ChatRequest, request: Request, who: Client) -> StreamingResponse:
        """The same answer as server-sent events: `delta` texts as they come, `replace` if a
        model's answer was replaced, then `result` (the whole JSON result) and `done`."""
        runtime = _runtime(request)
        turn = read_turn(runtime, body, who)
        _ = runtime.services.assistant  # fails here, as JSON, when there is no index

        async def events() -> AsyncIterator[str]:
            async for event, message_id in runtime.stream(turn, who):
                if event.kind in ("delta", "replace"):
                    yield sse({"type": event.kind, "text": event.text}, event.kind)
                elif event.answer is not None:
                    yield sse(
                        {
                            "type": "result",
                            **result_json(event.answer, message_id or "", turn.session_id),
                        },
                        "result",
                    )
            yield sse({"type": "done"}, "done")

        return StreamingResponse(
            events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
        )

    @app.post("/v1/chat/completions", tags=["openai"])
    async def completions(body: CompletionRequest, request: Request, who: Client) -> Any:
        """OpenAI-compatible chat completions (plain and streamed). The citations come both as
        a footnote block in the message text and as the extra field `citations`."""
        runtime = _runtime(request)
        turn = read_turn(runtime, body, who)
        _ = runtime.services.assistant  # fails here, as JSON, when there is no index
        completion_id = f"chatcmpl-{uuid.uuid4().hex}"
        created = int(datetime.now(UTC).timestamp())
        if not body.stream:
            answer, message_id = await runtime.answer(turn, who)
            text = answer.answer + footnotes(answer)
            return JSONResponse(
                {
                    "id": completion_id,
                    "object": "chat.completion",
                    "created": created,
                    "model": body.model,
                    "choices": [
                        {
                            "index": 0,
                            "finish_reason": "stop",
                            "message": {"role": "assistant", "content": text},
                        }
                    ],
                    "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
                    "citations": [c.to_json() for c in answer.citations],
                    "related": [c.to_json() for c in answer.related],
                    "abstained": answer.abstained,
                    "mode": answer.mode,
                    "message_id": message_id,
                }
            )

        def chunk(delta: dict[str, Any], finish_reason: str | None = None, **extra: Any) -> str:
            data = {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": body.model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
                **extra,
            }
            return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"

        async def stream() -> AsyncIterator[str]:
            yield chunk({"role": "assistant", "content": ""})
            async for event, message_id in runtime.stream(turn, who):
                if event.kind == "delta":
                    yield chunk({"content": event.text})
                elif event.kind == "replace":
                    yield chunk(
                        {
                            "content": "\n\n（以上内容未通过引用核验，以下为依据文件原文的回答）\n"
                            + event.text
                        }
                    )
                elif event.answer is not None:
                    answer = event.answer
                    yield chunk({"content": footnotes(answer)})
                    yield chunk(
                        {},
                        "stop",
                        citations=[c.to_json() for c in answer.citations],
                        related=[c.to_json() for c in answer.related],
                        abstained=answer.abstained,
                        mode=answer.mode,
                        message_id=message_id,
                    )
            yield "data: [DONE]\n\n"

        return StreamingResponse(
            stream(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
        )

    @app.post("/v1/eligibility", tags=["answers"])
    def eligibility(body: EligibilityRequest, request: Request, who: Client) -> dict[str, Any]:
        """Every rule checked against the profile: verdicts, conditions cited, what to ask."""
        from assistant.eligibility import verdicts as engine

        profile = body.profile.to_profile()
        book = _runtime(request).services.rulebook
        return engine.report(profile, engine.evaluate(profile, book.rules), book.citation)

    @app.post("/v1/feedback", tags=["records"])
    def feedback(body: FeedbackRequest, request: Request, who: Client) -> dict[str, Any]:
        """👍 / 👎 on an answer (by its message_id), with an optional comment."""
        from assistant.serve.records import UnknownMessageError

        runtime = _runtime(request)
        try:
            runtime.records.add_feedback(
                body.message_id, 1 if body.rating == "up" else -1, body.comment
            )
        except UnknownMessageError as exc:
            raise ApiError(404, "unknown_message", exc.zh, exc.en) from None
        return {"ok": True}

    @app.get("/v1/admin/documents", tags=["staff"], dependencies=[Depends(admin)])
    def documents(request: Request) -> dict[str, Any]:
        """The indexed documents with their metadata, and which of them staff uploaded."""
        from assistant.ingest.library import removable

        runtime = _runtime(request)
        index = runtime.services.index
        uploaded = dict(removable(runtime.settings, index))
        return {
            "index_version": index.manifest.version,
            "documents": [
                {
                    "doc_id": d.doc_id,
                    "title": d.title,
                    "doc_number": d.doc_number,
                    "chunks": d.chunks,
                    "metadata": d.metadata,
                    "uploaded": d.doc_id in uploaded,
                }
                for d in index.manifest.documents.values()
            ],
        }

    @app.post(UPLOAD_PATH, tags=["staff"], status_code=202, dependencies=[Depends(admin)])
    def upload(request: Request, files: Annotated[list[UploadFile], File()]) -> dict[str, Any]:
        """Add or replace policy files. The ingest runs in the background (poll the job);
        answers come from the old index until the new one is complete."""
        from assistant.ingest.library import add_files

        runtime = _runtime(request)
        if not files or len(files) > UPLOAD_FILES:
            raise ApiError(
                400,
                "bad_upload",
                f"请上传 1 至 {UPLOAD_FILES} 个文件。",
                f"Upload between 1 and {UPLOAD_FILES} files.",
            )
        names = [upload_name(f.filename) for f in files]  # all checked before anything is kept
        staging = Path(tempfile.mkdtemp(prefix="upload-"))
        paths = []
        try:
            for f, name in zip(files, names, strict=True):
                target = staging / name
                with target.open("wb") as out:
                    shutil.copyfileobj(f.file, out)
                paths.append(target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise

        def work(progress: Callable[[int, int], None]) -> Any:
            try:
                return add_files(
                    runtime.settings,
                    runtime.services.store,
                    paths,
                    progress,
                    runtime.served_index(),
                )
            finally:
                shutil.rmtree(staging, ignore_errors=True)

        try:
            job = runtime.jobs.submit("add", work, then=runtime.swap)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return {**job.to_json(), "status_url": f"/v1/admin/jobs/{job.id}"}

    @app.post("/v1/admin/page-session", tags=["staff"], dependencies=[Depends(admin)])
    def page_session(request: Request) -> JSONResponse:
        """Sign staff in on the page: a cookie, signed with the admin key, that the page's
        upload route asks for (the page's own upload cannot carry the key)."""
        tokens: StaffTokens = request.app.state.staff_tokens
        response = JSONResponse({"ok": True, "expires_in": int(tokens.ttl)})
        response.set_cookie(
            STAFF_COOKIE,
            tokens.issue(),
            max_age=int(tokens.ttl),
            path="/",
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        return response

    @app.delete(
        "/v1/admin/documents/{doc_id:path}",
        tags=["staff"],
        status_code=202,
        dependencies=[Depends(admin)],
    )
    def remove(doc_id: str, request: Request) -> dict[str, Any]:
        """Remove a document staff uploaded; in the background, like an upload."""
        from assistant.errors import LibraryError
        from assistant.ingest.library import removable, remove_document

        runtime = _runtime(request)
        index = runtime.services.index
        if doc_id not in dict(removable(runtime.settings, index)):
            entry = index.manifest.documents.get(doc_id)
            raise ApiError(
                404 if entry is None else 409,
                "not_removable",
                f"没有可移除的上传文档 {doc_id}。"
                if entry is None
                else f"《{entry.title}》不是工作人员上传的文件，不能在此移除。",
                f"No uploaded document {doc_id!r}."
                if entry is None
                else f"{doc_id!r} was not uploaded by staff; it cannot be removed here.",
            )

        def work(progress: Callable[[int, int], None]) -> Any:
            current = runtime.services.index
            if doc_id not in current.manifest.documents:
                raise LibraryError(
                    f"文档 {doc_id} 已不在索引中。", f"Document {doc_id!r} is no longer indexed."
                )
            return remove_document(
                runtime.settings, runtime.services.store, current, doc_id, progress
            )

        job = runtime.jobs.submit("remove", work, then=runtime.swap)
        return {**job.to_json(), "status_url": f"/v1/admin/jobs/{job.id}"}

    @app.get("/v1/admin/jobs/{job_id}", tags=["staff"], dependencies=[Depends(admin)])
    def job_status(job_id: str, request: Request) -> dict[str, Any]:
        """A background ingest: queued, running (chunks embedded of the total), done or failed."""
        job = _runtime(request).jobs.get(job_id)
        if job is None:
            raise ApiError(
                404, "unknown_job", f"没有编号为 {job_id} 的任务。", f"No job {job_id!r}."
            )
        return job.to_json()

    @app.get("/v1/admin/records", tags=["staff"], dependencies=[Depends(admin)])
    def records(
        request: Request,
        since: Annotated[datetime | None, Query(description="ISO date or time")] = None,
        only: Annotated[Literal["all", "unanswered", "negative"], Query()] = "all",
        format: Annotated[Literal["json", "csv"], Query()] = "json",
    ) -> Any:
        """Exchanges and feedback for staff; above all the unanswered and the thumbs-down."""
        from assistant.serve.records import to_csv

        rows = _runtime(request).records.export(since, only)
        if format == "csv":
            return PlainTextResponse(to_csv(rows), media_type="text/csv; charset=utf-8")
        return {"records": rows}
