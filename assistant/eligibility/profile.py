"""The enterprise profile: the typed vocabulary of facts that policy conditions are written in.

Every fact a rule may test is declared here once, with how to ask for it and the words an
enterprise uses for it, so the rule files, the JSON profile, the web form and the reading of
a chat message all speak the same language. A fact is unknown (None) until someone says it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, ValidationError

from assistant.errors import ProfileError

Stage = Literal["初创期", "成长期", "成熟期"]
Size = Literal["微型", "小型", "中型", "大型"]
Recognition = Literal["首次认定", "重新认定"]
Industry = Literal[
    "软件和信息服务业",
    "科技服务业",
    "生物医药",
    "集成电路",
    "北斗导航",
    "人工智能",
    "智能制造",
    "绿色新材料",
    "农林牧渔",
    "其他",
]


class Profile(BaseModel):
    """What is known of one enterprise; None means not known yet."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    registered_in_district: bool | None = None
    in_zhangjiang_park: bool | None = None
    stage: Stage | None = None
    size: Size | None = None
    small_low_profit: bool | None = None
    tech_based: bool | None = None
    high_tech: bool | None = None
    high_tech_recognition: Recognition | None = None
    high_tech_year: int | None = None
    tech_sme: bool | None = None
    little_giant: bool | None = None
    little_giant_cultivation: bool | None = None
    tech_leader: bool | None = None
    industry: Industry | None = None
    rd_expenses: bool | None = None
    employs_disabled: bool | None = None
    tech_transfer_income: bool | None = None
    tech_services: bool | None = None
    high_tech_products: bool | None = None
    venture_capital: bool | None = None
    special_equipment: bool | None = None
    resource_recycling: bool | None = None
    founded_by_priority_group: bool | None = None

    def known(self) -> dict[str, Any]:
        """The facts that are known, in declaration order."""
        return {k: v for k, v in self.model_dump().items() if v is not None}

    def merged(self, newer: Profile) -> Profile:
        """This profile updated with what `newer` says (a later statement wins)."""
        return Profile(**{**self.model_dump(), **newer.known()})


class ProfileInput(Profile):
    """A profile as a client sends it: the fields, plus the statuses held as a list."""

    qualifications: list[str] | None = None

    def to_profile(self) -> Profile:
        return parse_profile(self.model_dump(exclude_none=True))


@dataclass(frozen=True)
class FactSpec:
    """How one profile field is shown, asked for and recognised in a message."""

    name: str
    label: str  # a short noun phrase: what the fact is about
    question: str  # what to ask when a rule needs it
    words: tuple[str, ...] = ()  # for a yes/no fact: phrases that say it holds


