"""Which files each signed-in staff member uploaded through the page, so that the staff
upload handler takes only those: a request naming any other file (another visitor's upload,
a file of the server) is refused before anything is read or copied."""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.types import Message as ASGIMessage

from assistant.serve.access import staff_token

PAGE_UPLOAD_PATH = "/gradio_api/upload"


class StaffUploads:
    """The files each signed-in staff member uploaded through the page, by their sign-in token.

    The page's upload route hands back the paths it stored; the staff upload handler accepts
    only paths from this list for the same token. So a request naming any other file (another
    visitor's upload, a file of the server) is refused before anything is read or copied.
    """

    def __init__(self, limit: int = 1000) -> None:
        self.limit = limit
        self._paths: OrderedDict[str, set[str]] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, token: str, paths: Sequence[str]) -> None:
        """Note paths the page stored for the staff member signed in with `token`."""
        with self._lock:
            self._paths.setdefault(token, set()).update(str(Path(p).resolve()) for p in paths)
            self._paths.move_to_end(token)
            while len(self._paths) > self.limit:
                self._paths.popitem(last=False)

    def owns(self, token: str | None, paths: Sequence[str]) -> bool:
        """Whether every path was uploaded with this token."""
        with self._lock:
            mine = self._paths.get(token or "", set())
            return bool(paths) and all(str(Path(p).resolve()) in mine for p in paths)


class RecordUploads:
    """Notes the paths the page's upload route stored, under the uploader's staff token (the
    route is reached only with a valid one: see assistant.serve.api.guards.admission)."""

    def __init__(self, app: ASGIApp, uploads: StaffUploads) -> None:
        self.app = app
        self.uploads = uploads

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") != PAGE_UPLOAD_PATH:
            await self.app(scope, receive, send)
            return
        body: list[bytes] = []
        status = 0

        async def sending(message: ASGIMessage) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body" and status == 200:
                body.append(message.get("body", b""))
            await send(message)

        await self.app(scope, receive, sending)
        token = staff_token(Headers(scope=scope).get("cookie", ""))
        if status == 200 and token:
            try:
                paths = json.loads(b"".join(body))
            except ValueError:
                return
            if isinstance(paths, list):
                self.uploads.add(token, [p for p in paths if isinstance(p, str)])
