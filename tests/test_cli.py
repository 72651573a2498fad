"""The command line as a user runs it: a real process, real index, stdout/stderr and exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

CLI = [sys.executable, "-m", "assistant.cli"]


def run(args: list[str], env_dirs: tuple[Path, Path], stdin: str | None = None
        ) -> subprocess.CompletedProcess[str]:
    corpus, index = env_dirs
    env = {**os.environ, "ASSISTANT_CORPUS_DIR": str(corpus), "ASSISTANT_INDEX_DIR": str(index)}
    return subprocess.run(CLI + args, input=stdin, capture_output=True, text=True,
                          encoding="utf-8", env=env, timeout=300)


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
    assert set(hits[0]) == {"chunk_id", "doc_id", "title", "doc_number", "section", "text",
                            "score"}
    assert "88万元" in hits[0]["text"] and hits[0]["doc_number"] == "示科〔2099〕7号"


def test_search_reads_one_question_per_line_and_writes_json_lines(
        ingested: tuple[Path, Path]) -> None:
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
    result = subprocess.run([*CLI, "search", "x"], capture_output=True, text=True,
                            encoding="utf-8", env=env, timeout=120)
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
        assert body[c["start"]:c["end"]] == c["quote"]
    assert set(answer) >= {"answer", "citations", "related", "abstained", "mode", "intent"}


def test_ask_says_what_the_documents_do_not_state(ingested: tuple[Path, Path]) -> None:
    result = run(["ask", "孵化器奖励的申报截止日期是哪天？"], ingested)
    assert result.returncode == 0, result.stderr
    assert "现有文件未载明" in result.stdout and "相关条文" in result.stdout


def test_ask_reads_conversations_from_stdin_and_reports_a_bad_line(
        ingested: tuple[Path, Path]) -> None:
    conversation = {"messages": [
        {"role": "user", "content": "首次认定的高新技术企业奖励多少？"},
        {"role": "assistant", "content": "88万元。"},
        {"role": "user", "content": "那重新认定的呢？"}]}
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
        ingested: tuple[Path, Path]) -> None:
    stdin = "首次认定的高新技术企业奖励多少？\n那重新认定的呢？\n/new\n那它呢？\n\n"
    result = run(["chat"], ingested, stdin=stdin)
    assert result.returncode == 0, result.stderr
    turns = result.stdout.split("问题> ")
    assert "88万元" in turns[1] and "[1]" in turns[1] and "引用" in turns[1]
    assert "30万元" in turns[2]
    assert "新对话" in turns[3]
    assert "没有前文" in turns[4]
