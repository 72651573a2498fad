"""How the command line shows what it found and reads what it is given: passages, answers with
their citations, answers streamed as they are written, conversations as JSON lines, times such as "7d"."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import typer

from assistant.answer.pipeline import Assistant
from assistant.errors import AssistantError
from assistant.models import Answer, Citation, Hit, Message
from assistant.serve.runtime import Services


def print_hits(question: str, hits: list[Hit]) -> None:
    """Passages found for a question, each with where it is from and its score."""
    if not hits:
        typer.echo(
            "没有找到相关内容。请换个说法，或确认相关文件已收录（policy-assistant ingest）。"
        )
        return
    for n, hit in enumerate(hits, 1):
        c = hit.chunk
        where = " · ".join(p for p in (c.title, c.doc_number, c.section) if p)
        typer.echo(f"[{n}] {where}  ({hit.score:.4f})\n    {c.text}\n")


def search_loop(run: Callable[[str], list[Hit]], services: Services) -> None:
    """Questions typed at a prompt, each answered with passages, until an empty line."""
    manifest = services.index.manifest
    typer.echo(
        f"政策检索 · {len(manifest.documents)} 份文件，{manifest.chunk_count} 个段落。"
        "输入问题后回车；空行或 Ctrl-D 退出。\n"
        "例如：我们刚拿到高企证书，区里有补贴吗？ / 高企的企业所得税税率是多少？"
    )
    for q in typed_questions():
        print_hits(q, run(q))


def typed_questions() -> Iterator[str]:
    """Questions typed at the prompt, until an empty line, Ctrl-D or Ctrl-C."""
    while True:
        try:
            q = input("\n问题> ").strip()
        except (EOFError, KeyboardInterrupt):
            typer.echo("")
            return
        if not q:
            return
        yield q


def where(c: Citation) -> str:
    """Where a citation is from: 《title》 · 文号 · section · page."""
    return " · ".join(
        p for p in (f"《{c.chunk.title}》", c.chunk.doc_number, c.chunk.section, c.page_label) if p
    )


def print_answer(result: Answer, with_text: bool = True) -> None:
    """An answer, its citations with their quotes, related clauses and notes."""
    if with_text:
        typer.echo(result.answer)
    if result.citations:
        typer.echo("\n引用 / citations:")
        for c in result.citations:
            typer.echo(f"  [{c.n}] {where(c)}\n      “{c.quote}”")
    if result.related:
        typer.echo("\n相关条文 / related clauses:")
        for c in result.related:
            typer.echo(f"  - {where(c)}\n      “{c.quote}”")
    for note in result.notes:
        typer.echo(f"\n注 / note: {note}")


def read_conversation(line: str) -> tuple[str, list[Message]]:
    """The last user message of a JSON line `{"messages": [...]}`, and the turns before it.

    System messages are left out: the assistant's own prompts decide how it answers.
    """
    try:
        data = json.loads(line)
        messages = [
            Message("user" if m["role"] == "user" else "assistant", str(m["content"]))
            for m in data["messages"]
            if m["role"] in ("user", "assistant")
        ]
    except (ValueError, KeyError, TypeError) as exc:
        raise AssistantError(
            "输入行不是有效的 JSON 对话（需要 "
            f'{{"messages": [{{"role": "user", "content": "…"}}]}}）：{exc}',
            f'the line is not a JSON conversation ({{"messages": [{{"role": "user", '
            f'"content": "…"}}]}} expected): {exc}',
        ) from None
    last = max(
        (i for i, m in enumerate(messages) if m.role == "user" and m.content.strip()), default=None
    )
    if last is None:
        raise AssistantError("对话中没有用户提问。", "the conversation holds no user question.")
    return messages[last].content.strip(), messages[:last]


def stream_answer(assistant: Assistant, question: str, history: list[Message]) -> Answer | None:
    """Print an answer as it is written; the final result, once complete."""
    result: Answer | None = None
    for event in assistant.stream(question, history):
        if event.kind == "delta":
            typer.echo(event.text, nl=False)
        elif event.kind == "replace":
            typer.echo(
                "\n\n（模型回答未通过核验或未能完成，已替换为以下回答 / the model's answer "
                "was replaced by this one）\n" + event.text,
                nl=False,
            )
        elif event.kind == "result":
            result = event.answer
    typer.echo("")
    return result


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """ "7d", "24h" or an ISO date/time as a UTC datetime."""
    now = now or datetime.now(UTC)
    m = re.fullmatch(r"(\d+)\s*([dh])", text.strip())
    if m:
        amount = int(m.group(1))
        return now - (timedelta(days=amount) if m.group(2) == "d" else timedelta(hours=amount))
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise AssistantError(
            f"无法识别的时间 {text!r}（例如 7d、24h 或 2026-11-01）。",
            f"unrecognized time {text!r} (e.g. 7d, 24h or 2026-11-01).",
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
