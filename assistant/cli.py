"""The `policy-assistant` command line.

    policy-assistant ingest [PATH...]          build or update the index (default: corpus/)
    policy-assistant search "高企有什么补贴"     the best passages, with their citations
    policy-assistant search < questions.txt    one JSON line per question read from stdin
    policy-assistant ask "高企的税率是多少"       a short answer with numbered citations
    policy-assistant ask < conversations.jsonl  {"messages": [...]} per line → one result per line
    policy-assistant chat                      a conversation in the terminal
    policy-assistant serve [--host --port]     the HTTP API (docs at /docs)
    policy-assistant cluster                   PostgreSQL, Chroma and two replicas, on loopback
    policy-assistant logs --since 7d --only unanswered --format csv   records for staff
    policy-assistant eligibility --profile profile.json   what the enterprise qualifies for
    policy-assistant rules check               rules against the corpus, and what is left to encode
    policy-assistant eval                      retrieval and answer quality on evals/questions.jsonl

Errors go to stderr with a non-zero exit status; `--json` gives machine-readable output.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from assistant.config import Settings, get_settings
from assistant.errors import AssistantError
from assistant.models import Hit, Message
from assistant.search.retrieval import MODES
from assistant.serve.access import bounded
from assistant.serve.logs import configure as configure_logging
from assistant.serve.runtime import Services, limit_threads
from assistant.terminal import (
    parse_since,
    print_answer,
    print_hits,
    read_conversation,
    search_loop,
    stream_answer,
    typed_questions,
)

app = typer.Typer(
    add_completion=False, no_args_is_help=True, help="Cited answers from Chinese policy documents."
)
log = logging.getLogger("assistant")

EXIT_ERROR = 1
EXIT_PARTIAL = 3  # ingest finished, but some files were skipped


def _services() -> Services:
    limit_threads()
    return Services(get_settings())


def _fail(exc: AssistantError) -> None:
    typer.echo(f"错误 / error: {exc.zh}\n  {exc.en}", err=True)
    raise typer.Exit(EXIT_ERROR)


@app.callback()
def main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log details.")] = False,
) -> None:
    """Configure logging once for every command."""
    try:
        settings: Settings = get_settings()
    except AssistantError as exc:
        _fail(exc)
        return
    level = logging.DEBUG if verbose else getattr(logging, settings.log_level.upper(), 20)
    configure_logging(level)


@app.command()
def ingest(
    paths: Annotated[list[Path] | None, typer.Argument(help="Files or folders.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Build or update the index from policy files (incremental and atomic)."""
    from tqdm import tqdm

    services = _services()
    bar = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(
                total=total,
                unit="chunk",
                desc="embedding",
                file=sys.stderr,
                disable=as_json or not sys.stderr.isatty(),
            )
        bar.update(done - bar.n)

    try:
        report = services.store.ingest(paths, progress)
    except AssistantError as exc:
        _fail(exc)
        return
    finally:
        if bar is not None:
            bar.close()
    for error in report.errors:
        typer.echo(f"跳过 / skipped: {error.zh}\n  {error.en}", err=True)
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "version": report.version,
                    "documents": report.documents,
                    "chunks": report.chunks,
                    "added": report.added,
                    "replaced": report.replaced,
                    "removed": report.removed,
                    "unchanged": len(report.unchanged),
                    "embedded_chunks": report.embedded_chunks,
                    "seconds": round(report.seconds, 2),
                    "swapped": report.swapped,
                    "errors": [{"path": e.path, "zh": e.zh, "en": e.en} for e in report.errors],
                },
                ensure_ascii=False,
            )
        )
    else:
        state = "已更新 / updated" if report.swapped else "无变化 / up to date"
        typer.echo(
            f"{state}: {report.documents} documents, {report.chunks} chunks, "
            f"{report.seconds:.1f} s (added {len(report.added)}, replaced {len(report.replaced)}, "
            f"removed {len(report.removed)}, unchanged {len(report.unchanged)}; "
            f"embedded {report.embedded_chunks} chunks; index {report.version})"
        )
    rule_errors = _rule_errors(services)
    if report.errors or rule_errors:
        raise typer.Exit(EXIT_PARTIAL)


def _rule_errors(services: Services) -> list[AssistantError]:
    """Rules refused against the index now serving, each reported by name."""
    try:
        book = services.rulebook
    except AssistantError as exc:
        typer.echo(f"规则未读取 / rules not read: {exc.zh}\n  {exc.en}", err=True)
        return [exc]
    for error in book.errors:
        typer.echo(f"规则未采用 / rule refused: {error.zh}\n  {error.en}", err=True)
    return list(book.errors)


