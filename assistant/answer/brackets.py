"""Brackets: the ranges a clause applies to, and whether the asker's own figure falls in one.

Laws and measures state one rule per bracket: "劳动合同期限三个月以上不满一年的，试用期不得超过
一个月；一年以上不满三年的，不得超过二个月；三年以上…的，不得超过六个月". A question that states
its own figure ("签两年劳动合同", "才来了四个月", "营业收入5000万元") is answered by the bracket
holding it, never by a neighbouring one. Pure functions over (normalized) text.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

from assistant.answer.verification import chinese_to_int

_NUMBER = r"(?:\d+(?:\.\d+)?|[零〇一二两三四五六七八九十百千]+|半)"
# Each unit with its dimension and its size in that dimension's base (months, yuan).
_UNITS: dict[str, tuple[str, float]] = {
    "年": ("time", 12.0),
    "个月": ("time", 1.0),
    "月": ("time", 1.0),
    "周": ("time", 7 / 30),
    "日": ("time", 1 / 30),
    "天": ("time", 1 / 30),
    "亿元": ("money", 1e8),
    "万元": ("money", 1e4),
    "元": ("money", 1.0),
}
_UNIT = "|".join(sorted(map(re.escape, _UNITS), key=len, reverse=True))
_QUANTITY = rf"({_NUMBER})\s*({_UNIT})"
# A condition ends in 的 (…一年以上不满三年的，): the bracket is what the clause applies to.
_BETWEEN = re.compile(
    rf"{_QUANTITY}(?:以上|及以上)(?:不满|未满|不足|以下){_QUANTITY}[^，。；,;]{{0,8}}的"
)
_BELOW = re.compile(rf"(?:不满|未满|不足|少于|低于){_QUANTITY}[^，。；,;]{{0,8}}的")
_ABOVE = re.compile(
    rf"(?:满|超过|不少于|不低于|达到)?{_QUANTITY}(?:以上|及以上)?[^，。；,;]{{0,12}}的"
)
# A figure the asker states about themselves, not one they ask for (几年, 多少万元).
_STATED = re.compile(_QUANTITY)


def number(text: str) -> float | None:
    """A number written in digits or in Chinese numerals ("两" 2, "十二" 12, "半" 0.5)."""
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        return float(text)
    if text == "半":
        return 0.5
    value = chinese_to_int(text)
    return None if value is None else float(value)


def _amount(value: str, unit: str) -> tuple[str, float] | None:
    n = number(value)
    if n is None:
        return None
    dimension, size = _UNITS[unit]
    return dimension, n * size


@dataclass(frozen=True)
class Bracket:
    """A range of one dimension a clause applies to: [low, high)."""

    dimension: str
    low: float
    high: float

    def holds(self, value: float) -> bool:
        return self.low <= value < self.high


def brackets(text: str) -> list[Bracket]:
    """The brackets a text states as conditions, first the two-sided ones."""
    out: list[Bracket] = []
    taken: list[tuple[int, int]] = []
    for m in _BETWEEN.finditer(text):
        low, high = _amount(m.group(1), m.group(2)), _amount(m.group(3), m.group(4))
        if low and high and low[0] == high[0]:
            out.append(Bracket(low[0], low[1], high[1]))
            taken.append(m.span())
    for pattern, below in ((_BELOW, True), (_ABOVE, False)):
        for m in pattern.finditer(text):
            if any(s <= m.start() < e for s, e in taken):
                continue
            if not below and not re.search(r"满|超过|不少于|不低于|达到|以上", m.group(0)):
                continue  # a bare figure before 的 ("3000元的标准") is no condition
            amount = _amount(m.group(1), m.group(2))
            if amount:
                dimension, value = amount
                start, end = (0.0, value) if below else (value, math.inf)
                out.append(Bracket(dimension, start, end))
                taken.append(m.span())
    return out


def stated(question: str) -> dict[str, float]:
    """The figures a question states about the asker, by dimension ("签两年劳动合同" → 24 months)."""
    out: dict[str, float] = {}
    for m in _STATED.finditer(question):
        if m.group(2) == "年" and re.fullmatch(r"(?:19|20)\d{2}", m.group(1)):
            continue  # a year (2024年), not a duration
        amount = _amount(m.group(1), m.group(2))
        if amount and amount[0] not in out:
            out[amount[0]] = amount[1]
    return out


# Laws bracket penalties by degree as well as by figure: "情节严重的…" is another paragraph
# than the one for a case the asker says is "不算严重".
_DEGREE = r"特别严重|严重|重大|较大|恶劣|轻微|巨大"
_DENIED = re.compile(rf"(?:不算|不太|不是很|不是|并不|并非|没有|没那么|不)({_DEGREE})")
_DEGREE_CONDITION = re.compile(rf"(?<![不非])({_DEGREE})的")


def denied_degrees(question: str) -> frozenset[str]:
    """The degrees a question says its case is not ("情节不算严重" → 严重)."""
    return frozenset(m.group(1) for m in _DENIED.finditer(question))


def degree_fit(denied: frozenset[str], text: str) -> int:
    """-1 when the text is the bracket for a degree the asker denies, else 0."""
    held = {m.group(1) for m in _DEGREE_CONDITION.finditer(text)}
    return -1 if any(d in held or any(d in h for h in held) for d in denied) else 0


def fit(question_figures: Mapping[str, float], text: str) -> int:
    """1 when the text's bracket holds the asker's figure, -1 when its brackets of that
    dimension all exclude it, 0 when it states no bracket of a dimension the asker gave."""
    relevant = [b for b in brackets(text) if b.dimension in question_figures]
    if not relevant:
        return 0
    return 1 if any(b.holds(question_figures[b.dimension]) for b in relevant) else -1
