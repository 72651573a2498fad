"""Segmenting policy texts: the section tree, sentences, and citable chunks (pure functions).

Chinese policy documents number their structure. Recognized headings, from outer to inner:

    第X编 / 2024年工作总结 (a part) > 第X章 > 第X节 > 一、 > (一) > 1. > (1)     and 第X条 (article)

A heading may fill its own line ("一、深化科技体制机制创新") or open a paragraph
("(一)优化科技领域发展顶层设计。开展……"), in which case its first sentence is the heading and
the rest is body. A numbered line that is one full sentence ("（三）本办法自2025年1月1日起施行。")
is a provision, text of the section its number stands in; a heading is short and does not end
as a sentence does. A label before a colon ("联系部门：区科委产业科") stays in the text it labels.
Inside an article, lines such as "（一）国债利息收入；" are its 项, not headings.

Chunks are runs of whole sentences that never cross a section boundary; an article of a law is
one chunk unless it is long. Each chunk keeps its section path and character offsets into the
original text, so `text[start:end]` is exactly what a citation quotes; a chunk of a paged file
(PDF) also keeps the page it starts on.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, field

from assistant.models import Chunk, Document

SEGMENTER_VERSION = "5"

_CN_NUM = "零〇一二三四五六七八九十百千"
_HEADING_PATTERNS: list[tuple[int, re.Pattern[str]]] = [
    (0, re.compile(rf"^#?\s*第[{_CN_NUM}]+[编部分]\s*\S*")),
    (0, re.compile(r"^\d{4}年(?:度)?\S{0,12}(?:总结|要点|计划|安排|报告)$")),
    (1, re.compile(rf"^第[{_CN_NUM}]+章(?:[\s　]|$)")),
    (2, re.compile(rf"^第[{_CN_NUM}]+节(?:[\s　]|$)")),
    (3, re.compile(rf"^[{_CN_NUM}]+、")),
    (4, re.compile(rf"^[(（][{_CN_NUM}]+[)）]")),
    (5, re.compile(r"^\d{1,2}[.．、](?!\d)")),
    (6, re.compile(r"^[(（]\d{1,2}[)）]")),
]
_ARTICLE = re.compile(rf"^第[{_CN_NUM}]+条(?:之[{_CN_NUM}]+)?")
ARTICLE_RANK = 7
_MARKDOWN_HEADING = re.compile(r"^(#{1,6})\s+")

_SENTENCE_END = set("。！？；!?;")
_OPENERS = {
    "《": "》",
    "“": "”",
    "‘": "’",
    "(": ")",
    "（": "）",
    "【": "】",
    "[": "]",
    "「": "」",
    "『": "』",
    "〔": "〕",
}
_CLOSERS = {v: k for k, v in _OPENERS.items()}
_CLAUSE_END = set("，,、：:")


@dataclass(frozen=True)
class SegmentOptions:
    """Chunk size limits in characters (measured on the shipped corpus, see evals/)."""

    max_chars: int = 150
    hard_max: int = 300
    min_chars: int = 40
    article_max: int = 400


@dataclass
class Section:
    """A node of the section tree: its heading and the spans of its body text."""

    title: str
    rank: int
    path: tuple[str, ...]
    spans: list[tuple[int, int]] = field(default_factory=list)
    provisions: set[int] = field(default_factory=set)  # where a numbered provision begins

    @property
    def is_article(self) -> bool:
        return self.rank == ARTICLE_RANK


def _lines(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of each line, without its newline, leading/trailing blanks trimmed."""
    pos = 0
    for raw in text.split("\n"):
        start, end = pos, pos + len(raw)
        pos = end + 1
        while start < end and text[start] in " \t\u3000\r":
            start += 1
        while end > start and text[end - 1] in " \t\u3000\r":
            end -= 1
        if start < end:
            yield start, end


def heading_rank(line: str) -> int | None:
    """The rank of a heading line (smaller is outer), or None for body text."""
    md = _MARKDOWN_HEADING.match(line)
    if md:
        return len(md.group(1)) - 1
    if _ARTICLE.match(line):
        return ARTICLE_RANK
    for rank, pattern in _HEADING_PATTERNS:
        if pattern.match(line):
            return rank
    return None


def markdown_text(line: str) -> str:
    """A line without the hashes that make it a Markdown heading."""
    return _MARKDOWN_HEADING.sub("", line).strip()


def markdown_title(text: str) -> str:
    """The first "# …" line of a Markdown text, without its hash; "" when it has none."""
    for start, end in _lines(text):
        line = text[start:end]
        if line.startswith("# "):
            return markdown_text(line)
        if heading_rank(line) is not None:
            return ""
    return ""


