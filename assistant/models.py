"""Plain data passed between the layers: documents, chunks and search hits."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Role = Literal["user", "assistant"]  # who speaks a turn of a conversation
AnswerMode = Literal["extractive", "llm"]  # quoted from the documents, or worded by a model

# The line that closes every answer drawn from the documents, and every eligibility answer.
NOTE = "（以上依据所引文件整理，具体以文件原文和主管部门的解释为准。）"


@dataclass(frozen=True)
class Document:
    """A loaded policy text: its original body and its metadata.

    `text` is the body exactly as the file holds it (after decoding, front matter removed),
    so character offsets into it let any citation quote the source verbatim. `pages` holds
    the offset in `text` where each page begins (page 1 first), for files that have pages.
    """

    doc_id: str
    text: str
    title: str
    doc_number: str = ""
    source_path: str = ""
    content_hash: str = ""
    metadata: dict[str, str] = field(default_factory=dict)
    pages: tuple[int, ...] = ()


@dataclass(frozen=True)
class Chunk:
    """A passage small enough to cite, with everything needed to show where it came from."""

    chunk_id: str
    doc_id: str
    title: str
    doc_number: str
    section: str
    text: str
    start: int
    end: int
    lead: str = ""  # the opening clause of a long article, for its later pieces
    page: int | None = None  # the page the chunk starts on, for files that have pages
    page_breaks: tuple[int, ...] = ()  # offsets inside the chunk where a later page begins

    def page_at(self, offset: int) -> int | None:
        """The page that holds a document offset inside this chunk (None without pages)."""
        if self.page is None:
            return None
        return self.page + sum(1 for b in self.page_breaks if b <= offset)

    def to_record(self) -> dict[str, Any]:
        """The chunk as a JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Chunk:
        """Rebuild a chunk written by `to_record` (records from before pages lack them)."""
        return cls(**{**record, "page_breaks": tuple(record.get("page_breaks", ()))})


@dataclass(frozen=True)
class Hit:
    """One ranked search result."""

    chunk: Chunk
    score: float
    ranks: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The public shape of a hit (CLI `--json` and HTTP)."""
        c = self.chunk
        return {
            "chunk_id": c.chunk_id,
            "doc_id": c.doc_id,
            "title": c.title,
            "doc_number": c.doc_number,
            "section": c.section,
            "text": c.text,
            "score": round(self.score, 6),
            **({"page": c.page} if c.page is not None else {}),
        }


@dataclass(frozen=True)
class Citation:
    """A numbered quote backing an answer: `quote` is exactly the source text at [start, end)."""

    n: int
    chunk: Chunk
    quote: str
    start: int
    end: int

    @property
    def page(self) -> int | None:
        """The page the quote starts on, for files that have pages (PDF); else None."""
        return self.chunk.page_at(self.start)

    @property
    def page_label(self) -> str:
        """ "第N页" for a quote from a paged file, "" otherwise: the tail of a cited label."""
        return f"第{self.page}页" if self.page is not None else ""

    def where(self, sep: str = " ") -> str:
        """Where the quote is from: "《title》 文号 section 第N页", the parts it has, joined by sep."""
        c = self.chunk
        return sep.join(
            p for p in (f"《{c.title}》", c.doc_number, c.section, self.page_label) if p
        )

    def to_json(self) -> dict[str, Any]:
        """The public shape of a citation (CLI `--json` and HTTP)."""
        c = self.chunk
        # "page" only appears for paged files, so existing clients see the same keys as before.
        return {
            "n": self.n,
            "chunk_id": c.chunk_id,
            "doc_id": c.doc_id,
            "title": c.title,
            "doc_number": c.doc_number,
            "section": c.section,
            "quote": self.quote,
            "start": self.start,
            "end": self.end,
            **({"page": self.page} if self.page is not None else {}),
        }


@dataclass(frozen=True)
class Answer:
    """What the assistant says to one question, with what it rests on.

    `related` holds the closest clauses when the assistant abstains (or extra context), never
    anything the answer text relies on. `notes` says what happened on the way, e.g. that a
    model's answer was replaced because it failed verification.
    """

    answer: str
    citations: tuple[Citation, ...]
    related: tuple[Citation, ...] = ()
    abstained: bool = False
    mode: AnswerMode = "extractive"
    intent: str = ""
    question: str = ""  # the question as answered, after resolving the conversation
    notes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The public shape of an answer (CLI `--json` and HTTP)."""
        return {
            "answer": self.answer,
            "citations": [c.to_json() for c in self.citations],
            "related": [c.to_json() for c in self.related],
            "abstained": self.abstained,
            "mode": self.mode,
            "intent": self.intent,
            "question": self.question,
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class Message:
    """One turn of a conversation."""

    role: Role
    content: str
