"""Loaders for Word (.docx), PDF and saved web pages (.html), registered with `documents.py`.

Each writes its file out as lines the segmenter reads as structure (一、 / （一） / 第一条 / 第一章
opening a line) and keeps tables inside their section, one row per line, cells joined by " | ".

- Word: paragraphs and tables in document order. Word's automatic numbering is not part of a
  paragraph's text, so it is written out ("一、", "（一）", "第一条"); a Word heading whose text
  carries no Chinese numbering is marked as a Markdown heading, so it still opens a section.
- PDF with a text layer: lines in reading order, lines wrapped by the page joined back into
  paragraphs, running headers, footers and page numbers dropped, ruled tables kept whole. The
  offset where each page begins is returned, so a citation can say 第N页.
- Web pages saved from a government site: the article only, without navigation, header,
  footer, scripts or share bars. The page's info table (索引号, 发文机关, 发文字号, 成文日期,
  发布日期) gives the metadata and stays at the top of the text, so those facts can be quoted.

Before a parser builds anything, each loader checks what a crafted file would use to exhaust
time or memory, against `LoadLimits`: a PDF's page count, the size a Word file's XML unpacks
to (a few hundred kilobytes can expand to gigabytes), and how deeply and how many elements a
web page nests (the article finder's cost grows with depth times size).

The parsers are imported when a file of their type is loaded, not with the package.
"""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from statistics import median
from typing import Any

from assistant.errors import CorruptFileError, EncryptedFileError, LoadLimitError, NoTextLayerError
from assistant.ingest.decoding import decode
from assistant.ingest.loading import MB, LoadedText, LoadLimits, register
from assistant.ingest.metadata import normalize_date
from assistant.ingest.segmenting import heading_rank

CELL_SEPARATOR = " | "


def _wide(ch: str) -> bool:
    """A Chinese character or full-width mark: text around it needs no spaces."""
    return unicodedata.east_asian_width(ch) in "WF"


def joined(left: str, right: str) -> str:
    """Two pieces of one wrapped line: no space between Chinese characters, one between words."""
    if not left or not right:
        return left + right
    return left + right if _wide(left[-1]) or _wide(right[0]) else f"{left} {right}"


def table_row(cells: list[str]) -> str:
    """One table row as a line; a cell wrapped over several lines is joined back together."""
    texts = []
    for cell in cells:
        text = ""
        for piece in cell.splitlines():
            text = joined(text, piece.strip())
        if text:
            texts.append(text)
    return CELL_SEPARATOR.join(texts)


# -- Word ------------------------------------------------------------------------------------

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
    return label + ("\u3000" if _wide(label[-1]) else " ") + text


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


@register(".docx")
def load_docx(path: Path, data: bytes, limits: LoadLimits) -> LoadedText:
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


# -- PDF -------------------------------------------------------------------------------------

_PAGE_NUMBER = re.compile(
    r"^[-－—–~～·\s]*(?:第\s*\d+\s*页(?:\s*[,，/]?\s*共\s*\d+\s*页)?"
    r"|共\s*\d+\s*页\s*[,，/]?\s*第\s*\d+\s*页|\d+\s*/\s*\d+|(?:page|p\.)\s*\d+(?:\s*(?:of|/)\s*\d+)?"
    r"|\d{1,4})[-－—–~～·\s]*$",
    re.I,
)
_EDGE_LINES = 2  # running headers and footers sit within this many lines of a page's edge
_RUNNING_MAX = 60  # and are short
_UNREADABLE = "(cid:"  # what pdfminer gives for a glyph its font cannot map to a character


@dataclass
class _Line:
    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    row: bool = False  # a table row: a line of its own, never joined to its neighbours


@dataclass
class _Page:
    lines: list[_Line] = field(default_factory=list)
    chars: int = 0
    unreadable: int = 0


def _inside(obj: dict[str, Any], boxes: list[tuple[float, float, float, float]]) -> bool:
    cx, cy = (obj["x0"] + obj["x1"]) / 2, (obj["top"] + obj["bottom"]) / 2
    return any(x0 <= cx <= x1 and top <= cy <= bottom for x0, top, x1, bottom in boxes)


