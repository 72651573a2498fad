"""Evaluation: question sets with gold evidence, retrieval and answer metrics, a naive baseline.

A question (one JSON line of a set such as `evals/questions.jsonl`) names its gold evidence as
groups of alternative substrings; a retrieved chunk is relevant when it contains any of them.
The naive baseline is what a LangChain tutorial builds: RecursiveCharacterTextSplitter(500,
50) into Chroma with the same embeddings, measured in the same run.

Three sets are read side by side (`SETS`): the tuning set, a test set written before any
tuning and read only to report, and a foreign corpus of other shapes with its own questions.
Any folder can be measured the same way (`corpus_services`): it is indexed in a folder of
its own under the index folder, so a deployment can measure itself on its own documents.
"""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.config import PROJECT_DIR
from assistant.errors import AssistantError
from assistant.models import Answer, Message
from assistant.search.retrieval import MODES, Mode
from assistant.serve.runtime import Services
from assistant.text.vocabulary import normalize

log = logging.getLogger(__name__)

EVALS = PROJECT_DIR / "evals"
DEFAULT_QUESTIONS = EVALS / "questions.jsonl"
KS = (1, 3, 5)


@dataclass(frozen=True)
class EvalSet:
    """A question set, and the corpus it asks about (None: the index the settings serve)."""

    name: str
    questions: Path
    corpus: Path | None = None


SETS = (
    EvalSet("tuning", DEFAULT_QUESTIONS),
    EvalSet("test", EVALS / "questions-test.jsonl"),
    EvalSet("foreign", EVALS / "foreign" / "questions.jsonl", EVALS / "foreign" / "corpus"),
)


def corpus_services(services: Services, corpus: Path) -> Services:
    """Services over another corpus folder, indexed (incrementally) in a folder of its own
    under the index folder; the index being served is never touched."""
    settings = services.settings
    if not corpus.is_dir():
        raise AssistantError(f"没有文件夹 {corpus}。", f"No folder {str(corpus)!r}.")
    slug = hashlib.sha256(str(corpus.resolve()).encode()).hexdigest()[:12]
    other = settings.model_copy(
        update={
            "corpus_dir": corpus,
            "index_dir": settings.index_dir / "evals" / f"{corpus.name}-{slug}",
            "rules_dir": None,
            "database_url": "sqlite://",
        }
    )
    built = Services(other)
    built.__dict__["embeddings"] = services.embeddings  # loaded once
    for problem in built.store.ingest().errors:
        log.warning("not indexed for the evaluation: %s", problem.en)
    return built


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
    answer: tuple[str, ...] = ()  # alternatives, one of which a correct answer contains
    history: tuple[str, ...] = ()  # earlier user turns of a conversation, oldest first


