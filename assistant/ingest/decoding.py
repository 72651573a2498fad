"""Bytes to text: the encodings Chinese government files come in, and `key: value` front matter.

Both the loaders (a text file, a saved web page) and `loading.py` (a sidecar's metadata) decode
files here, so this module depends on nothing else in the package but its errors.
"""

from __future__ import annotations

import re

from assistant.errors import CorruptFileError


def decode(data: bytes, path: str = "") -> str:
    """Decode Chinese text: UTF-8 (with or without BOM), UTF-16 with BOM, else GB18030.

    GB18030 is a superset of GBK and GB2312, the encodings of most government downloads.
    Strict decoding in this order is reliable because valid UTF-8 is almost never valid
    Chinese GB text by accident and vice versa; charset detection is the last resort.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="strict")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    if b"\x00" not in data:
        for encoding in ("utf-8", "gb18030"):
            try:
                return _checked_text(data.decode(encoding), path)
            except UnicodeDecodeError:
                continue
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise CorruptFileError(
            path,
            "无法识别文件编码（不是 UTF-8 或 GB18030/GBK 文本）",
            "cannot tell the text encoding (not UTF-8 or GB18030/GBK)",
        )
    return _checked_text(str(best), path)


def _checked_text(text: str, path: str) -> str:
    """Refuse binary data that happened to decode: text has almost no control characters."""
    controls = sum(1 for ch in text if ch < " " and ch not in "\n\r\t\f")
    if controls > max(2, len(text) // 100):
        raise CorruptFileError(
            path,
            "文件内容不是文本（可能已损坏或是二进制文件）",
            "the file is not text (corrupt or binary)",
        )
    return text


_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.S)
_META_LINE = re.compile(r"^\s*([A-Za-z_][\w-]*)\s*:\s*(.*?)\s*$")


def parse_meta_lines(block: str) -> dict[str, str]:
    """Parse simple `key: value` lines (the subset of YAML staff write by hand)."""
    meta = {}
    for line in block.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        m = _META_LINE.match(line)
        if m:
            value = m.group(2).strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                value = value[1:-1]
            meta[m.group(1).lower().replace("-", "_")] = value
    return meta


def split_front_matter(text: str) -> tuple[dict[str, str], str]:
    """Separate `---` front matter from the body; the body is returned untouched."""
    m = _FRONT_MATTER.match(text)
    if not m:
        return {}, text
    return parse_meta_lines(m.group(1)), text[m.end() :]
