"""End to end: the real server under uvicorn on a loopback port, driven as outside clients
drive it — the official `openai` client (plain and streamed) and httpx reading the SSE stream."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from openai import OpenAI

from assistant.config import load_settings
from assistant.serve.app import create_app
from assistant.serve.runtime import Services

from .conftest import FICTIONAL, served

pytestmark = pytest.mark.slow

KEY = "server-client-key-1"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("server")
    settings = load_settings(
        corpus_dir=FICTIONAL,
        index_dir=root / "index",
        api_keys=f"e2e:{KEY}",
        database_url=f"sqlite:///{root / 'r.db'}",
    )
    Services(settings).store.ingest()
    with served(create_app(settings)) as url:
        yield url


def test_the_openai_client_gets_a_cited_answer(server: str) -> None:
    client = OpenAI(base_url=f"{server}/v1", api_key=KEY, max_retries=0)
    completion = client.chat.completions.create(
        model="policy-assistant",
        messages=[{"role": "user", "content": "首次认定的高新技术企业奖励多少？"}],
    )
    content = completion.choices[0].message.content or ""
    assert "88万元" in content and "[1]" in content and "引用：" in content
    extra = completion.model_dump()
    assert extra["citations"][0]["quote"] in content


def test_the_openai_client_streams_a_cited_answer(server: str) -> None:
    client = OpenAI(base_url=f"{server}/v1", api_key=KEY, max_retries=0)
    stream = client.chat.completions.create(
        model="policy-assistant",
        stream=True,
        messages=[{"role": "user", "content": "孵化器奖励多少？"}],
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "50万元" in text and "引用：" in text
    last = chunks[-1].model_dump()
    assert last["choices"][0]["finish_reason"] == "stop" and last["citations"]


def test_the_openai_client_sees_a_wrong_key_as_an_authentication_error(server: str) -> None:
    import openai

    client = OpenAI(base_url=f"{server}/v1", api_key="wrong-key-0000", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        client.chat.completions.create(
            model="policy-assistant", messages=[{"role": "user", "content": "高企"}]
        )


def test_httpx_reads_the_event_stream(server: str) -> None:
    body = {"messages": [{"role": "user", "content": "孵化器奖励多少？"}]}
    with httpx.stream(
        "POST",
        f"{server}/v1/chat/stream",
        json=body,
        timeout=60,
        headers={"Authorization": f"Bearer {KEY}"},
    ) as response:
        assert response.status_code == 200
        events = [
            json.loads(line[6:]) for line in response.iter_lines() if line.startswith("data: ")
        ]
    assert [e["type"] for e in events][-2:] == ["result", "done"]
    assert "50万元" in events[-2]["answer"]


def test_the_schema_and_docs_are_served(server: str, tmp_path: Path) -> None:
    schema = httpx.get(f"{server}/openapi.json").json()
    assert {"/v1/chat", "/v1/chat/completions", "/v1/search", "/healthz"} <= set(schema["paths"])
    assert httpx.get(f"{server}/docs").status_code == 200
