"""Word, PDF and saved web pages: their text, structure, pages and metadata, and clear errors.

Every fixture is written here by the test itself and holds FICTIONAL policy text, labelled
（虚构示例，仅供测试）: a .docx from python-docx with Word numbering, headings and a table, a
multi-page PDF from reportlab with a running header and page numbers (its Chinese text in
STSong-Light, a CJK font every PDF reader knows, so no font file is needed), and a page shaped
like a gov.cn policy page with its info table, navigation, share bar and footer.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from assistant.config import load_settings
from assistant.errors import (
    CorruptFileError,
    DocumentError,
    EncryptedFileError,
    FileTooLargeError,
    NoTextLayerError,
    UnsupportedFormatError,
)
from assistant.ingest.loaders.docx import chinese_number, format_number
from assistant.ingest.loading import load_document
from assistant.ingest.metadata import metadata_from_text, normalize_date
from assistant.ingest.segmenting import build_sections, page_span, segment
from assistant.models import Chunk, Citation
from assistant.serve.runtime import Services

FICTIONAL = "（虚构示例，仅供测试）"
TITLE = f"示例区关于高新技术企业补贴的实施办法{FICTIONAL}"
HEADER = f"示例区科学技术委员会文件{FICTIONAL}"


# -- fixtures: DOCX ----------------------------------------------------------------------------


def _numbering(document: object, levels: list[tuple[str, str]]) -> str:
    """Add a Word list whose levels are (number format, level text); returns its numId."""
    from docx.oxml import parse_xml
    from docx.oxml.ns import nsdecls

    numbering = document.part.numbering_part.element  # type: ignore[attr-defined]
    lvls = "".join(
        f'<w:lvl w:ilvl="{i}"><w:start w:val="1"/><w:numFmt w:val="{fmt}"/>'
        f'<w:lvlText w:val="{text}"/><w:suff w:val="nothing"/></w:lvl>'
        for i, (fmt, text) in enumerate(levels)
    )
    abstract_id = str(90 + len(numbering.xpath("./w:abstractNum")))
    num_id = str(900 + int(abstract_id))
    numbering.insert(
        0,
        parse_xml(
            f'<w:abstractNum {nsdecls("w")} w:abstractNumId="{abstract_id}">{lvls}</w:abstractNum>'
        ),
    )
    numbering.append(
        parse_xml(
            f'<w:num {nsdecls("w")} w:numId="{num_id}"><w:abstractNumId w:val="{abstract_id}"/>'
            "</w:num>"
        )
    )
    return num_id


def _numbered(paragraph: object, num_id: str, level: int) -> None:
    from docx.oxml import parse_xml
    from docx.oxml.ns import nsdecls

    paragraph._p.get_or_add_pPr().append(
        parse_xml(  # type: ignore[attr-defined]
            f'<w:numPr {nsdecls("w")}><w:ilvl w:val="{level}"/><w:numId w:val="{num_id}"/></w:numPr>'
        )
    )


def write_docx(path: Path) -> Path:
    """A fictional district measure: numbered sections, a Word heading, a table, a signature."""
    import docx

    document = docx.Document()
    document.add_paragraph(TITLE, style="Title")
    document.add_paragraph("示科委〔2099〕5号")
    outline = _numbering(document, [("chineseCounting", "%1、"), ("chineseCounting", "（%2）")])
    articles = _numbering(document, [("chineseCounting", "第%1条")])
    for level, text in [
        (0, "支持企业成长"),
        (1, "高企奖励。对首次认定的高新技术企业给予一次性奖励66万元。"),
        (1, "小巨人培育。对认定为科技小巨人企业的给予最高150万元支持。"),
        (0, "支持载体建设"),
        (1, "孵化器。对新认定的市级孵化器给予40万元奖励。"),
    ]:
        _numbered(document.add_paragraph(text), outline, level)
    document.add_paragraph("奖励标准", style="Heading 1")
    table = document.add_table(rows=3, cols=3)
    for r, row in enumerate(
        [
            ("项目", "标准", "说明"),
            ("首次认定", "66万元", "一次性"),
            ("重新认定", "20万元", "一次性"),
        ]
    ):
        for c, text in enumerate(row):
            table.cell(r, c).text = text
    merged = document.add_table(rows=1, cols=3)
    merged.cell(0, 0).merge(merged.cell(0, 1)).text = "合并单元格"
    merged.cell(0, 2).text = "备注"
    document.add_paragraph("附则", style="Heading 1")
    for text in ["本办法由示例区科学技术委员会负责解释。", "本办法自2099年5月1日起施行。"]:
        _numbered(document.add_paragraph(text), articles, 0)
    document.add_paragraph("示例区科学技术委员会")
    document.add_paragraph("2099年4月20日")
    document.save(str(path))
    return path


# -- fixtures: PDF -----------------------------------------------------------------------------


def _pdf_style() -> tuple[object, object]:
    from reportlab.lib.enums import TA_CENTER, TA_JUSTIFY
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    body = ParagraphStyle(
        "body",
        fontName="STSong-Light",
        fontSize=12,
        leading=20,
        firstLineIndent=24,
        alignment=TA_JUSTIFY,
        wordWrap="CJK",
    )
    title = ParagraphStyle(
        "title", parent=body, fontSize=16, leading=26, firstLineIndent=0, alignment=TA_CENTER
    )
    return body, title


FILLER = (
    "各街镇、园区应当做好政策宣传和企业服务工作，及时受理企业申请，按照规定的程序审核，"
    "并将审核结果在政府网站公示，接受社会监督。"
)
LONG_CLAUSE = (
    "第四条　对首次认定的高新技术企业，给予一次性奖励66万元；对重新认定的高新技术企业，"
    "给予一次性奖励20万元。" + "申请奖励的企业应当在本区依法登记注册、依法纳税，"
    "近三年内未发生重大安全、质量事故和严重环境违法行为，"
    "并按照要求如实提交申请材料。" * 3
)
AS_EXTRACTED = LONG_CLAUSE.replace("\u3000", " ")


def write_pdf(path: Path, pages_text: bool = True) -> Path:
    """A fictional measure over three pages: a running header, "- N -" footers, a table, and
    an article that runs from page 1 onto page 2."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Table, TableStyle

    body, title = _pdf_style()

    def furniture(canvas: object, doc: object) -> None:
        canvas.saveState()  # type: ignore[attr-defined]
        canvas.setFont("STSong-Light", 9)  # type: ignore[attr-defined]
        canvas.drawCentredString(A4[0] / 2, A4[1] - 40, HEADER)  # type: ignore[attr-defined]
        canvas.drawCentredString(A4[0] / 2, 30, f"- {doc.page} -")  # type: ignore[attr-defined]
        canvas.restoreState()  # type: ignore[attr-defined]

    story: list[object] = [
        Paragraph(TITLE, title),
        Paragraph("示科委〔2099〕3号", title),
        Paragraph("第一章　总则", title),
        Paragraph("第一条　为支持本区高新技术企业发展，制定本办法。", body),
        Paragraph("第二条　" + FILLER * 3, body),
        Paragraph("第三条　" + FILLER * 4, body),
        Paragraph("第二章　支持措施", title),
    ]
    story += [Paragraph(f"{FILLER}" * 2, body) for _ in range(2)]
    story.append(Paragraph(LONG_CLAUSE, body))
    story.append(Paragraph("第五条　对新获批的市级工程技术研究中心，给予一次性资助80万元。", body))
    story.append(PageBreak())
    story.append(Paragraph("第三章　附则", title))
    table = Table(
        [
            ["项目", "奖励标准", "说明"],
            ["首次认定", "66万元", "一次性"],
            ["重新认定", "20万元", "一次性"],
        ]
    )
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), "STSong-Light"),
                ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
            ]
        )
    )
    story += [
        Paragraph("第六条　奖励标准如下表：", body),
        table,
        Paragraph("第七条　本办法自2099年5月1日起施行。", body),
    ]
    if not pages_text:
        story = [Table([[""]])]
    SimpleDocTemplate(str(path), pagesize=A4, title="").build(
        story, onFirstPage=furniture, onLaterPages=furniture
    )
    return path


