"""Citation checks on answers: markers point to passages, figures come from cited passages."""

from __future__ import annotations

import pytest

from assistant.answer.verification import Problem, chinese_to_int, figures_in, verify
from assistant.models import Chunk

# Fictional passages written for these tests; no real policy says this.
SUBSIDY = Chunk(
    chunk_id="demo#0001",
    doc_id="demo",
    title="示例区科技企业扶持措施（虚构）",
    doc_number="",
    section="一、支持企业成长",
    text="对首次认定的高新技术企业给予一次性奖励88万元。",
    start=0,
    end=24,
)
TERM = Chunk(
    chunk_id="rule#0007",
    doc_id="rule",
    title="示例市技术秘密保护条例（虚构）",
    doc_number="",
    section="第二章 保护 > 第七条",
    text="技术秘密登记的保护期限为二十年，自登记之日起计算。",
    start=90,
    end=115,
)
COUNTS = Chunk(
    chunk_id="plan#0003",
    doc_id="plan",
    title="示例区科技工作要点（虚构）",
    doc_number="",
    section="二、企业培育",
    text="截至去年底有效高企数达1164家；力争今年有效高企数达1210家。",
    start=300,
    end=331,
)
HEADED = Chunk(
    chunk_id="plan#0000",
    doc_id="plan",
    title="示例区2098年科技工作要点（虚构）",
    doc_number="示科〔2099〕7号",
    section="第三章 扶持 > 第二十八条",
    text="各单位认真贯彻执行。",
    start=0,
    end=10,
)


def kinds(problems: list[Problem]) -> list[str]:
    return [p.kind for p in problems]


def test_a_marker_beyond_the_passages_is_a_problem() -> None:
    problems = verify("对首次认定的高新技术企业给予一次性奖励88万元[3]。", [SUBSIDY], numbered=2)
    assert kinds(problems) == ["marker"]
    assert "[3]" in problems[0].detail
    assert kinds(verify("奖励88万元[0]。", [SUBSIDY], numbered=2)) == ["marker"]


def test_a_marker_within_the_passages_is_sound() -> None:
    assert verify("对首次认定的高新技术企业给予一次性奖励88万元[2]。", [SUBSIDY], numbered=2) == []


def test_a_figure_in_no_cited_passage_is_a_problem() -> None:
    problems = verify("补贴最高200万元[1]。", [SUBSIDY], numbered=1)
    assert kinds(problems) == ["figure"]
    assert "200" in problems[0].detail


def test_a_figure_only_in_an_uncited_passage_is_a_problem() -> None:
    # 1164 is in COUNTS, but the answer cites only SUBSIDY.
    assert kinds(verify("有效高企数达1164家[1]。", [SUBSIDY], numbered=2)) == ["figure"]


def test_a_figure_present_in_the_cited_passage_passes() -> None:
    assert verify("首次认定的高新技术企业可获一次性奖励88万元[1]。", [SUBSIDY], numbered=1) == []


def test_chinese_numerals_in_the_source_match_arabic_in_the_answer() -> None:
    assert verify("技术秘密登记的保护期限为20年[1]。", [TERM], numbered=1) == []
    assert kinds(verify("技术秘密登记的保护期限为30年[1]。", [TERM], numbered=1)) == ["figure"]


def test_a_year_in_chinese_digits_in_the_source_matches_the_arabic_year() -> None:
    dated = Chunk(
        chunk_id="demo#0009",
        doc_id="demo",
        title="示例区科技企业扶持措施（虚构）",
        doc_number="",
        section="",
        text="本措施自二〇二四年起施行。",
        start=0,
        end=13,
    )
    assert verify("本措施自2024年起施行[1]。", [dated], numbered=1) == []


def test_a_percentage_in_words_in_the_answer_matches_the_cited_percent_sign() -> None:
    rate = Chunk(
        chunk_id="demo#0010",
        doc_id="demo",
        title="示例区税收指引（虚构）",
        doc_number="",
        section="",
        text="减按15%的税率征收。",
        start=0,
        end=11,
    )
    assert verify("减按百分之十五的税率征收[1]。", [rate], numbered=1) == []