def _read_page(page: Any) -> _Page:
    tables = page.find_tables()
    boxes = [t.bbox for t in tables]
    text_page = (
        page.filter(lambda o: o.get("object_type") != "char" or not _inside(o, boxes))
        if boxes
        else page
    )
    lines = [
        _Line(line["text"], line["x0"], line["x1"], line["top"], line["bottom"])
        for line in text_page.extract_text_lines(return_chars=False)
        if line["text"].strip()
    ]
    for table in tables:
        for row, cells in zip(table.rows, table.extract(), strict=False):
            text = table_row([c or "" for c in cells])
            if text:
                x0, top, x1, bottom = row.bbox
                lines.append(_Line(text, x0, x1, top, bottom, row=True))
    lines.sort(key=lambda line: (round(line.top), line.x0))
    chars = page.chars
    return _Page(lines, len(chars), sum(1 for c in chars if c["text"].startswith(_UNREADABLE)))


def _shape(text: str) -> str:
    """A line with its numbers blanked: "第3页" and "第4页" are the same running line."""
    return re.sub(r"\s+", "", re.sub(r"\d+", "#", text))


def drop_running_lines(pages: list[_Page]) -> None:
    """Remove page numbers, and lines repeated at the top or bottom of most pages."""
    seen: Counter[tuple[str, str]] = Counter()
    for page in pages:
        body = [line for line in page.lines if not line.row]
        keys = {("top", _shape(line.text)) for line in body[:_EDGE_LINES]}
        keys |= {("bottom", _shape(line.text)) for line in body[-_EDGE_LINES:]}
        seen.update(k for k in keys if len(k[1]) <= _RUNNING_MAX)
    running = {k for k, n in seen.items() if len(pages) > 1 and n >= 2 and n >= len(pages) / 2}
    for page in pages:
        body = [line for line in page.lines if not line.row]
        edges = [("top", line) for line in body[:_EDGE_LINES]]
        edges += [("bottom", line) for line in body[-_EDGE_LINES:]]
        drop = {
            id(line)
            for where, line in edges
            if _PAGE_NUMBER.match(line.text) or (where, _shape(line.text)) in running
        }
        page.lines = [line for line in page.lines if id(line) not in drop]


@dataclass(frozen=True)
class _Layout:
    """The body's measures: where lines start and end, and the size of a character."""

    left: float
    right: float
    size: float

    @property
    def center(self) -> float:
        return (self.left + self.right) / 2

    @classmethod
    def of(cls, lines: list[_Line]) -> _Layout:
        size = median(line.bottom - line.top for line in lines) or 10.0
        left = Counter(round(line.x0) for line in lines).most_common(1)[0][0]
        ends = sorted(line.x1 for line in lines)
        return cls(float(left), ends[int(0.9 * (len(ends) - 1))], size)

    def continues(self, prev: _Line, line: _Line, same_page: bool) -> bool:
        """Whether `line` goes on with the paragraph `prev` ended, wrapped by the page."""
        if prev.row or line.row or heading_rank(line.text) is not None:
            return False
        height, prev_height = line.bottom - line.top, prev.bottom - prev.top
        if abs(height - prev_height) > 0.2 * self.size:  # a change of type size
            return False
        em = max(height, self.size)
        if same_page and line.top - prev.bottom > 0.8 * em:  # spacing between paragraphs
            return False
        if prev.x1 < self.right - 2 * em:  # the line above ended short of the margin
            return False
        if line.x0 > self.left + 0.8 * self.size:
            # Indented or centred, a line starts a paragraph; unless it is the second line
            # of a display line set larger and centred (a long title).
            return height > 1.2 * self.size and abs((line.x0 + line.x1) / 2 - self.center) < em
        return True


def reflow(pages: list[_Page]) -> tuple[str, tuple[int, ...]]:
    """The pages' lines as text, wrapped lines joined; and the offset where each page begins."""
    body = [line for page in pages for line in page.lines if not line.row]
    layout = _Layout.of(body) if body else _Layout(0.0, 0.0, 10.0)
    parts: list[str] = []
    length = 0
    starts: list[int] = []
    prev: _Line | None = None
    prev_page = -1
    for number, page in enumerate(pages):
        starts.append(-1)
        for line in page.lines:
            if prev is None:
                sep = ""
            elif layout.continues(prev, line, number == prev_page):
                sep = joined(prev.text[-1:], line.text[:1])[1:-1]
            else:
                sep = "\n"
            parts.append(sep)
            length += len(sep)
            if starts[-1] < 0:
                starts[-1] = length
            parts.append(line.text)
            length += len(line.text)
            prev, prev_page = line, number
    following = length
    for i in range(len(starts) - 1, -1, -1):  # a page without text begins where the next does
        if starts[i] < 0:
            starts[i] = following
        following = starts[i]
    return "".join(parts) + "\n", tuple(starts)


