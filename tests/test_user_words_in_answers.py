"""An answer never presents the asker's words as the documents' words.

A title typed in 《》 is named only when the indexed documents name it, and then as they spell
it; markup pasted into a question never reaches an answer; an abstention does not repeat the
figure the asker suggested. The real assistant over the fictional corpus, extractive and with
a model (the local stub).
"""

from __future__ import annotations

import json

import pytest

from assistant.answer.model import LLMAnswerer
from assistant.answer.pipeline import FALLBACK_NOTE, Assistant
from assistant.answer.verification import figures_in
from assistant.config import load_settings
from assistant.models import Answer
from assistant.serve.runtime import Services

from .openai_stub import OpenAIStub

SCRIPT = "<script>alert(1)</script>"
INVENTED = "某某虚构办法"
MENTIONED = "示例区科技创新“十五五”规划"  # named by the fictional measures, not indexed itself
FIRST_AWARD = "首次认定的高新技术企业奖励多少？"


@pytest.fixture
def served(services: Services) -> Services:
    services.store.ingest()
    return services


@pytest.fixture
def assistant(served: Services) -> Assistant:
    return served.assistant


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


def shown(answer: Answer) -> str:
    """Everything a client is sent about an answer."""
    return json.dumps(answer.to_json(), ensure_ascii=False)


def assert_no_markup(answer: Answer) -> None:
    for piece in ("<", "script", "alert", "&lt;"):
        assert piece not in shown(answer)
    # ">" joins the parts of a section path ("一、… > (一)…"); it is no markup there.
    for text in (answer.answer, answer.question, *answer.notes):
        assert ">" not in text


def test_a_title_no_document_names_is_not_echoed(assistant: Assistant) -> None:
    answer = assistant.ask(f"《{INVENTED}》里高企补贴500万元吗？")
    assert answer.abstained and answer.citations == ()
    assert INVENTED not in answer.answer and "《" + INVENTED not in answer.answer
    assert "正文未收录" not in answer.answer and "只提到了它" not in answer.answer
    assert "没有所问名称的文件" in answer.answer
    assert "500" not in figures_in(answer.answer)


def test_markup_in_a_question_reaches_no_part_of_the_answer(assistant: Assistant) -> None:
    for question in (
        f"《某某{SCRIPT}办法》里高企补贴500万元吗？",
        f"{SCRIPT}首次认定的高新技术企业奖励多少？",
        "&lt;img src=x onerror=alert(1)&gt;首次认定的高企奖励多少？",
        "<scr<script>ipt>alert(1)</script>首次认定的高企奖励多少？",
    ):
        answer = assistant.ask(question)
        assert_no_markup(answer)
        streamed = list(assistant.stream(question))
        assert all("<" not in e.text and "script" not in e.text for e in streamed)
        assert streamed[-1].answer is not None
        assert_no_markup(streamed[-1].answer)


def test_markup_does_not_change_the_answer(assistant: Assistant) -> None:
    plain = assistant.ask(FIRST_AWARD)
    marked = assistant.ask(f"<b>{FIRST_AWARD}</b>{SCRIPT}")
    assert "88万元" in plain.answer
    assert marked.answer == plain.answer


def test_a_title_the_documents_mention_is_named_as_they_spell_it(assistant: Assistant) -> None:
    answer = assistant.ask(f"《{MENTIONED}》的目标是多少？")
    assert answer.abstained
    assert f"《{MENTIONED}》的正文未收录" in answer.answer
    # Typed in traditional characters, it is still named in the documents' own spelling.
    answer = assistant.ask("《示例區科技創新“十五五”規劃》的目標是多少？")
    assert f"《{MENTIONED}》的正文未收录" in answer.answer
    assert "規劃" not in answer.answer


def test_a_title_holding_a_mentioned_one_is_not_taken_for_it(assistant: Assistant) -> None:
    answer = assistant.ask(f"《{MENTIONED}补充办法》对孵化器奖励多少？")
    assert "补充办法" not in answer.answer and f"《{MENTIONED}》" not in answer.answer


def test_an_abstention_does_not_repeat_the_askers_figure(assistant: Assistant) -> None:
    for question in (
        "首次认定的高新技术企业奖励是500万元吗？",
        "孵化器奖励是不是7.5%？",
        "小巨人企业能拿3000万元吗",
    ):
        answer = assistant.ask(question)
        assert answer.abstained, question
        stated = figures_in(answer.answer)
        assert not stated & {"500", "7.5", "3000"}, (question, answer.answer)


def test_a_model_answer_naming_an_unknown_title_is_replaced(
    served: Services, openai_stub: OpenAIStub
) -> None:
    openai_stub.script(f"根据《{INVENTED}》，对首次认定的高新技术企业给予一次性奖励88万元[1]。")
    answer = with_model(served, openai_stub).ask(FIRST_AWARD)
    assert answer.mode == "extractive" and answer.notes == (FALLBACK_NOTE,)
    assert INVENTED not in answer.answer


def test_a_model_answer_naming_an_indexed_title_is_shown(
    served: Services, openai_stub: OpenAIStub
) -> None:
    openai_stub.script(
        "根据《示例区关于科技企业扶持的若干措施》，对首次认定的高新技术企业给予"
        "一次性奖励88万元[1]。"
    )
    answer = with_model(served, openai_stub).ask(FIRST_AWARD)
    assert answer.mode == "llm" and "《示例区关于科技企业扶持的若干措施》" in answer.answer


def test_a_model_answer_carrying_markup_is_replaced(
    served: Services, openai_stub: OpenAIStub
) -> None:
    openai_stub.script(f"{SCRIPT}对首次认定的高新技术企业给予一次性奖励88万元[1]。")
    answer = with_model(served, openai_stub).ask(FIRST_AWARD)
    assert answer.mode == "extractive" and answer.notes == (FALLBACK_NOTE,)
    assert_no_markup(answer)
