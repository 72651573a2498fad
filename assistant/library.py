"""The document library staff manage: add, replace and remove policy files while serving.

Uploaded files go to `uploads/` under the corpus folder, where every later ingest finds them.
Each operation either completes — the files in place and a new index version serving — or
leaves the corpus and the index exactly as they were: files are checked before they are
copied, and put back if the ingest fails.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .config import Settings
from .documents import load_document
from .errors import AssistantError, DocumentError, LibraryError
from .index import IndexStore, IngestReport, ServedIndex
from .lifecycle import number_key

log = logging.getLogger(__name__)

UPLOAD_FOLDER = "uploads"  # under the corpus folder: staff uploads stay where ingest finds them
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class FileOutcome:
    """What became of one uploaded file."""

    name: str
    ok: bool
    zh: str
    en: str

    def to_json(self) -> dict[str, object]:
        return {"file": self.name, "ok": self.ok, "zh": self.zh, "en": self.en}


@dataclass
class Result:
    """The outcome of an add or a remove: per file, and the index it produced (if any)."""

    files: list[FileOutcome] = field(default_factory=list)
    report: IngestReport | None = None

    def to_json(self) -> dict[str, object]:
        r = self.report
        return {"files": [f.to_json() for f in self.files],
                "index": None if r is None else {
                    "version": r.version, "documents": r.documents, "chunks": r.chunks,
                    "added": r.added, "replaced": r.replaced, "removed": r.removed}}


def upload_folder(settings: Settings) -> Path:
    return Path(settings.corpus_dir) / UPLOAD_FOLDER


def add_files(settings: Settings, store: IndexStore, uploads: Sequence[Path],
              progress: Progress | None = None, index: ServedIndex | None = None) -> Result:
    """Check, place and ingest uploaded files (each lying under its own file name).

    A file that would not load is reported and left out. A file named like one uploaded
    before replaces it, and so does a file with the 文号 of an uploaded document (a new
    version under another file name): the old file goes. If the ingest fails, the corpus is
    put back as it was.
    """
    folder = upload_folder(settings)
    max_bytes = int(settings.max_file_mb * 1024 * 1024)
    result = Result()
    accepted: dict[Path, tuple[Path, bytes | None]] = {}  # target → upload, bytes replaced
    replaced: dict[Path, bytes] = {}  # older uploads with the same 文号 → their bytes
    by_number = {number_key(d.doc_number): Path(d.source_path)
                 for d in (index.manifest.documents.values() if index else ())
                 if d.doc_number and Path(d.source_path).resolve().parent == folder.resolve()}
    for source in uploads:
        name = source.name
        try:
            doc = load_document(source, None, max_bytes)  # refuse what would not load
        except DocumentError as exc:
            reason_zh = exc.zh.split("：", 1)[-1]
            reason_en = exc.en.split(": ", 1)[-1]
            result.files.append(FileOutcome(name, False, reason_zh, reason_en))
            continue
        target = folder / name
        if target in accepted:
            result.files.append(FileOutcome(name, False, "与本次上传的另一文件同名，未收录",
                                            "same name as another file of this upload; skipped"))
            continue
        accepted[target] = (source, target.read_bytes() if target.is_file() else None)
        older = by_number.get(number_key(doc.doc_number)) if doc.doc_number else None
        if older is not None and older.name != name and older.is_file():
            replaced[older] = older.read_bytes()
            result.files.append(FileOutcome(
                older.name, True, f"文号 {doc.doc_number} 相同，已由 {name} 替换",
                f"same 文号 {doc.doc_number}; replaced by {name}"))
    if not accepted:
        return result
    folder.mkdir(parents=True, exist_ok=True)
    for target, (source, _) in accepted.items():
        shutil.copyfile(source, target)
    for older in replaced:
        older.unlink()
    try:
        # The whole folder, so that a file replaced under another name leaves the index too.
        report = store.ingest([folder] if replaced else sorted(accepted), progress=progress)
    except AssistantError:
        _put_back(accepted)
        for older, data in replaced.items():
            older.write_bytes(data)
        raise
    result.report = report
    failed = {Path(e.path).name: e for e in report.errors}
    for target in accepted:
        doc_id = f"{UPLOAD_FOLDER}/{target.stem}"
        if target.name in failed:
            e = failed[target.name]
            result.files.append(FileOutcome(target.name, False, e.zh.split("：", 1)[-1],
                                            e.en.split(": ", 1)[-1]))
        elif doc_id in report.replaced:
            result.files.append(FileOutcome(target.name, True, "已替换为新版本",
                                            "replaced by the new version"))
        elif doc_id in report.unchanged:
            result.files.append(FileOutcome(target.name, True, "内容未变，无需更新",
                                            "unchanged; nothing to do"))
        else:
            result.files.append(FileOutcome(target.name, True, "已收录", "ingested"))
    return result


def _put_back(accepted: dict[Path, tuple[Path, bytes | None]]) -> None:
    for target, (_, previous) in accepted.items():
        if previous is None:
            target.unlink(missing_ok=True)
        else:
            target.write_bytes(previous)


def removable(settings: Settings, index: ServedIndex | None) -> list[tuple[str, str]]:
    """(doc_id, title) of the uploaded documents staff may remove."""
    folder = upload_folder(settings).resolve()
    if index is None:
        return []
    return [(d.doc_id, d.title) for d in index.manifest.documents.values()
            if Path(d.source_path).resolve().parent == folder]


def remove_document(settings: Settings, store: IndexStore, index: ServedIndex,
                    doc_id: str, progress: Progress | None = None) -> Result:
    """Delete an uploaded document's file and ingest its folder again; undone on failure."""
    entry = index.manifest.documents.get(doc_id)
    if entry is None:
        raise LibraryError(f"索引中没有文档 {doc_id}。", f"No document {doc_id!r} in the index.")
    if doc_id not in dict(removable(settings, index)):
        raise LibraryError(
            f"《{entry.title}》不是工作人员上传的文件，不能在此移除（请在 corpus/ 中删除后重新收录）。",
            f"{doc_id!r} was not uploaded by staff and cannot be removed here "
            "(delete it from corpus/ and ingest again).")
    if len(index.manifest.documents) <= 1:
        raise LibraryError("这是唯一的文件，不能移除。", "It is the only document; it cannot be removed.")
    source = Path(entry.source_path)
    kept = source.read_bytes()
    source.unlink()
    try:
        report = store.ingest([upload_folder(settings)], progress=progress)
    except AssistantError:
        source.write_bytes(kept)
        raise
    return Result([FileOutcome(source.name, True, f"已移除《{entry.title}》",
                               f"removed {entry.title!r}")], report)
