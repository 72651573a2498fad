"""What kind of answer a question asks for (a figure, a target, a time, a document number) and
whether a text holds that kind of answer: pure functions over text, used by retrieval to lift
passages holding the asked kind and by the answer path to read what is asked.

A passage on the right subject that lacks the kind of answer asked for is rarely what the asker
needs: "去年技术合同成交了多少钱" wants the sentence with 亿元 in it, not the one about services.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from assistant.text.vocabulary import normalize

Kind = Literal[
    "figure", "money", "percent", "count", "people", "target", "time", "period", "doc_number"
]

_NUMBER = r"(?:\d+(?:\.\d+)?|[一二三四五六七八九十两百千万亿]+)"
# An English word's edge: between a Latin letter and anything else. Unlike \b it holds beside
# a Han character, so "高企的tax rate" still asks a rate.
_EDGE = r"(?:(?<![a-z])(?=[a-z])|(?<=[a-z])(?![a-z]))"


def _asks(pattern: str) -> re.Pattern[str]:
    """A pattern of what is asked, its English words (marked \b) matched whole."""
    return re.compile(pattern.replace(r"\b", _EDGE))


# 几 asks "how many", but not after a numeral or before 十, 百 or 千: 十几个人 and 几十家 are
# an approximate number, and 哪几个 asks "which".
_FEW = r"(?<![哪一二三四五六七八九十百千万\d])几(?![十百千])"

# What the question says → what it asks for.
_ASKS: list[tuple[Kind, re.Pattern[str]]] = [
    (
        "figure",
        _asks(
            rf"多少|{_FEW}[个家项次年人]|几成|多大|多高|数量|具体(?:的)?(?:数|数字|数额|金额)|"
            r"\bhow (?:many|much)\b|\bwhat share\b|"
            r"\bwhat (?:percentage|proportion|rate|amount)\b|\btotal\b|"
            r"\b(?:largest|biggest|highest|maximum|max|most|minimum|lowest|smallest)\b"
            r"(?! of\b).{0,24}\b(?:amount|sum|loan|subsidy|grant|award|reward|credit|funding|"
            r"bonus|rate|share|number|count|figure)s?\b"
        ),
    ),
    (
        "money",
        _asks(
            r"多少钱|金额|资金|额度|投资|投了|拨付|营收|收入|成交|贷多少|补多少|"
            # "补贴的钱几月份到账" asks when, not how much; "补贴分哪几种" which kinds.
            rf"(?:奖金|资助|补贴|补助|奖励|奖补|费用|钱).{{0,6}}(?:多少|{_FEW}(?![月年天日号周种类档]))|"
            r"(?:多少|几).{0,3}(?:钱|奖金|资助|补贴|补助|费用|补偿|赔偿|罚款|工资)|"
            r"能(?:拿|领|得|贷|补)多少|"
            # "所得额在多少万以内" asks a sum of money; "多少万人" a number of people.
            rf"(?:多少|{_FEW})[万亿](?:元|块)?(?![人件个家项次台户])|"
            # "how much incubation space" asks an area, "how much time" a period.
            r"\bhow much\b(?!(?:\s+[a-z-]+){0,3}\s+(?:space|area|land|floor|time|capacity|room)s?\b)|"
            r"\bamount\b|\binvestment\b|\brevenue\b|\bfunding\b|"
            r"\b(?:largest|biggest|highest|maximum|max)\b.{0,24}\b(?:loan|subsidy|grant|award|"
            r"reward|credit|funding|bonus|sum)s?\b"
        ),
    ),
    (
        "percent",
        _asks(
            r"比例|占比|百分之|税率|增速|增幅|涨幅|增长率|几成|几折|几倍|多少倍|%|"
            # What is taken out of an income is a share of it: "从转让净收入里分多少".
            r"从.{0,12}(?:收入|所得|利润|收益)(?:里|中|当中)?.{0,4}(?:分|拿|提|给|奖).{0,3}多少|"
            r"\bpercent(?:age)?\b|\brates?\b|\bshare\b|\bproportion\b|\bmultipl(?:y|ied|ier)\b|"
            r"\bgrowth\b|\bgrow(?:s|n)? by\b|\bhow much of\b|"
            r"\bhow many times\b"
        ),
    ),
    (
        "count",
        _asks(
            # "哪几个核心产品" asks which, not how many.
            rf"多少家|{_FEW}家|多少个|{_FEW}个|多少项|{_FEW}项|"
            r"\bhow many\b(?! (?:years|months|days|weeks|people|persons|times)\b)"
        ),
    ),
    ("people", _asks(r"多少人|几人|人数|人次|\bhow many (?:people|persons)\b")),
    (
        "target",
        _asks(
            r"目标|力争|争取|计划|打算|想做到|要做到|"
            # "今年要建几个" asks this year's aim; "明年能盈利了，亏损能抵几年" a length of time.
            r"(?:今年|明年).*(?:要|多少(?![年天日周]|个月)|几(?![年天日周]|个月))|"
            # English words whole: "claim priority" asks no aim, "explain" no plan.
            r"\b(?:targets?|goals?|plans?|planned|aims?)\b"
        ),
    ),
    (
        "time",
        _asks(
            # A length of time ("几年", "how long") is asked as a "period", which is a time too.
            r"什么时候|何时|哪一?天|哪一?年|哪个?月|(?<![文编])几号|期限|截止|几月|日期|时限|时间要求|"
            # "when" asks at the start or before a verb, not as "when an employee invents".
            r"^\s*when\b|\bwhen (?:is|was|were|will|do|does|did|must|should|can|shall|may)\b|"
            r"\bdeadline\b|\bdate\b|"
            r"\b(?:within|by) (?:what|which) (?:time|date|period)\b|\btake effect\b"
        ),
    ),
    (
        # A length of time in units ("几年", "多少天"): "一定期限" or "之日起" states none.
        "period",
        _asks(
            rf"{_FEW}[年天日周]|{_FEW}个(?:月|工作日)|多少(?:年|天|日|周|个月|个工作日)|"
            r"多久|多长时间|\bhow long\b|\bhow (?:many|much) (?:years|months|days|weeks|time)\b|"
            r"\bnumber of (?:years|months|days|weeks)\b"
        ),
    ),
    ("doc_number", _asks(r"文号|发文字号|文件编号|\bdocument number\b")),
]

# A length of time in units; "上一年度", "每一年", "前一年" name a period, not a time limit or a
# date, but after 以前 or 之后 a length is one ("申请日以前六个月内"). A calendar year (2025年)
# is a date, not a length.
_LENGTH = (
    rf"(?<![上下每当同\d])(?<!(?<![以之])[前后])(?!(?:19|20)\d{{2}}年){_NUMBER}\s*"
    r"(?:年(?!度)|个月|月|日|天|周|个工作日)"
)
# What a passage holds, per kind of answer.
# "前款第一项至第三项", "第三十条": a reference to a part of a text counts nothing.
_NOT_REFERENCE = r"(?<!第)(?<![\d一二三四五六七八九十两百千万亿])"
_HOLDS: dict[Kind, re.Pattern[str]] = {
    "figure": re.compile(
        rf"{_NOT_REFERENCE}{_NUMBER}\s*(?:%|亿|万|元|家|项|个|人|次|场|批|倍|小时|平方米|"
        rf"年|月|日)|百分之{_NUMBER}"
    ),
    "money": re.compile(rf"{_NUMBER}\s*(?:亿|万)?元"),
    "percent": re.compile(rf"{_NUMBER}\s*%|百分之|成(?:以上|以下)|倍"),
    # "24个月" is a period, not a count of months.
    "count": re.compile(rf"{_NOT_REFERENCE}{_NUMBER}\s*(?:家|项|个(?!月|小时|工作日)|批|场|所|座)"),
    "people": re.compile(rf"{_NUMBER}\s*(?:万)?(?:人次|人)"),
    "target": re.compile(r"力争|争取|目标|达到|年内|全年.{0,6}达"),
    "time": re.compile(rf"{_LENGTH}|之日起|期限|当年|次年|\d{{4}}年\d{{1,2}}月"),
    "period": re.compile(_LENGTH),
    "doc_number": re.compile(r"〔\d{4}〕\d+号|\[\d{4}\]\d+号"),
}


def holds(kind: Kind, text: str) -> bool:
    """True when a (normalized) text holds an answer of that kind."""
    return bool(_HOLDS[kind].search(text))


@dataclass(frozen=True)
class Intent:
    """The kinds of answer a question asks for (possibly none)."""

    kinds: frozenset[Kind]

    def matches(self, text: str) -> float:
        """Share of the asked-for kinds that the text holds (0 when nothing was asked)."""
        if not self.kinds:
            return 0.0
        t = normalize(text)
        return sum(1 for k in self.kinds if _HOLDS[k].search(t)) / len(self.kinds)


_YES_NO = re.compile(r"(?:吗|么|嘛)\s*[？?]?\s*$")
_TAG_LENGTH = 3
_ASKING_CLAUSE = re.compile(
    # 哪 asks in every compound (哪些, 哪一天, 哪位, 哪部…), except 哪怕 ("even if").
    r"吗|呢|多少(?![都也])|什么|哪(?!怕)|怎么|如何|是否|是不是|对不对|"
    rf"{_FEW}[家个项人次年月天批成]|哪几|"
    r"有没有|能不能|可不可以|多久|多长|多大|多高|多远|何时|(?:么|嘛)\s*[？?]?\s*$|[？?]$"
)


# "也没挣多少", "没赚几个钱", "花不了多少": "not much", told, not asked.
_NOT_MUCH = re.compile(r"(?:没有?|不了)[\u4e00-\u9fff]{0,2}?(?:多少|几个)")


def asks(clause: str) -> bool:
    """True when a clause asks something (多少, 吗, 哪些…), rather than stating a fact."""
    return bool(_ASKING_CLAUSE.search(_NOT_MUCH.sub("", clause)))


def yes_no(sentence: str) -> bool:
    """True when a sentence asks yes or no ("…能有优惠吗？")."""
    return bool(_YES_NO.search(sentence))


def tag_question(clause: str) -> bool:
    """True for a clause that only asks whether what was said before holds: "有规定吗",
    "对吗", "可以吗". The clause before it is what is asked."""
    return yes_no(clause) and len(re.sub(r"[吗么嘛？?\s]", "", clause)) <= _TAG_LENGTH


def asking_part(question: str) -> str:
    """The part of a question that asks, without the clauses that describe the asker.

    In a yes/no question the earlier clauses state facts: "投了几家初创企业，所得税上能有优惠吗"
    says "several" with 几家, it does not ask how many. So a sentence ending in 吗 asks only
    with its last clause; other sentences ask with all of theirs.
    """
    # Each sentence with its end mark: "高企补贴？" asks by its mark alone.
    marked = [
        (m.group(1).strip(), m.group(2))
        for m in re.finditer(r"([^？?。！!]+)([？?。！!]*)", normalize(question))
        if m.group(1).strip()
    ]
    some_ask = len(marked) > 1 and any(asks(f"{t}{end[:1]}") for t, end in marked)
    # An asker who marks questions with ？ closes what he tells with 。: "准备牵头几家会员厂一起
    # 搞个团体标准。团标…还是…？" says "several" with 几家, it does not ask how many.
    marks_questions = len(marked) > 1 and any(end[:1] in ("？", "?") for _, end in marked)
    parts = []
    for sentence, end in marked:
        clauses = [c for c in re.split(r"[，,；;]", sentence) if c.strip()]
        if marks_questions and end[:1] in ("。", "！", "!"):
            continue
        if _YES_NO.search(sentence):
            # "…最晚要在几月几号前办完，有规定吗": a tag asks with the clause before it.
            sentence = "，".join(clauses[-2:] if tag_question(clauses[-1]) else clauses[-1:])
        elif len(clauses) > 1 and any(asks(c) for c in clauses):
            # "我们打算给新结构申请个实用新型，保护期有几年": 打算 tells, it does not ask.
            sentence = "，".join(c for c in clauses if asks(c))
        elif some_ask and not asks(f"{sentence}{end[:1]}"):
            # "今年终于开始盈利了。…结转几年？": a sentence that asks nothing tells.
            continue
        parts.append(sentence)
    return "，".join(parts)


# "按认缴还是实缴比例来分" asks which of two, not a figure: its answer names one of them.
_CHOICE = re.compile(r"[^，,；;。？?]还是[^，,；;。？?]")
# "按100%加计还是别的比例": a choice offering a percentage asks the percentage.
_PERCENT_OFFERED = re.compile(
    r"\d+(?:\.\d+)?\s*[%％][^，,；;。？?]{0,8}还是|还是[^，,；;。？?]{0,8}\d+(?:\.\d+)?\s*[%％]"
)
# "有写具体数吗" asks whether a figure is stated: it asks the figure.
_HOW_MUCH = re.compile(
    rf"多少|{_FEW}[家个项人次年月天批成折]|具体(?:的)?(?:数|数字|数额|金额)|"
    r"\bhow (?:many|much)\b"
)
# Asking whether, in any of its forms.
_WHETHER = re.compile(
    r"会不会|是否|要不要|能不能|可不可以|是不是|有没有|算不算|用不用|需不需要|(?:吗|么|嘛)\s*$"
)
# "按100%加计还是75%" chooses between figures: its answer is a figure of their kind.
FIGURE_CHOICE = re.compile(
    r"(\d+(?:\.\d+)?\s*[%％]?)[^，,；;。？?\d]{0,8}还是[^，,；;。？?\d]{0,4}(\d+(?:\.\d+)?\s*[%％]?)"
)


_FEW_ANY = re.compile(_FEW)
_CLAUSE = re.compile(r"[^，,；;。？?！!]+")
# "…，或者拉几家同行一起定": a clause opening with 或者 offers another option of the one before.
ALTERNATIVE = re.compile(r"\s*(?:或者|或是)")


def _asks_how_much(question: str) -> bool:
    """Whether the question asks an amount. In a clause asking whether, in one joined to it by
    或者 and in one a tag asks about, 几 says "a few": "能不能自己定标准，或者拉几家同行一起
    定" asks no count."""
    whether = False
    clauses = _CLAUSE.findall(question)
    for i, clause in enumerate(clauses):
        whether = (
            bool(_WHETHER.search(clause))
            or (whether and bool(ALTERNATIVE.match(clause)))
            # "有几个指标想定得宽松一点，可以吗": the clause a tag asks about asks whether.
            or (i + 1 < len(clauses) and tag_question(clauses[i + 1]))
        )
        if _HOW_MUCH.search(_FEW_ANY.sub("", clause) if whether else clause):
            return True
    return False


