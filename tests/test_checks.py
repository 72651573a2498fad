"""命中测试: why a question gets its answer, and saved checks that run again after every
document change.

`explain` runs on the shipped corpus (the session's index); the routes run on a real uvicorn
server over a private copy of the fictional policies, where staff upload and remove a
(fictional) document through the library and watch the saved checks follow.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from assistant.answer.explain import explain
from assistant.config import Settings
from assistant.serve import checks
from assistant.serve.app import create_app
from assistant.serve.records import RecordStore
from assistant.serve.runtime import Services
from assistant.serve.web.checks import checks_html, explanation_html

from .conftest import FICTIONAL, served
from .test_api import ADMIN, KEY, make_settings

STAFF = {"Authorization": f"Bearer {ADMIN}"}
VOUCHER = (
    "示例区创新券实施细则（虚构示例，仅供测试）\n"
    "一、支持对象\n（一）额度。每家企业每年申领创新券最高30万元。\n"
).encode()


# -- explain, on the shipped corpus -----------------------------------------------------------


def test_explain_shows_the_passages_and_the_chosen_sentence_of_an_answerable_question(
    shipped_services: Services,
) -> None:
    e = explain(shipped_services.assistant, "高企的企业所得税税率是多少？")
    assert e.verdict == "answer" and e.route == "reader" and not e.answer.abstained
    assert [p.rank for p in e.passages] == list(range(1, len(e.passages) + 1))
    first = e.passages[0]
    assert first.title == "中华人民共和国企业所得税法" and first.score > 0
    assert set(first.ranks) <= {"bm25", "dense"} and first.ranks and len(first.excerpt) <= 121
    chosen = e.chosen[0]
    assert "15％" in chosen.text and chosen.answers
    assert chosen.text.rstrip("。") in e.answer.answer  # quoted, its full stop before [1]
    assert float(chosen.signals["score"]) > 0 and len(chosen.signals) > 1
    assert e.candidates and e.candidates[0].signals and not e.reason_zh
    body = e.to_json()
    assert body["chosen"][0]["passage"] == chosen.passage and body["answer"]["citations"]


def test_explain_gives_the_reason_an_unanswerable_question_is_not_answered(
    shipped_services: Services,
) -> None:
    e = explain(shipped_services.assistant, "孵化器的申报截止时间是什么时候？")
    assert e.verdict == "abstain" and e.answer.abstained and not e.chosen
    assert e.reason_zh.startswith("现有文件未载明") and e.reason_en
    assert e.passages and e.candidates  # what it read, and why each sentence fell short
    assert not any(c.answers for c in e.candidates)


def test_explain_says_a_question_outside_the_documents_is_out_of_scope(
    shipped_services: Services,
) -> None:
    e = explain(shipped_services.assistant, "今天天气怎么样？")
    assert e.verdict == "out_of_scope" and e.reason_zh and e.answer.abstained


def test_the_staff_page_shows_the_signals_or_the_reason_escaped(
    shipped_services: Services,
) -> None:
    answered = explanation_html(explain(shipped_services.assistant, "高企的企业所得税税率是多少？"))
    assert "选中的句子" in answered and "得分" in answered and "融合得分" in answered
    assert "15％" in answered and 'class="pa-signal' in answered
    refused = explanation_html(explain(shipped_services.assistant, "<b>孵化器</b>申报截止时间？"))
    assert "未作答的原因：现有文件未载明" in refused and "<b>孵化器" not in refused


# -- the routes, on a real server --------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Settings]]:
    root = tmp_path_factory.mktemp("checks")
    shutil.copytree(FICTIONAL, root / "corpus")  # staff uploads land in this copy
    settings = make_settings(root / "corpus", root / "index")
    Services(settings).store.ingest()
    with served(create_app(settings)) as url:
        yield url, settings


def call(url: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
    return httpx.request(method, url + path, headers=STAFF, timeout=60, **kwargs)


def finished(url: str, started: httpx.Response) -> dict[str, Any]:
    assert started.status_code == 202, started.text
    deadline = time.monotonic() + 120
    while (job := call(url, "GET", started.json()["status_url"]).json())["state"] not in (
        "done",
        "failed",
    ):
        assert time.monotonic() < deadline, job
        time.sleep(0.1)
    assert job["state"] == "done", job
    return job


def by_question(url: str) -> dict[str, dict[str, Any]]:
    listed = call(url, "GET", "/v1/admin/checks")
    assert listed.status_code == 200, listed.text
    return {c["question"]: c for c in listed.json()["checks"]}


def test_explain_without_the_admin_key_is_refused_in_both_languages(
    server: tuple[str, Settings],
) -> None:
    url, _ = server
    for headers in ({}, {"Authorization": f"Bearer {KEY}"}):  # a client's key is not staff's
        response = httpx.post(
            url + "/v1/admin/explain", json={"question": "孵化器奖励多少？"}, headers=headers
        )
        assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
        error = response.json()["error"]
        assert error["code"] == "unauthorized" and error["zh"] and error["en"]
    assert httpx.get(url + "/v1/admin/checks").status_code == 401
    assert httpx.post(url + "/v1/admin/checks/run").status_code == 401


def test_explain_over_the_api_reads_a_follow_up_against_its_history(
    server: tuple[str, Settings],
) -> None:
    url, _ = server
    history = [
        {"role": "user", "content": "首次认定的高新技术企业奖励多少？"},
        {"role": "assistant", "content": "给予一次性奖励88万元。"},
    ]
    response = call(
        url, "POST", "/v1/admin/explain", json={"question": "那重新认定的呢？", "history": history}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert "重新认定" in body["resolved"] and body["verdict"] == "answer"
    assert "30万元" in body["chosen"][0]["text"] and body["passages"][0]["ranks"]
    assert "30万元" in body["answer"]["answer"]


def test_a_saved_check_runs_again_after_each_document_change_and_is_marked_when_it_changes(
    server: tuple[str, Settings],
) -> None:
    url, _ = server
    steady = {"question": "首次认定的高新技术企业奖励多少？", "expect": ["88万元"]}
    voucher = {"question": "创新券每家企业每年最高多少？", "expect": ["30万元"]}
    for check in (steady, voucher):
        saved = call(url, "POST", "/v1/admin/checks", json=check)
        assert saved.status_code == 201, saved.text
        assert saved.json()["last"]["trigger"] == "saved"  # run once at once, as a baseline
    before = by_question(url)
    assert before[steady["question"]]["last"]["passed"]
    assert not before[voucher["question"]]["last"]["passed"]  # no document states it yet

    upload = call(
        url,
        "POST",
        "/v1/admin/documents",
        files=[("files", ("voucher.txt", VOUCHER, "text/plain"))],
    )
    finished(url, upload)  # the job ends once the checks have run against the new index
    after = by_question(url)
    moved, kept = after[voucher["question"]]["last"], after[steady["question"]]["last"]
    assert moved["trigger"] == "add" and moved["passed"] and moved["changed"]
    assert moved["was_passed"] is False and "30万元" in moved["answer_excerpt"]
    assert moved["index_version"] != before[voucher["question"]]["last"]["index_version"]
    assert kept["trigger"] == "add" and kept["passed"] and not kept["changed"]

    finished(url, call(url, "DELETE", "/v1/admin/documents/uploads/voucher"))
    removed = by_question(url)[voucher["question"]]["last"]
    assert removed["trigger"] == "remove" and not removed["passed"] and removed["changed"]

    rerun = call(url, "POST", "/v1/admin/checks/run")
    assert rerun.status_code == 200 and rerun.json()["changed"] == 0  # nothing moved since
    assert {c["last"]["trigger"] for c in rerun.json()["checks"]} == {"manual"}


def test_the_saved_list_marks_a_check_whose_result_changed_at_its_last_run() -> None:
    row = {
        "id": 7,
        "question": "创新券<每家>最高多少？",
        "expect": ["30万元"],
        "abstain": False,
        "created": "2026-11-01T00:00:00.000+00:00",
        "ran": "2026-11-02T01:00:00.000+00:00",
        "trigger": "add",
        "index_version": "v2",
        "passed": True,
        "was_passed": False,
        "excerpt": "每家企业每年申领创新券最高30万元[1]。",
        "fingerprint": "0f0f0f0f",
        "changed": True,
    }
    unrun = {**row, "id": 8, "ran": None}
    page = checks_html([checks.Check.from_row(row), checks.Check.from_row(unrun)])
    assert "✓ 通过" in page and "结果有变化" in page and "尚未运行" in page
    assert "2026-11-02 09:00" in page and "&lt;每家&gt;" in page  # Beijing time, escaped
    assert "fingerprint" not in checks.Check.from_row(row).to_json()["last"]


def test_saved_checks_are_capped_in_number_question_length_and_words(
    server: tuple[str, Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, settings = server

    def save(body: dict[str, Any]) -> httpx.Response:
        return call(url, "POST", "/v1/admin/checks", json=body)

    too_long = save({"question": "问" * (settings.max_question_chars + 1)})
    too_many_words = save({"question": "孵化器奖励多少？", "expect": [f"词{n}" for n in range(11)]})
    long_word = save({"question": "孵化器奖励多少？", "expect": ["长" * 51]})
    empty = save({"question": "   ", "expect": ["x"]})
    for refused in (too_long, too_many_words, long_word, empty):
        assert refused.status_code == 400, refused.text
        error = refused.json()["error"]
        assert error["code"] == "check_error" and error["zh"] and error["en"]

    monkeypatch.setattr(checks, "MAX_CHECKS", len(by_question(url)) + 1)
    assert save({"question": "孵化器奖励多少？", "expect": ["50万元"]}).status_code == 201
    full = save({"question": "孵化器有哪些支持？"})
    assert full.status_code == 400 and "上限" in full.json()["error"]["zh"]

    last = max(c["id"] for c in by_question(url).values())
    assert call(url, "DELETE", f"/v1/admin/checks/{last}").json() == {"deleted": last}
    gone = call(url, "DELETE", f"/v1/admin/checks/{last}")
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "unknown_check"
    assert save({"question": "孵化器有哪些支持？"}).status_code == 201  # room again


def test_a_records_database_from_before_saved_checks_opens_and_takes_them(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:  # the tables an earlier release made, with a row kept
        conn.execute(sa.text("CREATE TABLE feedback (id INTEGER PRIMARY KEY, message_id TEXT)"))
        conn.execute(sa.text("INSERT INTO feedback (message_id) VALUES ('kept')"))
    engine.dispose()
    store = RecordStore(url)
    check_id = store.add_check("电话13812345678的企业能领多少？", ["万元"], False, limit=5)
    assert [c["id"] for c in store.checks()] == [check_id]
    assert "13812345678" not in store.checks()[0]["question"]  # redacted as records are
    with store.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT message_id FROM feedback")).scalar_one() == "kept"
