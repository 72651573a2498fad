"""Every error the API answers, as one JSON shape: `{"error": {"code", "zh", "en"}}` with a
4xx/5xx status, never a stack trace.

The AssistantErrors raised below the API carry their own stable `code`; this module gives
each its status. ApiError is for what only the API refuses (a key, a rate, a request's
shape).
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from assistant.errors import (
    AssistantError,
    NotRemovableError,
    UnavailableError,
    UnknownCheckError,
    UnknownMessageError,
)
from assistant.serve.middleware import error_body

log = logging.getLogger(__name__)

# The status of each kind of AssistantError (its nearest listed class); any other is 400.
STATUS: dict[type[AssistantError], int] = {
    UnavailableError: 503,
    UnknownMessageError: 404,
    UnknownCheckError: 404,
    NotRemovableError: 409,
}


class ApiError(Exception):
    """An error answered as JSON with a status, a code, and a message in Chinese and English."""

    def __init__(
        self, status: int, code: str, zh: str, en: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(en)
        self.status, self.code, self.zh, self.en = status, code, zh, en
        self.headers = headers or {}


def status_of(exc: AssistantError) -> int:
    """The HTTP status an AssistantError is answered with."""
    if isinstance(exc, NotRemovableError) and not exc.indexed:
        return 404
    for kind in type(exc).__mro__:
        if kind in STATUS:
            return STATUS[kind]
    return 400


def install_error_handlers(app: FastAPI) -> None:
    """Answer every exception, expected or not, as the one JSON error shape."""

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
        return JSONResponse(error_body(exc.code, exc.zh, exc.en), status_code=status_of(exc))

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error")
        return JSONResponse(
            error_body(
                "internal", "服务内部错误，请稍后再试。", "Internal error; please try again later."
            ),
            status_code=500,
        )
