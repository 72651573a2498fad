"""Eligibility rules: policy items and their conditions as data, each resting on a quote.

A rule file (YAML under `corpus/rules/`) holds a list of rules:

    - id: district-high-tech-subsidy
      name: 示例区高新技术企业补贴
      document: district/qingkewei-2025-1          # the doc_id its quotes come from
      topics: [补贴, 高企补贴]                        # words that make a question about it
      benefit: {text: 资金补贴（免申即享）, quote: "…exact words of the document…"}
      conditions:
        - {field: high_tech, is: true, quote: "…"}
        - {field: high_tech_recognition, in: [首次认定, 重新认定], quote: "…"}
        - any_of: [{field: little_giant, is: true}, {field: little_giant_cultivation, is: true}]
          label: 科技小巨人企业或培育企业
          quote: "…"
      details: {document: 《…实施办法》, quote: "…", note: 补贴标准见该办法}

Unknown keys are refused, fields come from the profile vocabulary, and every quote must
occur verbatim in the named document of the served index: a rule that fails any of this is
not used, and the error names it. A figure in a benefit must occur in its quote.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from assistant.eligibility.profile import FACTS, Profile
from assistant.errors import RuleError
from assistant.models import Chunk, Citation

log = logging.getLogger(__name__)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Test(_Strict):
    """One test of one profile field: equal to a value, or one of several."""

    field: str
    is_: bool | str | int | None = Field(None, alias="is")
    in_: tuple[str, ...] | None = Field(None, alias="in")

    @model_validator(mode="after")
    def _checked(self) -> Test:
        if self.field not in FACTS:
            raise ValueError(f"unknown profile field {self.field!r}; known: {', '.join(FACTS)}")
        if (self.is_ is None) == (self.in_ is None):
            raise ValueError(f"field {self.field!r}: give exactly one of `is` or `in`")
        allowed = _allowed_values(self.field)
        values = [self.is_] if self.is_ is not None else list(self.in_ or ())
        bad = [v for v in values if allowed is not None and v not in allowed]
        if bad and allowed is not None:
            raise ValueError(f"field {self.field!r}: {bad} not among {sorted(map(str, allowed))}")
        return self

    def holds(self, profile: Profile) -> bool | None:
        """True or False when the field is known, None when it is not."""
        value = getattr(profile, self.field)
        if value is None:
            return None
        return value == self.is_ if self.is_ is not None else value in (self.in_ or ())

    def describe(self) -> str:
        spec = FACTS[self.field]
        if self.is_ is True:
            return spec.label
        if self.is_ is False:
            return f"{spec.label}：否"
        if self.is_ is not None:
            return f"{spec.label}为{self.is_}"
        return f"{spec.label}为{'或'.join(self.in_ or ())}"


class Condition(_Strict):
    """A condition of a rule: one test, or any of several, with the words that state it."""

    field: str | None = None
    is_: bool | str | int | None = Field(None, alias="is")
    in_: tuple[str, ...] | None = Field(None, alias="in")
    any_of: tuple[Test, ...] | None = None
    label: str | None = None
    quote: str
    document: str | None = None  # another document than the rule's

    @model_validator(mode="after")
    def _checked(self) -> Condition:
        if (self.field is None) == (self.any_of is None):
            raise ValueError("a condition has either `field` (with `is` or `in`) or `any_of`")
        if self.field is not None:
            Test.model_validate({"field": self.field, "is": self.is_, "in": self.in_})
        return self

    @property
    def tests(self) -> tuple[Test, ...]:
        if self.any_of is not None:
            return self.any_of
        return (Test.model_validate({"field": self.field, "is": self.is_, "in": self.in_}),)

    def holds(self, profile: Profile) -> bool | None:
        """Met, unmet, or unknown (None) for this profile."""
        results = [t.holds(profile) for t in self.tests]
        if any(r is True for r in results):
            return True
        return False if all(r is False for r in results) else None

    def describe(self) -> str:
        return self.label or "或".join(t.describe() for t in self.tests)

    def fields(self) -> list[str]:
        return [t.field for t in self.tests]


class Benefit(_Strict):
    text: str
    quote: str
    document: str | None = None


class Details(_Strict):
    """Where the corpus names the policy that holds the particulars, but does not hold it."""

    document: str  # the title as the corpus names it, e.g. 《示例区关于…实施办法》
    quote: str  # the sentence of the corpus that names it
    note: str


class Rule(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: str
    document: str
    topics: tuple[str, ...] = ()
    benefit: Benefit
    conditions: tuple[Condition, ...] = ()
    details: Details | None = None

    @model_validator(mode="after")
    def _figures_in_quote(self) -> Rule:
        missing = [f for f in _FIGURE.findall(self.benefit.text) if f not in self.benefit.quote]
        if missing:
            raise ValueError(f"benefit figure(s) {missing} do not occur in the benefit's quote")
        return self

    def quotes(self) -> list[tuple[str, str]]:
        """Every (document, quote) the rule rests on."""
        out = [(self.benefit.document or self.document, self.benefit.quote)]
        out += [(c.document or self.document, c.quote) for c in self.conditions]
        if self.details:
            out.append((self.document, self.details.quote))
        return out


_FIGURE = re.compile(r"\d+(?:\.\d+)?\s*[%％]?")


def _allowed_values(name: str) -> set[Any] | None:
    annotation = Profile.model_fields[name].annotation
    values: set[Any] = set()
    for arg in get_args(annotation):
        values.update(get_args(arg) or ())
        if arg is bool:
            values.update({True, False})
    return values or None


# -- files ---------------------------------------------------------------------------------


def read_rule_files(folder: Path) -> tuple[list[Rule], list[RuleError]]:
    """Every rule in the YAML files of `folder`; malformed rules are returned as errors."""
    rules: list[Rule] = []
    errors: list[RuleError] = []
    if not folder.is_dir():
        return rules, errors
    seen: set[str] = set()
    for path in sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or []
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            errors.append(
                RuleError(
                    path.name, f"无法读取规则文件（{exc}）", f"cannot read the rule file ({exc})"
                )
            )
            continue
        if not isinstance(data, list):
            errors.append(
                RuleError(path.name, "规则文件应为规则列表", "a rule file holds a list of rules")
            )
            continue
        for i, raw in enumerate(data, 1):
            name = f"{path.name}#{i}"
            if isinstance(raw, dict) and isinstance(raw.get("id"), str):
                name = f"{raw['id']} ({path.name})"
            try:
                rule = Rule.model_validate(raw)
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first["loc"])
                errors.append(
                    RuleError(
                        name,
                        f"格式错误：{where} {first['msg']}",
                        f"malformed: {where} {first['msg']}",
                    )
                )
                continue
            if rule.id in seen:
                errors.append(RuleError(name, "规则编号重复", "duplicate rule id"))
                continue
            seen.add(rule.id)
            rules.append(rule)
    return rules, errors


# -- the rules of one served index ------------------------------------------------------


@dataclass
class RuleBook:
    """The rules whose every quote the served documents hold, and where each quote lies."""

    rules: list[Rule]
    errors: list[RuleError]
    titles: dict[str, str]
    _places: dict[tuple[str, str], tuple[Chunk, int]] = field(default_factory=dict)

    @classmethod
    def build(
        cls, rules: Sequence[Rule], errors: Sequence[RuleError], chunks: Iterable[Chunk]
    ) -> RuleBook:
        by_doc: dict[str, list[Chunk]] = {}
        for c in chunks:
            by_doc.setdefault(c.doc_id, []).append(c)
        book = cls([], list(errors), {d: cs[0].title for d, cs in by_doc.items()})
        for rule in rules:
            problem = book._place_quotes(rule, by_doc)
            if problem is None:
                book.rules.append(rule)
            else:
                book.errors.append(problem)
        for error in book.errors:
            log.warning("eligibility rule not used: %s", error.en)
        return book

    def _place_quotes(self, rule: Rule, by_doc: Mapping[str, list[Chunk]]) -> RuleError | None:
        for doc_id, quote in rule.quotes():
            if doc_id not in by_doc:
                return RuleError(
                    rule.id,
                    f"引用的文件 {doc_id} 不在索引中",
                    f"cites document {doc_id!r}, which is not indexed",
                )
            place = _locate(quote, by_doc[doc_id])
            if place is None:
                return RuleError(
                    rule.id,
                    f"引文在文件 {doc_id} 中找不到：“{quote[:40]}”",
                    f"quote not found verbatim in {doc_id}: {quote[:40]!r}",
                )
            self._places[(doc_id, quote)] = place
        return None

    def citation(self, n: int, doc_id: str, quote: str) -> Citation:
        """The numbered citation of a quote the book has placed."""
        chunk, at = self._places[(doc_id, quote)]
        return Citation(n, chunk, quote, chunk.start + at, chunk.start + at + len(quote))


def _locate(quote: str, chunks: Sequence[Chunk]) -> tuple[Chunk, int] | None:
    """The chunk where the quote starts and its offset there, reading across chunk joins."""
    if not quote.strip():
        return None
    for c in chunks:
        at = c.text.find(quote)
        if at >= 0:
            return c, at
    # A quote may straddle two chunks: rebuild the text from the chunks' offsets.
    ordered = sorted(chunks, key=lambda c: c.start)
    text = ""
    base = ordered[0].start if ordered else 0
    for c in ordered:
        offset = c.start - base
        text = text[:offset].ljust(offset) + c.text if c.end - base >= len(text) else text
    at = text.find(quote)
    if at < 0:
        return None
    start = base + at
    holder = max((c for c in ordered if c.start <= start), key=lambda c: c.start)
    return holder, start - holder.start


# -- what is left to encode -------------------------------------------------------------

# Sentences that read like a condition or a benefit: what staff may want a rule for.
_RULE_LIKE = re.compile(
    r"针对|对[^。；]{1,40}(?:给予|予以)|符合[^。；]{0,20}(?:条件|要求|的)|申报条件|申请条件|享受"
    r"|减按|加计扣除|免征|减征|抵免|抵扣|补贴|奖励|资助|贴息|扶持"
)
_SENTENCE = re.compile(r"[^。；;\n]+[。；;]?")


def uncovered(chunks: Iterable[Chunk], rules: Sequence[Rule]) -> list[tuple[str, str, str]]:
    """(doc_id, section, sentence) for each rule-like sentence no rule quotes from."""
    quoted: dict[str, list[str]] = {}
    for rule in rules:
        for doc_id, quote in rule.quotes():
            quoted.setdefault(doc_id, []).append(quote)
    out: list[tuple[str, str, str]] = []
    seen: set[tuple[str, str]] = set()
    for chunk in chunks:
        for m in _SENTENCE.finditer(chunk.text):
            sentence = m.group().strip()
            if len(sentence) < 8 or not _RULE_LIKE.search(sentence):
                continue
            if (chunk.doc_id, sentence) in seen:
                continue  # overlapping chunks repeat a sentence
            seen.add((chunk.doc_id, sentence))
            quotes = quoted.get(chunk.doc_id, [])
            if any(q in sentence or sentence.rstrip("。；;") in q for q in quotes):
                continue
            out.append((chunk.doc_id, chunk.section, sentence))
    return out