def write_canvas_pdf(path: Path, encrypt: object = None, text: str = "第一条　测试内容。") -> Path:
    """A one-page PDF drawn directly: with text, without (a scan has none), or encrypted."""
    from reportlab.pdfgen import canvas

    _pdf_style()
    pdf = canvas.Canvas(str(path), encrypt=encrypt)
    if text:
        pdf.setFont("STSong-Light", 12)
        pdf.drawString(72, 700, text + FICTIONAL)
    else:
        pdf.rect(72, 72, 300, 400, fill=1)  # an image-like page: ink but no text
    pdf.showPage()
    pdf.save()
    return path


# -- fixtures: HTML ----------------------------------------------------------------------------

GOV_PAGE = f"""<!DOCTYPE html>
<!-- saved from url=(0041)https://www.example.gov.cn/zhengce/1.html -->
<html><head><meta charset="utf-8">
<title>示例区关于科技创新券的实施细则{FICTIONAL}_政策文件_示例区政府网</title>
<meta name="ArticleTitle" content="示例区关于科技创新券的实施细则{FICTIONAL}">
<script>var tracker = "第九条 不应出现";</script><style>.x{{color:red}}</style>
</head><body>
<header class="top"><div class="logo">示例区人民政府网</div></header>
<nav><ul><li><a href="/">首页</a></li><li><a href="/zc">政策</a></li></ul></nav>
<div class="BreadcrumbNav">当前位置：首页 &gt; 政策文件</div>
<div class="policyLibraryOverview_header">
<table class="bd1"><tbody>
<tr><td><b>索 引 号：</b></td><td>000014349/2099-00021</td>
    <td><b>主题分类：</b></td><td>科技、教育\\科技</td></tr>
<tr><td><b>发文机关：</b></td><td>示例区科学技术委员会（虚构）</td>
    <td><b>成文日期：</b></td><td>2099年06月18日</td></tr>
<tr><td><b>标　　题：</b></td><td colspan="3">示例区关于科技创新券的实施细则{FICTIONAL}</td></tr>
<tr><td><b>发文字号：</b></td><td>示科委〔2099〕8号</td>
    <td><b>发布日期：</b></td><td>2099年06月20日</td></tr>
</tbody></table></div>
<div class="article">
<h1>示例区关于科技创新券的实施细则{FICTIONAL}</h1>
<div class="share">分享到：<a>微信</a><a>微博</a></div>
<div class="font-size">【字体：<a>大</a> <a>中</a> <a>小</a>】</div>
<div id="UCAP-CONTENT">
<p>各街镇、园区：</p>
<p>　　一、支持对象</p>
<p>　　（一）申请条件。在本区登记注册的科技型中小企业，
可以申请科技创新券。</p>
<p>　　（二）额度。每家企业每年申请的科技创新券额度最高为30万元。</p>
<p>　　二、服务机构</p>
<table border="1"><tr><th>服务类别</th><th>最高额度</th></tr>
<tr><td>检验检测</td><td>10万元</td></tr><tr><td>研发设计</td><td>20万元</td></tr></table>
<p style="text-align:right">示例区科学技术委员会（虚构）</p>
<p style="text-align:right">2099年6月18日</p>
<div class="bdshare">分享到：QQ空间</div>
</div></div>
<footer><p>主办：示例区人民政府办公室　网站标识码：0000000000</p></footer>
<div class="foot-copyright">版权所有：示例区人民政府</div>
</body></html>
"""


