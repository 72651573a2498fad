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
