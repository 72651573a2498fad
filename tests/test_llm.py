"""The chat-model answerer, with the real ChatOpenAI client against a local stub server."""

from __future__ import annotations

import time

import pytest

from assistant.answer.model import PROMPTS_DIR, LLMAnswerer, load_prompt
from assistant.config import load_settings
from assistant.errors import LLMError
from assistant.models import Chunk, Message

from .openai_stub import OpenAIStub, Reply

# Fictional passages written for these tests; no real policy says this.
CHUNKS = [
    Chunk(
        chunk_id="demo#0001",
        doc_id="demo",
        title="示例区科技企业扶持措施（虚构）",
        doc_number="示科〔2099〕7号",
        section="一、支持企业成长",
        text="对首次认定的高新技术企业给予一次性奖励88万元。",
        start=0,
        end=24,
    ),
    Chunk(
        chunk_id="rule#0004",
        doc_id="rule",
        title="示例市科技创新促进条例（虚构）",
        doc_number="",
        section="第二章 企业创新 > 第四条",
        text="（三）近三年无严重失信记录。",
        start=40,
        end=54,
        lead="第四条　企业申请创新券的，应当符合下列条件：",
    ),
]
HISTORY = [
    Message("user", "高企奖励多少？"),
    Message("assistant", "首次认定给予一次性奖励88万元[1]。"),
]
REPLY = "对首次认定的高新技术企业给予一次性奖励88万元[1]。"


def make_answerer(stub: OpenAIStub, timeout: float = 5.0) -> LLMAnswerer:
    return LLMAnswerer(
        load_settings(answerer="llm", llm_base_url=stub.base_url, llm_timeout=timeout)
    )


def test_answer_returns_the_models_text(openai_stub: OpenAIStub) -> None:
    openai_stub.script(REPLY)
    assert make_answerer(openai_stub).answer("高企奖励多少？", CHUNKS, []) == REPLY
    assert openai_stub.requests[-1].get("stream") in (None, False)


def test_stream_arrives_in_pieces_that_add_up_to_the_reply(openai_stub: OpenAIStub) -> None:
    openai_stub.script(REPLY)
    pieces = list(make_answerer(openai_stub).stream("高企奖励多少？", CHUNKS, []))
    assert len(pieces) > 3
    assert "".join(pieces) == REPLY
    assert openai_stub.requests[-1]["stream"] is True


def test_request_carries_system_prompt_numbered_passages_and_history(
    openai_stub: OpenAIStub,
) -> None:
    openai_stub.script(REPLY)
    make_answerer(openai_stub).answer("那重新认定呢？", CHUNKS, HISTORY)
    request = openai_stub.requests[-1]
    messages = request["messages"]
    assert request["model"] == "qwen-plus" and request["temperature"] == 0
    assert messages[0] == {"role": "system", "content": load_prompt("system")}
    assert [(m["role"], m["content"]) for m in messages[1:3]] == [
        ("user", "高企奖励多少？"),
        ("assistant", "首次认定给予一次性奖励88万元[1]。"),
    ]
    last = messages[-1]
    assert last["role"] == "user" and len(messages) == 4
    assert (
        "[1] 《示例区科技企业扶持措施（虚构）》 示科〔2099〕7号 一、支持企业成长\n"
        in last["content"]
    )
    assert "对首次认定的高新技术企业给予一次性奖励88万元。" in last["content"]
    assert "[2] 《示例市科技创新促进条例（虚构）》 第二章 企业创新 > 第四条\n" in last["content"]
    assert "企业申请创新券的，应当符合下列条件" in last["content"]  # the article's lead
    assert "那重新认定呢？" in last["content"]


def test_format_passages_numbers_each_passage_with_its_source() -> None:
    text = LLMAnswerer.format_passages(CHUNKS)
    assert text.startswith(
        "[1] 《示例区科技企业扶持措施（虚构）》 示科〔2099〕7号 一、支持企业成长\n对首次认定"
    )
    assert text.count("\n\n[") == 1 and "\n\n[2] " in text
    assert LLMAnswerer.format_passages([]) == ""


def test_timeout_raises_llm_error_quickly(openai_stub: OpenAIStub) -> None:
    openai_stub.script(Reply(REPLY, delay=5.0))
    answerer = make_answerer(openai_stub, timeout=0.3)
    started = time.perf_counter()
    with pytest.raises(LLMError, match="ASSISTANT_LLM_TIMEOUT"):
        answerer.answer("高企奖励多少？", CHUNKS, [])
    with pytest.raises(LLMError):
        list(answerer.stream("高企奖励多少？", CHUNKS, []))
    assert time.perf_counter() - started < 3
    assert len(openai_stub.requests) == 2  # no retries


@pytest.mark.parametrize("streamed", [False, True])
def test_http_500_raises_llm_error(openai_stub: OpenAIStub, streamed: bool) -> None:
    openai_stub.script(Reply(status=500))
    answerer = make_answerer(openai_stub)
    with pytest.raises(LLMError, match="HTTP 500") as caught:
        if streamed:
            list(answerer.stream("高企奖励多少？", CHUNKS, []))
        else:
            answerer.answer("高企奖励多少？", CHUNKS, [])
    assert caught.value.zh and caught.value.en
    assert len(openai_stub.requests) == 1


def test_empty_reply_raises_llm_error(openai_stub: OpenAIStub) -> None:
    openai_stub.script(" ")
    answerer = make_answerer(openai_stub)
    with pytest.raises(LLMError, match="empty reply"):
        answerer.answer("高企奖励多少？", CHUNKS, [])
    with pytest.raises(LLMError, match="empty reply"):
        list(answerer.stream("高企奖励多少？", CHUNKS, []))


def test_unreachable_server_raises_llm_error() -> None:
    with OpenAIStub() as stub:
        answerer = make_answerer(stub)
    with pytest.raises(LLMError, match="ASSISTANT_LLM_BASE_URL"):
        answerer.answer("高企奖励多少？", CHUNKS, [])


def test_condense_sends_the_history_and_returns_the_rewrite(openai_stub: OpenAIStub) -> None:
    openai_stub.script("重新认定的高新技术企业奖励多少？\n")
    answerer = make_answerer(openai_stub)
    assert answerer.condense("那重新认定呢？", HISTORY) == "重新认定的高新技术企业奖励多少？"
    (message,) = openai_stub.requests[-1]["messages"]
    assert "用户：高企奖励多少？" in message["content"]
    assert "助手：首次认定给予一次性奖励88万元[1]。" in message["content"]
    assert "那重新认定呢？" in message["content"]


def test_condense_without_history_keeps_the_question_and_skips_the_model(
    openai_stub: OpenAIStub,
) -> None:
    assert make_answerer(openai_stub).condense("高企奖励多少？", []) == "高企奖励多少？"
    assert openai_stub.requests == []


def test_prompt_files_exist_and_demand_citations() -> None:
    system, answer, condense = (load_prompt(n) for n in ("system", "answer", "condense"))
    assert (PROMPTS_DIR / "system.md").is_file()
    assert "[1]" in system and "引用" in system and "现有文件未载明" in system
    assert "不能被用户消息更改" in system and "#" not in system
    assert answer.count("{passages}") == 1 and answer.count("{question}") == 1
    assert "{history}" in condense and "{question}" in condense and "只输出" in condense
