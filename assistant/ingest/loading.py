"""Loading policy files: decoding, metadata, and a registry of loaders by file type.

A loader turns the bytes of one file into a `Document` whose `text` is the body exactly as
published, so citations can quote it. Loaders register themselves for file suffixes:

    @register(".docx")
    def load_docx(path: Path, data: bytes, limits: LoadLimits) -> LoadedText: ...

A loader checks what it can cheaply before parsing (a PDF's page count, the size a Word file
unpacks to, how deeply a web page nests) against `LoadLimits`, and refuses a file over them;
time and memory are bounded by running the loaders in a worker process (`sandbox.py`).

Metadata comes from front matter at the top of a text file, from what a loader finds in the file
(a web page's info table), or from a sidecar `<file name>.meta.yaml`; the sidecar wins where
they give the same key. When none of them names the 文号, date or issuer, those are read from
the text itself, where official documents put them (`metadata_from_text`).

The loaders for Word, PDF and web pages live in `formats.py` and register here.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from assistant.errors import (
    CorruptFileError,
    DocumentError,
    EmptyDocumentError,
    FileTooLargeError,
    UnsupportedFormatError,
)
from assistant.models import Document

log = logging.getLogger(__name__)

SIDECAR_SUFFIX = ".meta.yaml"


@dataclass(frozen=True)
class LoadedText:
    """What a loader returns: the body text and any metadata found in the file itself.

    `pages` holds the offset in `text` where each page begins, for files that have pages.
    """

    text: str
    metadata: dict[str, str] = field(default_factory=dict)
    pages: tuple[int, ...] = ()


MB = 1024 * 1024


@dataclass(frozen=True)
class LoadLimits:
    """How much loading one file may cost; a file over any of these is refused by name.

    The defaults fit a policy library: a 2,000-page PDF is a large yearbook, a Word file's XML
    rarely reaches 10 MB, a web page nests a few dozen elements deep.
    """

    seconds: float = 60.0  # wall-clock time for one file, after which its worker is killed
    memory_mb: int = 1536  # the worker process's address space
    pdf_pages: int = 2000
    docx_xml_mb: float = 50.0  # what a Word file's XML parts unpack to, together
    html_depth: int = 256  # how deeply a web page's elements nest
    html_elements: int = 200_000

    @classmethod
    def from_settings(cls, settings: object) -> LoadLimits:
        """The limits the settings give (ASSISTANT_LOAD_TIMEOUT_S, …); defaults for the rest."""
        defaults = cls()
        return cls(
            **{
                name: getattr(settings, setting, getattr(defaults, name))
                for name, setting in _LIMIT_SETTINGS.items()
            }
        )


# Each limit and the name of the setting that overrides it.
_LIMIT_SETTINGS = {
    "seconds": "load_timeout_s",
    "memory_mb": "load_memory_mb",
    "pdf_pages": "pdf_max_pages",
    "docx_xml_mb": "docx_max_xml_mb",
    "html_depth": "html_max_depth",
    "html_elements": "html_max_elements",
}


Loader = Callable[[Path, bytes, LoadLimits], LoadedText]
_LOADERS: dict[str, Loader] = {}


def register(*suffixes: str) -> Callable[[Loader], Loader]:
    """Register a loader for the given file suffixes (lower case, with the dot)."""

    def decorate(loader: Loader) -> Loader:
        for suffix in suffixes:
            _LOADERS[suffix.lower()] = loader
        return loader

    return decorate


def supported_suffixes() -> list[str]:
    """File suffixes that some loader accepts."""
    return sorted(_LOADERS)


def decode(data: bytes, path: str = "") -> str:
    """Decode Chinese text: UTF-8 (with or without BOM), UTF-16 with BOM, else GB18030.

    GB18030 is a superset of GBK and GB2312, the encodings of most government downloads.
    Strict decoding in this order is reliable because valid UTF-8 is almost never valid
    Chinese GB text by accident and vice versa; charset detection is the last resort.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="strict")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    if b"\x00" not in data:
        for encoding in ("utf-8", "gb18030"):
            try:
                return _checked_text(data.decode(encoding), path)
            except UnicodeDecodeError:
                continue
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise CorruptFileError(
            path,
            "无法识别文件编码（不是 UTF-8 或 GB18030/GBK 文本）",
            "cannot tell the text encoding (not UTF-8 or GB18030/GBK)",
        )
    return _checked_text(str(best), path)


