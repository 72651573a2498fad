"""The 命中测试 section of the staff tab: why a question gets its answer, and the saved
checks that run again after every document change.

Only signed-in staff see it (it sits with the other staff tools, shown once the admin key is
accepted), and like them every handler checks the key again, since the page's events can be
called without the page. The work is the service's (assistant.serve.checks), which the API
uses too; this module only shows it, as HTML rendered from plain data.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import gradio as gr

from assistant.answer.explain import Explanation, Sentence
from assistant.errors import AssistantError, UnavailableError
from assistant.serve import checks
from assistant.serve.web.context import PRIVATE, PageContext, unavailable
from assistant.serve.web.render import _beijing_time as beijing_time
from assistant.serve.web.render import empty_html, esc

# A key checker: a message when the key is not the admin key, else None (StaffTab._admin).
Admin = Callable[[str | None, gr.Request | None], str | None]

VERDICTS = {"answer": "作答", "abstain": "文件未载明", "out_of_scope": "超出收录范围"}
ROUTES = {
    "clarify": "请提问者说明问题",
    "document_facts": "按文件信息作答",
    "eligibility": "按资格规则作答",
}
# The reader's signals, as staff read them (Support.signals(): a score, the features it
# weighs, the tests an answer must pass); a signal not listed here shows under its own name.
SIGNALS = {
    "score": "得分",
    "coverage": "覆盖",
    "kind": "答案类型",
    "attributes": "所问属性",
    "figures": "所述数字",
    "documents": "文件名",
    "form": "句式",
    "sibling": "说的是别项",
    "bracket": "档次相符",
    "rank": "段落排名",
    "similarity": "相似度",
    "subject": "主题词",
    "context": "地点与年份",
    "answers": "足以作答",
}
_SPLIT = re.compile(r"[,，、;；\s]+")
NO_CHECKS = "还没有保存测试问题。在上方输入问题并写明回答须包含的词，即可保存。"


def failed(message: str) -> str:
    return f'<div class="pa-error">{esc(message)}</div>'


# -- HTML, from plain data ----------------------------------------------------------------


def signals_html(signals: dict[str, float | bool | str]) -> str:
    """A sentence's signals: the tests as ✓ / ✗, the measures as numbers."""
    chips = []
    for name, value in signals.items():
        label = esc(SIGNALS.get(name, name))
        if isinstance(value, bool):
            mark, cls = ("✓", "pa-signal-ok") if value else ("✗", "pa-signal-no")
            chips.append(f'<span class="pa-signal {cls}">{mark} {label}</span>')
        elif isinstance(value, str):
            if value:  # a named thing the sentence is about instead (a sibling)
                chips.append(f'<span class="pa-signal pa-signal-no">{label} {esc(value)}</span>')
        else:
            chips.append(f'<span class="pa-signal">{label} {value:g}</span>')
    return f'<div class="pa-signals">{"".join(chips)}</div>'


def sentences_html(sentences: Sequence[Sentence]) -> str:
    return "".join(
        f'<li class="pa-record"><div class="pa-record-when">第 {s.passage} 段'
        f"{'' if s.answers else '（不足以作答）'}</div>"
        f'<div class="pa-record-q">{esc(s.text)}</div>{signals_html(s.signals)}</li>'
        for s in sentences
    )


def explanation_html(e: Explanation) -> str:
    """What the reader made of a question: verdict, chosen sentences or the reason, the
    candidates, the passages with their scores, and the answer."""
    verdict = VERDICTS.get(e.verdict, e.verdict)
    route = f"；回答方式：{ROUTES[e.route]}" if e.route in ROUTES else ""
    head = (
        f'<div class="pa-note">检索用的问题：{esc(e.resolved)}<br>'
        f"判断：<b>{esc(verdict)}</b>{esc(route)}</div>"
    )
    if e.chosen:
        why = f'<h5>选中的句子</h5><ul class="pa-records">{sentences_html(e.chosen)}</ul>'
    else:
        why = f'<div class="pa-notice">未作答的原因：{esc(e.reason_zh or "（无）")}</div>'
    candidates = (
        f"<details><summary>得分最高的候选句（{len(e.candidates)}）</summary>"
        f'<ul class="pa-records">{sentences_html(e.candidates)}</ul></details>'
        if e.candidates
        else ""
    )
    passages = "".join(
        f'<li class="pa-record"><div class="pa-record-when">第 {p.rank} 段 · 融合得分 '
        f"{p.score:.4f} · "
        + esc(" · ".join(f"{mode} 第{n}" for mode, n in sorted(p.ranks.items())))
        + f'</div><div class="pa-record-q">《{esc(p.title)}》{esc(p.doc_number)} '
        f"{esc(p.section)}</div><div>{esc(p.excerpt)}</div></li>"
        for p in e.passages
    )
    return (
        f"{head}{why}{candidates}"
        f"<details><summary>检索到的段落（{len(e.passages)}）</summary>"
        f'<ul class="pa-records">{passages}</ul></details>'
        f'<h5>最终回答</h5><div class="pa-record-a">{esc(e.answer.answer)}</div>'
    )


