"""What the API and the page both do besides answering: feedback on an answer, and the staff's
adding, replacing and removing of documents. Answering and recording an answer are the
runtime's own (Runtime.answer, Runtime.stream).

Each function takes the Runtime and raises an AssistantError (an UploadError, a
NotRemovableError…) that each face shows in its own way: JSON with a status on the API, a
message in Chinese on the page. A change of the documents runs as a background job, one at a
time, and the new index is swapped in when it is complete; the staff's saved checks then run
against it (assistant.serve.checks).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, BinaryIO

from assistant.errors import LibraryError, NotRemovableError, UploadError
from assistant.ingest.loading import skipped_name
from assistant.serve import checks, library
from assistant.serve.jobs import Job
from assistant.serve.runtime import Runtime

UPLOAD_FILES = 20  # files per upload request
MAX_NAME_BYTES = 200  # a file name, in UTF-8; file systems stop at 255


def feedback(runtime: Runtime, message_id: str, rating: int, comment: str | None) -> None:
    """Store 👍 (+1) or 👎 (-1) on a recorded answer, with an optional comment.

    Raises UnknownMessageError when no answer was recorded under `message_id`."""
    runtime.records.add_feedback(message_id, rating, comment)


def upload_name(filename: str | None) -> str:
    """An uploaded file's name as it will be kept, or UploadError saying what is wrong."""
    name = Path((filename or "").replace("\\", "/")).name
    if not name:
        raise UploadError("上传的文件缺少文件名。", "An uploaded file has no file name.")
    if (skipped := skipped_name(name)) is not None:
        zh, en = skipped
        raise UploadError(
            f"{name}：{zh}，请改名后上传。", f"{name!r}: {en}; rename it and upload it again."
        )
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        raise UploadError(
            "文件名中含有控制字符，请改名后再上传。",
            "A file name holds control characters; rename the file and upload it again.",
        )
    if len(name.encode("utf-8")) > MAX_NAME_BYTES:
        raise UploadError(
            f"文件名过长（上限 {MAX_NAME_BYTES} 字节），请改名后再上传。",
            f"A file name is too long (limit {MAX_NAME_BYTES} bytes); rename the file.",
        )
    return name


def stage_uploads(files: Sequence[tuple[str | None, BinaryIO]]) -> tuple[Path, list[Path]]:
    """Copy uploaded files (name, content) into a new staging folder, each under its name.

    Every name is checked before anything is written, so a refused upload leaves nothing
    behind. Returns the folder (for `add_documents` to remove when done) and the paths.
    """
    if not files or len(files) > UPLOAD_FILES:
        raise UploadError(
            f"请上传 1 至 {UPLOAD_FILES} 个文件。", f"Upload between 1 and {UPLOAD_FILES} files."
        )
    names = [upload_name(filename) for filename, _ in files]
    staging = Path(tempfile.mkdtemp(prefix="upload-"))
    paths = []
    try:
        for (_, content), name in zip(files, names, strict=True):
            target = staging / name
            with target.open("wb") as out:
                shutil.copyfileobj(content, out)
            paths.append(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return staging, paths


def add_documents(runtime: Runtime, paths: Sequence[Path], staging: Path | None = None) -> Job:
    """Queue the ingest of uploaded files (each under its own name), adding or replacing
    documents; answers come from the served index until the new one is complete.

    `staging`, a folder holding the files, is removed once the job has ended (or at once if
    it could not be queued).
    """

    def work(progress: Callable[[int, int], None]) -> Any:
        try:
            return library.add_files(
                runtime.settings,
                runtime.services.store,
                list(paths),
                progress,
                runtime.served_index(),
            )
        finally:
            if staging is not None:
                shutil.rmtree(staging, ignore_errors=True)

    try:
        return runtime.jobs.submit("add", work, then=checks.serve_and_check(runtime, "add"))
    except BaseException:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
        raise


def uploaded_documents(runtime: Runtime) -> list[tuple[str, str]]:
    """(doc_id, title) of the documents staff uploaded, which they may remove."""
    return library.removable(runtime.settings, runtime.served_index())


def remove_uploaded(runtime: Runtime, doc_id: str) -> tuple[Job, str]:
    """Queue the removal of a document staff uploaded; the job and the document's title.

    Raises NotRemovableError for a document that is not indexed or was not uploaded, and
    UnavailableError when no index is served.
    """
    index = runtime.services.index
    if doc_id not in dict(library.removable(runtime.settings, index)):
        entry = index.manifest.documents.get(doc_id)
        raise NotRemovableError(doc_id, entry.title if entry is not None else None)
    title = index.manifest.documents[doc_id].title

    def work(progress: Callable[[int, int], None]) -> Any:
        current = runtime.services.index  # the index serving when the job runs, not queued
        if doc_id not in current.manifest.documents:
            raise LibraryError(
                f"文档 {doc_id} 已不在索引中。", f"Document {doc_id!r} is no longer indexed."
            )
        return library.remove_document(
            runtime.settings, runtime.services.store, current, doc_id, progress
        )

    then = checks.serve_and_check(runtime, "remove")
    return runtime.jobs.submit("remove", work, then=then), title
