"""Personal data removed from text before it is stored (pure functions).

Enterprises type their contact details into questions ("我电话13812345678，…"). Records keep
the question for staff, never the phone number, the ID-card number or the e-mail address.
Policy figures (686.22亿元, 1164家, 青科委〔2025〕1号, index numbers such as
QA530100020250001) stay as they are.
"""

from __future__ import annotations

import re

# Digits not glued to other digits, letters or a decimal point: a figure inside an index
# number or an amount is not a phone number.
_EDGE_BEFORE = r"(?<![\dA-Za-z.])"
_EDGE_AFTER = r"(?![\dA-Za-z.])"

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"), "【邮箱已隐去】"),
    (re.compile(_EDGE_BEFORE + r"\d{6}(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
                r"\d{3}[\dXx]" + _EDGE_AFTER), "【身份证号已隐去】"),
    (re.compile(_EDGE_BEFORE + r"\d{6}\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}"
                + _EDGE_AFTER), "【身份证号已隐去】"),
    (re.compile(_EDGE_BEFORE + r"(?:\+?86[- ]?)?1[3-9]\d[- ]?\d{4}[- ]?\d{4}" + _EDGE_AFTER),
     "【手机号已隐去】"),
    (re.compile(_EDGE_BEFORE + r"0\d{2,3}[- ]?\d{7,8}" + _EDGE_AFTER), "【电话已隐去】"),
)


def redact(text: str) -> str:
    """The text with phone numbers, ID-card numbers and e-mail addresses replaced."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text
