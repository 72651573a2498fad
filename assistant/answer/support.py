"""How well one sentence of the retrieved text answers a question, and what of it to quote.

A sentence supports an answer only when it holds the asked kind of answer *next to* the
subject — "微贷通最高能贷多少" is not answered by the credit line of 履约贷 in the same
sentence — and speaks of the places and years the question names.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from assistant.answer import brackets
from assistant.answer.aspects import NOWHERE, Home
from assistant.answer.names import names_sibling, sibling_named
from assistant.answer.need import ASKS_DEFINITION, Need, Term, asked_kinds, needs_target
from assistant.ingest.segmenting import split_sentences
from assistant.models import Chunk, Hit
from assistant.text.intent import Kind, holds
from assistant.text.items import ITEM
from assistant.text.vocabulary import normalize

_CLAUSE_END = re.compile(r"[，,；;：:、。！？!?]")
# Firms and institutions are counted in 家, and a count in 家 is what "多少家" asks.
_ASKS_FIRMS = re.compile(r"(?:多少|几)家")
_FIRMS = re.compile(r"(?:\d+(?:\.\d+)?|[一二三四五六七八九十两百千万]+)\s*家")
_PROVISO = re.compile(r"但|然而|除外|不过")
MIN_QUOTE = 12  # characters: a shorter piece of an enumeration is quoted with its neighbours
NEAR_SHARE = 0.3  # a word next to the answer must weigh this share of the sentence's rarest
SUBJECT_COVERAGE = 0.5  # share of the question's words that stands in for its telling word
MAX_SENTENCE = 110  # longer sentences are quoted by their clauses around the answer
HEADING_SHARE = 1.0  # a word of the section path counts like the sentence's own (（二）成长履约贷)
PARAGRAPH_OPENING = 3  # clauses that open a paragraph and hold for all of it
LIST_SENTENCE = 170  # … unless the question asks for a list, which the whole sentence gives


def item_stem(text: str, start: int) -> tuple[int, int] | None:
    """The sentence that introduces the list an item at `start` belongs to, as offsets.

    "（二）严重违反用人单位的规章制度的" means nothing alone: its stem, "劳动者有下列情形之一
    的，用人单位可以解除劳动合同：", says what follows from it. None when the text at `start`
    is no list item or its stem is not in the text.
    """
    if not ITEM.match(text, start):
        return None
    colon = _list_colon(text, start)
    if colon is None:
        return None
    begin = max(text.rfind(ch, 0, colon) for ch in "。；;\n") + 1
    while begin < colon and text[begin].isspace():
        begin += 1
    return (begin, colon + 1) if colon - begin > 1 else None


def as_read(span: Span) -> str:
    """A sentence as a reader reads it: a list item after the stem that introduces it."""
    stem = item_stem(span.chunk.text, span.start)
    if stem is None:
        return span.text
    return f"{span.chunk.text[slice(*stem)]}{span.text}"


def opening_of_paragraph(span: Span) -> str:
    """The opening clauses of the paragraph (line) a sentence is in, before the sentence: the
    degree that opens a paragraph ("有前款规定的违法行为，情节严重的") holds for each of its
    sentences."""
    text = span.chunk.text
    begin = text.rfind("\n", 0, span.start) + 1
    opening = [m.end() for m in _CLAUSE_END.finditer(text, begin, span.start)][:PARAGRAPH_OPENING]
    return normalize(text[begin : opening[-1]]) if opening else ""


def _list_colon(text: str, start: int) -> int | None:
    """Where the colon that opens the list of the item at `start` is, if it is there."""
    # Items on lines of their own (which may hold colons: "（一）领军人才：…"): the stem is
    # the line before the first of them.
    line = text.rfind("\n", 0, start) + 1
    if not text[line:start].strip():
        while line > 0:
            before = text.rfind("\n", 0, line - 1) + 1
            if not ITEM.match(text, before):
                stem = text[before : line - 1].rstrip()
                return before + len(stem) - 1 if stem.endswith(("：", ":")) else None
            line = before
        return None
    colon = max(text.rfind("：", 0, start), text.rfind(":", 0, start))
    between = text[colon + 1 : start].strip()
    if colon < 0 or (between and not ITEM.match(between)):
        return None  # the colon introduces something else (联系电话：…)
    return colon


@dataclass(frozen=True)
class Span:
    """A stretch of a retrieved chunk, in offsets of the chunk's text."""

    rank: int  # the chunk's position in the search results (0 = best)
    chunk: Chunk
    start: int
    end: int
    standing: float = 1.0  # the chunk's search score over the best one's (1 = the best)

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
    documents: bool = False  # names a document (《…》) when documents were asked for
    form: bool = False  # has the form of the answer asked: a definition, a remedy
    similarity: float = 0.0  # cosine of sentence and question with the embedding model
    sibling: str = ""  # the named thing the sentence is about instead of the asked one
    bracket: int = 0  # 1: its bracket holds the asker's figure; -1: it is another bracket

    @property
    def answers(self) -> bool:
        """True when the sentence holds all that was asked, about the question's subject."""
        return (
            self.kind_ok
            and self.attributes_ok
            and self.figures_ok
            and self.subject_ok
            and self.context_ok
            and not self.sibling
            and self.bracket >= 0
            and self.coverage > 0
        )

    def features(self) -> dict[str, float]:
        """The measured signals the score weighs, each a number (see `WEIGHTS`)."""
        return {
            "coverage": self.coverage,
            "kind": float(self.kind_ok),
            "attributes": float(self.attributes_ok),
            "figures": float(self.figures_ok),
            "documents": float(self.documents),
            "form": float(self.form),
            # How far the search put its passage below the best: the fused scores say how
            # much better the first passage is, where a place (1st, 2nd) overstates it.
            "standing": self.span.standing,
            "similarity": self.similarity,
            "bracket": float(max(self.bracket, 0)),
        }

    def signals(self) -> dict[str, float | bool | str]:
        """The signals behind the score and the checks an answer must pass, by name (what
        staff see when testing a question)."""
        return {
            "score": round(self.score, 4),
            **{k: round(v, 4) for k, v in self.features().items()},
            "subject": self.subject_ok,
            "context": self.context_ok,
            "sibling": self.sibling,
            "answers": self.answers,
        }

    @property
    def score(self) -> float:
        """How well the sentence answers: its features, weighed by `WEIGHTS`."""
        return sum(WEIGHTS[k] * v for k, v in self.features().items())


