"""Feedback: 👍 / 👎 on a recorded answer, with an optional comment (the page stores its own
through the same service)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from assistant.serve import service
from assistant.serve.api.guards import Client, Served

router = APIRouter()


class FeedbackRequest(BaseModel):
    message_id: str = Field(min_length=1, max_length=64)
    rating: Literal["up", "down"]
    comment: str | None = Field(None, max_length=2_000)


@router.post("/v1/feedback", tags=["records"])
def feedback(body: FeedbackRequest, runtime: Served, who: Client) -> dict[str, Any]:
    """👍 / 👎 on an answer (by its message_id), with an optional comment."""
    service.feedback(runtime, body.message_id, 1 if body.rating == "up" else -1, body.comment)
    return {"ok": True}
