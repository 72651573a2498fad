"""Segmenting: the section tree, sentence boundaries and chunk limits."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.config import PROJECT_DIR
from assistant.ingest.loading import load_document
from assistant.ingest.segmenting import (
    SegmentOptions,
    build_sections,
    heading_rank,
    pack,
    segment,
    split_sentences,
)
from assistant.models import Document
from assistant.search.index import embedding_text

from .conftest import FICTIONAL

DISTRICT = PROJECT_DIR / "corpus" / "district" / "qingkewei-2025-1.txt"
TAX_LAW = PROJECT_DIR / "corpus" / "laws" / "enterprise-income-tax-law.txt"


def doc(text: str, title: str = "测试文件") -> Document:
    return Document(doc_id="t", text=text, title=title)


@pytest.mark.parametrize(
    "line, rank",
    [
        ("第一编 总则", 0),
        ("2025年工作要点", 0),
        ("第四章 税收优惠", 1),
        ("第一节 研发投入", 2),
        ("一、深化科技体制机制创新,加快塑造区域发展新格局", 3),
        ("(一)优化科技领域发展顶层设计。开展研究。", 4),
        ("（二）建立健全企业服务保障体系", 4),
        ("1.加强统筹", 5),
        ("(1)细化分工", 6),
        ("第二十八条　符合条件的小型微利企业", 7),
        ("2024年,区科委、科协紧扣上海加快建设", None),
        ("1.5亿元的履约贷", None),
        ("全区共有孵化器43家。", None),
    ],
)
def test_heading_rank_recognizes_chinese_numbering(line: str, rank: int | None) -> None:
    assert heading_rank(line) == rank


def test_sentences_never_split_inside_title_marks_quotes_or_brackets() -> None:
    text = (
        "开展《关于“十五五”;规划。研究》的课题。对“首次认定。补贴”予以支持;(含培育。企业)共5家!完"
    )
    spans = split_sentences(text, 0, len(text))
    assert [text[s:e] for s, e in spans] == [
        "开展《关于“十五五”;规划。研究》的课题。",
        "对“首次认定。补贴”予以支持;",
        "(含培育。企业)共5家!",
        "完",
    ]


def test_pack_groups_sentences_up_to_the_limit_and_merges_a_short_tail() -> None:
    spans = [(0, 50), (50, 100), (100, 160), (160, 170)]
    assert pack(spans, max_chars=110, min_chars=20) == [(0, 100), (100, 170)]


def test_district_document_gets_its_two_parts_and_numbered_sections() -> None:
    document = load_document(DISTRICT, DISTRICT.parent.parent)
    chunks = segment(document)
    sections = {c.section for c in chunks}
    assert (
        "2025年工作要点 > 三、优化科技创新生态,加速推进服务创新提效增能 > (三)助推全域科普生态塑造"
    ) in sections
    assert (
        "2024年工作总结 > 三、激发科技创新主体活力,持续深化全链条科创服务 > "
        "(二)建立健全企业服务保障体系"
    ) in sections
    subsidy = next(c for c in chunks if "免申即享" in c.text)
    assert subsidy.section.endswith("(二)建立健全企业服务保障体系")
    assert subsidy.doc_number == "青科委〔2025〕1号"


def test_every_chunk_quotes_the_original_text_exactly() -> None:
    for path in (DISTRICT, TAX_LAW, *FICTIONAL.iterdir()):
        document = load_document(path, path.parent)
        for chunk in segment(document):
            assert document.text[chunk.start : chunk.end] == chunk.text
            assert chunk.text.strip() == chunk.text and chunk.text


def test_chunks_stay_small_and_never_cross_a_section() -> None:
    document = load_document(DISTRICT, DISTRICT.parent.parent)
    opts = SegmentOptions()
    sections = build_sections(document.text)
    for chunk in segment(document, opts):
        assert len(chunk.text) <= opts.hard_max
        owner = next(s for s in sections if any(a <= chunk.start < b for a, b in s.spans))
        assert chunk.end <= owner.spans[-1][1], chunk.text
        assert chunk.section == " > ".join(owner.path)


def test_headings_are_context_not_chunks() -> None:
    document = load_document(DISTRICT, DISTRICT.parent.parent)
    chunks = segment(document)
    assert not any(c.text.startswith(("(一)", "一、", "2024年工作总结")) for c in chunks)
    design = next(c for c in chunks if c.text.startswith("开展《"))
    assert design.section.endswith("(一)优化科技领域发展顶层设计")
    assert "优化科技领域发展顶层设计" in embedding_text(design)


def test_a_law_article_is_one_chunk_with_its_chapter() -> None:
    document = load_document(TAX_LAW, TAX_LAW.parent)
    chunks = segment(document)
    rate = next(c for c in chunks if c.section == "第四章 税收优惠 > 第二十八条")
    assert rate.text == (
        "符合条件的小型微利企业，减按20％的税率征收企业所得税。\n"
        "国家需要重点扶持的高新技术企业，减按15％的税率征收企业所得税。"
    )
    # 项 inside an article stay in it rather than opening sections of their own.
    income = next(c for c in chunks if c.section.endswith("第六条"))
    assert "（九）其他收入。" in income.text


def test_sections_nest_chapter_section_article() -> None:
    document = load_document(FICTIONAL / "fictional-regulation.md", FICTIONAL)
    chunks = segment(document)
    article = next(c for c in chunks if c.section.endswith("第四条"))
    assert article.section == "第二章 企业创新 > 第一节 研发投入 > 第四条"
    assert "（三）近三年无严重失信记录。" in article.text
    assert next(c for c in chunks if c.section.endswith("第五条")).section == "第三章 附则 > 第五条"


def test_a_long_article_splits_by_paragraph_and_keeps_its_lead_clause() -> None:
    items = "\n".join(f"（{n}）第{n}项内容，" + "说明" * 40 + "；" for n in "一二三四五六")
    text = f"第一章 总则\n第一条　企业的下列收入为免税收入：\n{items}"
    chunks = segment(doc(text), SegmentOptions(article_max=200, hard_max=200))
    assert len(chunks) > 1
    assert all(c.section == "第一章 总则 > 第一条" for c in chunks)
    assert all("企业的下列收入为免税收入" in c.text + c.lead for c in chunks)


def test_closing_signature_is_its_own_section() -> None:
    document = load_document(FICTIONAL / "fictional-subsidy-notice.txt", FICTIONAL)
    chunks = segment(document)
    assert chunks[-1].section == "落款"
    assert chunks[-1].text == "示例区科学技术委员会\n2099年3月1日"


def test_a_text_without_structure_still_chunks_by_sentence(tmp_path: Path) -> None:
    text = "这是一段没有任何编号的通知。" * 30
    chunks = segment(doc(text))
    assert len(chunks) > 1 and all(c.section == "" for c in chunks)
    assert "".join(c.text for c in chunks) == text


def test_a_numbered_line_that_is_a_whole_provision_stays_quotable() -> None:
    text = "示例办法（虚构）\n一、额度\n（一）每家企业每年申领算力券最高20万元。\n"
    doc = Document("d", text, "示例办法（虚构）")
    chunks = segment(doc)
    holder = next(c for c in chunks if "最高20万元" in c.text)
    assert holder.section == "一、额度"
    assert holder.text == "（一）每家企业每年申领算力券最高20万元。"
    assert text[holder.start : holder.end] == holder.text


# FICTIONAL measures (虚构示例): numbered provisions beside numbered headings.
PROVISIONS = """示例区促进集成电路设计企业发展的若干措施（虚构示例，仅供测试）
一、支持内容
（一）流片补贴
对首次流片的企业，按流片费用的30%给予补贴，最高不超过200万元。
（二）对新引进的设计企业，给予一次性奖励50万元。
二、附则
（三）本办法自2025年1月1日起施行。
（四）联系部门：区科委产业科，电话：021-0000-0000。
第十条 本办法由区科委负责解释。
"""


def test_a_numbered_sentence_is_a_provision_of_its_section_not_a_heading() -> None:
    doc = Document("d", PROVISIONS, PROVISIONS.splitlines()[0])
    by_text = {c.text: c.section for c in segment(doc)}
    # A short line that does not end as a sentence heads its section ...
    assert by_text["对首次流片的企业，按流片费用的30%给予补贴，最高不超过200万元。"] == (
        "一、支持内容 > （一）流片补贴"
    )
    # ... a numbered full sentence is text of the section its number stands in, one chunk each.
    assert by_text["（二）对新引进的设计企业，给予一次性奖励50万元。"] == "一、支持内容"
    assert by_text["（三）本办法自2025年1月1日起施行。"] == "二、附则"
    # An article is named by its number, never by its sentence.
    assert by_text["本办法由区科委负责解释。"] == "二、附则 > 第十条"
    assert not any("施行" in s or "解释" in s for s in by_text.values())


def test_a_contact_line_keeps_its_labels_in_one_quotable_piece() -> None:
    doc = Document("d", PROVISIONS, PROVISIONS.splitlines()[0])
    contact = "（四）联系部门：区科委产业科，电话：021-0000-0000。"
    assert [c.text for c in segment(doc) if "区科委产业科" in c.text] == [contact]
    assert split_sentences(contact, 0, len(contact)) == [(0, len(contact))]
    # Under a heading that ends at the colon, the label stays in the text it labels.
    text = (
        "示例通知（虚构示例）\n五、联系方式：区科委产业科，电话：021-0000-0000，地址：示例路1号\n"
    )
    (chunk,) = [c for c in segment(Document("n", text, "示例通知（虚构示例）")) if c.section]
    assert chunk.text.startswith("五、联系方式：区科委产业科，电话：021-0000-0000")


def test_a_markdown_title_is_the_document_title_not_a_section(tmp_path: Path) -> None:
    markdown = FICTIONAL.parent / "markdown"
    document = load_document(markdown / "fictional-loans.md", markdown)
    title = "示例区科技信贷贴息实施细则（虚构示例，仅供测试）"
    assert document.title == title  # no front matter: the "# " line names the document
    chunks = segment(document)
    assert not any(title in c.section or c.text.startswith("# ") for c in chunks)
    rate = next(c for c in chunks if "贴息" in c.text and "50%" in c.text)
    assert rate.section == "二、贴息标准"
    assert next(c for c in chunks if "融资难" in c.text).section == "一、总则"
    # Front matter still names the title, and the "# " line is still no section.
    (tmp_path / "named.md").write_text(
        "---\ntitle: 示例实施细则（虚构示例）\n---\n" + document.text, encoding="utf-8"
    )
    named = load_document(tmp_path / "named.md", tmp_path)
    assert named.title == "示例实施细则（虚构示例）"
    assert not any(title in c.section for c in segment(named))
