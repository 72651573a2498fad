"""Personal data removed from text before it is stored (pure functions).

Enterprises type their contact details into questions ("我电话13812345678，…"). Records keep
the question for staff, never the mobile or landline number, the ID-card number or the e-mail
address. Policy figures (686.22亿元, 1164家, 2025年, 青科委〔2025〕1号, index numbers such as
QA530100020250001 or 000014349/2025-00012) and dates stay as they are.

    >>> redact("电话138-1234-5678，邮箱zs@example.com")
    '电话【手机号已隐去】，邮箱【邮箱已隐去】'
"""

from __future__ import annotations

import re

MOBILE = "【手机号已隐去】"
LANDLINE = "【电话已隐去】"
ID_CARD = "【身份证号已隐去】"
EMAIL = "【邮箱已隐去】"

# Full-width ASCII (１３８…, ＠, －, （ ）) as typed by Chinese input methods, folded to ASCII
# one character for one, so spans found in the folded text are spans of the original.
_FOLD = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}

# Not glued to a digit, a letter or a decimal point: the digits inside an index number,
# an enterprise code or an amount such as 686.22 are not a phone number.
_BEFORE = r"(?<![0-9A-Za-z])(?<![0-9]\.)"
_AFTER = r"(?![0-9A-Za-z])(?!\.[0-9])"
_DATE = r"(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])"  # MMDD, so random digits rarely pass

# Alternatives in priority order: at one position the first that matches wins.
_PATTERN = re.compile("|".join(f"(?P<{name}>{body})" for name, body in (
    ("email", r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"),
    ("id18", _BEFORE + rf"[1-9][0-9]{{5}}[- ]?(?:19|20)[0-9]{{2}}{_DATE}[- ]?[0-9]{{3}}[0-9Xx]"
     + _AFTER),
    ("id15", _BEFORE + rf"[1-9][0-9]{{5}}[0-9]{{2}}{_DATE}[0-9]{{3}}" + _AFTER),
    ("mobile", _BEFORE + r"(?:\+?86[- ]?)?1[3-9][0-9][- ]?[0-9]{4}[- ]?[0-9]{4}" + _AFTER),
    # Area code 0xx(x), then a local number, which never starts with 0 or 1.
    ("landline", _BEFORE + r"(?:\(0[0-9]{2,3}\)|0[0-9]{2,3})[- ]?[2-9][0-9]{6,7}" + _AFTER),
)))
_LABELS = {"email": EMAIL, "id18": ID_CARD, "id15": ID_CARD, "mobile": MOBILE,
           "landline": LANDLINE}


def redact(text: str) -> str:
    """The text with phone numbers, ID-card numbers and e-mail addresses replaced by labels."""
    parts: list[str] = []
    last = 0
    for m in _PATTERN.finditer(text.translate(_FOLD)):
        parts += [text[last:m.start()], _LABELS[m.lastgroup or ""]]
        last = m.end()
    parts.append(text[last:])
    return "".join(parts)
