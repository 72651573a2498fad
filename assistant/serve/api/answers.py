"""Answers: search, chat (plain and streamed), OpenAI-compatible completions, eligibility.

Streams are server-sent events, one JSON object per `data:` line, so a WeChat mini-program
reading with `wx.request({enableChunked: true})` can split on blank lines. A stream's answer
is written by the runtime whatever its reader does (see Runtime.stream).

The chat routes check their limits where the body is read (read_question): the app's budget
(its key's) and the end user's the body names. A server-kept session the database cannot
give back now is not a failure: the question is answered on its own, and the answer begins
with a line saying so (HISTORY_UNREADABLE).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from assistant.eligibility.profile import ProfileInput
from assistant.errors import UnavailableError
from assistant.models import Answer, Citation, Message
from assistant.serve.access import bounded, session_key
from assistant.serve.api.errors import ApiError
from assistant.serve.api.guards import Caller, Client, Served, rate_limited
from assistant.serve.runtime import Question, Runtime

MODEL_NAME = "policy-assistant"
# Said in an OpenAI stream before the verified answer that replaces a model's draft.
REPLACED = "\n\n（以上内容未通过引用核验，以下为依据文件原文的回答）\n"
# The first line of an answer given without its conversation, which could not be read.
HISTORY_UNREADABLE = (
    "（对话记录暂时无法读取，本次按单独问题回答。"
    "The conversation so far could not be read; this is answered as a question on its own.）"
)

router = APIRouter()


# -- requests --------------------------------------------------------------------------------


class ChatMessage(BaseModel):
    role: Literal["system", "user", "assistant"]
    content: str = Field(max_length=20_000)


class ChatRequest(BaseModel):
    """A conversation; its last user message is the question."""

    model_config = ConfigDict(extra="ignore")
    messages: list[ChatMessage] = Field(min_length=1, max_length=401)
    session_id: str | None = Field(None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    # The end user behind an app key (a mini-program sends the user's openid): a session
    # belongs to the key and this user, so another user or key naming it starts afresh.
    user: str | None = Field(None, min_length=1, max_length=128)


class CompletionRequest(ChatRequest):
    """The OpenAI chat-completions request; sampling options are accepted and ignored."""

    model: str = Field(MODEL_NAME, max_length=200)
    stream: bool = False


class SearchRequest(BaseModel):
    query: str = Field(min_length=1, max_length=2_000)
    k: int = Field(5, ge=1, le=20)


class EligibilityRequest(BaseModel):
    """An enterprise's profile; facts left out are unknown (and asked for)."""

    profile: ProfileInput


def read_question(runtime: Runtime, request: ChatRequest, who: str) -> Question:
    """The question, its history (sent, or kept by the server), within the configured limits:
    429 when the app's budget or this end user's is spent. Reads the database: for a worker
    thread."""
    s = runtime.settings
    refused = runtime.admit(who, request.user)
    if refused is not None:
        raise rate_limited(*refused)
    messages = [Message(m.role, m.content) for m in request.messages if m.role != "system"]
    last = max((i for i, m in enumerate(messages) if m.role == "user"), default=None)
    if last is None or not messages[last].content.strip():
        raise ApiError(
            422,
            "no_question",
            "请求中没有用户提问（messages 里最后一条 user 消息）。",
            "The request holds no question (a last message with role 'user').",
        )
    text = messages[last].content.strip()
    if len(text) > s.max_question_chars:
        raise ApiError(
            422,
            "question_too_long",
            f"问题过长（上限 {s.max_question_chars} 字）。",
            f"The question is too long (limit {s.max_question_chars} characters).",
        )
    history = messages[:last]
    if sum(m.role == "user" for m in history) > s.max_history_turns:
        raise ApiError(
            422,
            "history_too_long",
            f"对话历史过长（上限 {s.max_history_turns} 轮）。",
            f"The history is too long (limit {s.max_history_turns} turns).",
        )
    owner = session_key(who, request.user, request.session_id) if request.session_id else None
    lost = False
    if owner and not history:
        try:
            history = runtime.sessions.history(owner)
        except UnavailableError:
            lost = True
    return Question(
        text, bounded(history, s.history_turns), request.session_id, owner, request.user, lost
    )


async def question_of(runtime: Runtime, request: ChatRequest, who: str) -> Question:
    """read_question on a worker thread."""
    return await run_in_threadpool(read_question, runtime, request, who)


def shown(answer: Answer, question: Question) -> Answer:
    """The answer as the client sees it: said to be without its conversation when that
    could not be read."""
    if not question.history_lost:
        return answer
    return replace(
        answer,
        answer=f"{HISTORY_UNREADABLE}\n{answer.answer}",
        notes=(*answer.notes, HISTORY_UNREADABLE),
    )


# -- what answers look like ------------------------------------------------------------------


def result_json(answer: Answer, message_id: str, session_id: str | None) -> dict[str, Any]:
    return {**answer.to_json(), "message_id": message_id, "session_id": session_id}


def footnotes(answer: Answer) -> str:
    """Citations as a text block, for clients that show only the message text."""

    def line(c: Citation) -> str:
        return f"[{c.n}] {c.where()}：“{c.quote}”"

    blocks = []
    if answer.citations:
        blocks.append("引用：\n" + "\n".join(line(c) for c in answer.citations))
    if answer.related:
        blocks.append(
            "相关条文：\n" + "\n".join(line(c).replace(f"[{c.n}]", "-", 1) for c in answer.related)
        )
    return ("\n\n" + "\n\n".join(blocks)) if blocks else ""


