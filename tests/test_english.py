"""English questions over the real shipped index (and the fictional development corpus): they
reach the Chinese documents through the glossary of synonym groups, and are answered by the
Chinese sentence quoted with its citation, under a short English line. They never get the
reply for questions outside the documents' field, which an English question off that field
still gets. The pure pieces (what an English question asks, negated words, the English line)
are checked on their own too.
"""

from __future__ import annotations

import pytest

from assistant.answer.extractive import SCOPE_EN, SCOPE_HEAD, english_lead
from assistant.answer.need import Term
from assistant.answer.support import Span
from assistant.answer.verification import verify
from assistant.models import Answer, Chunk
from assistant.serve.runtime import Services
from assistant.text.intent import read_intent
from assistant.text.vocabulary import has_chinese, vocabulary
from assistant.text.vocabulary import stem_words as english_words

LEAD = 200  # the answer must open with what was asked, as the evaluation reads it


def _answered(result: Answer) -> None:
    """Answered from the documents: cited Chinese quotes, no abstention, no scope reply."""
    assert not result.abstained, result.answer
    assert result.intent != "out_of_scope"
    assert not result.answer.startswith(SCOPE_HEAD)
    assert result.citations
    for c in result.citations:
        assert has_chinese(c.quote)
        offset = c.start - c.chunk.start
        assert c.chunk.text[offset : offset + len(c.quote)] == c.quote
    # The English line states no figure the cited passages do not hold.
    assert verify(result.answer, [c.chunk for c in result.citations], len(result.citations)) == []


def _chunk(title: str, section: str) -> Chunk:
    return Chunk("c", "d", title, "", section, "本法所称的文字。", 0, 8)


# -- what an English question asks ----------------------------------------------------------


def test_claiming_priority_asks_for_a_period_not_a_target() -> None:
    asked = read_intent("How long do we have to file in China and still claim priority?")
    assert asked.kinds == {"time", "period"}


def test_english_asking_words_count_only_as_whole_words() -> None:
    assert "target" not in read_intent("Can you explain the patent rules?").kinds
    assert "target" in read_intent("What is Qingpu's 2025 goal for incubators?").kinds
    assert "percent" not in read_intent("Who operates the incubator in the park?").kinds
    assert "percent" in read_intent("What share of the income goes to the inventors?").kinds
    assert "percent" in read_intent("高企的tax rate是多少").kinds
    assert "percent" in read_intent("What revenue growth target has the district set?").kinds
    assert "percent" in read_intent("How much of a charitable donation can we deduct?").kinds


def test_how_much_of_a_space_or_a_time_asks_no_money() -> None:
    space = read_intent("Roughly how much incubation space do the incubators have?").kinds
    assert "figure" in space
    assert "money" not in space
    assert "money" in read_intent("How much subsidy can we get?").kinds
    assert "time" in read_intent("How much time do we have to respond?").kinds
    assert "time" in read_intent("Does the law set a specific number of days to pay?").kinds


def test_a_verb_and_its_particle_meet_the_glossary_only_together() -> None:
    def touched(question: str) -> set[str]:
        return {t for used, _ in vocabulary().synonym_matches(question) for t in used}

    assert "apply for" in touched("Which subsidies can we apply for?")
    assert "apply for" not in touched("Which tax rate applies to us, for this year?")
    assert "who owns" not in touched("Can a foreign firm set up its own R&D institution?")
    assert "who owns" in touched("Who owns the patent when an employee invents something?")
    assert "high and new technology enterprise" in touched(
        "We just obtained High and New Technology Enterprise status."
    )
    # A law's name too: "our company … the Tax Law" names no company law.
    assert "company law" not in touched("We are a software company. What does the tax law say?")
    assert "company law" in touched("What does the Company Law say about share transfers?")


def test_the_largest_loan_asks_for_an_amount() -> None:
    kinds = read_intent("What is the largest loan one company can get?").kinds
    assert {"figure", "money"} <= kinds


def test_a_word_held_only_in_its_negation_is_not_held() -> None:
    term = Term("职务发明创造", ("职务发明创造",), 1.0)
    assert not term.found_in("非职务发明创造，申请专利的权利属于发明人")
    assert term.found_in("职务发明创造申请专利的权利属于该单位")
    assert Term("法律", ("法律",), 1.0).found_in("除非法律另有规定")


def test_a_law_article_is_named_in_english_by_the_glossary() -> None:
    span = Span(0, _chunk("中华人民共和国专利法", "第三章 专利的申请 > 第二十九条"), 0, 8)
    assert english_lead([span]) == "Under Article 29 of the Patent Law:"
    other = Span(0, _chunk("青浦区科委2024年工作总结", "一、（一）"), 0, 8)
    assert english_lead([other]) == "The documents state:"


# -- over the shipped index ------------------------------------------------------------------


