"""The document library staff manage: add, replace and remove policy files while serving.

Uploaded files go to `uploads/` under the corpus folder, where every later ingest finds them.
Each operation either completes — the files in place and a new index version serving — or
leaves the corpus and the index as they were; a file lies in `uploads/` only if the serving
version holds it:

- each file is checked first, and loaded (in the worker process, under the loading limits);
  a name that ingest passes over (README…, hidden) is refused with the reason;
- accepted files wait in `uploads/.staging/<id>/`, which no ingest walks, beside a plan of
  what goes where; the ingest reads them from there as if they were in place;
- once the new version serves, each file it holds moves into `uploads/` (a rename) and the
  files it replaces or removes are deleted; a file it could not index is dropped.

Should the process die part-way (a kill -9 during an upload), the next library operation, or
`recover()` at start-up, settles what is left the same way, against the version that serves.
It also moves any file in `uploads/` that the serving version does not hold (left by an
earlier version of this code, or put there by hand and never ingested) to
`uploads/.unindexed/`, so that what staff see listed and what the folder holds agree.
Library operations hold a lock, so the workers of a server, and with PostgreSQL every replica
sharing the folder, take turns.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from assistant.config import Settings
from assistant.errors import DocumentError, LibraryError
from assistant.ingest.lifecycle import number_key
from assistant.ingest.loading import SIDECAR_SUFFIX, content_hash, sidecar_of, skipped_name
from assistant.ingest.sandbox import Sandbox
from assistant.locks import exclusive
from assistant.search.index import DocumentEntry, IndexStore, IngestReport, Manifest, ServedIndex

log = logging.getLogger(__name__)

UPLOAD_FOLDER = "uploads"  # under the corpus folder: staff uploads stay where ingest finds them
STAGING = ".staging"  # uploads waiting for their ingest (hidden: no ingest walks it)
UNINDEXED = ".unindexed"  # files found in uploads/ that the index does not hold
_PLAN = "plan.json"
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
        return {
            "files": [f.to_json() for f in self.files],
            "index": None
            if r is None
            else {
                "version": r.version,
                "documents": r.documents,
                "chunks": r.chunks,
                "added": r.added,
                "replaced": r.replaced,
                "removed": r.removed,
            },
        }


def upload_folder(settings: Settings) -> Path:
    return Path(settings.corpus_dir) / UPLOAD_FOLDER


def add_files(
    settings: Settings,
    store: IndexStore,
    uploads: Sequence[Path],
    progress: Progress | None = None,
    index: ServedIndex | None = None,
) -> Result:
    """Check, stage and ingest uploaded files (each lying under its own file name).

    A file that would not load, or that ingest would skip, is reported and left out. A file
    named like one uploaded before replaces it; so does a file of the same name with another
    suffix, or one with the 文号 of an uploaded document (a new version under another file
    name): the old file goes. Files move into the corpus only once the new index version
    serves; if the ingest fails, nothing moved. The versions compared against are those on
    disk, so `index` (the caller's served index) is not needed.
    """
    folder = upload_folder(settings)
    with _locked(settings, folder):
        result = Result(files=_recover(store, folder))
        manifest = _serving(store)
        accepted, replaced = _check(settings, store, folder, uploads, manifest, result)
        if not accepted:
            return result
        plan = _stage(folder, accepted, list(replaced))
        staged: dict[Path, Path | None] = {folder / name: plan / name for name in accepted}
        staged.update({folder / name: None for name in replaced})
        try:
            # The whole folder when files go, so that they leave the index too.
            report = store.ingest(
                [folder] if replaced else sorted(folder / n for n in accepted),
                progress=progress,
                staged=staged,
            )
        finally:
            placed, deleted = _settle(store, folder, plan)
    result.report = report
    failed = {Path(e.path).name: e for e in report.errors}
    for name in accepted:
        doc_id = f"{UPLOAD_FOLDER}/{Path(name).stem}"
        if name in failed:
            result.files.append(FileOutcome(name, False, *_reason(failed[name])))
        elif name not in placed:
            result.files.append(
                FileOutcome(
                    name,
                    False,
                    "未能收录：新索引中没有此文件",
                    "not ingested: the new index does not hold it",
                )
            )
        elif doc_id in report.replaced:
            result.files.append(
                FileOutcome(name, True, "已替换为新版本", "replaced by the new version")
            )
        elif doc_id in report.unchanged:
            result.files.append(
                FileOutcome(name, True, "内容未变，无需更新", "unchanged; nothing to do")
            )
        else:
            result.files.append(FileOutcome(name, True, "已收录", "ingested"))
    for older, (zh, en) in replaced.items():
        if older in deleted:
            result.files.append(FileOutcome(older, True, zh, en))
    return result


def _check(
    settings: Settings,
    store: IndexStore,
    folder: Path,
    uploads: Sequence[Path],
    manifest: Manifest | None,
    result: Result,
) -> tuple[dict[str, Path], dict[str, tuple[str, str]]]:
    """The uploads that will be ingested (name → file), and the uploaded files they replace
    (name → why, in Chinese and English); what is refused is added to `result`."""
    max_bytes = int(settings.max_file_mb * 1024 * 1024)
    uploaded = {d.doc_id: d for d in _uploaded(manifest, folder)}
    by_number = {number_key(d.doc_number): d for d in uploaded.values() if d.doc_number}
    accepted: dict[str, Path] = {}
    stems: dict[str, str] = {}
    replaced: dict[str, tuple[str, str]] = {}
    with Sandbox(store.limits) as sandbox:
        for source in uploads:
            name = source.name
            skipped = skipped_name(name)
            if skipped is not None:
                # Such a file would lie in the folder unindexed, reported as ingested.
                result.files.append(
                    FileOutcome(
                        name,
                        False,
                        f"{skipped[0]}，请改名后上传",
                        f"{skipped[1]}; rename it and upload again",
                    )
                )
                continue
            stem = Path(name).stem
            if stem in stems:
                result.files.append(
                    FileOutcome(
                        name,
                        False,
                        f"与本次上传的 {stems[stem]} 同名（后缀不同也视为同一文档），未收录",
                        f"same name as {stems[stem]} of this upload (a document is named without "
                        "its suffix); skipped",
                    )
                )
                continue
            try:
                doc = sandbox.load(source, settings.corpus_dir, max_bytes, as_path=folder / name)
            except DocumentError as exc:
                result.files.append(FileOutcome(name, False, *_reason(exc)))
                continue
            accepted[name] = source
            stems[stem] = name
            same_id = uploaded.get(doc.doc_id)
            if same_id is not None and Path(same_id.source_path).name != name:
                older = Path(same_id.source_path).name
                replaced[older] = (
                    f"与 {name} 同名，已由其替换",
                    f"same name as {name}; replaced by it",
                )
            same_number = by_number.get(number_key(doc.doc_number)) if doc.doc_number else None
            if same_number is not None and Path(same_number.source_path).name != name:
                older = Path(same_number.source_path).name
                replaced.setdefault(
                    older,
                    (
                        f"文号 {doc.doc_number} 相同，已由 {name} 替换",
                        f"same 文号 {doc.doc_number}; replaced by {name}",
                    ),
                )
    for name in accepted:
        replaced.pop(name, None)  # a file uploaded again is replaced in place, not deleted
    return accepted, replaced


def _reason(exc: DocumentError) -> tuple[str, str]:
    """Why a file was refused, without its path (which names a temporary copy)."""
    return exc.zh.removeprefix(f"{exc.path}："), exc.en.removeprefix(f"{exc.path}: ")


def removable(settings: Settings, index: ServedIndex | None) -> list[tuple[str, str]]:
    """(doc_id, title) of the uploaded documents staff may remove."""
    folder = upload_folder(settings).resolve()
    if index is None:
        return []
    return [
        (d.doc_id, d.title)
        for d in index.manifest.documents.values()
        if Path(d.source_path).resolve().parent == folder
    ]


def remove_document(
    settings: Settings,
    store: IndexStore,
    index: ServedIndex,
    doc_id: str,
    progress: Progress | None = None,
) -> Result:
    """Ingest the uploads without an uploaded document, then delete its file; on failure
    nothing changes."""
    entry = index.manifest.documents.get(doc_id)
    if entry is None:
        raise LibraryError(f"索引中没有文档 {doc_id}。", f"No document {doc_id!r} in the index.")
    if doc_id not in dict(removable(settings, index)):
        raise LibraryError(
            f"《{entry.title}》不是工作人员上传的文件，不能在此移除（请在 corpus/ 中删除后重新收录）。",
            f"{doc_id!r} was not uploaded by staff and cannot be removed here "
            "(delete it from corpus/ and ingest again).",
        )
    if len(index.manifest.documents) <= 1:
        raise LibraryError(
            "这是唯一的文件，不能移除。", "It is the only document; it cannot be removed."
        )
    folder = upload_folder(settings)
    name = Path(entry.source_path).name
    with _locked(settings, folder):
        result = Result(files=_recover(store, folder))
        plan = _stage(folder, {}, [name])
        try:
            report = store.ingest([folder], progress=progress, staged={folder / name: None})
        finally:
            _, deleted = _settle(store, folder, plan)
    if name in deleted:
        result.files.insert(
            0, FileOutcome(name, True, f"已移除《{entry.title}》", f"removed {entry.title!r}")
        )
    else:
        result.files.insert(
            0,
            FileOutcome(
                name,
                False,
                f"《{entry.title}》仍在索引中，未移除",
                f"{entry.title!r} is still indexed; not removed",
            ),
        )
    result.report = report
    return result


def recover(settings: Settings, store: IndexStore) -> list[FileOutcome]:
    """Settle what an interrupted add or remove left (run at start-up; every library
    operation also does it first): files the serving version holds are put in place, the
    rest dropped; files in uploads/ it does not hold are moved to uploads/.unindexed/."""
    folder = upload_folder(settings)
    if not folder.is_dir():
        return []
    with _locked(settings, folder):
        return _recover(store, folder)


# -- the transaction ---------------------------------------------------------------------


@contextmanager
def _locked(settings: Settings, folder: Path) -> Iterator[None]:
    """Hold the uploads folder's lock: the workers of a server (and the replicas sharing a
    PostgreSQL database) take turns changing it."""
    folder.mkdir(parents=True, exist_ok=True)
    with exclusive("library", folder / ".library.lock", settings.database_url):
        yield


def _serving(store: IndexStore) -> Manifest | None:
    """The manifest of the version on disk that serves (a server's copy may be older)."""
    version = store.current_version()
    return store.read_manifest(version) if version else None


def _uploaded(manifest: Manifest | None, folder: Path) -> list[DocumentEntry]:
    """The documents of `manifest` whose files lie in the uploads folder."""
    here = folder.resolve()
    return [
        d
        for d in (manifest.documents.values() if manifest else ())
        if Path(d.source_path).resolve().parent == here
    ]


def _stage(folder: Path, uploads: dict[str, Path], deletions: Sequence[str]) -> Path:
    """A staging folder holding a copy of each upload (by the name it will have), and the
    plan: which files go into the folder and which leave it once the ingest serves."""
    plan = folder / STAGING / uuid.uuid4().hex
    plan.mkdir(parents=True)
    for name, source in uploads.items():
        shutil.copyfile(source, plan / name)
    # Written last: a plan without its file is a staging folder that never got as far as
    # the ingest, and settling it drops it whole.
    (plan / _PLAN).write_text(
        json.dumps({"put": list(uploads), "delete": list(deletions)}, ensure_ascii=False),
        encoding="utf-8",
    )
    return plan


def _settle(store: IndexStore, folder: Path, plan: Path) -> tuple[set[str], set[str]]:
    """Carry out a plan as far as the serving version went: (names put in place, deleted).

    A staged file moves into the folder if the serving version holds it with that content;
    a file to delete goes if the serving version no longer holds it. Safe to repeat.
    """
    try:
        steps = json.loads((plan / _PLAN).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        steps = {"put": [], "delete": []}  # died before the plan was written: nothing moved
    held = {Path(d.source_path).name: d for d in _uploaded(_serving(store), folder)}
    placed: set[str] = set()
    deleted: set[str] = set()
    for name in steps["put"]:
        staged, target = plan / name, folder / name
        entry = held.get(name)
        if entry is None:
            continue
        if (
            staged.is_file()
            and content_hash(staged.read_bytes(), sidecar_of(target)) == entry.content_hash
        ):
            os.replace(staged, target)
            placed.add(name)
        elif not staged.is_file() and target.is_file():
            placed.add(name)  # moved by an earlier, interrupted settling
    for name in steps["delete"]:
        if name not in held:
            (folder / name).unlink(missing_ok=True)
            deleted.add(name)
    shutil.rmtree(plan, ignore_errors=True)
    return placed, deleted


def _recover(store: IndexStore, folder: Path) -> list[FileOutcome]:
    """Settle interrupted plans, then move aside files the serving version does not hold."""
    staging = folder / STAGING
    for plan in sorted(staging.iterdir()) if staging.is_dir() else []:
        placed, deleted = _settle(store, folder, plan) if plan.is_dir() else (set(), set())
        log.warning(
            "settled an interrupted upload: placed %s, deleted %s",
            sorted(placed) or "nothing",
            sorted(deleted) or "nothing",
        )
    manifest = _serving(store)
    if manifest is None:
        return []  # before the first ingest there is nothing to compare with
    held = {Path(d.source_path).name for d in _uploaded(manifest, folder)}
    outcomes = []
    for path in sorted(folder.iterdir()):
        if (
            not path.is_file()
            or path.name.startswith(".")
            or path.name in held
            or path.name.endswith(SIDECAR_SUFFIX)
        ):
            continue
        aside = folder / UNINDEXED
        aside.mkdir(exist_ok=True)
        for moving in (path, sidecar_of(path)):
            if moving.is_file():
                os.replace(moving, _free_name(aside / moving.name))
        log.warning("%s was in %s but not indexed; moved to %s", path.name, folder, aside)
        outcomes.append(
            FileOutcome(
                path.name,
                False,
                f"上传目录中此文件未被收录（可能是此前未完成的上传），已移至 {UPLOAD_FOLDER}/{UNINDEXED}/",
                f"this file lay in the uploads folder without being indexed (an upload that did "
                f"not finish?); moved to {UPLOAD_FOLDER}/{UNINDEXED}/",
            )
        )
    return outcomes


def _free_name(path: Path) -> Path:
    """`path`, or the same name with a number added if a file is there already."""
    n = 1
    candidate = path
    while candidate.exists():
        candidate = path.with_name(f"{path.stem}.{n}{path.suffix}")
        n += 1
    return candidate