def _checked_text(text: str, path: str) -> str:
    """Refuse binary data that happened to decode: text has almost no control characters."""
    controls = sum(1 for ch in text if ch < " " and ch not in "\n\r\t\f")
    if controls > max(2, len(text) // 100):
        raise CorruptFileError(
            path,
            "文件内容不是文本（可能已损坏或是二进制文件）",
            "the file is not text (corrupt or binary)",
        )
    return text


_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.S)
_META_LINE = re.compile(r"^\s*([A-Za-z_][\w-]*)\s*:\s*(.*?)\s*$")


def parse_meta_lines(block: str) -> dict[str, str]:
    """Parse simple `key: value` lines (the subset of YAML staff write by hand)."""
    meta = {}
    for line in block.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        m = _META_LINE.match(line)
        if m:
            value = m.group(2).strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                value = value[1:-1]
            meta[m.group(1).lower().replace("-", "_")] = value
    return meta


def split_front_matter(text: str) -> tuple[dict[str, str], str]:
    """Separate `---` front matter from the body; the body is returned untouched."""
    m = _FRONT_MATTER.match(text)
    if not m:
        return {}, text
    return parse_meta_lines(m.group(1)), text[m.end() :]


@register(".txt", ".md", ".markdown")
def load_plain_text(path: Path, data: bytes, limits: LoadLimits) -> LoadedText:
    """Plain text and Markdown: decoded, front matter taken as metadata."""
    text = decode(data, str(path)).replace("\r\n", "\n").replace("\r", "\n")
    meta, body = split_front_matter(text)
    return LoadedText(body, meta)


def doc_id_for(path: Path, root: Path | None) -> str:
    """A stable id: the path below the corpus root, without its suffix."""
    try:
        rel = path.resolve().relative_to(root.resolve()) if root else Path(path.name)
    except ValueError:
        rel = Path(path.name)
    return rel.with_suffix("").as_posix()


def sidecar_of(path: Path) -> Path:
    """Where the metadata of the file at `path` may be given: `<file name>.meta.yaml`."""
    return path.with_name(path.name + SIDECAR_SUFFIX)


def content_hash(data: bytes, sidecar: Path) -> str:
    """What tells one version of a document from another: its bytes and its sidecar's."""
    extra = sidecar.read_bytes() if sidecar.is_file() else b""
    return hashlib.sha256(data + extra).hexdigest()


def load_document(
    path: Path,
    root: Path | None = None,
    max_bytes: int | None = None,
    limits: LoadLimits | None = None,
    as_path: Path | None = None,
) -> Document:
    """Load one file into a Document, or raise a DocumentError naming the file and the reason.

    `as_path` is where the file will lie when it differs from where it lies now (an upload
    waiting in a staging folder): the document is named, identified and given metadata as if
    it were there already.
    """
    place = as_path or path
    name = str(place)
    limits = limits or LoadLimits()
    loader = _LOADERS.get(place.suffix.lower())
    if loader is None:
        raise UnsupportedFormatError(
            name,
            f"不支持的文件类型 {place.suffix or '（无后缀）'}；支持：{'、'.join(supported_suffixes())}",
            f"unsupported file type {place.suffix or '(none)'!r}; "
            f"supported: {', '.join(supported_suffixes())}",
        )
    try:
        # The size is checked before reading, so an oversized file never fills memory.
        size = path.stat().st_size
        if max_bytes is not None and size > max_bytes:
            raise FileTooLargeError(
                name,
                f"文件过大（{size // 1024} KB，上限 {max_bytes // 1024} KB）",
                f"file too large ({size // 1024} KB, limit {max_bytes // 1024} KB)",
            )
        data = path.read_bytes()
    except OSError as exc:
        raise DocumentError(
            name, f"无法读取文件（{exc.strerror}）", f"cannot read the file ({exc.strerror})"
        ) from None
    try:
        loaded = loader(place, data, limits)
    except (DocumentError, MemoryError):
        raise  # running out of memory is not damage: the worker reports it as a limit
    except Exception as exc:
        # Parsers of binary formats fail in many ways on damaged files; one bad file must
        # only skip itself, never stop the batch it came in.
        log.debug("loader for %s failed", name, exc_info=True)
        raise CorruptFileError(
            name,
            f"无法解析文件，可能已损坏（{type(exc).__name__}）",
            f"cannot parse the file, it may be damaged ({type(exc).__name__}: {exc})",
        ) from None
    if not loaded.text.strip():
        raise EmptyDocumentError(name, "文件没有正文内容", "the file holds no text")
    meta = dict(loaded.metadata)
    sidecar = sidecar_of(place)
    if sidecar.is_file():
        meta.update(parse_meta_lines(decode(sidecar.read_bytes(), str(sidecar))))
    body = loaded.text
    if not any(meta.get(key) for key in _STATED_FACTS):
        meta = {**metadata_from_text(body), **meta}
    title = meta.pop("title", "") or title_line(body) or place.stem
    doc_number = meta.pop("doc_number", "")
    return Document(
        doc_id=doc_id_for(place, root),
        text=body,
        title=title,
        doc_number=doc_number,
        source_path=name,
        content_hash=content_hash(data, sidecar),
        metadata=meta,
        pages=loaded.pages,
    )