FACTS: dict[str, FactSpec] = {
    f.name: f
    for f in (
        # The facts of location name no place here: the site file says which (`localize`).
        FactSpec("registered_in_district", "在本区注册", "贵企业是否在本区注册？", ("在本区注册",)),
        FactSpec("in_zhangjiang_park", "位于园区内", "贵企业是否位于园区内？", ("位于园区内",)),
        FactSpec("stage", "发展阶段", "贵企业处于哪个发展阶段（初创期、成长期还是成熟期）？"),
        FactSpec("size", "企业规模", "贵企业属于微型、小型、中型还是大型企业？"),
        FactSpec(
            "small_low_profit",
            "符合条件的小型微利企业",
            "贵企业是否属于符合条件的小型微利企业？",
            ("小型微利企业", "小微利企业", "小型微利"),
        ),
        FactSpec(
            "tech_based",
            "科技型企业",
            "贵企业是否属于科技型企业（以技术研发、技术创新为主业）？",
            ("科技型", "科技企业", "科创企业", "高科技企业", "科技公司", "技术型企业"),
        ),
        FactSpec(
            "high_tech",
            "高新技术企业",
            "贵企业是否已被认定为高新技术企业？",
            ("高新技术企业", "高企", "高新企业", "高企证书", "高新技术企业证书"),
        ),
        FactSpec(
            "high_tech_recognition",
            "高企认定类型",
            "贵企业的高新技术企业资格是首次认定还是重新认定？",
        ),
        FactSpec("high_tech_year", "高企认定年份", "贵企业是哪一年认定为高新技术企业的？"),
        FactSpec(
            "tech_sme",
            "科技型中小企业（已入库）",
            "贵企业是否已通过科技型中小企业评价入库？",
            ("科技型中小企业", "科技中小企业", "科小", "入库"),
        ),
        FactSpec(
            "little_giant",
            "科技小巨人企业",
            "贵企业是否是科技小巨人企业？",
            ("科技小巨人企业", "小巨人企业", "科技小巨人", "小巨人"),
        ),
        FactSpec(
            "little_giant_cultivation",
            "科技小巨人培育企业",
            "贵企业是否是科技小巨人培育企业？",
            ("小巨人培育",),
        ),
        FactSpec(
            "tech_leader",
            "科技领军企业",
            "贵企业是否是科技领军企业？",
            ("科技领军企业", "领军企业"),
        ),
        FactSpec(
            "industry",
            "所属行业",
            "贵企业属于哪个行业（如软件和信息服务业、科技服务业、生物医药）？",
        ),
        FactSpec(
            "rd_expenses",
            "有研究开发费用",
            "贵企业是否有开发新技术、新产品、新工艺的研究开发费用？",
            ("研发费用", "研发投入", "研究开发费用", "搞研发", "做研发", "研发支出"),
        ),
        FactSpec(
            "employs_disabled",
            "安置残疾人员就业",
            "贵企业是否安置了残疾人员就业？",
            ("残疾人员", "残疾人", "残疾职工"),
        ),
        FactSpec(
            "tech_transfer_income",
            "有技术转让所得",
            "贵企业是否有符合条件的技术转让所得？",
            ("技术转让所得", "技术转让收入", "转让技术", "技术转让"),
        ),
        FactSpec(
            "tech_services",
            "从事技术开发、转让、许可、咨询或服务",
            "贵企业是否从事技术开发、技术转让、技术许可、技术咨询或技术服务？",
            ("技术开发", "技术服务", "技术咨询", "技术许可"),
        ),
        FactSpec(
            "high_tech_products",
            "从事高新技术产品研究开发、生产",
            "贵企业是否从事高新技术产品的研究开发或生产？",
            ("高新技术产品",),
        ),
        FactSpec(
            "venture_capital",
            "创业投资企业",
            "贵企业是否是创业投资企业？",
            ("创业投资企业", "创投企业", "创投机构", "创投公司", "风投"),
        ),
        FactSpec(
            "special_equipment",
            "购置环保、节能节水、安全生产专用设备",
            "贵企业是否购置了用于环境保护、节能节水、安全生产等的专用设备？",
            ("专用设备", "环保设备", "节能设备", "节水设备", "安全生产设备"),
        ),
        FactSpec(
            "resource_recycling",
            "综合利用资源生产产品",
            "贵企业是否综合利用资源、生产符合国家产业政策规定的产品？",
            ("综合利用资源", "资源综合利用"),
        ),
        FactSpec(
            "founded_by_priority_group",
            "由高校毕业生、退役军人、失业人员或残疾人员创办",
            "贵企业是否由高校毕业生、退役军人、失业人员或残疾人员等创办？",
            ("高校毕业生", "大学生创业", "应届生创业", "退役军人", "失业人员"),
        ),
    )
}

LOCATION_FACTS = ("registered_in_district", "in_zhangjiang_park")
_UNPLACED = {name: FACTS[name] for name in LOCATION_FACTS}  # as they read with no site file


def localize(location: Mapping[str, FactSpec], home: Iterable[str]) -> None:
    """Speak of the deployment's own place: its labels, questions and words for the facts of
    location, and the names of home (which a registration "elsewhere" does not name).

    One deployment serves one place, so this is set once per process (by the services that
    read the site file) and holds for every reader of FACTS.
    """
    global _OTHER_PLACE
    for name in LOCATION_FACTS:
        FACTS[name] = location.get(name, _UNPLACED[name])
    _OTHER_PLACE = _other_place(tuple(home))


# The fields that are a status the enterprise holds, as the enterprise lists them.
QUALIFICATIONS: dict[str, str] = {
    "高新技术企业": "high_tech",
    "科技型中小企业": "tech_sme",
    "科技小巨人企业": "little_giant",
    "科技小巨人培育企业": "little_giant_cultivation",
    "科技领军企业": "tech_leader",
    "小型微利企业": "small_low_profit",
    "创业投资企业": "venture_capital",
}