def write_html(path: Path) -> Path:
    path.write_text(GOV_PAGE, encoding="utf-8")
    return path


# -- DOCX --------------------------------------------------------------------------------------


def test_docx_numbering_headings_and_tables_come_out_as_lines_the_segmenter_reads(
    tmp_path: Path,
) -> None:
    doc = load_document(write_docx(tmp_path / "measure.docx"), tmp_path)
    lines = doc.text.splitlines()
    assert lines[:4] == [
        TITLE,
        "示科委〔2099〕5号",
        "一、支持企业成长",
        "（一）高企奖励。对首次认定的高新技术企业给予一次性奖励66万元。",
    ]
    assert "（二）小巨人培育。对认定为科技小巨人企业的给予最高150万元支持。" in lines
    assert "二、支持载体建设" in lines
    assert "（一）孵化器。对新认定的市级孵化器给予40万元奖励。" in lines  # restarts under 二、
    assert "# 奖励标准" in lines  # a Word heading without Chinese numbering stays a heading
    assert "首次认定 | 66万元 | 一次性" in lines
    assert "合并单元格 | 备注" in lines  # a merged cell is read once
    assert "第一条本办法由示例区科学技术委员会负责解释。" in lines
    sections = {s.path for s in build_sections(doc.text)}
    assert ("二、支持载体建设", "（一）孵化器") in sections
    table = next(c for c in segment(doc) if "66万元 | 一次性" in c.text)
    assert table.section == "奖励标准"  # the table stays in its section