# The weights of the score, fitted by `evals/fit_reader.py` on the tuning questions and the
# development corpus (evals/foreign), never on the test questions.
WEIGHTS: dict[str, float] = {
    "coverage": 1.0,
    "kind": 0.5,
    "attributes": 0.3,
    "figures": 0.2,
    "documents": 0.3,
    "form": 0.1,
    "standing": 0.5,
    "similarity": 5.0,
    "bracket": 1.0,
}


# A fine or damages with its amount ("处一万元以上十万元以下罚款"), and the words that ask one.
_PENALTY = re.compile(
    r"(?:处以?|并处|罚款|赔偿|罚金)[^，,；;。]{0,30}?(?:罚款|罚金|赔偿金?|违法所得)|"
    r"(?:处以?|并处)[^，,；;。]{0,30}?(?:元|倍)[^，,；;。]{0,6}(?:以下|以上)?的?(?:罚款|罚金)"
)
_ASKS_PENALTY = re.compile(r"罚|处罚|赔|后果|责任|违法|违规|侵权|fine|penalt|damages|liab")
# Asking what was achieved, not aimed at ("最后实际达到了多少"); 实际 alone is also a word of
# the law (实际管理机构, 实际发生额).
_ASKS_RESULT = re.compile(
    r"(?:实际上?|最终|最后)(?:实际)?(?:达到|完成|做到|实现|增长)|(?:完成|做到|实现)了(?:多少|几)|"
    r"\bactually (?:achieved|reached|got)\b|\bactual (?:figure|result|outcome)s?\b"
)
_AIM = re.compile(r"力争|争取|目标")
_PLAN = re.compile(r"要点|工作计划|行动方案|规划")  # headings of a plan: its figures are targets


def years_asked(need: Need, doc_year: int | None) -> set[str]:
    """The years a question is about: named ones, and 去年/今年/明年 counted from the document.

    Only the part that asks counts: "今年刚被认定为高企，需要自己申请吗" tells when the asker
    was recognized, and asks about a rule of any year."""
    asked = need.asking
    years = set(re.findall(r"(?:19|20)\d{2}", asked))
    if doc_year:
        for word, offset in _RELATIVE_YEARS:
            if re.search(word, asked):
                years.add(str(doc_year + offset))
    return years


