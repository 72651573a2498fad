"""The HTTP API through FastAPI's TestClient, on the fictional policies (see tests/fixtures)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from assistant.config import PROJECT_DIR, Settings, load_settings
from assistant.serve.app import create_app
from assistant.serve.runtime import Services

from .openai_stub import OpenAIStub, Reply

KEY = "test-client-key-1"
ADMIN = "test-admin-key-1"
AUTH = {"Authorization": f"Bearer {KEY}"}


def make_settings(corpus: Path, index: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "corpus_dir": corpus,
        "index_dir": index,
        "api_keys": f"tester:{KEY}",
        "admin_key": ADMIN,
        "database_url": f"sqlite:///{index.parent / 'records.sqlite3'}",
        "rate_limit_per_minute": 1000,
    }
    return load_settings(**{**values, **overrides})


@pytest.fixture
def indexed(settings: Settings) -> Settings:
    Services(settings).store.ingest()
    return settings


@pytest.fixture
def api(indexed: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(make_settings(indexed.corpus_dir, indexed.index_dir))) as client:
        yield client


def ask(api: TestClient, question: str, **extra: object) -> dict:
    response = api.post(
        "/v1/chat",
        headers=AUTH,
        json={"messages": [{"role": "user", "content": question}], **extra},
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_health_reports_the_served_index(api: TestClient) -> None:
    body = api.get("/healthz").json()
    assert body["status"] == "ok" and body["documents"] == 2 and body["chunks"] > 0
    assert body["index_version"]


def test_a_request_without_a_valid_key_is_refused_in_both_languages(api: TestClient) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong-key-123"}, {"Authorization": KEY}):
        response = api.post(
            "/v1/chat",
            headers=headers,
            json={"messages": [{"role": "user", "content": "高企奖励多少"}]},
        )
        assert response.status_code == 401
        error = response.json()["error"]
        assert error["zh"] and error["en"] and response.headers["www-authenticate"] == "Bearer"


def test_chat_answers_with_exact_citations_and_a_message_id(
    api: TestClient, indexed: Settings
) -> None:
    body = ask(api, "首次认定的高新技术企业奖励多少？")
    assert "88万元" in body["answer"] and not body["abstained"] and body["message_id"]
    source = (indexed.corpus_dir / "fictional-subsidy-notice.txt").read_text(encoding="utf-8")
    text = source.split("---\n", 2)[2]
    for c in body["citations"]:
        assert text[c["start"] : c["end"]] == c["quote"]


def test_search_returns_passages_with_their_citation_fields(api: TestClient) -> None:
    response = api.post("/v1/search", headers=AUTH, json={"query": "孵化器奖励", "k": 2})
    assert response.status_code == 200
    results = response.json()["results"]
    assert len(results) == 2 and {"chunk_id", "title", "doc_number", "section"} <= set(results[0])


def test_a_session_keeps_the_conversation_on_the_server(api: TestClient) -> None:
    ask(api, "首次认定的高新技术企业奖励多少？", session_id="s-1")
    follow_up = ask(api, "那重新认定的呢？", session_id="s-1")
    assert "30万元" in follow_up["answer"] and follow_up["session_id"] == "s-1"


def test_feedback_is_stored_and_staff_can_export_the_thumbs_down(api: TestClient) -> None:
    body = ask(api, "首次认定的高新技术企业奖励多少？")
    response = api.post(
        "/v1/feedback",
        headers=AUTH,
        json={"message_id": body["message_id"], "rating": "down", "comment": "想知道申报时间"},
    )
    assert response.status_code == 200
    assert api.get("/v1/admin/records", headers=AUTH).status_code == 401
    export = api.get(
        "/v1/admin/records",
        params={"only": "negative"},
        headers={"Authorization": f"Bearer {ADMIN}"},
    )
    assert export.status_code == 200
    rows = export.json()["records"]
    assert [r["message_id"] for r in rows] == [body["message_id"]]
    csv = api.get(
        "/v1/admin/records", params={"format": "csv"}, headers={"Authorization": f"Bearer {ADMIN}"}
    )
    assert csv.status_code == 200 and "首次认定" in csv.text


def test_feedback_on_an_unknown_answer_is_a_clear_4xx(api: TestClient) -> None:
    response = api.post("/v1/feedback", headers=AUTH, json={"message_id": "nope", "rating": "up"})
    assert response.status_code == 404 and response.json()["error"]["en"]
    assert response.json()["error"]["code"] == "unknown_message"


def test_a_phone_number_in_a_question_is_not_stored(api: TestClient) -> None:
    ask(api, "我的电话13812345678，首次认定的高新技术企业奖励多少？")
    export = api.get("/v1/admin/records", headers={"Authorization": f"Bearer {ADMIN}"})
    stored = json.dumps(export.json(), ensure_ascii=False)
    assert "13812345678" not in stored and "首次认定" in stored


def test_bad_requests_get_readable_4xx_errors(api: TestClient) -> None:
    cases = [
        (
            api.post(
                "/v1/chat",
                headers={**AUTH, "Content-Type": "application/json"},
                content=b"{not json",
            ),
            422,
        ),
        (api.post("/v1/chat", headers=AUTH, json={"messages": []}), 422),
        (
            api.post(
                "/v1/chat",
                headers=AUTH,
                json={"messages": [{"role": "assistant", "content": "hi"}]},
            ),
            422,
        ),
        (
            api.post(
                "/v1/chat",
                headers=AUTH,
                json={"messages": [{"role": "user", "content": "问" * 600}]},
            ),
            422,
        ),
        (
            api.post(
                "/v1/chat",
                headers=AUTH,
                content=json.dumps({"messages": [{"role": "user", "content": "x" * 19_000}] * 5}),
            ),
            413,
        ),
        (api.get("/v1/nowhere"), 404),
    ]
    for response, status in cases:
        assert response.status_code == status, response.text
        error = response.json()["error"]
        assert error["zh"] and error["en"] and "Traceback" not in response.text


def test_a_body_sent_in_chunks_is_refused_once_it_passes_the_limit(api: TestClient) -> None:
    body = json.dumps({"messages": [{"role": "user", "content": "x" * 19_000}] * 5}).encode()

    def chunks() -> Iterator[bytes]:  # no Content-Length: the size shows only while reading
        for i in range(0, len(body), 8192):
            yield body[i : i + 8192]

    response = api.post(
        "/v1/chat", headers={**AUTH, "Content-Type": "application/json"}, content=chunks()
    )
    assert response.status_code == 413 and response.json()["error"]["code"] == "body_too_large"

    small = json.dumps({"messages": [{"role": "user", "content": "孵化器有哪些支持？"}]}).encode()
    response = api.post(
        "/v1/chat",
        headers={**AUTH, "Content-Type": "application/json"},
        content=iter([small[:10], small[10:]]),
    )
    assert response.status_code == 200 and response.json()["citations"]


SLOW_MODEL_QUESTION = {
    "messages": [{"role": "user", "content": "首次认定的高新技术企业奖励多少？"}]
}


def ask_slow_model_six_times(
    indexed: Settings, stub: OpenAIStub, concurrency: int, ask: Callable[[TestClient, int], str]
) -> list[str]:
    """Six concurrent askers of a server whose model takes 0.5 s; what each got."""
    stub.script(Reply("首次认定的高新技术企业可获奖励。[1]", delay=0.5))
    settings = make_settings(
        indexed.corpus_dir,
        indexed.index_dir,
        answerer="llm",
        llm_base_url=stub.base_url,
        llm_concurrency=concurrency,
    )
    with TestClient(create_app(settings)) as client, ThreadPoolExecutor(6) as pool:
        stub.most_at_once = 0  # the start-up warm-up asked once on its own
        return list(pool.map(lambda n: ask(client, n), range(6)))


def test_with_a_model_the_server_asks_it_for_several_answers_at_once(
    indexed: Settings, openai_stub: OpenAIStub
) -> None:
    # Extractive answers run one per core; a model's answers mostly wait on the model, so a
    # server bounded by its cores would keep all but two askers waiting on a slow model.
    def plain(client: TestClient, _: int) -> str:
        return str(client.post("/v1/chat", headers=AUTH, json=SLOW_MODEL_QUESTION).status_code)

    assert ask_slow_model_six_times(indexed, openai_stub, 4, plain) == ["200"] * 6
    assert openai_stub.most_at_once == 4


def test_streamed_answers_count_against_the_same_bound_as_plain_ones(
    indexed: Settings, openai_stub: OpenAIStub
) -> None:
    def streamed(client: TestClient, n: int) -> str:
        path = ("/v1/chat/stream", "/v1/chat/completions")[n % 2]
        with client.stream(
            "POST", path, headers=AUTH, json={**SLOW_MODEL_QUESTION, "stream": True}
        ) as r:
            return "".join(r.iter_text()) if r.status_code == 200 else f"HTTP {r.status_code}"

    texts = ask_slow_model_six_times(indexed, openai_stub, 2, streamed)
    assert all("[DONE]" in t or "event: done" in t for t in texts), texts
    assert openai_stub.most_at_once == 2


def test_too_many_requests_get_429_with_retry_after(indexed: Settings) -> None:
    settings = make_settings(indexed.corpus_dir, indexed.index_dir, rate_limit_per_minute=2)
    with TestClient(create_app(settings)) as client:
        statuses = [
            client.post("/v1/search", headers=AUTH, json={"query": "孵化器"}) for _ in range(3)
        ]
    assert [r.status_code for r in statuses] == [200, 200, 429]
    assert int(statuses[-1].headers["retry-after"]) >= 1


def test_the_stream_sends_text_then_the_result_then_done(api: TestClient) -> None:
    with api.stream(
        "POST",
        "/v1/chat/stream",
        headers=AUTH,
        json={"messages": [{"role": "user", "content": "孵化器奖励多少？"}]},
    ) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        events = [json.loads(line[6:]) for line in r.iter_lines() if line.startswith("data: ")]
    kinds = [e["type"] for e in events]
    assert kinds[0] == "delta" and kinds[-2:] == ["result", "done"]
    text = "".join(e["text"] for e in events if e["type"] == "delta")
    assert text == events[-2]["answer"] and "50万元" in text and events[-2]["citations"]


def test_openai_completions_carry_citations_in_text_and_as_a_field(api: TestClient) -> None:
    response = api.post(
        "/v1/chat/completions",
        headers=AUTH,
        json={
            "model": "policy-assistant",
            "temperature": 0.2,
            "messages": [
                {"role": "system", "content": "你是助手"},
                {"role": "user", "content": "孵化器奖励多少？"},
            ],
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    content = body["choices"][0]["message"]["content"]
    assert "50万元" in content and "引用：" in content and body["citations"]
    assert body["object"] == "chat.completion"


def test_without_keys_the_api_is_open_on_loopback_only(indexed: Settings) -> None:
    settings = make_settings(indexed.corpus_dir, indexed.index_dir, api_keys=None)
    app = create_app(settings)
    with TestClient(app, client=("127.0.0.1", 50000)) as client:
        assert client.post("/v1/search", json={"query": "孵化器"}).status_code == 200
    with TestClient(app, client=("203.0.113.5", 50000)) as client:
        for method, path in (("POST", "/v1/search"), ("GET", "/healthz"), ("GET", "/")):
            response = client.request(method, path, json={"query": "孵化器"})
            assert response.status_code == 403, path
            assert response.json()["error"]["code"] == "loopback_only"


def test_before_any_ingest_every_answer_endpoint_says_so_as_json(settings: Settings) -> None:
    with TestClient(create_app(make_settings(settings.corpus_dir, settings.index_dir))) as client:
        body = {"messages": [{"role": "user", "content": "高企"}]}
        for path in ("/v1/chat", "/v1/chat/stream", "/v1/chat/completions"):
            response = client.post(path, headers=AUTH, json={**body, "stream": True})
            assert response.status_code == 503, (path, response.text)
            assert "policy-assistant ingest" in response.json()["error"]["zh"]
            assert response.json()["error"]["code"] == "index_not_built"
        assert client.get("/healthz").status_code == 503


def test_every_error_kind_has_its_own_stable_code() -> None:
    import assistant.errors as errors

    kinds = [
        k
        for k in vars(errors).values()
        if isinstance(k, type) and issubclass(k, errors.AssistantError)
    ]
    codes = [k.code for k in kinds]
    assert len(set(codes)) == len(kinds), codes  # no kind borrows another's code
    assert all(c.isascii() and c == c.lower() and " " not in c for c in codes)
    assert errors.StoreUnavailableError.code == "store_unavailable"
    assert not issubclass(errors.StoreUnavailableError, errors.IndexNotBuiltError)
    assert issubclass(errors.StoreUnavailableError, errors.UnavailableError)
    readme = (PROJECT_DIR / "README.md").read_text(encoding="utf-8")
    assert not [c for c in codes if f"`{c}`" not in readme]  # each one in the table of codes