def test_docx_without_metadata_takes_doc_number_date_and_issuer_from_its_text(
    tmp_path: Path,
) -> None:
    doc = load_document(write_docx(tmp_path / "measure.docx"), tmp_path)
    assert (doc.title, doc.doc_number) == (TITLE, "示科委〔2099〕5号")
    assert doc.metadata == {"date": "2099-04-20", "issuer": "示例区科学技术委员会"}


def test_a_sidecar_gives_metadata_for_a_docx_and_nothing_is_guessed(tmp_path: Path) -> None:
    path = write_docx(tmp_path / "measure.docx")
    (tmp_path / "measure.docx.meta.yaml").write_text(
        "title: 虚构办法\ndoc_number: 示科委〔2099〕6号\ndate: 2099-04-21\n", encoding="utf-8"
    )
    doc = load_document(path, tmp_path)
    assert (doc.title, doc.doc_number) == ("虚构办法", "示科委〔2099〕6号")
    assert doc.metadata == {"date": "2099-04-21"}


# -- PDF ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pdf_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_pdf(tmp_path_factory.mktemp("pdf") / "measure.pdf")


def test_pdf_loses_running_header_and_page_numbers_and_keeps_paragraphs_whole(
    pdf_path: Path,
) -> None:
    doc = load_document(pdf_path, pdf_path.parent)
    assert HEADER not in doc.text
    assert not any(line.strip(" -").isdigit() for line in doc.text.splitlines())
    lines = doc.text.splitlines()
    assert lines[:4] == [
        TITLE,
        "示科委〔2099〕3号",
        "第一章 总则",
        "第一条 为支持本区高新技术企业发展，制定本办法。",
    ]
    # The article that runs over the page break reads as one paragraph, as written (the
    # PDF's text layer holds its full-width space as a plain one).
    assert AS_EXTRACTED in lines
    assert (doc.title, doc.doc_number, doc.metadata) == (TITLE, "示科委〔2099〕3号", {})


def test_pdf_records_where_each_page_begins_and_chunks_carry_their_page(pdf_path: Path) -> None:
    doc = load_document(pdf_path, pdf_path.parent)
    assert len(doc.pages) == 3 and doc.pages[0] == 0
    clause = doc.text.index(AS_EXTRACTED)
    assert clause < doc.pages[1] < clause + len(AS_EXTRACTED)  # page 2 begins inside it
    chunks = segment(doc)
    assert chunks[0].page == 1
    assert next(c for c in chunks if "本办法自2099年5月1日起施行" in c.text).page == 3
    crossing = next(c for c in chunks if c.start < doc.pages[1] < c.end or c.page_breaks)
    quote_on_2 = Citation(1, crossing, "", doc.pages[1], crossing.end)
    assert (crossing.page, quote_on_2.page, quote_on_2.page_label) == (1, 2, "第2页")


def test_pdf_tables_stay_whole_one_row_per_line_in_their_section(pdf_path: Path) -> None:
    doc = load_document(pdf_path, pdf_path.parent)
    lines = doc.text.splitlines()
    at = lines.index("项目 | 奖励标准 | 说明")
    assert lines[at : at + 3] == [
        "项目 | 奖励标准 | 说明",
        "首次认定 | 66万元 | 一次性",
        "重新认定 | 20万元 | 一次性",
    ]
    assert lines[at - 1] == "第六条 奖励标准如下表："
    table = next(c for c in segment(doc) if "首次认定 | 66万元" in c.text)
    assert table.section == "第三章 附则 > 第六条" and table.page == 3


