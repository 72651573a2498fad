"""What an ingest changes: decided from the serving version's manifest and the documents loaded.

Pure logic on plain data: the caller loads the files, resolves the paths and asks the vector
store whether the serving version's vectors are still there; `plan_ingest` only decides which
documents are added, replaced, unchanged (their vectors copied), kept as they were, or removed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from assistant.errors import DocumentError, IngestError
from assistant.models import Document
from assistant.search.versions import DocumentEntry, Manifest


@dataclass(frozen=True)
class Scan:
    """What an ingest found under its folders; every path in it is resolved."""

    roots: tuple[Path, ...]  # the folders being ingested
    loaded: Mapping[str, Document]  # by document id, in the order the files were found
    errors: Sequence[DocumentError] = ()  # files that did not load, for the report
    failed: frozenset[Path] = frozenset()  # the paths of those files
    gone: frozenset[Path] = frozenset()  # files counted as deleted for this ingest
    present: frozenset[Path] = frozenset()  # files of the serving version that still exist
    # Where the serving version's documents lie now, by id, when the manifest's recorded
    # (resolved) path no longer resolves to itself, e.g. a folder became a link.
    moved: Mapping[str, Path] = field(default_factory=dict)

    def source(self, entry: DocumentEntry) -> Path:
        """Where the file of a document of the serving version lies now."""
        return self.moved.get(entry.doc_id, Path(entry.source_path))


@dataclass
class IngestPlan:
    """What a new version holds, relative to the serving one."""

    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    # Documents not loaded this time that stay as they were: ingested from elsewhere, or
    # whose files failed to load.
    kept: dict[str, DocumentEntry] = field(default_factory=dict)
    # Documents whose chunks, terms and vectors are copied from the serving version.
    reuse: set[str] = field(default_factory=set)
    # The serving version was built as this ingest builds and its vectors are still there.
    compatible: bool = False
    has_previous: bool = False

    @property
    def changes(self) -> bool:
        """True when some document is added, replaced or removed."""
        return bool(self.added or self.replaced or self.removed)

    @property
    def up_to_date(self) -> bool:
        """True when the serving version already is what this ingest would build."""
        return self.has_previous and self.compatible and not self.changes


def reusable(old: Manifest, embedder: str, segmenter: str) -> bool:
    """Whether a version was built with this embedder and segmenter, so its vectors may serve."""
    return old.embedder == embedder and old.segmenter == segmenter


def plan_ingest(old: Manifest | None, scan: Scan, *, compatible: bool) -> IngestPlan:
    """Decide what the next version holds; IngestError when it could hold nothing, or when
    documents that are not ingested again would have to be rebuilt.

    `compatible`: the serving version was built as this ingest builds (see `reusable`) and
    its vectors are still in the store; otherwise every document is embedded again.
    """
    plan = IngestPlan(compatible=compatible and old is not None, has_previous=old is not None)
    if old:
        _keep_or_remove(old, scan, plan)
    if not scan.loaded and not plan.kept:
        raise IngestError(
            "没有可收录的文档：" + ("；".join(e.zh for e in scan.errors) or "路径下没有文件"),
            "No document could be ingested: "
            + ("; ".join(e.en for e in scan.errors) or "no files under the given paths"),
        )
    plan.reuse = set(plan.kept)
    for doc_id, doc in scan.loaded.items():
        previous = old.documents.get(doc_id) if old else None
        if plan.compatible and previous and previous.content_hash == doc.content_hash:
            plan.reuse.add(doc_id)
            plan.unchanged.append(doc_id)
        elif previous:
            plan.replaced.append(doc_id)
        else:
            plan.added.append(doc_id)
    if not plan.compatible:
        plan.reuse -= set(plan.kept)  # a new embedder or segmenter: everything is rebuilt
    if plan.kept and not plan.compatible:
        raise IngestError(
            "嵌入模型或切分规则已变更，需同时重新收录以下来源："
            + "、".join(plan.kept[d].source_path for d in plan.kept),
            "The embedder or segmenter changed: ingest these sources again too: "
            + ", ".join(plan.kept[d].source_path for d in plan.kept),
        )
    return plan


def _keep_or_remove(old: Manifest, scan: Scan, plan: IngestPlan) -> None:
    """Sort the serving version's documents that were not loaded into kept and removed.

    A document stays when its file failed to load this time, or when it was ingested from
    outside the folders of this ingest and its file is still there; any other is removed.
    """
    for doc_id, entry in old.documents.items():
        if doc_id in scan.loaded:
            continue
        source = scan.source(entry)
        under = any(_is_under(source, root) for root in scan.roots)
        if source in scan.failed or (
            not under and source in scan.present and source not in scan.gone
        ):
            plan.kept[doc_id] = entry
        else:
            plan.removed.append(doc_id)


def _is_under(path: Path, root: Path) -> bool:
    return path == root or root in path.parents