def sse(data: dict[str, Any], event: str | None = None) -> str:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data, ensure_ascii=False)}\n\n"


def answer_extras(answer: Answer, message_id: str | None) -> dict[str, Any]:
    """What an OpenAI completion carries beside the message: citations, related, flags."""
    return {
        "citations": [c.to_json() for c in answer.citations],
        "related": [c.to_json() for c in answer.related],
        "abstained": answer.abstained,
        "mode": answer.mode,
        "message_id": message_id,
    }


def event_stream(events: AsyncIterator[str]) -> StreamingResponse:
    return StreamingResponse(
        events,
        media_type="text/event-stream",
        # A proxy in front passes each event on as it comes (nginx reads X-Accel-Buffering).
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


# -- routes ----------------------------------------------------------------------------------


@router.post("/v1/search", tags=["answers"])
def search(body: SearchRequest, runtime: Served, who: Client) -> dict[str, Any]:
    """The passages that best answer a query, with their citations."""
    hits = runtime.services.retriever.search(body.query, k=body.k)
    return {"query": body.query, "results": [h.to_json() for h in hits]}


@router.post("/v1/chat", tags=["answers"], response_model=dict[str, Any])
async def chat(body: ChatRequest, runtime: Served, who: Caller) -> JSONResponse:
    """A cited answer to the last user message, in the light of the conversation."""
    question = await question_of(runtime, body, who)
    answer, message_id = await runtime.answer(question, who)
    return JSONResponse(result_json(shown(answer, question), message_id, question.session_id))


@router.post(
    "/v1/chat/stream",
    tags=["answers"],
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"text/event-stream": {}},
            "description": "delta…, [replace], result, done events",
        }
    },
)
async def chat_stream(body: ChatRequest, runtime: Served, who: Caller) -> StreamingResponse:
    """The same answer as server-sent events: `delta` texts as they come, `replace` if a
    model's answer was replaced, then `result` (the whole JSON result) and `done`."""
    question = await question_of(runtime, body, who)
    _ = runtime.services.assistant  # fails here, as JSON, when there is no index
    before = f"{HISTORY_UNREADABLE}\n" if question.history_lost else ""

    async def events() -> AsyncIterator[str]:
        if before:
            yield sse({"type": "delta", "text": before}, "delta")
        async for event, message_id in runtime.stream(question, who):
            if event.kind == "delta":
                yield sse({"type": event.kind, "text": event.text}, event.kind)
            elif event.kind == "replace":
                yield sse({"type": event.kind, "text": before + event.text}, event.kind)
            elif event.answer is not None:
                answer = shown(event.answer, question)
                result = result_json(answer, message_id or "", question.session_id)
                yield sse({"type": "result", **result}, "result")
        yield sse({"type": "done"}, "done")

    return event_stream(events())


@router.post("/v1/chat/completions", tags=["openai"])
async def completions(body: CompletionRequest, runtime: Served, who: Caller) -> Any:
    """OpenAI-compatible chat completions (plain and streamed). The citations come both as
    a footnote block in the message text and as the extra field `citations`."""
    question = await question_of(runtime, body, who)
    _ = runtime.services.assistant  # fails here, as JSON, when there is no index
    completion_id = f"chatcmpl-{uuid.uuid4().hex}"
    created = int(datetime.now(UTC).timestamp())
    if body.stream:
        chunks = completion_chunks(runtime, question, who, completion_id, created, body.model)
        return event_stream(chunks)
    answer, message_id = await runtime.answer(question, who)
    answer = shown(answer, question)
    return JSONResponse(
        {
            "id": completion_id,
            "object": "chat.completion",
            "created": created,
            "model": body.model,
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {
                        "role": "assistant",
                        "content": answer.answer + footnotes(answer),
                    },
                }
            ],
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
            **answer_extras(answer, message_id),
        }
    )


async def completion_chunks(
    runtime: Runtime, question: Question, who: str, completion_id: str, created: int, model: str
) -> AsyncIterator[str]:
    """A streamed completion: OpenAI's chunks, the footnotes and extras on the last."""

    def chunk(delta: dict[str, Any], finish_reason: str | None = None, **extra: Any) -> str:
        data = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
            **extra,
        }
        return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"

    yield chunk({"role": "assistant", "content": ""})
    if question.history_lost:
        yield chunk({"content": f"{HISTORY_UNREADABLE}\n"})
    async for event, message_id in runtime.stream(question, who):
        if event.kind == "delta":
            yield chunk({"content": event.text})
        elif event.kind == "replace":
            yield chunk({"content": REPLACED + event.text})
        elif event.answer is not None:
            answer = shown(event.answer, question)
            yield chunk({"content": footnotes(answer)})
            yield chunk({}, "stop", **answer_extras(answer, message_id))
    yield "data: [DONE]\n\n"


@router.post("/v1/eligibility", tags=["answers"])
def eligibility(body: EligibilityRequest, runtime: Served, who: Client) -> dict[str, Any]:
    """Every rule checked against the profile: verdicts, conditions cited, what to ask."""
    from assistant.eligibility import verdicts as engine

    profile = body.profile.to_profile()
    book = runtime.services.rulebook
    return engine.report(profile, engine.evaluate(profile, book.rules), book.citation)