def _page_count(pdf: Any, cap: int) -> int:
    """How many pages the PDF has, counting no further than one past `cap`.

    The count the page tree declares is read first, without walking the pages; the pages
    are then walked up to the cap anyway, since a crafted tree may understate its count.
    """
    from itertools import islice

    from pdfminer.pdfpage import PDFPage
    from pdfminer.pdftypes import resolve1

    try:
        declared = resolve1(resolve1(pdf.doc.catalog.get("Pages")).get("Count"))
    except Exception:  # a damaged tree: the walk below counts what there is
        declared = None
    if isinstance(declared, int) and declared > cap:
        return declared
    return sum(1 for _ in islice(PDFPage.create_pages(pdf.doc), cap + 1))


@register(".pdf")
def load_pdf(path: Path, data: bytes, limits: LoadLimits) -> LoadedText:
    """PDF with a text layer: paragraphs in reading order, page furniture removed, pages kept."""
    name = str(path)
    if b"%PDF-" not in data[:1024]:
        raise CorruptFileError(
            name,
            "不是 PDF 文件（缺少 PDF 文件头），可能已损坏或后缀有误",
            "not a PDF file (no %PDF header): damaged or misnamed",
        )
    import pdfplumber
    from pdfminer.pdfdocument import PDFEncryptionError
    from pdfminer.psexceptions import PSException
    from pdfplumber.utils.exceptions import PdfminerException

    cap = limits.pdf_pages
    try:
        pdf = pdfplumber.open(io.BytesIO(data))
        count = _page_count(pdf, cap)
        if count > cap:
            # Refused without closing: closing makes pdfplumber list every page, and the
            # stream is ours to drop.
            # A walk stops one page past the cap: then the count is "over the cap".
            zh, en = (
                (f"{count} 页", f"{count}")
                if count > cap + 1
                else (f"超过 {cap} 页", f"over {cap}")
            )
            raise LoadLimitError(
                name,
                f"PDF 页数过多（{zh}，上限 {cap} 页）；请拆分后分别上传",
                f"the PDF has too many pages ({en}, limit {cap}); split it and upload the parts",
            )
        with pdf:
            pages = [_read_page(page) for page in pdf.pages]
    except (PdfminerException, PSException) as exc:
        cause = exc.args[0] if isinstance(exc, PdfminerException) and exc.args else exc
        if isinstance(cause, PDFEncryptionError):
            raise EncryptedFileError(
                name,
                "PDF 设有打开密码，无法读取；请提供未加密的版本",
                "the PDF needs a password to open; provide an unencrypted copy",
            ) from None
        raise CorruptFileError(
            name,
            f"PDF 文件已损坏，无法解析（{type(cause).__name__}）",
            f"the PDF is damaged and cannot be parsed ({type(cause).__name__}: {cause})",
        ) from None
    chars = sum(p.chars for p in pages)
    if not any(p.lines for p in pages):
        raise NoTextLayerError(
            name,
            "PDF 中没有可提取的文字（可能是扫描件）；请提供带文字的版本，或先做文字识别（OCR）",
            "the PDF has no text layer (a scanned image?); provide a text PDF or run OCR first",
        )
    if sum(p.unreadable for p in pages) > chars / 2:
        raise NoTextLayerError(
            name,
            "PDF 中的文字无法解码（字体缺少字符映射）；请提供其他版本，或先做文字识别（OCR）",
            "the PDF's text cannot be decoded (its fonts map no characters); "
            "provide another copy or run OCR",
        )
    drop_running_lines(pages)
    text, starts = reflow(pages)
    return LoadedText(text, pages=starts)


# -- HTML ------------------------------------------------------------------------------------