def test_page_span_counts_empty_pages_without_naming_them() -> None:
    assert page_span((), 0, 10) == (None, ())
    assert page_span((0, 100, 100, 250), 120, 300) == (3, (250,))
    assert page_span((0, 100), 50, 150) == (1, (100,))
    chunk = Chunk("d#1", "d", "t", "", "", "x" * 100, 50, 150, page=1, page_breaks=(100,))
    assert [chunk.page_at(o) for o in (50, 99, 100, 149)] == [1, 1, 2, 2]
    assert Chunk.from_record(chunk.to_record()) == chunk


# -- HTML --------------------------------------------------------------------------------------


def test_gov_page_gives_its_article_without_navigation_share_bars_or_footer(tmp_path: Path) -> None:
    doc = load_document(write_html(tmp_path / "notice.html"), tmp_path)
    lines = doc.text.splitlines()
    assert lines[0] == f"示例区关于科技创新券的实施细则{FICTIONAL}"
    for noise in ("首页", "当前位置", "分享到", "字体", "主办", "版权所有", "不应出现", "color"):
        assert noise not in doc.text, noise
    assert "（一）申请条件。在本区登记注册的科技型中小企业，可以申请科技创新券。" in lines
    assert "检验检测 | 10万元" in lines
    sections = [c.section for c in segment(doc) if "30万元" in c.text]
    assert sections == ["一、支持对象 > （二）额度"]


def test_gov_page_info_table_gives_metadata_and_stays_quotable(tmp_path: Path) -> None:
    doc = load_document(write_html(tmp_path / "notice.html"), tmp_path)
    assert doc.title == f"示例区关于科技创新券的实施细则{FICTIONAL}"
    assert doc.doc_number == "示科委〔2099〕8号"
    assert doc.metadata == {
        "index_number": "000014349/2099-00021",
        "issuer": "示例区科学技术委员会（虚构）",
        "date": "2099-06-18",
        "publish_date": "2099-06-20",
        "source_url": "https://www.example.gov.cn/zhengce/1.html",
    }
    assert "发文字号：示科委〔2099〕8号" in doc.text.splitlines()[:6]
    assert "索引号：000014349/2099-00021" in doc.text


def test_a_page_listing_its_facts_as_items_gives_the_same_metadata(tmp_path: Path) -> None:
    path = tmp_path / "list.shtml"
    path.write_text(
        "<html><body><ul class='xxgk'><li><span>索引号：</span>QA000000002099001</li>"
        "<li><span>发布机构：</span>示例区科学技术委员会（虚构）</li>"
        "<li><span>文号：</span>示科委〔2099〕10号</li><li><span>发布日期：</span>2099-08-01</li>"
        f"</ul><div class='TRS_Editor'><p>关于示例事项的通知{FICTIONAL}</p>"
        "<p>一、示例事项</p><p>各单位应当按照本通知要求做好示例事项的准备工作。</p></div>"
        "</body></html>",
        encoding="utf-8",
    )
    doc = load_document(path, tmp_path)
    assert doc.doc_number == "示科委〔2099〕10号"
    assert doc.metadata == {
        "index_number": "QA000000002099001",
        "issuer": "示例区科学技术委员会（虚构）",
        "publish_date": "2099-08-01",
        "date": "2099-08-01",
    }
    assert "各单位应当按照本通知要求做好示例事项的准备工作。" in doc.text


