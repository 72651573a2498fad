"""Whether a document is in force: current, not yet effective, expired, superseded or repealed.

Pure logic over the documents' metadata. A document may declare `effective_date`,
`expiry_date`, `status` (效力状态, e.g. 现行有效 / 已废止 / 历史版本) and `supersedes` (the 文号
or id of documents it replaces, separated by ；,、). Of documents sharing one 文号, the latest
(by date) stands and the others count as superseded by it. Documents that are not current
stay searchable, but answers prefer current ones and say when they cite one that is not; a
superseded one is said to be replaced by the document that stands, named by title and 文号.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Protocol

CURRENT = "current"
# Chroma scores are fused ranks: a document not in force keeps this share of its score, so it
# still answers when nothing current does, but a current passage of similar rank comes first.
NOT_CURRENT_WEIGHT = 0.6
# A passage a question quotes word for word keeps nearly all of it: never hidden from its own
# words, it still ranks below a current passage of the same score.
QUOTED_WEIGHT = 0.99

_REPEALED = ("已废止", "废止", "已失效", "失效")
_HISTORICAL = ("历史版本",)
_DATE = re.compile(r"(\d{4})[-./年](\d{1,2})[-./月](\d{1,2})")


class Entry(Protocol):
    """What lifecycle needs of a document (the manifest's DocumentEntry has it)."""

    doc_id: str
    title: str
    doc_number: str
    metadata: dict[str, str]


@dataclass(frozen=True)
class Standing:
    """A document's standing on a given day, and how an answer should say it."""

    state: str  # current | not_yet | expired | superseded | repealed
    note: str = ""  # e.g. "已于2025-12-31失效" — empty when current

    @property
    def current(self) -> bool:
        return self.state == CURRENT


def parse_date(text: str) -> date | None:
    m = _DATE.search(text or "")
    if not m:
        return None
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None


def standings(documents: Mapping[str, Entry], today: date | None = None) -> dict[str, Standing]:
    """The standing of every document on `today` (default: the current date)."""
    today = today or date.today()
    superseded_by: dict[str, str] = {}
    by_number: dict[str, list[Entry]] = {}
    for d in documents.values():
        if d.doc_number:
            by_number.setdefault(number_key(d.doc_number), []).append(d)
    for d in documents.values():
        for ref in re.split(r"[；;，,、\s]+", d.metadata.get("supersedes", "")):
            if not ref:
                continue
            for old in [
                *by_number.get(number_key(ref), []),
                *([documents[ref]] if ref in documents else []),
            ]:
                if old.doc_id != d.doc_id:
                    superseded_by[old.doc_id] = named(d)
    for same in by_number.values():
        if len(same) > 1:
            latest = max(same, key=_issued)
            for old in same:
                if old.doc_id != latest.doc_id and _issued(old) < _issued(latest):
                    superseded_by.setdefault(old.doc_id, named(latest))
    return {
        doc_id: _standing(d, superseded_by.get(doc_id), today) for doc_id, d in documents.items()
    }


def named(d: Entry) -> str:
    """How a note names a document: 《title》, with its 文号 when it has one.

    Versions of one document often share a title; the 文号 tells the reader which one stands.
    """
    return f"《{d.title}》（{d.doc_number}）" if d.doc_number else f"《{d.title}》"


def _standing(d: Entry, by: str | None, today: date) -> Standing:
    meta = d.metadata
    status = meta.get("status", "")
    if by:
        # Superseded says more than repealed: it names the document to read instead.
        return Standing("superseded", f"已被{by}取代")
    if any(word in status for word in _REPEALED):
        return Standing("repealed", f"已{'废止' if '废止' in status else '失效'}")
    if any(word in status for word in _HISTORICAL):
        return Standing("superseded", "为历史版本")
    expiry = parse_date(meta.get("expiry_date", ""))
    if expiry is not None and expiry < today:
        return Standing("expired", f"已于{expiry.isoformat()}失效")
    effective = parse_date(meta.get("effective_date", ""))
    if effective is not None and effective > today:
        return Standing("not_yet", f"自{effective.isoformat()}起施行，目前尚未生效")
    return Standing(CURRENT)


def _issued(d: Entry) -> tuple[date, str]:
    for key in ("date", "publish_date", "version_date", "effective_date"):
        found = parse_date(d.metadata.get(key, ""))
        if found is not None:
            return found, d.doc_id
    return date.min, d.doc_id


def number_key(doc_number: str) -> str:
    """文号 compared without spaces and with either kind of brackets: 〔2025〕, [2025], (2025)."""
    return re.sub(r"\s", "", doc_number).translate(
        str.maketrans("[]()（）【】", "〔〕〔〕〔〕〔〕")
    )


def notes(
    cited: list[str], standing: Mapping[str, Standing], titles: Mapping[str, str]
) -> list[str]:
    """One note per cited document that is not current, in citation order."""
    out = []
    for doc_id in dict.fromkeys(cited):
        s = standing.get(doc_id)
        if s is not None and not s.current:
            out.append(
                f"注意：所引《{titles.get(doc_id, doc_id)}》{s.note}，请以现行有效的文件为准。"
            )
    return out
