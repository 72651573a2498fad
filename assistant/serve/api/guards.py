"""Who may call: the dependencies the routes declare (the runtime, a client's key and rate,
the admin key), the limits of the chat routes, and the same checks made before an upload's
body is read (admission).

The limits and the wrong-key counters are kept in the database every replica shares, so
their checks are sent to a worker thread, once per request, never run on the event loop.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Collection
from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import Scope

from assistant.serve.access import FailedAuth, Keys, Limit, StaffTokens, staff_token
from assistant.serve.api.errors import ApiError
from assistant.serve.middleware import client_host, error_response, is_loopback
from assistant.serve.runtime import Runtime

ADMIN_DISABLED = (
    "未配置管理员密钥（ASSISTANT_ADMIN_KEY）。",
    "No admin key is configured (ASSISTANT_ADMIN_KEY).",
)


UPLOAD_REFUSED = ApiError(
    401,
    "unauthorized",
    "上传文件需要工作人员身份（管理员密钥）。",
    "Uploading needs a staff sign-in (the admin key).",
    {"WWW-Authenticate": "Bearer"},
)


async def runtime(request: Request) -> Runtime:
    """The runtime the app's lifespan built; on the way, notice an index switched elsewhere."""
    current: Runtime = request.app.state.runtime
    current.watch()
    return current


Served = Annotated[Runtime, Depends(runtime)]


def bearer(request: Request) -> str | None:
    """The key in `Authorization: Bearer …`, or None."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def too_many_failures(wait: float) -> ApiError:
    """The refusal of an address that sent too many wrong keys."""
    seconds = max(1, math.ceil(wait))
    return ApiError(
        429,
        "too_many_failures",
        f"密钥错误次数过多，请 {seconds} 秒后再试。",
        f"Too many wrong keys; retry in {seconds} s.",
        {"Retry-After": str(seconds)},
    )


def check_key(
    failures: FailedAuth, host: str, accepted: Callable[[], bool], refusal: ApiError
) -> None:
    """Refuse an address that guessed too often, then a key that `accepted` refuses."""
    wait = failures.verdict(host, accepted)
    if wait is not None:
        raise too_many_failures(wait) if wait > 0 else refusal


def rate_limited(limit: Limit, wait: float, per_minute: int) -> ApiError:
    """The refusal of a request over a limit: the app's (its key's) or this end user's."""
    seconds = max(1, math.ceil(wait))
    if limit == "user":
        return ApiError(
            429,
            "user_rate_limited",
            f"该用户提问过于频繁（每位用户每分钟 {per_minute} 次），请 {seconds} 秒后再试。",
            f"This user asks too often (each user's limit is {per_minute} a minute); "
            f"retry in {seconds} s.",
            {"Retry-After": str(seconds)},
        )
    return ApiError(
        429,
        "rate_limited",
        f"本应用的请求总量已达上限（每分钟 {per_minute} 次），请 {seconds} 秒后再试。",
        f"Too many requests for this app (its key's limit is {per_minute} a minute); "
        f"retry in {seconds} s.",
        {"Retry-After": str(seconds)},
    )


def identify(runtime: Runtime, request: Request) -> str:
    """The caller's key name (or "anonymous" when the server has no keys); 401 or 429 for a
    wrong key (a worker thread's work: the wrong-key counters are in the database)."""
    if not runtime.keys.required:
        return "anonymous"
    found = runtime.keys.client(bearer(request))
    check_key(
        runtime.failures,
        client_host(request.scope),
        lambda: found is not None,
        ApiError(
            401,
            "unauthorized",
            "缺少或无效的 API 密钥（Authorization: Bearer …）。",
            "Missing or invalid API key (Authorization: Bearer …).",
            {"WWW-Authenticate": "Bearer"},
        ),
    )
    return str(found)


async def caller(request: Request, runtime: Served) -> str:
    """The caller's key name, nothing spent yet: the chat routes spend the app's and the end
    user's tokens where the body names the user (see answers.read_question)."""
    return await run_in_threadpool(identify, runtime, request)


Caller = Annotated[str, Depends(caller)]


async def client(request: Request, runtime: Served) -> str:
    """The caller's key name, with one token of its app's budget spent."""

    def identified() -> str:
        name = identify(runtime, request)
        wait = runtime.limiter.take(name)
        if wait > 0:
            raise rate_limited("app", wait, runtime.limiter.per_minute)
        return name

    return await run_in_threadpool(identified)


Client = Annotated[str, Depends(client)]


async def admin(request: Request, runtime: Served) -> None:
    """Refuse a request without the admin key (and an address that guesses at it)."""
    if runtime.keys.admin is None:
        raise ApiError(403, "admin_disabled", *ADMIN_DISABLED)
    await run_in_threadpool(
        check_key,
        runtime.failures,
        client_host(request.scope),
        lambda: runtime.keys.is_admin(bearer(request)),
        ApiError(
            401,
            "unauthorized",
            "需要管理员密钥。",
            "The admin key is required.",
            {"WWW-Authenticate": "Bearer"},
        ),
    )


def admission(
    keys: Keys,
    failures: FailedAuth,
    tokens: StaffTokens,
    api_upload: str,
    staff_page: Collection[str],
) -> Callable[[Scope], Awaitable[Response | None]]:
    """The checks made before a request's body is read: the loopback rule, and the keys of
    the upload routes (the API's admin key on `api_upload`; the page's staff cookie on the
    `staff_page` routes, where an entry ending in "=" is a prefix)."""

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
        is_api_upload = scope["method"] == "POST" and path == api_upload
        if not is_api_upload and not any(
            path == p or (p.endswith("=") and path.startswith(p)) for p in staff_page
        ):
            return None
        headers = Headers(scope=scope)
        if is_api_upload:
            if keys.admin is None:
                return error_response(403, "admin_disabled", *ADMIN_DISABLED)
            scheme, _, token = headers.get("authorization", "").partition(" ")

            def accepted() -> bool:
                return scheme.lower() == "bearer" and keys.is_admin(token.strip() or None)
        else:

            def accepted() -> bool:
                return tokens.valid(staff_token(headers.get("cookie", "")))

        try:
            await run_in_threadpool(check_key, failures, host, accepted, UPLOAD_REFUSED)
        except ApiError as refused:
            return error_response(
                refused.status, refused.code, refused.zh, refused.en, refused.headers
            )
        return None

    return check
