"""The page's chat endpoint through `gradio_client`, as a Python program would call it: the
real app under uvicorn on a loopback port, over the fictional policies."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from .conftest import FICTIONAL, served

pytestmark = pytest.mark.slow

QUOTE = "对首次认定的高新技术企业给予一次性奖励88万元。"


@dataclass
class Site:
    url: str
    app: Any


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    from assistant.config import load_settings
    from assistant.serve.app import create_app
    from assistant.serve.runtime import Services

    root = tmp_path_factory.mktemp("web-client")
    settings = load_settings(
        corpus_dir=FICTIONAL,
        index_dir=root / "index",
        database_url=f"sqlite:///{root / 'records.sqlite3'}",
    )
    Services(settings).store.ingest()
    app = create_app(settings)
    with served(app) as url:
        yield Site(url, app)


@pytest.fixture(scope="module")
def client(site: Site) -> Any:
    from gradio_client import Client

    return Client(site.url + "/", verbose=False)


def test_the_chat_endpoint_answers_with_exact_quotes_and_records_the_exchange(
    client: Any, site: Site
) -> None:
    result = client.predict("首次认定的高新技术企业奖励多少？", api_name="/chat")
    assert "88万元" in result["answer"] and not result["abstained"]
    assert result["citations"][0]["quote"] == QUOTE
    assert result["citations"][0]["doc_number"] == "示科〔2099〕7号"
    rows = site.app.state.runtime.records.export()
    assert [r["client"] for r in rows if r["message_id"] == result["message_id"]] == ["web-api"]


def test_the_chat_endpoint_says_when_the_documents_do_not_state_it(client: Any) -> None:
    result = client.predict("孵化器的申报截止时间是什么时候？", api_name="/chat")
    assert result["abstained"] and "未载明" in result["answer"] and result["related"]


def test_an_empty_question_is_refused_with_a_message(client: Any) -> None:
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="请输入问题"):
        client.predict("  ", api_name="/chat")


def test_only_the_chat_endpoint_is_offered_to_clients(client: Any) -> None:
    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert list(endpoints) == ["/chat"]
