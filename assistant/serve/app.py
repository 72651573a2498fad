"""The application: the HTTP API and the web page in one FastAPI app.

    uvicorn --factory assistant.serve.app:app_factory     # or `policy-assistant serve`

This module only assembles: the services are built when the app starts (lifespan) into the
Runtime that every request shares (its limits and sessions kept in the records' database,
so that every worker and replica shares them: assistant.serve.state); the routers (assistant.serve.api) and the page
(assistant.serve.web) are added, then the middleware that stands in front of both. Every
error is a JSON body `{"error": {"code", "zh", "en"}}` with a 4xx/5xx status — never a stack
trace (assistant.serve.api.errors).
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.concurrency import run_in_threadpool

from assistant.config import Settings, get_settings
from assistant.errors import AssistantError, IndexNotBuiltError
from assistant.serve.access import (
    Buckets,
    Conversations,
    FailedAuth,
    Keys,
    RateLimiter,
    Sessions,
    StaffTokens,
    load_keys,
)
from assistant.serve.api import answers, checks, feedback, health, staff
from assistant.serve.api.errors import install_error_handlers
from assistant.serve.api.guards import admission
from assistant.serve.library import recover
from assistant.serve.logs import protect as protect_logs
from assistant.serve.middleware import Admission, BodyLimit, ClientAddress, parse_networks
from assistant.serve.records import RecordStore, records_secret
from assistant.serve.runtime import Runtime, Services, limit_threads
from assistant.serve.state import SharedBuckets, SharedSessions, SharedState, shared_state
from assistant.serve.web.mount import PAGE_UPLOAD_PATH, STAFF_PAGE_ROUTES, mount_web

__all__ = ["app_factory", "create_app"]

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    """The application; its services are built when it starts serving.

    Raises ConfigError at once for settings that must not serve (a short key, a bad proxy
    address), before anything listens.
    """
    settings = settings or get_settings()
    protect_logs()
    keys = load_keys(settings.api_keys, settings.api_keys_file, settings.admin_key)
    trusted = parse_networks(settings.trusted_proxies)
    secret = records_secret(settings)  # the index folder must be writable
    records = RecordStore(settings.records_url)  # a corrupt database stops us here, clearly
    state = shared_state(records.engine, secret)
    failures = FailedAuth(
        settings.auth_failures_per_minute,
        buckets=buckets(state, settings.auth_failures_per_minute, "auth"),
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.runtime = await start(settings, keys, failures, secret, records, state)
        yield
        app.state.runtime.jobs.shutdown()

    app = FastAPI(
        title="policy-assistant",
        version="0.1.0",
        lifespan=lifespan,
        description="Cited answers from Chinese policy documents. Errors are "
        '`{"error": {"code", "zh", "en"}}`.',
    )
    tokens = StaffTokens(keys.admin)
    app.state.staff_tokens = tokens  # the page-session route signs with them
    install_error_handlers(app)
    routers = (health.router, answers.router, feedback.router, staff.router, checks.router)
    for router in routers:
        app.include_router(router)
    # The app's own routes (docs, schema) and the routers'; FastAPI keeps an included router
    # as one entry of the app's routes, so its paths are read from the router itself.
    routes = [*app.router.routes, *(route for router in routers for route in router.routes)]
    paths = [getattr(route, "path", "") for route in routes]
    mount_web(app, settings, paths)  # the web page at "/", beside the API's routes
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
        limits={staff.UPLOAD_PATH: upload_limit, PAGE_UPLOAD_PATH: upload_limit},
        timeout=settings.body_timeout_s,
    )
    check = admission(keys, failures, tokens, staff.UPLOAD_PATH, STAFF_PAGE_ROUTES)
    app.add_middleware(Admission, check=check)
    app.add_middleware(ClientAddress, trusted=trusted)
    return app


def buckets(state: SharedState | None, per_minute: int, kind: str) -> Buckets:
    """Token buckets of one kind: in the shared database, or this process's memory without."""
    return SharedBuckets(state, per_minute, kind) if state else RateLimiter(per_minute)


def conversations(state: SharedState | None, settings: Settings) -> Conversations:
    """The server-kept sessions: in the shared database, or this process's memory without."""
    ttl = settings.session_ttl_minutes * 60
    if state is None:
        return Sessions(settings.session_turns, ttl)
    return SharedSessions(state, settings.session_turns, ttl)


async def start(
    settings: Settings,
    keys: Keys,
    failures: FailedAuth,
    secret: bytes,
    records: RecordStore,
    state: SharedState | None = None,
) -> Runtime:
    """Build the services, open and warm the index, settle interrupted uploads: the Runtime.

    With no index yet, or the store down, the server still starts and answers 503 until
    it can serve.
    """
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
    runtime = Runtime(
        settings,
        services,
        keys,
        buckets(state, settings.rate_limit_per_minute, "app"),
        conversations(state, settings),
        records,
        failures=failures,
        secret=secret,
        users=buckets(state, settings.user_rate_limit_per_minute, "user"),
        state=state,
    )
    log.info("ready in %.1f s", time.perf_counter() - started)
    return runtime


def app_factory() -> FastAPI:
    """For `uvicorn --factory assistant.serve.app:app_factory` and `policy-assistant serve`."""
    try:
        return create_app()
    except AssistantError as exc:  # a clear message, not a traceback, from bare uvicorn too
        print(f"错误：{exc.zh}\nerror: {exc.en}", file=sys.stderr)
        raise SystemExit(2) from None
