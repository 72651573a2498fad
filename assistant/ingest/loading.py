"""Loading policy files: one file into a `Document`, with its metadata; and which files to load.

A loader (`loaders/`, one module per file type, chosen by suffix from the table `LOADERS`)
turns the bytes of one file into the body exactly as published, so citations can quote it. It
checks what it can cheaply before parsing (a PDF's page count, the size a Word file unpacks to,
how deeply a web page nests) against `LoadLimits`, and refuses a file over them; time and
memory are bounded by running the loaders in a worker process (`sandbox.py`).

Metadata comes from front matter at the top of a text file, from what a loader finds in the file
(a web page's info table), or from a sidecar `<file name>.meta.yaml`; the sidecar wins where
they give the same key. When none of them names the 文号, date or issuer, those are read from
the text itself, where official documents put them (`metadata.py`). Bytes become text in
`decoding.py`.

`LoadLimits` and `supported_suffixes` are importable from here as well, where callers found
them before the loaders had a package of their own.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Iterator
from pathlib import Path

from assistant.errors import (
    CorruptFileError,
    DocumentError,
    EmptyDocumentError,
    FileTooLargeError,
    UnsupportedFormatError,
)
from assistant.ingest.decoding import decode, parse_meta_lines
from assistant.ingest.loaders import LOADERS, supported_suffixes
from assistant.ingest.loaders.common import LoadLimits
from assistant.ingest.metadata import STATED_FACTS, metadata_from_text, title_line
from assistant.models import Document

log = logging.getLogger(__name__)

SIDECAR_SUFFIX = ".meta.yaml"


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
    loader = LOADERS.get(place.suffix.lower())
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
    if not any(meta.get(key) for key in STATED_FACTS):
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