@app.command()
def search(
    question: Annotated[
        str | None, typer.Argument(help="The question; omit to read stdin.")
    ] = None,
    k: Annotated[int, typer.Option("--k", min=1, max=50, help="How many passages.")] = 5,
    mode: Annotated[str, typer.Option(help="hybrid, dense or bm25.")] = "hybrid",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Find the passages that answer a question, with their citations."""
    if mode not in MODES:
        _fail(
            AssistantError(
                f"未知的检索方式 {mode!r}（可选 hybrid、dense、bm25）",
                f"unknown mode {mode!r} (use hybrid, dense or bm25)",
            )
        )
    services = _services()
    try:
        retriever = services.retriever
    except AssistantError as exc:
        _fail(exc)
        return

    def run(q: str) -> list[Hit]:
        return retriever.search(q, k=k, mode=mode)  # type: ignore[arg-type]

    if question is not None:
        hits = run(question)
        if as_json:
            typer.echo(
                json.dumps(
                    {"query": question, "results": [h.to_json() for h in hits]}, ensure_ascii=False
                )
            )
        else:
            print_hits(question, hits)
        return
    if sys.stdin.isatty() and not as_json:
        search_loop(run, services)
        return
    for line in sys.stdin:
        q = line.strip()
        if q:
            typer.echo(
                json.dumps(
                    {"query": q, "results": [h.to_json() for h in run(q)]}, ensure_ascii=False
                )
            )


@app.command()
def ask(
    question: Annotated[
        str | None, typer.Argument(help="The question; omit to read stdin.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Answer a question with numbered citations (or say what the documents do not state).

    Without a question, reads one conversation per line from stdin
    (`{"messages": [{"role": "user", "content": "…"}, …]}`) and writes one JSON result per line.
    """
    if question is None and sys.stdin.isatty():
        _fail(
            AssistantError(
                '请给出问题（policy-assistant ask "问题"），或从标准输入逐行传入 JSON 对话；'
                "连续对话请用 policy-assistant chat。",
                'give a question (policy-assistant ask "…") or pipe JSON conversations, one per '
                "line; for a conversation in the terminal use policy-assistant chat.",
            )
        )
    if question is not None and not question.strip():
        _fail(AssistantError("问题不能为空。", "the question is empty."))
    services = _services()
    try:
        assistant = services.assistant
    except AssistantError as exc:
        _fail(exc)
        return
    if question is not None:
        try:
            result = assistant.ask(question.strip())
        except AssistantError as exc:
            _fail(exc)
            return
        if as_json:
            typer.echo(json.dumps(result.to_json(), ensure_ascii=False))
        else:
            print_answer(result)
        return
    turns = services.settings.history_turns
    failed = 0
    for n, line in enumerate(sys.stdin, 1):
        if not line.strip():
            continue
        try:
            q, history = read_conversation(line)
            result = assistant.ask(q, bounded(history, turns))
        except AssistantError as exc:
            failed += 1
            typer.echo(
                json.dumps({"line": n, "error": {"zh": exc.zh, "en": exc.en}}, ensure_ascii=False)
            )
            continue
        typer.echo(json.dumps(result.to_json(), ensure_ascii=False))
    if failed:
        typer.echo(f"错误 / error: {failed} 行无法处理 / line(s) could not be answered", err=True)
        raise typer.Exit(EXIT_ERROR)


EXAMPLES = ("我们刚拿到高企证书，区里有补贴吗？", "高企的企业所得税税率是多少？")
NEW_CONVERSATION = ("/new", "新对话")


@app.command()
def chat() -> None:
    """Talk with the assistant in the terminal; it remembers the conversation."""
    services = _services()
    try:
        assistant = services.assistant
        manifest = services.index.manifest
    except AssistantError as exc:
        _fail(exc)
        return
    turns = services.settings.history_turns
    typer.echo(
        f"政策问答 · {len(manifest.documents)} 份文件，{manifest.chunk_count} 个段落。"
        "输入问题后回车；/new 或“新对话”开始新对话；空行或 Ctrl-D 退出。\n例如："
        + " / ".join(EXAMPLES)
    )
    history: list[Message] = []
    for q in typed_questions():
        if q in NEW_CONVERSATION:
            history = []
            typer.echo("已开始新对话。 / New conversation.")
            continue
        try:
            result = stream_answer(assistant, q, bounded(history, turns))
        except AssistantError as exc:
            typer.echo(f"\n错误 / error: {exc.zh}\n  {exc.en}", err=True)
            continue
        if result is not None:
            print_answer(result, with_text=False)  # its text was streamed already
            history += [Message("user", q), Message("assistant", result.answer)]


LOOPBACK = ("127.0.0.1", "localhost", "::1")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes.")] = 1,
) -> None:
    """Serve the HTTP API (docs at /docs, schema at /openapi.json)."""
    import uvicorn

    from assistant.serve.access import load_keys
    from assistant.serve.middleware import parse_networks
    from assistant.serve.records import RecordStore, records_secret

    settings = get_settings()
    try:  # what would stop the server, said before it starts
        keys = load_keys(settings.api_keys, settings.api_keys_file, settings.admin_key)
        parse_networks(settings.trusted_proxies)
        records_secret(settings)
        RecordStore(settings.records_url).close()
    except AssistantError as exc:
        _fail(exc)
        return
    if not keys.required and host not in LOOPBACK:
        _fail(
            AssistantError(
                f"未配置 API 密钥时只能在本机地址上提供服务（收到 --host {host}）。"
                "请设置 ASSISTANT_API_KEYS 或 ASSISTANT_API_KEYS_FILE。",
                f"Without API keys the server listens on loopback only (got --host {host}); "
                "set ASSISTANT_API_KEYS or ASSISTANT_API_KEYS_FILE.",
            )
        )
    # The server logs through our redacting handler (log_config=None), with no access log:
    # its lines would hold every client's address. X-Forwarded-For is read by the app itself,
    # from ASSISTANT_TRUSTED_PROXIES only. A stopping server gives open requests 10 s.
    uvicorn.run(
        "assistant.serve.app:app_factory",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=settings.log_level.lower(),
        log_config=None,
        access_log=False,
        proxy_headers=False,
        timeout_graceful_shutdown=10,
        timeout_keep_alive=5,
    )


