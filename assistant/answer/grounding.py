"""Does the retrieved text hold what the question asks for? Pure logic over strings and chunks.

A similarity threshold cannot tell answerable from unanswerable questions here: with the
bundled model the top cosine of unanswerable questions lies inside the range of answerable
ones. So the check is concrete. A question has a subject (its words, weighted by how rare
they are in the index) and asks for a kind of answer (a figure with a unit, a target, a date,
a phone number, an amount per enterprise…): see `need`. A sentence supports an answer only
when it holds that kind of answer *next to* the subject (see `support`). This module decides
from the sentences: answer, or abstain saying what the documents do not state.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from assistant.answer.aspects import NOWHERE, Home
from assistant.answer.names import as_mentioned, same_title, titles_named_bare
from assistant.answer.need import Need, asked_kinds
from assistant.answer.places import EMPTY, Gazetteer, unknown_places
from assistant.answer.support import (
    Support,
    as_read,
    assess_sentence,
    sentences,
    telling_terms,
)
from assistant.models import Chunk, Hit
from assistant.text.vocabulary import normalize

Verdict = Literal["answer", "abstain", "out_of_scope"]
Similarity = Callable[[Sequence[str]], Sequence[float]]  # sentences → cosine with the question
Referred = Callable[[Chunk, str], str]  # a clause of a chunk → the text it refers to ("本法第三条")
HEAVY_SHARE = 0.6  # a word weighing this share of the question's heaviest names what is asked
SHORTLIST = 5  # sentences scored in meaning too: embedding one costs about 8 ms once


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
    asked = [span for a in need.attributes for span in a.asking_spans(need.question)]

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
    # A piece of a longer subject word says nothing more (加计 of 加计扣除).
    words = [t for t in words if not any(t.word in o.word and t is not o for o in words)]
    ranked = sorted(words, key=lambda t: -t.weight)[:limit]
    ordered = [t.word for t in words if t in ranked]
    return ("、" if need.english else "").join(ordered) or "所问事项"


def _named_documents(need: Need, known_titles: Sequence[str]) -> set[str]:
    """The indexed documents a question names, by title without 中华人民共和国 (专利法) or by
    a name the vocabulary gives it (科技进步法, Patent Law)."""
    named = set()
    for title in known_titles:
        short = title.removeprefix("中华人民共和国")
        if len(short) < 4:
            continue
        if short in need.question or any(short in t.forms for t in need.terms):
            named.add(title)
    return named


def assess(
    need: Need,
    hits: Sequence[Hit],
    known_titles: Sequence[str],
    corpus_has: Callable[[str], bool],
    doc_years: Mapping[str, int] | None = None,
    mentioned_titles: Sequence[str] = (),
    home: Home = NOWHERE,
    indexed: str = "",
    gazetteer: Gazetteer = EMPTY,
    similarity: Similarity | None = None,
    referred: Referred | None = None,
) -> Assessment:
    """Decide whether the retrieved chunks answer the question.

    `known_titles` are the titles of the indexed documents, `mentioned_titles` the titles the
    indexed text names in 《》 (see `titles_mentioned`); `corpus_has(word)` tells whether any
    indexed passage holds a word (to notice places and documents the corpus never covers);
    `doc_years` gives each document's year, against which 去年 and 今年 are read; `home` is
    the deployment's own place, `indexed` says what the corpus holds (see `indexed_text`),
    `gazetteer` the places each document speaks for, and `similarity` scores sentences
    against the question in meaning (the best `SHORTLIST` by the other signals are scored),
    and `referred` gives what a sentence refers to by article ("本法第三条第三款规定的所得").
    """
    doc_years = doc_years or {}
    if need.off_topic or not need.terms:
        return Assessment("out_of_scope", [])
    if need.terms and all(not corpus_has(f) for t in need.terms for f in t.forms):
        return Assessment("out_of_scope", [])
    spans = sentences(hits)
    telling = telling_terms(need, spans)
    supports = sorted(
        (
            assess_sentence(
                need,
                s,
                doc_years.get(s.chunk.doc_id),
                telling,
                home,
                gazetteer.by_document.get(s.chunk.doc_id, frozenset()),
                referred(s.chunk, s.text) if referred else "",
            )
            for s in spans
        ),
        key=lambda s: -s.score,
    )
    named = _named_documents(need, known_titles)
    if named and not need.places:
        # "科技进步法有没有规定…": the asker names where the answer must be; another
        # document's figure (the district's 4.7% target) is no answer from that law.
        for support in supports:
            support.context_ok = support.context_ok and support.span.chunk.title in named
    if similarity is not None and supports:
        shortlist = supports[:SHORTLIST]
        for support, value in zip(
            shortlist, similarity([as_read(s.span) for s in shortlist]), strict=True
        ):
            support.similarity = value
        supports.sort(key=lambda s: -s.score)
    uncovered = _uncovered(
        need, supports, known_titles, corpus_has, mentioned_titles, home, indexed
    )
    if uncovered is not None:
        return uncovered
    answering = [s for s in supports if s.answers]
    if answering and not _only_for_sibling(need, answering[0], supports):
        return Assessment("answer", answering, candidates=supports)
    return _not_stated(need, supports)


def _only_for_sibling(need: Need, best: Support, supports: Sequence[Support]) -> bool:
    """True when what is asked of a named thing is stated only for its sibling.

    Asked for 青年英才's 购房补贴, the best sentence names 青年英才 but grants a 租房补贴; the
    购房补贴 is granted to 领军人才. The asked thing's heavy words that the best sentence
    lacks are then held by a sibling's sentence, and the documents say it only for that one.
    """
    if not need.names:
        return False
    heaviest = max(t.weight for t in need.terms)
    heading = normalize(best.span.chunk.section)
    missing = [
        t
        for t in need.terms
        if t.word not in need.names
        and t.weight >= HEAVY_SHARE * heaviest
        and t.word not in best.terms
        and not t.found_in(heading)
    ]
    return bool(missing) and any(
        s.sibling and s.kind_ok and s.context_ok and all(t.word in s.terms for t in missing)
        for s in supports
    )


def _uncovered(
    need: Need,
    supports: list[Support],
    known_titles: Sequence[str],
    corpus_has: Callable[[str], bool],
    mentioned_titles: Sequence[str],
    home: Home = NOWHERE,
    indexed: str = "",
) -> Assessment | None:
    """An abstention when the question names a place or a document the corpus lacks."""
    foreign = [
        names[0]
        for names in need.places
        if names[0] not in home.district
        and names[0] != home.city
        and not any(corpus_has(n) for n in names)
    ]
    foreign += [
        p
        for p in unknown_places(need.question, corpus_has)
        if p not in home.district and p not in foreign
    ]
    if need.unheard and not foreign:
        return Assessment(
            "abstain",
            supports,
            f"现有文件未涉及{'、'.join(need.unheard)}",
            f"the documents do not cover {', '.join(need.unheard)}",
        )
    if foreign:
        held = f"（收录的是{indexed}）" if indexed else ""
        return Assessment(
            "abstain",
            supports,
            f"现有文件未涉及{'、'.join(foreign)}的情况{held}",
            f"the documents do not cover {', '.join(foreign)}"
            + (f" (they are: {indexed})" if indexed else ""),
        )
    asked_titles = [*need.titles, *titles_named_bare(need.question, mentioned_titles)]
    missing = [t for t in asked_titles if not any(same_title(t, k) for k in known_titles)]
    if not missing:
        return None
    # A title is named as the documents spell it, and only when they name it: the asker's
    # 《…》 is their words, not the documents'.
    named = list(dict.fromkeys(m for t in missing for m in as_mentioned(t, mentioned_titles)))
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


SIBLING_SHARE = 0.5  # a sibling named in an abstention is spoken of half as much as the best


def _not_stated(need: Need, supports: list[Support]) -> Assessment:
    """An abstention saying what the documents do not state about the subject."""
    subject = subject_phrase(need)
    wanted_zh = "、".join(a.zh for a in need.attributes) or _kind_label(need)
    wanted_en = ", ".join(a.en for a in need.attributes) or _kind_label(need, en=True)
    # What the documents state only for a sibling is said as such, never given as the answer.
    # Only siblings spoken of much as the asked thing is: not every name near a figure.
    held = [s for s in supports if s.sibling and s.kind_ok and s.attributes_ok and s.context_ok]
    top = max((s.coverage for s in held), default=0.0)
    siblings = list(
        dict.fromkeys(
            s.sibling
            for s in sorted(held, key=lambda s: -s.coverage)
            if s.coverage >= SIBLING_SHARE * top
        )
    )[:3]
    if siblings:
        only = "、".join(siblings)
        return Assessment(
            "abstain",
            supports,
            f"现有文件未载明{subject}的{wanted_zh}；文件只对{only}载明了这一项",
            f"the documents do not state the {wanted_en} asked for ({subject}); "
            f"they state it only for {', '.join(siblings)}",
        )
    if need.choices and not any(s.figures_ok for s in supports if s.coverage > 0):
        first, second = need.choices
        return Assessment(
            "abstain",
            supports,
            f"现有文件未载明所问情形属于{first}还是{second}，只是并列提到两者",
            f"the documents do not state whether it is {first} or {second}; they name both",
        )
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


_PLAIN_WORD = re.compile(r"[^\W\d_]+")  # letters only: no digits, markup or punctuation


_KIND_LABELS = {
    "money": ("金额", "amount"),
    "percent": ("比例", "percentage"),
    "count": ("数量", "number"),
    "people": ("人数", "number of people"),
    "time": ("时间", "date or period"),
    "period": ("期限", "period"),
    "figure": ("具体数字", "figure"),
    "target": ("目标", "target"),
    "doc_number": ("文号", "document number"),
}


def _kind_label(need: Need, en: bool = False) -> str:
    kinds = asked_kinds(need)
    if not kinds:
        return "相关内容" if not en else "answer"
    return ("、" if not en else ", ").join(_KIND_LABELS[k][1 if en else 0] for k in kinds)
