"""The names the documents use: document titles in 《》 and the domain's named things.

An answer may name only titles the documents spell, and a figure next to a sibling product
("履约贷" in a question about 微贷通) answers a neighbouring question, not this one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from importlib import resources

from assistant.answer.need import Need
from assistant.text.vocabulary import normalize

_DATA = resources.files("assistant.text") / "data"
_MENTIONED_TITLE = re.compile(r"《([^《》\n]{2,60})》")
_MAX_NAMED = 3


def names_sibling(clause: str, need: Need) -> bool:
    """True when a clause names a named thing (of the lexicon or the documents) that the
    question does not mention."""
    return bool(sibling_named(clause, need))


def sibling_named(clause: str, need: Need) -> str:
    """The first named thing a clause names that the question does not mention, or "": the
    documents' own names (科创微贷) before the lexicon's kinds of thing (孵化器)."""
    asked = {f for t in need.terms for f in t.forms}
    return next(
        (
            e
            for e in (*sorted(need.siblings), *sorted(need.entities))
            if e in clause
            and not any(e in a or a in e for a in asked)
            and not _listed_with_asked(e, clause, asked)
        ),
        "",
    )


_JOINED = "或者|或|和|及|以及|与|、"
_HEAD = 2  # characters of an asked name that the law writes alone (发明 for 发明专利)


def _listed_with_asked(name: str, clause: str, asked: set[str]) -> bool:
    """True when a clause lists the name beside the asked thing ("发明或者实用新型" asked of
    发明专利): what it says holds for both, so the name is no sibling. The law often writes
    a named thing by its head alone (发明 for 发明专利)."""
    heads = {a[:_HEAD] for a in asked if len(a) > _HEAD}
    e = re.escape(name)
    before = (m.group(1) for m in re.finditer(rf"(\w{{{_HEAD}}})(?:{_JOINED}){e}", clause))
    after = (m.group(1) for m in re.finditer(rf"{e}(?:{_JOINED})(\w{{{_HEAD}}})", clause))
    return any(word in heads for word in (*before, *after))


_QUOTED_NAME = re.compile(r"[“\"]([\u4e00-\u9fffA-Za-z0-9+]{2,12})[”\"]")


def quoted_names(texts: Iterable[str]) -> frozenset[str]:
    """The named things of the documents: programmes and products they quote by name
    (本区设立“科创微贷”“成长履约贷”…), which a question names whole and must not confuse."""
    return frozenset(normalize(m.group(1)) for text in texts for m in _QUOTED_NAME.finditer(text))


# A classification ("科技人才分为以下三类：") and the names its items define ("（二）青年英才：…").
_CLASSIFICATION = re.compile(r"(?:分为|分成|划分为)[^。；：:\n]{0,10}[:：]")
_DEFINED_ITEM = re.compile(
    r"\s*[（(][一二三四五六七八九十]{1,3}[)）]([\u4e00-\u9fffA-Za-z0-9+]{2,8})[:：，,]"
)


def classified_names(texts: Iterable[str]) -> frozenset[str]:
    """The classes a document divides something into (领军人才, 青年英才, 技能骨干): each is
    a named thing, and a figure stated for one class does not answer for another."""
    out = set()
    for text in texts:
        for stem in _CLASSIFICATION.finditer(text):
            at = stem.end()
            while item := _DEFINED_ITEM.match(text, at):
                out.add(normalize(item.group(1)))
                at = _next_line(text, item.end())
    return frozenset(out)


def _next_line(text: str, at: int) -> int:
    end = text.find("\n", at)
    return len(text) if end < 0 else end + 1


def named_things(texts: Iterable[str]) -> frozenset[str]:
    """The named things of the documents, quoted by name or defined as classes."""
    kept = list(texts)
    return quoted_names(kept) | classified_names(kept)


def same_title(asked: str, title: str) -> bool:
    """True when one title holds the other (normalized): the asker may shorten a title."""
    a, t = normalize(asked), normalize(title)
    return a in t or t in a


def titles_mentioned(texts: Iterable[str]) -> list[str]:
    """The document titles named in 《》 in some texts, as they spell them, each once."""
    return list(
        dict.fromkeys(m.group(1).strip() for text in texts for m in _MENTIONED_TITLE.finditer(text))
    )


def as_mentioned(asked: str, mentioned: Sequence[str]) -> list[str]:
    """The titles the documents name that the asker means: the same one, else those holding
    all of it (never one merely inside it: 《X规划补充办法》 is not 《X规划》)."""
    a = normalize(asked)
    same = [m for m in mentioned if normalize(m) == a]
    return same or [m for m in mentioned if a in normalize(m)][:_MAX_NAMED]


_QUOTED = re.compile(r"《[^》]*》")
_NOT_TITLE_WORDS = re.compile(r"[\d\s\-－—~～至年()（）“”\"'《》,，、]|中华人民共和国")
MIN_BARE_TITLE = 8  # characters a title must keep, bare, to be recognized without its 《》


def titles_named_bare(question: str, mentioned: Sequence[str]) -> list[str]:
    """The mentioned titles a question names without 《》 ("高新区某园2025-2026年改革创新发展
    行动方案" for 《高新区某园改革创新发展行动方案(2025-2026年)》): equal once years, numbers,
    brackets and quotes are left out of both. What the asker puts in 《》 is read as written."""
    asked = _NOT_TITLE_WORDS.sub("", _QUOTED.sub("，", normalize(question)))
    out = []
    for title in mentioned:
        bare = _NOT_TITLE_WORDS.sub("", normalize(title))
        if len(bare) >= MIN_BARE_TITLE and bare in asked:
            out.append(title)
    return out
