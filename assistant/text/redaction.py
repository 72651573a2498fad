"""Personal data removed from text before it is stored or logged (pure functions).

Enterprises type their contact details into questions ("我电话13812345678，…"). Records keep
the question for staff, never the personal details in it. `redact(text)` replaces, each with
a label saying what was there:

- mobile numbers, however written: 13812345678, 138-1234-5678, 138.1234.5678, +86 138 1234 5678,
  digit by digit ("1 3 8 1 2 3 4 5 6 7 8") or in Chinese numerals (一三八一二三四五六七八, with
  幺 for 1 and 〇/零 for 0);
- landline numbers (021-69712345, （0755）26543210);
- ID-card numbers, whole or in groups (310101 19900101 1234, 110101-1990-0307-1234);
- bank card numbers: 16 to 19 digits, whole or in groups of four;
- passport numbers: the ordinary Chinese form (E12345678, EA1234567, G12345678) anywhere, and
  any letters-and-digits number right after 护照 or "passport";
- e-mail addresses, also written to dodge filters (zhangsan at qq dot com, zhangsan#qq.com,
  zhangsan(at)163.com);
- the street part of a home or office address: road, lane, house and room numbers
  (华新镇xx路88弄5号 keeps 华新镇); a district or town named without a house number stays.

Policy figures (686.22亿元, 1164家, 3000万元, 2025年, 青科委〔2025〕1号, index numbers such as
QA530100020250001 or 000014349/2025-00012, 统一社会信用代码) and dates stay as they are.

    >>> redact("电话138-1234-5678，邮箱zs@example.com")
    '电话【手机号已隐去】，邮箱【邮箱已隐去】'

Identifiers chosen by a client (a session id) are sometimes a phone number. `looks_personal`
tells whether a text or identifier holds personal data; `pseudonym(value, secret)` is a keyed
hash (HMAC-SHA256, 20 hex characters) to store in its place, the same for the same value and
secret, so one person's records still group together; `redact_identifier(value, secret)` does
both: the identifier itself when it is harmless, else its pseudonym. `fingerprint(text)` is a
short unkeyed hash for log lines, and `described(text)` ("[42 chars #1a2b3c4d]") how a log
line names a user's text, so the lines about one question can be matched up without writing
the question down.

    >>> redact_identifier("13812345678", b"k") == pseudonym("13812345678", b"k")
    True
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass

MOBILE = "【手机号已隐去】"
LANDLINE = "【电话已隐去】"
ID_CARD = "【身份证号已隐去】"
EMAIL = "【邮箱已隐去】"
BANK_CARD = "【银行卡号已隐去】"
PASSPORT = "【护照号已隐去】"
ADDRESS = "【地址已隐去】"

PSEUDONYM_LENGTH = 20  # hex characters: 80 bits, ample for telling people apart

# Full-width ASCII (１３８…, ＠, －, （ ）) as typed by Chinese input methods, folded to ASCII
# one character for one, so spans found in the folded text are spans of the original.
_FOLD = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}

# Not glued to a digit, a letter or a decimal point: the digits inside an index number,
# an enterprise code or an amount such as 686.22 are not a phone number.
_BEFORE = r"(?<![0-9A-Za-z])(?<![0-9]\.)"
_AFTER = r"(?![0-9A-Za-z])(?!\.[0-9])"

# Between groups of digits: a dash or a dot (with a space either side or not), or spaces.
_GROUP = r"(?:[ ]?[-.·][ ]?|[ ]{1,2})"
# Between any two digits of an ID number: people group them every 3, 4 or 6 as they please.
_S = r"(?:[ ]?-[ ]?|[ ]{1,2})?"


def _spaced(*atoms: str) -> str:
    """The atoms in order, each pair allowed a separator between them."""
    return _S.join(atoms)


_DIGIT = r"[0-9]"
_YEAR = rf"(?:1{_S}9|2{_S}0){_S}{_DIGIT}{_S}{_DIGIT}"
_MONTH = rf"(?:0{_S}[1-9]|1{_S}[0-2])"
_DAY = rf"(?:0{_S}[1-9]|[12]{_S}[0-9]|3{_S}[01])"
_ID18 = _spaced("[1-9]", *[_DIGIT] * 5, _YEAR, _MONTH, _DAY, *[_DIGIT] * 3, "[0-9Xx]")
_DATE = r"(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])"  # MMDD, so random digits rarely pass

# Chinese numerals read digit by digit, as phone numbers are said aloud.
_CN_DIGITS = "〇零○一幺二两三四五六七八九"
_CN_DIGIT = f"[{_CN_DIGITS}]"
_CN_ANY = f"[0-9{_CN_DIGITS}十百千万亿]"

_TLD = r"(?:com|cn|net|org|edu|gov|info|biz|io|me|cc|co|top|xyz|vip|hk|tw|mo)"
_AT = r"(?:[ ]*(?:\(at\)|\[at\]|\{at\}|<at>|#|艾特)[ ]*|[ ]+at[ ]+)"
_DOT = r"(?:[ ]*(?:\(dot\)|\[dot\]|\{dot\}|<dot>|点)[ ]*|[ ]+dot[ ]+|\.)"

# Addresses: a street (or housing estate) and its numbers. Admin divisions (省市区县镇乡) end a
# street's name, so a district's or a town's name (…区, …镇) stays; a few verbs (住, 在) start an address, not name it.
_NAME = r"[^\W\d_省市区县镇乡住在于至到是为]"
_STREET = r"(?:大道|公路|路|街|巷|弄|胡同)"
_ESTATE = r"(?:小区|花园|公寓|大厦|新村|家园|苑)"
_NUM = r"[0-9一二三四五六七八九十百零〇]+"
_UNIT = r"(?:号楼|号院|支弄|弄|号|栋|幢|座|单元|楼|层|室|户)"
_HOUSE = rf"{_NUM}[ ]?{_UNIT}(?:[ ]?[-—]?[ ]?{_NUM}[ ]?{_UNIT}?)*"


@dataclass(frozen=True)
class _Kind:
    """One kind of personal data: how it looks, its label, and a check on each find."""

    name: str
    label: str
    pattern: re.Pattern[str]
    accept: Callable[[re.Match[str]], bool] = lambda m: True


def _not_credit_code(m: re.Match[str]) -> bool:
    """An all-digit 统一社会信用代码 has 18 digits and a valid check character: keep it."""
    digits = re.sub(r"\D", "", m.group(0))
    return not (len(digits) == 18 and digits == m.group(0) and credit_code_valid(digits))


def _card(m: re.Match[str]) -> bool:
    """16–19 digits are a card, unless they are a credit code or a row of years (2023 2024 …)."""
    groups = re.split(r"\D+", m.group(0))
    years = len(groups) > 1 and all(re.fullmatch(r"(?:19|20)\d\d", g) for g in groups)
    return not years and _not_credit_code(m)


def _a_home(m: re.Match[str]) -> bool:
    """A street or estate with its number; without one, numbers only a dwelling has (88弄5号)."""
    if m.group("street"):
        return True
    units = re.findall(_UNIT, m.group(0))
    return len(units) >= 2 and ("弄" in units or units[-1] in ("室", "号", "户"))


def _compile(body: str) -> re.Pattern[str]:
    return re.compile(body, re.IGNORECASE)


# In priority order: of two finds starting at one place the longer wins, then the earlier here.
_KINDS: tuple[_Kind, ...] = (
    _Kind(
        "email",
        EMAIL,
        _compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"),
    ),
    _Kind(
        "email",
        EMAIL,
        _compile(
            rf"(?<![A-Za-z0-9._%+-])[A-Za-z0-9][A-Za-z0-9._%+-]*{_AT}(?!www\b)"
            rf"(?:[A-Za-z0-9-]+{_DOT})+{_TLD}(?![A-Za-z0-9])"
        ),
    ),
    _Kind("id18", ID_CARD, _compile(_BEFORE + _ID18 + _AFTER)),
    _Kind(
        "id15", ID_CARD, _compile(_BEFORE + rf"[1-9][0-9]{{5}}[0-9]{{2}}{_DATE}[0-9]{{3}}" + _AFTER)
    ),
    _Kind(
        "card",
        BANK_CARD,
        _compile(
            _BEFORE
            + rf"[1-9][0-9]{{3}}(?:{_GROUP}?[0-9]{{4}}){{3}}(?:{_GROUP}?[0-9]{{1,3}})?"
            + _AFTER
        ),
        _card,
    ),
    _Kind(
        "mobile",
        MOBILE,
        _compile(
            _BEFORE
            + rf"(?:\+?86{_GROUP}?)?1[3-9][0-9]{_GROUP}?[0-9]{{4}}{_GROUP}?[0-9]{{4}}"
            + _AFTER
        ),
    ),
    # Digit by digit: "1 3 8 1 2 3 4 5 6 7 8", "1.3.8.1.2.3.4.5.6.7.8".
    _Kind(
        "mobile",
        MOBILE,
        _compile(_BEFORE + rf"(?:\+?86{_GROUP})?1{_GROUP}[3-9](?:{_GROUP}[0-9]){{9}}" + _AFTER),
    ),
    _Kind(
        "mobile",
        MOBILE,
        _compile(
            rf"(?<!{_CN_ANY})[一幺][ .·-]?[三四五六七八九](?:[ .·-]?{_CN_DIGIT}){{9}}"
            rf"(?!{_CN_ANY})"
        ),
    ),
    # Area code 0xx(x), then a local number, which never starts with 0 or 1.
    _Kind(
        "landline",
        LANDLINE,
        _compile(_BEFORE + r"(?:\(0[0-9]{2,3}\)|0[0-9]{2,3})[- ]?[2-9][0-9]{6,7}" + _AFTER),
    ),
    _Kind(
        "passport",
        PASSPORT,
        _compile(
            r"(?:护照|passport)[ ]*(?:号码|号|number|no\.?)?[ ]*(?:是|为|is)?[ ]*[:：#]?[ ]*"
            r"(?P<value>[A-Za-z]{1,2}[0-9]{6,9}[0-9A-Za-z]?)(?![0-9A-Za-z])"
        ),
    ),
    _Kind(
        "passport",
        PASSPORT,
        re.compile(r"(?<![0-9A-Za-z])(?:[EG][0-9]{8}|E[A-HJ-NP-Z][0-9]{7})(?![0-9A-Za-z])"),
    ),
    _Kind(
        "address",
        ADDRESS,
        re.compile(rf"(?P<street>{_NAME}{{0,10}}?(?:{_STREET}|{_ESTATE}))?{_HOUSE}"),
        _a_home,
    ),
)

# GB 32100-2015: the 31 characters of a credit code and the weights of its first 17.
_CREDIT_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def credit_code_valid(code: str) -> bool:
    """True when an 18-character 统一社会信用代码 has the right check character."""
    code = code.upper()
    if len(code) != 18 or any(c not in _CREDIT_CHARS for c in code):
        return False
    total = sum(_CREDIT_CHARS.index(c) * w for c, w in zip(code, _CREDIT_WEIGHTS, strict=False))
    return _CREDIT_CHARS[(31 - total % 31) % 31] == code[17]


def _finds(text: str) -> list[tuple[int, int, str]]:
    """Non-overlapping (start, end, label) of the personal data in a text, in order."""
    folded = text.translate(_FOLD)
    found: list[tuple[int, int, int, str]] = []
    for rank, kind in enumerate(_KINDS):
        for m in kind.pattern.finditer(folded):
            if not kind.accept(m):
                continue
            start, end = m.span("value") if "value" in kind.pattern.groupindex else m.span()
            found.append((start, end, rank, kind.label))
    out: list[tuple[int, int, str]] = []
    last = 0
    for start, end, _, label in sorted(found, key=lambda f: (f[0], -f[1], f[2])):
        if start >= last and end > start:
            out.append((start, end, label))
            last = end
    return out


def redact(text: str) -> str:
    """The text with personal data (phones, ID, card and passport numbers, e-mail and
    street addresses) replaced by labels."""
    parts: list[str] = []
    last = 0
    for start, end, label in _finds(text):
        parts += [text[last:start], label]
        last = end
    parts.append(text[last:])
    return "".join(parts)


def looks_personal(text: str) -> bool:
    """True when a text or identifier holds personal data that `redact` would remove.

    Identifiers glue letters to digits ("u13812345678", "wx_13812345678"), which prose does
    not, so the digits are also read with the letters around them set apart.
    """
    if _finds(text):
        return True
    apart = re.sub(r"[A-Za-z_]+", " ", text.translate(_FOLD))
    return apart != text and bool(_finds(apart))


def pseudonym(value: str, secret: bytes) -> str:
    """A keyed stand-in for a value: the first 20 hex characters of its HMAC-SHA256."""
    if not secret:
        # Without a key, every phone number's hash can be computed and looked up.
        raise ValueError("pseudonym() needs a non-empty secret")
    return hmac.new(secret, value.encode("utf-8"), hashlib.sha256).hexdigest()[:PSEUDONYM_LENGTH]


def redact_identifier(value: str, secret: bytes) -> str:
    """The identifier as it may be stored: itself, or its pseudonym when it looks personal."""
    return pseudonym(value, secret) if looks_personal(value) else value


def fingerprint(text: str) -> str:
    """Eight hex characters of the text's SHA-256: matches log lines about one text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]


def described(text: str) -> str:
    """A user's text as a log line names it: its length and fingerprint, never its words."""
    return f"[{len(text)} chars #{fingerprint(text)}]"
