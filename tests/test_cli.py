"""The command line as a user runs it: a real index, stdout/stderr and exit codes (in this process;
one test crosses the process boundary)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assistant.cli import app
from assistant.config import PROJECT_DIR, get_settings
from assistant.ingest.loading import load_document
from assistant.serve.runtime import Services

from .openai_stub import OpenAIStub

CLI = [sys.executable, "-m", "assistant.cli"]  # the real process, where its boundary is tested


@dataclass
class Ran:
    """What a command printed and how it exited."""

    returncode: int
    stdout: str
    stderr: str


def run(
    args: list[str], env_dirs: tuple[Path, Path], stdin: str | None = None, **extra_env: str
) -> Ran:
    """The command run in this process (as `policy-assistant …` runs it, settings read afresh
    from the environment): the process boundary is tested once, not by every test."""
    corpus, index = env_dirs
    env = {"ASSISTANT_CORPUS_DIR": str(corpus), "ASSISTANT_INDEX_DIR": str(index), **extra_env}
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, args, input=stdin, env=env, catch_exceptions=False)
    finally:
        get_settings.cache_clear()
    return Ran(result.exit_code, result.stdout, result.stderr)


@pytest.fixture
def dirs(corpus: Path, isolated_env: Path) -> tuple[Path, Path]:
    return corpus, isolated_env


@pytest.fixture
def ingested(dirs: tuple[Path, Path]) -> tuple[Path, Path]:
    result = run(["ingest"], dirs)
    assert result.returncode == 0, result.stderr
    return dirs


def test_ingest_prints_a_summary_and_is_incremental(dirs: tuple[Path, Path]) -> None:
    first = run(["ingest", "--json"], dirs)
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout)
    assert summary["documents"] == 2 and summary["chunks"] > 0 and summary["swapped"]
    second = run(["ingest"], dirs)
    assert second.returncode == 0
    assert "up to date" in second.stdout and "2 documents" in second.stdout


def test_ingest_names_a_bad_file_on_stderr_and_exits_non_zero(dirs: tuple[Path, Path]) -> None:
    corpus, _ = dirs
    (corpus / "broken.txt").write_bytes(b"\x00\x01\x02" * 100)
    result = run(["ingest"], dirs)
    assert result.returncode == 3
    assert "broken.txt" in result.stderr and "Traceback" not in result.stderr
    assert "2 documents" in result.stdout


def test_search_json_carries_every_citation_field(ingested: tuple[Path, Path]) -> None:
    result = run(["search", "刚认定的高企有多少奖励", "--k", "3", "--json"], ingested)
    assert result.returncode == 0, result.stderr
    hits = json.loads(result.stdout)["results"]
    assert len(hits) == 3
    assert set(hits[0]) == {"chunk_id", "doc_id", "title", "doc_number", "section", "text", "score"}
    assert "88万元" in hits[0]["text"] and hits[0]["doc_number"] == "示科〔2099〕7号"


def test_search_reads_one_question_per_line_and_writes_json_lines(
    ingested: tuple[Path, Path],
) -> None:
    result = run(["search", "--k", "2"], ingested, stdin="众创空间补助多少\n\n创新券申请条件\n")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["query"] for line in lines] == ["众创空间补助多少", "创新券申请条件"]
    assert all(len(line["results"]) == 2 for line in lines)


def test_search_before_ingest_explains_and_exits_non_zero(dirs: tuple[Path, Path]) -> None:
    result = run(["search", "高企补贴"], dirs)
    assert result.returncode == 1
    assert "policy-assistant ingest" in result.stderr and "Traceback" not in result.stderr


def test_a_bad_setting_is_named_in_the_error(dirs: tuple[Path, Path]) -> None:
    _corpus, index = dirs
    env = {**os.environ, "ASSISTANT_INDEX_DIR": str(index), "ASSISTANT_TOP_K": "many"}
    result = subprocess.run(
        [*CLI, "search", "x"],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        timeout=120,
    )
    assert result.returncode == 1
    assert "ASSISTANT_TOP_K" in result.stderr and "Traceback" not in result.stderr


def test_an_unknown_mode_is_refused(ingested: tuple[Path, Path]) -> None:
    result = run(["search", "高企", "--mode", "magic"], ingested)
    assert result.returncode == 1 and "magic" in result.stderr


def test_ask_json_quotes_the_source_exactly_and_cites_it(ingested: tuple[Path, Path]) -> None:
    corpus, _ = ingested
    result = run(["ask", "首次认定的高新技术企业奖励多少？", "--json"], ingested)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert not answer["abstained"] and "88万元" in answer["answer"] and "[1]" in answer["answer"]
    source = (corpus / "fictional-subsidy-notice.txt").read_text(encoding="utf-8")
    body = source.split("---\n", 2)[2]
    for c in answer["citations"]:
        assert body[c["start"] : c["end"]] == c["quote"]
    assert set(answer) >= {"answer", "citations", "related", "abstained", "mode", "intent"}


def test_ask_says_what_the_documents_do_not_state(ingested: tuple[Path, Path]) -> None:
    result = run(["ask", "孵化器奖励的申报截止日期是哪天？"], ingested)
    assert result.returncode == 0, result.stderr
    assert "现有文件未载明" in result.stdout and "相关条文" in result.stdout


def test_ask_reads_conversations_from_stdin_and_reports_a_bad_line(
    ingested: tuple[Path, Path],
) -> None:
    conversation = {
        "messages": [
            {"role": "user", "content": "首次认定的高新技术企业奖励多少？"},
            {"role": "assistant", "content": "88万元。"},
            {"role": "user", "content": "那重新认定的呢？"},
        ]
    }
    stdin = json.dumps(conversation, ensure_ascii=False) + "\nnot json\n"
    result = run(["ask"], ingested, stdin=stdin)
    assert result.returncode == 1
    first, second = (json.loads(line) for line in result.stdout.splitlines())
    assert "30万元" in first["answer"]
    assert second["line"] == 2 and second["error"]["zh"] and second["error"]["en"]
    assert "Traceback" not in result.stderr


def test_ask_before_ingest_explains_and_exits_non_zero(dirs: tuple[Path, Path]) -> None:
    result = run(["ask", "高企奖励多少"], dirs)
    assert result.returncode == 1
    assert "policy-assistant ingest" in result.stderr and "Traceback" not in result.stderr


def test_chat_keeps_the_conversation_and_starts_anew_on_request(
    ingested: tuple[Path, Path],
) -> None:
    stdin = "首次认定的高新技术企业奖励多少？\n那重新认定的呢？\n/new\n那它呢？\n\n"
    result = run(["chat"], ingested, stdin=stdin)
    assert result.returncode == 0, result.stderr
    turns = result.stdout.split("问题> ")
    assert "88万元" in turns[1] and "[1]" in turns[1] and "引用" in turns[1]
    assert "30万元" in turns[2]
    assert "新对话" in turns[3]
    assert "没有前文" in turns[4]


def test_ask_reports_a_conversation_without_a_question_and_goes_on(
    ingested: tuple[Path, Path],
) -> None:
    lines = [
        json.dumps({"messages": [{"role": "assistant", "content": "您好"}]}),
        json.dumps({"question": "首次认定的高新技术企业奖励多少？"}, ensure_ascii=False),
        json.dumps(
            {"messages": [{"role": "user", "content": "首次认定的高新技术企业奖励多少？"}]},
            ensure_ascii=False,
        ),
    ]
    result = run(["ask"], ingested, stdin="\n".join(lines) + "\n")
    assert result.returncode == 1
    first, second, third = (json.loads(line) for line in result.stdout.splitlines())
    assert first["line"] == 1 and "no user question" in first["error"]["en"]
    assert second["line"] == 2 and "messages" in second["error"]["en"]
    assert "88万元" in third["answer"] and not third["abstained"]
    assert "Traceback" not in result.stderr


def test_chat_says_when_the_model_answer_was_replaced(
    ingested: tuple[Path, Path], openai_stub: OpenAIStub
) -> None:
    openai_stub.script("首次认定的高新技术企业奖励99万元[1]。")  # 99万元 is in no passage
    result = run(
        ["chat"],
        ingested,
        stdin="首次认定的高新技术企业奖励多少？\n\n",
        ASSISTANT_ANSWERER="llm",
        ASSISTANT_LLM_BASE_URL=openai_stub.base_url,
    )
    assert result.returncode == 0, result.stderr
    answer = result.stdout.split("问题> ")[1]
    streamed, replaced = answer.split("已替换")
    assert "99万元" in streamed and "88万元" in replaced and "引用" in replaced
    assert "未通过引用核验" in replaced  # the note
    assert openai_stub.requests and openai_stub.requests[-1].get("stream")


# -- the shipped corpus ------------------------------------------------------------------


@pytest.fixture
def shipped(shipped_services: Services) -> tuple[Path, Path]:
    """The shipped corpus and its session-wide index (built once), for the command line."""
    return shipped_services.settings.corpus_dir, shipped_services.settings.index_dir


def assert_quotes_the_source(services: Services, citations: list[dict[str, object]]) -> None:
    """Each quote in the JSON is the document's own text at [start, end)."""
    documents = services.index.manifest.documents
    for c in citations:
        body = load_document(Path(documents[str(c["doc_id"])].source_path)).text
        start, end = int(str(c["start"])), int(str(c["end"]))
        assert c["quote"] and body[start:end] == c["quote"]


