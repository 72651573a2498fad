"""The loaders, one module per file type, and the table that says which reads which suffix.

A loader turns the bytes of one file into the body exactly as published, plus any metadata the
file states (`common.LoadedText`), and refuses a file over `common.LoadLimits` before parsing it.
The table is written out rather than filled in as modules are imported, so what is supported
can be read here and importing a loader has no effect on what is loaded.
"""

from __future__ import annotations

from assistant.ingest.loaders import docx, html, pdf, text
from assistant.ingest.loaders.common import Loader

# Suffixes in lower case, with the dot.
LOADERS: dict[str, Loader] = {
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


def supported_suffixes() -> list[str]:
    """File suffixes that some loader accepts."""
    return sorted(LOADERS)
