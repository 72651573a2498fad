"""Tokens and synonyms: domain words stay whole, abbreviations and English reach the documents."""

from __future__ import annotations

import pytest

from assistant.config import PROJECT_DIR
from assistant.errors import ConfigError
from assistant.site import SiteVocabulary
from assistant.text.vocabulary import (
    has_chinese,
    normalize,
    parse_synonyms,
    parse_wordings,
    vocabulary,
)


def test_domain_words_stay_whole() -> None:
    tokens = vocabulary().tokens("采用免申即享方式发放高企补贴，履约贷和微贷通")
    for word in ("免申即享", "高企", "履约贷", "微贷通", "补贴"):
        assert word in tokens


def test_a_verb_is_read_apart_from_the_direction_speech_joins_to_it() -> None:
    words = vocabulary().words("标准一直没公开出来，技术也卖出去了，看起来过去三年都这样")
    assert {"公开", "卖"} <= set(words)
    assert not {"公开出来", "卖出去"} & set(words)
    # Words in their own right stay whole.
    assert {"看起来", "过去"} <= set(words)


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


def test_everyday_words_reach_the_statutory_terms() -> None:
    vocab = vocabulary()
    assert "解除劳动合同" in vocab.expansions("员工严重违纪，公司能直接开除吗")
    assert "解除劳动合同" in vocab.expansions("试用期的员工可以辞退吗")
    assert {"分配利润", "股息", "红利"} <= set(vocab.expansions("公司赚了钱不分红怎么办"))
    assert "转让股权" in vocab.expansions("股东想把股权卖给外人")
    assert "用人单位" in vocab.expansions("老板不给交社保")
    assert "社会保险" in vocab.expansions("老板不给交社保")


def test_an_everyday_phrase_is_found_with_words_between_its_parts() -> None:
    vocab = vocabulary()
    for question in ("入职半年一直没签合同", "公司没跟我签劳动合同", "没有和员工签书面劳动合同"):
        assert "未订立书面劳动合同" in vocab.expansions(question), question
    # The span the question wrote names the everyday wording, as the reader shows it.
    used = [u for u, others in vocab.synonym_matches("大客户拖着货款不结") if "拖欠" in others]
    assert used and "拖着货款不结" in used[0]
    # A gap never reaches across punctuation.
    assert "未订立书面劳动合同" not in vocab.expansions("没来得及。签合同的事下周再说")


def test_statutory_words_are_not_expanded_into_everyday_ones() -> None:
    vocab = vocabulary()
    assert "开除" not in vocab.expansions("用人单位可以解除劳动合同的情形")
    assert vocab.statutory_terms("用人单位可以解除劳动合同的情形") == []
    assert set(vocab.statutory_terms("能开除员工吗")) == {"解除劳动合同", "劳动者"}


def test_every_statutory_term_is_written_in_a_law() -> None:
    # A typo on the statutory side would expand questions into words no law uses.
    folders = (PROJECT_DIR / "corpus", PROJECT_DIR / "evals" / "foreign" / "corpus" / "laws")
    texts = "".join(
        normalize(p.read_text(encoding="utf-8")).replace(" ", "").replace("\n", "")
        for folder in folders
        for p in folder.rglob("*.txt")
    )
    missing = [t for w in vocabulary().wordings for t in w.statutory if t not in texts]
    assert missing == []


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("解除劳动合同 开除 | 辞退", "exactly one '='"),
        ("解除劳动合同 = 开除 = 辞退", "exactly one '='"),
        ("解除劳动合同 = 开除 || 辞退", "empty"),
        (" = 开除", "empty"),
        ("解除*劳动合同 = 开除", "without '*'"),
        ("未订立书面劳动合同 = 没签*", "between two words"),
        ("未订立书面劳动合同 = 没签 * 合同", "between two words"),
        ("解除劳动合同 = 开除 | 开除", "repeated"),
    ],
)
def test_a_malformed_wording_line_names_its_file_and_line(line: str, reason: str) -> None:
    text = "# everyday wordings\n试用期 = 转正\n\n" + line + "\n"
    with pytest.raises(ConfigError) as caught:
        parse_wordings(text, "wordings.txt")
    assert "wordings.txt" in caught.value.en and "line 4" in caught.value.en
    assert reason in caught.value.en
    assert "第 4 行" in caught.value.zh


def test_a_malformed_synonym_line_names_its_file_and_line() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_synonyms("高新技术企业 | 高企\n孤零零\n", "synonyms.txt")
    assert "synonyms.txt, line 2" in caught.value.en
    with pytest.raises(ConfigError, match="line 1"):
        parse_synonyms("高企 |  | 高新企业\n", "synonyms.txt")


def test_the_shipped_word_lists_load() -> None:
    vocab = vocabulary()
    assert len(vocab.wordings) >= 100 and len(vocab.synonyms) >= 200
    data = PROJECT_DIR / "assistant" / "text" / "data"
    parse_wordings((data / "wordings.txt").read_text(encoding="utf-8"))
    parse_synonyms((data / "synonyms.txt").read_text(encoding="utf-8"))


# A fictional park of a fictional district, as a site file's vocabulary section names them.
SITE_WORDS = SiteVocabulary(
    words=("临溪智谷",),
    synonyms=(("临溪智谷", "智谷", "linxi valley"), ("临溪区", "临溪", "linxi")),
    places=(("临溪区", "临溪", "linxi"),),
)


def test_a_sites_words_stay_whole_and_expand_through_its_synonyms() -> None:
    vocab = vocabulary(SITE_WORDS)
    assert "临溪智谷" in vocab.words("入驻临溪智谷园区的企业")
    assert "临溪智谷" in vocab.tokens("入驻临溪智谷园区的企业")
    assert "临溪智谷" in vocab.expansions("智谷的企业有补贴吗")
    assert {"临溪智谷", "智谷"} <= set(vocab.expansions("Are there grants in Linxi Valley?"))
    assert "临溪" in vocab.expansions("Which policies does Linxi have?")
    # The package's own words are all still there.
    assert "高新技术企业" in vocab.expansions("高企有什么优惠")


def test_each_site_has_a_vocabulary_of_its_own() -> None:
    site, plain = vocabulary(SITE_WORDS), vocabulary()
    assert vocabulary(SITE_WORDS) is site and vocabulary(SiteVocabulary()) is plain
    assert "临溪智谷" not in plain.words("入驻临溪智谷园区的企业")
    assert "临溪智谷" not in plain.expansions("智谷的企业有补贴吗")
    # The site's words split documents too: an index built with other words is rebuilt.
    assert site.signature != plain.signature
    other = SiteVocabulary(words=("临溪智谷",), synonyms=(("临溪智谷", "智谷"),))
    assert vocabulary(other).signature not in {site.signature, plain.signature}


def test_a_word_common_in_speech_weighs_less_as_a_subject_than_a_term_of_art() -> None:
    vocab = vocabulary()
    assert vocab.everyday("公司") > vocab.everyday("员工") > vocab.everyday("折旧") == 0.0
    # The lexicon's and synonym table's own words are terms of art, whatever their count.
    assert vocab.everyday("亏损") == vocab.everyday("高新技术企业") == 0.0
