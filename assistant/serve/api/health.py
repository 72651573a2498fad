"""Health: whether the server serves, and which index; "degraded" while the database (the
records, and the shared limits and sessions) cannot be reached. Answers still go on then, so
the status is 200 and a proxy keeps sending requests here."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from assistant.serve.api.guards import Served

router = APIRouter()


@router.get("/healthz", tags=["service"])
def healthz(runtime: Served) -> dict[str, Any]:
    """Status, documents, chunks, the index version being served, and the database: "ok" or
    "unavailable" (then the status is "degraded"), with what could not be kept since the
    start (exchanges for the records, turns of server-kept sessions)."""
    index = runtime.services.index
    state = runtime.state
    # The shared state's check is skipped while its breaker holds a dead database off, so
    # a proxy's frequent checks never wait on a connection each.
    reachable = (state is None or state.reachable()) and runtime.records.healthy()
    return {
        "status": "ok" if reachable else "degraded",
        "documents": len(index.manifest.documents),
        "chunks": len(index.chunks),
        "index_version": index.manifest.version,
        "answerer": runtime.settings.answerer,
        "database": "ok" if reachable else "unavailable",
        "records_lost": runtime.records.lost,
        "session_writes_lost": state.lost_session_writes if state is not None else 0,
    }