_YEAR = r"((?:19|20)\d{2})"
_TO = r"\s*(?:至|到|—|－|–|-|~|～)\s*"
_MONTH_SPAN = re.compile(rf"{_YEAR}年(\d{{1,2}})月(?:\d{{1,2}}日)?{_TO}(?:{_YEAR}年)?(\d{{1,2}})月")
_YEAR_SPAN = re.compile(rf"{_YEAR}年?{_TO}{_YEAR}年")
MOSTLY = 6  # months of a year a span of months covers to speak of that year


def years_spoken(text: str) -> set[str]:
    """The years a passage speaks of.

    A span of years speaks of each year in it: "2025-2026年" of 2025 too. A span of months
    speaks of the years it mostly covers: "2023年12月至2024年11月" counts a year's result
    for 2024, and is no answer to what 2023 came to.
    """
    years: set[str] = set()

    def months(m: re.Match[str]) -> str:
        first, last = int(m.group(1)), int(m.group(3) or m.group(1))
        start, end = first * 12 + int(m.group(2)) - 1, last * 12 + int(m.group(4)) - 1
        covered: dict[int, int] = {}
        for month in range(start, min(end, start + 12 * 20) + 1):
            covered[month // 12] = covered.get(month // 12, 0) + 1
        most = max(covered.values(), default=0)
        years.update(str(y) for y, n in covered.items() if n >= min(MOSTLY, most))
        return " "

    def span(m: re.Match[str]) -> str:
        first, last = int(m.group(1)), int(m.group(2))
        years.update(str(y) for y in range(first, min(last, first + 20) + 1))
        return " "

    rest = _YEAR_SPAN.sub(span, _MONTH_SPAN.sub(months, text))
    years.update(re.findall(rf"{_YEAR}(?=年)", rest))
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
# An English question names the measure in its own words ("VAT rate", "interest rate").
_TAX_RATE = re.compile(r"税率|\b(?:tax|vat|cit|withholding)(?:-| )?rates?\b")
_SHARE = re.compile(r"比例|占比|相当于|占|\b(?:proportion|share) of\b")
_PERCENT_FAMILIES = (
    _TAX_RATE,
    re.compile(r"利率|利息|\binterest(?: rate)?s?\b"),
    _SHARE,
    re.compile(r"增速|增长|增幅|涨幅|上升|提高|下降|\bgrowth\b|\bgr[eo]w\b|\bincreased?\b"),
)


def _percent_family_ok(need: Need, window: str) -> bool:
    """Whether a percentage measures what the question asks about.

    A question naming a specific measure (税率, 利率, 增速) is answered only by it, or by a
    percentage whose clause names no measure. A share (比例) is answered by any percentage
    but a tax rate: "贴息比例" by "按贷款实际利息的30%给予贴息", not "研发费用比例" by 税率 15%.
    """
    asked = [f for f in _PERCENT_FAMILIES if f.search(need.question)]
    named = [f for f in _PERCENT_FAMILIES if f.search(window)]
    if not asked or any(f in named for f in asked):
        return True
    if all(f is _SHARE for f in asked):
        return _TAX_RATE not in named
    return not named


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
    marker = ASKS_DEFINITION.search(need.question)
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
        if any(holds(kind, clause) for kind in kinds) or names_sibling(clause, need):
            break
    return start


def assess_sentence(
    need: Need,
    span: Span,
    doc_year: int | None = None,
    telling: Sequence[Term] = (),
    home: Home = NOWHERE,
    doc_places: frozenset[str] = frozenset(),
    referred: str = "",
) -> Support:
    """Score one sentence against the question's need.

    `doc_year` is the year the sentence's document was issued: "去年" in a question read
    against a 2025 work plan means 2024. `telling` are the question's words that the
    retrieved text uses at all (see `telling_terms`); `home` is the deployment's own place,
    and `doc_places` the places the sentence's document speaks for (see `Gazetteer`);
    `referred` is the text the sentence refers to by article, whose words are its own.
    """
    text = normalize(span.text)
    heading = normalize(span.chunk.section)
    # A passage carries its document: the title's words (…促进高新技术企业…措施) are the
    # subject of a line such as "联系部门：区科委产业科".
    in_title = [t for t in need.terms if t.found_in(normalize(span.chunk.title))]
    chunk_clauses = clauses(span.chunk.text, 0, len(span.chunk.text))
    # The clause before the sentence still speaks of its subject: "…的高企予以资金补贴。
    # 惠及企业达527家" names 高企 one sentence earlier.
    before = [s for s, e in chunk_clauses if e <= span.start]
    lead_in = normalize(span.chunk.text[before[-1] : span.start]) if before else ""
    # An item of a list speaks of what its stem says, not of the item before it.
    stem = item_stem(span.chunk.text, span.start)
    if stem is not None:
        lead_in = normalize(span.chunk.text[slice(*stem)])
    # What opens the paragraph holds for all of it: its subject (领军人才在本区…；在本区首次
    # 购买…的，给予…购房补贴) and its degree (有前款规定的违法行为，情节严重的，…；对…).
    opening = opening_of_paragraph(span)
    # "本法第三条第三款规定的所得" is the income that paragraph describes, in its words.
    meant = normalize(referred)
    present = [
        t for t in need.terms if t.found_in(text) or t.found_in(lead_in) or t.found_in(meant)
    ]
    in_opening = [t for t in need.terms if t not in present and t.found_in(opening)]
    in_heading = [t for t in need.terms if t not in present and t.found_in(heading)]
    # A line stating the document's contact (联系部门：…，电话：…) is about the whole
    # document: the title's words are its subject as the heading's are a section's.
    if any(a.locates and a.holds.search(text) for a in need.attributes):
        in_heading += [t for t in in_title if t not in present and t not in in_heading]
    # Words of the heading say what the passage is about, but less than its own words.
    coverage = (
        sum(t.weight for t in present) + HEADING_SHARE * sum(t.weight for t in in_heading)
    ) / need.total_weight
    kinds = asked_kinds(need)
    clause_sibling = ""
    if kinds:
        kind_ok, focus, clause_sibling = _answer_clause(
            need, span, chunk_clauses, kinds, present, in_heading, meant
        )
        # Held only next to a sibling, the asked kind is that sibling's answer.
        kind_ok = kind_ok or bool(clause_sibling)
    else:
        kind_ok, focus = True, _richest_clause(need, span, chunk_clauses, present)
    if needs_target(need) and not (holds("target", text) or _PLAN.search(heading)):
        kind_ok = False  # a year's result is not the next year's target
    elif _ASKS_RESULT.search(need.asking) and (_AIM.search(text) or _PLAN.search(heading)):
        kind_ok = False  # "最后实际达到了多少": a plan's aim is not what was achieved
    if need.asks_title and "《" not in text:
        kind_ok = False  # a document's name is asked, and this sentence names none
    if kind_ok and "percent" in kinds and need.ratio_terms:
        # The share asked for must be the one the sentence states a percentage of.
        kind_ok = any(t in present or t in in_heading for t in need.ratio_terms)
    if kind_ok and kinds and not _ASKS_PENALTY.search(need.question):
        # A fine's amount answers what a breach costs, not "注册资本最低要多少钱".
        unpenalized = _PENALTY.sub("", text)
        kind_ok = any(holds(k, unpenalized) for k in kinds)
    whole = normalize(span.chunk.text)
    # An article is one rule: "前款规定的人员" is the 高级技术人员 its first paragraph names.
    in_article = (
        [t for t in need.terms if t.found_in(whole)] if _ARTICLE.match(_last(heading)) else []
    )
    return Support(
        span,
        coverage,
        kind_ok,
        attributes_ok=all(a.holds.search(text) for a in need.attributes),
        figures_ok=all(_figure_number(f) in whole for f in need.figures)
        and (not need.alternatives or any(_figure_number(f) in whole for f in need.alternatives))
        and _decides(need, text),
        focus=focus,
        terms=frozenset(t.word for t in present),
        subject_ok=_subject_ok(
            need,
            telling,
            [*present, *in_heading, *in_article, *in_title, *in_opening],
            coverage,
        )
        or _rules_on_failure(need, text),
        sibling=_sibling(need, f"{heading} {opening} {lead_in} {text}") or clause_sibling,
        bracket=min(
            brackets.fit(need.stated, f"{lead_in}{text}") if need.stated else 0,
            brackets.degree_fit(need.denied, f"{opening}{lead_in}{text}") if need.denied else 0,
        ),
        context_ok=_context_ok(need, heading, text, whole, doc_year, home, doc_places),
        documents=need.asks_documents and "《" in span.text,
        form=_has_form(need, text, present),
    )


def _answer_clause(
    need: Need,
    span: Span,
    chunk_clauses: Sequence[tuple[int, int]],
    kinds: Sequence[Kind],
    present: Sequence[Term],
    in_heading: Sequence[Term],
    meant: str = "",
) -> tuple[bool, tuple[int, int], str]:
    """Whether the sentence holds the asked kind of answer next to the subject, and where.
    A percentage must measure what was asked (see `_percent_family_ok`).

    The best clause holding it, with the clauses back to its subject, is what to quote.
    A clause holding it next to a sibling only is the sibling's: its name comes third.
    """
    top = max((t.weight for t in present), default=0.0)
    named = _named(need)
    which = _which_of(need)
    found, focus, sibling = False, (span.start, span.end), ""
    best_clause_score = -1.0
    for j, (cs, ce) in enumerate(chunk_clauses):
        if cs < span.start or ce > span.end:
            continue
        clause = normalize(span.chunk.text[cs:ce])
        held = [k for k in kinds if holds(k, clause)]
        if "count" in held and _ASKS_FIRMS.search(need.question) and not _FIRMS.search(clause):
            held.remove("count")  # 多少家 counts firms: "87个" counts something else
        if not held:
            continue
        window_start = _subject_start(span.chunk.text, chunk_clauses, j, kinds, need)
        window = normalize(span.chunk.text[window_start:ce])
        # The section's heading names the subject of every sentence under it (（一）科创微贷).
        near = [*(t for t in present if t.found_in(window)), *in_heading]
        if meant and "本法第" in window:
            near += [t for t in present if t not in near and t.found_in(meant)]
        # The answer must sit next to a telling word of the question, not next to a sibling
        # alone (履约贷's credit line is no answer about 微贷通, in the same sentence).
        if not any(t.weight >= NEAR_SHARE * top for t in near):
            continue
        # A figure belongs to the subject of its own clauses: "24家企业通过履约贷审批" is
        # 履约贷's count, though the sentence named 微贷通 before it.
        # Named in the heading (（一）科创微贷), the asked thing is the subject of every clause.
        other = (
            "" if not named or any(t in in_heading for t in named) else sibling_named(window, need)
        )
        if other and not all(t.found_in(window) for t in named):
            sibling = sibling or other
            continue
        if "percent" in held and not _percent_family_ok(need, window):
            continue
        score = sum(t.weight for t in near) + len(held)
        if which and _names_one(window, which, need):
            score += NAMED_BONUS
        if score > best_clause_score:
            best_clause_score = score
            found = True
            focus = (max(window_start, span.start), ce)
    return found, focus, "" if found else sibling


def _named(need: Need) -> list[Term]:
    """The question's words that name a named thing or a domain entity (微贷通, 孵化器)."""
    return [t for t in need.terms if t.word in need.names or t.word in need.entities]


def _richest_clause(
    need: Need, span: Span, chunk_clauses: Sequence[tuple[int, int]], present: Sequence[Term]
) -> tuple[int, int]:
    """Nothing specific asked: the clauses of the sentence richest in the question's words.

    Clauses tied for richest are taken together, with what lies between: "…计入当年本单位工资
    总额，但不受当年本单位工资总额限制" answers "会不会挤占工资总额" only as a whole.
    """
    inside = [(s, e) for s, e in chunk_clauses if s >= span.start and e <= span.end]
    if not inside:
        return (span.start, span.end)
    which = _which_of(need)
    scored = [
        (
            sum(t.weight for t in present if t.found_in(normalize(span.chunk.text[s:e])))
            + (NAMED_BONUS if need.asks_documents and "《" in span.chunk.text[s:e] else 0)
            + (
                NAMED_BONUS
                if which and _names_one(normalize(span.chunk.text[s:e]), which, need)
                else 0
            ),
            s,
            e,
        )
        for s, e in inside
    ]
    best = max(score for score, _, _ in scored)
    richest = [(s, e) for score, s, e in scored if score == best]
    return (richest[0][0], richest[-1][1])


NAMED_BONUS = (
    100.0  # a clause naming what "哪家孵化器" or "哪个文件" asks for outranks word overlap
)
_WHICH = re.compile(r"哪(?:一|几)?(?:家|个|所|座|位|些|款|种)?")


def _which_of(need: Need) -> str:
    """The thing a question asks to be named ("重点指导哪家孵化器" → 孵化器), or ""."""
    for m in _WHICH.finditer(need.asking):
        after = need.asking[m.end() :]
        word = max((t.word for t in need.terms if after.startswith(t.word)), key=len, default="")
        if word:
            return word
    return ""


def _names_one(clause: str, thing: str, need: Need) -> bool:
    """Whether a clause names one of the thing: "北斗西虹桥孵化器" for 孵化器, with a name
    of its own before it, not the words the question put there (市高质量孵化器)."""
    for m in re.finditer(re.escape(thing), clause):
        name = clause[max(0, m.start() - 2) : m.start()]
        if len(name) == 2 and _PLAIN_NAME.fullmatch(name) and name + thing not in need.question:
            return True
    return False


_PLAIN_NAME = re.compile(r"[\u4e00-\u9fffa-z0-9]+")
_ARTICLE = re.compile(r"^第[一二三四五六七八九十百零〇\d]+条")


def _last(heading: str) -> str:
    return heading.split(" > ")[-1].strip() if heading else ""


def _sibling(need: Need, context: str) -> str:
    """The named thing a sentence is about when the question names another one.

    Under "（一）科创微贷", "区财政按贷款实际利息的50%给予贴息" is 科创微贷's interest subsidy:
    it answers nothing about 领航信用贷. A sentence naming the asked thing (beside others)
    is about it too.
    """
    if not need.names or any(n in context for n in need.names):
        return ""
    return next((n for n in sorted(need.siblings) if n in context), "")


def _rules_on_failure(need: Need, text: str) -> bool:
    """True when a sentence rules on the failure the asker tells of: "企业未依照本法规定公开
    其执行的标准的，由…" for "一直没公开会怎么样"."""
    return any(
        re.search(rf"(?:未|没有|不)[^。；，]{{0,15}}{re.escape(f)}", text)
        for t in need.failed
        for f in t.forms
    )


def _subject_ok(need: Need, telling: Sequence[Term], held: Sequence[Term], coverage: float) -> bool:
    """Whether a figure asked for is about the question's rarest word the documents use.

    A sentence without it (微贷通, 高企贷) answers a neighbouring question, unless it holds
    most of the question's words.
    """
    if not ((asked_kinds(need) or need.attributes) and telling):
        return True
    top_weight = max(t.weight for t in telling)
    return (
        any(t in held for t in telling if t.weight >= 0.9 * top_weight)
        or coverage >= SUBJECT_COVERAGE
    )


def _context_ok(
    need: Need,
    heading: str,
    text: str,
    whole: str,
    doc_year: int | None,
    home: Home,
    doc_places: frozenset[str] = frozenset(),
) -> bool:
    """Whether the passage speaks of the places and years the question names: its document
    was issued for the place, or its text names it."""
    context = f"{heading} {whole}"
    home_named = any(names[0] in home.district for names in need.places)
    # A document speaking for no place of its own (a national law) holds in every place.
    places_ok = not doc_places or all(
        any(n in context or n in doc_places for n in names)
        for names in need.places
        if names[0] not in home.district and not (home_named and names[0] == home.city)
    )
    if need.abroad_instead(text):
        return False
    years = years_asked(need, doc_year)
    mentioned = years_spoken(f"{heading} {text}")
    years_ok = not years or not mentioned or bool(years & mentioned)
    return places_ok and years_ok


def _decides(need: Need, text: str) -> bool:
    """False when a text names both things asked to choose between with no figure to tell
    them apart: "包括中型企业、小型企业和微型企业" decides nothing."""
    if not need.choices:
        return True
    forms = {t.word: t.forms for t in need.terms}
    named = [c for c in need.choices if any(f in text for f in forms.get(c, (c,)))]
    return len(named) < len(need.choices) or holds("figure", text)


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
    best = max((hit.score for hit in hits), default=0.0)
    for rank, hit in enumerate(hits):
        text = hit.chunk.text
        standing = hit.score / best if best > 0 else 1.0
        for s, e in split_sentences(text, 0, len(text)):
            out.append(Span(rank, hit.chunk, s, e, standing))
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
    # A few words of an enumeration are no statement: "中型企业、" alone reads as an answer
    # (to "小型还是中型") that the law does not give. Such a quote takes in its neighbours.
    text = span.chunk.text
    while cl[hi][1] - cl[lo][0] < MIN_QUOTE:
        if hi + 1 < len(cl) and text[cl[hi][1] - 1] == "、":
            hi += 1
        elif lo > 0 and text[cl[lo - 1][1] - 1] == "、":
            lo -= 1
        else:
            break
    # A rule is never quoted without its proviso: "计入当年本单位工资总额" alone misstates a
    # law that goes on "但不受当年本单位工资总额限制".
    while hi + 1 < len(cl) and _PROVISO.match(text, cl[hi + 1][0]):
        hi += 1
    start, end = cl[lo][0], cl[hi][1]
    while end > start and span.chunk.text[end - 1] in "，,；;：:、":
        end -= 1
    return Span(span.rank, span.chunk, start, end, span.standing)