def test_a_page_without_info_table_reads_its_facts_from_the_text(tmp_path: Path) -> None:
    path = tmp_path / "plain.htm"
    path.write_bytes(
        (
            f"<html><body><div><p>示例区科学技术委员会文件</p><p>示科委〔2099〕9号</p>"
            f"<p>关于开展科技调查的通知{FICTIONAL}</p><p>一、调查内容</p>"
            "<p>各企业应当如实填报研发投入、科技人员等信息，并于规定时间内提交。</p>"
            "<p>示例区科学技术委员会</p><p>二〇九九年七月一日</p></div></body></html>"
        ).encode("gb18030")
    )
    doc = load_document(path, tmp_path)
    assert doc.title == f"关于开展科技调查的通知{FICTIONAL}"
    assert doc.doc_number == "示科委〔2099〕9号"
    assert doc.metadata == {"date": "2099-07-01", "issuer": "示例区科学技术委员会"}


# -- metadata from text and numbering ----------------------------------------------------------


def test_metadata_from_text_reads_only_the_places_official_documents_use() -> None:
    text = (
        "示例市财政局文件\n示财〔2099〕12号\n关于资金管理的通知\n"
        "根据《示例规定》（示府发〔2098〕3号）的要求，现通知如下。\n"
        "示例市财政局 示例市科学技术委员会\n2099年12月31日\n"
    )
    assert metadata_from_text(text) == {
        "doc_number": "示财〔2099〕12号",
        "date": "2099-12-31",
        "issuer": "示例市财政局、示例市科学技术委员会",
    }
    assert metadata_from_text("正文提到示府发〔2098〕3号文件。\n没有落款。") == {}
    assert metadata_from_text("示例区科学技术委员会文件\n正文。") == {
        "issuer": "示例区科学技术委员会"
    }


@pytest.mark.parametrize(
    "written, iso",
    [
        ("2025年1月16日", "2025-01-16"),
        ("二〇二五年十二月二十一日", "2025-12-21"),
        ("2024-01-19 17:39", "2024-01-19"),
        ("2099年06月08日", "2099-06-08"),
        ("不详", "不详"),
    ],
)
def test_dates_are_stored_as_iso(written: str, iso: str) -> None:
    assert normalize_date(written) == iso


def test_word_numbering_formats_count_the_chinese_way() -> None:
    assert [chinese_number(n) for n in (1, 10, 12, 20, 21, 100, 105, 110)] == [
        "一",
        "十",
        "十二",
        "二十",
        "二十一",
        "一百",
        "一百零五",
        "一百一十",
    ]
    assert [
        format_number(3, f)
        for f in (
            "decimal",
            "chineseCounting",
            "decimalEnclosedCircle",
            "ideographTraditional",
            "upperLetter",
        )
    ] == ["3", "三", "③", "丙", "C"]


# -- bad files ---------------------------------------------------------------------------------


