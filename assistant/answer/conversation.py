"""Follow-up questions resolved against the conversation, without a model (pure logic).

Three cases, after "去年全区有效高企有多少家？":
- "那今年的目标呢？" names no subject of its own, only an aspect and a time: the previous
  subject (its words minus the asking and the time words) is carried forward.
- "那科技小巨人呢？" names a new subject but leans on the previous question for what is asked
  ("那…呢", "其中", "如果是…"): the previous question is kept for its aspect, and the new subject
  becomes the focus, so the answer is about it and not about the old one.
- A question with its own subject that does not lean back, or one that says it changes the
  topic ("换个问题"), starts fresh.

Every turn is read as plain words first (`without_markup`): HTML pasted into a question is no
part of what is asked, and must never come back in an answer.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

from assistant.models import Message
from assistant.text.vocabulary import normalize

_TOPIC_CHANGE = re.compile(
    r"^(?:换个问题|换个话题|换一个问题|问个别的|问点别的|另外问|再问个别的|另一个问题|"
    r"new question|another question|different question|unrelated question)[,，:：。.!！\s]*"
)
_LEANS = re.compile(
    r"^(?:那么?|那如果|如果是?|要是|假如|其中|它们?|这个|这种|这类|该|此外|还有|另外|同样|"
    r"and\b|what about|how about|and what|also\b)|呢[?？]?\s*$|^[^，,。？?]{1,12}呢[?？]|"
    r"我们这种|这种情况|这类企业|这样的企业"
)
_ASKS = re.compile(
    r"吗|多少|什么|哪些|哪个|怎么|如何|是否|几[家个项人次年]|有没有|能不能|(?<!呢)[?？]$"
)
_LEAD = re.compile(r"^(?:那么?|还有|另外|此外|and\s+|also\s+)")
# Words that ask or locate in time: dropped from a carried subject, since the follow-up
# brings its own ("去年…多少家" → "那今年的目标呢" must not keep 去年).
_ASKING = re.compile(
    r"多少[家个项人次元钱]?|几[家个项人次年]|是什么|什么|怎么样|怎么|如何|哪些|哪个|是否|有没有|能不能|"
    r"可以吗|吗|呢|吧|啊|[？?。！!，,]|去年|今年|明年|前年|当年|本年|全年|"
    r"(?:19|20)\d{2}年(?:度|底|初)?|请问|想问|我们|我司|咱们|公司|"
    r"\b(?:how many|how much|what|which|did|does|do|is|are|was|were|have|has|at the end of|"
    r"in|this year|last year|next year)\b|(?:19|20)\d{2}"
)


# Words naming an aim, which a follow-up asking its own aspect does not carry.
_AIM = re.compile(r"目标(?:是|为)?|力争|争取|计划|打算")


# Script and style blocks go with their content; other tags, comments and entities go alone.
_BLOCK = re.compile(r"<\s*(script|style)\b[^>]*>.*?(?:<\s*/\s*\1\s*>|$)", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<!--.*?(?:-->|$)|<\s*/?\s*[A-Za-z!?][^<>]*>", re.DOTALL)
# An angle bracket left over (a lone "<", or a tag split to re-form once its inside is gone)
# must not reach a page; full-width and small forms fold to "<" when a question is normalized.
_ANGLE = re.compile(r"[<>＜＞﹤﹥]")


def without_markup(text: str) -> str:
    """The text with HTML tags, script blocks, entities and angle brackets removed."""
    text = html.unescape(text)
    text = _TAG.sub(" ", _BLOCK.sub(" ", text))
    return re.sub(r"[ \t]{2,}", " ", _ANGLE.sub(" ", text)).strip()


@dataclass(frozen=True)
class Resolved:
    """A question made standalone, and the words it is about when it switched subject."""

    text: str
    focus: tuple[str, ...] = ()


def leans_back(question: str) -> bool:
    """True when a question points back to an earlier one ("那今年的目标呢？", "其中…")."""
    return bool(_LEANS.search(normalize(question).strip()))


def carried_subject(previous: str) -> str:
    """The subject of an earlier question: its words without the asking and the time words."""
    return re.sub(r"\s+", " ", _ASKING.sub(" ", normalize(previous))).strip()


def condense(
    question: str,
    earlier: Sequence[str],
    subject_words: Callable[[str], list[str]],
    names: Collection[str] = (),
) -> Resolved:
    """The question made standalone from the earlier (already resolved) user questions.

    `subject_words(text)` lists the words of a text that name a subject the documents know
    (not an aspect such as 目标 or 期限, not a time, not a function word); `names` are the
    documents' named things (loan products, classes of talent).
    """
    question = question.strip()
    changed = _TOPIC_CHANGE.match(normalize(question))
    if changed:
        return Resolved(question[changed.end() :].strip() or question)
    if not earlier:
        return Resolved(question)
    q = normalize(question)
    own = subject_words(question)
    leans = bool(_LEANS.search(q))
    if own and not leans:
        return Resolved(question)
    rest = _LEAD.sub("", question).strip()
    previous = earlier[-1]
    if own and not _ASKS.search(q):
        # "那科创助力贷呢？": the new subject, asked what the previous question asked.
        kept = re.sub(r"[？?。！!]+", " ", previous).strip()
        # A named thing in place of another (那领航信用贷呢？ after a question about 成长履约贷)
        # replaces it: asked beside it, the old one would pass for the subject still.
        asked = [n for n in names if n in q]
        if asked:
            for name in names:
                if name in kept and not any(name in a or a in name for a in asked):
                    kept = kept.replace(name, " ")
            kept = re.sub(r"\s+", " ", kept).strip()
        return Resolved(f"{rest} {kept}", tuple(own))
    subject = carried_subject(previous)
    if _ASKS.search(q):
        # "那去年实际做到多少？" after "今年目标是多少": it asks its own aspect, and the aim
        # the earlier question asked for is no part of the subject.
        subject = re.sub(r"\s+", " ", _AIM.sub(" ", subject)).strip()
    if not subject:
        return Resolved(question)
    return Resolved(f"{subject} {rest}", tuple(own))


def resolve_history(
    history: Sequence[Message], resolve: Callable[[str, list[str]], str]
) -> list[str]:
    """Each earlier user turn resolved in order, so a subject carries over several turns."""
    resolved: list[str] = []
    for m in history:
        if m.role == "user" and m.content.strip():
            resolved.append(resolve(m.content, resolved))
    return resolved
