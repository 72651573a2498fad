"""Plain text and Markdown: decoded, with `---` front matter taken as metadata."""

from __future__ import annotations

from pathlib import Path

from assistant.ingest.decoding import decode, split_front_matter
from assistant.ingest.loaders.common import LoadedText, LoadLimits


def load(path: Path, data: bytes, limits: LoadLimits) -> LoadedText:
    """Plain text and Markdown: decoded, front matter taken as metadata."""
    text = decode(data, str(path)).replace("\r\n", "\n").replace("\r", "\n")
    meta, body = split_front_matter(text)
    return LoadedText(body, meta)