_INFO_LABELS = {
    "索引号": "index_number",
    "发文机关": "issuer",
    "发布机构": "issuer",
    "发布机关": "issuer",
    "发文单位": "issuer",
    "发布单位": "issuer",
    "发文字号": "doc_number",
    "文号": "doc_number",
    "成文日期": "date",
    "发文日期": "date",
    "发布日期": "publish_date",
    "发布时间": "publish_date",
    "标题": "title",
    "名称": "title",
    "文件名称": "title",
    "公开方式": "disclosure",
    "公开属性": "disclosure",
    "有效性": "status",
    "效力状态": "status",
    "时效性": "status",
    "生效日期": "effective_date",
    "施行日期": "effective_date",
    "实施日期": "effective_date",
}
_DATE_KEYS = {"date", "publish_date", "effective_date"}
_LABELLED = re.compile(r"^([^：:]{1,10})[：:]\s*(.*)$", re.S)
# Containers that government content systems (UCAP, TRS, …) put the article in.
_CONTENT_SELECTORS = (
    "#UCAP-CONTENT",
    ".pages_content",
    ".TRS_Editor",
    "#zoom",
    ".article-content",
    ".article_content",
    "#content",
    ".content",
    "article",
    "main",
    "[role=main]",
)
_NOISE_TAGS = (
    "script",
    "style",
    "noscript",
    "template",
    "iframe",
    "form",
    "button",
    "input",
    "select",
    "textarea",
    "nav",
    "header",
    "footer",
    "aside",
    "svg",
    "object",
    "embed",
    "link",
    "meta",
)
_NOISE_NAMES = re.compile(
    r"nav|menu|breadcrumb|crumb|footer|header|share|bdshare|toolbar|"
    r"sidebar|topbar|print|font-?size|copyright|qrcode|erweima|related|"
    r"weizhi|location",
    re.I,
)
_NOISE_MAX = 500  # a share bar or a breadcrumb is short; a long block named so is kept
_CHROME_LINE = re.compile(
    r"^(?:【?\s*字[体號号]\s*[：:].*|打印本页|打印|关闭窗口|关闭|分享到[：:]?.*|"
    r"扫一扫.*|返回顶部|收藏|[【\[]?\s*[大中小]\s*[】\]]?)$"
)
_BLOCKS = {
    "p",
    "div",
    "section",
    "article",
    "main",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "li",
    "ul",
    "ol",
    "dl",
    "dt",
    "dd",
    "table",
    "tbody",
    "thead",
    "tfoot",
    "tr",
    "td",
    "th",
    "blockquote",
    "pre",
    "center",
    "hr",
    "figure",
    "figcaption",
    "address",
    "caption",
}
_LINE_BREAK = re.compile(r"[ \t\r\f\xa0]*\n[ \t\r\n\f\xa0]*")
_SPACES = re.compile(r"[ \t\r\n\f\xa0]+")
_SPACES_ALL = re.compile(r"[\s\u3000]+")
_SAVED_FROM = re.compile(r"<!--\s*saved from url=\(\d+\)(\S+?)\s*-->", re.I)


def _squash(text: str) -> str:
    """Source whitespace as a browser shows it, except that a line break in the source
    between Chinese characters is no space at all."""

    def line_break(m: re.Match[str]) -> str:
        before = text[m.start() - 1] if m.start() else ""
        after = text[m.end()] if m.end() < len(text) else ""
        return "" if (before and _wide(before)) or (after and _wide(after)) else " "

    return _SPACES.sub(" ", _LINE_BREAK.sub(line_break, text))


def _is_data_table(table: Any) -> bool:
    """A table of data, not one that lays out the page: no nested table, no long cells."""
    cells = table.find_all(["td", "th"])
    return (
        bool(cells)
        and table.find("table") is None
        and all(len(c.get_text(strip=True)) <= 300 for c in cells)
    )


def html_lines(element: Any) -> list[str]:
    """The text of an element as lines: one per block (paragraph, heading, table row…)."""
    from bs4.element import NavigableString, PreformattedString, Tag

    lines: list[str] = []
    current: list[str] = []

    def flush() -> None:
        text = _squash("".join(current)).strip(" \u3000")
        if text:
            lines.append(text)
        current.clear()

    def walk(node: Any) -> None:
        for child in node.children:
            if isinstance(child, NavigableString):
                if not isinstance(child, PreformattedString):  # comments, doctypes
                    current.append(str(child))
            elif isinstance(child, Tag):
                if child.name == "br":
                    flush()
                elif child.name == "table" and _is_data_table(child):
                    flush()
                    for tr in child.find_all("tr"):
                        cells = tr.find_all(["td", "th"], recursive=False)
                        row = table_row(["\n".join(html_lines(c)) for c in cells])
                        if row:
                            lines.append(row)
                elif child.name in _BLOCKS:
                    flush()
                    walk(child)
                    flush()
                else:
                    walk(child)

    walk(element)
    flush()
    return lines


@dataclass
class _Info:
    """What a page's info table says: (key, label as shown, value), in page order."""

    pairs: list[tuple[str, str, str]] = field(default_factory=list)
    elements: list[Any] = field(default_factory=list)  # to take out of the article