@app.command()
def cluster(
    replicas: Annotated[int, typer.Option(min=1, max=16, help="Replicas to start.")] = 2,
    port: Annotated[
        int, typer.Option(min=1, max=65535, help="The first replica's port; the next follow.")
    ] = 8001,
    chroma_port: Annotated[int, typer.Option(min=1, max=65535, help="Chroma's port.")] = 8100,
    pg_port: Annotated[int, typer.Option(min=1, max=65535, help="PostgreSQL's port.")] = 5433,
    folder: Annotated[
        Path | None, typer.Option(help="Where the cluster's data lives (default: index/cluster).")
    ] = None,
) -> None:
    """PostgreSQL, a Chroma server and replicas sharing them, on loopback; Ctrl-C stops all."""
    import os

    from assistant.serve import cluster as runner

    settings = get_settings()
    try:
        layout = runner.plan(
            (folder or settings.index_dir / "cluster").resolve(),
            port,
            replicas,
            chroma_port,
            pg_port,
        )
        status = runner.run(layout, os.environ, typer.echo, records_secret=settings.records_secret)
    except AssistantError as exc:
        _fail(exc)
        return
    if status:
        raise typer.Exit(status)


@app.command()
def eligibility(
    profile: Annotated[Path, typer.Option("--profile", help="The enterprise, as JSON.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the verdicts as JSON.")] = False,
) -> None:
    """Check an enterprise's profile against every rule: verdicts, each condition cited."""
    from assistant.eligibility import verdicts as engine
    from assistant.eligibility.profile import parse_profile
    from assistant.errors import ProfileError

    try:
        data = json.loads(profile.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ProfileError(
                "企业情况文件应为一个 JSON 对象", "the profile must be one JSON object"
            )
        facts = parse_profile(data)
        book = _services().rulebook
    except (OSError, UnicodeDecodeError) as exc:
        _fail(
            AssistantError(
                f"无法读取企业情况文件 {profile}（{exc}）",
                f"cannot read the profile file {str(profile)!r} ({exc})",
            )
        )
        return
    except json.JSONDecodeError as exc:
        _fail(
            AssistantError(
                f"企业情况文件不是有效的 JSON：第 {exc.lineno} 行 {exc.msg}",
                f"the profile is not valid JSON: line {exc.lineno}: {exc.msg}",
            )
        )
        return
    except AssistantError as exc:
        _fail(exc)
        return
    if not book.rules:
        _fail(
            AssistantError(
                "没有可用的资格规则（corpus/rules/ 为空或全部未通过校验）。",
                "No eligibility rules are usable (corpus/rules/ is empty or refused).",
            )
        )
    result = engine.report(facts, engine.evaluate(facts, book.rules), book.citation)
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        typer.echo(engine.format_report(result))


rules_app = typer.Typer(no_args_is_help=True, help="Eligibility rules.")
app.add_typer(rules_app, name="rules")


@rules_app.command("check")
def rules_check(
    as_json: Annotated[bool, typer.Option("--json", help="Print the findings as JSON.")] = False,
) -> None:
    """Validate every rule against the corpus, and list rule-like sentences no rule covers."""
    from assistant.eligibility.rules import uncovered

    services = _services()
    try:
        book = services.rulebook
        chunks = services.index.chunks
    except AssistantError as exc:
        _fail(exc)
        return
    left = uncovered(chunks, book.rules)
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "rules": [r.id for r in book.rules],
                    "refused": [
                        {"rule": e.rule if hasattr(e, "rule") else "", "zh": e.zh, "en": e.en}
                        for e in book.errors
                    ],
                    "uncovered": [{"doc_id": d, "section": s, "sentence": t} for d, s, t in left],
                },
                ensure_ascii=False,
                indent=2,
            )
        )
    else:
        typer.echo(f"可用规则 / usable rules: {len(book.rules)}")
        for error in book.errors:
            typer.echo(f"未采用 / refused: {error.zh}\n  {error.en}")
        typer.echo(
            f"\n尚无规则覆盖、读来像条件或待遇的句子 / rule-like sentences no rule covers: "
            f"{len(left)}"
        )
        for doc_id, section, sentence in left:
            typer.echo(f"- {doc_id} · {section}\n    {sentence}")
    if book.errors:
        raise typer.Exit(EXIT_PARTIAL)


