"""Checks an answer against its citations before anyone sees it (pure logic).

The rules, for every answerer: each citation marker [n] points to a cited passage; each
figure in the answer (amounts, counts, percentages, years, dates) occurs in a cited passage —
or is the result of a shown calculation on cited figures ("1210 − 1164 = 46"); no HTML markup
appears that the cited passages do not hold; and, when the index's titles are given, each
document named in 《》 is one the index holds or names, so an asker's invented title is never
presented as a document.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from assistant.models import Chunk
from assistant.text.vocabulary import normalize

MARKER = re.compile(r"\[(\d{1,2})\]")
_NUMBER = re.compile(r"(?<![\d.])\d+(?:\.\d+)?")
_CALCULATION = re.compile(
    r"(\d+(?:\.\d+)?)\s*[^\d\s=＝]{0,4}\s*([+＋\-−－×*/÷])\s*(\d+(?:\.\d+)?)\s*[^\d\s=＝]{0,4}\s*"
    r"[=＝≈]\s*(\d+(?:\.\d+)?)"
)
_CN_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}
_CN_NUMBER = re.compile(r"[零〇一二两三四五六七八九十百千]+")
_CN_UNIT_AFTER = re.compile(r"[年月日天个家项倍人次条款名所批届周岁元万亿%]")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_MARKUP = re.compile(r"<\s*/?\s*[A-Za-z!][^<>]*>")
_TITLE = re.compile(r"《([^《》\n]{1,80})》")


@dataclass(frozen=True)
class Problem:
    """One reason an answer cannot be shown as it is."""

    kind: str  # "marker" | "figure" | "markup" | "title"
    detail: str


def chinese_to_int(text: str) -> int | None:
    """A Chinese numeral below ten thousand as an integer ("二十八" → 28), else None.

    Digits without units are read digit by digit, as years are written ("二〇二四" → 2024).
    """
    if len(text) > 1 and all(ch in _CN_DIGITS for ch in text):
        return int("".join(str(_CN_DIGITS[ch]) for ch in text))
    total, current = 0, 0
    for ch in text:
        if ch in _CN_DIGITS:
            current = _CN_DIGITS[ch]
        elif ch in _CN_UNITS:
            total += (current or 1) * _CN_UNITS[ch]
            current = 0
        else:
            return None
    return total + current


def figures_in(text: str) -> set[str]:
    """Every number a text holds, Arabic or Chinese (as Arabic), in a canonical form.

    Chinese numerals count when they hold a digit (二十, 三) or stand before a unit (十年);
    words such as 十分 or 千方百计 are not figures. 百分之十五 is the figure 15.
    """
    t = _THOUSANDS.sub("", normalize(text))
    t = t.replace("百分之", "%")
    out = {_canonical(m.group(0)) for m in _NUMBER.finditer(t)}
    for m in _CN_NUMBER.finditer(t):
        word = m.group(0)
        value = chinese_to_int(word)
        if value is None:
            continue
        has_digit = any(ch in _CN_DIGITS for ch in word)
        before_unit = _CN_UNIT_AFTER.match(t, m.end()) is not None
        if (has_digit or before_unit) and (len(word) > 1 or value >= 2):
            out.add(str(value))
    return out


def _canonical(number: str) -> str:
    if "." in number:
        number = number.rstrip("0").rstrip(".")
    return number.lstrip("0") or "0"


def _calculated(text: str, cited: set[str]) -> set[str]:
    """Results of calculations shown in the text whose inputs are cited and whose sums are right."""
    ok: set[str] = set()
    for m in _CALCULATION.finditer(normalize(text)):
        a, op, b, result = m.groups()
        if _canonical(a) not in cited or _canonical(b) not in cited:
            continue
        x, y, r = float(a), float(b), float(result)
        value = {
            "+": x + y,
            "＋": x + y,
            "-": x - y,
            "−": x - y,
            "－": x - y,
            "×": x * y,
            "*": x * y,
            "/": x / y if y else None,
            "÷": x / y if y else None,
        }[op]
        if value is not None and abs(value - r) <= max(0.011, abs(value) * 0.001):
            ok.add(_canonical(result))
    return ok


def verify(
    answer: str, cited: Sequence[Chunk], numbered: int, titles: Collection[str] | None = None
) -> list[Problem]:
    """What is wrong with an answer citing these chunks ([1] is cited[0]); empty when sound.

    `numbered` is how many markers exist ([1]…[numbered]); a marker beyond it points nowhere.
    `titles` are the titles the index holds or names in 《》; given, every title the answer
    names in 《》 must be (part of) one of them or of the cited passages' titles.
    """
    problems: list[Problem] = []
    for m in MARKER.finditer(answer):
        n = int(m.group(1))
        if not 1 <= n <= numbered:
            problems.append(Problem("marker", f"[{n}] points to no passage"))
    body = MARKER.sub(" ", answer)
    sources: set[str] = set()
    for c in cited:
        sources |= figures_in(f"{c.title} {c.doc_number} {c.section} {c.lead} {c.text}")
    allowed = sources | _calculated(body, sources)
    for figure in sorted(figures_in(body) - allowed):
        problems.append(Problem("figure", f"{figure} is in no cited passage"))
    cited_text = "\n".join(f"{c.title} {c.lead} {c.text}" for c in cited)
    for m in _MARKUP.finditer(body):
        if m.group(0) not in cited_text:
            problems.append(Problem("markup", f"{m.group(0)} is in no cited passage"))
    if titles is not None:
        named = [
            normalize(t)
            for t in (
                *titles,
                *(c.title for c in cited),
                *(t for c in cited for t in _TITLE.findall(c.text)),
            )
        ]
        for m in _TITLE.finditer(body):
            title = normalize(m.group(1).strip())
            if not any(title in n for n in named):
                problems.append(Problem("title", f"《{m.group(1)}》 is named by no document"))
    return problems
