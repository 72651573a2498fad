"""What stands in front of every route, the page's included: who the client is, whether it may
send a body at all, and how big and how slow that body may be.

Plain ASGI classes, outermost first in the app:

    ClientAddress   the client's address: the socket's, or X-Forwarded-For from a trusted proxy
    Admission       refuses a request before its body is read (loopback-only, upload keys)
    BodyLimit       413 past the size limit (declared or sent in chunks), 408 for a stalled body

Plain ASGI rather than `@app.middleware("http")`: that wrapper runs every request through an
extra task and stream, which showed in profiles of the server under load.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from starlette.datastructures import Headers
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.types import Message as ASGIMessage

from assistant.errors import ConfigError

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def error_body(code: str, zh: str, en: str) -> dict[str, Any]:
    """The one shape of every error the server answers: a code and a message in two languages."""
    return {"error": {"code": code, "zh": zh, "en": en}}


def error_response(
    status: int, code: str, zh: str, en: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(error_body(code, zh, en), status_code=status, headers=headers)


def parse_networks(text: str) -> tuple[Network, ...]:
    """Addresses or networks, comma-separated ("10.0.0.5, 192.168.0.0/24")."""
    out = []
    for item in (p.strip() for p in text.split(",")):
        if not item:
            continue
        try:
            out.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ConfigError(
                f"ASSISTANT_TRUSTED_PROXIES 中的 {item!r} 不是 IP 地址或网段。",
                f"{item!r} in ASSISTANT_TRUSTED_PROXIES is not an IP address or network.",
            ) from None
    return tuple(out)


def _within(host: str, networks: Sequence[Network]) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return any(address in n for n in networks)


def is_loopback(host: str | None) -> bool:
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def client_host(scope: Scope) -> str:
    """The client's address as ClientAddress settled it ("unknown" without a socket)."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


class ClientAddress:
    """The client is the socket's peer, unless that peer is a trusted proxy: then the nearest
    address in X-Forwarded-For that is not itself a trusted proxy (the proxy appends the
    address it saw, so entries further left are whatever the client chose to write)."""

    def __init__(self, app: ASGIApp, trusted: Sequence[Network]) -> None:
        self.app = app
        self.trusted = tuple(trusted)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and self.trusted:
            peer = scope.get("client")
            if peer and _within(str(peer[0]), self.trusted):
                headers = Headers(scope=scope)
                hops = [h.strip() for h in headers.get("x-forwarded-for", "").split(",")]
                for hop in reversed([h for h in hops if h]):
                    if not _within(hop, self.trusted):
                        scope = {**scope, "client": (hop, 0)}
                        break
                proto = headers.get("x-forwarded-proto", "").strip().lower()
                if proto in ("http", "https"):
                    scope = {**scope, "scheme": proto}
        await self.app(scope, receive, send)


Check = Callable[[Scope], Awaitable[Response | None]]


class Admission:
    """Asks `check` about each HTTP request before anything reads its body; a response from it
    is the answer, and the body is never read (a 100 MB upload without a key costs nothing)."""

    def __init__(self, app: ASGIApp, check: Check) -> None:
        self.app = app
        self.check = check

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            refusal = await self.check(scope)
            if refusal is not None:
                await refusal(scope, receive, send)
                return
        await self.app(scope, receive, send)


class _Stalled(BaseException):
    """The client stopped sending its body. A BaseException, so that no handler on the way
    (FastAPI turns any error while reading a body into a 400) mistakes it for bad input."""


class BodyLimit:
    """413 for a POST, PUT or PATCH body over its limit, declared or sent in chunks; 408 when
    the body stops arriving for `timeout` seconds (a slow client must not hold a connection
    and a request's memory forever)."""

    def __init__(self, app: ASGIApp, limit: int, limits: dict[str, int], timeout: float) -> None:
        self.app = app
        self.limit = limit
        self.limits = limits  # larger limits by exact path (the upload routes)
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        limit = self.limits.get(scope["path"], self.limit)
        declared = dict(scope["headers"]).get(b"content-length")
        started = False

        async def sending(message: ASGIMessage) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            if declared is not None:
                # The HTTP server never hands on more than the declared length.
                if declared.isdigit() and int(declared) > limit:
                    await self.too_large(limit)(scope, receive, send)
                    return
                await self.app(scope, self._timed(receive), sending)
                return
            # Sent in chunks, the size is known only once read: read up to the limit, replay.
            held: list[ASGIMessage] = []
            size = 0
            timed = self._timed(receive)
            while True:
                message = await timed()
                held.append(message)
                if message["type"] != "http.request":
                    break
                size += len(message.get("body", b""))
                if size > limit:
                    await self.too_large(limit)(scope, receive, send)
                    return
                if not message.get("more_body", False):
                    break

            async def replay() -> ASGIMessage:
                return held.pop(0) if held else await receive()

            await self.app(scope, replay, sending)
        except _Stalled:
            if not started:
                await error_response(
                    408,
                    "body_timeout",
                    f"请求体在 {self.timeout:g} 秒内没有传完，连接已关闭。",
                    f"The request body stalled for {self.timeout:g} s; the request was dropped.",
                    {"Connection": "close"},
                )(scope, receive, send)

    def _timed(self, receive: Receive) -> Receive:
        """`receive` that gives up when a body part takes longer than the timeout. Once the
        body is complete, later calls (a stream listening for the client leaving) may wait."""
        done = False

        async def timed() -> ASGIMessage:
            nonlocal done
            if done:
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), self.timeout)
            except TimeoutError:
                raise _Stalled from None
            if message["type"] != "http.request" or not message.get("more_body", False):
                done = True
            return message

        return timed

    @staticmethod
    def too_large(limit: int) -> JSONResponse:
        size = f"{limit // (1024 * 1024)} MB" if limit >= 1024 * 1024 else f"{limit // 1024} KB"
        return error_response(
            413,
            "body_too_large",
            f"请求体过大（上限 {size}）。",
            f"The request body is too large (limit {size}).",
            {"Connection": "close"},
        )
