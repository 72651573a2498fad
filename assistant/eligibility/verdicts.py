"""Checking an enterprise against the rules: verdicts condition by condition, each cited.

Pure logic. A condition is met, unmet or unknown; a rule is eligible when every condition is
met, not eligible when one is unmet, and needs more information otherwise — with the question
that would settle it. A rule whose document states no conditions says so. Nothing is said
that a rule does not quote: the answer is assembled from the rules' own words and quotes.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from assistant.eligibility.profile import (
    FACTS,
    Profile,
    describe,
    is_question,
    mentions_self,
    read_facts,
)
from assistant.eligibility.rules import Condition, Rule
from assistant.models import NOTE, Answer, Citation, Message

Status = Literal["met", "unmet", "unknown"]
Outcome = Literal["eligible", "needs_info", "not_stated", "not_eligible"]
OUTCOME_ORDER: dict[str, int] = {"eligible": 0, "needs_info": 1, "not_stated": 2, "not_eligible": 3}
OUTCOME_LABELS = {
    "eligible": "符合",
    "needs_info": "需补充信息",
    "not_stated": "文件未载明条件",
    "not_eligible": "不符合",
}
STATUS_MARKS = {"met": "✓", "unmet": "✗", "unknown": "？"}
HEAD = "根据您提供的情况"
INTENT = "eligibility"

# A status held implies what it is made of: every one of these is a 科技型 enterprise.
_TECH_STATUSES = (
    "tech_sme",
    "high_tech",
    "little_giant",
    "little_giant_cultivation",
    "tech_leader",
)


def implied(profile: Profile) -> Profile:
    """The profile with what its facts imply made explicit (never overriding a stated fact)."""
    extra: dict[str, Any] = {}
    if profile.tech_based is None and any(getattr(profile, f) for f in _TECH_STATUSES):
        extra["tech_based"] = True
    if profile.high_tech is None and profile.high_tech_recognition is not None:
        extra["high_tech"] = True
    return profile.merged(Profile(**extra)) if extra else profile


@dataclass(frozen=True)
class Check:
    condition: Condition
    status: Status

    def missing(self, profile: Profile) -> list[str]:
        """The unknown fields that would settle this condition."""
        if self.status != "unknown":
            return []
        return [f for f in self.condition.fields() if getattr(profile, f) is None]


@dataclass(frozen=True)
class Verdict:
    rule: Rule
    outcome: Outcome
    checks: tuple[Check, ...]
    missing: tuple[str, ...]  # unknown fields, in the rule's order

    @property
    def question(self) -> str | None:
        return FACTS[self.missing[0]].question if self.missing else None

    @property
    def partly_met(self) -> bool:
        return any(c.status == "met" for c in self.checks)


def evaluate(profile: Profile, rules: Sequence[Rule]) -> list[Verdict]:
    """A verdict for every rule, the eligible first, the ineligible last."""
    profile = implied(profile)
    verdicts = []
    for rule in rules:
        checks = []
        for condition in rule.conditions:
            held = condition.holds(profile)
            checks.append(
                Check(condition, "met" if held else "unknown" if held is None else "unmet")
            )
        outcome: Outcome
        if not checks:
            outcome = "not_stated"
        elif any(c.status == "unmet" for c in checks):
            outcome = "not_eligible"
        elif any(c.status == "unknown" for c in checks):
            outcome = "needs_info"
        else:
            outcome = "eligible"
        missing = tuple(dict.fromkeys(f for c in checks for f in c.missing(profile)))
        verdicts.append(Verdict(rule, outcome, tuple(checks), missing))
    return sorted(verdicts, key=lambda v: OUTCOME_ORDER[v.outcome])


def next_questions(verdicts: Sequence[Verdict], limit: int = 2) -> list[str]:
    """The facts to ask for: first those of the rules closest to a verdict, then the most shared.

    A rule with conditions already met is the one the enterprise is likely after, so the facts
    it lacks come before facts that only rules with nothing known yet would need.
    """
    open_ = [v for v in verdicts if v.outcome == "needs_info"]
    weight: Counter[str] = Counter()
    for v in open_:
        met = sum(c.status == "met" for c in v.checks)
        for f in v.missing:
            weight[f] += 1 + 10 * met
    first_seen = {f: i for i, f in enumerate(dict.fromkeys(f for v in open_ for f in v.missing))}
    ranked = sorted(weight, key=lambda f: (-weight[f], first_seen[f]))
    return [FACTS[f].question for f in ranked[:limit]]


def deciding_questions(verdicts: Sequence[Verdict], limit: int = 4) -> list[str]:
    """One short question per missing fact that would decide an open rule, each asked once.

    Every unknown condition is settled by one fact: of the facts any of which would meet it
    ("科技型中小企业或高新技术企业"), the one that settles most of the open conditions is
    asked. The facts of rules with conditions already met come first, as in `next_questions`.
    """
    open_: list[tuple[int, tuple[str, ...]]] = []  # (conditions met in its rule, its facts)
    for v in verdicts:
        if v.outcome != "needs_info":
            continue
        met = sum(c.status == "met" for c in v.checks)
        for c in v.checks:
            if c.status == "unknown":
                open_.append((met, tuple(f for f in c.condition.fields() if f in v.missing)))
    seen = list(dict.fromkeys(f for _, fields in open_ for f in fields))
    asked: list[str] = []
    while open_ and len(asked) < limit:
        weight: Counter[str] = Counter()
        for met, fields in open_:
            for f in fields:
                weight[f] += 1 + 10 * met
        if not weight:
            break
        best = min(weight, key=lambda f: (-weight[f], seen.index(f)))
        asked.append(best)
        open_ = [(met, fields) for met, fields in open_ if best not in fields]
    return [FACTS[f].question for f in asked]


def about(rules: Sequence[Rule], question: str) -> list[Rule]:
    """The rules a question is about, by their topic words; none named means all of them.

    Only the asking part counts: in "我们是高企，区里的补贴能拿吗？" the topic is 补贴, while
    高企 describes the asker. `question` may hold several messages, one a line, the first
    that names a rule deciding ("我司符合条件吗？" after "哪些企业可以申请微贷通？").
    """
    for message in question.split("\n"):
        asked = asked_part(message)
        named = [r for r in rules if any(t in asked for t in r.topics)]
        if named:
            return named
    return list(rules)


def asked_part(question: str) -> str:
    """The clauses of a message that ask something (all of it when none visibly does)."""
    clauses = [c for c in re.split(r"[，。,；;！!\n]", question) if c.strip()]
    asking = [c for c in clauses if ASKS.search(c) or re.search(r"[吗？?]|呢$", c)]
    return "，".join(asking) or question


# -- in conversation -----------------------------------------------------------------------

# "够不够" asks whether one qualifies said of the company or of what it would get (我们够不够,
# 够不够格, 够不够申请); said of a thing ("光挂个标准名字够不够") it asks whether that suffices.
_ENOUGH = r"(?:我们|我司|我|公司|企业)(?:还|能)?够不够|够不够(?=格|条件|资格|申请|享受|拿|贷)"
# Asking whether one qualifies, or what one can get: said of one's own company, these make a
# question one for the verdicts.
ASKS = re.compile(
    r"能享受|可以享受|可享受|享受什么|享受哪些|能申请|可以申请|可申请|能不能(?:申请|享受|拿|贷|获得|用)"
    r"|(?:能|可以|可否|能否)(?:用|减免|减|免|抵|申报|报|享受|申请|拿|领|贷|获得)"
    rf"|(?:符合|满足).{{0,8}}(?:条件|要求)|够条件|有资格|{_ENOUGH}|够格|能拿|可以拿|能贷|可以贷|贷得到"
    r"|能获得|可以获得|适用吗|能不能用"
    r"|(?:有|能有)(?:哪些|什么|啥)[^，。？?]{0,6}(?:政策|优惠|补贴|支持|扶持|福利|好处|奖励|产品|项目)"
    r"|(?:有|能拿到?)(?:补贴|优惠|奖励|扶持)吗|适用(?:哪些|什么)|能用(?:哪些|什么)|可以用哪些"
)
# A question for a figure or a date is answered from the text (or abstained on), not with
# verdicts: "高企补贴每家能拿多少钱？" asks an amount, not whether the company qualifies.
_ASKS_FIGURE = re.compile(
    r"多少|几[个家项年月天次]|金额|额度|比例|税率是|什么时候|何时|哪天|截止|期限"
)
# Who qualifies, asked in general: "哪些企业可以申请微贷通" is a question about the documents.
_ANY_COMPANY = re.compile(
    r"(?:哪些|哪类|哪种|哪一类|什么样的?|什么类型的?|何种)(?:企业|公司|单位|主体)"
)
# Asking in general what one can get, or whether one qualifies: about every rule there is.
_GENERAL_ASK = re.compile(
    r"(?:哪些|什么|啥)[^，。？?]{0,6}(?:政策|优惠|补贴|支持|扶持|福利|好处|奖励|项目|产品)"
    r"|(?:享受|申请|拿|获得|用)(?:哪些|什么|啥)|(?:符合|满足|够)[^，。？?]{0,8}(?:条件|要求)"
    rf"|有资格|够格|{_ENOUGH}|(?:有|能拿到?)(?:补贴|优惠|奖励|扶持)吗"
)
# Asking for the conditions, of whatever the question names.
_CONDITIONS = re.compile(r"(?:符合|满足|够)[^，。？?]{0,8}(?:条件|要求)")
# A question that names no object of its own refers to the one asked before ("我司符合条件吗").
_OPEN_ENDED = re.compile(r"什么|哪些|哪类|啥")
# Said of a thing ("超出的那部分是不是就不能抵税了", "这笔钱能抵税吗"), a question asks how
# the documents treat that thing, not what the company qualifies for.
_OF_A_THING = re.compile(r"[这那](?:笔|部分|些|台|批)")
_YES = re.compile(r"^(?:是的?|对的?|有的?|嗯|是呀|是啊|没错|对啊|在的?|已经是|属于)[。！!，,]?$")
_NO = re.compile(r"^(?:不是|没有|否|不在|还不是|不属于|没)[。！!，,]?$")
REQUEST = "为进一步判断，请补充："


def asks_own(question: str, in_check: bool = False) -> bool:
    """Whether a message asks whether the writer's own enterprise qualifies, or what it can get.

    It takes an asking verb (能申请, 能享受, 符合条件, 能拿…) said of the writer's company:
    in the first person, or after facts stated about it ("我们是…企业，能享受…吗"). A question
    about a kind of enterprise ("高企有什么补贴？", "哪些企业可以申请微贷通") is a question
    about the documents, and so is one for a figure or a date. In a check under way, a question
    with no subject of its own continues it ("那信用贷能申请吗？").
    """
    asking = asked_part(question)
    if not ASKS.search(question) or _ASKS_FIGURE.search(question) or _ANY_COMPANY.search(asking):
        return False
    if _OF_A_THING.search(asking) and not mentions_self(asking):
        return False
    if mentions_self(question):
        return True
    return in_check and not read_facts(asking).known()


@dataclass(frozen=True)
class Reading:
    """What a conversation has said about the enterprise, and what this turn asks."""

    profile: Profile
    asks: bool  # whether this turn asks what the writer's own enterprise qualifies for
    topic: str  # the messages naming the rules in question, one a line, the first deciding
    # This turn names what a rule is about (高企, 补贴…) or asks what the company can get; a
    # turn that does neither ("亏损能拿到以后年度弥补吗") may be a question for the documents.
    named: bool = True


def conversation_profile(
    question: str, history: Sequence[Message], rules: Sequence[Rule] = ()
) -> Reading:
    """The facts stated so far in a conversation, and whether this turn asks for verdicts.

    A turn asks for verdicts when it asks about the writer's own enterprise (`asks_own`), or
    replies to the assistant's eligibility questions with facts ("首次认定的", "是的"); a
    question about policies in general takes the answer path, even in a check under way.
    Facts come from turns that speak of the writer's enterprise and from such replies; a bare
    "是" / "没有" answers the yes-or-no fact asked last, when only one was asked. A reply keeps
    the topic of the question that started the check; an own-company question that names no
    rule ("我司符合条件吗？") is about what was asked just before. Given the `rules`, an
    own-company question is one for the verdicts only if it names what a rule is about, or
    asks in general what the company can get or whether it qualifies: "我们能申请专利吗？"
    is for the documents.
    """
    profile = Profile()
    last_answer = ""
    in_check = False
    topic = ""  # the question that started the check under way
    earlier = ""  # the user's previous message
    for m in history:
        if m.role == "assistant":
            last_answer = m.content
            in_check = m.content.startswith(HEAD)
            if not in_check:
                topic = ""
        elif m.role == "user":
            asked_in = last_answer if in_check else ""
            if (
                mentions_self(m.content)
                or asks_own(m.content, in_check)
                or _replies(m.content, in_check, asked_in)
            ):
                profile = profile.merged(_reply_facts(m.content, asked_in))
            if ASKS.search(m.content):
                topic = m.content
            earlier = m.content
    asked_in = last_answer if in_check else ""
    if _OPEN_ENDED.search(asked_part(question)):
        topics = [question]  # "我们能申请哪些政策？" asks afresh
    else:
        topics = [question, topic, earlier]
    own = asks_own(question, in_check) and (
        not rules or bool(_GENERAL_ASK.search(asked_part(question))) or _names(rules, topics)
    )
    replying = not own and _replies(question, in_check, asked_in)
    if not own and not replying:
        return Reading(profile, False, question)
    profile = profile.merged(_reply_facts(question, asked_in))
    if replying:
        topics = [topic or question]
    # "申请强制许可要满足什么条件" asks the conditions of something no rule is about: the
    # documents are tried first, as for a question naming no rule.
    general = _GENERAL_ASK.search(asked_part(question))
    named = (
        replying
        or bool(general and not _CONDITIONS.fullmatch(general.group(0)))
        or _names(rules, [question])
    )
    return Reading(
        profile, True, "\n".join(t.replace("\n", "，") for t in topics if t), named or not rules
    )


def _names(rules: Sequence[Rule], messages: Sequence[str]) -> bool:
    """Whether the asking part of one of the messages names what a rule is about."""
    return any(t in asked_part(m) for m in messages if m for r in rules for t in r.topics)


def _replies(text: str, in_check: bool, asked_in: str) -> bool:
    """Whether a message answers the questions of a check under way (not asking one of its
    own about the documents)."""
    if not in_check:
        return False
    answer = text.strip()
    if _YES.match(answer) or _NO.match(answer):
        return True
    return bool(_reply_facts(text, asked_in).known()) and not is_question(text)


def _reply_facts(text: str, asked_in: str) -> Profile:
    facts = read_facts(text)
    answer = text.strip()
    if asked_in and (_YES.match(answer) or _NO.match(answer)):
        request = asked_in.split(REQUEST, 1)[-1]
        asked = [
            name for name, spec in FACTS.items() if spec.words and spec.question in request
        ]  # the yes/no facts asked for
        if len(asked) == 1:  # with several asked, a bare 是 would be a guess
            return facts.merged(Profile.model_validate({asked[0]: bool(_YES.match(answer))}))
    return facts


# -- the answer ----------------------------------------------------------------------------

Cite = Callable[[int, str, str], Citation]  # (n, doc_id, quote) → citation


class _Numbers:
    """Citation numbers in order of first use, one per distinct quote."""

    def __init__(self, cite: Cite) -> None:
        self.cite = cite
        self.numbers: dict[tuple[str, str], int] = {}
        self.citations: list[Citation] = []

    def __call__(self, doc_id: str, quote: str) -> int:
        key = (doc_id, quote)
        if key not in self.numbers:
            self.numbers[key] = len(self.numbers) + 1
            self.citations.append(self.cite(self.numbers[key], doc_id, quote))
        return self.numbers[key]


def verdict_json(verdict: Verdict, number: Callable[[str, str], int]) -> dict[str, Any]:
    """One verdict in the public JSON shape; `number` gives a quote's citation number."""
    rule = verdict.rule
    out: dict[str, Any] = {
        "rule_id": rule.id,
        "name": rule.name,
        "outcome": verdict.outcome,
        "outcome_label": OUTCOME_LABELS[verdict.outcome],
        "benefit": {
            "text": rule.benefit.text,
            "citation": number(rule.benefit.document or rule.document, rule.benefit.quote),
        },
        "conditions": [
            {
                "label": c.condition.describe(),
                "status": c.status,
                "citation": number(c.condition.document or rule.document, c.condition.quote),
            }
            for c in verdict.checks
        ],
        "missing": [
            {"field": f, "label": FACTS[f].label, "question": FACTS[f].question}
            for f in verdict.missing
        ],
    }
    if rule.details:
        out["details"] = {
            "document": rule.details.document,
            "note": rule.details.note,
            "citation": number(rule.document, rule.details.quote),
        }
    return out


