"""The page's HTML, rendered from plain data: answers with their citation cards, the document
reader, eligibility verdicts, staff reports. Pure functions, no I/O; every text that comes
from a document or a user is escaped."""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote as urlquote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from assistant.models import NOTE, Answer, Chunk, Citation
from assistant.search.index import DocumentEntry, ServedIndex

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


def sections_in(index: ServedIndex) -> Callable[[Chunk], Sequence[Chunk]]:
    """For a cited chunk, the chunks of its whole section in `index` (a card unfolds them)."""
    return lambda chunk: section_chunks(index, chunk.doc_id, chunk.section)


def section_label(section: str) -> str:
    """A section path as readers see it; the text before the first heading has a name too."""
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
    """Where an answer would be: what went wrong."""
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
    """One section in the reader: where it is in the document, its heading and its text."""
    n, total = position
    return (
        f'<div class="pa-reader"><div class="pa-reader-pos">第 {n} / {total} 节</div>'
        f"<h4>{esc(section_label(section))}</h4>"
        f'<div class="pa-section-text">{section_text_html(chunks, start, end)}</div></div>'
    )


def empty_html(message: str) -> str:
    """A placeholder that says why there is nothing to show, or what to do first."""
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


def ingest_report(rows: Sequence[tuple[str, str, bool]], totals: tuple[int, int] | None) -> str:
    """How each uploaded file fared, and the index's new size when it was updated."""
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
