"""The web page: its HTML pieces and its chat handler as plain functions, then the real page
end to end.

End to end, the real app runs under uvicorn on a loopback port over a private copy of the
fictional policies, and Debian's chromium (driven by Playwright, launched by path: Playwright's
own browser download is not used) opens it at desktop and phone sizes. Every page must load
nothing from any other origin and log no console error. Screenshots go to tests/artifacts/.
`make test` installs chromium (`apt-get install chromium fonts-noto-cjk`) when it is missing.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from assistant.config import Settings, load_settings
from assistant.models import Answer, Chunk, Citation
from assistant.serve.access import Keys, RateLimiter, Sessions
from assistant.serve.records import RecordStore
from assistant.serve.runtime import Runtime, Services
from assistant.serve.web.chat import ChatTab, Exchange
from assistant.serve.web.context import PageContext
from assistant.serve.web.render import answer_html, quote_span, reader_link

from .conftest import FICTIONAL, served
from .openai_stub import OpenAIStub

ARTIFACTS = Path(__file__).parent / "artifacts"
ADMIN = "web-admin-key-0001"
CHROMIUM = shutil.which("chromium")
BROWSER_ARGS = ["--headless=new", "--no-sandbox", "--disable-background-networking"]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
QUOTE = "对首次认定的高新技术企业给予一次性奖励88万元。"
QUESTION = "首次认定的高新技术企业奖励多少？"


# -- the HTML pieces and the chat handler ----------------------------------------------------


def chunk(text: str, start: int = 100, section: str = "一、总则 > (一)奖励") -> Chunk:
    return Chunk("d#1", "d", "示例<文件>", "示〔2099〕1号", section, text, start, start + len(text))


def test_a_citation_card_escapes_the_document_and_marks_the_quote() -> None:
    c = chunk("前文<script>x</script>。给予奖励10万元。后文。")
    quote = "给予奖励10万元。"
    start = 100 + c.text.index(quote)
    answer = Answer("给予奖励10万元[1]。", (Citation(1, c, quote, start, start + len(quote)),))
    page = answer_html(answer, lambda _: [c])
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert f"<mark>{quote}</mark>" in page and "《示例&lt;文件&gt;》" in page
    assert "示〔2099〕1号" in page and "一、总则 › (一)奖励" in page
    assert '<sup class="pa-ref">[1]</sup>' in page


def test_an_abstention_says_the_documents_do_not_state_it_and_lists_related_clauses() -> None:
    c = chunk("企业申请创新券的，应当符合下列条件。")
    related = Citation(1, c, c.text, c.start, c.end)
    answer = Answer("现有文件未载明申报截止日期。", (), related=(related,), abstained=True)
    page = answer_html(answer, lambda _: [c])
    assert "文件未载明" in page and "相关条文" in page and c.text in page


def test_a_quote_is_found_by_its_offsets_or_else_by_its_text() -> None:
    c = chunk("甲。乙。丙。", start=10)
    assert quote_span(c, 12, 14, "乙。") == (2, 4)
    assert quote_span(c, 0, 2, "丙。") == (4, 6)  # offsets off: found by text
    assert quote_span(c, 0, 2, "丁。") is None


def test_a_reader_link_encodes_the_document_and_section() -> None:
    link = reader_link("uploads/通知 1", "一、总则 > (一)奖励", 3, 9)
    assert link.startswith("?doc=uploads%2F%E9%80%9A") and "&from=3&to=9" in link
    assert " " not in link and ">" not in link


def test_the_chat_streams_the_text_then_shows_the_checked_answer_and_records_it(
    settings: Settings, openai_stub: OpenAIStub
) -> None:
    # A model's draft names a figure the documents do not hold: the visitor watches it being
    # written, then sees it replaced by the answer checked against the clauses, with its card.
    openai_stub.script("首次认定的高新技术企业给予一次性奖励99万元[1]。")
    model = load_settings(
        corpus_dir=settings.corpus_dir,
        index_dir=settings.index_dir,
        answerer="llm",
        llm_base_url=openai_stub.base_url,
    )
    services = Services(model)
    services.store.ingest()
    records = RecordStore("sqlite://")

    async def shown() -> tuple[list[str], list[Exchange]]:
        runtime = Runtime(model, services, Keys({}), RateLimiter(60), Sessions(10, 60), records)
        chat = ChatTab(PageContext(model, lambda: runtime))
        texts, kept = [], []
        async for out in chat.respond(QUESTION, [], [], "", None):  # type: ignore[arg-type]
            texts.append(out[0][-1]["content"])  # the chat box as shown at this moment
            kept = out[3]
        return texts, kept

    texts, exchanges = asyncio.run(shown())
    assert any("99万元" in t and "pa-pending" in t for t in texts)  # as it is written
    assert "99万元" not in texts[-1] and "pa-pending" not in texts[-1]  # then replaced …
    assert f"<mark>{QUOTE}</mark>" in texts[-1]  # … by the checked answer, with its card
    assert "99万元" not in exchanges[-1].answer and exchanges[-1].message_id
    assert [r["question"] for r in records.export()] == [QUESTION]
    assert [r["message_id"] for r in records.export()] == [exchanges[-1].message_id]


def test_the_page_tells_a_store_outage_from_no_documents(settings: Settings) -> None:
    from assistant.serve.web.context import NO_DOCUMENTS, NO_INDEX, STORE_DOWN
    from assistant.serve.web.documents import DocumentsTab

    from .conftest import free_port

    Services(settings).store.ingest()  # served by the embedded store, which then goes away
    store_down = load_settings(
        corpus_dir=settings.corpus_dir,
        index_dir=settings.index_dir,
        chroma_url=f"http://127.0.0.1:{free_port()}",
    )
    nothing_yet = load_settings(corpus_dir=settings.corpus_dir, index_dir=settings.index_dir / "x")

    async def said(values: Settings) -> tuple[str, str]:
        runtime = Runtime(
            values,
            Services(values),
            Keys({}),
            RateLimiter(60),
            Sessions(10, 60),
            RecordStore("sqlite://"),
        )
        context = PageContext(values, lambda: runtime)
        chat = [out async for out in ChatTab(context).respond(QUESTION, [], [], "", None)]  # type: ignore[arg-type]
        return chat[-1][0][-1]["content"], DocumentsTab(context).document_list()[1]

    answer, documents = asyncio.run(said(store_down))
    assert STORE_DOWN in answer and STORE_DOWN in documents
    assert "Chroma" not in answer + documents  # the server's address is not for visitors
    answer, documents = asyncio.run(said(nothing_yet))
    assert NO_INDEX in answer and NO_DOCUMENTS in documents


# -- the page in a browser -------------------------------------------------------------------


@dataclass
class Site:
    url: str
    app: Any
    corpus: Path

    def records(self, only: str = "all") -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = self.app.state.runtime.records.export(None, only)
        return rows


@dataclass
class Watch:
    """What a page did that it must not: requests elsewhere, console errors."""

    origin: str
    foreign: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def attach(self, page: Any) -> None:
        page.on(
            "request",
            lambda r: (
                None
                if r.url.startswith((self.origin + "/", "data:", "blob:"))
                else self.foreign.append(r.url)
            ),
        )
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))

    def check(self) -> None:
        assert not self.foreign, f"the page requested other origins: {self.foreign}"
        assert not self.errors, f"the page logged errors: {self.errors}"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    from assistant.config import load_settings
    from assistant.serve.app import create_app
    from assistant.serve.runtime import Services

    root = tmp_path_factory.mktemp("web")
    corpus = root / "corpus"
    shutil.copytree(FICTIONAL, corpus)  # staff uploads land in it
    settings = load_settings(
        corpus_dir=corpus,
        index_dir=root / "index",
        admin_key=ADMIN,
        rules_dir=FICTIONAL.parent / "rules",
        database_url=f"sqlite:///{root / 'records.sqlite3'}",
    )
    Services(settings).store.ingest()
    app = create_app(settings)
    with served(app) as url:
        yield Site(url, app, corpus)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if CHROMIUM is None:
        pytest.fail(
            "chromium is not installed: `make test` installs it "
            "(apt-get install chromium fonts-noto-cjk)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def open_page(browser: Any, site: Site) -> Iterator[Callable[..., Any]]:
    """Opens the page at a size; after the test, checks it stayed on its own origin, error-free."""
    contexts: list[Any] = []
    watches: list[Watch] = []

    def opener(viewport: dict[str, int], path: str = "/") -> Any:
        context = browser.new_context(viewport=viewport, locale="zh-CN")
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(60_000)
        watch = Watch(site.url)
        watch.attach(page)
        watches.append(watch)
        page.goto(site.url + path)
        page.wait_for_selector("#pa-question textarea", state="attached")  # the page is up
        return page

    yield opener
    for context in contexts:
        context.close()
    for watch in watches:
        watch.check()


def ask(page: Any, question: str) -> Any:
    """Type a question, send it, and wait for the finished answer (the last one)."""
    before = page.locator(".pa-answer:not(.pa-pending)").count()
    page.fill("#pa-question textarea", question)
    page.click("#pa-send")
    page.wait_for_function(
        "n => document.querySelectorAll('.pa-answer:not(.pa-pending)').length > n", arg=before
    )
    return page.locator(".pa-answer:not(.pa-pending)").last


def no_sideways_scroll(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"the page is {width} px wide"


def screenshot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.wait_for_timeout(300)  # let the chat settle its scroll position
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


@pytest.mark.slow
def test_a_question_gets_a_cited_answer_and_a_thumbs_up_is_stored(
    open_page: Callable[..., Any], site: Site
) -> None:
    page = open_page(DESKTOP)
    # The fictional corpus has no site file: the page's title names no place.
    assert page.locator(".pa-header h1").inner_text() == "政策问答"
    screenshot(page, "web-desktop-empty.png")
    answer = ask(page, "首次认定的高新技术企业奖励多少？")
    assert "88万元" in answer.locator(".pa-answer-text").inner_text()
    card = answer.locator(".pa-card").first
    assert card.locator(".pa-quote mark").inner_text() == QUOTE
    assert "示科〔2099〕7号" in card.inner_text() and "(一)高企奖励" in card.inner_text()
    card.locator("summary").click()  # the whole section unfolds under the quote
    assert "重新认定的高新技术企业给予奖励30万元" in card.locator(".pa-section-text").inner_text()

    page.locator("#pa-chat button[aria-label='赞']").last.click()
    page.wait_for_selector("#pa-feedback", state="visible")
    deadline = time.monotonic() + 20
    while not [
        r
        for r in site.records()
        if r["question"] == "首次认定的高新技术企业奖励多少？" and r["rating"] == 1
    ]:
        assert time.monotonic() < deadline, "the 👍 was not stored"
        time.sleep(0.2)
    page.fill("#pa-feedback textarea", "很清楚")
    page.locator("#pa-feedback button").click()
    page.wait_for_selector("#pa-feedback", state="hidden")
    deadline = time.monotonic() + 20
    while not [r for r in site.records() if "很清楚" in r["comments"]]:
        assert time.monotonic() < deadline, "the comment was not stored"
        time.sleep(0.2)
    screenshot(page, "web-desktop.png")


@pytest.mark.slow
def test_on_a_phone_an_unanswerable_question_says_the_documents_do_not_state_it(
    open_page: Callable[..., Any],
) -> None:
    page = open_page(PHONE)
    no_sideways_scroll(page)
    screenshot(page, "web-phone-empty.png")
    answer = ask(page, "孵化器的申报截止时间是什么时候？")
    assert "文件未载明" in answer.locator(".pa-notice").inner_text()
    assert answer.locator(".pa-card").count() >= 1  # the related clauses
    cited = ask(page, "首次认定的高新技术企业奖励多少？")
    assert cited.locator(".pa-quote mark").first.inner_text() == QUOTE
    no_sideways_scroll(page)
    screenshot(page, "web-phone.png")


@pytest.mark.slow
def test_a_long_conversation_sends_only_the_new_question_not_the_whole_chat(
    open_page: Callable[..., Any],
) -> None:
    # The chat box's cards (quotes, whole sections) once went back with every question, and
    # past the JSON body limit (ASSISTANT_MAX_BODY_KB) the page stopped answering.
    page = open_page(DESKTOP)
    sizes: list[int] = []
    page.on(
        "request",
        lambda r: (
            sizes.append(len(r.post_data_buffer or b""))
            if "/gradio_api/queue/join" in r.url
            else None
        ),
    )
    for question in ("首次认定的高新技术企业奖励多少？", "重新认定的呢？", "孵化器有什么支持？"):
        assert ask(page, question).locator(".pa-card").count() >= 1
    chat = len(page.locator("#pa-chat").inner_html().encode())
    assert len(sizes) == 3 and chat > 10_000
    assert max(sizes) < 2_000 and max(sizes) - min(sizes) < 200, sizes


@pytest.mark.slow
def test_the_eligibility_form_gives_verdicts_with_their_conditions_cited(
    open_page: Callable[..., Any],
) -> None:
    for size, name in (
        (DESKTOP, "web-desktop-eligibility.png"),
        (PHONE, "web-phone-eligibility.png"),
    ):
        page = open_page(size)
        page.get_by_role("tab", name="资格自测").click()
        assert "开始自测" in page.locator("#pa-verdicts").inner_text()  # the empty state
        page.locator("#pa-quals").get_by_label("高新技术企业").check()
        page.locator("#pa-recognition").get_by_label("首次认定").check()
        page.locator("#pa-check").click()
        page.wait_for_selector("#pa-verdicts .pa-verdict")
        eligible = page.locator(".pa-verdict-ok")
        assert "示例区高企奖励（虚构）" in eligible.first.inner_text()
        assert "一次性奖励88万元" in eligible.first.inner_text()
        assert "示例区小巨人支持（虚构）" in page.locator(".pa-verdict-no").first.inner_text()
        assert page.locator("#pa-verdicts .pa-quote mark").first.inner_text() == QUOTE
        no_sideways_scroll(page)
        screenshot(page, name)


@pytest.mark.slow
def test_a_citation_opens_its_section_in_the_document_reader(open_page: Callable[..., Any]) -> None:
    page = open_page(DESKTOP)
    answer = ask(page, "首次认定的高新技术企业奖励多少？")
    link = answer.locator("a.pa-open").first
    assert link.get_attribute("target") == "_blank"
    reader = open_page(PHONE, "/" + (link.get_attribute("href") or ""))
    reader.wait_for_selector(".pa-reader mark")
    assert reader.locator(".pa-reader mark").inner_text() == QUOTE
    assert "示科〔2099〕7号" in reader.locator(".pa-doc-head").inner_text()
    reader.get_by_role("button", name="下一节 ›").click()
    reader.wait_for_function(
        "() => document.querySelector('.pa-reader h4').innerText.includes('小巨人培育')"
    )
    no_sideways_scroll(reader)
    screenshot(reader, "web-phone-reader.png")


@pytest.mark.slow
def test_staff_upload_a_policy_and_the_chat_answers_from_it(
    open_page: Callable[..., Any], site: Site, tmp_path: Path
) -> None:
    page = open_page(DESKTOP)
    page.get_by_role("tab", name="工作人员").click()
    page.get_by_label("管理员密钥").fill("wrong-key-000")
    page.get_by_role("button", name="验证").click()
    page.wait_for_selector("text=管理员密钥不正确")
    page.get_by_label("管理员密钥").fill(ADMIN)
    page.get_by_role("button", name="验证").click()
    page.wait_for_selector("text=已验证管理员身份")

    good = tmp_path / "示例人才公寓通知.txt"
    good.write_text(
        "---\ntitle: 示例区人才公寓补贴办法（虚构示例）\ndoc_number: 示人〔2099〕3号\n"
        "---\n示例区人才公寓补贴办法\n一、补贴标准\n(一)租房补贴。对入选的青年科技人才"
        "每月给予租房补贴1234元。\n",
        encoding="utf-8",
    )
    empty = tmp_path / "空文件.txt"
    empty.write_text("   \n", encoding="utf-8")
    page.locator("input[type=file]").set_input_files([str(good), str(empty)])
    page.get_by_role("button", name="收录并更新索引").click()
    page.wait_for_selector("text=索引已更新")
    result = page.locator(".pa-results").inner_text()
    assert "示例人才公寓通知.txt：已收录" in result and "空文件.txt：文件没有正文内容" in result
    assert (site.corpus / "uploads" / good.name).is_file()
    assert not (site.corpus / "uploads" / empty.name).exists()
    screenshot(page, "web-desktop-staff.png")

    page.get_by_role("tab", name="政策问答").click()
    answer = ask(page, "青年科技人才的租房补贴每月多少？")
    assert "1234元" in answer.inner_text()
    assert "示人〔2099〕3号" in answer.locator(".pa-card").first.inner_text()

    page.get_by_role("tab", name="工作人员").click()
    page.get_by_label("工作人员上传的文件").click()
    page.get_by_role("option", name="《示例区人才公寓补贴办法（虚构示例）》").click()
    page.get_by_role("button", name="移除").click()
    page.wait_for_selector("text=已移除《示例区人才公寓补贴办法（虚构示例）》")
    assert not (site.corpus / "uploads" / good.name).exists()
    assert (
        "uploads/示例人才公寓通知" not in site.app.state.runtime.services.index.manifest.documents
    )


@pytest.mark.slow
def test_a_large_file_reaches_the_page_upload_past_the_json_body_limit(site: Site) -> None:
    import httpx

    signed_in = httpx.post(
        f"{site.url}/v1/admin/page-session",
        timeout=30,
        headers={"Authorization": f"Bearer {ADMIN}"},
    )
    big = ("第一条　" + "示例条文内容。" * 40 + "\n").encode() * 200  # about 200 KB
    upload = httpx.post(
        f"{site.url}/gradio_api/upload",
        params={"upload_id": "t1"},
        cookies=signed_in.cookies,
        files={"files": ("大文件.txt", big, "text/plain")},
        timeout=30,
    )
    assert upload.status_code == 200, upload.text
    chat = httpx.post(
        f"{site.url}/v1/chat",
        timeout=30,
        content=b"{" + b" " * 70_000 + b"}",
        headers={"Content-Type": "application/json"},
    )
    assert chat.status_code == 413  # the API's own limit still holds


@pytest.mark.slow
def test_the_documents_tab_lists_each_document_with_its_metadata(
    open_page: Callable[..., Any],
) -> None:
    page = open_page(PHONE)
    page.get_by_role("tab", name="政策文件").click()
    page.get_by_text("示例市科技创新促进条例（虚构示例，仅供测试）").first.click()
    page.wait_for_selector(".pa-doc-head")
    assert "示例市人大常委会公告第99号" in page.locator(".pa-doc-head").inner_text()
    assert "现行有效" in page.locator(".pa-doc-head").inner_text()
    no_sideways_scroll(page)
    screenshot(page, "web-phone-documents.png")


@pytest.mark.slow
def test_staff_see_why_a_question_is_answered_and_save_it_as_a_check(
    open_page: Callable[..., Any],
) -> None:
    page = open_page(DESKTOP)
    page.get_by_role("tab", name="工作人员").click()
    assert not page.locator("#pa-hit-question").is_visible()  # only for signed-in staff
    page.get_by_label("管理员密钥").fill(ADMIN)
    page.get_by_role("button", name="验证").click()
    page.wait_for_selector("text=已验证管理员身份")
    page.fill("#pa-hit-question textarea", QUESTION)
    page.click("#pa-hit-explain")
    page.wait_for_selector("#pa-hit-explanation .pa-signals")
    shown = page.locator("#pa-hit-explanation").inner_text()
    assert "选中的句子" in shown and QUOTE in shown and "判断：作答" in shown
    assert "融合得分" in (page.locator("#pa-hit-explanation").text_content() or "")  # folded
    page.fill("#pa-hit-expect textarea", "88万元")
    page.click("#pa-hit-save")
    page.wait_for_selector("text=已保存为测试问题")
    assert "通过" in page.locator("#pa-hit-outcome").inner_text()
    assert QUESTION in page.locator("#pa-checks").inner_text()
    screenshot(page, "web-desktop-checks.png")
