"""Loading: encodings, metadata, Traditional Chinese, and clear errors for bad files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from assistant.errors import (
    CorruptFileError,
    EmptyDocumentError,
    FileTooLargeError,
    UnsupportedFormatError,
)
from assistant.ingest import loaders
from assistant.ingest.decoding import decode, split_front_matter
from assistant.ingest.loaders.common import LoadedText
from assistant.ingest.loading import find_files, load_document
from assistant.ingest.metadata import title_line
from assistant.ingest.segmenting import segment
from assistant.search.index import keyword_parts, keyword_terms
from assistant.text.vocabulary import vocabulary

TEXT = (
    "示例区科技措施（虚构）\n一、支持企业\n(一)高企奖励。对首次认定的高新技术企业给予奖励88万元。\n"
)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "gbk", "utf-16"])
def test_text_files_load_in_the_encodings_government_sites_use(
    tmp_path: Path, encoding: str
) -> None:
    path = tmp_path / "notice.txt"
    path.write_bytes(TEXT.encode(encoding))
    document = load_document(path, tmp_path)
    assert document.text == TEXT
    assert document.title == "示例区科技措施（虚构）"
    assert document.doc_id == "notice"


def test_gbk_detection_does_not_mistake_gbk_for_utf8() -> None:
    assert decode("高新技术企业补贴".encode("gbk")) == "高新技术企业补贴"


def test_front_matter_gives_metadata_and_is_not_part_of_the_text() -> None:
    meta, body = split_front_matter("---\ntitle: 标题\ndoc_number: '示科〔2099〕1号'\n---\n正文。")
    assert meta == {"title": "标题", "doc_number": "示科〔2099〕1号"}
    assert body == "正文。"


def test_a_sidecar_meta_file_gives_metadata_for_an_untouched_file(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text(TEXT, encoding="utf-8")
    (tmp_path / "a.txt.meta.yaml").write_text(
        "title: 虚构措施\ndoc_number: 示科〔2099〕2号\nsource_url: https://example.org/a\n",
        encoding="utf-8",
    )
    document = load_document(tmp_path / "a.txt", tmp_path)
    assert (document.title, document.doc_number) == ("虚构措施", "示科〔2099〕2号")
    assert document.metadata["source_url"] == "https://example.org/a"
    assert document.text == TEXT
    assert [p.name for p in find_files([tmp_path])] == ["a.txt"]


def test_traditional_chinese_is_matched_as_simplified_but_quoted_as_written(tmp_path: Path) -> None:
    path = tmp_path / "tw.txt"
    path.write_text(
        "示例措施\n一、支持企業\n(一)高企獎勵。對首次認定的高新技術企業給予獎勵。\n",
        encoding="utf-8",
    )
    chunk = next(c for c in segment(load_document(path, tmp_path)) if "獎勵" in c.text)
    assert chunk.text == "對首次認定的高新技術企業給予獎勵。"
    assert {"首次", "认定", "高新技术企业", "奖励"} <= set(keyword_terms(chunk, vocabulary()))


def test_each_item_of_a_list_is_a_keyword_part_with_the_sentence_that_opens_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "list.txt"
    path.write_text(  # FICTIONAL
        "示例办法\n第五条 企业的下列收入为免税收入：\n（一）国债利息收入；\n（二）示例补助收入。\n"
        "第六条 本办法自发布之日起施行。\n",
        encoding="utf-8",
    )
    chunks = segment(load_document(path, tmp_path))
    listing = next(c for c in chunks if "国债" in c.text)
    parts = keyword_parts(listing, vocabulary())
    item = next(p for p in parts if "国债" in p)
    assert {"免税收入", "利息"} <= set(item) and "补助" not in item
    one_paragraph = next(c for c in chunks if "施行" in c.text)
    assert keyword_parts(one_paragraph, vocabulary()) == []


def test_an_empty_file_is_rejected_by_name(tmp_path: Path) -> None:
    path = tmp_path / "empty.txt"
    path.write_text("  \n\n", encoding="utf-8")
    with pytest.raises(EmptyDocumentError) as err:
        load_document(path, tmp_path)
    assert "empty.txt" in str(err.value) and "没有正文" in err.value.zh


def test_an_unsupported_file_type_is_rejected_with_the_supported_ones(tmp_path: Path) -> None:
    path = tmp_path / "scan.jpg"
    path.write_bytes(b"\xff\xd8\xff")
    with pytest.raises(UnsupportedFormatError) as err:
        load_document(path, tmp_path)
    assert "scan.jpg" in err.value.en and ".txt" in err.value.en


def test_one_table_says_which_loader_reads_which_suffix() -> None:
    from assistant.ingest import loading
    from assistant.ingest.loaders import docx, html, pdf, text

    assert loaders.LOADERS == {
        ".txt": text.load,
        ".md": text.load,
        ".markdown": text.load,
        ".docx": docx.load,
        ".pdf": pdf.load,
        ".html": html.load,
        ".htm": html.load,
        ".shtml": html.load,
        ".xhtml": html.load,
    }
    assert loading.supported_suffixes() == sorted(loaders.LOADERS)
    # The limits stay importable from loading.py, where the index and the page look for them.
    assert loading.LoadLimits is loaders.common.LoadLimits


def test_the_loaders_import_without_loading_py() -> None:
    """The loaders sit below loading.py: importing one does not import it back."""
    imported = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, assistant.ingest.loaders.html, assistant.ingest.loaders.docx; "
            "print('assistant.ingest.loading' in sys.modules)",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert imported == "False"


def test_binary_garbage_named_txt_is_rejected_not_indexed(tmp_path: Path) -> None:
    path = tmp_path / "broken.txt"
    path.write_bytes(bytes(range(256)) * 8)
    with pytest.raises(CorruptFileError) as err:
        load_document(path, tmp_path)
    assert "broken.txt" in str(err.value)


def test_a_loader_that_fails_on_a_damaged_file_skips_only_that_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fragile(path: Path, data: bytes, limits: object) -> LoadedText:
        raise KeyError("word/document.xml")

    monkeypatch.setitem(loaders.LOADERS, ".fragile", fragile)
    path = tmp_path / "damaged.fragile"
    path.write_bytes(b"\x00")
    with pytest.raises(CorruptFileError) as err:
        load_document(path, tmp_path)
    assert "damaged.fragile" in err.value.zh and "KeyError" in err.value.en


def test_the_title_is_the_first_line_after_a_red_header_and_a_doc_number() -> None:
    assert title_line(
        "示例区科学技术委员会文件\n示科〔2099〕1号\n关于示例的通知（虚构）\n正文"
    ) == ("关于示例的通知（虚构）")
    assert title_line("# 示例办法（虚构）\n正文") == "示例办法（虚构）"
    assert title_line("关于废止部分规范性文件的决定\n正文") == "关于废止部分规范性文件的决定"


def test_a_file_over_the_size_limit_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    path.write_text("内容。" * 1000, encoding="utf-8")
    with pytest.raises(FileTooLargeError, match="too large"):
        load_document(path, tmp_path, max_bytes=1000)


def test_find_files_skips_hidden_files_readmes_and_sidecars(tmp_path: Path) -> None:
    for name in ("a.txt", "README.md", ".hidden.txt", "a.txt.meta.yaml", "b.pdf"):
        (tmp_path / name).write_text("x", encoding="utf-8")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "c.txt").write_text("x", encoding="utf-8")
    assert [p.name for p in find_files([tmp_path])] == ["a.txt", "b.pdf"]
