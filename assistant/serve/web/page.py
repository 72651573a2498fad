"""The web page: a chat with cited answers, the documents to read, and staff tools.

Gradio Blocks mounted at "/" inside the API's own FastAPI app, so one process serves both:

    policy-assistant serve        # the page at http://127.0.0.1:8000/, the API under /v1

Every handler uses the services the API's lifespan built (`app.state.runtime`), so the page and
the API answer from the same index and write to the same records. The page loads nothing from
elsewhere: system fonts, no analytics, no CDN. Handlers never raise to the page: they show what
went wrong, in Chinese, where it happened.
"""

from __future__ import annotations

import html
import json
import logging
import os
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote as urlquote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import gradio as gr
from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.routing import Match, Mount
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.types import Message as ASGIMessage

from assistant.answer.extractive import NOTE
from assistant.config import Settings
from assistant.errors import (
    AssistantError,
    IndexNotBuiltError,
    NotRemovableError,
    UnavailableError,
)
from assistant.ingest.loading import supported_suffixes
from assistant.models import Answer, Chunk, Citation, Message
from assistant.search.index import DocumentEntry, ServedIndex
from assistant.serve import service
from assistant.serve.access import bounded, staff_token
from assistant.serve.runtime import Question, Runtime

if TYPE_CHECKING:
    from assistant.serve.jobs import Job

log = logging.getLogger(__name__)

TITLE = "青浦区科技政策问答"
SUBTITLE = "上海市青浦区科学技术委员会 · 依据政策文件原文作答，每条回答注明出处"
EXAMPLES = (
    "我们刚拿到高企证书，区里有补贴吗？",
    "高企的企业所得税税率是多少？",
    "微贷通最高能贷多少？",
    "去年全区有效高企有多少家？",
)
FONTS = ("PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", "sans-serif")
MONO_FONTS = ("ui-monospace", "Menlo", "Consolas", "monospace")
CSS_PATH = Path(__file__).parent.parent / "page.css"  # package data of assistant.serve
RECENT_RECORDS = 20
# The metadata a reader is shown, in this order; other keys (checksums…) are for the index.
META_LABELS = {
    "index_number": "索引号",
    "issuer": "发文机关",
    "kind": "类别",
    "department": "法律部门",
    "date": "成文日期",
    "publish_date": "发布日期",
    "effective_date": "施行日期",
    "version_date": "版本日期",
    "status": "效力状态",
    "source": "来源",
    "source_url": "原文链接",
    "note": "说明",
}

GENERIC_ERROR = "服务暂时出现问题，请稍后再试。如多次出现，请联系区科委。"
NO_INDEX = "暂未收录政策文件，暂时无法回答。请工作人员在“工作人员”页上传文件后再试。"
NO_DOCUMENTS = "暂未收录政策文件。工作人员可在“工作人员”页上传文件。"
STORE_DOWN = "政策文件库暂时无法访问，请稍后再试。如多次出现，请联系区科委。"
CHOOSE_DOCUMENT = "请选择一份文件，即可逐节阅读。"
NO_ADMIN = "本服务未配置管理员密钥（ASSISTANT_ADMIN_KEY），工作人员功能未开启。"


def unavailable(exc: UnavailableError, no_index: str = NO_INDEX) -> str:
    """Why nothing can be served, as the page says it: no documents yet, or the store is down
    (its own message names the server, which is not for the public)."""
    return no_index if isinstance(exc, IndexNotBuiltError) else STORE_DOWN


# -- rendering (pure: plain data in, HTML out; every text from a document or a user escaped) ---


def esc(text: str) -> str:
    """Text as HTML, line breaks kept."""
    return html.escape(text).replace("\n", "<br>")


def _highlighted(text: str, span: tuple[int, int] | None) -> str:
    """`text` as HTML with `text[span]` marked."""
    if span is None:
        return esc(text)
    a, b = span
    return f"{esc(text[:a])}<mark>{esc(text[a:b])}</mark>{esc(text[b:])}"


def quote_span(chunk: Chunk, start: int, end: int, quote: str) -> tuple[int, int] | None:
    """Where a quote lies inside a chunk's text, by its offsets or else by searching."""
    a = start - chunk.start
    if quote and 0 <= a and chunk.text[a : a + len(quote)] == quote:
        return a, a + len(quote)
    found = chunk.text.find(quote) if quote else -1
    return (found, found + len(quote)) if found >= 0 else None


def section_chunks(index: ServedIndex, doc_id: str, section: str) -> list[Chunk]:
    """The chunks of one section of a document, in reading order."""
    return sorted(
        (c for c in index.chunks if c.doc_id == doc_id and c.section == section),
        key=lambda c: c.start,
    )


def document_sections(index: ServedIndex, doc_id: str) -> list[str]:
    """A document's section paths in reading order."""
    chunks = sorted((c for c in index.chunks if c.doc_id == doc_id), key=lambda c: c.start)
    return list(dict.fromkeys(c.section for c in chunks))


def section_label(section: str) -> str:
    return section.replace(" > ", " › ") if section else "标题与开头"


def reader_link(doc_id: str, section: str, start: int | None = None, end: int | None = None) -> str:
    """The page address that opens a document at a section (the Documents tab)."""
    link = f"?doc={urlquote(doc_id, safe='')}&section={urlquote(section, safe='')}"
    return link + (f"&from={start}&to={end}" if start is not None and end is not None else "")


def section_text_html(
    chunks: Sequence[Chunk], start: int | None = None, end: int | None = None
) -> str:
    """The whole section as paragraphs, the part at [start, end) of the document marked."""
    parts = []
    for c in chunks:
        span = None
        if start is not None and end is not None and c.start <= start < c.end:
            a = start - c.start
            span = (a, min(len(c.text), end - c.start))
        lead = f'<span class="pa-lead">{esc(c.lead)}</span>' if c.lead else ""
        parts.append(f"<p>{lead}{_highlighted(c.text, span)}</p>")
    return "".join(parts)


