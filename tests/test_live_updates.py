"""Staff change the documents while the server answers: upload, replace, remove, no restart.

The uploaded files are fictional policy text written by the tests and say so.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from assistant.config import Settings
from assistant.serve.app import create_app
from assistant.serve.runtime import Services

from .conftest import served
from .test_api import ADMIN, AUTH, make_settings

STAFF = {"Authorization": f"Bearer {ADMIN}"}


def notice(amount: int) -> bytes:
    return (
        f"示例区创新券实施细则（虚构示例，仅供测试）\n"
        f"一、支持对象\n（一）额度。每家企业每年申领创新券最高{amount}万元。\n"
    ).encode()


@pytest.fixture
def api(settings: Settings) -> Iterator[TestClient]:
    Services(settings).store.ingest()
    with TestClient(create_app(make_settings(settings.corpus_dir, settings.index_dir))) as client:
        yield client


def finished(
    api: TestClient | httpx.Client, job: dict[str, Any], timeout: float = 120
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        state = api.get(job["status_url"], headers=STAFF).json()
        if state["state"] in ("done", "failed"):
            return state
        assert time.monotonic() < deadline, state
        time.sleep(0.1)


def ask(api: TestClient | httpx.Client, question: str) -> dict[str, Any]:
    response = api.post(
        "/v1/chat", headers=AUTH, json={"messages": [{"role": "user", "content": question}]}
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_an_uploaded_file_is_answered_from_then_removed(api: TestClient) -> None:
    before = api.get("/healthz").json()["index_version"]
    started = api.post(
        "/v1/admin/documents",
        headers=STAFF,
        files=[("files", ("innovation-voucher.txt", notice(30), "text/plain"))],
    )
    assert started.status_code == 202, started.text
    job = finished(api, started.json())
    assert job["state"] == "done", job
    assert job["result"]["files"] == [
        {"file": "innovation-voucher.txt", "ok": True, "zh": "已收录", "en": "ingested"}
    ]
    assert job["progress"]["done"] == job["progress"]["total"] > 0
    assert api.get("/healthz").json()["index_version"] != before
    assert "30万元" in ask(api, "创新券每家企业每年最高多少？")["answer"]

    listed = api.get("/v1/admin/documents", headers=STAFF).json()["documents"]
    assert {d["doc_id"]: d["uploaded"] for d in listed}["uploads/innovation-voucher"]
    removed = api.delete("/v1/admin/documents/uploads/innovation-voucher", headers=STAFF)
    assert removed.status_code == 202, removed.text
    assert finished(api, removed.json())["state"] == "done"
    assert "30万元" not in ask(api, "创新券每家企业每年最高多少？")["answer"]


def test_a_bad_file_in_an_upload_is_reported_and_the_rest_ingested(api: TestClient) -> None:
    started = api.post(
        "/v1/admin/documents",
        headers=STAFF,
        files=[
            ("files", ("voucher.txt", notice(30), "text/plain")),
            ("files", ("scan.pdf", b"%PDF-1.4 not really", "application/pdf")),
            ("files", ("notes.xyz", b"hello", "application/octet-stream")),
        ],
    )
    job = finished(api, started.json())
    outcomes = {f["file"]: f for f in job["result"]["files"]}
    assert outcomes["voucher.txt"]["ok"]
    assert not outcomes["scan.pdf"]["ok"] and outcomes["scan.pdf"]["zh"]
    assert not outcomes["notes.xyz"]["ok"] and ".xyz" in outcomes["notes.xyz"]["en"]


def test_an_upload_named_readme_is_refused_not_reported_as_ingested(api: TestClient) -> None:
    refused = api.post(
        "/v1/admin/documents",
        headers=STAFF,
        files=[("files", ("README.txt", notice(30), "text/plain"))],
    )
    assert refused.status_code == 400  # before anything is copied, with the reason
    error = refused.json()["error"]
    assert "README" in error["zh"] and "rename" in error["en"] and error["code"] == "bad_upload"
    listed = api.get("/v1/admin/documents", headers=STAFF).json()["documents"]
    assert not any(d["uploaded"] for d in listed)


def test_staff_endpoints_need_the_admin_key_and_refuse_what_they_cannot_do(api: TestClient) -> None:
    upload = [("files", ("x.txt", notice(1), "text/plain"))]
    assert api.post("/v1/admin/documents", files=upload).status_code == 401
    assert api.post("/v1/admin/documents", headers=AUTH, files=upload).status_code == 401
    shipped = api.delete("/v1/admin/documents/fictional-subsidy-notice", headers=STAFF)
    assert shipped.status_code == 409 and "不是工作人员上传的文件" in shipped.json()["error"]["zh"]
    nothing = api.delete("/v1/admin/documents/uploads/nothing", headers=STAFF)
    assert nothing.status_code == 404
    assert {shipped.json()["error"]["code"], nothing.json()["error"]["code"]} == {"not_removable"}
    assert api.get("/v1/admin/jobs/nope", headers=STAFF).status_code == 404
    nameless = api.post(
        "/v1/admin/documents", headers=STAFF, files=[("files", (".hidden", b"x", "text/plain"))]
    )
    assert nameless.status_code == 400 and "Traceback" not in nameless.text


def test_an_ingest_by_another_process_is_served_without_a_restart(
    api: TestClient, settings: Settings, tmp_path: Path
) -> None:
    before = api.get("/healthz").json()["index_version"]
    extra = tmp_path / "elsewhere" / "voucher.txt"
    extra.parent.mkdir()
    extra.write_bytes(notice(45))
    Services(settings).store.ingest([extra])  # as the CLI or another worker would
    deadline = time.monotonic() + 20
    while api.get("/healthz").json()["index_version"] == before:
        assert time.monotonic() < deadline, "the server did not switch to the new index"
        time.sleep(0.2)
    assert "45万元" in ask(api, "创新券每家企业每年最高多少？")["answer"]


@pytest.mark.slow
def test_replacing_a_document_while_the_server_answers_loses_no_request(settings: Settings) -> None:
    Services(settings).store.ingest()
    app = create_app(make_settings(settings.corpus_dir, settings.index_dir))
    statuses: list[int] = []
    stop = threading.Event()

    def keep_asking() -> None:
        with httpx.Client(base_url=base, timeout=30) as client:
            while not stop.is_set():
                r = client.post(
                    "/v1/chat",
                    headers=AUTH,
                    json={
                        "messages": [
                            {"role": "user", "content": "首次认定的高新技术企业奖励多少？"}
                        ]
                    },
                )
                statuses.append(r.status_code)

    askers = [threading.Thread(target=keep_asking) for _ in range(3)]
    with served(app) as base, httpx.Client(base_url=base, timeout=30) as staff:
        try:
            for t in askers:
                t.start()
            for amount in (30, 55):  # add, then replace by a file of the same name
                started = staff.post(
                    "/v1/admin/documents",
                    headers=STAFF,
                    files=[("files", ("voucher.txt", notice(amount), "text/plain"))],
                )
                job = finished(staff, started.json())
                assert job["state"] == "done", job
            stop.set()
            for t in askers:
                t.join()
            assert statuses and set(statuses) == {200}, statuses
            answer = ask(staff, "创新券每家企业每年最高多少？")["answer"]
            assert "55万元" in answer and "30万元" not in answer
        finally:
            stop.set()