def load_questions(path: Path) -> list[Question]:
    """Read a JSONL question set, failing with the line number on a bad line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise AssistantError(
            f"无法读取问题集 {path}：{exc.strerror}",
            f"Cannot read the question set {str(path)!r}: {exc.strerror}",
        ) from None
    out = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            d = json.loads(line)
            out.append(
                Question(
                    d["id"],
                    d["question"],
                    d["scope"],
                    d.get("kind", ""),
                    d.get("lang", "zh"),
                    bool(d["answerable"]),
                    tuple(tuple(g) for g in d["evidence"]),
                    tuple(d.get("answer", ())),
                    tuple(d.get("history", ())),
                )
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise AssistantError(
                f"问题集 {path} 第 {n} 行格式错误：{exc}",
                f"Question set {str(path)!r}, line {n} is malformed: {exc}",
            ) from None
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
    return {
        **{f"recall@{k}": recall[k] / n for k in KS},
        "mrr": mrr / n,
        "all_evidence@5": complete / n,
        "context@5": context / n,
    }


class NaiveBaseline:
    """RecursiveCharacterTextSplitter(500, 50) + Chroma + the same embeddings."""

    def __init__(self, services: Services) -> None:
        import chromadb
        from chromadb.config import Settings as ChromaSettings
        from langchain_chroma import Chroma
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        from assistant.ingest.loading import load_document
        from assistant.search.index import policy_files

        self._tmp = tempfile.TemporaryDirectory(prefix="baseline-")
        client = chromadb.PersistentClient(
            self._tmp.name, settings=ChromaSettings(anonymized_telemetry=False)
        )
        splitter = RecursiveCharacterTextSplitter(chunk_size=500, chunk_overlap=50)
        texts: list[str] = []
        for path in policy_files(services.settings, [services.settings.corpus_dir]):
            doc = load_document(path, services.settings.corpus_dir)
            texts.extend(splitter.split_text(doc.text))
        started = time.perf_counter()
        self.store = Chroma(
            collection_name="baseline", client=client, embedding_function=services.embeddings
        )
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
    out = {
        scope: [q for q in answerable if q.scope == scope] for scope in ("district", "law", "mixed")
    }
    out["english"] = [q for q in answerable if q.lang == "en"]
    out["all"] = answerable
    return {k: v for k, v in out.items() if v}


def run_evaluation(
    services: Services, questions: Sequence[Question], with_baseline: bool = True
) -> dict[str, Any]:
    """Measure every retrieval mode (and the baseline) on the answerable questions."""
    retriever = services.retriever
    answerable = [q for q in questions if q.answerable]
    # A follow-up is searched as the conversation resolves it, as the assistant does.
    query = {
        q.id: services.assistant.resolve(q.question, [Message("user", h) for h in q.history]).text
        for q in answerable
    }

    def ranked_texts(mode: Mode) -> Callable[[str], list[str]]:
        return lambda q: [h.chunk.text for h in retriever.search(q, 5, mode)]

    runs: dict[str, Callable[[str], list[str]]] = {mode: ranked_texts(mode) for mode in MODES}
    baseline = NaiveBaseline(services) if with_baseline else None
    if baseline:
        runs["baseline"] = baseline.search
    try:
        results = {name: [run(query[q.id]) for q in answerable] for name, run in runs.items()}
    finally:
        if baseline:
            baseline.close()
    position = {q.id: i for i, q in enumerate(answerable)}
    report: dict[str, Any] = {
        "questions": len(questions),
        "answerable": len(answerable),
        "documents": len(services.index.manifest.documents),
        "chunks": len(services.index.chunks),
        "baseline_chunks": baseline.chunks if baseline else None,
        "groups": {},
        "hybrid_misses": [],
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
    lines = [
        f"{report['answerable']} answerable of {report['questions']} questions; "
        f"{report['documents']} documents, {report['chunks']} chunks"
        + (f" (baseline: {report['baseline_chunks']} chunks)" if report["baseline_chunks"] else "")
    ]
    head = f"{'group':<9} {'run':<9} {'R@1':>6} {'R@3':>6} {'R@5':>6} {'MRR':>6} {'all@5':>6} {'ctx@5':>7}"
    lines += ["", head, "-" * len(head)]
    for group, data in report["groups"].items():
        for run, m in data.items():
            if run == "n":
                continue
            lines.append(
                f"{group + ' ' + str(data['n']):<9} {run:<9} {m['recall@1']:6.3f} "
                f"{m['recall@3']:6.3f} {m['recall@5']:6.3f} {m['mrr']:6.3f} "
                f"{m['all_evidence@5']:6.3f} {m['context@5']:7.0f}"
            )
        lines.append("")
    if report["hybrid_misses"]:
        lines.append("hybrid misses (no evidence in the top 5):")
        lines += [f"  {m['id']}: {m['question']}" for m in report["hybrid_misses"]]
    return "\n".join(lines)


# -- answers -------------------------------------------------------------------------------

LEAD_CHARS = 200  # the gold figure or name must come this early in the answer


def _squeeze(text: str) -> str:
    return normalize(text).replace(" ", "")


def leads_with(answer: str, gold: Sequence[str]) -> bool:
    """True when the answer's opening holds one of the gold alternatives."""
    head = _squeeze(answer[:LEAD_CHARS])
    return any(_squeeze(g) in head for g in gold)


def quotes_are_exact(result: Answer) -> bool:
    """Every citation quote is the source text at its [start, end)."""
    for c in (*result.citations, *result.related):
        offset = c.start - c.chunk.start
        if c.chunk.text[offset : offset + (c.end - c.start)] != c.quote:
            return False
    return True


@dataclass(frozen=True)
class Scored:
    """One question's answer and what the evaluation found in it."""

    q: Question
    result: Answer
    seconds: float
    lead: bool
    cited_relevant: tuple[bool, ...]
    exact: bool
    grounded: bool


