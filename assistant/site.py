"""The deployment: the facts of the place the assistant serves, read from one site file.

The code names no district. What the page calls itself, which office to ask, the example
questions, the words of the scope message and how the enterprise's location is asked about
all come from `site.yaml` (ASSISTANT_SITE_FILE, else `site.yaml` in the corpus folder):

    district: {name: 示例区, short: 示例, city: 示例市}
    office: {name: 示例区科学技术委员会, short: 区科委}
    page: {title: 示例区科技政策问答, subtitle: …, emblem: 示, examples: [...]}
    scope: {topics: 您可以问我补贴、认定、贷款产品等问题。}
    location:
      registered_in_district: {label: 在示例区注册, question: 贵企业是否在示例区注册？, words: [...]}
      in_zhangjiang_park: {label: 位于…园区, question: …, words: [...]}
    vocabulary:
      words: [示例园, 大示例]                      # kept whole when text is split into words
      synonyms: [[示例区, 示例, shili], [示例园, 示例科技园]]   # the documents' term first
      places: [[示例区, 示例, shili]]             # its names in Chinese, then its English

The vocabulary adds the deployment's own words to the package's (`assistant/text/data/`): they
split questions and documents alike, so changing them rebuilds the index. Without the file the
defaults name no place at all. A malformed file is a ConfigError that names the file and the
field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from assistant.errors import ConfigError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class District(_Strict):
    """The home district: naming it (or its city with it) does not narrow a question."""

    name: str = ""  # e.g. 示例区
    short: str = ""  # e.g. 示例
    city: str = ""  # e.g. 示例市

    @property
    def names(self) -> tuple[str, ...]:
        """Every name of the home place, the district's and its city's, longest first."""
        city_short = self.city.removesuffix("市") if len(self.city) > 2 else ""
        found = (self.name, self.short, self.city, city_short)
        return tuple(sorted({n for n in found if n}, key=len, reverse=True))


class Office(_Strict):
    """The office an enterprise asks when the documents do not settle a question."""

    name: str = ""  # e.g. 示例区科学技术委员会
    short: str = ""  # e.g. 区科委

    @property
    def called(self) -> str:
        return self.short or self.name or "主管部门"


class Page(_Strict):
    title: str = "政策问答"
    subtitle: str = "依据政策文件原文作答，每条回答注明出处"
    emblem: str = Field(default="政", min_length=1, max_length=2)
    examples: tuple[str, ...] = ()


class Scope(_Strict):
    """The deployment's words in the out-of-scope message; the documents are named from the
    index itself."""

    topics: str = "您可以问我补贴、认定、税收优惠等问题。"


class LocationFact(_Strict):
    label: str = Field(min_length=1)
    question: str = Field(min_length=1)
    words: tuple[str, ...] = ()


LocationField = Literal["registered_in_district", "in_zhangjiang_park"]


# A word of the vocabulary: one token, no spaces (an English term of a synonym group may
# have them, "high-tech zone"); a place's name is one word, as places.txt writes it.
Term = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
Word = Annotated[Term, StringConstraints(pattern=r"^\S+$")]


class SiteVocabulary(_Strict):
    """The deployment's own words, added to the package's lexicon, synonyms and places.

    `words` are kept whole by the tokenizer (a park's name: 示例园); each group of `synonyms`
    is one term in several wordings, the documents' own first, and each of its Chinese terms is
    kept whole too; each of `places` is one place a question may name, its names in Chinese
    and then its English spelling (as a line of places.txt).
    """

    words: tuple[Word, ...] = ()
    synonyms: tuple[Annotated[tuple[Term, ...], Field(min_length=2)], ...] = ()
    places: tuple[Annotated[tuple[Word, ...], Field(min_length=1)], ...] = ()


class Site(_Strict):
    """The deployment's own facts (not policy text)."""

    district: District = District()
    office: Office = Office()
    page: Page = Page()
    scope: Scope = Scope()
    location: dict[LocationField, LocationFact] = {}
    vocabulary: SiteVocabulary = SiteVocabulary()


def load_site(path: Path | None) -> Site:
    """The site file at `path`; neutral defaults when there is none."""
    if path is None or not path.is_file():
        return Site()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(
            f"站点文件 {path} 无法读取：{exc}", f"site file {path} cannot be read: {exc}"
        ) from None
    try:
        return Site.model_validate(data or {})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        if first["type"] == "extra_forbidden":
            zh, en = "未知字段", "unknown field"
        else:
            zh, en = f"值无效：{first['msg']}", f"invalid: {first['msg']}"
        raise ConfigError(
            f"站点文件 {path} 的字段 {where} {zh}", f"site file {path}, field {where!r}: {en}"
        ) from None
