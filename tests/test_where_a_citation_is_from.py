"""A citation says where its quote is from: 《title》, 文号, section and page, those it has."""

from __future__ import annotations

from assistant.models import Chunk, Citation

TEXT = "对首次认定的高新技术企业给予一次性奖励。"


def citation(doc_number: str = "", section: str = "", page: int | None = None) -> Citation:
    chunk = Chunk(
        "c1", "d1", "青浦区科技创新政策", doc_number, section, TEXT, 100, 100 + len(TEXT), page=page
    )
    return Citation(1, chunk, TEXT[:6], 100, 106)


def test_all_parts_in_reading_order() -> None:
    c = citation("青科委〔2025〕1号", "第三条", page=2)
    assert c.where() == "《青浦区科技创新政策》 青科委〔2025〕1号 第三条 第2页"


def test_parts_a_document_lacks_are_left_out() -> None:
    assert citation().where() == "《青浦区科技创新政策》"
    assert citation(section="一、总体要求").where() == "《青浦区科技创新政策》 一、总体要求"


def test_the_separator_is_the_callers() -> None:
    c = citation("青科委〔2025〕1号", "第三条")
    assert c.where(" · ") == "《青浦区科技创新政策》 · 青科委〔2025〕1号 · 第三条"
