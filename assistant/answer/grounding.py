"""Does the retrieved text hold what the question asks for? Pure logic over strings and chunks.

A similarity threshold cannot tell answerable from unanswerable questions here: with the
bundled model the top cosine of unanswerable questions lies inside the range of answerable
ones. So the check is concrete. A question has a subject (its words, weighted by how rare
they are in the index) and asks for a kind of answer (a figure with a unit, a target, a date,
a phone number, an amount per enterprise…). A sentence supports an answer only when it holds
that kind of answer *next to* the subject — "微贷通最高能贷多少" is not answered by the
credit line of 履约贷 in the same sentence.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Literal

from assistant.answer.need import Intent, Kind, holds, read_intent
from assistant.ingest.segmenting import split_sentences
from assistant.models import Chunk, Hit
from assistant.text.vocabulary import Vocabulary, has_chinese, normalize

_DATA = resources.files("assistant.text") / "data"

# Kinds of answer specific enough that a passage lacking them cannot be the answer.
SPECIFIC: tuple[Kind, ...] = ("money", "percent", "count", "people", "time")

_CLAUSE_END = re.compile(r"[，,；;：:、。！？!?]")
_QUOTED_TITLE = re.compile(r"《([^》]{2,60})》")
_QUESTION_FIGURE = re.compile(r"(\d+(?:\.\d+)?)\s*(%|％|亿元|万元|元|亿|万|家|项|个|人|倍)")
FOCUS_BOOST = 1.5  # a follow-up's new subject outweighs the carried question's words
NEAR_SHARE = 0.3  # a word next to the answer must weigh this share of the sentence's rarest
SUBJECT_COVERAGE = 0.5  # share of the question's words that stands in for its telling word
MAX_SENTENCE = 110  # longer sentences are quoted by their clauses around the answer
LIST_SENTENCE = 170  # … unless the question asks for a list, which the whole sentence gives


@dataclass(frozen=True)
class Attribute:
    """A specific thing a question may ask for, and what a passage holding it looks like."""

    zh: str
    en: str
    asks: re.Pattern[str]
    holds: re.Pattern[str]


ATTRIBUTES: tuple[Attribute, ...] = (
    Attribute(
        "联系电话",
        "phone number",
        re.compile(r"电话|热线|联系方式|怎么联系|phone|hotline|telephone|contact"),
        re.compile(r"\d{3,4}[-－]\d{7,8}|(?<!\d)1[3-9]\d{9}(?!\d)|12345"),
    ),
    Attribute(
        "办公地址",
        "address",
        re.compile(r"地址|办公地点|窗口在哪|在哪里办|去哪办|address|office location"),
        re.compile(r"[路街弄]\d+号"),
    ),
    Attribute(
        "网址或邮箱",
        "website or e-mail",
        re.compile(r"网址|网站|邮箱|email|e-mail|website|url"),
        re.compile(r"https?://|www\.|@"),
    ),
    Attribute(
        "截止日期",
        "deadline",
        re.compile(
            r"截止|最晚|申报时间|申请时间|什么时候(?:申报|申请|报名)|几号(?:前|之前|截止)|"
            r"deadline|due date|closing date"
        ),
        re.compile(
            r"(?:截止|截至|之前|以前)(?:日期|时间)?.{0,3}\d{1,2}月\d{1,2}日|"
            r"\d{1,2}月\d{1,2}日(?:前|之前|以前|截止|止)|之日起.{0,16}(?:日|月|年)内|"
            r"期限|届满|[一二三四五六七八九十\d]+日内"
        ),
    ),
    Attribute(
        "利率",
        "interest rate",
        re.compile(r"利率|利息|年化|interest"),
        re.compile(r"利率|利息|年化|贴息"),
    ),
    Attribute(
        "单家企业的金额或标准",
        "amount or standard per enterprise",
        re.compile(
            r"每家|每个企业|每户|单家|单个企业|一家(?:企业)?(?:能|可以|可)?(?:拿|得|领|补|贷)|"
            r"(?:我们|我司|我家|咱们|公司|企业)(?:一般)?(?:能|可以|可)?(?:拿|领|得|获得)(?:到)?的?.{0,8}(?:金额|多少|钱)|"
            r"能(?:拿|领|得)(?:到)?多少|"
            r"(?:补贴|资助|奖励|补助|奖补)标准|标准是多少|per (?:company|enterprise|firm)|"
            r"each (?:company|enterprise|firm)"
        ),
        re.compile(r"每家|每户|每个|每项|单家|最高|不超过|标准为|给予.{0,12}元"),
    ),
    Attribute(
        "最高额度",
        "maximum amount",
        re.compile(
            r"最高(?:能|可|可以)?(?:贷|补|拿|给|奖|资助|额度|多少)|最多(?:能|可|可以)?(?:贷|补|拿|给)|"
            r"上限|封顶|maximum|max\b|up to|at most|ceiling"
        ),
        re.compile(r"最高|最多|不超过|上限|封顶"),
    ),
    Attribute(
        "奖励或补贴",
        "benefit",
        re.compile(
            r"(?:有什么|有哪些|有没有|能拿|能享受|能得到|给什么|给予什么)(?:奖励|补贴|补助|资助|奖补|"
            r"扶持|优惠|支持政策)|what (?:benefit|subsidy|subsidies|reward|support)"
        ),
        re.compile(
            r"奖励|补贴|补助|资助|奖补|优惠|扶持|减按|免征|减征|加计扣除|贴息|配套资金|"
            r"支持|鼓励|享受"
        ),
    ),
    Attribute(
        "条件",
        "conditions",
        re.compile(
            r"(?:满足|符合|具备)(?:哪些|什么)?条件|什么条件|哪些条件|门槛|什么资格|"
            r"what (?:conditions|requirements|criteria)|requirements? for"
        ),
        re.compile(r"(?<!符合)条件(?!的)|下列|应当具备|资格|须|必须"),
    ),
    Attribute(
        "奖金",
        "prize money",
        re.compile(r"奖金|奖多少|prize"),
        re.compile(r"奖金|奖励.{0,10}元|奖.{0,6}元"),
    ),
)

# Words that name an aspect, a time or nothing at all, not a subject: "那今年的目标呢" and
# "其中市级的有几家" have no subject of their own, though 目标 and 其中 are rare in the documents.
# They are not weighed as subject words either: the asked kind of answer covers them.
NOT_SUBJECTS = frozenset(
    "目标 条件 要求 标准 金额 额度 数量 期限 时间 比例 流程 程序 材料 规定 情况 结果 数据 "
    "人数 多少 几家 几个 几项 几年 多少家 多少钱 去年 今年 明年 前年 全年 年底 上半年 下半年 那么 这个 那个 "
    "其中 它们 怎么办 如果 要是 假如 做到 打算 计划 力争 争取 预计 一般 大概 大约 那边 这边 这种 这类 "
    "自己 还有 还要 现在 目前 以上 以下 及以上 多长 多久 一共 总共 能否 是不是 咋样 咋 啥 是啥 怎么搞 "
    "怎么做 要怎么 哪几 哪几种 几种 什么样 搞 target goal plan year".split()
)

# Requests outside policy documents altogether.
OFF_TOPIC = re.compile(
    r"天气|气温|下雨|下雪|写(?:一)?首|作诗|诗歌|对联|笑话|股票|股价|炒股|彩票|菜谱|做菜|星座|算命|"
    r"翻译成|电影|weather|poem|joke|stock (?:price|tip)|lottery|recipe|horoscope"
)


# The place the local documents speak for: naming it does not narrow a question. Its city
# counts the same when named with it ("上海青浦"); named alone ("上海市对高企有什么奖励")
# it asks about city-level rules, which a passage must then speak of.
HOME = frozenset({"青浦区"})
HOME_CITY = "上海市"


@lru_cache(maxsize=1)
def known_places() -> tuple[tuple[str, ...], ...]:
    """Provinces, cities and Shanghai's districts, each with its names (Chinese, English)."""
    text = (_DATA / "places.txt").read_text(encoding="utf-8")
    return tuple(
        tuple(line.split())
        for line in text.splitlines()
        if line.strip() and not line.startswith("#")
    )


