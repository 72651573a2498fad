"""Word (.docx): paragraphs and tables in document order, with Word's numbering written out.

Word's automatic numbering is not part of a paragraph's text, so it is written out ("一、",
"（一）", "第一条"); a Word heading whose text carries no Chinese numbering is marked as a
Markdown heading, so it still opens a section.

Before python-docx builds anything, the size the file's XML unpacks to is checked against
`LoadLimits` (a few hundred kilobytes can expand to gigabytes). python-docx is imported when a
Word file is loaded, not with the package.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from assistant.errors import CorruptFileError, LoadLimitError
from assistant.ingest.loaders.common import MB, LoadedText, LoadLimits, table_row, wide
from assistant.ingest.segmenting import heading_rank

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_HEADING_STYLE = re.compile(r"^(?:heading|标题)\s*([1-9])$", re.I)
_CN_DIGITS = "零一二三四五六七八九"
_CN_LEGAL = "零壹贰叁肆伍陆柒捌玖"
_STEMS = "甲乙丙丁戊己庚辛壬癸"
_CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳"


def chinese_number(n: int, digits: str = _CN_DIGITS) -> str:
    """1 → 一, 12 → 十二, 20 → 二十, 105 → 一百零五 (up to 9999), as Chinese lists count."""
    if n <= 0 or n >= 10000:
        return str(n)
    units = ((1000, "千"), (100, "百"), (10, "十"), (1, ""))
    out, zero = "", False
    for value, unit in units:
        d, n = divmod(n, value)
        if d:
            if zero and out:
                out += digits[0]
            out += digits[d] + unit
            zero = False
        elif out:
            zero = True
    # 十二, not 一十二: a leading "一十" is read as 十.
    return out[1:] if out.startswith(digits[1] + "十") else out


def format_number(n: int, fmt: str) -> str:
    """A list counter in one of Word's number formats (w:numFmt)."""
    if fmt in (
        "chineseCounting",
        "chineseCountingThousand",
        "japaneseCounting",
        "taiwaneseCounting",
        "koreanCounting",
    ):
        return chinese_number(n)
    if fmt in ("chineseLegalSimplified", "japaneseLegal"):
        return chinese_number(n, _CN_LEGAL)
    if fmt == "ideographDigital":
        return "".join(_CN_DIGITS[int(d)] if d != "0" else "〇" for d in str(n))
    if fmt in ("ideographTraditional", "ideographZodiac") and 1 <= n <= 10:
        return _STEMS[n - 1]
    if fmt.startswith("decimalEnclosedCircle") and 1 <= n <= 20:
        return _CIRCLED[n - 1]
    if fmt in ("decimalFullWidth", "decimalFullWidth2"):
        return "".join(chr(ord(d) + 0xFEE0) for d in str(n))
    if fmt == "decimalZero":
        return f"{n:02d}"
    if fmt in ("lowerLetter", "upperLetter") and n >= 1:
        letter = chr(ord("a") + (n - 1) % 26) * ((n - 1) // 26 + 1)
        return letter.upper() if fmt == "upperLetter" else letter
    if fmt in ("lowerRoman", "upperRoman") and 1 <= n < 4000:
        roman = _roman(n)
        return roman.lower() if fmt == "lowerRoman" else roman
    return str(n)


def _roman(n: int) -> str:
    out = ""
    for value, symbol in (
        (1000, "M"),
        (900, "CM"),
        (500, "D"),
        (400, "CD"),
        (100, "C"),
        (90, "XC"),
        (50, "L"),
        (40, "XL"),
        (10, "X"),
        (9, "IX"),
        (5, "V"),
        (4, "IV"),
        (1, "I"),
    ):
        while n >= value:
            out, n = out + symbol, n - value
    return out


@dataclass(frozen=True)
class _Level:
    fmt: str = "decimal"
    text: str = ""
    start: int = 1
    suffix: str = "tab"


def _val(element: Any, child: str, default: str) -> str:
    found = element.find(f"{_W}{child}") if element is not None else None
    value = found.get(f"{_W}val") if found is not None else None
    return default if value is None else str(value)


def _level(lvl: Any) -> _Level:
    start = _val(lvl, "start", "1")
    return _Level(
        fmt=_val(lvl, "numFmt", "decimal"),
        text=_val(lvl, "lvlText", ""),
        start=int(start) if start.isdigit() else 1,
        suffix=_val(lvl, "suff", "tab"),
    )


class Numbering:
    """Word's list numbering: the label each numbered paragraph shows, counted in order."""

    def __init__(self, numbering_xml: Any | None) -> None:
        self._levels: dict[str, dict[int, _Level]] = {}
        self._counts: dict[str, dict[int, int]] = {}
        if numbering_xml is None:
            return
        abstract = {
            a.get(f"{_W}abstractNumId"): {
                int(lvl.get(f"{_W}ilvl", "0")): _level(lvl) for lvl in a.findall(f"{_W}lvl")
            }
            for a in numbering_xml.iter(f"{_W}abstractNum")
        }
        for num in numbering_xml.iter(f"{_W}num"):
            levels = dict(abstract.get(_val(num, "abstractNumId", ""), {}))
            for override in num.findall(f"{_W}lvlOverride"):
                ilvl = int(override.get(f"{_W}ilvl", "0"))
                lvl = override.find(f"{_W}lvl")
                if lvl is not None:
                    levels[ilvl] = _level(lvl)
                start = _val(override, "startOverride", "")
                if start.isdigit():
                    levels[ilvl] = replace(levels.get(ilvl, _Level()), start=int(start))
            self._levels[str(num.get(f"{_W}numId"))] = levels

    def next_label(self, num_id: str, ilvl: int) -> tuple[str, str]:
        """Count one paragraph of this list at this level: its label and the label's suffix."""
        levels = self._levels.get(num_id, {})
        if ilvl not in levels:
            return "", ""
        counts = self._counts.setdefault(num_id, {})
        counts[ilvl] = counts.get(ilvl, levels[ilvl].start - 1) + 1
        for deeper in [k for k in counts if k > ilvl]:
            del counts[deeper]  # a new item restarts the levels below it
        level = levels[ilvl]
        if level.fmt in ("bullet", "none"):
            return "", ""

        def counter(m: re.Match[str]) -> str:
            k = int(m.group(1)) - 1
            other = levels.get(k, _Level())
            return format_number(counts.get(k, other.start), other.fmt)

        return re.sub(r"%([1-9])", counter, level.text), level.suffix


def _style_chain(paragraph: Any) -> Iterator[Any]:
    style = paragraph.style
    seen = 0
    while style is not None and seen < 20:  # a style based on itself must not loop
        yield style
        style, seen = style.base_style, seen + 1


def _properties(paragraph: Any) -> Iterator[Any]:
    """The paragraph's own properties, then those of its style and the styles it is based on."""
    yield paragraph._p.pPr
    for style in _style_chain(paragraph):
        yield style.element.pPr


def _list_position(paragraph: Any) -> tuple[str, int] | None:
    num_id = ilvl = None
    for ppr in _properties(paragraph):
        numpr = ppr.find(f"{_W}numPr") if ppr is not None else None
        if numpr is None:
            continue
        num_id = num_id or _val(numpr, "numId", "") or None
        ilvl = ilvl or _val(numpr, "ilvl", "") or None
    if not num_id or num_id == "0":
        return None
    return num_id, int(ilvl) if ilvl and ilvl.isdigit() else 0


def _heading_level(paragraph: Any) -> int | None:
    """1 for Heading 1 (or outline level 1), …; None for body text and the Title style."""
    for style in _style_chain(paragraph):
        m = _HEADING_STYLE.match(style.name or "")
        if m:
            return int(m.group(1))
    for ppr in _properties(paragraph):
        outline = _val(ppr, "outlineLvl", "")
        if outline.isdigit():
            return int(outline) + 1 if int(outline) < 9 else None
    return None


def _labelled(label: str, suffix: str, text: str) -> str:
    if not label:
        return text
    if suffix == "nothing" or label[-1] in "、.．)）:：":
        return label + text
    return label + ("\u3000" if wide(label[-1]) else " ") + text


def docx_lines(document: Any) -> Iterator[str]:
    """A Word document's paragraphs and table rows, in order, as lines."""
    from docx.table import Table

    try:
        numbering_xml = document.part.numbering_part.element
    except (KeyError, NotImplementedError):
        numbering_xml = None
    numbering = Numbering(numbering_xml)
    first = True
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            yield from _docx_rows(block)
            continue
        position = _list_position(block)
        label, suffix = numbering.next_label(*position) if position else ("", "")
        lines = [line.strip() for line in block.text.splitlines() if line.strip()]
        if not lines:
            continue
        lines[0] = _labelled(label, suffix, lines[0])
        level = _heading_level(block)
        # The first line is the title even when styled as a heading; other headings the
        # Chinese numbering patterns miss keep their rank as Markdown headings.
        if level is not None and not first and heading_rank(lines[0]) is None:
            lines[0] = f"{'#' * min(level, 6)} {lines[0]}"
        first = False
        yield from lines


def _docx_rows(table: Any) -> Iterator[str]:
    for row in table.rows:
        cells: list[str] = []
        seen: list[Any] = []
        for cell in row.cells:
            if any(cell._tc is tc for tc in seen):
                continue  # a merged cell is listed once per grid column it spans
            seen.append(cell._tc)
            cells.append("\n".join(p.text for p in cell.paragraphs))
        line = table_row(cells)
        if line:
            yield line


_DOCX_MEMBERS = 10_000  # a Word file has a few dozen parts; each listed one costs memory
_XML_PARTS = (".xml", ".rels", ".vml")


def check_unpacked_size(name: str, data: bytes, limits: LoadLimits) -> None:
    """Refuse a Word file whose parts unpack to more than the limit, before any is read.

    The sizes are those the zip's directory declares; Python's zip reader never returns more
    than that, so a part that lies about its size fails to read instead of growing. XML is
    what the parser turns into a tree, so it has the limit; pictures do not compress, so the
    other parts may add about the file's own size.
    """
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        members = package.infolist()
    if len(members) > _DOCX_MEMBERS:
        raise LoadLimitError(
            name,
            f"Word 文件包含的部件过多（{len(members)} 个，上限 {_DOCX_MEMBERS} 个），"
            "可能是恶意构造的压缩包",
            f"the Word file holds too many parts ({len(members)}, limit {_DOCX_MEMBERS}); "
            "it may be a crafted archive",
        )
    xml = sum(m.file_size for m in members if m.filename.lower().endswith(_XML_PARTS))
    total = sum(m.file_size for m in members)
    cap = int(limits.docx_xml_mb * MB)
    if xml > cap or total > cap + len(data):
        size = max(xml, total)
        raise LoadLimitError(
            name,
            f"Word 文件解压后过大（{size / MB:.0f} MB，正文 XML 上限 {limits.docx_xml_mb:g} MB），"
            "可能是压缩炸弹；请另存为较小的文件或拆分后上传",
            f"the Word file unpacks to too much ({size / MB:.0f} MB; the XML limit is "
            f"{limits.docx_xml_mb:g} MB): it may be a zip bomb; save it smaller or split it",
        )


def load(path: Path, data: bytes, limits: LoadLimits) -> LoadedText:
    """Word (.docx): paragraphs with their numbering, headings and tables, in order."""
    name = str(path)
    if not zipfile.is_zipfile(io.BytesIO(data)):
        if data.startswith(_OLE_MAGIC):
            raise CorruptFileError(
                name,
                "不是 .docx 文件：这是旧版 Word（.doc）或加密的文档，请另存为未加密的 .docx",
                "not a .docx file: it is an old Word .doc or an encrypted document; "
                "save it as an unencrypted .docx",
            )
        raise CorruptFileError(
            name,
            "不是有效的 Word（.docx）文件，可能已损坏或后缀有误",
            "not a valid Word (.docx) file: damaged or misnamed",
        )
    try:
        check_unpacked_size(name, data, limits)
    except (zipfile.BadZipFile, ValueError) as exc:
        raise CorruptFileError(
            name,
            "不是有效的 Word（.docx）文件，可能已损坏或后缀有误",
            f"not a valid Word (.docx) file ({type(exc).__name__}: {exc})",
        ) from None
    import docx

    try:
        document = docx.Document(io.BytesIO(data))
    except MemoryError:
        raise
    except Exception as exc:  # python-docx raises KeyError, ValueError, … on a bad package
        raise CorruptFileError(
            name,
            "不是有效的 Word（.docx）文件，可能已损坏或后缀有误",
            f"not a valid Word (.docx) file ({type(exc).__name__}: {exc})",
        ) from None
    lines = list(docx_lines(document))
    return LoadedText("\n".join(lines) + "\n" if lines else "")
