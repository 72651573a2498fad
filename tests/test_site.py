"""The deployment is data: a site file for another (fictional) district changes the page, the
examples, the scope message and the vocabulary with no change to the code, and nothing in the
package names a district."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from assistant.answer.aspects import domain_entities, known_places, places_named
from assistant.answer.need import read_need
from assistant.config import PROJECT_DIR, Settings
from assistant.eligibility.profile import FACTS, FactSpec, localize, read_facts
from assistant.errors import ConfigError
from assistant.serve.app import create_app
from assistant.serve.runtime import Services
from assistant.site import Site, SiteVocabulary, load_site
from assistant.text.vocabulary import normalize, vocabulary

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

# The district's own words: a park the tokenizer would split, its wordings, the place itself.
WORDS_SECTION = """\
vocabulary:
  words: [临溪智谷]
  synonyms:
    - [临溪智谷, 智谷, linxi valley]
    - [示例区, 示例, shili]
  places:
    - [示例区, 示例, shili]
"""

PARK_NOTICE = """\
---
title: 临溪智谷入驻企业扶持办法（虚构示例，仅供测试）
doc_number: 示科〔2099〕8号
issuer: 示例区科学技术委员会（虚构）
date: 2099-04-01
---
临溪智谷入驻企业扶持办法
一、对新入驻临溪智谷的科技企业，给予一次性落户奖励66万元。
"""
SHIPPED_SITE = PROJECT_DIR / "corpus" / "site.yaml"


@pytest.fixture(autouse=True)
def _shipped_location_after() -> Iterator[None]:
    """The facts of location are one per process: put the shipped site's back afterwards."""
    yield
    site = load_site(SHIPPED_SITE)
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
        ("vocabulary: {words: [临溪 智谷]}\n", "vocabulary.words.0"),
        ("vocabulary: {synonyms: [[临溪智谷]]}\n", "vocabulary.synonyms.0"),
        ("vocabulary: {synonyms: 临溪智谷 | 智谷}\n", "vocabulary.synonyms"),
        ("vocabulary: {places: [[]]}\n", "vocabulary.places.0"),
        ("vocabulary: {place: [[临溪区, 临溪]]}\n", "vocabulary.place"),
        ("vocabulary: [临溪智谷]\n", "vocabulary"),
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


def test_a_site_without_a_vocabulary_uses_the_package_words(sited: Settings) -> None:
    services = Services(sited)
    assert services.site.vocabulary == SiteVocabulary()
    assert services.vocabulary is vocabulary()
    hits = services.retriever.search("首次认定的高企奖励多少", k=1)
    assert "88万元" in hits[0].chunk.text


def test_a_sites_words_reach_the_index_and_the_questions(settings: Settings) -> None:
    (settings.corpus_dir / "site.yaml").write_text(FICTIONAL_SITE + WORDS_SECTION, "utf-8")
    (settings.corpus_dir / "park-notice.txt").write_text(PARK_NOTICE, encoding="utf-8")
    services = Services(settings)
    services.store.ingest()
    assert services.vocabulary is vocabulary(services.site.vocabulary)
    # Documents are split with the site's words: the park is one keyword term.
    chunks, terms, _ = services.store.read_chunks(services.store.current_version() or "")
    park = next(t for c, t in zip(chunks, terms, strict=True) if "落户奖励" in c.text)
    assert "临溪智谷" in park
    # Questions are too, and find it through the site's synonyms, in English as well.
    assert "66万元" in services.retriever.search("智谷的落户奖励是多少", k=1)[0].chunk.text
    english = services.retriever.search("What is the settling-in award in Linxi Valley?", k=3)
    assert any(h.chunk.doc_id == "park-notice" and "bm25" in h.ranks for h in english)
    # The answer's word lists hold the site's place and its named things.
    words = services.vocabulary.site_words
    assert ("示例区", "示例", "shili") in known_places(words)
    assert ("示例区", "示例", "shili") in places_named(normalize("shili的高企奖励"), words)
    assert "临溪智谷" in domain_entities(words)


def test_changing_the_sites_words_rebuilds_the_index(settings: Settings) -> None:
    site = settings.corpus_dir / "site.yaml"
    site.write_text(FICTIONAL_SITE, encoding="utf-8")
    first = Services(settings).store.ingest()
    assert first.added and not first.unchanged
    assert Services(settings).store.ingest().unchanged == first.added
    site.write_text(FICTIONAL_SITE + WORDS_SECTION, encoding="utf-8")
    again = Services(settings).store.ingest()
    assert sorted(again.replaced) == sorted(first.added) and not again.unchanged


def test_each_sites_answers_read_its_own_places_and_named_things(settings: Settings) -> None:
    """Two sites in one process never mix: each assistant reads its own vocabulary's words."""
    site = settings.corpus_dir / "site.yaml"
    site.write_text(FICTIONAL_SITE + WORDS_SECTION, encoding="utf-8")
    worded = Services(settings).vocabulary
    site.write_text(FICTIONAL_SITE, encoding="utf-8")
    plain = Services(settings)
    question = "shili的临溪智谷有什么奖励"
    need = read_need(question, worded, lambda _: 1.0, 1.0)
    assert need.places and "临溪智谷" in need.entities
    other = read_need(question, plain.vocabulary, lambda _: 1.0, 1.0)
    assert not other.places and "临溪智谷" not in other.entities
    assert plain.vocabulary.site_words == SiteVocabulary()


def _names_of_the_shipped_district() -> set[str]:
    """The names of the shipped site's place, as its site file spells them: its district's, and
    every word of its vocabulary (its parks, their wordings, its places)."""
    site = load_site(SHIPPED_SITE)
    words = site.vocabulary
    names = {
        site.district.name,
        site.district.short,
        *words.words,
        *(t for group in words.synonyms for t in group),
        *(n for place in words.places for n in place),
    }
    return {n.lower() for n in names if n}


# Another part of the package owns the key of the park fact; only that identifier may stay.
ALLOWED = re.compile(r"in_zhangjiang_park", re.I)


def test_nothing_in_the_package_names_the_shipped_district() -> None:
    names = _names_of_the_shipped_district()
    assert names, "the shipped site file names its district"
    package = PROJECT_DIR / "assistant"
    named = [
        f"{p.relative_to(PROJECT_DIR)}:{n}: {name}"
        for p in sorted(package.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
        for n, line in enumerate(p.read_bytes().decode("utf-8", "ignore").splitlines(), 1)
        for name in names
        if name in ALLOWED.sub("", line).lower()
    ]
    assert named == []
