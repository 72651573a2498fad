"""What a question needs from an answer: the kinds of answer asked (`assistant.text.intent`),
and its subject (its words, weighted by how rare they are in the index), the attributes,
figures, places and titles it names, which the answer must match. Pure functions over text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property

from assistant.answer import brackets
from assistant.answer.aspects import (
    ATTRIBUTES,
    FAILURE,
    NOT_SUBJECTS,
    OFF_TOPIC,
    Attribute,
    domain_entities,
    places_named,
)
from assistant.text.intent import FIGURE_CHOICE, Intent, Kind, asking_part, asks, read_intent
from assistant.text.vocabulary import Vocabulary, has_chinese, normalize

# Kinds of answer specific enough that a passage lacking them cannot be the answer.
SPECIFIC: tuple[Kind, ...] = ("money", "percent", "count", "people", "period", "time")
FOCUS_BOOST = 1.5  # a follow-up's new subject outweighs the carried question's words
_TIMES = re.compile(r"前年|去年|今年|明年|本年|当年|上半年|下半年|年底|年初")
_QUOTED_TITLE = re.compile(r"《([^》]{2,60})》")
_QUESTION_FIGURE = re.compile(r"(\d+(?:\.\d+)?)\s*(%|％|亿元|万元|元|亿|万|家|项|个|人|倍)")
# A share named with what it is of: "研发费用占销售收入的比例", "补贴的比例".
_RATIO = re.compile(r"([^，,。？?；;]{2,24}?)(?:占|的)?(?:比例|占比|比重)")
# … or with what it is a share of: "研发费用占销售收入得达到百分之多少".
_SHARE_OF = re.compile(
    r"([^，,。？?；;]{1,12}?占[^，,。？?；;]{1,12}?)[^，,。？?；;]{0,6}?(?:百分之|多少\s*%|几成)"
)
# "两三万块": a figure the asker says in words.
_NUMERAL_WORD = re.compile(r"[零一二两三四五六七八九十百千万亿几]+(?:块|元|人|家|个|年|天|月)?")
# "是不是就不按25%交了": the asker expects another figure than the one they deny.
_DENIED_FIGURE = re.compile(r"(?:不|不再|不用|不是)(?:按|是|用|交|算)?$")
# The asker naming themselves ("我们公司刚拿到…", "我司"): who asks, not what about. Left in,
# 公司 is the rarest word of a law question and pulls the answer to whatever clause says 公司.
_ASKER = re.compile(
    r"(?:我们|咱们|我|本)(?:这家|这个|这种|这类|这样的)?(?:公司|企业|单位|厂子|厂)|我司"
)


_ASKS_TITLE = re.compile(
    r"(?:文件|办法|政策|规定|方案|意见)[^，,。？?]{0,4}(?:全称|名称|名字|标题|叫什么|叫啥)|"
    r"\b(?:title|full name|name) of (?:the|that|this) (?:document|policy|measures|regulation)s?\b"
)
_DOMESTIC = re.compile(r"国内|境内|本国|domestic")
_ABROAD = re.compile(
    r"外国|境外|国外|海外|跨境|出口|进口|外籍|外资|非居民|foreign|overseas|abroad|non-resident"
)


@dataclass(frozen=True)
class Term:
    """A subject word of the question, the forms it may take in a text, and its weight."""

    word: str
    forms: tuple[str, ...]
    weight: float
    known: bool = True  # some passage holds one of its forms

    def found_in(self, text: str) -> bool:
        """True when the (normalized) text holds any form of the term."""
        return any(_held(f, text) for f in self.forms)


def _held(form: str, text: str) -> bool:
    """True when the text holds the form other than negated: 非职务发明创造 is no
    职务发明创造, 非居民企业 no 居民企业 (but 除非法律… still names 法律)."""
    at = text.find(form)
    while at >= 0:
        negated = text[at - 1 : at] == "非" and text[at - 2 : at - 1] not in _NOT_NEGATING
        if not (negated and has_chinese(form[:1])):
            return True
        at = text.find(form, at + 1)
    return False


_NOT_NEGATING = ("除", "无", "是", "莫")  # 除非, 无非, 是非, 莫非 do not negate what follows


@dataclass(frozen=True)
class Need:
    """What a question needs from the documents."""

    question: str
    intent: Intent
    terms: tuple[Term, ...]
    attributes: tuple[Attribute, ...] = ()
    figures: tuple[str, ...] = ()  # figures the asker states ("是100%吗"): a text must hold them
    alternatives: tuple[str, ...] = ()  # figures offered as a choice: a text must hold one
    choices: tuple[str, ...] = ()  # words offered as a choice ("小型企业还是中型企业")
    unheard: tuple[str, ...] = ()  # statutory terms asked about that no indexed text holds
    places: tuple[tuple[str, ...], ...] = ()  # places named in the question (their names)
    titles: tuple[str, ...] = ()  # documents named in 《》
    off_topic: bool = False
    english: bool = False
    siblings: frozenset[str] = frozenset()  # the documents' named things the question does not name
    names: tuple[str, ...] = ()  # the documents' named things the question names
    entities: frozenset[str] = frozenset()  # the domain's named things (lexicon, site words)
    stated: Mapping[str, float] = field(default_factory=dict)  # the asker's own figures (brackets)
    denied: frozenset[str] = frozenset()  # degrees the asker says the case is not (不算严重)

    @property
    def ratio_terms(self) -> tuple[Term, ...]:
        """The words of the share asked for ("研发费用占销售收入的比例" → 研发费用, 销售收入):
        a percentage answers only when it is theirs, not another's (完成率100%)."""
        m = _RATIO.search(self.question)
        if not m or not re.search(r"比例|占比|比重", m.group(0)):
            m = _SHARE_OF.search(self.question)
        if not m:
            return ()
        return tuple(t for t in self.terms if any(f in m.group(1) for f in t.forms))

    @property
    def total_weight(self) -> float:
        return sum(t.weight for t in self.terms) or 1.0

    @cached_property
    def asking(self) -> str:
        """The part of the question that asks (see `asking_part`), read once per question."""
        return asking_part(self.question) or self.question

    @cached_property
    def failed(self) -> tuple[Term, ...]:
        """The actions the asker says were not done ("一直没在平台上公开" → 公开), when what
        follows from the failure is asked: a rule on that failure is about the question's
        subject, whatever else it names."""
        if not any(a.zh == FAILURE for a in self.attributes):
            return ()
        return tuple(
            t
            for t in self.terms
            if any(
                re.search(rf"[没不未][^，,。？?]{{0,6}}{re.escape(f)}", self.question)
                for f in t.forms
            )
        )

    @cached_property
    def domestic(self) -> bool:
        """True when the question speaks of home ground only ("另一家国内公司")."""
        if not _DOMESTIC.search(self.question):
            return False
        return not any(_ABROAD.search(f) for t in self.terms for f in t.forms) and not (
            _ABROAD.search(self.question)
        )

    def abroad_instead(self, text: str) -> bool:
        """True when a text speaks only of what lies abroad ("来源于中国境外的股息") and the
        question of home ground only: the rule is about the opposite case."""
        return self.domestic and bool(_ABROAD.search(text)) and not _DOMESTIC.search(text)

    @property
    def asks_documents(self) -> bool:
        return bool(
            re.search(
                r"(?:哪些|什么|哪个|哪部|哪份|哪几)(?:科技方面的|方面的)?(?:政策)?(?:文件|政策|法律|办法|规定)|"
                r"which (?:law|document|policy|policies)",
                self.question,
            )
            or self.asks_title
        )

    @property
    def asks_title(self) -> bool:
        """Whether a document's name is asked ("那个文件全称叫什么"): only a text naming a
        document in 《》 answers."""
        return bool(_ASKS_TITLE.search(self.asking))

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
            re.search(r"哪些|有什么|哪几|都有|包括|what are|which .*s\b|list", self.question)
        )


