"""What a law's clause refers to: "非居民企业取得本法第三条第三款规定的所得" speaks of the
income that 第三条's third paragraph describes (no establishment in China), though it names
none of its words. Pure logic over the indexed chunks.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from assistant.models import Chunk

_NUMERAL = "[一二三四五六七八九十百零〇]+"
# Only a reference that says what a thing is ("本法第三条第三款规定的所得"): "依照本法第六条的
# 规定" cites a rule, and "本法第四十七条规定以外的" means what that article leaves out.
_REFERENCE = re.compile(rf"本法(第{_NUMERAL}条)(?:第({_NUMERAL})款)?规定的")
_ARTICLE = re.compile(rf"^(第{_NUMERAL}条)$")
_DIGITS = {c: i for i, c in enumerate("零一二三四五六七八九")}


def _number(numeral: str) -> int:
    """A small Chinese numeral (一 to 九十九) as an int: paragraphs are never more."""
    if "十" in numeral:
        tens, _, ones = numeral.partition("十")
        return (_DIGITS.get(tens, 1) if tens else 1) * 10 + _DIGITS.get(ones, 0)
    return _DIGITS.get(numeral, 0)


class References:
    """The articles of each indexed law, to read what a clause's "本法第…条" refers to."""

    def __init__(self, chunks: Iterable[Chunk]) -> None:
        self._articles: dict[tuple[str, str], str] = {}
        for chunk in chunks:
            last = chunk.section.split(" > ")[-1].strip()
            if _ARTICLE.match(last):
                key = (chunk.doc_id, last)
                self._articles[key] = "\n".join(filter(None, (self._articles.get(key), chunk.text)))

    def of(self, chunk: Chunk, text: str) -> str:
        """The text a clause of the chunk refers to by article (and paragraph), or ""."""
        out = []
        for m in _REFERENCE.finditer(text):
            article = self._articles.get((chunk.doc_id, m.group(1)), "")
            if article and m.group(2):
                paragraphs = [p for p in article.split("\n") if p.strip()]
                n = _number(m.group(2))
                article = paragraphs[n - 1] if 0 < n <= len(paragraphs) else ""
            if article:
                out.append(article)
        return "\n".join(out)
