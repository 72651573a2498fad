"""No log line, at any level, holds what the asker typed: only its length and fingerprint.

Questions carry phone and ID numbers; logs are kept longer and read by more people than the
redacted records, so the answer path names a question by `described(question)` alone.
"""

from __future__ import annotations

import json
import logging

import pytest

from assistant.answer.model import LLMAnswerer
from assistant.answer.pipeline import Assistant
from assistant.config import load_settings
from assistant.errors import LLMError
from assistant.models import Message
from assistant.serve.runtime import Services
from assistant.text.redaction import described, fingerprint

from .openai_stub import OpenAIStub, Reply

PHONE = "13812345678"
ID_NUMBER = "310101199001011234"
QUESTION = f"我手机{PHONE}，身份证{ID_NUMBER}，首次认定的高企奖励多少？"
SECRETS = (PHONE, ID_NUMBER, "138 1234 5678", "高企奖励多少")


@pytest.fixture
def served(services: Services) -> Services:
    """The fictional corpus, ingested."""
    services.store.ingest()
    return services


def logged(caplog: pytest.LogCaptureFixture) -> str:
    """Everything the captured records say, messages and raw arguments alike."""
    return "\n".join(f"{r.getMessage()} {r.args!r} {r.exc_text or ''}" for r in caplog.records)


def assert_nothing_typed(caplog: pytest.LogCaptureFixture) -> None:
    text = logged(caplog)
    for secret in SECRETS:
        assert secret not in text


def with_model(services: Services, stub: OpenAIStub) -> Assistant:
    settings = load_settings(
        answerer="llm",
        llm_base_url=stub.base_url,
        llm_timeout=10.0,
        index_dir=services.settings.index_dir,
        corpus_dir=services.settings.corpus_dir,
    )
    return Assistant(
        services.index,
        services.retriever,
        services.vocabulary,
        settings.top_k,
        LLMAnswerer(settings),
    )


def test_asking_logs_the_questions_fingerprint_not_its_words(
    served: Services, caplog: pytest.LogCaptureFixture
) -> None:
    assistant = served.assistant
    caplog.set_level(logging.DEBUG)
    answer = assistant.ask(QUESTION)
    list(assistant.stream(QUESTION))
    assert "88万元" in answer.answer
    assert_nothing_typed(caplog)
    # One question's lines can still be found: by its fingerprint.
    assert described(QUESTION) in logged(caplog) and fingerprint(QUESTION) in logged(caplog)


def test_the_model_path_logs_no_question_rewrite_or_rejected_figure(
    served: Services, openai_stub: OpenAIStub, caplog: pytest.LogCaptureFixture
) -> None:
    # The model echoes the phone number in its rewrite and in its answer; the answer is then
    # rejected for a figure no passage holds, and the rejection must not quote that figure.
    openai_stub.script(f"{QUESTION}（改写）", f"请拨打{PHONE}，身份证{ID_NUMBER}[1]。")
    assistant = with_model(served, openai_stub)
    history = (Message("user", f"我是张三，电话{PHONE}"), Message("assistant", "您好。"))
    caplog.set_level(logging.DEBUG)
    answer = assistant.ask(QUESTION, history)
    assert answer.mode == "extractive" and answer.notes  # the model's answer was rejected
    assert "model answer rejected" in logged(caplog)
    assert_nothing_typed(caplog)


def test_a_models_profile_reading_is_logged_by_its_fields_only(
    served: Services, openai_stub: OpenAIStub, caplog: pytest.LogCaptureFixture
) -> None:
    llm = with_model(served, openai_stub).llm
    assert llm is not None
    caplog.set_level(logging.DEBUG)
    openai_stub.script(json.dumps({"qualifications": [f"电话{PHONE}"]}, ensure_ascii=False))
    with pytest.raises(LLMError) as caught:
        llm.extract_profile(QUESTION, ())
    # The error is logged by the caller: it must not quote what the model read.
    assert PHONE not in caught.value.zh and PHONE not in caught.value.en
    openai_stub.script(json.dumps({"high_tech": True}))
    llm.extract_profile(QUESTION, ())
    assert "fields high_tech" in logged(caplog)
    assert_nothing_typed(caplog)


def test_a_failing_model_is_logged_without_the_request(
    served: Services, openai_stub: OpenAIStub, caplog: pytest.LogCaptureFixture
) -> None:
    openai_stub.script(Reply(status=500))
    assistant = with_model(served, openai_stub)
    caplog.set_level(logging.DEBUG)
    answer = assistant.ask(QUESTION)
    assert answer.notes  # answered extractively, with a note that the model failed
    assert "HTTP 500" in logged(caplog)
    # The error's body is not logged: a service may quote the request in it.
    assert "scripted failure" not in logged(caplog)
    assert_nothing_typed(caplog)