def citation_card(c: Citation, section: Sequence[Chunk], label: str = "") -> str:
    """One source under an answer: document, 文号, section, the quote marked, the whole section."""
    chunk = c.chunk
    marker = f'<span class="pa-card-n">{label or f"[{c.n}]"}</span>'
    number = f'<span class="pa-docno">{esc(chunk.doc_number)}</span>' if chunk.doc_number else ""
    place = " · ".join(
        p for p in (section_label(chunk.section) if chunk.section else "", c.page_label) if p
    )
    where = f'<div class="pa-card-sec">{esc(place)}</div>' if place else ""
    full = section_text_html(section or [chunk], c.start, c.end)
    link = html.escape(reader_link(chunk.doc_id, chunk.section, c.start, c.end))
    return (
        f'<div class="pa-card">'
        f'<div class="pa-card-head">{marker}<span class="pa-card-title">'
        f"《{esc(chunk.title)}》</span>{number}</div>{where}"
        f'<blockquote class="pa-quote"><mark>{esc(c.quote)}</mark></blockquote>'
        f'<details class="pa-more"><summary>展开本节全文</summary>'
        f'<div class="pa-section-text">{full}</div></details>'
        f'<a class="pa-open" href="{link}" target="_blank" rel="noopener">在文件中查看 ↗</a>'
        f"</div>"
    )


def _answer_text(text: str) -> str:
    """The answer text with its markers set apart and the closing note in small print."""
    lines = text.strip().split("\n")
    note = ""
    if lines and lines[-1].strip() == NOTE:
        note = f'<div class="pa-fineprint">{esc(lines.pop().strip())}</div>'
    body = esc("\n".join(lines))
    for n in range(1, 21):
        body = body.replace(f"[{n}]", f'<sup class="pa-ref">[{n}]</sup>')
    return f'<div class="pa-answer-text">{body}</div>{note}'


def answer_html(answer: Answer, sections: Callable[[Chunk], Sequence[Chunk]]) -> str:
    """A finished answer: its text, its citations as cards, or the notice that the documents
    do not say, with the related clauses."""
    out = ['<div class="pa-answer">']
    if answer.abstained:
        badge = "需要补充信息" if answer.intent == "clarify" else "文件未载明"
        out.append(
            f'<div class="pa-notice"><div class="pa-notice-head">'
            f'<span class="pa-badge">!</span>{badge}</div>'
            f"{_answer_text(answer.answer)}</div>"
        )
    else:
        out.append(_answer_text(answer.answer))
    out.extend(f'<div class="pa-note">{esc(note)}</div>' for note in answer.notes)
    if answer.citations:
        out.append('<div class="pa-cards-head">依据条文</div>')
        out.extend(citation_card(c, sections(c.chunk)) for c in answer.citations)
    if answer.related:
        out.append('<div class="pa-cards-head">相关条文（供参考，未直接回答所问）</div>')
        out.extend(citation_card(c, sections(c.chunk), "参考") for c in answer.related)
    out.append("</div>")
    return "".join(out)


UNSURE = "不确定"
YES_NO = [UNSURE, "是", "否"]
ELIGIBILITY_INTRO = (
    "填写企业情况后点击“开始自测”，即可逐条对照已收录政策的条件：哪些已经满足、"
    "哪些不满足、哪些还需要补充信息。每个条件都注明所依据的原文。"
)
OUTCOME_CLASSES = {"eligible": "ok", "needs_info": "ask", "not_stated": "ask", "not_eligible": "no"}
MARK_CLASSES = {"met": "ok", "unmet": "no", "unknown": "ask"}


def verdicts_html(
    result: dict[str, Any],
    citations: Sequence[Citation],
    sections: Callable[[Chunk], Sequence[Chunk]],
) -> str:
    """Eligibility verdicts as cards, the conditions marked, then the cited clauses."""
    from assistant.eligibility.verdicts import STATUS_MARKS

    if not result["verdicts"]:
        return empty_html("暂无可用的资格规则。工作人员可在 corpus/rules/ 中添加规则。")
    out = ['<div class="pa-verdicts">']
    counts = {
        k: sum(v["outcome"] == k for v in result["verdicts"])
        for k in ("eligible", "needs_info", "not_eligible")
    }
    out.append(
        f'<div class="pa-verdict-summary">符合 {counts["eligible"]} 项 · '
        f"需补充信息 {counts['needs_info']} 项 · 不符合 {counts['not_eligible']} 项</div>"
    )
    if result["questions"]:
        out.append(
            '<div class="pa-note">补充以下信息可得出更多结论：'
            + "".join(esc(q) for q in result["questions"])
            + "</div>"
        )
    for v in result["verdicts"]:
        kind = OUTCOME_CLASSES[v["outcome"]]
        conds = "".join(
            f'<li class="pa-cond-{MARK_CLASSES[c["status"]]}">'
            f'<span class="pa-mark">{STATUS_MARKS[c["status"]]}</span>{esc(c["label"])}'
            f'<sup class="pa-ref">[{c["citation"]}]</sup></li>'
            for c in v["conditions"]
        )
        if not v["conditions"]:
            conds = '<li class="pa-cond-ask"><span class="pa-mark">？</span>所收录文件未载明申请条件</li>'
        missing = "".join(
            f'<div class="pa-missing">待补充：{esc(m["question"])}</div>' for m in v["missing"]
        )
        details = ""
        if "details" in v:
            d = v["details"]
            details = (
                f'<div class="pa-details">具体以{esc(d["document"])}为准'
                f'<sup class="pa-ref">[{d["citation"]}]</sup>：{esc(d["note"])}</div>'
            )
        out.append(
            f'<div class="pa-verdict pa-verdict-{kind}">'
            f'<div class="pa-verdict-head"><span class="pa-outcome">{esc(v["outcome_label"])}</span>'
            f'<span class="pa-verdict-name">{esc(v["name"])}</span></div>'
            f'<div class="pa-benefit">{esc(v["benefit"]["text"])}'
            f'<sup class="pa-ref">[{v["benefit"]["citation"]}]</sup></div>'
            f'<ul class="pa-conds">{conds}</ul>{missing}{details}</div>'
        )
    out.append('<div class="pa-cards-head">依据条文</div>')
    out.extend(citation_card(c, sections(c.chunk)) for c in citations)
    out.append(f'<div class="pa-fineprint">{esc(result["note"])}</div></div>')
    return "".join(out)


