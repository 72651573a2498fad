"""The deployment is data: a site file for another (fictional) district changes the page, the
examples and the scope message with no change to the code, and no module names a district."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from assistant.config import PROJECT_DIR, Settings
from assistant.eligibility.profile import FACTS, FactSpec, localize, read_facts
from assistant.errors import ConfigError
from assistant.serve.app import create_app
from assistant.serve.runtime import Services
from assistant.site import Site, load_site

from .test_api import AUTH, ask, make_settings

FICTIONAL_SITE = """\
# A fictional deployment, for tests only.
district: {name: 示例区, short: 示例, city: 示例市}
office: {name: 示例区科学技术委员会（虚构）, short: 示科委}
page:
  title: 示例区政策问答（虚构）
  subtitle: 示例区科学技术委员会（虚构） · 测试用
  emblem: 示
  examples: [示例区高企奖励多少？, 孵化器奖励多少？]
scope:
  topics: 可以问示例区的扶持措施。
location:
  registered_in_district:
    label: 在示例区注册
    question: 贵企业是否在示例区注册？
    words: [在示例区注册, 示例区企业]
"""


@pytest.fixture(autouse=True)
def _shipped_location_after() -> Iterator[None]:
    """The facts of location are one per process: put the shipped site's back afterwards."""
    yield
    site = load_site(PROJECT_DIR / "corpus" / "site.yaml")
    localize(
        {n: FactSpec(n, f.label, f.question, f.words) for n, f in site.location.items()},
        site.district.names,
    )


@pytest.fixture
def sited(settings: Settings) -> Settings:
    (settings.corpus_dir / "site.yaml").write_text(FICTIONAL_SITE, encoding="utf-8")
    Services(settings).store.ingest()
    return settings


def test_a_site_file_for_another_district_changes_the_page_and_the_scope(sited: Settings) -> None:
    app = create_app(make_settings(sited.corpus_dir, sited.index_dir))
    with TestClient(app) as client:
        config = client.get("/config").text
        assert "示例区政策问答（虚构）" in config and "孵化器奖励多少？" in config
        at = config.find("青浦")
        assert at < 0, config[at - 200 : at + 50]
        body = ask(client, "明天天气怎么样")
        answer = body["answer"]
        assert "示例区科学技术委员会（虚构）的文件（如示科〔2099〕7号）" in answer
        assert "可以问示例区的扶持措施。" in answer and "青浦" not in answer
        assert client.post("/v1/chat", headers=AUTH, json={"messages": []}).status_code != 500
    assert FACTS["registered_in_district"].question == "贵企业是否在示例区注册？"
    assert read_facts("我们是示例区企业").known() == {"registered_in_district": True}


def test_without_a_site_file_nothing_names_a_place(tmp_path: Path) -> None:
    site = load_site(tmp_path / "site.yaml")
    assert site == Site() and site.page.title == "政策问答"
    assert site.district.names == () and site.page.examples == ()


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("page: {title: 标题, colour: red}\n", "page.colour"),
        ("district: {name: [1, 2]}\n", "district.name"),
        ("location: {registered_elsewhere: {label: a, question: b}}\n", "location"),
        ("page: {emblem: ''}\n", "page.emblem"),
    ],
)
def test_a_malformed_site_file_is_a_config_error_naming_the_field(
    tmp_path: Path, text: str, field: str
) -> None:
    path = tmp_path / "site.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_site(path)
    assert str(path) in caught.value.zh and field in caught.value.zh
    assert str(path) in caught.value.en and field in caught.value.en


def test_unreadable_yaml_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "site.yaml"
    path.write_text("page: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="site file"):
        load_site(path)


def test_no_module_names_a_district() -> None:
    package = PROJECT_DIR / "assistant"
    named = [
        f"{p.relative_to(PROJECT_DIR)}:{n}"
        for p in sorted(package.rglob("*.py"))
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"青浦|张江", line)
    ]
    assert named == []