def read_need(
    question: str,
    vocab: Vocabulary,
    weight_of: Callable[[str], float],
    unknown_weight: float,
    focus: Sequence[str] = (),
    places: Sequence[tuple[str, ...]] = (),
    names: Collection[str] = (),
    corpus_has: Callable[[str], bool] = lambda _: False,
) -> Need:
    """The subject and the asked-for answer of a question.

    `weight_of` gives a word's idf in the served index (0 when no passage holds it); a word the
    index does not know weighs `unknown_weight` and is marked unknown. Words in `focus`
    (the new subject of a follow-up) outweigh the rest, so the answer is about them. `places`
    are the indexed documents' places the question names (see `Gazetteer.named_in`): like
    the places of places.txt they narrow the answer by where it applies, and are not subject
    words, since the clause that answers says 本区, not the name. `names` are the named
    things of the documents (“科创微贷”, see `quoted_names`): one the question names is one
    subject word, however the tokenizer would cut it, and the others are its siblings;
    `corpus_has` tells whether the indexed text holds a string (see `_inside_longer`).
    """
    q = normalize(question)
    named = tuple(dict.fromkeys((*places_named(q, vocab.site_words), *places)))
    place_words = {n for names in named for n in names}
    # What the asker tells ("打着主管部门的旗号", "发一笔奖金") asks for nothing.
    asked_text = asking_part(q)
    alternatives = _alternatives(q)
    attributes = tuple(
        a for a in ATTRIBUTES if any(q[s:e] in asked_text for s, e in a.asking_spans(q))
    )
    # The words that ask ("最多贷", "电话多少") are said by the attribute, not the subject.
    asking = [q[s:e] for a in attributes for s, e in a.asking_spans(q)]
    english = not has_chinese(q)
    matches = vocab.synonym_matches(q if english else times_apart(q))
    synonyms: dict[str, tuple[str, ...]] = {}
    for used, others in matches:
        for u in used:
            synonyms[u] = tuple(dict.fromkeys((*synonyms.get(u, ()), *others)))
    terms: dict[str, Term] = {}
    if english:
        # English reaches the documents only through the glossary: one term per group touched.
        # A group the index never uses (公司法 asked of a corpus without it) is no telling word.
        for used, others in matches:
            forms = tuple(f for f in (*used, *others) if has_chinese(f))
            if forms:
                w = max((weight_of(f) for f in forms), default=0.0)
                terms[forms[0]] = Term(forms[0], forms, w or unknown_weight, w > 0)
    else:
        # Places and times are read apart, so their characters never join a neighbour:
        # "去年报高企" is 去年 + 报高企, not 年报.
        rest = _ASKER.sub("，", times_apart(q))
        # Figures the asker denies or offers as a choice are what the answer decides, not
        # what it is about.
        decided = (*_denied_figures(q), *alternatives)
        for place in sorted(place_words, key=len, reverse=True):
            rest = rest.replace(place, "，")
        for name in sorted(names, key=len, reverse=True):
            if len(name) >= 2 and name in rest and not _inside_longer(rest, name, corpus_has):
                w = weight_of(name)
                terms[name] = Term(
                    name,
                    (name, *synonyms.get(name, ())),
                    (w or unknown_weight) * (FOCUS_BOOST if name in focus else 1.0),
                    w > 0,
                )
                rest = rest.replace(name, "，")
        whole = list(terms)  # the names taken whole: their pieces are no words of their own
        for word in vocab.words(rest):
            if word in terms or word in NOT_SUBJECTS or word in _BOUNDS:
                continue
            if len(word) < 2 and not word.isdigit():
                continue
            if _NUMERAL_WORD.fullmatch(word):
                continue  # "两三万块": the asker's figure in words
            if word[:1].isdigit() and re.search(rf"(?<![\d.]){re.escape(word)}\s*{_UNIT}", q):
                continue  # 第10天, 15年, 4倍: the asker's own figures, read as brackets
            if any(word in d or d in word for d in decided):
                continue
            if any(word in a for a in asking) or any(word in n for n in whole):
                continue
            forms = (word, *synonyms.get(word, ()))
            known = [weight_of(f) for f in forms if weight_of(f) > 0]
            # The asker's own word weighs what it weighs in the documents; a paraphrase
            # weighs like its most common documented form, so a rare synonym cannot make a
            # common word look telling.
            w = weight_of(word) or (min(known) if known else unknown_weight)
            # A word rare in the documents but common in speech (之前, 员工, 开始) tells less
            # about the subject than a term of art does.
            w *= 1.0 - vocab.everyday(word)
            if word in focus:
                w *= FOCUS_BOOST
            terms[word] = Term(word, forms, w, bool(known))
        # A synonym phrase spanning several jieba words ("刚拿到") still names its group.
        for used, others in matches:
            for u in used:
                if u in place_words or any(u in a for a in asking):
                    continue
                if u in _BOUNDS or any(o in _BOUNDS for o in others):
                    continue  # 最多能 = 不得超过 says what kind of answer, not about what
                if any(d in u for d in decided):
                    continue
                if u not in terms and has_chinese(u) and not any(u in t for t in terms):
                    forms = (u, *others)
                    w = max((weight_of(f) for f in forms), default=0.0) or unknown_weight
                    terms[u] = Term(u, forms, w)
    # "我们是做环保设备的小公司" says what the asker makes, not what is asked about: its
    # words tell little unless the question speaks of them again.
    trade = [m.span(1) for m in _LINE_OF_BUSINESS.finditer(q)]
    for word, term in list(terms.items()):
        spans = [m.span() for m in re.finditer(re.escape(word), q)]
        if trade and spans and all(any(s >= a and e <= b for a, b in trade) for s, e in spans):
            terms[word] = replace(term, weight=term.weight * TRADE_SHARE)
    return Need(
        question=q,
        intent=read_intent(question),
        terms=tuple(terms.values()),
        attributes=attributes,
        figures=_asked_figures(q),
        alternatives=alternatives,
        choices=() if alternatives else _choices(asked_text),
        # "个人所得税" asked of documents on 企业所得税: a statutory term the documents never
        # write is of a law they do not hold, though its pieces (所得税) are theirs.
        unheard=()
        if english
        else tuple(
            t.word
            for t in terms.values()
            if t.word in vocab.statutory
            and t.word in asked_text  # "股东会决定把公司注销掉" only tells
            and not any(corpus_has(f) for f in t.forms)
        ),
        places=named,
        siblings=frozenset(n for n in names if n not in terms),
        names=tuple(n for n in terms if n in names),
        entities=domain_entities(vocab.site_words),
        stated=brackets.stated(asking_part_free(q)),
        denied=brackets.denied_degrees(q),
        titles=tuple(m.group(1) for m in _QUOTED_TITLE.finditer(question)),
        off_topic=bool(OFF_TOPIC.search(q)),
        english=english,
    )


