"""Questions that ask several things at once, read as one question per thing asked.

"临溪区高企政策找哪个科室，电话多少" asks for an office and a phone number; "去年…多少？今年呢"
asks twice. Each clause that asks ends a part; clauses that only describe ("员工才来了四个月")
stay with the part they introduce, and what comes before the first asking clause is shared by
all. A later part that names no subject of its own ("电话多少", "封顶多少") is asked about the
first part's subject. Pure functions over text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from assistant.answer.aspects import ATTRIBUTES
from assistant.text.intent import ALTERNATIVE, asks, read_intent, yes_no
from assistant.text.vocabulary import has_chinese, normalize

_SENTENCE_END = re.compile(r"(?<=[？?；;])")
_CLAUSE_END = re.compile(r"(?<=[，,])")
_JOINING = re.compile(r"^(?:另外|此外|还有|以及|同时|并且|而且|那么?)[，,]?")
_TITLE = re.compile(r"《[^《》]+》")
_TIME = re.compile(r"前年|去年|今年|明年|本年|(?:19|20)\d{2}年度?")
MAX_PARTS = 3
OWN_SUBJECT = 2  # subject words a later part needs to stand on its own …
SHORT = 10  # … and characters: "超出部分是不是减半" leans on the part before it


def _clauses(question: str) -> list[tuple[str, bool]]:
    """The clauses of a question, each with whether it may ask. In a yes/no sentence only the
    last clause asks: "投了几家初创企业，所得税上能有优惠吗" says "several" with 几家. A clause
    opening with 或者 offers another option of the clause before it, not a question of its own."""
    out: list[tuple[str, bool]] = []
    for sentence in _SENTENCE_END.split(question):
        clauses: list[str] = []
        for c in _CLAUSE_END.split(sentence):
            if clauses and ALTERNATIVE.match(c):
                clauses[-1] += c
            elif c.strip():
                clauses.append(c)
        closed = yes_no(sentence)
        out.extend((c, not closed or i == len(clauses) - 1) for i, c in enumerate(clauses))
    return out


def _asking(clause: str, marks_questions: bool) -> bool:
    """Whether a clause asks. An asker who marks questions with ？ tells with 。: in
    "准备牵头几家会员厂一起搞个团体标准。团标出来以后只能会员自己用" only what follows 。 may ask."""
    return asks(re.split(r"[。！!]", clause)[-1] if marks_questions else clause)


def _stands(text: str, own: Sequence[str]) -> bool:
    """Whether a part names enough of its own to be asked alone."""
    return len(own) >= OWN_SUBJECT and len(text) > SHORT


def _asked(text: str) -> tuple[frozenset[str], frozenset[str]]:
    """The kinds of answer and the attributes a text asks for."""
    attributes = frozenset(a.zh for a in ATTRIBUTES if a.asking_spans(text))
    return frozenset(read_intent(text).kinds), attributes


def _part_text(clauses: list[str]) -> str:
    return _JOINING.sub("", "".join(clauses)).rstrip("，,")


def _restatements_joined(
    parts: list[list[str]], subject_words: Callable[[str], list[str]]
) -> list[list[str]]:
    """A short part that asks what the part before it asks says that question again:
    "高企措施管到哪年，什么时候失效" asks one thing."""
    joined: list[list[str]] = []
    for part in parts:
        text = _part_text(part)
        if joined and not _stands(text, subject_words(text)):
            kinds, attributes = _asked(text)
            if kinds and (kinds, attributes) == _asked(_part_text(joined[-1])):
                joined[-1] = joined[-1] + part
                continue
        joined.append(part)
    return joined


def question_parts(question: str, subject_words: Callable[[str], list[str]]) -> list[str]:
    """The parts of a question, each standalone; one part when it asks one thing.

    `subject_words(text)` lists the words of a text that name a subject the documents know,
    and the places it names.
    English questions are read whole: their parts are joined by words, not by punctuation.
    """
    if not has_chinese(question):
        return [question]
    shared: list[str] = []
    parts: list[list[str]] = []
    pending: list[str] = []
    text_of = normalize(question)
    marks_questions = bool(re.search(r"[？?]", text_of))
    for clause, may_ask in _clauses(text_of):
        text = clause.strip()
        pending.append(text)
        if may_ask and _asking(text, marks_questions):
            parts.append(pending)
            pending = []
        elif not parts:
            shared.append(text)
            pending = []
    if pending and parts:
        parts[-1].extend(pending)
    # Each part's subject words are read once, though both joining and leaning ask for them.
    known: dict[str, list[str]] = {}

    def own_words(text: str) -> list[str]:
        if text not in known:
            known[text] = subject_words(text)
        return known[text]

    parts = _restatements_joined(parts, own_words)
    if len(parts) < 2 or len(parts) > MAX_PARTS:
        return [question]
    texts = [_part_text(c) for c in parts]
    own = [own_words(t) for t in texts]
    standing = [_stands(texts[i], own[i]) for i in range(len(texts))]
    # A short part, or one without a subject of its own, leans back: it is asked about the
    # nearest part before it that names something. Before any such part, the shared opening is its
    # subject ("研究员来公司兼职，他能拿报酬吗"); without that either, the richest part's.
    richest = max(range(len(texts)), key=lambda i: len(own[i]))
    prefix = "".join(shared)
    opening_names = bool(prefix and subject_words(prefix))

    def leaned_on(i: int) -> int | None:
        """The nearest part before the i-th that names something."""
        return next((j for j in reversed(range(i)) if own[j]), None)

    def carried_for(i: int) -> str:
        j = leaned_on(i)
        if j is not None:
            # A document named by its title is carried whole: its words apart name no document.
            return " ".join(_TITLE.findall(texts[j]) or own[j])
        if opening_names or i == richest or own[i]:
            return ""  # a first part naming a subject of its own keeps it
        return " ".join(own[richest])

    def asked_in(text: str) -> list[str]:
        return [text[s:e] for a in ATTRIBUTES for s, e in a.asking_spans(text)]

    out: list[str] = []
    when = ""  # the time of the latest part that named one
    for i, text in enumerate(texts):
        carried = carried_for(i)
        lacking = bool(carried) and not standing[i]
        j = leaned_on(i)
        if lacking and j is not None and not asked_in(text):
            # "利率多少？比普通贷款低多少": the leaning part asks the same attribute again.
            carried = " ".join((carried, *dict.fromkeys(asked_in(texts[j]))))
        # Such a part is also asked at the time an earlier part named ("去年…多少个，结算资金
        # 多少"); a part standing on its own keeps its own time, or none.
        named = _TIME.search(text) or _TIME.search(prefix)
        if named:
            when = named.group(0)
        carried_time = when if lacking and not named else ""
        out.append(f"{prefix}{carried_time}{carried + ' ' if lacking else ''}{text}".strip())
    return out
