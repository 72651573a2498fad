"""The `policy-assistant` command line.

    policy-assistant ingest [PATH...]          build or update the index (default: corpus/)
    policy-assistant search "高企有什么补贴"     the best passages, with their citations
    policy-assistant search < questions.txt    one JSON line per question read from stdin
    policy-assistant eval                      retrieval quality on evals/questions.jsonl

Errors go to stderr with a non-zero exit status; `--json` gives machine-readable output.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from .config import Settings, get_settings
from .errors import AssistantError
from .models import Hit
from .retrieval import MODES
from .service import Services, limit_threads

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Cited answers from Chinese policy documents.")
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
def main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log details.")] = False
         ) -> None:
    """Configure logging once for every command."""
    try:
        settings: Settings = get_settings()
    except AssistantError as exc:
        _fail(exc)
        return
    level = logging.DEBUG if verbose else getattr(logging, settings.log_level.upper(), 20)
    logging.basicConfig(level=level, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("chromadb", "httpx", "jieba", "urllib3"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


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
            bar = tqdm(total=total, unit="chunk", desc="embedding", file=sys.stderr,
                       disable=as_json or not sys.stderr.isatty())
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
        typer.echo(json.dumps({
            "version": report.version, "documents": report.documents, "chunks": report.chunks,
            "added": report.added, "replaced": report.replaced, "removed": report.removed,
            "unchanged": len(report.unchanged), "embedded_chunks": report.embedded_chunks,
            "seconds": round(report.seconds, 2), "swapped": report.swapped,
            "errors": [{"path": e.path, "zh": e.zh, "en": e.en} for e in report.errors],
        }, ensure_ascii=False))
    else:
        state = "已更新 / updated" if report.swapped else "无变化 / up to date"
        typer.echo(
            f"{state}: {report.documents} documents, {report.chunks} chunks, "
            f"{report.seconds:.1f} s (added {len(report.added)}, replaced {len(report.replaced)}, "
            f"removed {len(report.removed)}, unchanged {len(report.unchanged)}; "
            f"embedded {report.embedded_chunks} chunks; index {report.version})")
    if report.errors:
        raise typer.Exit(EXIT_PARTIAL)


def _print_hits(question: str, hits: list[Hit]) -> None:
    if not hits:
        typer.echo("没有找到相关内容。请换个说法，或确认相关文件已收录（policy-assistant ingest）。")
        return
    for n, hit in enumerate(hits, 1):
        c = hit.chunk
        where = " · ".join(p for p in (c.title, c.doc_number, c.section) if p)
        typer.echo(f"[{n}] {where}  ({hit.score:.4f})\n    {c.text}\n")


@app.command()
def search(
    question: Annotated[str | None, typer.Argument(help="The question; omit to read stdin.")] = None,
    k: Annotated[int, typer.Option("--k", min=1, max=50, help="How many passages.")] = 5,
    mode: Annotated[str, typer.Option(help="hybrid, dense or bm25.")] = "hybrid",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Find the passages that answer a question, with their citations."""
    if mode not in MODES:
        _fail(AssistantError(f"未知的检索方式 {mode!r}（可选 hybrid、dense、bm25）",
                             f"unknown mode {mode!r} (use hybrid, dense or bm25)"))
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
            typer.echo(json.dumps({"query": question, "results": [h.to_json() for h in hits]},
                                  ensure_ascii=False))
        else:
            _print_hits(question, hits)
        return
    if sys.stdin.isatty() and not as_json:
        _interactive(run, services)
        return
    for line in sys.stdin:
        q = line.strip()
        if q:
            typer.echo(json.dumps({"query": q, "results": [h.to_json() for h in run(q)]},
                                  ensure_ascii=False))


def _interactive(run, services: Services) -> None:  # type: ignore[no-untyped-def]
    manifest = services.index.manifest
    typer.echo(f"政策检索 · {len(manifest.documents)} 份文件，{manifest.chunk_count} 个段落。"
               "输入问题后回车；空行或 Ctrl-D 退出。\n"
               "例如：我们刚拿到高企证书，区里有补贴吗？ / 高企的企业所得税税率是多少？")
    while True:
        try:
            q = input("\n问题> ").strip()
        except (EOFError, KeyboardInterrupt):
            typer.echo("")
            return
        if not q:
            return
        _print_hits(q, run(q))


@app.command("eval")
def evaluate(
    questions: Annotated[Path | None, typer.Option(help="Question set (JSONL).")] = None,
    baseline: Annotated[bool, typer.Option(help="Also measure the naive LangChain baseline.")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Report Recall@1/3/5, MRR and context length per mode, beside a naive baseline."""
    from .evaluation import DEFAULT_QUESTIONS, format_report, load_questions, run_evaluation

    services = _services()
    try:
        qs = load_questions(questions or DEFAULT_QUESTIONS)
        report = run_evaluation(services, qs, with_baseline=baseline)
    except AssistantError as exc:
        _fail(exc)
        return
    typer.echo(json.dumps(report, ensure_ascii=False, indent=1) if as_json
               else format_report(report))


if __name__ == "__main__":
    app()