def _label_key(text: str) -> str | None:
    return _INFO_LABELS.get(re.sub(r"[\s\u3000:：]", "", text))


def _pairs(cells: list[str]) -> list[tuple[str, str, str]]:
    """(key, label, value) in a table row: "索引号：" then its value, or "索引号：值" in one cell."""
    found = []
    i = 0
    while i < len(cells):
        m = _LABELLED.match(cells[i])
        label, value = (m.group(1), m.group(2).strip()) if m else (cells[i], "")
        key = _label_key(label)
        if key and value:
            found.append((key, label, value))
        elif key and i + 1 < len(cells) and not _label_key(cells[i + 1].rstrip(":：")):
            found.append((key, label, cells[i + 1]))
            i += 1
        i += 1
    return found


def _holding_no_block(soup: Any, names: tuple[str, ...]) -> list[Any]:
    """The elements of these names with no block element inside them, in page order.

    Found in one pass from the innermost elements outwards; asking each element for a block
    inside it would search its whole subtree, which on a deeply nested page is quadratic.
    """
    elements = soup.find_all(True)
    holding: set[int] = set()
    for element in reversed(elements):  # an element's descendants come after it
        if (element.name in _BLOCKS or id(element) in holding) and element.parent is not None:
            holding.add(id(element.parent))
    return [el for el in elements if el.name in names and id(el) not in holding]


def info_table(soup: Any) -> _Info:
    """The page's info table: the table (or list) with the most known labels, if it has two."""
    best = _Info()
    for table in soup.find_all("table"):
        info = _Info(elements=[table])
        for tr in table.find_all("tr"):
            cells = tr.find_all(["td", "th"], recursive=False)
            texts = [_squash(c.get_text(" ")).strip(" \u3000") for c in cells]
            info.pairs += _pairs(texts)
        if len(info.pairs) > len(best.pairs):
            best = info
    if len(best.pairs) < 2:
        # Some sites list the same facts as items ("<li><span>索引号：</span>QA…</li>"):
        # each is one block holding both label and value.
        items = _Info()
        for el in _holding_no_block(soup, ("li", "p", "dt", "dd", "div", "span")):
            m = _LABELLED.match(_squash(el.get_text(" ")).strip(" \u3000"))
            key = _label_key(m.group(1)) if m else None
            if m and key and m.group(2).strip():
                items.pairs.append((key, m.group(1), m.group(2).strip()))
                items.elements.append(el)
        if len(items.pairs) > len(best.pairs):
            best = items
    if len(best.pairs) < 2:
        return _Info()
    first: dict[str, tuple[str, str, str]] = {}
    for pair in best.pairs:
        first.setdefault(pair[0], pair)  # a label given twice: the first one stands
    best.pairs = list(first.values())
    return best


def _meta(soup: Any, *names: str) -> str:
    for name in names:
        tag = soup.find("meta", attrs={"name": name}) or soup.find("meta", attrs={"property": name})
        if tag and tag.get("content", "").strip():
            return str(tag["content"]).strip()
    return ""


def _page_title(soup: Any) -> str:
    title = _meta(soup, "ArticleTitle", "og:title")
    if title:
        return title
    for h1 in soup.find_all("h1"):
        if h1.find_parent(["header", "nav", "footer"]) is None and h1.get_text(strip=True):
            return _squash(h1.get_text(" ")).strip()
    if soup.title and soup.title.get_text(strip=True):
        # "标题_国务院文件_中国政府网": the site's name follows the page's.
        return re.split(r"\s*[_|｜]\s*|\s+-\s+", soup.title.get_text(strip=True))[0]
    return ""


def _noisy(element: Any) -> bool:
    names = " ".join([str(element.get("id") or ""), *(element.get("class") or [])])
    return (
        bool(names.strip())
        and bool(_NOISE_NAMES.search(names))
        and len(element.get_text(strip=True)) <= _NOISE_MAX
    )


def _remove_noise(root: Any) -> None:
    for tag in root.find_all(_NOISE_TAGS):
        tag.decompose()
    # Elements come in document order, so an element's ancestors are judged before it; one
    # inside an element already taken goes with it. (bs4's `decomposed` looks for a child tag
    # of that name when the flag is unset: asking it of every element is quadratic.)
    taken: list[Any] = []
    inside: set[int] = set()
    for element in root.find_all(True):
        if id(element.parent) in inside:
            inside.add(id(element))
        elif _noisy(element):
            taken.append(element)
            inside.add(id(element))
    for element in taken:
        element.decompose()


