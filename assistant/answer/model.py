"""Answers written by an OpenAI-compatible chat model from numbered passages.

The prompts live in `prompts/` at the project root (system.md, answer.md, condense.md,
profile.md), ship inside the package as `assistant.prompts`, and are read once when an
`LLMAnswerer` is built. The model's raw text keeps its [n] markers; checking
them against the passages is the caller's job. Every failure of the model, whether the
connection, a timeout, an HTTP error or an empty reply, surfaces as `LLMError`.
"""

from __future__ import annotations

import importlib
import json
import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from importlib import resources
from pathlib import Path
from types import ModuleType

import httpx
import openai
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder
from langchain_core.runnables import Runnable
from langchain_openai import ChatOpenAI
from pydantic import SecretStr

from assistant.config import Settings
from assistant.eligibility.profile import Profile, parse_profile, profile_schema_text
from assistant.errors import ConfigError, LLMError, ProfileError
from assistant.models import Chunk, Message
from assistant.text.redaction import described

log = logging.getLogger(__name__)

# From the package, so an installed wheel has them as the source tree does.
PROMPTS_DIR = Path(str(resources.files("assistant.prompts")))


def _transports() -> list[ModuleType]:
    """httpx, and httpx2 where installed: openai>=3 sends through httpx2, earlier ones httpx."""
    modules = [httpx]
    with suppress(ImportError):
        modules.append(importlib.import_module("httpx2"))
    return modules


# A read that stalls mid-stream raises the transport's own error unwrapped, hence both kinds.
_HTTP_ERRORS: tuple[type[Exception], ...] = tuple(m.HTTPError for m in _transports())
_TIMEOUTS: tuple[type[Exception], ...] = (
    openai.APITimeoutError,
    TimeoutError,
    *(m.TimeoutException for m in _transports()),
)
_MODEL_ERRORS: tuple[type[Exception], ...] = (openai.OpenAIError, TimeoutError, *_HTTP_ERRORS)


def load_prompt(name: str, folder: Path = PROMPTS_DIR) -> str:
    """The text of prompts/<name>.md."""
    path = folder / f"{name}.md"
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(
            f"找不到提示词文件 {str(path)!r}：{exc.strerror}",
            f"Cannot read the prompt file {str(path)!r}: {exc.strerror}",
        ) from None


