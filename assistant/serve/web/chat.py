"""The 政策问答 tab: the conversation, its answers streamed and then shown with their
citation cards, example questions, and 👍 / 👎 with an optional comment.

The page's one API (`/chat`, for gradio_client) answers a single question with the same JSON
as `POST /v1/chat`. Answers and feedback go through the runtime and the service the API
uses, so both faces answer from the same index and write the same records.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import gradio as gr
from starlette.concurrency import run_in_threadpool

from assistant.answer.pipeline import Transcript
from assistant.errors import AssistantError, UnavailableError
from assistant.models import Message
from assistant.serve import service
from assistant.serve.access import bounded
from assistant.serve.runtime import Question
from assistant.serve.web.context import (
    GENERIC_ERROR,
    PRIVATE,
    PageContext,
    host,
    unavailable,
)
from assistant.serve.web.render import answer_html, error_html, esc, pending_html, sections_in

log = logging.getLogger(__name__)

WELCOME = (
    '<div class="pa-welcome"><b>您好！</b>请输入您想了解的科技政策问题，'
    "我会依据已收录的政策文件原文作答，并列出所依据的条文；"
    "文件没有写明的，会如实告知。</div>"
)


@dataclass
class Exchange:
    """One question and its answer, as the page's conversation keeps them."""

    question: str
    answer: str  # the answer text (not its HTML), read as history by the next question
    message_id: str | None  # None when nothing was answered (an error)


