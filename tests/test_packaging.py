"""The package as a wheel installs it: every package folder listed, and an installed copy (not
the source tree) answers, its prompts and data read from inside the package."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from assistant.config import PROJECT_DIR

from .conftest import FICTIONAL
from .openai_stub import OpenAIStub


def test_every_package_folder_is_listed_for_the_wheel() -> None:
    config = tomllib.loads((PROJECT_DIR / "pyproject.toml").read_text(encoding="utf-8"))
    listed = set(config["tool"]["setuptools"]["packages"])
    folders = {
        ".".join(p.parent.relative_to(PROJECT_DIR).parts)
        for p in (PROJECT_DIR / "assistant").rglob("__init__.py")
    }
    assert folders | {"assistant.prompts"} == listed


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project built as a wheel and installed, without its dependencies, into a folder."""
    root = tmp_path_factory.mktemp("wheel")
    build = root / "src"
    shutil.copytree(
        PROJECT_DIR,
        build,
        ignore=shutil.ignore_patterns(
            ".venv", ".git", "index", "index-scale", "tests", "*.egg-info"
        ),
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            str(build),
            "-w",
            str(root / "dist"),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    [wheel] = (root / "dist").glob("*.whl")
    site = root / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--target",
            str(site),
            str(wheel),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return site


def cli(site: Path, root: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The installed copy's command line, run from a folder that holds no source."""
    return subprocess.run(
        [sys.executable, "-m", "assistant.cli", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=root,
        timeout=300,
        env={
            **os.environ,
            "PYTHONPATH": str(site),
            "ASSISTANT_CORPUS_DIR": str(root / "corpus"),
            "ASSISTANT_INDEX_DIR": str(root / "index"),
            **env,
        },
    )


@pytest.mark.slow
def test_an_installed_wheel_answers_with_and_without_a_model(
    installed: Path, tmp_path: Path, openai_stub: OpenAIStub
) -> None:
    shutil.copytree(FICTIONAL, tmp_path / "corpus")
    where = subprocess.run(
        [sys.executable, "-c", "import assistant; print(assistant.__file__)"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(installed)},
    )
    assert where.stdout.startswith(str(installed))  # the wheel's copy, not the source tree
    page = subprocess.run(
        [
            sys.executable,
            "-c",
            "from assistant.serve.web.page import CSS_PATH; print(CSS_PATH.is_file())",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(installed)},
    )
    assert page.stdout.strip() == "True", page.stderr  # the page's stylesheet ships too
    assert cli(installed, tmp_path, "ingest").returncode == 0
    plain = cli(installed, tmp_path, "ask", "首次认定的高新技术企业奖励多少？", "--json")
    assert plain.returncode == 0, plain.stderr
    assert "88万元" in json.loads(plain.stdout)["answer"]

    openai_stub.script("对首次认定的高新技术企业给予一次性奖励88万元[1]。")
    modelled = cli(
        installed,
        tmp_path,
        "ask",
        "首次认定的高新技术企业奖励多少？",
        "--json",
        ASSISTANT_ANSWERER="llm",
        ASSISTANT_LLM_BASE_URL=openai_stub.base_url,
    )
    assert modelled.returncode == 0, modelled.stderr
    assert json.loads(modelled.stdout)["mode"] == "llm"
    system = (PROJECT_DIR / "prompts" / "system.md").read_text(encoding="utf-8").strip()
    sent = openai_stub.requests[-1]["messages"][0]["content"]
    assert system.splitlines()[0] in sent  # the prompt came from inside the installed package
