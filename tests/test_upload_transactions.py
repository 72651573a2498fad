"""An upload either finishes or leaves nothing: a file lies in uploads/ only while it is indexed.

The uploaded files are fictional policy text written by the tests and say so.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.errors import IngestError
from assistant.search.index import IndexStore, VectorCollection
from assistant.serve import library
from assistant.serve.library import (
    STAGING,
    UNINDEXED,
    add_files,
    recover,
    removable,
    remove_document,
    upload_folder,
)
from assistant.serve.runtime import Services


def voucher(amount: int) -> str:
    return (
        f"示例区创新券实施细则（虚构示例，仅供测试）\n"
        f"一、支持对象\n（一）额度。每家企业每年申领创新券最高{amount}万元。\n"
    )


@pytest.fixture
def store(services: Services) -> IndexStore:
    services.store.ingest()
    return services.store


def inbox(tmp_path: Path, name: str, text: str) -> Path:
    """A file as an upload hands it over: in a temporary folder, under its own name."""
    path = tmp_path / "inbox" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def in_uploads(settings: Settings) -> list[str]:
    """The files ingest would see in uploads/."""
    folder = upload_folder(settings)
    return (
        sorted(p.name for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
        if folder.is_dir()
        else []
    )


def staged(settings: Settings) -> list[Path]:
    staging = upload_folder(settings) / STAGING
    return list(staging.iterdir()) if staging.is_dir() else []


def indexed_uploads(store: IndexStore) -> set[str]:
    manifest = store.read_manifest(store.current_version() or "")
    return {d for d in manifest.documents if d.startswith("uploads/")}


# -- names the ingest would skip -----------------------------------------------------------


def test_a_readme_upload_is_refused_with_the_reason_and_the_rest_ingested(
    settings: Settings, store: IndexStore, tmp_path: Path
) -> None:
    result = add_files(
        settings,
        store,
        [inbox(tmp_path, "README.txt", voucher(30)), inbox(tmp_path, "voucher.txt", voucher(30))],
    )
    outcomes = {f.name: f for f in result.files}
    readme = outcomes["README.txt"]
    assert not readme.ok and "README" in readme.zh and "改名" in readme.zh
    assert "skipped" in readme.en and "rename" in readme.en
    assert outcomes["voucher.txt"].ok and outcomes["voucher.txt"].zh == "已收录"
    assert in_uploads(settings) == ["voucher.txt"]
    assert indexed_uploads(store) == {"uploads/voucher"}


def test_an_upload_of_only_a_readme_changes_nothing(
    settings: Settings, store: IndexStore, tmp_path: Path
) -> None:
    serving = store.current_version()
    result = add_files(settings, store, [inbox(tmp_path, "readme.md", voucher(30))])
    assert [f.ok for f in result.files] == [False] and result.report is None
    assert in_uploads(settings) == [] and store.current_version() == serving


def test_a_file_named_like_an_upload_with_another_suffix_replaces_it(
    settings: Settings, store: IndexStore, tmp_path: Path
) -> None:
    add_files(settings, store, [inbox(tmp_path, "voucher.txt", voucher(30))])
    result = add_files(settings, store, [inbox(tmp_path, "voucher.md", voucher(40))])
    outcomes = {f.name: f for f in result.files}
    assert outcomes["voucher.md"].ok and outcomes["voucher.txt"].ok
    assert "替换" in outcomes["voucher.txt"].zh
    assert in_uploads(settings) == ["voucher.md"]
    manifest = store.read_manifest(store.current_version() or "")
    assert Path(manifest.documents["uploads/voucher"].source_path).name == "voucher.md"


# -- a failure part-way --------------------------------------------------------------------


def test_a_failed_ingest_leaves_the_uploads_as_they_were(
    settings: Settings, store: IndexStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_files(settings, store, [inbox(tmp_path, "voucher.txt", voucher(30))])
    serving = store.current_version()

    def full_disk(*args: object, **kwargs: object) -> None:
        raise OSError("No space left on device")

    monkeypatch.setattr(store.embeddings, "embed_batches", full_disk)
    with pytest.raises(IngestError):
        add_files(
            settings,
            store,
            [inbox(tmp_path, "voucher.txt", voucher(45)), inbox(tmp_path, "new.txt", voucher(50))],
        )
    assert in_uploads(settings) == ["voucher.txt"] and staged(settings) == []
    assert "30万元" in (upload_folder(settings) / "voucher.txt").read_text(encoding="utf-8")
    assert store.current_version() == serving


def test_a_failed_removal_keeps_the_file_and_its_document(
    settings: Settings, store: IndexStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_files(settings, store, [inbox(tmp_path, "voucher.txt", voucher(30))])
    services = Services(settings)

    def full_disk(self: VectorCollection, **kwargs: object) -> None:
        raise OSError("No space left on device")

    monkeypatch.setattr(VectorCollection, "add", full_disk)
    with pytest.raises(IngestError):
        remove_document(settings, store, services.index, "uploads/voucher")
    assert in_uploads(settings) == ["voucher.txt"] and staged(settings) == []
    assert indexed_uploads(store) == {"uploads/voucher"}


# -- a process killed part-way ---------------------------------------------------------------

# Runs one upload in a process of its own, stopped where the test says:
#   embedding  — it hangs while embedding (the test then kills it with SIGKILL);
#   settling   — it kills itself once the new version serves, before moving any file.
UPLOADER = """
import os, signal, sys, time
from pathlib import Path
from assistant.serve import library
from assistant.config import load_settings
from assistant.serve.runtime import Services