class LLMAnswerer:
    """Writes cited answers, and resolves follow-up questions, with one chat model."""

    def __init__(self, settings: Settings) -> None:
        if not settings.llm_base_url:
            raise ConfigError(
                "使用大模型作答须设置 ASSISTANT_LLM_BASE_URL。",
                "ASSISTANT_LLM_BASE_URL is required to answer with a model.",
            )
        self.base_url = settings.llm_base_url
        self.model = settings.llm_model
        self.timeout = settings.llm_timeout
        chat = ChatOpenAI(
            model=settings.llm_model,
            base_url=settings.llm_base_url,
            api_key=SecretStr(settings.llm_api_key),
            timeout=settings.llm_timeout,
            max_retries=0,  # the caller falls back to the extractive answer at once
            temperature=settings.llm_temperature,
            # `streaming` left unset: invoke() then takes one reply and stream() streams,
            # whereas an explicit streaming=False would turn stream() into one piece too.
        )
        answer_prompt = ChatPromptTemplate.from_messages(
            [
                SystemMessage(
                    load_prompt("system")
                ),  # a message, not a template: braces stay literal
                MessagesPlaceholder("history"),
                ("human", load_prompt("answer")),
            ]
        )
        condense_prompt = ChatPromptTemplate.from_messages([("human", load_prompt("condense"))])
        self._answer: Runnable[dict[str, object], str] = answer_prompt | chat | StrOutputParser()
        self._condense: Runnable[dict[str, object], str] = (
            condense_prompt | chat | StrOutputParser()
        )
        profile_prompt = ChatPromptTemplate.from_messages([("human", load_prompt("profile"))])
        self._profile: Runnable[dict[str, object], str] = profile_prompt | chat | StrOutputParser()

    @staticmethod
    def format_passages(chunks: Sequence[Chunk]) -> str:
        """The passages as the model sees them: "[n] 《title》 doc_number section" then the text.

        A later piece of a long article carries the article's opening clause, since
        "（三）近三年无严重失信记录" means nothing without "申请创新券应当符合下列条件".
        """
        blocks = []
        for n, chunk in enumerate(chunks, 1):
            head = " ".join(p for p in (f"《{chunk.title}》", chunk.doc_number, chunk.section) if p)
            lead = f"（本条开头：{chunk.lead}……）\n" if chunk.lead else ""
            blocks.append(f"[{n}] {head}\n{lead}{chunk.text.strip()}")
        return "\n\n".join(blocks)

    def answer(self, question: str, chunks: Sequence[Chunk], history: Sequence[Message]) -> str:
        """The model's answer to `question` from `chunks`, with its [n] markers as written."""
        started = time.perf_counter()
        with self._model_errors():
            text = self._answer.invoke(self._answer_inputs(question, chunks, history))
        text = self._nonempty(text)
        log.info(
            "llm answer: %s, %d passages, %d history messages, %d chars in %.2f s",
            self.model,
            len(chunks),
            len(history),
            len(text),
            time.perf_counter() - started,
        )
        return text

    def stream(
        self, question: str, chunks: Sequence[Chunk], history: Sequence[Message]
    ) -> Iterator[str]:
        """The same answer as `answer`, in pieces as the model writes them."""
        started = time.perf_counter()
        pieces = chars = 0
        spoke = False  # whitespace alone is no answer
        with self._model_errors():
            for piece in self._answer.stream(self._answer_inputs(question, chunks, history)):
                if piece:
                    pieces += 1
                    chars += len(piece)
                    spoke = spoke or not piece.isspace()
                    yield piece
        if not spoke:
            raise self._empty()
        log.info(
            "llm stream: %s, %d passages, %d history messages, %d chars in %d pieces in %.2f s",
            self.model,
            len(chunks),
            len(history),
            chars,
            pieces,
            time.perf_counter() - started,
        )

    def condense(self, question: str, history: Sequence[Message]) -> str:
        """`question` rewritten to stand alone, using the conversation so far.

        Without history there is nothing to resolve, so the question comes back unchanged
        and the model is not called.
        """
        if not history:
            return question
        started = time.perf_counter()
        transcript = "\n".join(
            f"{'助手' if m.role == 'assistant' else '用户'}：{m.content}" for m in history
        )
        with self._model_errors():
            text = self._condense.invoke({"history": transcript, "question": question})
        text = self._nonempty(text)
        # What the asker typed stays out of the logs: lengths and fingerprints only.
        log.info(
            "llm condense: %s, %d history messages, %s -> %s in %.2f s",
            self.model,
            len(history),
            described(question),
            described(text),
            time.perf_counter() - started,
        )
        return text

    def extract_profile(self, question: str, history: Sequence[Message]) -> Profile:
        """The enterprise's facts stated in the conversation, read by the model.

        The reply must be one JSON object valid against the profile's schema (unknown keys
        and values outside the vocabulary are refused); anything else is an LLMError, and
        the caller reads the facts with the vocabulary instead.
        """
        started = time.perf_counter()
        transcript = (
            "\n".join(
                f"{'助手' if m.role == 'assistant' else '用户'}：{m.content}" for m in history
            )
            or "（无）"
        )
        with self._model_errors():
            text = self._profile.invoke(
                {"fields": profile_schema_text(), "history": transcript, "question": question}
            )
        raw = self._nonempty(text).removeprefix("```json").removeprefix("```").removesuffix("```")
        try:
            data = json.loads(raw)
            if not isinstance(data, dict):
                raise ValueError("not an object")
            profile = parse_profile({k: v for k, v in data.items() if v is not None})
        except (ValueError, ProfileError):
            # Not the details: they quote values the model read from the asker's words, and
            # the caller logs this message.
            raise LLMError(
                "大模型给出的企业情况不符合格式（须为符合企业情况字段定义的 JSON 对象）。",
                "The model's reading of the profile is invalid (it must be a JSON "
                "object valid against the profile's fields).",
            ) from None
        log.info(
            "llm profile: %s, %s -> fields %s in %.2f s",
            self.model,
            described(question),
            ", ".join(profile.known()) or "none",
            time.perf_counter() - started,
        )
        return profile

    @classmethod
    def _answer_inputs(
        cls, question: str, chunks: Sequence[Chunk], history: Sequence[Message]
    ) -> dict[str, object]:
        turns: list[BaseMessage] = [
            AIMessage(m.content) if m.role == "assistant" else HumanMessage(m.content)
            for m in history
        ]
        return {"passages": cls.format_passages(chunks), "question": question, "history": turns}

    def _nonempty(self, text: str) -> str:
        text = text.strip()
        if not text:
            raise self._empty()
        return text

    def _empty(self) -> LLMError:
        return LLMError(
            f"大模型（{self.model}）返回了空回答。",
            f"The chat model {self.model!r} returned an empty reply.",
        )

    @contextmanager
    def _model_errors(self) -> Iterator[None]:
        """Turn whatever the client raises into an LLMError that says what to check."""
        try:
            yield
        except _MODEL_ERRORS as exc:
            # An HTTP error's body may quote the request, and so the question: its status only.
            shown = (
                f"HTTP {exc.status_code}" if isinstance(exc, openai.APIStatusError) else repr(exc)
            )
            log.warning(
                "llm call failed: %s at %s: %s %s",
                self.model,
                self.base_url,
                type(exc).__name__,
                shown,
            )
            raise self._failure(exc) from exc

    def _failure(self, exc: Exception) -> LLMError:
        url = self.base_url
        if isinstance(exc, _TIMEOUTS):
            return LLMError(
                f"大模型服务 {url} 在 {self.timeout:g} 秒内未答复。"
                "请检查服务，或调大 ASSISTANT_LLM_TIMEOUT。",
                f"The chat model at {url!r} did not answer within {self.timeout:g} s; "
                "check the service or raise ASSISTANT_LLM_TIMEOUT.",
            )
        if isinstance(exc, openai.APIStatusError):
            return LLMError(
                f"大模型服务 {url} 返回错误 HTTP {exc.status_code}。"
                "请检查服务、ASSISTANT_LLM_MODEL 与 ASSISTANT_LLM_API_KEY。",
                f"The chat model at {url!r} answered HTTP {exc.status_code}; check the service, "
                "ASSISTANT_LLM_MODEL and ASSISTANT_LLM_API_KEY.",
            )
        if isinstance(exc, (openai.APIConnectionError, *_HTTP_ERRORS)):
            return LLMError(
                f"无法连接大模型服务 {url}，请检查 ASSISTANT_LLM_BASE_URL 与服务是否运行。",
                f"Cannot reach the chat model at {url!r}; check ASSISTANT_LLM_BASE_URL "
                "and that the service is running.",
            )
        return LLMError(f"大模型调用失败：{exc}", f"The chat model call failed: {exc}")