def _is_plain_line(line: str) -> bool:
    """A short line with no sentence punctuation: a title, date or signature line."""
    return len(line) <= 40 and not re.search(r"[。；;，,！？!?]", line)


def _inline_heading_end(line: str) -> int | None:
    """Where a heading that opens a paragraph ends (after its first 。 or colon), if it does."""
    m = re.search(r"[。:：]", line)
    if m and m.start() <= 40 and m.end() < len(line):
        return m.end()
    return None


def is_provision(line: str) -> bool:
    """Whether a numbered line is a provision, not a heading: a full sentence under its number.

    "（三）本办法自2025年1月1日起施行。" and "（四）联系部门：区科委产业科，电话：…。" end as
    sentences do; a heading ("（一）首次认定奖励") is short and does not, and one that opens a
    paragraph ends at its own 。 before the paragraph's next sentence.
    """
    if _MARKDOWN_HEADING.match(line) or _ARTICLE.match(line):
        return False
    if line.rstrip()[-1:] not in _SENTENCE_END:
        return False
    m = re.search(r"[。！？!?]", line)
    return (
        m is None
        or m.end() >= len(line.rstrip())
        or ":" in line[: m.start()]
        or "：" in line[: m.start()]
    )


def build_sections(text: str) -> list[Section]:
    """The document's sections in reading order, each with its body spans."""
    preamble = Section("", -1, ())
    sections = [preamble]
    stack: list[Section] = []
    titled = False
    for start, end in _lines(text):
        line = text[start:end]
        rank = heading_rank(line)
        if rank == 0 and not titled and len(sections) == 1 and line.startswith("# "):
            # The first "# …" of a Markdown file, before any section, is the document's title:
            # preamble text, not a section every chunk would carry in its path.
            titled, rank = True, None
        in_article = bool(stack) and stack[-1].is_article
        if rank is not None and in_article and rank > 2 and rank != ARTICLE_RANK:
            rank = None  # 项 and 目 inside an article are body text
        if rank is not None and is_provision(line):
            # A numbered provision is text of the section its number stands in (its
            # siblings' parent), and begins a chunk of its own.
            while stack and stack[-1].rank >= rank:
                stack.pop()
            outer = stack[-1] if stack else preamble
            if sections[-1] is not outer:
                outer = Section(outer.title, outer.rank, outer.path)
                if stack:
                    stack[-1] = outer
                sections.append(outer)
            outer.provisions.add(start)
            rank = None
        if rank is None:
            sections[-1].spans.append((start, end))
            continue
        while stack and stack[-1].rank >= rank:
            stack.pop()
        body_start = None
        if rank == ARTICLE_RANK:
            marker = _ARTICLE.match(line)
            assert marker is not None
            title = marker.group(0)
            body_start = start + marker.end()
        else:
            opens = len(line) > 40 or "。" in line or ":" in line or "：" in line
            cut = _inline_heading_end(line) if opens else None
            if cut is not None:
                title = line[:cut].rstrip("。:：")
                # A label before a colon stays with what it labels: "联系部门：区科委产业科".
                body_start = start + cut if line[cut - 1] == "。" else start
            else:
                title = _MARKDOWN_HEADING.sub("", line).strip()
        section = Section(title, rank, (*(s.title for s in stack), title))
        stack.append(section)
        sections.append(section)
        if body_start is not None:
            while body_start < end and text[body_start] in " \t\u3000":
                body_start += 1
            if body_start < end:
                section.spans.append((body_start, end))
    return _split_signature(text, [s for s in sections if s.spans or s.rank >= 0])


def _split_signature(text: str, sections: list[Section]) -> list[Section]:
    """Move the closing issuer/date lines of a document out of its last section."""
    last = sections[-1]
    if last.rank < 0 or last.is_article:
        return sections
    tail: list[tuple[int, int]] = []
    while len(last.spans) > 1 and _is_plain_line(text[slice(*last.spans[-1])]):
        tail.insert(0, last.spans.pop())
    if tail:
        sections.append(Section("落款", -1, ("落款",), tail))
    return sections


