"""Loading policy files: decoding, metadata, and a registry of loaders by file type.

A loader turns the bytes of one file into a `Document` whose `text` is the body exactly as
published, so citations can quote it. Loaders register themselves for file suffixes:

    @register(".docx")
    def load_docx(path: Path, data: bytes) -> LoadedText: ...

Metadata comes from front matter at the top of a text file or from a sidecar
`<file name>.meta.yaml`; the sidecar wins where both give a key.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .errors import DocumentError, EmptyDocumentError, UnsupportedFormatError
from .models import Document

log = logging.getLogger(__name__)

SIDECAR_SUFFIX = ".meta.yaml"


@dataclass(frozen=True)
class LoadedText:
    """What a loader returns: the body text and any metadata found in the file itself."""

    text: str
    metadata: dict[str, str] = field(default_factory=dict)


Loader = Callable[[Path, bytes], LoadedText]
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
        raise DocumentError(path, "无法识别文件编码（不是 UTF-8 或 GB18030/GBK 文本）",
                            "cannot tell the text encoding (not UTF-8 or GB18030/GBK)")
    return _checked_text(str(best), path)


def _checked_text(text: str, path: str) -> str:
    """Refuse binary data that happened to decode: text has almost no control characters."""
    controls = sum(1 for ch in text if ch < " " and ch not in "\n\r\t\f")
    if controls > max(2, len(text) // 100):
        raise DocumentError(path, "文件内容不是文本（可能已损坏或是二进制文件）",
                            "the file is not text (corrupt or binary)")
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
    return parse_meta_lines(m.group(1)), text[m.end():]


@register(".txt", ".md", ".markdown")
def load_plain_text(path: Path, data: bytes) -> LoadedText:
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


def load_document(path: Path, root: Path | None = None, max_bytes: int | None = None) -> Document:
    """Load one file into a Document, or raise a DocumentError naming the file and the reason."""
    name = str(path)
    loader = _LOADERS.get(path.suffix.lower())
    if loader is None:
        raise UnsupportedFormatError(
            name,
            f"不支持的文件类型 {path.suffix or '（无后缀）'}；支持：{'、'.join(supported_suffixes())}",
            f"unsupported file type {path.suffix or '(none)'!r}; "
            f"supported: {', '.join(supported_suffixes())}",
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DocumentError(name, f"无法读取文件（{exc.strerror}）",
                            f"cannot read the file ({exc.strerror})") from None
    if max_bytes is not None and len(data) > max_bytes:
        raise DocumentError(name, f"文件过大（{len(data) // 1024} KB，上限 {max_bytes // 1024} KB）",
                            f"file too large ({len(data) // 1024} KB, limit {max_bytes // 1024} KB)")
    loaded = loader(path, data)
    if not loaded.text.strip():
        raise EmptyDocumentError(name, "文件没有正文内容", "the file holds no text")
    meta = dict(loaded.metadata)
    sidecar = path.with_name(path.name + SIDECAR_SUFFIX)
    if sidecar.is_file():
        meta.update(parse_meta_lines(decode(sidecar.read_bytes(), str(sidecar))))
    body = loaded.text
    title = meta.pop("title", "") or _first_line(body) or path.stem
    doc_number = meta.pop("doc_number", "")
    return Document(
        doc_id=doc_id_for(path, root),
        text=body,
        title=title,
        doc_number=doc_number,
        source_path=name,
        content_hash=hashlib.sha256(data + (sidecar.read_bytes() if sidecar.is_file() else b""))
        .hexdigest(),
        metadata=meta,
    )


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()[:80]
    return ""


def find_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Expand files and folders into the files to ingest, in a stable order.

    Hidden files, sidecar metadata and README files are skipped; everything else is offered
    to the loaders, so an unsupported file gets a message instead of being silently ignored.
    """
    for root in paths:
        candidates = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]
        for p in candidates:
            parts = p.relative_to(root).parts if root.is_dir() else (p.name,)
            if any(part.startswith(".") for part in parts) or p.name.endswith(SIDECAR_SUFFIX):
                continue
            if p.name.upper().startswith("README"):
                continue
            yield p