_CLAUSE = re.compile(r"[，,；;。！!？?]")
# The asker's line of business: "我们是做创投的", "我们是一家做办公家具的小微企业".
_LINE_OF_BUSINESS = re.compile(
    r"(?:我们|我司|我们公司|咱们|公司|我们厂)(?:是|是一家|是个)?(?:做|搞|生产|从事)"
    r"([^，,。？?]{1,12}?)的"
)
TRADE_SHARE = 0.3  # of its weight a word naming only the asker's trade keeps


def _asked_figures(question: str) -> tuple[str, ...]:
    """The figures the asking clauses state for the documents to confirm, but not one the
    asker denies ("是不是就不按25%交了"): they expect another figure."""
    asked = _asking_clauses(question)
    denied = _denied_figures(asked)
    return tuple(m.group(0) for m in _QUESTION_FIGURE.finditer(asked) if m.group(0) not in denied)


def _alternatives(question: str) -> tuple[str, ...]:
    """The figures a question offers to choose from ("按100%加计还是75%")."""
    choice = FIGURE_CHOICE.search(question)
    if not choice:
        return ()
    # "100%…还是75" leaves the second bare: both are shares when the first is one.
    unit = "%" if "%" in choice.group(0) else ""
    return tuple(
        g.strip() if g.strip().endswith("%") else f"{g.strip()}{unit}" for g in choice.groups()
    )