@pytest.mark.slow
def test_ask_json_on_the_shipped_corpus_cites_the_source_exactly(
    shipped: tuple[Path, Path], shipped_services: Services
) -> None:
    result = run(["ask", "去年全区有效高企有多少家？", "--json"], shipped)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert not answer["abstained"] and answer["mode"] == "extractive"
    assert "1164家" in answer["answer"] and "[1]" in answer["answer"]
    assert answer["citations"] and answer["citations"][0]["doc_number"] == "青科委〔2025〕1号"
    assert [c["n"] for c in answer["citations"]] == list(range(1, len(answer["citations"]) + 1))
    assert_quotes_the_source(shipped_services, answer["citations"])


@pytest.mark.slow
def test_ask_abstains_on_a_per_enterprise_amount_and_shows_related_clauses(
    shipped: tuple[Path, Path], shipped_services: Services
) -> None:
    result = run(["ask", "高企补贴每家企业能拿多少钱？", "--json"], shipped)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["abstained"] and "现有文件未载明" in answer["answer"]
    assert answer["related"] and not answer["citations"]
    assert_quotes_the_source(shipped_services, answer["related"])
    text = run(["ask", "高企补贴每家企业能拿多少钱？"], shipped)
    assert text.returncode == 0, text.stderr
    assert "相关条文" in text.stdout and "《" in text.stdout