def parse_profile(data: Mapping[str, Any]) -> Profile:
    """A profile from JSON: the fields above, plus `qualifications` as a list of statuses.

    A listed `qualifications` is taken as complete: a status it does not name is not held.
    """
    fields = dict(data)
    listed = fields.pop("qualifications", None)
    if listed is not None:
        if not isinstance(listed, list) or not all(isinstance(q, str) for q in listed):
            raise ProfileError(
                "qualifications 须为资质名称的列表", "qualifications must be a list of status names"
            )
        unknown = [q for q in listed if q not in QUALIFICATIONS]
        if unknown:
            raise ProfileError(
                f"未知的资质：{'、'.join(unknown)}；可选：{'、'.join(QUALIFICATIONS)}",
                f"unknown qualification(s): {', '.join(unknown)}; "
                f"known: {', '.join(QUALIFICATIONS)}",
            )
        for name, field in QUALIFICATIONS.items():
            fields.setdefault(field, name in listed)
    try:
        return Profile(**fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "profile"
        if first["type"] == "extra_forbidden":
            raise ProfileError(
                f"企业情况中有未知字段 {where}；可用字段：{'、'.join(FACTS)}、qualifications",
                f"unknown profile field {where!r}; known: {', '.join(FACTS)}, qualifications",
            ) from None
        raise ProfileError(
            f"企业情况字段 {where} 的值无效：{first['msg']}",
            f"profile field {where!r} is invalid: {first['msg']}",
        ) from None


def profile_schema_text() -> str:
    """The fields and their allowed values, one per line, as a model is told them."""
    lines = []
    for name, spec in FACTS.items():
        allowed = get_args(Profile.model_fields[name].annotation)
        choices = [v for a in allowed for v in get_args(a)]
        kind = "、".join(choices) if choices else "true/false" if bool in allowed else "年份，整数"
        lines.append(f"- {name}：{spec.label}（{kind}）")
    return "\n".join(lines)


def describe(profile: Profile) -> list[str]:
    """The known facts as short Chinese phrases, for an answer's opening line."""
    out = []
    for name, value in profile.known().items():
        spec = FACTS[name]
        if isinstance(value, bool):
            out.append(spec.label if value else f"{spec.label}：否")
        elif name == "high_tech_year":
            out.append(f"{value}年认定高企")
        else:
            out.append(str(value))
    return out


# -- reading facts from what an enterprise writes -------------------------------------------

# Speaking of one's own company: only then do the words describe the asker.
SELF = re.compile(
    r"我们|我司|本公司|我公司|我单位|本单位|本企业|我企|咱们|咱公司|我方|我的公司|我家公司"
)
# The asker's first person in the act of asking ("我们想了解…", "我想问一下") is not about
# the company: "我们想了解高企有什么补贴" asks about 高企 in general.
_FRAMING = re.compile(
    r"(?:我们|咱们|我)(?:这边)?(?:想|要|需要|希望)?(?:了解|知道|问问?|咨询|请教|打听)(?:一下|下)?"
)
# A clause whose subject is the company itself, named bare ("公司是高企", "公司在…注册").
_BARE_SUBJECT = re.compile(
    r"^(?:公司|企业)(?:是(?!否|不是)|属于)"
    r"|^公司(?:在|注册|已|刚|由|还|目前|今年|去年|成立|不是|没有|还没)"
)
# A statement with its subject left out, as one speaks of oneself ("刚拿到高企证书，…").
_DROPPED_SUBJECT = re.compile(r"^(?:刚刚?|已经|去年|今年|前年|目前|现在)")
_NEGATION = re.compile(
    r"(?:不是|不属于|并非|非|没有|没|未|还不是|尚未|不)(?:被)?(?:认定为?|评为|入选|获得|拿到|通过)?[^，。,；;！？]{0,3}$"
)
_CHOICES: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "stage": (
        ("初创期", ("初创", "刚成立", "刚创业", "起步", "新成立", "刚注册", "成立不久")),
        ("成长期", ("成长期", "成长阶段", "成长型", "快速发展期", "发展期")),
        ("成熟期", ("成熟期", "成熟阶段", "成熟企业")),
    ),
    "size": (
        ("微型", ("微型企业", "微型", "小微")),  # 小微: the smaller of the two
        ("小型", ("小型企业", "小企业")),
        ("中型", ("中型企业", "中型")),
        ("大型", ("大型企业", "大企业", "大型")),
    ),
    # 重新认定 first: "重新认定" holds "新认定".
    "high_tech_recognition": (
        ("重新认定", ("重新认定", "复审", "再次认定", "到期重新", "重认定")),
        (
            "首次认定",
            (
                "首次认定",
                "第一次认定",
                "首次评上",
                "首次获评",
                "刚拿到高企",
                "刚认定",
                "新认定",
                "首次通过",
            ),
        ),
    ),
    "industry": (
        ("软件和信息服务业", ("软件", "信息服务", "软信", "互联网")),
        ("科技服务业", ("科技服务", "检验检测", "技术服务业")),
        ("生物医药", ("生物医药", "医药", "医疗器械", "生物技术")),
        ("集成电路", ("集成电路", "芯片", "半导体")),
        ("北斗导航", ("北斗", "导航")),
        ("人工智能", ("人工智能", "AI", "大模型")),
        ("智能制造", ("智能制造", "制造业", "工业")),
        ("绿色新材料", ("新材料", "绿色材料")),
        ("农林牧渔", ("农业", "林业", "牧业", "渔业", "养殖", "种植")),
    ),
}
_YEAR = re.compile(r"(20\d\d)\s*年[^，。,；;]{0,6}(?:认定|评上|拿到|获评|通过)")