@pytest.mark.slow
def test_an_english_question_about_a_law_is_answered_by_its_chinese_article_under_an_english_line(
    shipped_services: Services,
) -> None:
    result = shipped_services.assistant.ask(
        "We filed a patent application in Japan first. How long do we have to file in China "
        "and still claim priority?"
    )
    _answered(result)
    assert result.answer.startswith("Under Article 29 of the Patent Law:\n")
    assert "十二个月" in result.answer[:LEAD]
    assert "专利法" in result.citations[0].chunk.title


@pytest.mark.slow
@pytest.mark.parametrize(
    ("question", "gold"),
    [
        (
            "If there's no agreement, what share of licensing income from a job-related "
            "research result goes to the people who made it?",
            "百分之五十",
        ),
        (
            "How many key software R&D and hardware-software co-design projects did Qingpu "
            "have in 2024?",
            "87",
        ),
        ("How long is the term of protection for a utility model patent?", "十年"),
        ("How many years can losses be carried forward?", "五年"),
        ("When is a patent application published?", "十八个月"),
        ("Does an enterprise have to make its own standards public?", "自我声明公开"),
        ("What income tax rate do high-tech enterprises pay?", "15％"),
        (
            "An engineer came up with a new design as part of his job. Who owns the right to "
            "apply for the patent?",
            "属于该单位",
        ),
        ("Can a foreign company independently set up an R&D center in China?", "独立设立"),
        (
            "Does Chinese law give outstanding foreign scientists any advantage for permanent "
            "residence?",
            "永久居留权",
        ),
        (
            "Our plant makes products for export only. Do their technical requirements have to "
            "follow Chinese standards, or the buyer's contract?",
            "按照合同的约定执行",
        ),
    ],
)
def test_an_english_question_gets_the_clause_the_glossary_reaches(
    shipped_services: Services, question: str, gold: str
) -> None:
    result = shipped_services.assistant.ask(question)
    _answered(result)
    assert gold in result.answer[:LEAD]


@pytest.mark.slow
def test_a_national_law_answers_for_the_place_the_asker_names(
    shipped_services: Services,
) -> None:
    # Shanghai is where the asker sits, and the income tax law holds there as everywhere.
    result = shipped_services.assistant.ask(
        "Our company's management sits in Shanghai. What's the standard income tax rate?"
    )
    assert not result.abstained
    assert "25％" in result.answer[:300]


def test_asking_whether_a_law_applies_is_not_asking_to_apply_for_something(
    shipped_services: Services,
) -> None:
    result = shipped_services.assistant.ask(
        "Is the revised Standardization Law already in force, and from what date does it apply?"
    )
    assert not result.abstained
    assert "2018年1月1日" in result.answer[:300]


def test_an_english_question_about_the_district_plan_opens_with_an_english_line(
    shipped_services: Services,
) -> None:
    result = shipped_services.assistant.ask(
        "What is Qingpu's 2025 target for the number of valid high-tech enterprises?"
    )
    _answered(result)
    assert result.answer.startswith("The documents state:\n")
    assert "1210" in result.answer[:LEAD]


@pytest.mark.slow
@pytest.mark.parametrize(
    "question",
    [
        "What's the weather like in Shanghai tomorrow?",
        "Tell me a joke about tax inspectors.",
    ],
)
def test_an_english_question_off_the_documents_field_still_gets_the_scope_reply(
    shipped_services: Services, question: str
) -> None:
    result = shipped_services.assistant.ask(question)
    assert result.abstained
    assert result.intent == "out_of_scope"
    # Said in English first, then what the documents hold, as they name it.
    assert result.answer.startswith(SCOPE_EN) and SCOPE_HEAD in result.answer
    assert not result.citations


@pytest.mark.slow
def test_an_english_question_the_documents_do_not_answer_is_told_so_in_english_first(
    shipped_services: Services,
) -> None:
    result = shipped_services.assistant.ask(
        "What cash award does Suzhou give a newly certified high-tech enterprise?"
    )
    assert result.abstained
    assert result.intent != "out_of_scope"
    assert result.answer.startswith("The documents do not cover")
    assert "苏州" in result.answer


@pytest.mark.slow
def test_an_english_question_on_a_loan_product_gets_its_ceiling_from_the_development_corpus(
    foreign_services: Services,
) -> None:
    result = foreign_services.assistant.ask(
        "What is the largest loan one company can get under Yunshan district's Lingyang "
        "credit loan, and is collateral needed?"
    )
    _answered(result)
    assert "2000万元" in result.answer[:LEAD]
    assert "无需抵押" in result.answer[:LEAD]


@pytest.mark.parametrize(
    ("asked", "glossary"),
    [
        ("withholds", "withholding"),
        ("royalties", "royalty"),
        ("licensed", "license"),
        ("agreed", "agree"),
        ("employees", "employee"),
        ("taxes", "tax"),
        ("filing", "file"),
    ],
)
def test_an_english_word_meets_the_glossary_in_any_of_its_forms(asked: str, glossary: str) -> None:
    assert english_words(asked) == english_words(glossary)


def test_a_royalty_asked_in_the_plural_reaches_the_statutory_term() -> None:
    groups = vocabulary().synonym_matches("we pay software royalties to a company abroad")
    assert any("特许权使用费" in others for _, others in groups)