def read_intent(question: str) -> Intent:
    """What kinds of answer the question asks for."""
    q = asking_part(question)
    kinds = frozenset(kind for kind, pattern in _ASKS if pattern.search(q))
    if "period" in kinds:
        kinds |= {"time"}  # how long is a question of time
    choice = FIGURE_CHOICE.search(q)
    if choice:
        kinds = kinds | {"percent" if "%" in choice.group(0) else "figure"}
    elif _CHOICE.search(q) and not _asks_how_much(q) and not _PERCENT_OFFERED.search(q):
        kinds = kinds - {"figure", "percent", "money", "count", "people"}
    elif _WHETHER.search(q) and not _asks_how_much(q):
        # "会不会挤占工资总额额度" asks whether, not how much: 额度 names what is asked about.
        kinds = kinds - {"figure", "money", "count", "people"}
    if _NAMES_ASKED.search(q) and not _HOW_MUCH.search(_COUNT_OF_THINGS.sub("", q)):
        # "几个核心产品分别叫啥": naming them tells how many; no count need be written.
        kinds = kinds - {"figure", "count"}
    return Intent(kinds)


_NAMES_ASKED = re.compile(
    r"分别(?:叫|是)|叫(?:什么|啥)|(?:是|有)哪些|哪几|什么名字|名称|\bnamed?\b"
)
_COUNT_OF_THINGS = re.compile(rf"(?:多少|{_FEW})[个家项种类款]")