def _other_place(home: tuple[str, ...]) -> re.Pattern[str]:
    """A registration somewhere named, other than at home ("在闵行注册")."""
    names = sorted({n.removesuffix("区").removesuffix("市") or n for n in home}, key=len)[::-1]
    not_home = f"(?!{'|'.join(map(re.escape, names))})" if names else ""
    return re.compile(
        rf"注册(?:地)?(?:在|于){not_home}[\u4e00-\u9fff]{{2,4}}?(?:区|市|县)"
        rf"|在{not_home}[\u4e00-\u9fff]{{2,4}}?(?:区|市|县)?注册"
    )


_OTHER_PLACE = _other_place(())
# Where a question starts: what comes before it may still name who asks ("高企能享受什么？").
_ASK = re.compile(
    r"能否|能不能|能享受|能申请|能拿|能贷|能获得|可以|可否|是否|有没有|有哪些|有什么"
    r"|享受|申请|怎么|如何|吗|[？?]"
)


def mentions_self(text: str) -> bool:
    """Whether the writer speaks of their own enterprise.

    In the first person ("我们", "我司"; not in "我想问一下"), with the company as a bare
    subject ("公司是高企"), or in a statement of facts with its subject left out that comes
    before a question ("刚拿到高企证书，区里有补贴吗？"); a noun phrase ("去年认定的高企，…")
    states nothing about the writer.
    """
    text = _FRAMING.sub("", text)
    if SELF.search(text):
        return True
    clauses = [c.strip() for c in _clauses(text)]
    for i, clause in enumerate(clauses):
        if _BARE_SUBJECT.match(clause):
            return True
        if (
            _DROPPED_SUBJECT.match(clause)
            and not _asks(clause)
            and not clause.endswith("的")
            and not re.search(r"的[^，。]{1,8}$", clause)
            and any(is_question(c) for c in clauses[i + 1 :])
            and read_facts(clause).known()
        ):
            return True
    return False


def read_facts(text: str) -> Profile:
    """The facts a message states about the writer's enterprise, without a model.

    Only clauses that speak of the enterprise count ("我们是高企"), and a negation just before
    a status word ("还不是高企", "没有入库") states that it does not hold. Words the writer
    asks about ("能申请高企吗") are not facts: a clause that ends in a question is skipped
    unless it also says "我们是…".
    """
    facts: dict[str, Any] = {}
    for clause in _clauses(text):
        if _asks(clause) and not re.search(r"(?:是|属于|为|有|拿到|获得|已经|已)", clause):
            clause = clause[: _ASK.search(clause).start()]  # type: ignore[union-attr]
        for name, spec in FACTS.items():
            if not spec.words or name in facts:
                continue
            for word in sorted(spec.words, key=len, reverse=True):
                at = clause.find(word)
                if at < 0:
                    continue
                if name == "little_giant" and clause.startswith("培育", at + len(word)):
                    facts.setdefault("little_giant_cultivation", not _negated(clause[:at]))
                    break
                if name == "registered_in_district" and _OTHER_PLACE.search(clause):
                    break
                facts[name] = not _negated(clause[:at])
                break
        for name, options in _CHOICES.items():
            if name in facts:
                continue
            # "中小企业" says small-or-medium, which is no size in particular.
            plain = clause.replace("中小企业", "") if name == "size" else clause
            for value, words in options:
                if any(w in plain for w in words):
                    facts[name] = value
                    break
        if _OTHER_PLACE.search(clause):
            facts.setdefault("registered_in_district", False)
        year = _YEAR.search(clause)
        if year and "high_tech_year" not in facts and ("高企" in clause or "高新" in clause):
            facts["high_tech_year"] = int(year.group(1))
    if facts.get("high_tech_recognition") and "high_tech" not in facts:
        facts["high_tech"] = True  # "刚拿到高企" / "重新认定" say so
    return Profile(**facts)


def _clauses(text: str) -> Iterable[str]:
    return [c for c in re.split(r"[，。,；;！!\n]|(?<=[？?])", text) if c.strip()]


def _asks(clause: str) -> bool:
    return bool(re.search(r"[吗？?]|能否|能不能|可不可以|怎么|如何|是否", clause))


_QUESTION = re.compile(r"[吗？?]|呢$|能否|能不能|可不可以|怎么|如何|是否|什么|哪些|哪个|啥|多少|几")


def is_question(text: str) -> bool:
    """Whether a message or clause asks something (rather than only stating)."""
    return bool(_QUESTION.search(text.strip()))


def _negated(before: str) -> bool:
    return bool(_NEGATION.search(before[-8:]))