def pending_html(text: str) -> str:
    """An answer still being written."""
    if not text:
        return '<div class="pa-answer pa-pending">正在查找相关文件…</div>'
    return f'<div class="pa-answer pa-pending">{esc(text)}</div>'


def error_html(message: str) -> str:
    return f'<div class="pa-answer"><div class="pa-error">{esc(message)}</div></div>'


def document_header_html(entry: DocumentEntry) -> str:
    """A document's title and metadata, as a definition list."""
    rows = [("文号", entry.doc_number)] if entry.doc_number else []
    rows += [
        (label, str(entry.metadata[key]))
        for key, label in META_LABELS.items()
        if entry.metadata.get(key)
    ]
    rows.append(("段落数", str(entry.chunks)))
    items = []
    for label, value in rows:
        shown = esc(value)
        if value.startswith(("http://", "https://")):
            shown = (
                f'<a href="{html.escape(value)}" target="_blank" rel="noopener noreferrer">'
                f"{esc(value)}</a>"
            )
        items.append(f"<dt>{esc(label)}</dt><dd>{shown}</dd>")
    return (
        f'<div class="pa-doc-head"><h3>《{esc(entry.title)}》</h3>'
        f'<dl class="pa-meta">{"".join(items)}</dl></div>'
    )


def section_html(
    section: str,
    chunks: Sequence[Chunk],
    position: tuple[int, int],
    start: int | None = None,
    end: int | None = None,
) -> str:
    n, total = position
    return (
        f'<div class="pa-reader"><div class="pa-reader-pos">第 {n} / {total} 节</div>'
        f"<h4>{esc(section_label(section))}</h4>"
        f'<div class="pa-section-text">{section_text_html(chunks, start, end)}</div></div>'
    )


def empty_html(message: str) -> str:
    return f'<div class="pa-empty">{esc(message)}</div>'


def _beijing_time(stamp: str) -> str:
    """A stored UTC timestamp as Beijing time, to the minute."""
    try:
        moment = datetime.fromisoformat(stamp).astimezone(ZoneInfo("Asia/Shanghai"))
    except (ValueError, ZoneInfoNotFoundError):
        return stamp[:16].replace("T", " ") + " UTC"
    return moment.strftime("%Y-%m-%d %H:%M")


def records_html(rows: Sequence[dict[str, Any]], empty: str) -> str:
    """Recorded exchanges for staff: when, the question, the answer folded, any comments."""
    if not rows:
        return empty_html(empty)
    items = []
    for r in rows[:RECENT_RECORDS]:
        when = _beijing_time(str(r.get("created", "")))
        rating = {
            1: '<span class="pa-rating-up">有用</span>',
            -1: '<span class="pa-rating-down">没有帮助</span>',
        }.get(r.get("rating") or 0, "")
        comments = "".join(
            f'<div class="pa-comment">“{esc(c)}”</div>' for c in r.get("comments", [])
        )
        items.append(
            f'<li class="pa-record"><div class="pa-record-when">{esc(when)} {rating}'
            f'</div><div class="pa-record-q">{esc(r.get("question", ""))}</div>'
            f"{comments}<details><summary>查看回答</summary>"
            f'<div class="pa-record-a">{esc(r.get("answer", ""))}</div></details></li>'
        )
    more = f"（仅显示最近 {RECENT_RECORDS} 条）" if len(rows) > RECENT_RECORDS else ""
    return f'<ul class="pa-records">{"".join(items)}</ul><div class="pa-fineprint">{more}</div>'


# -- what happens on the page --------------------------------------------------------------


@dataclass
class Turn:
    """One question and answer of a conversation on the page."""

    question: str
    answer: str  # the answer text (not its HTML), read as history by the next question
    message_id: str | None  # None when nothing was answered (an error)


def _host(request: gr.Request | None) -> str:
    """The visitor's address, as the server's ClientAddress settled it."""
    client = getattr(request, "client", None) if request is not None else None
    return str(client.host) if client is not None and client.host else "unknown"