def check_html(check: checks.Check) -> str:
    """One saved check: what it expects, its last result, and whether that changed."""
    expects = "、".join(check.expect)
    wanted = "应答“文件未载明”" if check.abstain else "应作答"
    wanted += f"，包含：{expects}" if expects else ""
    last = check.last
    if last is None:
        result = '<span class="pa-fineprint">尚未运行</span>'
    else:
        result = (
            '<span class="pa-rating-up">✓ 通过</span>'
            if last["passed"]
            else '<span class="pa-rating-down">✗ 未通过</span>'
        )
        if last["changed"]:
            flipped = last["was_passed"] is not None and last["was_passed"] != last["passed"]
            what = "结果有变化" if flipped else "回答有变化"
            result += f' <span class="pa-badge pa-changed">{what}</span>'
        result += f' <span class="pa-fineprint">{esc(beijing_time(last["ran"]))}</span>'
    answer = (
        f'<details><summary>上次的回答</summary><div class="pa-record-a">'
        f"{esc(last['answer_excerpt'])}</div></details>"
        if last
        else ""
    )
    return (
        f'<li class="pa-record pa-check" data-check="{check.id}">'
        f'<div class="pa-record-when">#{check.id} · {esc(wanted)}</div>'
        f'<div class="pa-record-q">{esc(check.question)}</div><div>{result}</div>{answer}</li>'
    )


def checks_html(found: Sequence[checks.Check]) -> str:
    """The saved checks, those whose result changed at their last run marked."""
    if not found:
        return empty_html(NO_CHECKS)
    changed = sum(1 for c in found if c.last and c.last["changed"])
    summary = (
        f'<div class="pa-fineprint">共 {len(found)} 个（上限 {checks.MAX_CHECKS}）；'
        f"上次运行后有变化的 {changed} 个。每次上传或移除文件后自动重新运行。</div>"
    )
    return f'{summary}<ul class="pa-records">{"".join(check_html(c) for c in found)}</ul>'


def expected_words(text: str) -> list[str]:
    """The words typed in the expected-words box, split at commas, 、 and blanks."""
    return [w for w in _SPLIT.split(text or "") if w]


# -- handlers -----------------------------------------------------------------------------