def report(profile: Profile, verdicts: Sequence[Verdict], cite: Cite) -> dict[str, Any]:
    """Every verdict with its citations: the result of `eligibility` and /v1/eligibility."""
    return cited_report(profile, verdicts, cite)[0]


def cited_report(
    profile: Profile, verdicts: Sequence[Verdict], cite: Cite
) -> tuple[dict[str, Any], list[Citation]]:
    """The report, and its citations as objects (for a page that shows them as cards)."""
    numbers = _Numbers(cite)
    shown = [verdict_json(v, numbers) for v in verdicts]
    return (
        {
            "profile": profile.known(),
            "verdicts": shown,
            "questions": next_questions(verdicts),
            "citations": [c.to_json() for c in numbers.citations],
            "note": NOTE,
        },
        numbers.citations,
    )


def chat_answer(
    profile: Profile,
    verdicts: Sequence[Verdict],
    cite: Cite,
    question: str = "",
    topical: bool = False,
) -> Answer:
    """The verdicts as a short chat answer: what applies, what needs a fact, what to ask.

    Asked about everything, rules none of whose conditions is known to hold are left out
    (they would bury the answer); asked about a topic (e.g. 贷款), every rule on it is shown.
    """
    numbers = _Numbers(cite)
    said = "；".join(describe(profile)) or "尚未提供企业情况"
    lines = [f"{HEAD}（{said}）："]
    relevant = [
        v
        for v in verdicts
        if topical or v.outcome == "eligible" or (v.outcome == "needs_info" and v.partly_met)
    ]
    groups: dict[str, list[Verdict]] = {}
    for v in relevant:
        groups.setdefault(v.outcome, []).append(v)
    for outcome in ("eligible", "needs_info", "not_stated", "not_eligible"):
        items = groups.get(outcome, [])
        if not items:
            continue
        lines.append(f"【{OUTCOME_LABELS[outcome]}】")
        for v in items:
            lines.append(_verdict_line(v, numbers))
    if not relevant:
        lines.append(
            "按目前的情况，暂未找到可以确认适用的政策条款。"
            if profile.known()
            else "尚不了解贵企业的情况，暂不能判断适用哪些政策。"
        )
    # Every fact that would decide a rule shown is asked for; with none shown, the facts
    # that decide the most rules.
    asks = deciding_questions(relevant or verdicts, limit=4 if relevant else 3)
    if asks:
        yes_no = [q for q in asks if any(q == s.question for s in FACTS.values() if s.words)]
        # A bare "是" answers one yes-or-no question only: with several, say so.
        lines.append(REQUEST + "".join(asks) + ("（请逐项回答。）" if len(yes_no) > 1 else ""))
    lines.append(NOTE)
    return Answer("\n".join(lines), tuple(numbers.citations), intent=INTENT, question=question)


