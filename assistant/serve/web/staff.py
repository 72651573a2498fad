"""The 工作人员 tab, for staff with the admin key: upload policy files (progress and a result
per file), remove an uploaded document, read the recent unanswered questions and
thumbs-down, and test questions (命中测试, in web/checks.py).

The key is checked on every action, since the page's events can be called without the page,
and wrong keys count against the address's allowance as they do on the API. Uploads and
removals go through the service the API uses, as background jobs the page follows.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import gradio as gr

from assistant.errors import AssistantError, NotRemovableError, UnavailableError
from assistant.ingest.loading import supported_suffixes
from assistant.serve import service
from assistant.serve.access import staff_token
from assistant.serve.jobs import Job
from assistant.serve.web.checks import ChecksSection, build_checks_section
from assistant.serve.web.context import (
    GENERIC_ERROR,
    NO_DOCUMENTS,
    PRIVATE,
    PageContext,
    host,
    unavailable,
)
from assistant.serve.web.render import empty_html, esc, ingest_report, records_html
from assistant.serve.web.uploads import StaffUploads

NO_ADMIN = "本服务未配置管理员密钥（ASSISTANT_ADMIN_KEY），工作人员功能未开启。"
BUSY = "另一次收录正在进行，请稍后再试。"
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


def failed(message: str) -> str:
    """A refusal or a failure, as the staff tab shows it."""
    return f'<div class="pa-error">{esc(message)}</div>'


def follow(job: Job, progress: gr.Progress) -> str:
    """Wait for a job, showing its progress; its outcome as HTML."""
    while job.state in ("queued", "running"):
        if job.total:
            progress(job.done / job.total, desc=f"正在建立索引（{job.done}/{job.total} 段）…")
        time.sleep(0.2)
    if job.state == "failed" or job.result is None:
        error = job.error or {"zh": GENERIC_ERROR}
        return failed(f"未能更新索引，原索引继续使用：{error['zh']}")
    rows = [(f["file"], f["zh"], bool(f["ok"])) for f in job.result["files"]]
    index = job.result["index"]
    return ingest_report(rows, (index["documents"], index["chunks"]) if index else None)


class StaffTab:
    """The staff tab's handlers."""

    def __init__(self, context: PageContext, uploads: StaffUploads) -> None:
        self.context = context
        self.uploads = uploads

    def _admin(self, key: str | None, request: gr.Request | None = None) -> str | None:
        """A message when the key is not the admin key, else None."""
        runtime = self.context.runtime
        if runtime.keys.admin is None:
            return NO_ADMIN
        wait = runtime.failures.verdict(
            host(request), lambda: runtime.keys.is_admin((key or "").strip() or None)
        )
        if wait is None:
            return None
        return (
            f"密钥错误次数过多，请 {max(1, round(wait))} 秒后再试。"
            if wait
            else "管理员密钥不正确。"
        )

    def sign_in(self, key: str, request: gr.Request) -> tuple[Any, ...]:
        """Show the staff tools once the admin key is right."""
        problem = self._admin(key, request)
        if problem is not None:
            return gr.update(visible=False), failed(problem)
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
            return failed(problem)
        if not files:
            return failed("请先选择要上传的文件。")
        token = staff_token(request.headers.get("cookie", "") if request else "")
        if not self.uploads.owns(token, files):
            return failed("只能收录您在本页上传的文件，请重新选择文件后再试。")
        runtime = self.context.runtime
        if runtime.jobs.busy():
            return failed(BUSY)
        progress(0, desc="正在检查文件…")
        return follow(service.add_documents(runtime, [Path(f) for f in files]), progress)

    def removable(self, key: str, request: gr.Request) -> Any:
        """The uploaded documents staff may remove."""
        if self._admin(key, request) is not None:
            return gr.update(choices=[], value=None)
        uploaded = service.uploaded_documents(self.context.runtime)
        return gr.update(choices=[(f"《{title}》", d) for d, title in uploaded], value=None)

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
            return failed(problem), gr.update()
        runtime = self.context.runtime
        if runtime.jobs.busy():
            return failed(BUSY), gr.update()
        try:
            job, title = service.remove_uploaded(runtime, str(doc_id or ""))
        except UnavailableError as exc:
            return failed(unavailable(exc, NO_DOCUMENTS)), gr.update()
        except NotRemovableError:
            return failed("请选择一份由工作人员上传的文件。"), gr.update()
        outcome = follow(job, progress)
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
            return failed(problem), ""
        try:
            unanswered = self.context.runtime.records.export(None, "unanswered")
            negative = self.context.runtime.records.export(None, "negative")
        except AssistantError as exc:
            return failed(exc.zh), ""
        return (
            records_html(unanswered, "暂无未能回答的问题。"),
            records_html(negative, "暂无差评。"),
        )


def build_staff_tab(staff_tab: StaffTab) -> None:
    """Sign-in, then the upload, the removal and the recent records, wired up."""
    gr.HTML(
        f'<div class="pa-fineprint">供{esc(staff_tab.context.site.office.called)}工作人员使用：上传政策文件、'
        "查看未能回答的问题和用户认为没有帮助的回答，以及命中测试。</div>"
    )
    if not staff_tab.context.settings.admin_key:
        gr.HTML(empty_html(NO_ADMIN))
        return
    with gr.Row():
        admin_key = gr.Textbox(label="管理员密钥", type="password", scale=4, min_width=200)
        sign_in = gr.Button("验证", scale=1, min_width=80)
    signed = gr.HTML(elem_id="pa-signed")
    with gr.Column(visible=False) as tools:
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
        section = ChecksSection(staff_tab.context, staff_tab._admin)
        checks_list = build_checks_section(section, admin_key)
    staff = staff_tab
    for event in (sign_in.click, admin_key.submit):
        ready = event(staff.sign_in, [admin_key], [tools, signed], **PRIVATE)
        ready.then(None, [admin_key], None, js=STAFF_SIGN_IN_JS, **PRIVATE)
        ready.then(staff.recent, [admin_key], [unanswered, negative], **PRIVATE)
        ready.then(staff.removable, [admin_key], [removable], **PRIVATE)
        ready.then(section.listing, [admin_key], [*checks_list], **PRIVATE)
    # A change of the documents runs the saved checks again: show their new results.
    ingest.click(staff.ingest, [admin_key, uploads], [ingest_result], **PRIVATE).then(
        staff.removable, [admin_key], [removable], **PRIVATE
    ).then(section.listing, [admin_key], [*checks_list], **PRIVATE)
    remove.click(staff.remove, [admin_key, removable], [remove_result, removable], **PRIVATE).then(
        section.listing, [admin_key], [*checks_list], **PRIVATE
    )
    refresh.click(staff.recent, [admin_key], [unanswered, negative], **PRIVATE)