# Keys that, when any is given, mean the metadata was written by someone: nothing is guessed.
_STATED_FACTS = ("doc_number", "date", "publish_date", "issuer")
_CN_DIGITS = {ch: i for i, ch in enumerate("〇一二三四五六七八九")} | {"零": 0, "○": 0, "O": 0}
_DATE = re.compile(
    r"((?:19|20)\d{2}|[〇零○O一二三四五六七八九]{4})\s*年\s*([\d一二三四五六七八九十]{1,3})"
    r"\s*月\s*([\d一二三四五六七八九十]{1,3})\s*日"
    r"|((?:19|20)\d{2})[-./](\d{1,2})[-./](\d{1,2})"
)
_DATE_LINE = re.compile(rf"^(?:{_DATE.pattern})(?:\s+\d{{1,2}}:\d{{2}}(?::\d{{2}})?)?$")
DOC_NUMBER = re.compile(
    r"[\u4e00-\u9fff]{1,15}\s*[〔［\[【(（]\s*(?:19|20)\d{2}\s*[〕］\]】)）]"
    r"\s*第?\s*\d{1,4}\s*号"
)
_DOC_NUMBER_LINE = re.compile(rf"^(?:(?:发文字号|文号)\s*[：:]\s*)?({DOC_NUMBER.pattern})$")
_ISSUER = re.compile(
    r"(?:委员会|人民政府|政府|办公室|办公厅|管理委员会|总局|局|厅|部|委|协会|学会|联合会|"
    r"中心|院|署|办)(?:[（(][^）)]{1,8}[）)])?$"
)  # "（盖章）" may follow
_SENTENCE_MARKS = re.compile(r"[。；;，,！？!?：:《》]")
_HEAD_LINES = 12
_TAIL_LINES = 8


def _cn_number(text: str) -> int:
    """A month or day written as 十二 / 二十一 / 一 (or digits)."""
    if text.isdigit():
        return int(text)
    if "十" in text:
        tens, _, ones = text.partition("十")
        return (_CN_DIGITS.get(tens, 1) if tens else 1) * 10 + (
            _CN_DIGITS.get(ones, 0) if ones else 0
        )
    return _CN_DIGITS.get(text, 0)


def normalize_date(text: str) -> str:
    """A date as YYYY-MM-DD from 2025年1月16日, 二〇二五年一月十六日 or 2025-01-16; else the
    text unchanged (a value nobody can parse is still better shown than lost)."""
    m = _DATE.search(text)
    if not m:
        return text.strip()
    if m.group(1):
        raw_year = m.group(1)
        year = (
            int(raw_year)
            if raw_year.isdigit()
            else int("".join(str(_CN_DIGITS.get(ch, 0)) for ch in raw_year))
        )
        month, day = _cn_number(m.group(2)), _cn_number(m.group(3))
    else:
        year, month, day = int(m.group(4)), int(m.group(5)), int(m.group(6))
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return text.strip()
    return f"{year:04d}-{month:02d}-{day:02d}"


