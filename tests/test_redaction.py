"""Personal data is removed before anything is stored; policy figures are left alone."""

from __future__ import annotations

import pytest

from assistant.redaction import EMAIL, ID_CARD, LANDLINE, MOBILE, redact


@pytest.mark.parametrize(("text", "expected"), [
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
])
def test_contact_details_and_id_numbers_are_replaced(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_a_question_with_every_kind_keeps_its_words() -> None:
    out = redact("我是张三，电话13812345678，座机021-69712345，身份证310101199001011234，"
                 "邮箱zs@example.com，高企奖励多少？")
    assert out == (f"我是张三，电话{MOBILE}，座机{LANDLINE}，身份证{ID_CARD}，"
                   f"邮箱{EMAIL}，高企奖励多少？")


@pytest.mark.parametrize("text", [
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
])
def test_policy_figures_dates_and_numbers_stay(text: str) -> None:
    assert redact(text) == text
