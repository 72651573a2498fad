"""The web page: a chat with cited answers, the documents to read, the eligibility check and
staff tools, each a tab with a module of its own (chat, documents, eligibility, staff).

Gradio Blocks mounted at "/" inside the API's own FastAPI app (see mount.py), so one process
serves both:

    policy-assistant serve        # the page at http://127.0.0.1:8000/, the API under /v1

Every handler uses the runtime the app's lifespan built, so the page and the API answer from
the same index and write to the same records. The page loads nothing from elsewhere: system
fonts, no analytics, no CDN.
"""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from assistant.serve.web.chat import ChatTab, build_chat_tab
from assistant.serve.web.context import PRIVATE, PageContext
from assistant.serve.web.documents import DocumentsTab, build_documents_tab
from assistant.serve.web.eligibility import EligibilityTab, build_eligibility_tab
from assistant.serve.web.render import esc
from assistant.serve.web.staff import StaffTab, build_staff_tab
from assistant.serve.web.uploads import StaffUploads
from assistant.site import Site

FONTS = ("PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", "sans-serif")
MONO_FONTS = ("ui-monospace", "Menlo", "Consolas", "monospace")
CSS_PATH = Path(__file__).parent.parent / "page.css"  # package data of assistant.serve


def header(site: Site) -> str:
    """The page's heading: the site file's emblem, title and subtitle."""
    page = site.page
    return (
        f'<header class="pa-header"><div class="pa-emblem" aria-hidden="true">{esc(page.emblem)}'
        f"</div>\n<div><h1>{esc(page.title)}</h1><p>{esc(page.subtitle)}</p></div></header>"
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


def theme() -> gr.themes.Base:
    """The page's colours and system fonts (no web font is fetched)."""
    return gr.themes.Default(
        primary_hue=gr.themes.colors.blue,
        neutral_hue=gr.themes.colors.slate,
        font=list(FONTS),
        font_mono=list(MONO_FONTS),
    )


def build_page(context: PageContext, uploads: StaffUploads) -> gr.Blocks:
    """The Blocks: 政策问答, 政策文件, 资格自测, 工作人员."""
    chat, documents = ChatTab(context), DocumentsTab(context)
    title = context.site.page.title
    with gr.Blocks(title=title, analytics_enabled=False, delete_cache=(3600, 3600)) as blocks:
        gr.HTML(header(context.site), padding=False)
        with gr.Tabs(elem_id="pa-tabs") as tabs:
            with gr.Tab("政策问答", id="chat"):
                build_chat_tab(chat)
            with gr.Tab("政策文件", id="docs") as docs_tab:
                reader = build_documents_tab(documents, docs_tab)
            with gr.Tab("资格自测", id="eligibility"):
                build_eligibility_tab(EligibilityTab(context))
            with gr.Tab("工作人员", id="staff"):
                build_staff_tab(StaffTab(context, uploads))
        gr.HTML(FOOTER, padding=False)
        blocks.load(documents.on_load, None, [tabs, *reader], **PRIVATE)
        gr.api(chat.chat_api, api_name="chat", concurrency_limit=4)
    return blocks