def split_sentences(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Sentence spans within text[start:end]; never splits inside 《》, quotes or brackets."""
    spans = []
    depth: list[str] = []
    begin = start
    for i in range(start, end):
        ch = text[i]
        if ch in _OPENERS and not (ch in _CLOSERS and depth and depth[-1] == ch):
            depth.append(_OPENERS[ch])
        elif depth and ch == depth[-1]:
            depth.pop()
        elif ch in _CLOSERS and ch in depth:
            while depth and depth.pop() != ch:
                pass
        elif ch in _SENTENCE_END and not depth:
            spans.append((begin, i + 1))
            begin = i + 1
    if begin < end:
        spans.append((begin, end))
    return [(s, e) for s, e in (_trim(text, s, e) for s, e in spans) if e > s]


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _split_long(text: str, start: int, end: int, limit: int) -> list[tuple[int, int]]:
    """Cut an over-long sentence at clause commas outside brackets, into pieces ≤ limit."""
    pieces, begin, last_cut, depth = [], start, None, 0
    for i in range(start, end):
        ch = text[i]
        if ch in _OPENERS:
            depth += 1
        elif ch in _CLOSERS and depth:
            depth -= 1
        elif ch in _CLAUSE_END and depth == 0:
            last_cut = i + 1
        if i + 1 - begin >= limit and last_cut and last_cut > begin:
            pieces.append((begin, last_cut))
            begin, last_cut = last_cut, None
    pieces.append((begin, end))
    return pieces


def pack(spans: list[tuple[int, int]], max_chars: int, min_chars: int) -> list[tuple[int, int]]:
    """Group consecutive spans into chunks of at most max_chars (a longer span stays whole)."""
    chunks: list[list[int]] = []
    for s, e in spans:
        if chunks and e - chunks[-1][0] <= max_chars:
            chunks[-1][1] = e
        else:
            chunks.append([s, e])
    if len(chunks) > 1 and chunks[-1][1] - chunks[-1][0] < min_chars:
        tail = chunks.pop()
        chunks[-1][1] = tail[1]
    return [(s, e) for s, e in chunks]


def section_chunks(text: str, section: Section, opts: SegmentOptions) -> list[tuple[int, int]]:
    """Chunk spans of one section's body."""
    if section.is_article:
        start, end = section.spans[0][0], section.spans[-1][1]
        if end - start <= opts.article_max:
            return [(start, end)]
        # A long article splits by its paragraphs (款/项), packed back to a readable size.
        lines = [
            piece for s, e in section.spans for piece in _split_long(text, s, e, opts.hard_max)
        ]
        return pack(lines, opts.hard_max, opts.min_chars)
    # Each numbered provision begins a chunk of its own, as a section would.
    groups: list[list[tuple[int, int]]] = [[]]
    for s, e in section.spans:
        if s in section.provisions and groups[-1]:
            groups.append([])
        for ss, se in split_sentences(text, s, e):
            groups[-1].extend(
                _split_long(text, ss, se, opts.hard_max) if se - ss > opts.hard_max else [(ss, se)]
            )
    return [chunk for group in groups for chunk in pack(group, opts.max_chars, opts.min_chars)]


def page_span(pages: tuple[int, ...], start: int, end: int) -> tuple[int | None, tuple[int, ...]]:
    """The page a span starts on and the offsets inside it where later pages begin.

    `pages` holds the offset where each page begins; a page without text begins where the
    next one does, so it is counted and never named.
    """
    if not pages:
        return None, ()
    return max(1, bisect_right(pages, start)), tuple(p for p in pages if start < p < end)


def segment(doc: Document, opts: SegmentOptions | None = None) -> list[Chunk]:
    """Cut a document into citable chunks that carry their section path and offsets."""
    opts = opts or SegmentOptions()
    text = doc.text
    chunks: list[Chunk] = []
    for section in build_sections(text):
        if section.rank < 0:
            # A line that only repeats the title says nothing a citation needs.
            section.spans = [
                sp for sp in section.spans if markdown_text(text[slice(*sp)]) != doc.title
            ]
            if not section.spans:
                continue
        path = " > ".join(section.path)
        lead = ""
        for n, (start, end) in enumerate(section_chunks(text, section, opts)):
            # A continued article keeps its opening clause as context ("企业的下列收入为免税收入：").
            page, page_breaks = page_span(doc.pages, start, end)
            chunks.append(
                Chunk(
                    chunk_id=f"{doc.doc_id}#{len(chunks):04d}",
                    doc_id=doc.doc_id,
                    title=doc.title,
                    doc_number=doc.doc_number,
                    section=path,
                    text=text[start:end],
                    start=start,
                    end=end,
                    lead=lead,
                    page=page,
                    page_breaks=page_breaks,
                )
            )
            if n == 0 and section.is_article:
                lead = text[start : section.spans[0][1]][:80]
    return chunks