corpus, index, where, upload, marker = sys.argv[1:]
settings = load_settings(corpus_dir=Path(corpus), index_dir=Path(index))
services = Services(settings)
if where == "embedding":
    def hang(*args, **kwargs):
        Path(marker).touch()
        time.sleep(600)
    services.embeddings.embed_batches = hang
else:
    def die(*args, **kwargs):
        Path(marker).touch()
        os.kill(os.getpid(), signal.SIGKILL)
    library._settle = die
library.add_files(settings, services.store, [Path(upload)])
"""


def killed_upload(settings: Settings, upload: Path, where: str, tmp_path: Path) -> None:
    """Run an upload in another process and see it die (SIGKILL) at `where`."""
    marker = tmp_path / "reached"
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            UPLOADER,
            str(settings.corpus_dir),
            str(settings.index_dir),
            where,
            str(upload),
            str(marker),
        ]
    )
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert child.poll() is None or where == "settling", "the upload ended early"
            assert time.monotonic() < deadline, "the upload never got there"
            time.sleep(0.05)
        if child.poll() is None and where == "embedding":
            os.kill(child.pid, signal.SIGKILL)
        assert child.wait(timeout=60) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def test_an_upload_killed_while_ingesting_leaves_nothing_in_uploads(
    settings: Settings, store: IndexStore, tmp_path: Path
) -> None:
    serving = store.current_version()
    killed_upload(settings, inbox(tmp_path, "voucher.txt", voucher(30)), "embedding", tmp_path)
    # Nothing an ingest or a listing sees: the file waited in the hidden staging folder.
    assert in_uploads(settings) == [] and store.current_version() == serving
    assert len(staged(settings)) == 1
    # The next upload clears what the killed one left, then does its own work.
    result = add_files(settings, store, [inbox(tmp_path, "other.txt", voucher(40))])
    assert [(f.name, f.ok) for f in result.files] == [("other.txt", True)]
    assert staged(settings) == [] and in_uploads(settings) == ["other.txt"]


def test_an_upload_killed_after_its_index_serves_is_completed_at_start_up(
    settings: Settings, store: IndexStore, tmp_path: Path
) -> None:
    killed_upload(settings, inbox(tmp_path, "voucher.txt", voucher(30)), "settling", tmp_path)
    assert indexed_uploads(store) == {"uploads/voucher"}  # the new version serves
    assert in_uploads(settings) == []  # but the file never moved
    assert recover(settings, store) == []
    assert in_uploads(settings) == ["voucher.txt"] and staged(settings) == []
    # And it is an ordinary upload again: listed, and removable.
    services = Services(settings)
    assert "uploads/voucher" in dict(removable(settings, services.index))
    result = remove_document(settings, store, services.index, "uploads/voucher")
    assert result.files[0].ok and in_uploads(settings) == []
    assert indexed_uploads(store) == set()


def test_files_left_in_uploads_without_being_indexed_are_moved_aside_and_reported(
    settings: Settings, store: IndexStore, tmp_path: Path
) -> None:
    # What an interrupted upload, or a README upload, left before uploads were staged.
    folder = upload_folder(settings)
    folder.mkdir()
    (folder / "README.txt").write_text(voucher(30), encoding="utf-8")
    (folder / "stranded.txt").write_text(voucher(35), encoding="utf-8")
    result = add_files(settings, store, [inbox(tmp_path, "voucher.txt", voucher(40))])
    outcomes = {f.name: f for f in result.files}
    assert not outcomes["stranded.txt"].ok and UNINDEXED in outcomes["stranded.txt"].zh
    assert not outcomes["README.txt"].ok and outcomes["voucher.txt"].ok
    assert in_uploads(settings) == ["voucher.txt"]
    assert sorted(p.name for p in (folder / UNINDEXED).iterdir()) == ["README.txt", "stranded.txt"]


def test_recovery_before_any_ingest_touches_nothing(settings: Settings, tmp_path: Path) -> None:
    folder = upload_folder(settings)
    folder.mkdir()
    (folder / "voucher.txt").write_text(voucher(30), encoding="utf-8")
    assert recover(settings, Services(settings).store) == []
    assert in_uploads(settings) == ["voucher.txt"]


def test_a_plan_that_was_never_written_is_dropped_whole(
    settings: Settings, store: IndexStore, tmp_path: Path
) -> None:
    half = upload_folder(settings) / STAGING / "0123abcd"
    half.mkdir(parents=True)
    (half / "voucher.txt").write_text(voucher(30), encoding="utf-8")  # copied, then killed
    assert library.recover(settings, store) == []
    assert staged(settings) == [] and in_uploads(settings) == []