class Page:
    """The page's handlers, over the runtime the API's lifespan builds."""

    def __init__(
        self, app: FastAPI, settings: Settings, uploads: StaffUploads | None = None
    ) -> None:
        self.app = app
        self.settings = settings
        self.uploads = uploads or StaffUploads()

    @property
    def runtime(self) -> Runtime:
        runtime: Runtime = self.app.state.runtime
        runtime.watch()
        return runtime

    # -- chat ----------------------------------------------------------------------------

    def _limited(self, request: gr.Request | None) -> str | None:
        """A message when this browser asks too often (the API's per-minute limit), else None."""
        wait = self.runtime.limiter.take(f"web:{_host(request)}")
        if wait > 0:
            return f"提问过于频繁，请 {max(1, round(wait))} 秒后再试。"
        return None

    @staticmethod
    def _sections(index: ServedIndex) -> Callable[[Chunk], Sequence[Chunk]]:
        return lambda chunk: section_chunks(index, chunk.doc_id, chunk.section)

    async def respond(
        self,
        question: str,
        chat: list[dict[str, Any]],
        turns: list[Turn],
        conversation: str,
        request: gr.Request,
    ) -> AsyncIterator[tuple[Any, ...]]:
        """Answer the question in the light of the conversation, streaming the text, then
        showing the result with its citation cards.

        Yields the chat twice (for the chat box, and for the copy the server keeps), the
        emptied question box, the turns, the conversation id (made on the first question) and
        the hidden feedback row. The chat comes in from the server's copy, not from the
        browser: sent back with every question, a long conversation's cards would outgrow
        the request size limit. The answer is written as the API's streams are
        (Runtime.stream), so a visitor who leaves mid-answer holds no answer slot.
        """
        conversation = conversation or uuid.uuid4().hex
        hide = gr.update(visible=False)
        question = (question or "").strip()
        if not question:
            yield chat, chat, "", turns, conversation, gr.update()
            return
        chat = [
            *chat,
            {"role": "user", "content": esc(question)},
            {"role": "assistant", "content": pending_html("")},
        ]
        yield chat, chat, "", turns, conversation, hide

        def fail(message: str) -> tuple[Any, ...]:
            chat[-1] = {"role": "assistant", "content": error_html(message)}
            return chat, chat, "", [*turns, Turn(question, "", None)], conversation, hide

        limit = self.settings.max_question_chars
        if len(question) > limit:
            yield fail(f"问题过长（上限 {limit} 字），请精简后再问。")
            return
        if (message := self._limited(request)) is not None:
            yield fail(message)
            return
        history = [
            m
            for t in turns
            if t.message_id
            for m in (Message("user", t.question), Message("assistant", t.answer))
        ]
        asked = Question(question, bounded(history, self.settings.history_turns), conversation)
        try:
            runtime = self.runtime
            text = ""
            async for event, message_id in runtime.stream(asked, "web"):
                if event.kind == "delta":
                    text += event.text
                elif event.kind == "replace":
                    text = event.text
                if event.answer is None:
                    chat[-1] = {"role": "assistant", "content": pending_html(text)}
                    yield chat, chat, "", turns, conversation, hide
                    continue
                answer = event.answer
                chat[-1] = {
                    "role": "assistant",
                    "content": answer_html(answer, self._sections(runtime.services.index)),
                }
                yield (
                    chat,
                    chat,
                    "",
                    [*turns, Turn(question, answer.answer, message_id)],
                    conversation,
                    hide,
                )
        except UnavailableError as exc:
            yield fail(unavailable(exc))
        except AssistantError as exc:
            yield fail(exc.zh)
        except Exception:
            log.exception("the page could not answer a question")
            yield fail(GENERIC_ERROR)

    async def chat_api(self, question: str, request: gr.Request) -> dict[str, Any]:
        """The answer JSON for one question (as `POST /v1/chat` gives) and its message_id."""
        question = (question or "").strip()
        if not question:
            raise gr.Error("请输入问题。")
        if len(question) > self.settings.max_question_chars:
            raise gr.Error(f"问题过长（上限 {self.settings.max_question_chars} 字）。")
        if (message := self._limited(request)) is not None:
            raise gr.Error(message)
        try:
            answer, message_id = await self.runtime.answer(Question(question, [], None), "web-api")
        except UnavailableError as exc:
            raise gr.Error(unavailable(exc)) from None
        except AssistantError as exc:
            raise gr.Error(exc.zh) from None
        return {**answer.to_json(), "message_id": message_id}

    @staticmethod
    def new_conversation() -> tuple[Any, ...]:
        return [], [], "", [], "", gr.update(visible=False), None

    def like(self, turns: list[Turn], data: gr.LikeData) -> tuple[Any, ...]:
        """👍 / 👎 on an answer: stored at once; then a comment may follow."""
        index = data.index if isinstance(data.index, int) else -1
        turn = turns[index // 2] if 0 <= index // 2 < len(turns) else None
        if turn is None or turn.message_id is None or not isinstance(data.liked, bool):
            return gr.update(visible=False), None, gr.update()  # withdrawn, or not an answer
        rating = 1 if data.liked else -1
        try:
            service.feedback(self.runtime, turn.message_id, rating, None)
        except AssistantError as exc:
            log.error("feedback not stored: %s", exc.en)
            gr.Warning("评价未能保存，请稍后再试。")
            return gr.update(visible=False), None, gr.update()
        thanks = (
            "感谢您的肯定！" if rating > 0 else "抱歉没能帮上忙。"
        ) + "如愿意，可以补充说明（选填）："
        return gr.update(visible=True), (turn.message_id, rating), gr.update(value=thanks)

    def comment(self, pending: tuple[str, int] | None, text: str) -> tuple[Any, ...]:
        """The optional comment after a 👍 / 👎, stored beside it."""
        if pending and (text or "").strip():
            try:
                service.feedback(self.runtime, pending[0], pending[1], text.strip()[:2000])
                gr.Info("已收到您的补充说明，谢谢！")
            except AssistantError as exc:
                log.error("comment not stored: %s", exc.en)
                gr.Warning("说明未能保存，请稍后再试。")
        return gr.update(visible=False), None, ""

    # -- documents -----------------------------------------------------------------------

    # -- eligibility ---------------------------------------------------------------------

    def eligibility(
        self,
        qualifications: list[str],
        stage: str,
        size: str,
        recognition: str,
        registered: str,
        park: str,
        industry: str,
        facts: list[str],
    ) -> str:
        """Verdicts for the form's profile: unticked statuses are not held, the rest unknown."""
        from assistant.eligibility import verdicts as engine
        from assistant.eligibility.profile import FACTS, parse_profile

        labels = {spec.label: name for name, spec in FACTS.items()}
        data: dict[str, Any] = {"qualifications": list(qualifications or [])}
        for name, value in (
            ("stage", stage),
            ("size", size),
            ("high_tech_recognition", recognition),
            ("industry", industry),
        ):
            if value and value != UNSURE:
                data[name] = value
        for name, value in (("registered_in_district", registered), ("in_zhangjiang_park", park)):
            if value in ("是", "否"):
                data[name] = value == "是"
        for label in facts or []:
            data[labels[label]] = True
        try:
            index = self.runtime.services.index
            book = self.runtime.services.rulebook
            profile = parse_profile(data)
        except UnavailableError as exc:
            return empty_html(unavailable(exc))
        except AssistantError as exc:
            return error_html(exc.zh)
        result, citations = engine.cited_report(
            profile, engine.evaluate(profile, book.rules), book.citation
        )
        return verdicts_html(result, citations, self._sections(index))

    def _index(self) -> ServedIndex | str:
        """The index served, or what the page says instead when there is none."""
        try:
            return self.runtime.services.index
        except UnavailableError as exc:
            return unavailable(exc, NO_DOCUMENTS)

    @staticmethod
    def _choices(index: ServedIndex) -> list[tuple[str, str]]:
        def label(d: DocumentEntry) -> str:
            return f"《{d.title}》" + (f"　{d.doc_number}" if d.doc_number else "")

        return [(label(d), d.doc_id) for d in index.manifest.documents.values()]

    def document_list(self, current: str | None = None) -> tuple[Any, ...]:
        """The documents to choose from, keeping the one open if it is still there."""
        index = self._index()
        if isinstance(index, str) or not index.manifest.documents:
            message = index if isinstance(index, str) else NO_DOCUMENTS
            return gr.update(choices=[], value=None, visible=False), empty_html(message)
        choices = self._choices(index)
        keep = current if current in index.manifest.documents else None
        count = f"共收录 {len(choices)} 份政策文件，选择一份即可逐节阅读。"
        return (
            gr.update(choices=choices, value=keep, visible=True),
            f'<div class="pa-summary">{count}</div>',
        )

    def open_document(
        self,
        doc_id: str | None,
        section: str | None = None,
        start: int | None = None,
        end: int | None = None,
    ) -> tuple[Any, ...]:
        """A document's header, the section navigation shown, its sections and the section."""
        index = self._index()
        if isinstance(index, str) or not doc_id or doc_id not in index.manifest.documents:
            message = index if isinstance(index, str) else CHOOSE_DOCUMENT
            return (
                "",
                gr.update(visible=False),
                gr.update(choices=[], value=None),
                empty_html(message),
            )
        sections = document_sections(index, doc_id)
        chosen = section if section in sections else sections[0] if sections else ""
        choices = [(f"{i}. {section_label(s)}", s) for i, s in enumerate(sections, 1)]
        return (
            document_header_html(index.manifest.documents[doc_id]),
            gr.update(visible=True),
            gr.update(choices=choices, value=chosen),
            self.show_section(doc_id, chosen, start, end),
        )

    def show_section(
        self,
        doc_id: str | None,
        section: str | None,
        start: int | None = None,
        end: int | None = None,
    ) -> str:
        """One section of a document, the part at [start, end) marked."""
        index = self._index()
        if isinstance(index, str) or not doc_id or doc_id not in index.manifest.documents:
            return empty_html(index if isinstance(index, str) else CHOOSE_DOCUMENT)
        sections = document_sections(index, doc_id)
        if section not in sections:
            return empty_html("请选择章节。")
        position = (sections.index(section or "") + 1, len(sections))
        return section_html(
            section or "", section_chunks(index, doc_id, section or ""), position, start, end
        )

    def step_section(self, doc_id: str | None, section: str | None, step: int) -> tuple[Any, ...]:
        """The previous or next section."""
        index = self._index()
        if isinstance(index, str) or not doc_id or doc_id not in index.manifest.documents:
            return gr.update(), empty_html(index if isinstance(index, str) else CHOOSE_DOCUMENT)
        sections = document_sections(index, doc_id)
        at = sections.index(section) if section in sections else 0
        target = sections[max(0, min(len(sections) - 1, at + step))] if sections else ""
        return gr.update(value=target), self.show_section(doc_id, target)

    def on_load(self, request: gr.Request) -> tuple[Any, ...]:
        """The document list; a page opened from a citation card (`?doc=…&section=…`)
        starts in the reader at that section."""
        params = dict(request.query_params) if request is not None else {}
        doc_id = params.get("doc")
        if not doc_id:
            return (gr.update(), *self.document_list(), *([gr.update()] * 4))

        def number(name: str) -> int | None:
            value = params.get(name, "")
            return int(value) if value.isdigit() else None

        return (
            gr.Tabs(selected="docs"),
            *self.document_list(doc_id),
            *self.open_document(doc_id, params.get("section"), number("from"), number("to")),
        )

    # -- staff ---------------------------------------------------------------------------

    def _admin(self, key: str | None, request: gr.Request | None = None) -> str | None:
        """A message when the key is not the admin key, else None. Checked on every action:
        the page's events can be called without the page. Wrong keys count against the
        address's allowance, as they do on the API."""
        runtime = self.runtime
        if runtime.keys.admin is None:
            return NO_ADMIN
        host = _host(request)
        if (wait := runtime.failures.blocked(host)) > 0:
            return f"密钥错误次数过多，请 {max(1, round(wait))} 秒后再试。"
        if not runtime.keys.is_admin((key or "").strip() or None):
            runtime.failures.failed(host)
            return "管理员密钥不正确。"
        return None

    def sign_in(self, key: str, request: gr.Request) -> tuple[Any, ...]:
        problem = self._admin(key, request)
        if problem is not None:
            return gr.update(visible=False), f'<div class="pa-error">{esc(problem)}</div>'
        return gr.update(visible=True), '<div class="pa-ok">已验证管理员身份。</div>'

    def ingest(
        self,
        key: str,
        files: list[str] | None,
        request: gr.Request,
        progress: gr.Progress = gr.Progress(),  # noqa: B008 — Gradio reads it from the signature
    ) -> str:
        """Copy uploaded policy files into the corpus, ingest them, serve the new index.

        The ingest runs as a background job, like one started through the API; the page
        follows its progress while every other visitor is answered from the old index.
        Only files this staff member uploaded through the page are taken.
        """
        problem = self._admin(key, request)
        if problem is not None:
            return f'<div class="pa-error">{esc(problem)}</div>'
        if not files:
            return '<div class="pa-error">请先选择要上传的文件。</div>'
        token = staff_token(request.headers.get("cookie", "") if request else "")
        if not self.uploads.owns(token, files):
            return '<div class="pa-error">只能收录您在本页上传的文件，请重新选择文件后再试。</div>'
        runtime = self.runtime
        if runtime.jobs.busy():
            return '<div class="pa-error">另一次收录正在进行，请稍后再试。</div>'
        progress(0, desc="正在检查文件…")
        job = service.add_documents(runtime, [Path(f) for f in files])
        return self._follow(job, progress)

    def _follow(self, job: Job, progress: gr.Progress) -> str:
        """Wait for a job, showing its progress; its outcome as HTML."""
        while job.state in ("queued", "running"):
            if job.total:
                progress(job.done / job.total, desc=f"正在建立索引（{job.done}/{job.total} 段）…")
            time.sleep(0.2)
        if job.state == "failed" or job.result is None:
            error = job.error or {"zh": GENERIC_ERROR}
            return f'<div class="pa-error">未能更新索引，原索引继续使用：{esc(error["zh"])}</div>'
        rows = [(f["file"], f["zh"], bool(f["ok"])) for f in job.result["files"]]
        index = job.result["index"]
        return self._ingest_report(rows, (index["documents"], index["chunks"]) if index else None)

    @staticmethod
    def _ingest_report(
        rows: Sequence[tuple[str, str, bool]], totals: tuple[int, int] | None
    ) -> str:
        items = "".join(
            f'<li class="{"pa-ok" if ok else "pa-error"}"><b>{esc(name)}</b>：{esc(outcome)}</li>'
            for name, outcome, ok in rows
        )
        summary = (
            f'<div class="pa-ok">索引已更新：现共 {totals[0]} 份文件、{totals[1]} 个段落，'
            "新的提问即按更新后的文件作答。</div>"
            if totals
            else ""
        )
        return f'{summary}<ul class="pa-results">{items}</ul>'

    def removable(self, key: str, request: gr.Request) -> Any:
        """The uploaded documents staff may remove."""
        if self._admin(key, request) is not None:
            return gr.update(choices=[], value=None)
        choices = [(f"《{title}》", d) for d, title in service.uploaded_documents(self.runtime)]
        return gr.update(choices=choices, value=None)

    def remove(
        self,
        key: str,
        doc_id: str | None,
        request: gr.Request,
        progress: gr.Progress = gr.Progress(),  # noqa: B008 — Gradio reads it from the signature
    ) -> tuple[Any, ...]:
        """Delete an uploaded document's file and ingest its folder again."""
        problem = self._admin(key, request)
        if problem is not None:
            return f'<div class="pa-error">{esc(problem)}</div>', gr.update()
        runtime = self.runtime
        if runtime.jobs.busy():
            return '<div class="pa-error">另一次收录正在进行，请稍后再试。</div>', gr.update()
        try:
            job, title = service.remove_uploaded(runtime, str(doc_id or ""))
        except UnavailableError as exc:
            return f'<div class="pa-error">{esc(unavailable(exc, NO_DOCUMENTS))}</div>', gr.update()
        except NotRemovableError:
            return '<div class="pa-error">请选择一份由工作人员上传的文件。</div>', gr.update()
        outcome = self._follow(job, progress)
        if job.state == "failed":
            return outcome, gr.update()
        return (
            f'<div class="pa-ok">已移除《{esc(title)}》，索引已更新。</div>',
            self.removable(key, request),
        )

    def recent(self, key: str, request: gr.Request) -> tuple[str, str]:
        """Recent unanswered questions and thumbs-down, for staff."""
        problem = self._admin(key, request)
        if problem is not None:
            return f'<div class="pa-error">{esc(problem)}</div>', ""
        try:
            unanswered = self.runtime.records.export(None, "unanswered")
            negative = self.runtime.records.export(None, "negative")
        except AssistantError as exc:
            return f'<div class="pa-error">{esc(exc.zh)}</div>', ""
        return (
            records_html(unanswered, "暂无未能回答的问题。"),
            records_html(negative, "暂无差评。"),
        )


# -- the page --------------------------------------------------------------------------------

HEADER = f"""<header class="pa-header"><div class="pa-emblem" aria-hidden="true">青</div>
<div><h1>{TITLE}</h1><p>{SUBTITLE}</p></div></header>"""
WELCOME = (
    '<div class="pa-welcome"><b>您好！</b>请输入您想了解的科技政策问题，'
    "我会依据已收录的政策文件原文作答，并列出所依据的条文；"
    "文件没有写明的，会如实告知。</div>"
)
FOOTER = (
    '<footer class="pa-footer">回答依据已收录的政策文件原文整理，仅供参考，'
    "具体以文件原文和主管部门的解释为准。请勿在提问中填写个人身份证号、手机号等信息。</footer>"
)
# The page's one script: Chinese as the page language (for CJK glyphs), and each new question
# shown at the top of the chat with its answer below it, so a long answer is read from its
# start (Gradio's autoscroll would leave the view at its end).
PAGE_JS = """() => {
  document.documentElement.lang = 'zh-CN';
  let seen = 0, writing = false;
  new MutationObserver(() => {
    const rows = document.querySelectorAll('#pa-chat .message-row.user-row');
    const box = document.querySelector('#pa-chat .bubble-wrap');
    if (box && rows.length && (rows.length > seen || writing)) {  // until the answer is done
      const last = rows[rows.length - 1];
      box.scrollTop += last.getBoundingClientRect().top - box.getBoundingClientRect().top - 8;
    }
    seen = rows.length;
    writing = document.querySelector('#pa-chat .pa-pending') !== null;
  }).observe(document.body, {childList: true, subtree: true});
}"""
# Once the server has accepted the admin key, the browser asks the API for the staff cookie
# that the page's upload route requires (a browser's file upload cannot carry the key).
STAFF_SIGN_IN_JS = """async (key) => {
  if (document.querySelector('#pa-signed .pa-ok')) {
    try {
      await fetch(new URL('v1/admin/page-session', document.baseURI), {method: 'POST',
        headers: {'Authorization': 'Bearer ' + (key || '').trim()}, credentials: 'same-origin'});
    } catch (e) {}
  }
  return [];
}"""
PRIVATE: dict[str, Any] = {"api_visibility": "private"}  # the page's own events: no API


def _example_text(selected: gr.SelectData) -> str:
    """The text of the example question clicked in the empty chat."""
    return str(selected.value.get("text", "")) if isinstance(selected.value, dict) else ""


def build_page(page: Page) -> gr.Blocks:
    """The Blocks: 政策问答, 政策文件, 资格自测, 工作人员."""
    with gr.Blocks(title=TITLE, analytics_enabled=False, delete_cache=(3600, 3600)) as blocks:
        gr.HTML(HEADER, padding=False)
        with gr.Tabs(elem_id="pa-tabs") as tabs:
            with gr.Tab("政策问答", id="chat"):
                _chat_tab(page)
            with gr.Tab("政策文件", id="docs") as docs_tab:
                reader = _documents_tab(page, docs_tab)
            with gr.Tab("资格自测", id="eligibility"):
                _eligibility_tab(page)
            with gr.Tab("工作人员", id="staff"):
                _staff_tab(page)
        gr.HTML(FOOTER, padding=False)
        blocks.load(page.on_load, None, [tabs, *reader], **PRIVATE)
        gr.api(page.chat_api, api_name="chat", concurrency_limit=4)
    return blocks


def _chat_tab(page: Page) -> None:
    chatbot = gr.Chatbot(
        show_label=False,
        elem_id="pa-chat",
        height="62vh",
        min_height=360,
        autoscroll=False,  # PAGE_JS shows each new question at the top instead
        placeholder=WELCOME,
        buttons=[],
        latex_delimiters=[],
        layout="bubble",
        examples=[{"text": q} for q in EXAMPLES],
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
            max_length=page.settings.max_question_chars,
        )
        send = gr.Button("发送", variant="primary", scale=1, min_width=72, elem_id="pa-send")
    with gr.Row(elem_id="pa-examples", visible=False) as examples_row:
        gr.HTML('<span class="pa-examples-label">试试这样问：</span>', padding=False)
        example_buttons = [gr.Button(q, size="sm", elem_classes=["pa-example"]) for q in EXAMPLES]
    new_chat = gr.Button("开始新对话", size="sm", elem_id="pa-new")

    turns = gr.State([])
    conversation = gr.State("")  # an id made on the first question, for the records
    pending = gr.State(None)  # the answer just rated, awaiting an optional comment
    shown = gr.State([])  # the chat box's messages, kept on the server (see Page.respond)
    ask = {
        "fn": page.respond,
        "inputs": [question, shown, turns, conversation],
        "outputs": [chatbot, shown, question, turns, conversation, feedback_row],
        "concurrency_limit": 4,
        **PRIVATE,
    }
    send.click(**ask)
    question.submit(**ask)
    chatbot.example_select(_example_text, None, question, **PRIVATE).then(**ask)
    for button, text in zip(example_buttons, EXAMPLES, strict=True):
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
        trigger(
            page.new_conversation,
            None,
            [chatbot, shown, question, turns, conversation, feedback_row, pending],
            **PRIVATE,
        )
        trigger(lambda: gr.update(visible=False), None, examples_row, queue=False, **PRIVATE)
    chatbot.like(page.like, [turns], [feedback_row, pending, feedback_text], **PRIVATE)
    for event in (comment_send.click, comment.submit):
        event(page.comment, [pending, comment], [feedback_row, pending, comment], **PRIVATE)


def _eligibility_tab(page: Page) -> None:
    from assistant.eligibility.profile import FACTS, QUALIFICATIONS

    statuses = [name for name in QUALIFICATIONS]
    other = [
        "tech_based",
        "rd_expenses",
        "tech_services",
        "tech_transfer_income",
        "high_tech_products",
        "employs_disabled",
        "special_equipment",
        "resource_recycling",
        "founded_by_priority_group",
    ]
    stage_choices = [UNSURE, "初创期", "成长期", "成熟期"]
    size_choices = [UNSURE, "微型", "小型", "中型", "大型"]
    industries = [
        UNSURE,
        "软件和信息服务业",
        "科技服务业",
        "生物医药",
        "集成电路",
        "北斗导航",
        "人工智能",
        "智能制造",
        "绿色新材料",
        "农林牧渔",
        "其他",
    ]
    with gr.Row(elem_id="pa-eligibility"):
        with gr.Column(scale=2, min_width=300, elem_id="pa-profile"):
            quals = gr.CheckboxGroup(
                statuses, label="已具备的资质（未勾选视为不具备）", elem_id="pa-quals"
            )
            with gr.Row():
                stage = gr.Radio(stage_choices, value=UNSURE, label="发展阶段", elem_id="pa-stage")
                size = gr.Radio(size_choices, value=UNSURE, label="企业规模", elem_id="pa-size")
            recognition = gr.Radio(
                [UNSURE, "首次认定", "重新认定"],
                value=UNSURE,
                label="高企认定类型（如是高新技术企业）",
                elem_id="pa-recognition",
            )
            with gr.Row():
                registered = gr.Radio(
                    YES_NO, value=UNSURE, label="在青浦区注册", elem_id="pa-registered"
                )
                park = gr.Radio(
                    YES_NO, value=UNSURE, label="位于张江高新区青浦园", elem_id="pa-park"
                )
            industry = gr.Dropdown(
                industries, value=UNSURE, label="所属行业", elem_id="pa-industry"
            )
            facts = gr.CheckboxGroup(
                [FACTS[f].label for f in other],
                label="其他情况（勾选符合的，未勾选视为不确定）",
                elem_id="pa-facts",
            )
            run = gr.Button("开始自测", variant="primary", elem_id="pa-check")
        with gr.Column(scale=3, min_width=300):
            verdicts = gr.HTML(empty_html(ELIGIBILITY_INTRO), elem_id="pa-verdicts")
    run.click(
        page.eligibility,
        [quals, stage, size, recognition, registered, park, industry, facts],
        verdicts,
        **PRIVATE,
    )


def _documents_tab(page: Page, tab: gr.Tab) -> list[Any]:
    """The document list and reader; returns what a page load fills (see Page.on_load)."""
    summary = gr.HTML()
    with gr.Row(equal_height=False):
        with gr.Column(scale=2, min_width=260):
            documents = gr.Radio(label="已收录文件", choices=[], elem_classes=["pa-doclist"])
        with gr.Column(scale=3, min_width=280):
            doc_header = gr.HTML()
            with gr.Column(visible=False) as navigation:
                sections = gr.Dropdown(label="章节", choices=[], filterable=True)
                with gr.Row():
                    previous = gr.Button("‹ 上一节", size="sm", min_width=80)
                    following = gr.Button("下一节 ›", size="sm", min_width=80)
            section_body = gr.HTML(empty_html(CHOOSE_DOCUMENT))
    tab.select(page.document_list, [documents], [documents, summary], **PRIVATE)
    documents.input(
        page.open_document, [documents], [doc_header, navigation, sections, section_body], **PRIVATE
    )
    sections.input(page.show_section, [documents, sections], [section_body], **PRIVATE)
    previous.click(
        lambda d, s: page.step_section(d, s, -1),
        [documents, sections],
        [sections, section_body],
        **PRIVATE,
    )
    following.click(
        lambda d, s: page.step_section(d, s, 1),
        [documents, sections],
        [sections, section_body],
        **PRIVATE,
    )
    return [documents, summary, doc_header, navigation, sections, section_body]


def _staff_tab(page: Page) -> None:
    gr.HTML(
        '<div class="pa-fineprint">供区科委工作人员使用：上传政策文件、'
        "查看未能回答的问题和用户认为没有帮助的回答。</div>"
    )
    if not page.settings.admin_key:
        gr.HTML(empty_html(NO_ADMIN))
        return
    with gr.Row():
        admin_key = gr.Textbox(label="管理员密钥", type="password", scale=4, min_width=200)
        sign_in = gr.Button("验证", scale=1, min_width=80)
    signed = gr.HTML(elem_id="pa-signed")
    with gr.Column(visible=False) as staff:
        gr.Markdown("#### 上传政策文件")
        suffixes = supported_suffixes()
        gr.HTML(
            f'<div class="pa-fineprint">支持 {"、".join(suffixes)}（UTF-8 或 GBK）；'
            "可在文件开头用 front matter 写明 title、doc_number、issuer、date 等。"
            "同名文件会替换旧版本。</div>"
        )
        uploads = gr.File(
            label="选择文件", file_count="multiple", file_types=list(suffixes), type="filepath"
        )
        ingest = gr.Button("收录并更新索引", variant="primary")
        ingest_result = gr.HTML()
        gr.Markdown("#### 移除上传的文件")
        with gr.Row():
            removable = gr.Dropdown(label="工作人员上传的文件", choices=[], scale=4, min_width=200)
            remove = gr.Button("移除", variant="stop", scale=1, min_width=80)
        remove_result = gr.HTML()
        with gr.Row():
            gr.Markdown("#### 最近的未答问题与差评")
            refresh = gr.Button("刷新", size="sm", scale=0, min_width=80)
        with gr.Row(equal_height=False):
            with gr.Column(min_width=280):
                gr.Markdown("**未能回答的问题**")
                unanswered = gr.HTML()
            with gr.Column(min_width=280):
                gr.Markdown("**用户认为没有帮助的回答**")
                negative = gr.HTML()
    for event in (sign_in.click, admin_key.submit):
        ready = event(page.sign_in, [admin_key], [staff, signed], **PRIVATE)
        ready.then(None, [admin_key], None, js=STAFF_SIGN_IN_JS, **PRIVATE)
        ready.then(page.recent, [admin_key], [unanswered, negative], **PRIVATE)
        ready.then(page.removable, [admin_key], [removable], **PRIVATE)
    ingest.click(page.ingest, [admin_key, uploads], [ingest_result], **PRIVATE).then(
        page.removable, [admin_key], [removable], **PRIVATE
    )
    remove.click(page.remove, [admin_key, removable], [remove_result, removable], **PRIVATE)
    refresh.click(page.recent, [admin_key], [unanswered, negative], **PRIVATE)


# -- mounting --------------------------------------------------------------------------------

PAGE_UPLOAD_PATH = "/gradio_api/upload"
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


class _PageMount(Mount):
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


class StaffUploads:
    """The files each signed-in staff member uploaded through the page, by their sign-in token.

    The page's upload route hands back the paths it stored; the staff upload handler accepts
    only paths from this list for the same token. So a request naming any other file (another
    visitor's upload, a file of the server) is refused before anything is read or copied.
    """

    def __init__(self, limit: int = 1000) -> None:
        self.limit = limit
        self._paths: OrderedDict[str, set[str]] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, token: str, paths: Sequence[str]) -> None:
        with self._lock:
            self._paths.setdefault(token, set()).update(str(Path(p).resolve()) for p in paths)
            self._paths.move_to_end(token)
            while len(self._paths) > self.limit:
                self._paths.popitem(last=False)

    def owns(self, token: str | None, paths: Sequence[str]) -> bool:
        """Whether every path was uploaded with this token."""
        with self._lock:
            mine = self._paths.get(token or "", set())
            return bool(paths) and all(str(Path(p).resolve()) in mine for p in paths)


