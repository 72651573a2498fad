"""What a question asks for (a figure, a target, a time, a document number) and whether a
passage holds that kind of answer. Pure functions over text, shared by retrieval and answering.

`read_intent` gives the kinds of answer asked; `read_need` adds the question's subject (its
words, weighted by how rare they are in the index), the attributes, figures, places and titles
it names, which the answer must match.

A passage on the right subject that lacks the kind of answer asked for is rarely what the asker
needs: "去年技术合同成交了多少钱" wants the sentence with 亿元 in it, not the one about services.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from assistant.answer.aspects import ATTRIBUTES, NOT_SUBJECTS, OFF_TOPIC, Attribute, places_named
from assistant.text.vocabulary import Vocabulary, has_chinese, normalize

Kind = Literal["figure", "money", "percent", "count", "people", "target", "time", "doc_number"]

_NUMBER = r"(?:\d+(?:\.\d+)?|[一二三四五六七八九十两百千万亿]+)"

# What the question says → what it asks for.
_ASKS: list[tuple[Kind, re.Pattern[str]]] = [
    (
        "figure",
        re.compile(
            r"多少|几[个家项次年人]|几成|多大|多高|数量|how (?:many|much)|what share|"
            r"what (?:percentage|proportion|rate|amount)|total"
        ),
    ),
    (
        "money",
        re.compile(
            r"多少钱|金额|资金|额度|投资|投了|拨付|营收|收入|成交|贷多少|补多少|"
            r"(?:奖金|资助|补贴|补助|奖励|奖补|费用|钱).{0,6}(?:多少|几)|"
            r"(?:多少|几).{0,3}(?:钱|奖金|资助|补贴|补助|费用)|能(?:拿|领|得|贷|补)多少|"
            r"how much|amount|investment|revenue|funding"
        ),
    ),
    (
        "percent",
        re.compile(
            r"比例|占比|百分之|税率|增速|增幅|涨幅|增长率|几成|%|percent|rate|share|"
            r"proportion"
        ),
    ),
    (
        "count",
        re.compile(
            r"多少家|几家|多少个|几个|多少项|几项|"
            r"how many(?! (?:years|months|days|weeks|people|persons|times))"
        ),
    ),
    ("people", re.compile(r"多少人|几人|人数|人次|how many people")),
    (
        "target",
        re.compile(
            r"目标|力争|争取|计划|打算|想做到|要做到|今年.*(?:要|多少|几)|明年|"
            r"target|goal|plan|aim"
        ),
    ),
    (
        "time",
        re.compile(
            r"什么时候|何时|哪天|哪一天|多久|期限|截止|几年|几月|日期|时限|时间要求|多长时间|"
            r"when|how long|how many (?:years|months|days|weeks)|deadline|date"
        ),
    ),
    ("doc_number", re.compile(r"文号|发文字号|文件编号|document number")),
]

# What a passage holds, per kind of answer.
_HOLDS: dict[Kind, re.Pattern[str]] = {
    "figure": re.compile(
        rf"{_NUMBER}\s*(?:%|亿|万|元|家|项|个|人|次|场|批|倍|小时|平方米|"
        rf"年|月|日)|百分之{_NUMBER}"
    ),
    "money": re.compile(rf"{_NUMBER}\s*(?:亿|万)?元"),
    "percent": re.compile(rf"{_NUMBER}\s*%|百分之|成(?:以上|以下)|倍"),
    "count": re.compile(rf"{_NUMBER}\s*(?:家|项|个|批|场|所|座)"),
    "people": re.compile(rf"{_NUMBER}\s*(?:万)?(?:人次|人)"),
    "target": re.compile(r"力争|争取|目标|达到|年内|全年.{0,6}达"),
    "time": re.compile(
        rf"{_NUMBER}\s*(?:年|个月|月|日|天)(?:内|以内|之内)?|之日起|期限|当年|次年|"
        r"\d{4}年\d{1,2}月"
    ),
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


_YES_NO = re.compile(r"(?:吗|么|嘛)\s*$")


def asking_part(question: str) -> str:
    """The part of a question that asks, without the clauses that describe the asker.

    In a yes/no question the earlier clauses state facts: "投了几家初创企业，所得税上能有优惠吗"
    says "several" with 几家, it does not ask how many. So a sentence ending in 吗 asks only
    with its last clause; other sentences ask with all of theirs.
    """
    parts = []
    for sentence in re.split(r"[？?。！!]+", normalize(question)):
        sentence = sentence.strip()
        if not sentence:
            continue
        if _YES_NO.search(sentence):
            sentence = re.split(r"[，,；;]", sentence)[-1]
        parts.append(sentence)
    return "，".join(parts)


def read_intent(question: str) -> Intent:
    """What kinds of answer the question asks for."""
    q = asking_part(question)
    return Intent(frozenset(kind for kind, pattern in _ASKS if pattern.search(q)))


# Kinds of answer specific enough that a passage lacking them cannot be the answer.
SPECIFIC: tuple[Kind, ...] = ("money", "percent", "count", "people", "time")
FOCUS_BOOST = 1.5  # a follow-up's new subject outweighs the carried question's words
_QUOTED_TITLE = re.compile(r"《([^》]{2,60})》")
_QUESTION_FIGURE = re.compile(r"(\d+(?:\.\d+)?)\s*(%|％|亿元|万元|元|亿|万|家|项|个|人|倍)")


@dataclass(frozen=True)
class Term:
    """A subject word of the question, the forms it may take in a text, and its weight."""

    word: str
    forms: tuple[str, ...]
    weight: float
    known: bool = True  # some passage holds one of its forms

    def found_in(self, text: str) -> bool:
        """True when the (normalized) text holds any form of the term."""
        return any(f in text for f in self.forms)


@dataclass(frozen=True)
class Need:
    """What a question needs from the documents."""

    question: str
    intent: Intent
    terms: tuple[Term, ...]
    attributes: tuple[Attribute, ...] = ()
    figures: tuple[str, ...] = ()  # figures the asker states ("是100%吗"): a text must hold them
    places: tuple[tuple[str, ...], ...] = ()  # places named in the question (their names)
    titles: tuple[str, ...] = ()  # documents named in 《》
    off_topic: bool = False
    english: bool = False

    @property
    def total_weight(self) -> float:
        return sum(t.weight for t in self.terms) or 1.0

    @property
    def asks_documents(self) -> bool:
        return bool(
            re.search(
                r"(?:哪些|什么|哪个|哪部|哪份|哪几)(?:科技方面的|方面的)?(?:政策)?(?:文件|政策|法律|办法|规定)|"
                r"which (?:law|document|policy|policies)",
                self.question,
            )
        )

    @property
    def kind(self) -> str:
        """What the question asks for, in one word (the `intent` of an answer)."""
        q = self.question
        kinds = self.intent.kinds
        checks = (
            ("document", self.asks_documents or "doc_number" in kinds),
            ("difference", bool(re.search(r"还差|差多少|相差|差距|多了多少|少了多少", q))),
            ("target", "target" in kinds and bool(asked_kinds(self))),
            ("figure", bool(set(kinds) & {"figure", "money", "percent", "count", "people"})),
            ("time", "time" in kinds),
            ("definition", bool(ASKS_DEFINITION.search(q))),
            (
                "condition",
                bool(
                    re.search(
                        r"条件|符合|资格|哪些企业|什么企业|哪类企业|谁能|谁可以|"
                        r"能不能(?:申请|享受)|可以(?:申请|享受)|qualif|eligib",
                        q,
                    )
                ),
            ),
            (
                "process",
                bool(re.search(r"怎么|如何|流程|程序|手续|步骤|怎么办|how (?:do|can|to)", q)),
            ),
            ("list", self.asks_list),
            (
                "yesno",
                bool(re.search(r"吗[?？]?$|是否|能不能|可不可以|^(?:can|is|are|do|does)\b", q)),
            ),
        )
        return next((name for name, hit in checks if hit), "general")

    @property
    def asks_several(self) -> bool:
        """True when the question asks more than one thing ("目标、…要建几个", two questions)."""
        return len(re.findall(r"多少|几[家个项人次年月]|什么|哪些|吗", self.question)) > 1

    @property
    def asks_list(self) -> bool:
        return bool(
            re.search(r"哪些|有什么|有哪几|都有|包括|what are|which .*s\b|list", self.question)
        )


def read_need(
    question: str,
    vocab: Vocabulary,
    weight_of: Callable[[str], float],
    unknown_weight: float,
    focus: Sequence[str] = (),
) -> Need:
    """The subject and the asked-for answer of a question.

    `weight_of` gives a word's idf in the served index (0 when no passage holds it); a word the
    index does not know weighs `unknown_weight` and is marked unknown. Words in `focus`
    (the new subject of a follow-up) outweigh the rest, so the answer is about them.
    """
    q = normalize(question)
    english = not has_chinese(q)
    matches = vocab.synonym_matches(q)
    synonyms: dict[str, tuple[str, ...]] = {}
    for used, others in matches:
        for u in used:
            synonyms[u] = tuple(dict.fromkeys((*synonyms.get(u, ()), *others)))
    terms: dict[str, Term] = {}
    if english:
        # English reaches the documents only through the glossary: one term per group touched.
        for used, others in matches:
            forms = tuple(f for f in (*used, *others) if has_chinese(f))
            if forms:
                w = max((weight_of(f) for f in forms), default=0.0) or unknown_weight
                terms[forms[0]] = Term(forms[0], forms, w)
    else:
        for word in vocab.words(q):
            if word in terms or word in NOT_SUBJECTS or (len(word) < 2 and not word.isdigit()):
                continue
            forms = (word, *synonyms.get(word, ()))
            known = [weight_of(f) for f in forms if weight_of(f) > 0]
            # The asker's own word weighs what it weighs in the documents; a paraphrase
            # weighs like its most common documented form, so a rare synonym cannot make a
            # common word look telling.
            w = weight_of(word) or (min(known) if known else unknown_weight)
            if word in focus:
                w *= FOCUS_BOOST
            terms[word] = Term(word, forms, w, bool(known))
        # A synonym phrase spanning several jieba words ("刚拿到") still names its group.
        for used, others in matches:
            for u in used:
                if u not in terms and has_chinese(u) and not any(u in t for t in terms):
                    forms = (u, *others)
                    w = max((weight_of(f) for f in forms), default=0.0) or unknown_weight
                    terms[u] = Term(u, forms, w)
    return Need(
        question=q,
        intent=read_intent(question),
        terms=tuple(terms.values()),
        attributes=tuple(a for a in ATTRIBUTES if a.asks.search(q)),
        figures=tuple(m.group(0) for m in _QUESTION_FIGURE.finditer(q)),
        places=places_named(q),
        titles=tuple(m.group(1) for m in _QUOTED_TITLE.finditer(question)),
        off_topic=bool(OFF_TOPIC.search(q)),
        english=english,
    )


def asked_kinds(need: Need) -> tuple[Kind, ...]:
    """The kinds of answer a supporting sentence must hold, most specific first."""
    kinds = need.intent.kinds
    if "percent" in kinds:
        # "研发费用占销售收入的比例": 收入 names the base, the ask is a share.
        return ("percent",)
    specific = tuple(k for k in SPECIFIC if k in kinds)
    if specific:
        return specific
    if "figure" in kinds:
        return ("figure",)
    if "target" in kinds and re.search(r"目标|指标|target|goal", need.question):
        return ("target",)
    return ()


def needs_target(need: Need) -> bool:
    """A target is required when a figure is asked of one ("目标是多少"), not for "打算怎么做"."""
    return "target" in need.intent.kinds and bool(asked_kinds(need))


ASKS_DEFINITION = re.compile(
    r"指什么|是什么意思|什么意思|含义|定义|什么是|是指什么|what is meant|"
    r"what does .* mean|definition"
)