class ChecksSection:
    """The 命中测试 handlers; `admin` checks the key as the rest of the staff tab does."""

    def __init__(self, context: PageContext, admin: Admin) -> None:
        self.context = context
        self.admin = admin

    def explain(self, key: str, question: str, request: gr.Request) -> str:
        """Why the question gets its answer, as HTML."""
        problem = self.admin(key, request)
        if problem is not None:
            return failed(problem)
        text = (question or "").strip()
        limit = self.context.settings.max_question_chars
        if not text:
            return failed("请输入要测试的问题。")
        if len(text) > limit:
            return failed(f"问题过长（上限 {limit} 字）。")
        try:
            return explanation_html(checks.explain_question(self.context.runtime, text))
        except UnavailableError as exc:
            return failed(unavailable(exc))
        except AssistantError as exc:
            return failed(exc.zh)

    def listing(self, key: str, request: gr.Request) -> tuple[str, Any]:
        """The saved checks, and the choices of the delete list."""
        problem = self.admin(key, request)
        if problem is not None:
            return failed(problem), gr.update(choices=[], value=None)
        try:
            found = checks.saved(self.context.runtime)
        except AssistantError as exc:
            return failed(exc.zh), gr.update(choices=[], value=None)
        choices = [(f"#{c.id} {c.question[:30]}", c.id) for c in found]
        return checks_html(found), gr.update(choices=choices, value=None)

    def save(
        self, key: str, question: str, expect: str, abstain: bool, request: gr.Request
    ) -> tuple[Any, ...]:
        """Save the question as a check (it runs once at once); the outcome and the list."""
        problem = self.admin(key, request)
        if problem is not None:
            return failed(problem), gr.update(), gr.update()
        try:
            check = checks.save(
                self.context.runtime, question or "", expected_words(expect), bool(abstain)
            )
        except AssistantError as exc:
            return failed(exc.zh), gr.update(), gr.update()
        outcome = (
            "当前结果：通过"
            if check.last and check.last["passed"]
            else "当前结果：未通过"
            if check.last
            else "尚未运行"
        )
        saved = f'<div class="pa-ok">已保存为测试问题 #{check.id}（{outcome}）。</div>'
        return (saved, *self.listing(key, request))

    def run(self, key: str, request: gr.Request) -> tuple[Any, ...]:
        """Run every saved check now; the outcome and the list."""
        problem = self.admin(key, request)
        if problem is not None:
            return failed(problem), gr.update(), gr.update()
        try:
            found = checks.run(self.context.runtime, "manual")
        except UnavailableError as exc:
            return failed(unavailable(exc)), gr.update(), gr.update()
        except AssistantError as exc:
            return failed(exc.zh), gr.update(), gr.update()
        passed = sum(1 for c in found if c.last and c.last["passed"])
        done = f'<div class="pa-ok">已重新运行：{passed}/{len(found)} 个通过。</div>'
        return (done, *self.listing(key, request))

    def delete(self, key: str, check_id: int | None, request: gr.Request) -> tuple[Any, ...]:
        """Forget the chosen check; the outcome and the list."""
        problem = self.admin(key, request)
        if problem is not None:
            return failed(problem), gr.update(), gr.update()
        if check_id is None:
            return failed("请选择要删除的测试问题。"), gr.update(), gr.update()
        try:
            checks.delete(self.context.runtime, int(check_id))
        except AssistantError as exc:
            return failed(exc.zh), gr.update(), gr.update()
        return (
            f'<div class="pa-ok">已删除测试问题 #{int(check_id)}。</div>',
            *self.listing(key, request),
        )


def build_checks_section(
    section: ChecksSection, admin_key: gr.Textbox
) -> tuple[gr.HTML, gr.Dropdown]:
    """The section's components, wired up; returns the saved list and the delete list, which
    the staff tab fills (`section.listing`) on sign-in and after each document change."""
    gr.Markdown("#### 命中测试")
    gr.HTML(
        '<div class="pa-fineprint">输入问题，查看检索到的段落及得分、选中的句子及其依据，'
        "或未作答的原因。可保存为测试问题并写明回答须包含的词；每次上传或移除文件后，"
        "已保存的问题会按新的索引自动重新运行，结果有变化的会标出。</div>"
    )
    with gr.Row():
        question = gr.Textbox(label="测试问题", scale=4, min_width=200, elem_id="pa-hit-question")
        explain = gr.Button("查看命中", scale=1, min_width=80, elem_id="pa-hit-explain")
    explanation = gr.HTML(elem_id="pa-hit-explanation")
    with gr.Row():
        expect = gr.Textbox(
            label="回答须包含的词（用逗号或空格分隔）",
            scale=3,
            min_width=200,
            elem_id="pa-hit-expect",
        )
        abstain = gr.Checkbox(label="应答“文件未载明”", scale=1, min_width=120)
        save = gr.Button("保存为测试问题", scale=1, min_width=80, elem_id="pa-hit-save")
    outcome = gr.HTML(elem_id="pa-hit-outcome")
    with gr.Row():
        gr.Markdown("**已保存的测试问题**")
        run = gr.Button("全部重新运行", size="sm", scale=0, min_width=100, elem_id="pa-hit-run")
    saved = gr.HTML(elem_id="pa-checks")
    with gr.Row():
        deletable = gr.Dropdown(label="删除测试问题", choices=[], scale=4, min_width=200)
        delete = gr.Button("删除", variant="stop", scale=1, min_width=80)
    for event in (explain.click, question.submit):
        event(section.explain, [admin_key, question], [explanation], **PRIVATE)
    save.click(
        section.save, [admin_key, question, expect, abstain], [outcome, saved, deletable], **PRIVATE
    )
    run.click(section.run, [admin_key], [outcome, saved, deletable], **PRIVATE)
    delete.click(section.delete, [admin_key, deletable], [outcome, saved, deletable], **PRIVATE)
    return saved, deletable
