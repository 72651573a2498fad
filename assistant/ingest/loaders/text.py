"""Plain text and Markdown: decoded, with `---` front matter taken as metadata.

A Markdown file's first "# …" line is its title, unless its front matter names one.
"""

from __future__ import annotations

from pathlib import Path

from assistant.ingest.decoding import decode, split_front_matter
from assistant.ingest.loaders.common import LoadedText, LoadLimits
from assistant.ingest.segmenting import markdown_title

MARKDOWN = (".md", ".markdown")


def load(path: Path, data: bytes, limits: LoadLimits) -> LoadedText:
    """Plain text and Markdown: decoded, front matter taken as metadata."""
    text = decode(data, str(path)).replace("\r\n", "\n").replace("\r", "\n")
    meta, body = split_front_matter(text)
    if path.suffix.lower() in MARKDOWN and not meta.get("title"):
        title = markdown_title(body)
        if title:
            meta["title"] = title
    return LoadedText(body, meta)
