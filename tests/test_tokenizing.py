"""Tokens and synonyms: domain words stay whole, abbreviations and English reach the documents."""

from __future__ import annotations

from assistant.text.vocabulary import has_chinese, normalize, vocabulary


def test_domain_words_stay_whole() -> None:
    tokens = vocabulary().tokens("采用免申即享方式发放高企补贴，履约贷和微贷通")
    for word in ("免申即享", "高企", "履约贷", "微贷通", "补贴"):
        assert word in tokens


def test_question_words_are_not_search_terms() -> None:
    tokens = vocabulary().tokens("请问我们公司可以申请什么补贴吗？")
    assert "补贴" in tokens
    assert not {"请问", "我们", "什么", "吗", "可以"} & set(tokens)


def test_abbreviations_expand_to_the_terms_documents_use() -> None:
    vocab = vocabulary()
    assert "高新技术企业" in vocab.expansions("高企有什么优惠")
    assert "科技小巨人企业" in vocab.expansions("小巨人能贷多少")
    assert "地区生产总值" in vocab.expansions("研发投入占GDP多少")
    assert "研发经费支出" in vocab.expansions("研发投入占GDP多少")


def test_english_questions_reach_the_chinese_vocabulary() -> None:
    vocab = vocabulary()
    expanded = vocab.expansions("What income tax rate do high-tech enterprises pay?")
    assert "高新技术企业" in expanded and "企业所得税" in expanded
    # plural and extra words in between still match the glossary entry
    assert "院士(专家)工作站" in vocab.expansions("How many academician expert workstations?")
    assert vocab.expansions("What is the weather like?") == []


def test_a_term_is_not_expanded_to_itself() -> None:
    assert "高企" not in vocabulary().expansions("高企补贴")


def test_normalize_folds_traditional_and_full_width_forms() -> None:
    assert normalize("高新技術企業１５％ＡＢ") == "高新技术企业15%ab"
    assert has_chinese("高企") and not has_chinese("R&D 15%")
