"""What an official document states about itself in its text: 文号, date, issuer and title.

Used when neither the file nor its sidecar names them (`loading.load_document`), and by the
loaders that read a date from a page's info table (`normalize_date`).
"""

from __future__ import annotations

import re

# Keys that, when any is given, mean the metadata was written by someone: nothing is guessed.
STATED_FACTS = ("doc_number", "date", "publish_date", "issuer")
_CN_DIGITS = {ch: i for i, ch in enumerate("〇一二三四五六七八九")} | {"零": 0, "○": 0, "O": 0}
_DATE = re.compile(
    r"((?:19|20)\d{2}|[〇零○O一二三四五六七八九]{4})\s*年\s*([\d一二三四五六七八九十]{1,3})"
    r"\s*月\s*([\d一二三四五六七八九十]{1,3})\s*日"
    r"|((?:19|20)\d{2})[-./](\d{1,2})[-./](\d{1,2})"
)
_DATE_LINE = re.compile(rf"^(?:{_DATE.pattern})(?:\s+\d{{1,2}}:\d{{2}}(?::\d{{2}})?)?$")
DOC_NUMBER = re.compile(
    r"[\u4e00-\u9fff]{1,15}\s*[〔［\[【(（]\s*(?:19|20)\d{2}\s*[〕］\]】)）]"
    r"\s*第?\s*\d{1,4}\s*号"
)
_DOC_NUMBER_LINE = re.compile(rf"^(?:(?:发文字号|文号)\s*[：:]\s*)?({DOC_NUMBER.pattern})$")
_ISSUER = re.compile(
    r"(?:委员会|人民政府|政府|办公室|办公厅|管理委员会|总局|局|厅|部|委|协会|学会|联合会|"
    r"中心|院|署|办)(?:[（(][^）)]{1,8}[）)])?$"
)  # "（盖章）" may follow
_SENTENCE_MARKS = re.compile(r"[。；;，,！？!?：:《》]")
_HEAD_LINES = 12
_TAIL_LINES = 8


def _cn_number(text: str) -> int:
    """A month or day written as 十二 / 二十一 / 一 (or digits)."""
    if text.isdigit():
        return int(text)
    if "十" in text:
        tens, _, ones = text.partition("十")
        return (_CN_DIGITS.get(tens, 1) if tens else 1) * 10 + (
            _CN_DIGITS.get(ones, 0) if ones else 0
        )
    return _CN_DIGITS.get(text, 0)


def normalize_date(text: str) -> str:
    """A date as YYYY-MM-DD from 2025年1月16日, 二〇二五年一月十六日 or 2025-01-16; else the
    text unchanged (a value nobody can parse is still better shown than lost)."""
    m = _DATE.search(text)
    if not m:
        return text.strip()
    if m.group(1):
        raw_year = m.group(1)
        year = (
            int(raw_year)
            if raw_year.isdigit()
            else int("".join(str(_CN_DIGITS.get(ch, 0)) for ch in raw_year))
        )
        month, day = _cn_number(m.group(2)), _cn_number(m.group(3))
    else:
        year, month, day = int(m.group(4)), int(m.group(5)), int(m.group(6))
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return text.strip()
    return f"{year:04d}-{month:02d}-{day:02d}"


def _is_issuer_line(line: str) -> bool:
    parts = line.split()
    return (
        len(line) <= 60
        and not _SENTENCE_MARKS.search(line)
        and all(_ISSUER.search(part) for part in parts)
    )


def metadata_from_text(text: str) -> dict[str, str]:
    """文号, date and issuer read from where official documents state them.

    The 文号 is a line of its own near the top (a 文号 inside a sentence names another
    document); the date and the issuer are the signature at the end: the date line, with the
    issuing bodies on the lines right above it. Without a signature, a date line near the top
    and a red header ("示例区科学技术委员会文件") stand in. Nothing is taken from elsewhere.
    """
    lines = [line.strip(" \t\u3000\r\f") for line in text.splitlines()]
    lines = [line for line in lines if line]
    head, tail_start = lines[:_HEAD_LINES], max(0, len(lines) - _TAIL_LINES)
    meta: dict[str, str] = {}
    for line in head:
        m = _DOC_NUMBER_LINE.match(line)
        if m:
            meta["doc_number"] = m.group(1)
            break
    for i in range(len(lines) - 1, tail_start - 1, -1):
        if _DATE_LINE.match(lines[i]):
            meta["date"] = normalize_date(lines[i])
            issuers: list[str] = []
            j = i - 1
            while j >= max(0, i - 3) and _is_issuer_line(lines[j]):
                issuers[:0] = lines[j].split()
                j -= 1
            if issuers:
                meta["issuer"] = "、".join(dict.fromkeys(issuers))
            break
    if "date" not in meta:
        dated = next((line for line in head if _DATE_LINE.match(line)), None)
        if dated:
            meta["date"] = normalize_date(dated)
    if "issuer" not in meta and head and _is_red_header(head[0]):
        issuer = head[0].removesuffix("文件").strip()
        if _is_issuer_line(issuer):
            meta["issuer"] = "、".join(issuer.split())
    return meta


def _is_red_header(line: str) -> bool:
    """The issuing body's banner that tops an official document: "XX委员会文件"."""
    return line.endswith("文件") and "关于" not in line and len(line) <= 40


def title_line(text: str) -> str:
    """The first line that can be a title: not a red header, a 文号 or a date."""
    first = ""
    for raw in text.splitlines():
        line = _MARKDOWN_HASHES.sub("", raw.strip(" \t\u3000\r\f"))
        if not line:
            continue
        first = first or line
        if _is_red_header(line) or _DOC_NUMBER_LINE.match(line) or _DATE_LINE.match(line):
            continue
        return line[:80]
    return first[:80]


_MARKDOWN_HASHES = re.compile(r"^#{1,6}\s+")