class _RecordUploads:
    """Notes the paths the page's upload route stored, under the uploader's staff token (the
    route is reached only with a valid one: see assistant.serve.app's admission check)."""

    def __init__(self, app: ASGIApp, uploads: StaffUploads) -> None:
        self.app = app
        self.uploads = uploads

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") != PAGE_UPLOAD_PATH:
            await self.app(scope, receive, send)
            return
        body: list[bytes] = []
        status = 0

        async def sending(message: ASGIMessage) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body" and status == 200:
                body.append(message.get("body", b""))
            await send(message)

        await self.app(scope, receive, sending)
        token = staff_token(Headers(scope=scope).get("cookie", ""))
        if status == 200 and token:
            try:
                paths = json.loads(b"".join(body))
            except ValueError:
                return
            if isinstance(paths, list):
                self.uploads.add(token, [p for p in paths if isinstance(p, str)])


def mount_web(app: FastAPI, settings: Settings, api_paths: Iterable[str]) -> None:
    """Serve the page at "/" of the API app, beside the API's own routes (`api_paths`: the
    paths of every route the app has, whose first segments the page leaves to the API)."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no calls home from Gradio
    api_roots = {_root(path) for path in api_paths} - {""}
    uploads = StaffUploads()
    blocks = build_page(Page(app, settings, uploads))
    theme = gr.themes.Default(
        primary_hue=gr.themes.colors.blue,
        neutral_hue=gr.themes.colors.slate,
        font=list(FONTS),
        font_mono=list(MONO_FONTS),
    )
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
        theme=theme,
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
    app.router.routes.append(_PageMount(_RecordUploads(mounted.app, uploads), api_roots))
    _calm_queue(blocks)


# Gradio's queue looks for new page events every 1 ms and for progress every 10 ms, on the
# event loop the API shares: measured 5.7% of a core with nobody using the server, and a
# thousand wake-ups a second taking the interpreter from the answers under load. Every 20 ms
# and 50 ms cost the page at most that much latency on an answer that takes hundreds.
QUEUE_POLL_S = 0.02
PROGRESS_POLL_S = 0.05


def _calm_queue(blocks: gr.Blocks) -> None:
    queue = getattr(blocks, "_queue", None)
    if queue is None or not hasattr(queue, "sleep_when_free"):
        log.warning("gradio's queue has changed shape: its polling interval is left as it is")
        return
    queue.sleep_when_free = QUEUE_POLL_S
    queue.progress_update_sleep_when_free = PROGRESS_POLL_S