def _is_issuer_line(line: str) -> bool:
    parts = line.split()
    return (
        len(line) <= 60
        and not _SENTENCE_MARKS.search(line)
        and all(_ISSUER.search(part) for part in parts)
    )


def metadata_from_text(text: str) -> dict[str, str]:
    """文号, date and issuer read from where official documents state them.

    The 文号 is a line of its own near the top (a 文号 inside a sentence names another
    document); the date and the issuer are the signature at the end: the date line, with the
    issuing bodies on the lines right above it. Without a signature, a date line near the top
    and a red header ("示例区科学技术委员会文件") stand in. Nothing is taken from elsewhere.
    """
    lines = [line.strip(" \t\u3000\r\f") for line in text.splitlines()]
    lines = [line for line in lines if line]
    head, tail_start = lines[:_HEAD_LINES], max(0, len(lines) - _TAIL_LINES)
    meta: dict[str, str] = {}
    for line in head:
        m = _DOC_NUMBER_LINE.match(line)
        if m:
            meta["doc_number"] = m.group(1)
            break
    for i in range(len(lines) - 1, tail_start - 1, -1):
        if _DATE_LINE.match(lines[i]):
            meta["date"] = normalize_date(lines[i])
            issuers: list[str] = []
            j = i - 1
            while j >= max(0, i - 3) and _is_issuer_line(lines[j]):
                issuers[:0] = lines[j].split()
                j -= 1
            if issuers:
                meta["issuer"] = "、".join(dict.fromkeys(issuers))
            break
    if "date" not in meta:
        dated = next((line for line in head if _DATE_LINE.match(line)), None)
        if dated:
            meta["date"] = normalize_date(dated)
    if "issuer" not in meta and head and _is_red_header(head[0]):
        issuer = head[0].removesuffix("文件").strip()
        if _is_issuer_line(issuer):
            meta["issuer"] = "、".join(issuer.split())
    return meta


def _is_red_header(line: str) -> bool:
    """The issuing body's banner that tops an official document: "XX委员会文件"."""
    return line.endswith("文件") and "关于" not in line and len(line) <= 40


def title_line(text: str) -> str:
    """The first line that can be a title: not a red header, a 文号 or a date."""
    first = ""
    for raw in text.splitlines():
        line = _MARKDOWN_HASHES.sub("", raw.strip(" \t\u3000\r\f"))
        if not line:
            continue
        first = first or line
        if _is_red_header(line) or _DOC_NUMBER_LINE.match(line) or _DATE_LINE.match(line):
            continue
        return line[:80]
    return first[:80]


_MARKDOWN_HASHES = re.compile(r"^#{1,6}\s+")


def skipped_name(name: str) -> tuple[str, str] | None:
    """Why ingest passes over a file of this name (zh, en), or None when it reads it."""
    if name.startswith("."):
        return "以“.”开头的文件是隐藏文件，收录时会被跳过", "hidden files (named “.…”) are skipped"
    if name.endswith(SIDECAR_SUFFIX):
        return (
            "以 .meta.yaml 结尾的文件是另一文件的元数据，收录时不作为文档",
            "files named “….meta.yaml” hold another file's metadata, not a document",
        )
    if name.upper().startswith("README"):
        return (
            "以 README 开头的文件被视为说明文件，收录时会被跳过",
            "files named README… are taken as notes about a folder and skipped",
        )
    return None


def find_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Expand files and folders into the files to ingest, in a stable order.

    Hidden files, sidecar metadata and README files are skipped (`skipped_name`); everything
    else is offered to the loaders, so an unsupported file gets a message instead of being
    silently ignored.
    """
    for root in paths:
        candidates = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]
        for p in candidates:
            parts = p.relative_to(root).parts if root.is_dir() else (p.name,)
            if any(part.startswith(".") for part in parts[:-1]) or skipped_name(p.name):
                continue
            yield p


# The loaders for other file types register themselves on import; importing them here means
# anything that loads documents sees every type.
from assistant.ingest import formats  # noqa: E402, F401
