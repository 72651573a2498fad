"""Health: whether the server serves, and which index; "degraded" while the database of the
shared state (limits, sessions) cannot be reached. Answers still go on then, so the status is
200 and a proxy keeps sending requests here."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from assistant.serve.api.guards import Served

router = APIRouter()


@router.get("/healthz", tags=["service"])
def healthz(runtime: Served) -> dict[str, Any]:
    """Status, documents, chunks, the index version being served, and the shared state's
    database: "ok" or "unavailable" (then the status is "degraded"), with the session turns
    it could not keep since the start."""
    index = runtime.services.index
    body: dict[str, Any] = {
        "status": "ok",
        "documents": len(index.manifest.documents),
        "chunks": len(index.chunks),
        "index_version": index.manifest.version,
        "answerer": runtime.settings.answerer,
    }
    state = runtime.state
    if state is not None:
        reachable = state.reachable()
        body["database"] = "ok" if reachable else "unavailable"
        body["session_writes_lost"] = state.lost_session_writes
        if not reachable:
            body["status"] = "degraded"
    return body