def places_named(question: str) -> tuple[tuple[str, ...], ...]:
    """The places a (normalized) question names, each as its tuple of names."""
    words = set(re.findall(r"[a-z'-]+", question))
    return tuple(
        names
        for names in known_places()
        if any(n in question if has_chinese(n) else n in words for n in names)
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
            ("target", "target" in kinds and bool(_asked_kinds(self))),
            ("figure", bool(set(kinds) & {"figure", "money", "percent", "count", "people"})),
            ("time", "time" in kinds),
            ("definition", bool(_ASKS_DEFINITION.search(q))),
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


@dataclass(frozen=True)
class Span:
    """A stretch of a retrieved chunk, in offsets of the chunk's text."""

    rank: int  # the chunk's position in the search results (0 = best)
    chunk: Chunk
    start: int
    end: int

    @property
    def text(self) -> str:
        return self.chunk.text[self.start : self.end]

    @property
    def doc_start(self) -> int:
        return self.chunk.start + self.start

    @property
    def doc_end(self) -> int:
        return self.chunk.start + self.end


def clauses(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Clause spans of a text: split at commas, semicolons, colons, enumeration marks and
    sentence ends, without surrounding blanks."""
    out, begin = [], start
    for m in _CLAUSE_END.finditer(text, start, end):
        out.append((begin, m.end()))
        begin = m.end()
    out.append((begin, end))
    trimmed = []
    for s, e in out:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            trimmed.append((s, e))
    return trimmed


@dataclass
class Support:
    """How well one sentence answers the question."""

    span: Span
    coverage: float  # weighted share of the subject the sentence holds
    kind_ok: bool  # holds the asked kind of answer next to the subject (or nothing was asked)
    attributes_ok: bool  # holds every specific attribute asked (phone, deadline, …)
    figures_ok: bool  # holds the figures the asker stated
    focus: tuple[int, int]  # the clauses worth quoting when the sentence is long
    terms: frozenset[str] = field(default_factory=frozenset)
    subject_ok: bool = True  # holds the question's telling word (or most of its words)
    context_ok: bool = True  # the places and years the question names

    @property
    def answers(self) -> bool:
        return (
            self.kind_ok
            and self.attributes_ok
            and self.figures_ok
            and self.subject_ok
            and self.context_ok
            and self.coverage > 0
        )

    documents: bool = False  # names a document (《…》) when documents were asked for
    form: bool = False  # has the form of the answer asked: a definition, a remedy

    @property
    def score(self) -> float:
        return (
            self.coverage
            + 0.5 * self.kind_ok
            + 0.3 * self.attributes_ok
            + 0.2 * self.figures_ok
            + 0.3 * self.documents
            + 0.3 * self.form
            + 0.15 / (self.span.rank + 1)
        )


def _asked_kinds(need: Need) -> tuple[Kind, ...]:
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


_PLAN = re.compile(r"要点|工作计划|行动方案|规划")  # headings of a plan: its figures are targets


def _needs_target(need: Need) -> bool:
    """A target is required when a figure is asked of one ("目标是多少"), not for "打算怎么做"."""
    return "target" in need.intent.kinds and bool(_asked_kinds(need))


def years_asked(need: Need, doc_year: int | None) -> set[str]:
    """The years a question is about: named ones, and 去年/今年/明年 counted from the document."""
    years = set(re.findall(r"(?:19|20)\d{2}", need.question))
    if doc_year:
        for word, offset in _RELATIVE_YEARS:
            if re.search(word, need.question):
                years.add(str(doc_year + offset))
    return years


# 明年 is read both ways: a plan issued in January speaks of "this year" to its readers, who
# asked about it the year before as "next year".
_RELATIVE_YEARS = (
    (r"前年", -2),
    (r"去年|上一年|last year", -1),
    (r"今年|本年|this year", 0),
    (r"明年|下一年|next year", 0),
    (r"明年|下一年|next year", 1),
)


# What a percentage measures. A question about one (比例) is not answered by another (税率).
_PERCENT_FAMILIES = (
    re.compile(r"税率"),
    re.compile(r"利率|利息"),
    re.compile(r"比例|占比|相当于|占"),
    re.compile(r"增速|增长|增幅|涨幅|上升|提高|下降"),
)


def _percent_family_ok(need: Need, window: str) -> bool:
    """When a question names what its percentage measures, the answer measures the same."""
    asked = [f for f in _PERCENT_FAMILIES if f.search(need.question)]
    return not asked or any(f.search(window) for f in asked)


_ASKS_DEFINITION = re.compile(
    r"指什么|是什么意思|什么意思|含义|定义|什么是|是指什么|what is meant|"
    r"what does .* mean|definition"
)
_ASKS_REMEDY = re.compile(
    r"怎么办|怎么处理|如何处理|怎么补救|能不能补救|有什么办法|what can .* do|what to do"
)
_ASKS_TOTAL = re.compile(r"一共|总共|累计|总数|合计|in total|altogether|so far")
_TOTAL = re.compile(r"累计|共计|总计|合计|总数|全区共|共\d")
_REMEDY = re.compile(r"可以|有权|请求|提起|向.{2,20}(?:提出|申请|请求)")


def _has_form(need: Need, text: str, present: Sequence[Term]) -> bool:
    """True when a sentence has the form the question asks for.

    "科技成果指什么" is answered by "本法所称科技成果，是指…", not by the sentence defining
    科技成果转化; "被驳回了怎么办" by what the applicant may do ("可以…请求复审").
    """
    marker = _ASKS_DEFINITION.search(need.question)
    if marker:
        # The word defined is the one asked last before "指什么".
        before = need.question[: marker.start()]
        asked = max(present, key=lambda t: max(before.rfind(f) for f in t.forms), default=None)
        return asked is not None and any(
            re.search(rf"{re.escape(f)}[,，]?(?:是指|指的是|是)", text) for f in asked.forms
        )
    if _ASKS_REMEDY.search(need.question):
        return bool(_REMEDY.search(text))
    if _ASKS_TOTAL.search(need.question):
        return bool(_TOTAL.search(text))
    return False


def _subject_start(
    text: str, chunk_clauses: Sequence[tuple[int, int]], j: int, kinds: Sequence[Kind], need: Need
) -> int:
    """Where the statement of the figure in clause j begins: up to three clauses back.

    "累计认定登记技术合同839项,同比上升10.69%,成交金额213.79亿元" names its subject two
    clauses before the amount. The walk stops at a clause holding another answer of the
    asked kind (another fact) or naming a sibling the question does not ask about
    ("24家企业通过履约贷审批" for a question about 微贷通).
    """
    start = chunk_clauses[j][0]
    for k in range(j - 1, max(-1, j - 4), -1):
        cs, ce = chunk_clauses[k]
        clause = normalize(text[cs:ce])
        start = cs
        if any(t.found_in(clause) for t in need.terms):
            break
        if any(holds(kind, clause) for kind in kinds) or _names_sibling(clause, need):
            break
    return start


@lru_cache(maxsize=1)
def domain_entities() -> frozenset[str]:
    """The named things of the domain (loan products, qualifications…), from the lexicon."""
    text = (_DATA / "lexicon.txt").read_text(encoding="utf-8")
    return frozenset(
        normalize(line.split()[0])
        for line in text.splitlines()
        if line.strip() and not line.startswith("#")
    )


def _names_sibling(clause: str, need: Need) -> bool:
    """True when a clause names a domain entity that the question does not mention."""
    asked = {f for t in need.terms for f in t.forms}
    return any(e in clause and not any(e in a or a in e for a in asked) for e in domain_entities())


def assess_sentence(
    need: Need, span: Span, doc_year: int | None = None, telling: Sequence[Term] = ()
) -> Support:
    """Score one sentence against the question's need.

    `doc_year` is the year the sentence's document was issued: "去年" in a question read
    against a 2025 work plan means 2024. `telling` are the question's words that the
    retrieved text uses at all (see `telling_terms`).
    """
    text = normalize(span.text)
    heading = normalize(span.chunk.section)
    chunk_clauses = clauses(span.chunk.text, 0, len(span.chunk.text))
    # The clause before the sentence still speaks of its subject: "…的高企予以资金补贴。
    # 惠及企业达527家" names 高企 one sentence earlier.
    before = [s for s, e in chunk_clauses if e <= span.start]
    lead_in = normalize(span.chunk.text[before[-1] : span.start]) if before else ""
    present = [t for t in need.terms if t.found_in(text) or t.found_in(lead_in)]
    in_heading = [t for t in need.terms if t not in present and t.found_in(heading)]
    # Words of the heading say what the passage is about, but less than its own words.
    coverage = (
        sum(t.weight for t in present) + 0.5 * sum(t.weight for t in in_heading)
    ) / need.total_weight
    top = max((t.weight for t in present), default=0.0)
    kinds = _asked_kinds(need)
    focus = (span.start, span.end)
    kind_ok = not kinds
    best_clause_score = -1.0
    for j, (cs, ce) in enumerate(chunk_clauses):
        if cs < span.start or ce > span.end:
            continue
        clause = normalize(span.chunk.text[cs:ce])
        held = [k for k in kinds if holds(k, clause)]
        if kinds and not held:
            continue
        window_start = _subject_start(span.chunk.text, chunk_clauses, j, kinds, need)
        window = normalize(span.chunk.text[window_start:ce])
        near = [t for t in present + in_heading if t.found_in(window)]
        # The answer must sit next to a telling word of the question, not next to a sibling
        # alone (履约贷's credit line is no answer about 微贷通, in the same sentence).
        if kinds and not any(t.weight >= NEAR_SHARE * top for t in near):
            continue
        if "percent" in held and not _percent_family_ok(need, window):
            continue
        score = sum(t.weight for t in near) + len(held)
        if score > best_clause_score:
            best_clause_score = score
            kind_ok = True
            focus = (max(window_start, span.start), ce)
    if not kinds:
        # Nothing specific asked: quote the clauses richest in the question's words.
        inside = [(s, e) for s, e in chunk_clauses if s >= span.start and e <= span.end]
        if inside:
            _, s, e = max(
                (
                    (
                        sum(
                            t.weight for t in present if t.found_in(normalize(span.chunk.text[s:e]))
                        )
                        + (10.0 if need.asks_documents and "《" in span.chunk.text[s:e] else 0),
                        s,
                        e,
                    )
                    for s, e in inside
                ),
                key=lambda x: x[0],
            )
            focus = (s, e)
    if _needs_target(need) and not (holds("target", text) or _PLAN.search(heading)):
        kind_ok = False  # a year's result is not the next year's target
    whole = normalize(span.chunk.text)
    attributes_ok = all(a.holds.search(text) for a in need.attributes)
    figures_ok = all(_figure_number(f) in whole for f in need.figures)
    subject_ok = True
    if (kinds or need.attributes) and telling:
        # A figure must be about the question's rarest word where the retrieved text uses it
        # (微贷通, 高企贷): a sentence without it answers a neighbouring question, unless it
        # holds most of the question's words.
        top_weight = max(t.weight for t in telling)
        subject_ok = (
            any(t in present or t in in_heading for t in telling if t.weight >= 0.9 * top_weight)
            or coverage >= SUBJECT_COVERAGE
        )
    context = f"{heading} {whole}"
    home_named = any(names[0] in HOME for names in need.places)
    places_ok = all(
        any(n in context for n in names)
        for names in need.places
        if names[0] not in HOME and not (home_named and names[0] == HOME_CITY)
    )
    years = years_asked(need, doc_year)
    mentioned = set(re.findall(r"(?:19|20)\d{2}(?=年)", f"{heading} {text}"))
    years_ok = not years or not mentioned or bool(years & mentioned)
    return Support(
        span,
        coverage,
        kind_ok,
        attributes_ok,
        figures_ok,
        focus,
        frozenset(t.word for t in present),
        subject_ok,
        places_ok and years_ok,
        need.asks_documents and "《" in span.text,
        _has_form(need, text, present),
    )


def _figure_number(figure: str) -> str:
    m = re.match(r"\d+(?:\.\d+)?", figure)
    return m.group(0) if m else figure


def telling_terms(need: Need, spans: Sequence[Span]) -> list[Term]:
    """The question's known words that occur somewhere in the retrieved text.

    When the documents use the asker's rarest word, the answer must be where they use it;
    when they never do (a paraphrase), the next rarest word they do use takes its place.
    """
    texts = [normalize(f"{s.chunk.section} {s.chunk.text}") for s in spans]
    return [t for t in need.terms if t.known and any(t.found_in(x) for x in texts)]


def sentences(hits: Sequence[Hit]) -> list[Span]:
    """Every sentence of the retrieved chunks, in rank order."""
    out = []
    for rank, hit in enumerate(hits):
        text = hit.chunk.text
        for s, e in split_sentences(text, 0, len(text)):
            out.append(Span(rank, hit.chunk, s, e))
    return out


def quote_span(support: Support, limit: int = MAX_SENTENCE) -> Span:
    """The part of a sentence to quote: all of it, or the clauses around the answer if long."""
    span = support.span
    if span.end - span.start <= limit:
        return span
    s, e = support.focus
    cl = clauses(span.chunk.text, span.start, span.end)
    # Grow the focus clause by clause while it stays short, so the quote reads as a statement.
    idx = [i for i, (cs, ce) in enumerate(cl) if cs >= s and ce <= e]
    if not idx:
        return span
    lo, hi = idx[0], idx[-1]
    while True:
        grown = False
        if hi + 1 < len(cl) and cl[hi + 1][1] - cl[lo][0] <= limit // 2:
            hi += 1
            grown = True
        if lo > 0 and cl[hi][1] - cl[lo - 1][0] <= limit // 2:
            lo -= 1
            grown = True
        if not grown:
            break
    start, end = cl[lo][0], cl[hi][1]
    while end > start and span.chunk.text[end - 1] in "，,；;：:、":
        end -= 1
    return Span(span.rank, span.chunk, start, end)


Verdict = Literal["answer", "abstain", "out_of_scope"]


@dataclass
class Assessment:
    """The decision on a question: answer from `supports`, or abstain saying why."""

    verdict: Verdict
    supports: list[Support]
    reason_zh: str = ""
    reason_en: str = ""
    candidates: list[Support] = field(default_factory=list)  # every sentence, best first


def subject_phrase(need: Need, limit: int = 2) -> str:
    """The question's subject in a few words, for messages ("微贷通", "履约贷").

    Only words the documents know, and not the words that ask (利率, 奖金): those are said
    by the name of what is missing.
    """
    asked = [m.span() for a in need.attributes for m in a.asks.finditer(need.question)]

    def in_asking(word: str) -> bool:
        at = need.question.find(word)
        return any(s <= at < e for s, e in asked)

    # Never a figure or a symbol of the asker's: an answer restates nothing the documents
    # did not say ("补贴500万元吗" must not come back as "…未载明500").
    words = [
        t
        for t in need.terms
        if t.known
        and not in_asking(t.word)
        and not any(t.word in f for f in need.figures)
        and _PLAIN_WORD.fullmatch(t.word)
    ]
    ranked = sorted(words, key=lambda t: -t.weight)[:limit]
    ordered = [t.word for t in words if t in ranked]
    return ("、" if need.english else "").join(ordered) or "所问事项"


def assess(
    need: Need,
    hits: Sequence[Hit],
    known_titles: Sequence[str],
    corpus_has: Callable[[str], bool],
    doc_years: Mapping[str, int] | None = None,
    mentioned_titles: Sequence[str] = (),
) -> Assessment:
    """Decide whether the retrieved chunks answer the question.

    `known_titles` are the titles of the indexed documents, `mentioned_titles` the titles the
    indexed text names in 《》 (see `titles_mentioned`); `corpus_has(word)` tells whether any
    indexed passage holds a word (to notice places and documents the corpus never covers);
    `doc_years` gives each document's year, against which 去年 and 今年 are read.
    """
    doc_years = doc_years or {}
    if need.off_topic or not need.terms:
        return Assessment("out_of_scope", [])
    if need.terms and all(not corpus_has(f) for t in need.terms for f in t.forms):
        return Assessment("out_of_scope", [])
    spans = sentences(hits)
    telling = telling_terms(need, spans)
    supports = sorted(
        (assess_sentence(need, s, doc_years.get(s.chunk.doc_id), telling) for s in spans),
        key=lambda s: -s.score,
    )
    foreign = [
        names[0]
        for names in need.places
        if names[0] not in HOME and names[0] != HOME_CITY and not any(corpus_has(n) for n in names)
    ]
    if foreign:
        return Assessment(
            "abstain",
            supports,
            f"现有文件未涉及{'、'.join(foreign)}的情况（收录的是青浦区文件和国家法律）",
            f"the documents do not cover {', '.join(foreign)} "
            "(they are Qingpu District documents and national laws)",
        )
    missing = [t for t in need.titles if not any(_same_title(t, k) for k in known_titles)]
    if missing:
        # A title is named as the documents spell it, and only when they name it: the asker's
        # 《…》 is their words, not the documents'.
        named = list(dict.fromkeys(m for t in missing for m in _as_mentioned(t, mentioned_titles)))
        if named:
            names = "、".join(f"《{t}》" for t in named)
            return Assessment(
                "abstain",
                supports,
                f"{names}的正文未收录，现有文件只提到了它",
                f"the full text of {names} is not in the documents; they only mention it",
            )
        return Assessment(
            "abstain",
            supports,
            "现有文件中没有所问名称的文件，也没有文件提到它",
            "no indexed document has the name asked about, and none mentions it",
        )
    answering = [s for s in supports if s.answers]
    if answering:
        return Assessment("answer", answering, candidates=supports)
    subject = subject_phrase(need)
    wanted_zh = "、".join(a.zh for a in need.attributes) or _kind_label(need)
    wanted_en = ", ".join(a.en for a in need.attributes) or _kind_label(need, en=True)
    if need.figures and not any(s.figures_ok for s in supports if s.coverage > 0):
        # The asker's figure is not repeated: said back, it would read as the documents'.
        return Assessment(
            "abstain",
            supports,
            f"现有文件未载明{subject}为所问的数额",
            f"the documents do not state the figure asked about for {subject}",
        )
    return Assessment(
        "abstain",
        supports,
        f"现有文件未载明{subject}的{wanted_zh}",
        f"the documents do not state the {wanted_en} asked for ({subject})",
    )


def _same_title(asked: str, title: str) -> bool:
    a, t = normalize(asked), normalize(title)
    return a in t or t in a


_MENTIONED_TITLE = re.compile(r"《([^《》\n]{2,60})》")
_PLAIN_WORD = re.compile(r"[^\W\d_]+")  # letters only: no digits, markup or punctuation
_MAX_NAMED = 3


def titles_mentioned(texts: Iterable[str]) -> list[str]:
    """The document titles named in 《》 in some texts, as they spell them, each once."""
    return list(
        dict.fromkeys(m.group(1).strip() for text in texts for m in _MENTIONED_TITLE.finditer(text))
    )


def _as_mentioned(asked: str, mentioned: Sequence[str]) -> list[str]:
    """The titles the documents name that the asker means: the same one, else those holding
    all of it (never one merely inside it: 《X规划补充办法》 is not 《X规划》)."""
    a = normalize(asked)
    same = [m for m in mentioned if normalize(m) == a]
    return same or [m for m in mentioned if a in normalize(m)][:_MAX_NAMED]


_KIND_LABELS = {
    "money": ("金额", "amount"),
    "percent": ("比例", "percentage"),
    "count": ("数量", "number"),
    "people": ("人数", "number of people"),
    "time": ("时间", "date or period"),
    "figure": ("具体数字", "figure"),
    "target": ("目标", "target"),
    "doc_number": ("文号", "document number"),
}


def _kind_label(need: Need, en: bool = False) -> str:
    kinds = _asked_kinds(need)
    if not kinds:
        return "相关内容" if not en else "answer"
    return ("、" if not en else ", ").join(_KIND_LABELS[k][1 if en else 0] for k in kinds)
