"""PDF with a text layer: paragraphs in reading order, page furniture removed, pages kept.

Lines are read in reading order, lines wrapped by the page joined back into paragraphs, running
headers, footers and page numbers dropped, ruled tables kept whole. The offset where each page
begins is returned, so a citation can say 第N页.

Before any page is parsed, the page count is checked against `LoadLimits`. pdfplumber is
imported when a PDF is loaded, not with the package.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from statistics import median
from typing import Any

from assistant.errors import CorruptFileError, EncryptedFileError, LoadLimitError, NoTextLayerError
from assistant.ingest.loaders.common import LoadedText, LoadLimits, joined, table_row
from assistant.ingest.segmenting import heading_rank

_PAGE_NUMBER = re.compile(
    r"^[-－—–~～·\s]*(?:第\s*\d+\s*页(?:\s*[,，/]?\s*共\s*\d+\s*页)?"
    r"|共\s*\d+\s*页\s*[,，/]?\s*第\s*\d+\s*页|\d+\s*/\s*\d+|(?:page|p\.)\s*\d+(?:\s*(?:of|/)\s*\d+)?"
    r"|\d{1,4})[-－—–~～·\s]*$",
    re.I,
)
_EDGE_LINES = 2  # running headers and footers sit within this many lines of a page's edge
_RUNNING_MAX = 60  # and are short
_UNREADABLE = "(cid:"  # what pdfminer gives for a glyph its font cannot map to a character
_SENTENCE_END = set("。！？；!?;")
_UNBREAKABLE = re.compile(r"[0-9A-Za-z][0-9A-Za-z\-.:/@_%]*")  # a number, code or address


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
    """The body's measures: where lines start and end, the size of a character, the space
    between the lines of a paragraph, and whether paragraphs open with an indent."""

    left: float
    right: float
    size: float
    leading: float = 0.0  # the usual gap between one line's bottom and the next one's top
    indented: bool = False

    @property
    def center(self) -> float:
        return (self.left + self.right) / 2

    @classmethod
    def of(cls, lines: list[_Line], pages: list[list[_Line]] | None = None) -> _Layout:
        size = median(line.bottom - line.top for line in lines) or 10.0
        left = Counter(round(line.x0) for line in lines).most_common(1)[0][0]
        ends = sorted(line.x1 for line in lines)
        # Wide line spacing (14pt type on a 26pt pitch) is the body's, not a paragraph break:
        # the smaller gaps between lines of one size are the spacing inside paragraphs.
        gaps = sorted(
            b.top - a.bottom
            for page in pages or [lines]
            for a, b in pairwise(page)
            if abs((b.bottom - b.top) - (a.bottom - a.top)) <= 0.2 * size and b.top >= a.bottom
        )
        leading = gaps[len(gaps) // 4] if gaps else 0.0
        # Paragraphs open two characters in, when a document indents them.
        opening = sum(1 for line in lines if abs(line.x0 - left - 2 * size) <= 0.5 * size)
        return cls(float(left), ends[int(0.9 * (len(ends) - 1))], size, leading, opening >= 2)

    def continues(self, prev: _Line, line: _Line, same_page: bool) -> bool:
        """Whether `line` goes on with the paragraph `prev` ended, wrapped by the page."""
        if prev.row or line.row or heading_rank(line.text) is not None:
            return False
        height, prev_height = line.bottom - line.top, prev.bottom - prev.top
        if abs(height - prev_height) > 0.2 * self.size:  # a change of type size
            return False
        em = max(height, self.size)
        if same_page and line.top - prev.bottom > max(0.8 * em, self.leading + 0.5 * em):
            return False  # spacing between paragraphs, wider than between their lines
        if prev.x1 < self.right - 2 * em and not self._too_wide(line, self.right - prev.x1):
            # The line above ended short of the margin, and not because a number or a
            # word that cannot be broken ("021-0000-0401") went on to the next line.
            return False
        if line.x0 > self.left + 0.8 * self.size:
            # Indented or centred, a line starts a paragraph; unless it is the second line
            # of a display line set larger and centred (a long title).
            return height > 1.2 * self.size and abs((line.x0 + line.x1) / 2 - self.center) < em
        if prev.text.rstrip()[-1:] in _SENTENCE_END and not self.indented:
            # Without indents, only the end of a sentence tells a new paragraph from a
            # wrapped line; where paragraphs are indented, a line at the margin goes on.
            return False
        return True

    def _too_wide(self, line: _Line, room: float) -> bool:
        """Whether the unbreakable word `line` opens would not fit in `room` on the line above."""
        word = _UNBREAKABLE.match(line.text)
        if word is None or not line.text:
            return False
        per_char = (line.x1 - line.x0) / sum(_width(ch) for ch in line.text)
        return sum(_width(ch) for ch in word.group(0)) * per_char > room


def _width(ch: str) -> float:
    """A character's width in ems: Latin letters and digits are half as wide as Chinese."""
    return 0.5 if ord(ch) < 0x2E80 else 1.0


def reflow(pages: list[_Page]) -> tuple[str, tuple[int, ...]]:
    """The pages' lines as text, wrapped lines joined; and the offset where each page begins."""
    body = [line for page in pages for line in page.lines if not line.row]
    paged = [[line for line in page.lines if not line.row] for page in pages]
    layout = _Layout.of(body, paged) if body else _Layout(0.0, 0.0, 10.0)
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


def load(path: Path, data: bytes, limits: LoadLimits) -> LoadedText:
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
