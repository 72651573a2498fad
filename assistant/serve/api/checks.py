"""Staff, with the admin key: 命中测试 — why a question gets its answer (explain), and the
saved checks that run again after every document change (list, save, delete, run now)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, ConfigDict, Field

from assistant.serve import checks
from assistant.serve.api.answers import ChatMessage, ChatRequest, read_question
from assistant.serve.api.guards import Served, admin

router = APIRouter(tags=["staff"], dependencies=[Depends(admin)])
# A check's id, within what every SQL database's integer holds.
CheckId = Annotated[int, Path(ge=1, le=2**63 - 1)]


class ExplainRequest(BaseModel):
    """A question, and the conversation before it when it is a follow-up."""

    model_config = ConfigDict(extra="forbid")
    question: str = Field(max_length=20_000)
    history: list[ChatMessage] = Field(default_factory=list, max_length=400)


class CheckRequest(BaseModel):
    """A question to keep checking, and what its answer must hold: every word of `expect`,
    and an abstention ("the documents do not say") when `abstain` is true."""

    model_config = ConfigDict(extra="forbid")
    question: str = Field(max_length=20_000)
    expect: list[str] = Field(default_factory=list, max_length=100)
    abstain: bool = False


def listing(found: list[checks.Check]) -> dict[str, Any]:
    """Checks as the routes return them, with the counts a dashboard shows."""
    ran = [c.last for c in found if c.last is not None]
    return {
        "checks": [c.to_json() for c in found],
        "limit": checks.MAX_CHECKS,
        "passed": sum(r["passed"] for r in ran),
        "failed": sum(not r["passed"] for r in ran),
        "changed": sum(r["changed"] for r in ran),
    }


@router.post("/v1/admin/explain")
def explain(body: ExplainRequest, runtime: Served) -> dict[str, Any]:
    """Why the question gets its answer: the passages retrieved with their scores, the
    reader's verdict, the sentences chosen and their signals (or why it abstained), the
    best candidates, and the answer. The question's limits are the chat's."""
    asked = ChatMessage(role="user", content=body.question)
    question = read_question(
        runtime, ChatRequest(messages=[*body.history, asked], session_id=None, user=None), "staff"
    )
    return checks.explain_question(runtime, question.text, question.history).to_json()


@router.get("/v1/admin/checks")
def saved(runtime: Served) -> dict[str, Any]:
    """The saved checks, each with its last result and whether it changed at that run."""
    return listing(checks.saved(runtime))


@router.post("/v1/admin/checks", status_code=201)
def save(body: CheckRequest, runtime: Served) -> dict[str, Any]:
    """Save a check (run once at once, against the index serving)."""
    return checks.save(runtime, body.question, body.expect, body.abstain).to_json()


@router.delete("/v1/admin/checks/{check_id}")
def delete(check_id: CheckId, runtime: Served) -> dict[str, Any]:
    """Forget a saved check."""
    checks.delete(runtime, check_id)
    return {"deleted": check_id}


@router.post("/v1/admin/checks/run")
def run(runtime: Served) -> dict[str, Any]:
    """Run every saved check now against the index serving; their results."""
    return listing(checks.run(runtime, "manual"))