@app.command("eval")
def evaluate(
    questions: Annotated[Path | None, typer.Option(help="A question set (JSONL).")] = None,
    corpus: Annotated[
        Path | None, typer.Option(help="Ask about this folder (indexed apart) instead.")
    ] = None,
    baseline: Annotated[
        bool, typer.Option(help="Also measure the naive LangChain baseline.")
    ] = True,
    answers: Annotated[bool, typer.Option(help="Also answer every question and score it.")] = True,
    details: Annotated[bool, typer.Option(help="Every set's full report.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Retrieval (Recall@k, MRR, context per mode, beside a naive baseline) and answer quality:
    the tuning, test and foreign sets side by side, or one set (--questions, --corpus)."""
    from assistant import evaluation as ev

    services = _services()
    if questions is not None or corpus is not None:
        sets = [ev.EvalSet("custom", questions or ev.DEFAULT_QUESTIONS, corpus)]
    else:
        sets = [s for s in ev.SETS if s.questions.is_file()]
    out: dict[str, dict[str, Any]] = {}
    try:
        for one in sets:
            measured = ev.corpus_services(services, one.corpus) if one.corpus else services
            qs = ev.load_questions(one.questions)
            retrieval = ev.run_evaluation(measured, qs, with_baseline=baseline)
            scored = ev.run_answer_evaluation(measured, qs) if answers else None
            out[one.name] = {"retrieval": retrieval, "answers": scored}
        rules = answers and not corpus and services.rulebook.rules
        eligibility = ev.run_eligibility_evaluation(services) if rules else None
    except AssistantError as exc:
        _fail(exc)
        return
    if as_json:
        # One set: its report as it stands; several: one report per set, by name.
        shown: dict[str, Any] = dict(out["custom"]) if "custom" in out else dict(out)
        if eligibility is not None:
            shown["eligibility"] = eligibility
        typer.echo(json.dumps(shown, ensure_ascii=False, indent=1))
        return
    if len(out) > 1:
        rows = [ev.summary(name, r["retrieval"], r["answers"]) for name, r in out.items()]
        typer.echo(ev.format_summary(rows))
    for name, result in out.items():
        if len(out) > 1 and not details:
            break
        typer.echo(f"\n== {name} ==\n" + ev.format_report(result["retrieval"]))
        if result["answers"] is not None:
            typer.echo("\n" + ev.format_answer_report(result["answers"]))
    if eligibility is not None:
        typer.echo("\n" + ev.format_eligibility_report(eligibility))


@app.command()
def logs(
    since: Annotated[str | None, typer.Option(help="7d, 24h or an ISO date.")] = None,
    only: Annotated[str, typer.Option(help="all, unanswered or negative (👎).")] = "all",
    fmt: Annotated[str, typer.Option("--format", help="json or csv.")] = "json",
) -> None:
    """Export the recorded exchanges and feedback (personal data already removed)."""
    from assistant.serve.records import RecordStore, to_csv

    if only not in ("all", "unanswered", "negative") or fmt not in ("json", "csv"):
        _fail(
            AssistantError(
                "--only 可选 all、unanswered、negative；--format 可选 json、csv。",
                "--only takes all, unanswered or negative; --format json or csv.",
            )
        )
    try:
        start = parse_since(since) if since else None
        rows = RecordStore(get_settings().records_url).export(start, only)  # type: ignore[arg-type]
    except AssistantError as exc:
        _fail(exc)
        return
    typer.echo(
        to_csv(rows) if fmt == "csv" else json.dumps(rows, ensure_ascii=False, indent=1),
        nl=fmt != "csv",
    )


if __name__ == "__main__":
    app()
