"""PDF lines wrapped by the page are joined back into their paragraph, however widely spaced.

The PDFs are drawn here with reportlab in STSong-Light, line by line at fixed positions, so
each wrap falls exactly where a layout engine would put it: inside a word, at the margin. Their
text is FICTIONAL, labelled （虚构示例，仅供测试）.
"""

from __future__ import annotations

from pathlib import Path

from assistant.ingest.loaders import pdf
from assistant.ingest.loaders.common import LoadLimits

FICTIONAL = "（虚构示例，仅供测试）"
LEFT, WIDTH = 72.0, 448.0  # 32 characters of 14pt type; 16 of them indent the first line


def _wrap(text: str, size: float, indent: bool) -> list[tuple[float, str]]:
    """The lines a paragraph of Chinese text fills, wrapped at the margin wherever it falls."""
    per_line = int(WIDTH // size)
    lines, first = [], 2 if indent else 0
    while text:
        room = per_line - first
        lines.append((LEFT + first * size, text[:room]))
        text, first = text[room:], 0
    return lines


def _write(path: Path, paragraphs: list[tuple[str, bool]], size: float, pitch: float) -> bytes:
    """A one-page PDF: (text, indented) paragraphs set at `size` on a `pitch` line spacing."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    page = canvas.Canvas(str(path))
    page.setFont("STSong-Light", size)
    y = 760.0
    for text, indented in paragraphs:
        for x, line in _wrap(text, size, indented):
            page.drawString(x, y, line)
            y -= pitch
    page.showPage()
    page.save()
    return path.read_bytes()


def _text(path: Path, data: bytes) -> list[str]:
    return pdf.load(path, data, LoadLimits()).text.splitlines()


# 30 characters fill the first, indented line: the page breaks it inside 流片费用.
FIRST_LINE = "对在本区完成集成电路设计并首次流片的企业，按照实际发生的流片"
TAPE_OUT = (
    FIRST_LINE + "费用给予补贴，单个企业每年最高不超过二百万元，补贴资金分两期拨付到企业账户。"
)
ITEMS_INTRO = "申请补贴的企业应当同时具备下列各项条件并向区科委提交材料如下"  # to the margin


def test_a_line_wrapped_inside_a_word_is_joined_though_the_lines_are_widely_spaced(
    tmp_path: Path,
) -> None:
    assert len(FIRST_LINE) == 30 and len(ITEMS_INTRO) == 30
    paragraphs = [
        ("一、支持内容", False),
        (TAPE_OUT, True),
        ("本文件为虚构的开发测试材料" + FICTIONAL + "，不是真实政策。", True),
        (ITEMS_INTRO, True),
        ("（一）在本区依法登记注册并正常经营满一年；", False),
        ("（二）上年度研发投入不低于五百万元。", False),
    ]
    path = tmp_path / "wide.pdf"
    lines = _text(path, _write(path, paragraphs, size=14, pitch=26))  # 14pt type, 26pt pitch
    assert TAPE_OUT in lines and "流片费用" in "".join(lines)
    assert lines[0] == "一、支持内容"  # a heading is not joined to the paragraph below it
    # A list item opens its own line, even after a line that runs to the margin.
    at = lines.index(ITEMS_INTRO)
    assert lines[at + 1 : at + 3] == [
        "（一）在本区依法登记注册并正常经营满一年；",
        "（二）上年度研发投入不低于五百万元。",
    ]


def test_without_indents_a_sentence_end_at_the_margin_ends_the_paragraph(tmp_path: Path) -> None:
    ends_at_margin = (
        "本区对首次认定的高新技术企业给予一次性奖励，奖励资金由区财政安排，"
        "经区科委审核并在区政府网站公示无异议后，按年度拨付到企业账户。"
    )
    goes_on = "企业应当在认定结果公布之日起三个月内提交申请，逾期未提交申请的视为自动放弃本年度奖励"
    paragraphs = [
        (ends_at_margin, False),
        (goes_on + "资格。", False),
        ("联系部门：区科委产业科" + FICTIONAL + "。", False),
    ]
    assert len(ends_at_margin) % 32 == 0 and len(goes_on) > 32
    path = tmp_path / "blocks.pdf"
    lines = _text(path, _write(path, paragraphs, size=14, pitch=26))
    assert lines == [
        ends_at_margin,
        goes_on + "资格。",
        "联系部门：区科委产业科" + FICTIONAL + "。",
    ]


def test_a_number_too_long_for_the_end_of_a_line_is_joined_to_the_line_it_left(
    tmp_path: Path,
) -> None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    path = tmp_path / "phone.pdf"
    page = canvas.Canvas(str(path))
    page.setFont("STSong-Light", 14)
    body = [
        (LEFT + 28, "本办法自二〇九九年一月一日起施行有效期五年，由区科委负责解释"),
        (LEFT, "各街镇应当按本办法做好政策宣传和服务工作" + FICTIONAL + "。"),
        (LEFT + 28, "联系部门：区科委产业科，联系人：王老师，联系电话："),
        (LEFT, "021-0000-0000。"),
    ]
    for n, (x, line) in enumerate(body):
        page.drawString(x, 760 - 26 * n, line)
    page.showPage()
    page.save()
    lines = _text(path, path.read_bytes())
    assert lines[-1] == "联系部门：区科委产业科，联系人：王老师，联系电话：021-0000-0000。"