def run_answer_evaluation(services: Services, questions: Sequence[Question]) -> dict[str, Any]:
    """Answer every question as a user would, and score the answers.

    lead: answerable questions whose answer opens with the gold figure or name; abstention
    recall on unanswerable questions and false abstention on answerable ones; citation
    precision (cited passages holding gold evidence); follow-ups answered from the right
    clause; quotes exact; figures found in the citations; latency.
    """
    from assistant.answer.verification import verify

    assistant = services.assistant
    rows: list[Scored] = []
    for q in questions:
        started = time.perf_counter()
        result = assistant.ask(q.question, [Message("user", h) for h in q.history])
        seconds = time.perf_counter() - started
        cited = [c.chunk for c in result.citations]
        rows.append(
            Scored(
                q,
                result,
                seconds,
                lead=bool(q.answer)
                and not result.abstained
                and leads_with(result.answer, q.answer),
                cited_relevant=tuple(relevant(c.text, q.evidence) for c in cited)
                if q.evidence
                else (),
                exact=quotes_are_exact(result),
                grounded=not result.citations or not verify(result.answer, cited, len(cited)),
            )
        )

    def share(items: Sequence[bool]) -> float | None:
        return sum(items) / len(items) if items else None

    answerable = [r for r in rows if r.q.answerable]
    unanswerable = [r for r in rows if not r.q.answerable]
    lead_groups = {
        "district": [r for r in answerable if r.q.scope == "district" and not r.q.history],
        "law": [r for r in answerable if r.q.scope == "law" and not r.q.history],
        "mixed": [r for r in answerable if r.q.scope == "mixed" and not r.q.history],
        "english": [r for r in answerable if r.q.lang == "en" and not r.q.history],
        "follow-up": [r for r in answerable if r.q.history],
        "all": answerable,
    }
    latencies = sorted(r.seconds for r in rows)
    precise = [ok for r in answerable for ok in r.cited_relevant]
    return {
        "questions": len(rows),
        "lead": {
            k: {"n": len(v), "share": share([r.lead for r in v])}
            for k, v in lead_groups.items()
            if v
        },
        "abstention_recall": share([r.result.abstained for r in unanswerable]),
        "false_abstention": share([r.result.abstained for r in answerable]),
        "citation_precision": share(precise),
        "quotes_exact": share([r.exact for r in rows]),
        "figures_grounded": share([r.grounded for r in rows]),
        "latency_ms": {
            "median": 1000 * latencies[len(latencies) // 2],
            "p95": 1000 * latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))],
        },
        "misses": [
            {
                "id": r.q.id,
                "question": r.q.question,
                "abstained": r.result.abstained,
                "answer": r.result.answer[:120],
            }
            for r in rows
            if (r.q.answerable and not r.lead) or (not r.q.answerable and not r.result.abstained)
        ],
    }


def format_answer_report(report: dict[str, Any]) -> str:
    """The answer-level figures as text."""

    def pct(x: float | None) -> str:
        return "  n/a" if x is None else f"{100 * x:5.1f}%"

    lines = [f"answers to {report['questions']} questions (extractive unless configured)", ""]
    for group, data in report["lead"].items():
        lines.append(
            f"  leads with the gold answer  {group:<10} {pct(data['share'])}  (n={data['n']})"
        )
    lines += [
        f"  abstains when it should     {pct(report['abstention_recall'])}",
        f"  abstains when it should not {pct(report['false_abstention'])}",
        f"  citation precision          {pct(report['citation_precision'])}",
        f"  quotes exact                {pct(report['quotes_exact'])}",
        f"  figures in citations        {pct(report['figures_grounded'])}",
        f"  latency median / p95        {report['latency_ms']['median']:.0f} / "
        f"{report['latency_ms']['p95']:.0f} ms",
    ]
    if report["misses"]:
        lines += ["", "misses:"]
        lines += [
            f"  {m['id']} {'(abstained) ' if m['abstained'] else ''}{m['question']}"
            for m in report["misses"]
        ]
    return "\n".join(lines)


# -- eligibility ----------------------------------------------------------------------------

ELIGIBILITY_CASES = PROJECT_DIR / "evals" / "eligibility.jsonl"


