"""The files an ingest reads: found under its folders, changed by staged uploads, each loaded
in the sandbox, and what became of the serving version's files; all of it for `plan_ingest`."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from assistant.config import Settings
from assistant.errors import DocumentError
from assistant.ingest.loading import LoadLimits, find_files
from assistant.ingest.sandbox import Sandbox
from assistant.models import Document
from assistant.search.plan import Scan
from assistant.search.versions import Manifest

log = logging.getLogger(__name__)


def scan_files(
    settings: Settings,
    limits: LoadLimits,
    roots: Sequence[Path],
    staged: Mapping[Path, Path | None],
    old: Manifest | None,
) -> Scan:
    """Load the documents under `roots`, as `staged` changes them, each in the sandbox.

    `staged` maps a path to the file to read in its place, or to None for a file that counts
    as deleted; `old` is the serving version's manifest, whose files are looked for.
    """
    stand_ins = {Path(path).resolve(): source for path, source in staged.items()}
    gone = {path for path, source in stand_ins.items() if source is None}
    files = [p for p in policy_files(settings, roots) if p.resolve() not in gone]
    found = {p.resolve() for p in files}
    files += sorted(
        path
        for path, source in stand_ins.items()
        if source is not None and path not in found and any(_is_under(path, r) for r in roots)
    )
    loaded, errors = _load(settings, limits, files, stand_ins)
    sources = _sources(old, loaded)
    return Scan(
        roots=tuple(r.resolve() for r in roots),
        loaded=loaded,
        errors=tuple(errors),
        failed=frozenset(Path(e.path).resolve() for e in errors),
        gone=frozenset(gone),
        present=frozenset(p for p in sources.values() if p.is_file()),
        moved={d: p for d, p in sources.items() if old and str(p) != old.documents[d].source_path},
    )


def _load(
    settings: Settings,
    limits: LoadLimits,
    files: Sequence[Path],
    stand_ins: Mapping[Path, Path | None],
) -> tuple[dict[str, Document], list[DocumentError]]:
    """The documents of the files that load, by id, and an error for each file that does not."""
    loaded: dict[str, Document] = {}
    errors: list[DocumentError] = []
    max_bytes = int(settings.max_file_mb * 1024 * 1024)
    with Sandbox(limits) as sandbox:
        for path in files:
            source = stand_ins.get(path.resolve())
            try:
                doc = sandbox.load(
                    source or path,
                    settings.corpus_dir,
                    max_bytes,
                    as_path=path if source else None,
                )
            except DocumentError as exc:
                log.warning("skipped %s", exc)
                errors.append(exc)
                continue
            if doc.doc_id in loaded:
                errors.append(
                    DocumentError(
                        str(path),
                        f"与 {loaded[doc.doc_id].source_path} 的文档标识相同（{doc.doc_id}），未收录",
                        f"same document id {doc.doc_id!r} as {loaded[doc.doc_id].source_path}; "
                        "skipped",
                    )
                )
                continue
            loaded[doc.doc_id] = doc
    return loaded, errors


def _sources(old: Manifest | None, loaded: Mapping[str, Document]) -> dict[str, Path]:
    """Where the serving version's documents not loaded again lie now, resolved."""
    if old is None:
        return {}
    return {
        doc_id: Path(entry.source_path).resolve()
        for doc_id, entry in old.documents.items()
        if doc_id not in loaded
    }


def policy_files(settings: Settings, roots: Sequence[Path]) -> Iterator[Path]:
    """The files under `roots` to ingest as documents: all but the eligibility rules and the
    site file."""
    rules = settings.rules_folder.resolve()
    site = settings.site_path.resolve()  # the deployment's own facts (assistant.site)
    for path in find_files(roots):
        resolved = path.resolve()
        if resolved != site and not _is_under(resolved, rules):  # rules: checked once built
            yield path


def _is_under(path: Path, root: Path) -> bool:
    root = root.resolve()
    return path == root or root in path.parents
