"""Benchmark: ingest time and warm search latency, against the naive LangChain baseline.

Run it from the project folder:

    make bench                          # or: .venv/bin/python evals/bench.py
    .venv/bin/python evals/bench.py --json            # one JSON object instead of the table
    .venv/bin/python evals/bench.py --rounds 5        # more timed rounds per question

What it measures, all in one process on this machine (figures only, nothing is asserted):

1. Start-up: loading the embedding model and the tokenizer vocabulary (paid once per process).
2. A full ingest of the shipped corpus (`corpus/`) into a fresh temporary index folder: seconds,
   documents, chunks, chunks/s, and the share of that time spent embedding (the embedder's
   `embed_batches` is wrapped on the instance to time it). Then a second ingest with nothing
   changed, which should do no work.
3. Warm search latency over every question of `evals/questions.jsonl`: each question is run
   once to warm up, then `retriever.search(q, 5)` is timed for every question, several rounds;
   median and p95 per mode (hybrid, bm25, dense), and the query embedding alone as a floor.
   Then a warm extractive `ask` (resolve the conversation, search, assess, answer) for every
   answerable question, read with its history as the evaluation does: median and p95, and
   the ratio of its median to hybrid search's in the same run.
4. The naive baseline (`assistant.evaluation.NaiveBaseline`: RecursiveCharacterTextSplitter
   500/50 + Chroma + the same embeddings): its ingest seconds and search latency, and the
   ratio of hybrid to baseline median latency.

BLAS threads are limited as the CLI does (`assistant.serve.runtime.limit_threads`). The project's own
`index/` is never touched.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from assistant.config import PROJECT_DIR, load_settings
from assistant.evaluation import DEFAULT_QUESTIONS, NaiveBaseline, load_questions
from assistant.models import Message
from assistant.search.embeddings import PolicyEmbeddings, Progress
from assistant.search.retrieval import MODES, Mode, Retriever
from assistant.serve.runtime import Services, limit_threads

K = 5
Q = TypeVar("Q")  # what a timed call takes: a query, or a question with its history


def latency_stats(seconds: Sequence[float]) -> dict[str, float]:
    """Median and p95 of a list of durations, in milliseconds."""
    ms = [s * 1000 for s in seconds]
    if not ms:
        return {"median_ms": float("nan"), "p95_ms": float("nan"), "n": 0}
    p95 = statistics.quantiles(ms, n=20, method="inclusive")[18] if len(ms) > 1 else ms[0]
    return {"median_ms": statistics.median(ms), "p95_ms": p95, "n": len(ms)}


def time_calls(run: Callable[[Q], object], queries: Sequence[Q], rounds: int) -> list[float]:
    """Warm up with one call per query, then time every query `rounds` times."""
    for q in queries:
        run(q)
    durations: list[float] = []
    for _ in range(rounds):
        for q in queries:
            started = time.perf_counter()
            run(q)
            durations.append(time.perf_counter() - started)
    return durations


@contextmanager
def timed_embedding(embeddings: PolicyEmbeddings) -> Iterator[list[float]]:
    """Time every `embed_batches` call on this instance (measurement only; restored after)."""
    spent = [0.0]
    original = embeddings.embed_batches

    def embed_batches(texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        started = time.perf_counter()
        try:
            return original(texts, progress)
        finally:
            spent[0] += time.perf_counter() - started

    setattr(embeddings, "embed_batches", embed_batches)  # noqa: B010 (an instance override)
    try:
        yield spent
    finally:
        del embeddings.embed_batches  # back to the class's method


def bench(rounds: int, questions_path: Path) -> dict[str, Any]:
    """Run every measurement and return the figures."""
    limit_threads()
    load_before = load_average()
    loaded = load_questions(questions_path)
    questions = [q.question for q in loaded]
    # Keyed by question and history, since one follow-up may follow different conversations.
    answerable = {
        (q.question, q.history): [Message("user", h) for h in q.history]
        for q in loaded
        if q.answerable
    }
    result: dict[str, Any] = {
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
        "questions": len(questions),
        "answerable": len(answerable),
        "rounds": rounds,
        "k": K,
    }

    with tempfile.TemporaryDirectory(prefix="bench-index-") as tmp:
        settings = load_settings(corpus_dir=PROJECT_DIR / "corpus", index_dir=Path(tmp))
        services = Services(settings)

        started = time.perf_counter()
        embeddings = services.embeddings
        model_load = time.perf_counter() - started
        started = time.perf_counter()
        _ = services.vocabulary
        vocab_load = time.perf_counter() - started
        result["startup"] = {
            "embedder": embeddings.name,
            "dim": embeddings.dim,
            "embed_threads": settings.embed_threads,
            "model_load_s": model_load,
            "vocabulary_load_s": vocab_load,
        }

        # -- ingest ------------------------------------------------------------------------
        with timed_embedding(embeddings) as spent:
            started = time.perf_counter()
            full = services.store.ingest()
            full_s = time.perf_counter() - started
        embed_s = spent[0]
        result["ingest"] = {
            "seconds": full_s,
            "documents": full.documents,
            "chunks": full.chunks,
            "embedded_chunks": full.embedded_chunks,
            "chunks_per_s": full.chunks / full_s if full_s else float("nan"),
            "embedding_s": embed_s,
            "embedding_share": embed_s / full_s if full_s else 0.0,
            "skipped_files": len(full.errors),
        }
        started = time.perf_counter()
        again = services.store.ingest()
        result["incremental_ingest"] = {
            "seconds": time.perf_counter() - started,
            "swapped": again.swapped,
            "embedded_chunks": again.embedded_chunks,
            "unchanged": len(again.unchanged),
        }

        # -- warm search -------------------------------------------------------------------
        started = time.perf_counter()
        retriever: Retriever = services.retriever
        result["index_open_s"] = time.perf_counter() - started
        search: dict[str, dict[str, float]] = {}

        def searcher(mode: Mode) -> Callable[[str], object]:
            return lambda q: retriever.search(q, K, mode)

        order: tuple[Mode, ...] = ("hybrid", *[m for m in MODES if m != "hybrid"])
        for mode in order:
            search[mode] = latency_stats(time_calls(searcher(mode), questions, rounds))
        search["query_embedding"] = latency_stats(
            time_calls(embeddings.query_vector, questions, rounds)
        )
        result["search"] = search
        assistant = services.assistant
        ask = latency_stats(
            time_calls(lambda key: assistant.ask(key[0], answerable[key]), list(answerable), rounds)
        )
        result["ask"] = {
            **ask,
            "over_hybrid_search_median": (ask["median_ms"] / search["hybrid"]["median_ms"]),
        }

        # -- naive baseline ------------------------------------------------------------------
        started = time.perf_counter()
        baseline = NaiveBaseline(services)
        baseline_total = time.perf_counter() - started
        try:
            baseline_search = latency_stats(
                time_calls(lambda q: baseline.search(q, K), questions, rounds)
            )
        finally:
            baseline.close()
        result["baseline"] = {
            "chunks": baseline.chunks,
            "ingest_s": baseline.ingest_seconds,
            "ingest_with_loading_and_splitting_s": baseline_total,
            "search": baseline_search,
            "hybrid_over_baseline_median": (
                search["hybrid"]["median_ms"] / baseline_search["median_ms"]
            ),
        }
    result["machine"]["load_average"] = {"start": load_before, "end": load_average()}
    return result


def load_average() -> float | None:
    """The 1-minute load average, to spot a run disturbed by other work (None if unknown)."""
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


def format_table(r: dict[str, Any]) -> str:
    """The figures as a readable text report."""
    s, ing, inc, b = r["startup"], r["ingest"], r["incremental_ingest"], r["baseline"]
    lines = [
        f"policy-assistant benchmark — {r['machine']['cpus']} CPUs, Python "
        f"{r['machine']['python']}; embedder {s['embedder']} (dim {s['dim']}, "
        f"{s['embed_threads']} threads)",
        "",
        "start-up",
        f"  embedding model load        {s['model_load_s']:8.2f} s",
        f"  tokenizer vocabulary load   {s['vocabulary_load_s']:8.2f} s",
        "",
        "ingest of corpus/ into a fresh index",
        f"  full ingest                 {ing['seconds']:8.2f} s   {ing['documents']} documents, "
        f"{ing['chunks']} chunks, {ing['chunks_per_s']:.1f} chunks/s",
        f"    of which embedding        {ing['embedding_s']:8.2f} s   "
        f"({ing['embedding_share']:.0%} of the ingest)",
        f"  incremental, no change      {inc['seconds']:8.3f} s   "
        f"(swapped: {inc['swapped']}, embedded {inc['embedded_chunks']} chunks)",
        f"  index open                  {r['index_open_s']:8.3f} s",
        "",
        f"warm search latency, k={r['k']}: {r['questions']} questions x {r['rounds']} rounds "
        "(after one warm-up run each)",
        f"  {'run':<28} {'median ms':>10} {'p95 ms':>10}",
    ]
    rows = [(f"{mode}", r["search"][mode]) for mode in ("hybrid", "bm25", "dense")]
    rows += [
        ("query embedding only (floor)", r["search"]["query_embedding"]),
        (f"baseline ({b['chunks']} chunks)", b["search"]),
    ]
    lines += [f"  {name:<28} {st['median_ms']:10.2f} {st['p95_ms']:10.2f}" for name, st in rows]
    a = r["ask"]
    lines += [
        "",
        f"warm ask, extractive (resolve, search, assess, answer): {a['n'] // r['rounds']} "
        f"answerable questions x {r['rounds']} rounds",
        f"  {'ask':<28} {a['median_ms']:10.2f} {a['p95_ms']:10.2f}",
        f"  ask / hybrid search median latency: {a['over_hybrid_search_median']:.2f}x",
    ]
    lines += [
        "",
        "naive baseline (RecursiveCharacterTextSplitter 500/50 + Chroma, same embeddings)",
        f"  ingest (embed + add)        {b['ingest_s']:8.2f} s   "
        f"({b['ingest_with_loading_and_splitting_s']:.2f} s with loading and splitting)",
        f"  hybrid / baseline median latency: {b['hybrid_over_baseline_median']:.2f}x",
    ]
    load, cpus = r["machine"]["load_average"], r["machine"]["cpus"] or 1
    busy = [v for v in (load["start"], load["end"]) if v is not None and v > cpus]
    if busy:
        lines += [
            "",
            f"note: load average {load['start']} at start, {load['end']} at end on "
            f"{cpus} CPUs: other work competed with this run; read the figures, p95 "
            "above all, with care.",
        ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds per question")
    parser.add_argument(
        "--questions", type=Path, default=DEFAULT_QUESTIONS, help="question set (JSONL)"
    )
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    result = bench(args.rounds, args.questions)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=1))
    else:
        print(format_table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