def run_eligibility_evaluation(
    services: Services, path: Path = ELIGIBILITY_CASES
) -> dict[str, Any]:
    """Verdicts for profiles given as JSON and described in chat, against the expected ones.

    A JSON case checks the engine; a chat case goes through the assistant turn by turn and
    counts only if the last answer is an eligibility answer that lists every rule expected
    to apply under 【符合】. A case with `"route": "answer"` is a question about the documents:
    it counts if its answer is not an eligibility answer. `asks_for` names the facts the last
    answer must ask for, each in the site's wording.
    """
    from assistant.eligibility import verdicts as engine
    from assistant.eligibility.profile import FACTS, parse_profile
    from assistant.serve.runtime import use_site

    use_site(services.settings)  # another set measured before may have worded the facts
    book = services.rulebook
    names = {r.id: r.name for r in book.rules}
    scores: dict[str, list[bool]] = {"json": [], "chat": [], "general": [], "missing": []}
    misses: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        case = json.loads(line)
        shown = ""
        if "profile" in case:
            kind, profile, routed = "json", parse_profile(case["profile"]), True
        else:
            kind, history = "chat", list[Message]()
            for turn in case["turns"]:
                answer = services.assistant.ask(turn, history)
                history += [Message("user", turn), Message("assistant", answer.answer)]
            routed = answer.intent == engine.INTENT
            if case.get("route") == "answer":
                scores["general"].append(not routed)
                if routed:
                    misses.append(f"{case['id']}: expected the answer path, got verdicts")
                continue
            reading = services.assistant.reading(case["turns"][-1], history[:-2])
            profile = reading.profile
            shown = (
                answer.answer.split("【符合】")[1].split("【")[0]
                if "【符合】" in answer.answer
                else ""
            )
            request = answer.answer.partition(engine.REQUEST)[2] if routed else ""
            for field in case.get("asks_for", []):
                asked = FACTS[field].question in request
                scores["missing"].append(asked)
                if not asked:
                    misses.append(f"{case['id']} {field}: not asked for")
        got = {v.rule.id: v.outcome for v in engine.evaluate(profile, book.rules)}
        for rule_id, expected in case.get("expect", {}).items():
            ok = routed and got.get(rule_id) == expected
            if ok and kind == "chat" and expected == "eligible":
                ok = names.get(rule_id, "\0") in shown
            scores[kind].append(ok)
            if not ok:
                if not routed:
                    found = "no eligibility answer"
                elif got.get(rule_id) == expected:  # the verdict is right, the answer omits it
                    found = f"{expected}, but the answer's 【符合】 list does not name it"
                else:
                    found = str(got.get(rule_id))
                misses.append(f"{case['id']} {rule_id}: expected {expected}, got {found}")
    every = [ok for kind in scores.values() for ok in kind]
    return {
        "checks": len(every),
        "accuracy": sum(every) / max(len(every), 1),
        **{kind: sum(oks) / max(len(oks), 1) for kind, oks in scores.items()},
        "misses": misses,
    }


def format_eligibility_report(report: dict[str, Any]) -> str:
    lines = [
        "eligibility verdicts",
        f"  profiles as JSON     {report['json']:6.1%}",
        f"  profiles in chat     {report['chat']:6.1%}",
        f"  general questions    {report['general']:6.1%}  (answered from the documents)",
        f"  missing facts        {report['missing']:6.1%}  (asked for)",
        f"  all ({report['checks']} checks)   {report['accuracy']:6.1%}",
    ]
    if report["misses"]:
        lines += ["", "misses:", *(f"  {m}" for m in report["misses"])]
    return "\n".join(lines)


# -- several sets side by side --------------------------------------------------------------


def summary(name: str, retrieval: dict[str, Any], answers: dict[str, Any] | None) -> dict[str, Any]:
    """One line of the side-by-side table: the headline figures of a set."""
    hybrid = retrieval["groups"].get("all", {}).get("hybrid", {})
    row: dict[str, Any] = {
        "set": name,
        "questions": retrieval["questions"],
        "documents": retrieval["documents"],
        "recall@5": hybrid.get("recall@5"),
        "mrr": hybrid.get("mrr"),
    }
    if answers is not None:
        lead = answers["lead"]
        row |= {
            "lead": lead.get("all", {}).get("share"),
            **{f"lead_{k}": v["share"] for k, v in lead.items() if k != "all"},
            "abstention_recall": answers["abstention_recall"],
            "false_abstention": answers["false_abstention"],
            "quotes_exact": answers["quotes_exact"],
            "latency_median_ms": answers["latency_ms"]["median"],
        }
    return row


def format_summary(rows: Sequence[dict[str, Any]]) -> str:
    """The sets side by side, one column each."""

    def cell(value: Any) -> str:
        if value is None:
            return "–"
        if isinstance(value, float):
            return f"{100 * value:.1f}%" if value <= 1 else f"{value:.0f}"
        return str(value)

    keys = list(dict.fromkeys(k for row in rows for k in row if k != "set"))
    width = max(len(k) for k in keys) + 2
    lines = [" " * width + "".join(f"{row['set']:>10}" for row in rows)]
    lines += [f"{k:<{width}}" + "".join(f"{cell(row.get(k)):>10}" for row in rows) for k in keys]
    return "\n".join(lines)
