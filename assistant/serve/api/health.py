"""Health: whether the server serves, and which index."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from assistant.serve.api.guards import Served

router = APIRouter()


@router.get("/healthz", tags=["service"])
def healthz(runtime: Served) -> dict[str, Any]:
    """Status, documents, chunks and the index version being served."""
    index = runtime.services.index
    return {
        "status": "ok",
        "documents": len(index.manifest.documents),
        "chunks": len(index.chunks),
        "index_version": index.manifest.version,
        "answerer": runtime.settings.answerer,
    }