def test_chinese_numerals_convert_to_integers() -> None:
    assert chinese_to_int("二十") == 20
    assert chinese_to_int("二十八") == 28
    assert chinese_to_int("一百零五") == 105
    assert chinese_to_int("两千") == 2000
    assert chinese_to_int("二十年") is None
    assert figures_in("期限为二十年，另有6.10%与1164家") == {"20", "6.1", "1164"}


def test_a_shown_calculation_on_cited_figures_passes() -> None:
    answer = "今年目标1210家，比去年底的1164家多1210 − 1164 = 46家[1]。"
    assert verify(answer, [COUNTS], numbered=1) == []


def test_a_wrong_calculation_fails() -> None:
    answer = "今年目标1210家，比去年底的1164家多1210 − 1164 = 56家[1]。"
    problems = verify(answer, [COUNTS], numbered=1)
    assert kinds(problems) == ["figure"]
    assert "56" in problems[0].detail


def test_a_calculation_on_uncited_figures_fails() -> None:
    # Both inputs are invented, so the result is no more grounded than they are.
    assert "figure" in kinds(verify("2000 − 1000 = 1000家[1]。", [COUNTS], numbered=1))


def test_figures_in_title_doc_number_and_section_of_the_cited_chunk_count_as_cited() -> None:
    answer = "《示例区2098年科技工作要点（虚构）》文号为示科〔2099〕7号，见第28条[1]。"
    assert verify(answer, [HEADED], numbered=1) == []
    # The same figures are not cited when the answer cites another chunk.
    problems = verify(answer.replace("[1]", "[2]"), [SUBSIDY, SUBSIDY], numbered=2)
    assert sorted(p.detail.split()[0] for p in problems) == ["2098", "2099", "28", "7"]


MENTIONS = Chunk(
    chunk_id="demo#0002",
    doc_id="demo",
    title="示例区科技企业扶持措施（虚构）",
    doc_number="",
    section="二、支持载体建设",
    text="本措施中的《示例区科技创新规划（虚构）》提及的目标,以正式文件为准。",
    start=40,
    end=75,
)
INDEXED_TITLES = ("示例区科技企业扶持措施（虚构）", "中华人民共和国专利法")


def test_markup_the_cited_passages_do_not_hold_is_a_problem() -> None:
    answer = "<script>alert('x')</script>对首次认定的高新技术企业给予一次性奖励88万元[1]。"
    assert kinds(verify(answer, [SUBSIDY], numbered=1)) == ["markup", "markup"]
    assert kinds(verify("奖励88万元<br/>[1]。", [SUBSIDY], numbered=1)) == ["markup"]


def test_a_comparison_sign_is_no_markup() -> None:
    assert verify("一次性奖励<=88万元，首次认定>重新认定[1]。", [SUBSIDY], numbered=1) == []


def test_a_title_no_indexed_document_holds_or_names_is_a_problem() -> None:
    answer = "根据《某某虚构办法》，首次认定的高新技术企业奖励88万元[1]。"
    problems = verify(answer, [SUBSIDY], numbered=1, titles=INDEXED_TITLES)
    assert kinds(problems) == ["title"]
    # Without the index's titles, titles are not checked.
    assert verify(answer, [SUBSIDY], numbered=1) == []


@pytest.mark.parametrize(
    "title",
    [
        "示例区科技企业扶持措施（虚构）",  # a cited passage's document
        "专利法",  # part of an indexed title
        "中华人民共和国专利法",
        "示例区科技创新规划（虚构）",  # named by the cited passage
    ],
)
def test_a_title_the_index_holds_or_names_is_sound(title: str) -> None:
    answer = f"《{title}》规定首次认定的高新技术企业奖励88万元[1]。"
    assert verify(answer, [SUBSIDY, MENTIONS], numbered=2, titles=INDEXED_TITLES) == []
