"""The page mounted at "/" of the API's app, kept to the routes it uses.

Of the page framework's routes only those in PAGE_ROUTES answer (every other one is a 404),
the API keeps its own first path segments (/v1, /healthz, /docs…), the staff upload route
notes which files each staff member stored (uploads.py), and no event may name a file of the
server.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable

import gradio as gr
from fastapi import FastAPI
from starlette.routing import Match, Mount
from starlette.types import ASGIApp, Scope

from assistant.config import Settings
from assistant.serve.web.context import PageContext
from assistant.serve.web.page import CSS_PATH, PAGE_JS, build_page, theme
from assistant.serve.web.uploads import PAGE_UPLOAD_PATH, RecordUploads, StaffUploads

__all__ = ["PAGE_ROUTES", "PAGE_UPLOAD_PATH", "STAFF_PAGE_ROUTES", "mount_web"]

log = logging.getLogger(__name__)

# Routes only signed-in staff reach: the upload, its progress, and the files it stored.
STAFF_PAGE_ROUTES = (PAGE_UPLOAD_PATH, "/gradio_api/upload_progress", "/gradio_api/file=")
# The page's own routes that a browser (or gradio_client, for the one API the page offers)
# needs; the framework has more (run history, monitoring, proxies, custom components, editing
# tools…), and every other path under the page is a 404. A path is allowed when it equals an
# entry or starts with an entry that ends in "/" or "=".
PAGE_ROUTES = {
    "GET": (
        "/",
        "/config",
        "/config/",
        "/theme.css",
        "/robots.txt",
        "/favicon.ico",
        "/manifest.json",
        "/assets/",
        "/static/",
        "/svelte/",
        "/gradio_api/info",
        "/gradio_api/info/",
        "/gradio_api/queue/data",
        "/gradio_api/heartbeat/",
        "/gradio_api/startup-events",
        "/gradio_api/upload_progress",
        "/gradio_api/file=",
        "/gradio_api/call/chat/",
    ),
    "HEAD": ("/",),
    # run/predict: the page's events that skip the queue (showing the example questions).
    "POST": (
        "/gradio_api/queue/join",
        "/gradio_api/run/predict",
        "/gradio_api/cancel",
        PAGE_UPLOAD_PATH,
        "/gradio_api/call/chat",
        "/gradio_api/call/v2/chat",
    ),
}


def page_route_allowed(method: str, path: str) -> bool:
    """Whether the page answers this method and path at all."""
    return any(
        path == entry or (entry[-1] in "/=" and entry != "/" and path.startswith(entry))
        for entry in PAGE_ROUTES.get(method, ())
    )


class PageMount(Mount):
    """The page at "/", except under the API's own first path segments (/v1, /healthz, /docs…):
    there the API keeps answering, so an unknown /v1/… path still gets its JSON 404. Of the
    page's framework routes only those in PAGE_ROUTES are reachable."""

    def __init__(self, app: ASGIApp, api_roots: set[str]) -> None:
        super().__init__("/", app=app, name="page")
        self.api_roots = api_roots

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http":
            path = scope.get("path", "")
            if _root(path) in self.api_roots or not page_route_allowed(scope["method"], path):
                return Match.NONE, {}
        return super().matches(scope)


def _root(path: str) -> str:
    return path.lstrip("/").split("/", 1)[0]


def mount_web(app: FastAPI, settings: Settings, api_paths: Iterable[str]) -> None:
    """Serve the page at "/" of the API app, beside the API's own routes (`api_paths`: the
    paths of every route the app has, whose first segments the page leaves to the API)."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no calls home from Gradio
    api_roots = {_root(path) for path in api_paths} - {""}
    uploads = StaffUploads()
    blocks = build_page(PageContext(settings, lambda: app.state.runtime), uploads)
    gr.mount_gradio_app(
        app,
        blocks,
        path="/",
        footer_links=[],
        run_history=False,
        ssr_mode=False,
        pwa=False,
        mcp_server=False,
        enable_monitoring=False,
        show_error=True,
        theme=theme(),
        css_paths=[CSS_PATH],
        max_file_size=f"{max(1, int(settings.max_file_mb))}mb",
        js=PAGE_JS,
        allowed_paths=[],
        blocked_paths=[str(settings.corpus_dir.resolve()), str(settings.index_dir.resolve())],
    )
    # Gradio checks the files named in an event's input (only its own upload folder may be
    # named) once `launch()` has run; a mounted app never launches, so the check is off
    # unless the flag says otherwise. With it, a request naming /etc/passwd is refused
    # before Gradio copies anything.
    blocks.has_launched = True
    mounted = app.router.routes.pop()
    assert isinstance(mounted, Mount), "gradio.mount_gradio_app adds one Mount last"
    app.router.routes.append(PageMount(RecordUploads(mounted.app, uploads), api_roots))
    _calm_queue(blocks)


# Gradio's queue looks for new page events every 1 ms and for progress every 10 ms, on the
# event loop the API shares: measured 5.7% of a core with nobody using the server, and a
# thousand wake-ups a second taking the interpreter from the answers under load. Every 20 ms
# and 50 ms cost the page at most that much latency on an answer that takes hundreds.
QUEUE_POLL_S = 0.02
PROGRESS_POLL_S = 0.05


def _calm_queue(blocks: gr.Blocks) -> None:
    """Poll for the page's events less often (see QUEUE_POLL_S)."""
    queue = getattr(blocks, "_queue", None)
    if queue is None or not hasattr(queue, "sleep_when_free"):
        log.warning("gradio's queue has changed shape: its polling interval is left as it is")
        return
    queue.sleep_when_free = QUEUE_POLL_S
    queue.progress_update_sleep_when_free = PROGRESS_POLL_S
