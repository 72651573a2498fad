"""The 政策文件 tab: every indexed document with its metadata, read section by section.

A citation card's link (`?doc=…&section=…&from=…&to=…`) opens the page in this reader at the
cited section, the quote marked.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from assistant.search.index import DocumentEntry, ServedIndex
from assistant.serve.web.context import NO_DOCUMENTS, PRIVATE, PageContext
from assistant.serve.web.render import (
    document_header_html,
    document_sections,
    empty_html,
    section_chunks,
    section_html,
    section_label,
)

CHOOSE_DOCUMENT = "请选择一份文件，即可逐节阅读。"


def _choices(index: ServedIndex) -> list[tuple[str, str]]:
    def label(d: DocumentEntry) -> str:
        return f"《{d.title}》" + (f"　{d.doc_number}" if d.doc_number else "")

    return [(label(d), d.doc_id) for d in index.manifest.documents.values()]


class DocumentsTab:
    """The document list's and the reader's handlers."""

    def __init__(self, context: PageContext) -> None:
        self.context = context

    def _document(self, doc_id: str | None) -> tuple[ServedIndex, str] | str:
        """The index and the document's id, if the index holds it; else what to show instead."""
        index = self.context.index()
        if isinstance(index, str):
            return index
        if not doc_id or doc_id not in index.manifest.documents:
            return CHOOSE_DOCUMENT
        return index, doc_id

    def document_list(self, current: str | None = None) -> tuple[Any, ...]:
        """The documents to choose from, keeping the one open if it is still there."""
        index = self.context.index()
        if isinstance(index, str) or not index.manifest.documents:
            message = index if isinstance(index, str) else NO_DOCUMENTS
            return gr.update(choices=[], value=None, visible=False), empty_html(message)
        choices = _choices(index)
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
        found = self._document(doc_id)
        if isinstance(found, str):
            hidden = gr.update(visible=False)
            return "", hidden, gr.update(choices=[], value=None), empty_html(found)
        index, doc_id = found
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
        found = self._document(doc_id)
        if isinstance(found, str):
            return empty_html(found)
        index, doc_id = found
        sections = document_sections(index, doc_id)
        if section not in sections:
            return empty_html("请选择章节。")
        position = (sections.index(section or "") + 1, len(sections))
        return section_html(
            section or "", section_chunks(index, doc_id, section or ""), position, start, end
        )

    def step_section(self, doc_id: str | None, section: str | None, step: int) -> tuple[Any, ...]:
        """The previous or next section."""
        found = self._document(doc_id)
        if isinstance(found, str):
            return gr.update(), empty_html(found)
        index, doc_id = found
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


def build_documents_tab(documents_tab: DocumentsTab, tab: gr.Tab) -> list[Any]:
    """The document list and reader; returns what a page load fills (see on_load)."""
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
    reader = documents_tab
    tab.select(reader.document_list, [documents], [documents, summary], **PRIVATE)
    documents.input(
        reader.open_document,
        [documents],
        [doc_header, navigation, sections, section_body],
        **PRIVATE,
    )
    sections.input(reader.show_section, [documents, sections], [section_body], **PRIVATE)
    previous.click(
        lambda d, s: reader.step_section(d, s, -1),
        [documents, sections],
        [sections, section_body],
        **PRIVATE,
    )
    following.click(
        lambda d, s: reader.step_section(d, s, 1),
        [documents, sections],
        [sections, section_body],
        **PRIVATE,
    )
    return [documents, summary, doc_header, navigation, sections, section_body]