class ChatTab:
    """The chat's handlers."""

    def __init__(self, context: PageContext) -> None:
        self.context = context

    async def _limited(self, request: gr.Request | None) -> str | None:
        """A message when this browser asks too often, else None. The page is one app and each
        browser one of its end users: it spends the user's limit and the page's budget, kept
        where the API's are (the database, which may be a network away: off the event loop)."""
        refused = await run_in_threadpool(self.context.runtime.admit, "web", host(request))
        if refused is not None:
            return f"提问过于频繁，请 {max(1, round(refused[1]))} 秒后再试。"
        return None

    async def respond(
        self,
        question: str,
        chat: list[dict[str, Any]],
        exchanges: list[Exchange],
        conversation: str,
        request: gr.Request,
    ) -> AsyncIterator[tuple[Any, ...]]:
        """Answer the question in the light of the conversation, streaming the text, then
        showing the result with its citation cards.

        Yields the chat twice (for the chat box, and for the copy the server keeps), the
        emptied question box, the exchanges, the conversation id (made on the first question)
        and the hidden feedback row. The chat comes in from the server's copy, not from the
        browser: sent back with every question, a long conversation's cards would outgrow
        the request size limit.
        """
        conversation = conversation or uuid.uuid4().hex
        hide = gr.update(visible=False)
        question = (question or "").strip()
        if not question:
            yield chat, chat, "", exchanges, conversation, gr.update()
            return
        chat = [
            *chat,
            {"role": "user", "content": esc(question)},
            {"role": "assistant", "content": pending_html("")},
        ]
        yield chat, chat, "", exchanges, conversation, hide
        limit = self.context.settings.max_question_chars
        if len(question) > limit:
            problem: str | None = f"问题过长（上限 {limit} 字），请精简后再问。"
        else:
            problem = await self._limited(request)
        answering = (
            self._failed(question, problem)
            if problem is not None
            else self._answering(question, exchanges, conversation)
        )
        async for shown, done in answering:
            chat[-1] = {"role": "assistant", "content": shown}
            kept = exchanges if done is None else [*exchanges, done]
            yield chat, chat, "", kept, conversation, hide

    @staticmethod
    async def _failed(question: str, message: str) -> AsyncIterator[tuple[str, Exchange]]:
        yield error_html(message), Exchange(question, "", None)

    async def _answering(
        self, text: str, exchanges: list[Exchange], conversation: str
    ) -> AsyncIterator[tuple[str, Exchange | None]]:
        """The answer's HTML as it is written, then finished with the exchange to keep.

        The answer is written as the API's streams are (Runtime.stream), so a visitor who
        leaves mid-answer holds no answer slot."""
        history = [
            m
            for e in exchanges
            if e.message_id
            for m in (Message("user", e.question), Message("assistant", e.answer))
        ]
        settings = self.context.settings
        question = Question(text, bounded(history, settings.history_turns), conversation)
        try:
            runtime = self.context.runtime
            transcript = Transcript()
            async for event, message_id in runtime.stream(question, "web"):
                transcript.add(event)
                if (answer := transcript.answer) is None:
                    yield pending_html(transcript.text), None
                    continue
                shown = answer_html(answer, sections_in(runtime.services.index))
                yield shown, Exchange(text, answer.answer, message_id)
        except UnavailableError as exc:
            yield error_html(unavailable(exc)), Exchange(text, "", None)
        except AssistantError as exc:
            yield error_html(exc.zh), Exchange(text, "", None)
        except Exception:
            log.exception("the page could not answer a question")
            yield error_html(GENERIC_ERROR), Exchange(text, "", None)

    async def chat_api(self, question: str, request: gr.Request) -> dict[str, Any]:
        """The answer JSON for one question (as `POST /v1/chat` gives) and its message_id."""
        question = (question or "").strip()
        limit = self.context.settings.max_question_chars
        if not question:
            raise gr.Error("请输入问题。")
        if len(question) > limit:
            raise gr.Error(f"问题过长（上限 {limit} 字）。")
        if (message := await self._limited(request)) is not None:
            raise gr.Error(message)
        try:
            answer, message_id = await self.context.runtime.answer(
                Question(question, [], None), "web-api"
            )
        except UnavailableError as exc:
            raise gr.Error(unavailable(exc)) from None
        except AssistantError as exc:
            raise gr.Error(exc.zh) from None
        return {**answer.to_json(), "message_id": message_id}

    @staticmethod
    def new_conversation() -> tuple[Any, ...]:
        """An empty chat, a new conversation, no feedback pending."""
        return [], [], "", [], "", gr.update(visible=False), None

    def like(self, exchanges: list[Exchange], data: gr.LikeData) -> tuple[Any, ...]:
        """👍 / 👎 on an answer: stored at once; then a comment may follow."""
        index = data.index if isinstance(data.index, int) else -1
        rated = exchanges[index // 2] if 0 <= index // 2 < len(exchanges) else None
        if rated is None or rated.message_id is None or not isinstance(data.liked, bool):
            return gr.update(visible=False), None, gr.update()  # withdrawn, or not an answer
        rating = 1 if data.liked else -1
        try:
            service.feedback(self.context.runtime, rated.message_id, rating, None)
        except AssistantError as exc:
            log.error("feedback not stored: %s", exc.en)
            gr.Warning("评价未能保存，请稍后再试。")
            return gr.update(visible=False), None, gr.update()
        thanks = (
            "感谢您的肯定！" if rating > 0 else "抱歉没能帮上忙。"
        ) + "如愿意，可以补充说明（选填）："
        return gr.update(visible=True), (rated.message_id, rating), gr.update(value=thanks)

    def comment(self, pending: tuple[str, int] | None, text: str) -> tuple[Any, ...]:
        """The optional comment after a 👍 / 👎, stored beside it."""
        if pending and (text or "").strip():
            try:
                service.feedback(self.context.runtime, pending[0], pending[1], text.strip()[:2000])
                gr.Info("已收到您的补充说明，谢谢！")
            except AssistantError as exc:
                log.error("comment not stored: %s", exc.en)
                gr.Warning("说明未能保存，请稍后再试。")
        return gr.update(visible=False), None, ""


def _example_text(selected: gr.SelectData) -> str:
    """The text of the example question clicked in the empty chat."""
    return str(selected.value.get("text", "")) if isinstance(selected.value, dict) else ""


def build_chat_tab(chat: ChatTab) -> None:
    """The chat box, the question box, the examples and the feedback row, wired up."""
    examples = chat.context.site.page.examples  # the site file's
    chatbot = gr.Chatbot(
        show_label=False,
        elem_id="pa-chat",
        height="62vh",
        min_height=360,
        autoscroll=False,  # the page's script shows each new question at the top instead
        placeholder=WELCOME,
        buttons=[],
        latex_delimiters=[],
        layout="bubble",
        examples=[{"text": q} for q in examples] or None,
        feedback_options=("Like", "Dislike"),
    )
    with gr.Row(elem_id="pa-feedback", visible=False) as feedback_row:
        feedback_text = gr.Markdown()
        comment = gr.Textbox(
            show_label=False,
            placeholder="例如：没有说明申报时间",
            max_lines=3,
            scale=4,
            min_width=200,
        )
        comment_send = gr.Button("提交说明", size="sm", scale=1, min_width=90)
    with gr.Row(elem_id="pa-ask"):
        question = gr.Textbox(
            show_label=False,
            scale=6,
            min_width=200,
            max_lines=4,
            placeholder="请输入问题，例如：高企的企业所得税税率是多少？",
            elem_id="pa-question",
            max_length=chat.context.settings.max_question_chars,
        )
        send = gr.Button("发送", variant="primary", scale=1, min_width=72, elem_id="pa-send")
    with gr.Row(elem_id="pa-examples", visible=False) as examples_row:
        gr.HTML('<span class="pa-examples-label">试试这样问：</span>', padding=False)
        example_buttons = [gr.Button(q, size="sm", elem_classes=["pa-example"]) for q in examples]
    new_chat = gr.Button("开始新对话", size="sm", elem_id="pa-new")

    exchanges = gr.State([])
    conversation = gr.State("")  # an id made on the first question, for the records
    pending = gr.State(None)  # the answer just rated, awaiting an optional comment
    shown = gr.State([])  # the chat box's messages, kept on the server (see ChatTab.respond)
    ask = {
        "fn": chat.respond,
        "inputs": [question, shown, exchanges, conversation],
        "outputs": [chatbot, shown, question, exchanges, conversation, feedback_row],
        "concurrency_limit": 4,
        **PRIVATE,
    }
    send.click(**ask)
    question.submit(**ask)
    chatbot.example_select(_example_text, None, question, **PRIVATE).then(**ask)
    for button, text in zip(example_buttons, examples, strict=True):
        button.click(lambda t=text: t, None, question, **PRIVATE).then(**ask)
    # The examples show inside the empty chat; once it has begun, they wait below it.
    gr.on(
        [send.click, question.submit, chatbot.example_select],
        lambda: gr.update(visible=True),
        None,
        examples_row,
        queue=False,
        **PRIVATE,
    )
    for trigger in (new_chat.click, chatbot.clear):
        outputs = [chatbot, shown, question, exchanges, conversation, feedback_row, pending]
        trigger(chat.new_conversation, None, outputs, **PRIVATE)
        trigger(lambda: gr.update(visible=False), None, examples_row, queue=False, **PRIVATE)
    chatbot.like(chat.like, [exchanges], [feedback_row, pending, feedback_text], **PRIVATE)
    for event in (comment_send.click, comment.submit):
        event(chat.comment, [pending, comment], [feedback_row, pending, comment], **PRIVATE)
