"""What every tab's handlers share: the runtime the app's lifespan built, the settings, the
visitor's address, and how the page says that nothing can be served.

Handlers never raise to the page: they show what went wrong, in Chinese, where it happened.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gradio as gr

from assistant.config import Settings
from assistant.errors import IndexNotBuiltError, UnavailableError
from assistant.search.index import ServedIndex
from assistant.serve.runtime import Runtime, use_site
from assistant.site import Site

GENERIC_ERROR = "服务暂时出现问题，请稍后再试。如多次出现，请联系工作人员。"
NO_INDEX = "暂未收录政策文件，暂时无法回答。请工作人员在“工作人员”页上传文件后再试。"
NO_DOCUMENTS = "暂未收录政策文件。工作人员可在“工作人员”页上传文件。"
STORE_DOWN = "政策文件库暂时无法访问，请稍后再试。如多次出现，请联系工作人员。"

PRIVATE: dict[str, Any] = {"api_visibility": "private"}  # the page's own events: no API


def unavailable(exc: UnavailableError, no_index: str = NO_INDEX) -> str:
    """Why nothing can be served, as the page says it: no documents yet, or the store is down
    (its own message names the server, which is not for the public)."""
    return no_index if isinstance(exc, IndexNotBuiltError) else STORE_DOWN


def host(request: gr.Request | None) -> str:
    """The visitor's address, as the server's ClientAddress settled it."""
    client = getattr(request, "client", None) if request is not None else None
    return str(client.host) if client is not None and client.host else "unknown"


class PageContext:
    """The settings, and the runtime as it is now (a new index version swaps it in)."""

    def __init__(self, settings: Settings, current: Callable[[], Runtime]) -> None:
        self.settings = settings
        self._current = current
        # The page is built before the runtime: it reads the same site file the services do.
        self.site: Site = use_site(settings)

    @property
    def runtime(self) -> Runtime:
        """The runtime, after noticing an index switched by another process."""
        runtime = self._current()
        runtime.watch()
        return runtime

    def index(self) -> ServedIndex | str:
        """The index served, or what the page says instead when there is none."""
        try:
            return self.runtime.services.index
        except UnavailableError as exc:
            return unavailable(exc, NO_DOCUMENTS)