@pytest.mark.slow
def test_ask_on_stdin_resolves_a_follow_up_against_its_history(shipped: tuple[Path, Path]) -> None:
    conversation = {
        "messages": [
            {"role": "system", "content": "请简短回答。"},
            {"role": "user", "content": "去年全区有效高企有多少家？"},
            {"role": "assistant", "content": "截至2024年底,有效高企数达1164家[1]。"},
            {"role": "user", "content": "那今年的目标呢？"},
        ]
    }
    standalone = {"messages": [{"role": "user", "content": "高企的企业所得税税率是多少？"}]}
    stdin = "\n".join(json.dumps(c, ensure_ascii=False) for c in (conversation, standalone))
    result = run(["ask"], shipped, stdin=stdin + "\n")
    assert result.returncode == 0, result.stderr
    follow_up, tax = (json.loads(line) for line in result.stdout.splitlines())
    assert "1210家" in follow_up["answer"] and not follow_up["abstained"]
    assert "高企" in follow_up["question"] or "高新技术企业" in follow_up["question"]
    assert "15" in tax["answer"] and not tax["abstained"]


def test_eval_reports_retrieval_and_answers_and_can_skip_the_answers(
    ingested: tuple[Path, Path], tmp_path: Path
) -> None:
    questions = tmp_path / "questions.jsonl"
    rows = [
        {
            "id": "d001",
            "question": "首次认定的高新技术企业奖励多少？",
            "scope": "district",
            "kind": "figure",
            "answerable": True,
            "evidence": [["一次性奖励88万元"]],
            "answer": ["88万元"],
        },
        {
            "id": "n001",
            "question": "孵化器奖励的申报截止日期是哪天？",
            "scope": "district",
            "kind": "process",
            "answerable": False,
            "evidence": [],
            "answer": [],
        },
    ]
    questions.write_text(
        "\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8"
    )
    both = run(["eval", "--questions", str(questions), "--no-baseline", "--json"], ingested)
    assert both.returncode == 0, both.stderr
    report = json.loads(both.stdout)
    assert set(report) == {"retrieval", "answers"}
    assert report["answers"]["questions"] == 2
    assert report["answers"]["lead"]["all"]["share"] == 1.0
    assert report["answers"]["abstention_recall"] == 1.0
    text = run(["eval", "--questions", str(questions), "--no-baseline"], ingested)
    assert text.returncode == 0, text.stderr
    assert "answers to 2 questions" in text.stdout
    skipped = run(
        ["eval", "--questions", str(questions), "--no-baseline", "--no-answers", "--json"], ingested
    )
    assert skipped.returncode == 0, skipped.stderr
    assert json.loads(skipped.stdout)["answers"] is None


def test_eval_measures_any_folder_apart_from_the_served_index(
    ingested: tuple[Path, Path], tmp_path: Path
) -> None:
    _corpus, index = ingested
    served = (index / "CURRENT").read_text(encoding="utf-8")
    other = tmp_path / "other"
    other.mkdir()
    (other / "notice.txt").write_text(
        "---\ntitle: 示例县创新券办法（虚构示例）\n---\n示例县创新券办法\n"
        "一、支持标准\n(一)创新券。对本县科技型中小企业按服务合同金额的30%给予创新券支持。\n",
        encoding="utf-8",
    )
    questions = tmp_path / "questions.jsonl"
    row = {
        "id": "f001",
        "question": "示例县创新券按合同金额的多少比例支持？",
        "scope": "district",
        "kind": "figure",
        "answerable": True,
        "evidence": [["按服务合同金额的30%"]],
        "answer": ["30%"],
    }
    questions.write_text(json.dumps(row, ensure_ascii=False) + "\n", encoding="utf-8")
    result = run(
        ["eval", "--corpus", str(other), "--questions", str(questions), "--no-baseline", "--json"],
        ingested,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["retrieval"]["documents"] == 1
    assert report["retrieval"]["groups"]["all"]["hybrid"]["recall@5"] == 1.0
    assert (index / "CURRENT").read_text(encoding="utf-8") == served  # the served index stays


def test_ingest_leaves_the_site_file_and_the_rules_out_of_the_documents(
    dirs: tuple[Path, Path],
) -> None:
    corpus, _ = dirs
    documents = len([p for p in corpus.iterdir() if p.is_file()])
    shutil.copy(PROJECT_DIR / "corpus" / "site.yaml", corpus / "site.yaml")
    result = run(["ingest", "--json"], dirs)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["documents"] == documents
