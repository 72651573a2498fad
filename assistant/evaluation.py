"""Retrieval evaluation: a question set with gold evidence, metrics, and a naive baseline.

A question (one JSON line of `evals/questions.jsonl`) names its gold evidence as groups of
alternative substrings; a retrieved chunk is relevant when it contains any of them. The naive
baseline is what a LangChain tutorial builds: RecursiveCharacterTextSplitter(500, 50) into
Chroma with the same embeddings, measured in the same run.
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import PROJECT_DIR
from .errors import AssistantError
from .retrieval import MODES, Mode
from .service import Services
from .tokenizing import normalize

log = logging.getLogger(__name__)

DEFAULT_QUESTIONS = PROJECT_DIR / "evals" / "questions.jsonl"
KS = (1, 3, 5)


@dataclass(frozen=True)
class Question:
    """One evaluation question with its gold evidence."""

    id: str
    question: str
    scope: str
    kind: str
    lang: str
    answerable: bool
    evidence: tuple[tuple[str, ...], ...]


def load_questions(path: Path) -> list[Question]:
    """Read a JSONL question set, failing with the line number on a bad line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise AssistantError(f"无法读取问题集 {path}：{exc.strerror}",
                             f"Cannot read the question set {str(path)!r}: {exc.strerror}") from None
    out = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            d = json.loads(line)
            out.append(Question(d["id"], d["question"], d["scope"], d.get("kind", ""),
                                d.get("lang", "zh"), bool(d["answerable"]),
                                tuple(tuple(g) for g in d["evidence"])))
        except (ValueError, KeyError, TypeError) as exc:
            raise AssistantError(f"问题集 {path} 第 {n} 行格式错误：{exc}",
                                 f"Question set {str(path)!r}, line {n} is malformed: {exc}") from None
    return out


def relevant(text: str, evidence: Sequence[Sequence[str]]) -> bool:
    """True when the text holds any alternative of any evidence group."""
    t = normalize(text).replace(" ", "")
    return any(normalize(alt).replace(" ", "") in t for group in evidence for alt in group)


def covers_all(texts: Sequence[str], evidence: Sequence[Sequence[str]]) -> bool:
    """True when every evidence group is found in some of the texts."""
    return all(any(relevant(t, [group]) for t in texts) for group in evidence)


def score_run(questions: Sequence[Question], results: Sequence[Sequence[str]]) -> dict[str, float]:
    """Recall@k, MRR, all-evidence@5 and mean top-5 context length for one ranking per question."""
    n = len(questions)
    if n == 0:
        return {}
    recall = {k: 0 for k in KS}
    mrr = 0.0
    context = 0
    complete = 0
    for q, texts in zip(questions, results, strict=True):
        top = list(texts[:5])
        first = next((i for i, t in enumerate(top) if relevant(t, q.evidence)), None)
        if first is not None:
            mrr += 1 / (first + 1)
            for k in KS:
                recall[k] += first < k
        complete += covers_all(top, q.evidence)
        context += sum(len(t) for t in top)
    return {**{f"recall@{k}": recall[k] / n for k in KS}, "mrr": mrr / n,
            "all_evidence@5": complete / n, "context@5": context / n}


class NaiveBaseline:
    """RecursiveCharacterTextSplitter(500, 50) + Chroma + the same embeddings."""

    def __init__(self, services: Services) -> None:
        import chromadb
        from chromadb.config import Settings as ChromaSettings
        from langchain_chroma import Chroma
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        from .documents import find_files, load_document

        self._tmp = tempfile.TemporaryDirectory(prefix="baseline-")
        client = chromadb.PersistentClient(self._tmp.name,
                                           settings=ChromaSettings(anonymized_telemetry=False))
        splitter = RecursiveCharacterTextSplitter(chunk_size=500, chunk_overlap=50)
        texts: list[str] = []
        for path in find_files([services.settings.corpus_dir]):
            doc = load_document(path, services.settings.corpus_dir)
            texts.extend(splitter.split_text(doc.text))
        started = time.perf_counter()
        self.store = Chroma(collection_name="baseline", client=client,
                            embedding_function=services.embeddings)
        self.store.add_texts(texts)
        self.chunks = len(texts)
        self.ingest_seconds = time.perf_counter() - started

    def search(self, query: str, k: int = 5) -> list[str]:
        return [d.page_content for d in self.store.similarity_search(query, k=k)]

    def close(self) -> None:
        self._tmp.cleanup()


def groups(questions: Sequence[Question]) -> dict[str, list[Question]]:
    """Answerable questions by what they are about, plus English and all."""
    answerable = [q for q in questions if q.answerable]
    out = {scope: [q for q in answerable if q.scope == scope]
           for scope in ("district", "law", "mixed")}
    out["english"] = [q for q in answerable if q.lang == "en"]
    out["all"] = answerable
    return {k: v for k, v in out.items() if v}


def run_evaluation(services: Services, questions: Sequence[Question],
                   with_baseline: bool = True) -> dict[str, Any]:
    """Measure every retrieval mode (and the baseline) on the answerable questions."""
    retriever = services.retriever
    answerable = [q for q in questions if q.answerable]
    def ranked_texts(mode: Mode) -> Callable[[str], list[str]]:
        return lambda q: [h.chunk.text for h in retriever.search(q, 5, mode)]

    runs: dict[str, Callable[[str], list[str]]] = {mode: ranked_texts(mode) for mode in MODES}
    baseline = NaiveBaseline(services) if with_baseline else None
    if baseline:
        runs["baseline"] = baseline.search
    try:
        results = {name: [run(q.question) for q in answerable] for name, run in runs.items()}
    finally:
        if baseline:
            baseline.close()
    position = {q.id: i for i, q in enumerate(answerable)}
    report: dict[str, Any] = {
        "questions": len(questions), "answerable": len(answerable),
        "documents": len(services.index.manifest.documents),
        "chunks": len(services.index.chunks),
        "baseline_chunks": baseline.chunks if baseline else None,
        "groups": {}, "hybrid_misses": [],
    }
    for name, qs in groups(questions).items():
        report["groups"][name] = {
            "n": len(qs),
            **{run: score_run(qs, [results[run][position[q.id]] for q in qs]) for run in results},
        }
    for q in answerable:
        if not any(relevant(t, q.evidence) for t in results["hybrid"][position[q.id]]):
            report["hybrid_misses"].append({"id": q.id, "question": q.question})
    return report


def format_report(report: dict[str, Any]) -> str:
    """The report as an aligned text table."""
    lines = [f"{report['answerable']} answerable of {report['questions']} questions; "
             f"{report['documents']} documents, {report['chunks']} chunks"
             + (f" (baseline: {report['baseline_chunks']} chunks)" if report["baseline_chunks"]
                else "")]
    head = f"{'group':<9} {'run':<9} {'R@1':>6} {'R@3':>6} {'R@5':>6} {'MRR':>6} {'all@5':>6} {'ctx@5':>7}"
    lines += ["", head, "-" * len(head)]
    for group, data in report["groups"].items():
        for run, m in data.items():
            if run == "n":
                continue
            lines.append(f"{group + ' ' + str(data['n']):<9} {run:<9} {m['recall@1']:6.3f} "
                         f"{m['recall@3']:6.3f} {m['recall@5']:6.3f} {m['mrr']:6.3f} "
                         f"{m['all_evidence@5']:6.3f} {m['context@5']:7.0f}")
        lines.append("")
    if report["hybrid_misses"]:
        lines.append("hybrid misses (no evidence in the top 5):")
        lines += [f"  {m['id']}: {m['question']}" for m in report["hybrid_misses"]]
    return "\n".join(lines)