def _article(soup: Any) -> Any:
    """The element that holds the article: a known content container, else the densest."""
    for selector in _CONTENT_SELECTORS:
        found = soup.select_one(selector)
        if found is not None and len(found.get_text(strip=True)) >= 50:
            _remove_noise(found)
            return found
    _remove_noise(soup)
    best, best_score = soup.body or soup, 0
    for element in soup.find_all(["div", "td", "section", "article", "main"]):
        score = sum(len(p.get_text(strip=True)) for p in element.find_all("p", recursive=False))
        score += sum(len(s.strip()) for s in element.find_all(string=True, recursive=False))
        if score > best_score:
            best, best_score = element, score
    return best


_SCAN_STEP = 1 << 16


def check_html_shape(name: str, markup: str, limits: LoadLimits) -> None:
    """Refuse a page that nests deeper, or holds more elements, than the limits.

    lxml's event parser counts in one linear pass, in C, with the same HTML rules as the
    parser that builds the page afterwards; elements are cleared as they close, so the count
    costs little memory.
    """
    from lxml import etree

    # huge_tree lifts libxml2's own depth cap (256), which would stop the count at the cap.
    parser = etree.HTMLPullParser(events=("start", "end"), huge_tree=True, encoding="utf-8")
    raw = markup.encode("utf-8", errors="replace")
    depth = deepest = count = 0
    for at in range(0, len(raw) + _SCAN_STEP, _SCAN_STEP):
        stopped = False
        try:
            if at < len(raw):
                parser.feed(raw[at : at + _SCAN_STEP])
            else:
                parser.close()
        except etree.LxmlError:
            # libxml2 gave up (even its raised depth cap is finite): the events up to there
            # are judged; what cannot be parsed at all is for the page parser to report.
            stopped = True
        for event, element in parser.read_events():
            if event == "start":
                depth += 1
                count += 1
                deepest = max(deepest, depth)
            else:
                depth -= 1
                element.clear()
        if deepest > limits.html_depth:
            raise LoadLimitError(
                name,
                f"网页元素嵌套过深（超过 {limits.html_depth} 层），可能是恶意构造的页面；"
                "请另存为纯文本或从原网站重新保存",
                f"the page nests its elements too deeply (over {limits.html_depth} levels): it "
                "may be crafted; save it as text or save it again from its site",
            )
        if count > limits.html_elements:
            raise LoadLimitError(
                name,
                f"网页元素过多（超过 {limits.html_elements} 个）；请只保存正文部分或另存为纯文本",
                f"the page holds too many elements (over {limits.html_elements}); save only "
                "the article or save it as text",
            )
        if stopped:
            return


@register(".html", ".htm", ".shtml", ".xhtml")
def load_html(path: Path, data: bytes, limits: LoadLimits) -> LoadedText:
    """A web page saved from a government site: its article, and its info table as metadata."""
    from bs4 import BeautifulSoup

    markup = decode(data, str(path))
    check_html_shape(str(path), markup, limits)
    soup = BeautifulSoup(markup, "lxml")
    for tag in soup.find_all(["script", "style", "noscript", "template"]):
        tag.decompose()
    info = info_table(soup)
    meta: dict[str, str] = {}
    for key, _, value in info.pairs:
        meta.setdefault(key, normalize_date(value) if key in _DATE_KEYS else value)
    if "date" not in meta and "publish_date" in meta:
        meta["date"] = meta["publish_date"]  # no 成文日期 given: the page's date is its own
    title = meta.get("title") or _page_title(soup)
    if title:
        meta["title"] = title
    source = _meta(soup, "og:url", "url") or next(
        (
            str(link.get("href"))
            for link in soup.find_all("link", rel="canonical")
            if link.get("href")
        ),
        "",
    )
    saved = _SAVED_FROM.search(markup[:2000])
    if source or saved:
        meta["source_url"] = source or (saved.group(1) if saved else "")
    for element in info.elements:
        element.decompose()
    lines = [line for line in html_lines(_article(soup)) if not _CHROME_LINE.match(line)]
    if lines and lines[0] == title:
        lines = lines[1:]
    head = [title] if title else []
    head += [
        f"{_SPACES_ALL.sub('', label)}：{value}"
        for key, label, value in info.pairs
        if key != "title"
    ]
    return LoadedText("\n".join(head + lines) + "\n" if lines else "", meta)