def _choices(question: str) -> tuple[str, ...]:
    """The two things a question asks to choose between ("算小型企业还是中型企业"): the
    words after 还是, and as many characters before it, since the two are said alike."""
    m = _TWO_THINGS.search(question)
    if not m or len(m.group(1)) < len(m.group(2)):
        return ()
    second = m.group(2)
    first = m.group(1)[-len(second) :]
    return (first, second) if first != second else ()


_TWO_THINGS = re.compile(
    r"([\u4e00-\u9fff]+)还是([\u4e00-\u9fff]{2,6}?)(?:呢|啊|吧)?(?=[，,。？?；;]|$)"
)


def _denied_figures(question: str) -> tuple[str, ...]:
    """The figures the asker denies ("是不是就不按25%交了")."""
    return tuple(
        m.group(0)
        for m in _QUESTION_FIGURE.finditer(question)
        if _DENIED_FIGURE.search(question[: m.start()])
    )


def _asking_clauses(question: str) -> str:
    """The clauses of a question that ask. A figure elsewhere is a fact about the asker
    ("认缴了1000万，要几年内缴足"), not one the documents must confirm ("补贴是500万元吗")."""
    return "，".join(c for c in _CLAUSE.split(question) if asks(c))


def times_apart(text: str) -> str:
    """The text with its time words set apart, so their characters join no neighbour."""
    return _TIMES.sub("，", text)


