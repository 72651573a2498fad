"""Personal data is removed before anything is stored; policy figures are left alone."""

from __future__ import annotations

import pytest

from assistant.text.redaction import (
    ADDRESS,
    BANK_CARD,
    EMAIL,
    ID_CARD,
    LANDLINE,
    MOBILE,
    PASSPORT,
    credit_code_valid,
    fingerprint,
    looks_personal,
    pseudonym,
    redact,
    redact_identifier,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("我电话13812345678，想问补贴", f"我电话{MOBILE}，想问补贴"),
        ("手机 138 1234 5678 联系", f"手机 {MOBILE} 联系"),
        ("手机138-1234-5678", f"手机{MOBILE}"),
        ("+86 13812345678", MOBILE),
        ("+86-199-0000-1111。", f"{MOBILE}。"),
        ("8615912345678", MOBILE),
        ("Tel: 17712345678.", f"Tel: {MOBILE}."),
        ("电话：１３８１２３４５６７８", f"电话：{MOBILE}"),
        ("打13812345678或13998765432都行", f"打{MOBILE}或{MOBILE}都行"),
        ("座机021-69712345", f"座机{LANDLINE}"),
        ("座机0571-87001234转8", f"座机{LANDLINE}转8"),
        ("电话01069712345", f"电话{LANDLINE}"),
        ("电话（0755）26543210", f"电话{LANDLINE}"),
        ("电话 0755 2654321", f"电话 {LANDLINE}"),
        ("身份证310101199001011234", f"身份证{ID_CARD}"),
        ("身份证31010119900101123X号", f"身份证{ID_CARD}号"),
        ("身份证号 44030420011231002x", f"身份证号 {ID_CARD}"),
        ("身份证 310101 19900101 1234", f"身份证 {ID_CARD}"),
        ("老身份证310101900101123", f"老身份证{ID_CARD}"),
        ("邮箱a.b@qq.com，谢谢", f"邮箱{EMAIL}，谢谢"),
        ("发到 zhang_san+policy@mail.example.com.cn 即可", f"发到 {EMAIL} 即可"),
        ("邮箱：ｚｓ＠ｅｘａｍｐｌｅ．ｃｏｍ", f"邮箱：{EMAIL}"),
        ("13812345678@163.com", EMAIL),
    ],
)
def test_contact_details_and_id_numbers_are_replaced(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_a_question_with_every_kind_keeps_its_words() -> None:
    out = redact(
        "我是张三，电话13812345678，座机021-69712345，身份证310101199001011234，"
        "邮箱zs@example.com，高企奖励多少？"
    )
    assert out == (
        f"我是张三，电话{MOBILE}，座机{LANDLINE}，身份证{ID_CARD}，邮箱{EMAIL}，高企奖励多少？"
    )


@pytest.mark.parametrize(
    "text",
    [
        "总投资达686.22亿元",
        "有效高企数达1164家",
        "2025年",
        "青科委〔2025〕1号",
        "浙政办发〔2025〕12号",
        "索引号QA530100020250001",
        "索引号：000014349/2025-00012",
        "统一社会信用代码91330100MA27XY1234",
        "2025-01-16 19:37:14",
        "2025/01/16",
        "20250116",
        "2023年12月至2024年11月",
        "授信额度共计1.46亿元",
        "奖励13800000000.5元",
        "第一百一十二条",
        "研发经费支出相当于地区生产总值比例达4.53%",
        "营业收入1380000000元以上",
        "邮编310000",
        "0.1381234567",
        "附件2：申报表（2025版）",
        "请发邮件至本单位邮箱",
        "",
        "专项资金3000万元",
        "统一社会信用代码913101157989654326",  # all digits, valid check character
        "2023 2024 2025 2026年的目标",
        "建设3幢5层标准厂房",
        "第5号令",
        "青浦区华新镇有多少家高企",
        "上海市青浦区公园路的政务服务中心",
        "“十四五”规划",
        "二〇二五年一月十六日",
        "一二三四五六七八九十",
        "please look at www.qingpu.gov.cn",
    ],
)
def test_policy_figures_dates_and_numbers_stay(text: str) -> None:
    assert redact(text) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Bank cards: 16–19 digits, whole or in groups of four.
        ("卡号6222021234567890", f"卡号{BANK_CARD}"),
        ("卡号 6222 0212 3456 7890 123，开户行", f"卡号 {BANK_CARD}，开户行"),
        ("6222-0212-3456-7890", BANK_CARD),
        ("打款到6222021234567890123。", f"打款到{BANK_CARD}。"),
        # Mobiles written with dots, digit by digit, or in Chinese numerals.
        ("电话138.1234.5678", f"电话{MOBILE}"),
        ("电话 1 3 8 1 2 3 4 5 6 7 8 谢谢", f"电话 {MOBILE} 谢谢"),
        ("1.3.8.1.2.3.4.5.6.7.8", MOBILE),
        ("手机一三八一二三四五六七八", f"手机{MOBILE}"),
        ("手机幺三八幺二三四五六七八。", f"手机{MOBILE}。"),
        ("手机一三九〇〇〇〇一一一一", f"手机{MOBILE}"),
        ("手机一五零 一二三四 五六七八", f"手机{MOBILE}"),
        # ID-card numbers in groups.
        ("身份证110101 1990 0307 1234", f"身份证{ID_CARD}"),
        ("身份证110101-1990-0307-123X。", f"身份证{ID_CARD}。"),
        ("身份证3101 0119 9001 0112 34", f"身份证{ID_CARD}"),
        # Passports: the Chinese form anywhere, any number right after 护照.
        ("护照E12345678", f"护照{PASSPORT}"),
        ("我的护照号码是G1234567x，能申请吗", f"我的护照号码是{PASSPORT}，能申请吗"),
        ("持EA1234567办理", f"持{PASSPORT}办理"),
        ("passport no. P1234567", f"passport no. {PASSPORT}"),
        # E-mail written to dodge filters.
        ("邮箱zhangsan at qq dot com", f"邮箱{EMAIL}"),
        ("邮箱 zhangsan#qq.com 谢谢", f"邮箱 {EMAIL} 谢谢"),
        ("zhangsan(at)163.com", EMAIL),
        ("ZS [AT] 163 [DOT] COM", EMAIL),
        ("邮箱：ｚｈａｎｇｓａｎ＃ｑｑ．ｃｏｍ", f"邮箱：{EMAIL}"),
        # The street part of an address; the district and the town stay.
        ("张三，住上海市青浦区华新镇xx路88弄5号", f"张三，住上海市青浦区华新镇{ADDRESS}"),
        ("公司在徐泾镇华徐公路3029弄28号，", f"公司在徐泾镇{ADDRESS}，"),
        ("住华志路88号302室", f"住{ADDRESS}"),
        ("家住阳光小区5栋302室", f"家住{ADDRESS}"),
        ("青浦区88弄5号", f"青浦区{ADDRESS}"),
    ],
)
def test_disguised_and_further_personal_data_is_replaced(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_a_question_with_a_name_and_a_full_address_keeps_the_policy_words() -> None:
    out = redact(
        "我是张三，住上海市青浦区华新镇华志路88弄5号，卡号6222021234567890，"
        "青浦区首次认定高企补贴多少？"
    )
    assert out == (
        f"我是张三，住上海市青浦区华新镇{ADDRESS}，卡号{BANK_CARD}，青浦区首次认定高企补贴多少？"
    )


def test_credit_codes_are_told_from_card_numbers_by_their_check_character() -> None:
    assert credit_code_valid("91350100M000100Y43")
    assert not credit_code_valid("91350100M000100Y44")
    assert credit_code_valid("913101157989654326")
    assert redact("913101157989654327") == BANK_CARD  # 18 digits, not a credit code


@pytest.mark.parametrize(
    "identifier",
    [
        "13812345678",
        "+86 138 1234 5678",
        "u13812345678",
        "wx_13812345678",
        "zs@example.com",
        "310101199001011234",
        "6222021234567890",
    ],
)
def test_identifiers_holding_personal_data_are_told(identifier: str) -> None:
    assert looks_personal(identifier)
    stored = redact_identifier(identifier, b"secret")
    assert stored == pseudonym(identifier, b"secret")
    assert stored != identifier and identifier not in stored


@pytest.mark.parametrize(
    "identifier",
    [
        "s-3f9a2c",
        "550e8400-e29b-41d4-a716-446655440000",
        "session42",
        "QA530100020250001",
        "",
    ],
)
def test_harmless_identifiers_are_kept(identifier: str) -> None:
    assert not looks_personal(identifier)
    assert redact_identifier(identifier, b"secret") == identifier


def test_a_pseudonym_is_a_stable_keyed_hash() -> None:
    first = pseudonym("13812345678", b"one key")
    assert first == pseudonym("13812345678", b"one key")
    assert first != pseudonym("13812345678", b"another key")
    assert first != pseudonym("13812345679", b"one key")
    assert len(first) == 20 and all(c in "0123456789abcdef" for c in first)
    with pytest.raises(ValueError):
        pseudonym("13812345678", b"")


def test_a_fingerprint_is_short_stable_and_not_the_text() -> None:
    text = "我电话13812345678"
    assert fingerprint(text) == fingerprint(text) != fingerprint(text + "。")
    assert len(fingerprint(text)) == 8 and "138" not in fingerprint(text)