def _verdict_line(v: Verdict, number: Callable[[str, str], int]) -> str:
    rule = v.rule
    n = number(rule.benefit.document or rule.document, rule.benefit.quote)
    text = f"· {rule.name}：{rule.benefit.text}[{n}]。"
    if v.checks:
        conds = "；".join(
            f"{c.condition.describe()}{STATUS_MARKS[c.status]}"
            f"[{number(c.condition.document or rule.document, c.condition.quote)}]"
            for c in v.checks
        )
        text += f"条件：{conds}。"
    else:
        text += "所收录文件未载明申请条件，请咨询主管部门。"
    if v.missing:
        text += f"尚需了解：{'、'.join(FACTS[f].label for f in v.missing)}。"
    if rule.details:
        text += (
            f"具体以{rule.details.document}为准[{number(rule.document, rule.details.quote)}]："
            f"{rule.details.note}"
        )
    return text


def format_report(result: dict[str, Any]) -> str:
    """A report from `report` as text for a terminal: every verdict, then the citations."""
    said = "；".join(describe(Profile(**result["profile"]))) or "未提供企业情况"
    lines = [f"企业情况：{said}", ""]
    for v in result["verdicts"]:
        lines.append(f"[{v['outcome_label']}] {v['name']}")
        lines.append(f"    可获得：{v['benefit']['text']} [{v['benefit']['citation']}]")
        for c in v["conditions"]:
            lines.append(f"    {STATUS_MARKS[c['status']]} {c['label']} [{c['citation']}]")
        if not v["conditions"]:
            lines.append("    所收录文件未载明申请条件")
        if "details" in v:
            d = v["details"]
            lines.append(f"    具体以{d['document']}为准 [{d['citation']}]：{d['note']}")
        for m in v["missing"]:
            lines.append(f"    待补充：{m['question']}")
    if result["questions"]:
        lines += ["", "请补充：" + "".join(result["questions"])]
    lines += ["", "引文："]
    for c in result["citations"]:
        where = " · ".join(p for p in (f"《{c['title']}》", c["doc_number"], c["section"]) if p)
        lines.append(f"[{c['n']}] {where}\n    “{c['quote']}”")
    lines += ["", result["note"]]
    return "\n".join(lines)