def asking_part_free(question: str) -> str:
    """The question without what it asks for: "最长能签几年" states no figure of the asker's."""
    return re.sub(r"几[年个月日天周]|多少[年个月日天周万元]*|多[久长]", " ", question)


def _inside_longer(text: str, name: str, corpus_has: Callable[[str], bool]) -> bool:
    """True when a name is, in this text, part of a longer word the documents use:
    科技成果转化 in "科技成果转化法" is part of the law's title, not the programme."""
    at = text.find(name)
    before, after = text[max(0, at - 1) : at], text[at + len(name) : at + len(name) + 1]
    return any(
        c and has_chinese(c) and corpus_has(joined)
        for c, joined in ((before, before + name), (after, name + after))
    )


# Words that bound the answer asked for (最多能, 不得超过): its kind, never its subject.
_BOUNDS = frozenset("最多 最多能 最长 最久 上限 封顶 最少 最低 最高 不得超过 不得低于".split())
# A number the asker states with its unit ("收货第10天了", "干了15年"): a fact about the asker.
_UNIT = r"(?:天|日|个月|月|年|周|倍|万|元|人|家|次|%)"


def asked_kinds(need: Need) -> tuple[Kind, ...]:
    """The kinds of answer a supporting sentence must hold, most specific first."""
    kinds = need.intent.kinds
    if any(a.locates for a in need.attributes) and not kinds - {"figure"}:
        # "电话多少" asks for a phone number, which the attribute itself recognizes.
        return ()
    if "percent" in kinds:
        # "研发费用占销售收入的比例": 收入 names the base, the ask is a share.
        return ("percent",)
    specific = tuple(k for k in SPECIFIC if k in kinds)
    if "period" in specific:
        # "禁几年" asks how long: a date or "一定期限" says when, not how long.
        specific = tuple(k for k in specific if k != "time")
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