def _corrupt_pdf(path: Path) -> Path:
    data = write_canvas_pdf(path).read_bytes()
    path.write_bytes(data[: len(data) // 3])
    return path


def _encrypted_pdf(path: Path) -> Path:
    from reportlab.lib.pdfencrypt import StandardEncryption

    return write_canvas_pdf(path, encrypt=StandardEncryption("user-pw", "owner-pw"))


def _not_a_zip(path: Path) -> Path:
    path.write_text("这不是 Word 文档。", encoding="utf-8")
    return path


def _old_word(path: Path) -> Path:
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512)
    return path


def _unknown(path: Path) -> Path:
    path.write_bytes(b"PK\x03\x04 spreadsheet")
    return path


BAD_FILES: dict[str, tuple[Callable[[Path], Path], type[DocumentError], str]] = {
    "corrupt.pdf": (_corrupt_pdf, CorruptFileError, "已损坏"),
    "scan.pdf": (lambda p: write_canvas_pdf(p, text=""), NoTextLayerError, "扫描件"),
    "locked.pdf": (_encrypted_pdf, EncryptedFileError, "密码"),
    "notes.docx": (_not_a_zip, CorruptFileError, "不是有效的 Word"),
    "legacy.docx": (_old_word, CorruptFileError, ".doc"),
    "sheet.xlsx": (_unknown, UnsupportedFormatError, "不支持的文件类型"),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_a_bad_file_gets_a_clear_error_naming_it(tmp_path: Path, name: str) -> None:
    make, error, words = BAD_FILES[name]
    path = make(tmp_path / name)
    with pytest.raises(error) as err:
        load_document(path, tmp_path)
    assert name in err.value.zh and name in err.value.en and words in err.value.zh


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = write_docx(tmp_path / "big.docx")
    with pytest.raises(FileTooLargeError) as err:
        load_document(path, tmp_path, max_bytes=1024)
    assert "big.docx" in err.value.en and "too large" in err.value.en


# -- through the index and the assistant -------------------------------------------------------


@pytest.fixture(scope="module")
def formats_services(tmp_path_factory: pytest.TempPathFactory) -> Services:
    """A real index of a Word, a PDF and a web page, ingested together with bad files."""
    root = tmp_path_factory.mktemp("formats")
    corpus = root / "corpus"
    corpus.mkdir()
    write_docx(corpus / "measure.docx")
    write_pdf(corpus / "rules.pdf")
    write_html(corpus / "voucher.html")
    for name, (make, _, _) in BAD_FILES.items():
        make(corpus / name)
    (corpus / "huge.txt").write_text("内容。" * 200_000, encoding="utf-8")
    services = Services(load_settings(corpus_dir=corpus, index_dir=root / "index", max_file_mb=0.5))
    services.report = services.store.ingest()  # type: ignore[attr-defined]
    return services


@pytest.mark.slow
def test_a_batch_with_bad_files_ingests_the_good_ones_and_names_each_bad_one(
    formats_services: Services,
) -> None:
    report = formats_services.report  # type: ignore[attr-defined]
    assert sorted(report.added) == ["measure", "rules", "voucher"]
    named = sorted(Path(e.path).name for e in report.errors)
    assert named == sorted([*BAD_FILES, "huge.txt"])
    assert any(isinstance(e, FileTooLargeError) for e in report.errors)
    hits = formats_services.retriever.search("科技创新券额度最高多少", k=3)
    assert hits and hits[0].chunk.doc_id == "voucher"


@pytest.mark.slow
def test_a_bad_file_does_not_lose_what_was_indexed_before(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    write_docx(corpus / "measure.docx")
    services = Services(load_settings(corpus_dir=corpus, index_dir=tmp_path / "index"))
    services.store.ingest()
    (corpus / "measure.docx").write_bytes(b"damaged")
    write_html(corpus / "voucher.html")
    report = services.store.ingest()
    assert [Path(e.path).name for e in report.errors] == ["measure.docx"]
    services.reload()
    assert set(services.index.manifest.documents) == {"measure", "voucher"}


@pytest.mark.slow
def test_an_answer_from_a_pdf_cites_its_section_and_page(formats_services: Services) -> None:
    answer = formats_services.assistant.ask("新获批的市级工程技术研究中心资助多少？")
    assert not answer.abstained, answer.answer
    cited = answer.citations[0]
    assert cited.chunk.doc_id == "rules" and "80万元" in cited.quote
    assert cited.chunk.section == "第二章 支持措施 > 第五条"
    assert cited.page == 2 and cited.to_json()["page"] == 2
    from assistant.serve.api.answers import footnotes
    from assistant.serve.web.render import citation_card

    assert "第二章 支持措施 > 第五条 第2页" in footnotes(answer)  # what an OpenAI client shows
    assert "第2页" in citation_card(cited, [cited.chunk])  # the page's citation card


@pytest.mark.slow
def test_an_answer_from_a_word_file_cites_its_numbered_section(formats_services: Services) -> None:
    answer = formats_services.assistant.ask("新认定的市级孵化器奖励多少？")
    assert not answer.abstained, answer.answer
    cited = answer.citations[0]
    assert cited.chunk.doc_id == "measure" and "40万元" in cited.quote
    assert cited.chunk.section == "二、支持载体建设 > （一）孵化器"
    assert cited.page is None and "page" not in cited.to_json()


@pytest.mark.slow
def test_an_answer_from_a_web_page_cites_the_page_section(formats_services: Services) -> None:
    answer = formats_services.assistant.ask("科技创新券每家企业每年最高多少？")
    assert not answer.abstained, answer.answer
    cited = answer.citations[0]
    assert cited.chunk.doc_id == "voucher" and "30万元" in cited.quote
    assert cited.chunk.section == "一、支持对象 > （二）额度"
