"""Personal data is removed before anything is stored; policy figures are left alone."""

from __future__ import annotations

import pytest

from assistant.redaction import redact


@pytest.mark.parametrize(("text", "kept", "gone"), [
    ("我电话13812345678，想问补贴", "想问补贴", "13812345678"),
    ("手机 138 1234 5678 联系", "联系", "138 1234 5678"),
    ("手机138-1234-5678", "手机", "1234-5678"),
    ("+86 13812345678", "", "13812345678"),
    ("座机021-69712345", "座机", "69712345"),
    ("身份证310101199001011234", "身份证", "310101199001011234"),
    ("身份证31010119900101123X号", "号", "31010119900101123X"),
    ("老身份证310101900101123", "老身份证", "310101900101123"),
    ("邮箱a.b@qq.com，谢谢", "邮箱", "a.b@qq.com"),
])
def test_contact_details_and_id_numbers_are_replaced(text: str, kept: str, gone: str) -> None:
    out = redact(text)
    assert gone not in out and kept in out and "已隐去" in out


@pytest.mark.parametrize("text", [
    "总投资达686.22亿元", "有效高企数达1164家", "青科委〔2025〕1号", "索引号QA530100020250001",
    "2025-01-16 19:37:14", "2023年12月至2024年11月", "授信额度共计1.46亿元", "第一百一十二条",
    "研发经费支出相当于地区生产总值比例达4.53%",
])
def test_policy_figures_dates_and_numbers_stay(text: str) -> None:
    assert redact(text) == text
