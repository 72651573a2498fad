"""Items of enumerated lists ("（二）…", "2. …", "2、…"): where a list's items begin (pure)."""

from __future__ import annotations

import re

ITEM = re.compile(r"\s*(?:[（(][一二三四五六七八九十]+[)）]|\d{1,2}[.．、](?!\d))")


def is_item(text: str, start: int = 0) -> bool:
    """True when the text at `start` is an item of a list ("（二）…", "2. …")."""
    return bool(ITEM.match(text, start))
