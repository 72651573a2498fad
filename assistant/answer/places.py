"""The places documents speak for, read from their issuers and titles, and the places a
question names.

A clause of a district's measures says 本区, not the district's name: "对首次通过认定的企业，
给予一次性奖励30万元" is 临溪区's only because 临溪区 issued the document. So a passage carries
the places of its document, read at load from the issuer and the title ("东澜市临溪区科学技术
委员会" → 东澜市, 临溪区), and a question naming a place is answered by a passage whose document
or text speaks for it. A place-like name the corpus never uses is somewhere it does not cover.
Pure functions over text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

# An administrative name at the start of an issuer or a title: two or three characters and
# the level. 新区 comes before 区 so that 浦东新区 is read whole.
_LEADING = re.compile(r"[\u4e00-\u9fff]{2,3}?(?:自治区|省|市|新区|区|县)")
# A district- or county-like word in a question: two characters and the level. Cities are
# left to the gazetteer and places.txt: "上市", "城市" and "超市" read like one.
_ANYWHERE = re.compile(r"([\u4e00-\u9fff]{2})(新区|区|县)")
# What may stand before a place's name: nothing, punctuation, or a word that introduces one.
_BEFORE_PLACE = set("在对于是的和与跟及或向从到，,。？?！!：: ")
# A second character that makes "X区" a common noun (园区, 社区, 开发区, 示范区, 保税区 …).
_COMMON_NOUN_END = set("园城社片郊小景辖市专街矿灾山牧特范发税聚能心贸试验功本全该各")
# Characters no place name holds, and what follows 区 when it means "the district" (区里).
_NOT_IN_NAME = set("年月日了的里外另除们这那个我你他它是有在和与及或")
_NOT_AFTER = set("里内外级域间划")
_SUFFIXES = ("自治区", "新区", "省", "市", "区", "县")


def leading_places(name: str) -> list[str]:
    """The administrative names an issuer or title starts with ("某市某区科委" → 某市, 某区)."""
    out: list[str] = []
    for part in re.split(r"[、，,；;\s]+", name):
        at = 0
        while True:
            m = _LEADING.match(part, at)
            if not m:
                break
            out.append(m.group(0))
            at = m.end()
    return list(dict.fromkeys(out))


def names_of(place: str) -> tuple[str, ...]:
    """A place's names: in full, and without its level when two characters remain (临溪区, 临溪)."""
    for suffix in _SUFFIXES:
        short = place.removesuffix(suffix)
        if short != place and len(short) >= 2:
            return (place, short)
    return (place,)


@dataclass(frozen=True)
class Gazetteer:
    """The places each indexed document speaks for, and every such place's names."""

    by_document: Mapping[str, frozenset[str]] = field(default_factory=dict)
    places: tuple[tuple[str, ...], ...] = ()  # each place's names, in full first

    @classmethod
    def of(cls, documents: Iterable[tuple[str, str, str]]) -> Gazetteer:
        """From (doc_id, issuer, title) of the indexed documents."""
        by_document: dict[str, frozenset[str]] = {}
        places: dict[str, tuple[str, ...]] = {}
        for doc_id, issuer, title in documents:
            found = [*leading_places(issuer), *leading_places(title)]
            for place in found:
                places.setdefault(place, names_of(place))
            by_document[doc_id] = frozenset(n for p in found for n in names_of(p))
        return cls(by_document, tuple(places.values()))

    def named_in(self, question: str) -> tuple[tuple[str, ...], ...]:
        """The documents' places that a (normalized) question names."""
        return tuple(names for names in self.places if any(n in question for n in names))

    def speaks_for(self, doc_id: str, names: Iterable[str]) -> bool:
        """True when the document was issued for (or titled with) one of the names."""
        held = self.by_document.get(doc_id, frozenset())
        return any(n in held for n in names)


EMPTY = Gazetteer()


def unknown_places(question: str, corpus_has: Callable[[str], bool]) -> list[str]:
    """District-like names in a question ("南屿区") that no indexed passage, title or issuer holds.

    A name counts when it opens the question or a phrase ("在南屿区", "对南屿区"), so that
    "科技园区" or "本区" never reads as one.
    """
    out: list[str] = []
    for m in _ANYWHERE.finditer(question):
        name, prefix = m.group(0), m.group(1)
        if m.start() > 0 and question[m.start() - 1] not in _BEFORE_PLACE:
            continue
        if prefix[-1] in _COMMON_NOUN_END or prefix[0] in _COMMON_NOUN_END:
            continue
        if any(c in _NOT_IN_NAME for c in prefix) or question[m.end() : m.end() + 1] in _NOT_AFTER:
            continue
        if corpus_has(name) or corpus_has(prefix):
            continue
        out.append(name)
    return list(dict.fromkeys(out))
