"""What every loader shares: what it returns, what loading may cost, and how it writes lines.

A loader is a function `(path, data, limits) -> LoadedText`; the table in `loaders/__init__.py`
says which one reads which suffix. Each writes its file out as lines the segmenter reads as
structure (一、 / （一） / 第一条 / 第一章 opening a line) and keeps tables inside their section,
one row per line, cells joined by " | " (`table_row`).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class LoadedText:
    """What a loader returns: the body text and any metadata found in the file itself.

    `pages` holds the offset in `text` where each page begins, for files that have pages.
    """

    text: str
    metadata: dict[str, str] = field(default_factory=dict)
    pages: tuple[int, ...] = ()


MB = 1024 * 1024


@dataclass(frozen=True)
class LoadLimits:
    """How much loading one file may cost; a file over any of these is refused by name.

    The defaults fit a policy library: a 2,000-page PDF is a large yearbook, a Word file's XML
    rarely reaches 10 MB, a web page nests a few dozen elements deep.
    """

    seconds: float = 60.0  # wall-clock time for one file, after which its worker is killed
    memory_mb: int = 1536  # the worker process's address space
    pdf_pages: int = 2000
    docx_xml_mb: float = 50.0  # what a Word file's XML parts unpack to, together
    html_depth: int = 256  # how deeply a web page's elements nest
    html_elements: int = 200_000

    @classmethod
    def from_settings(cls, settings: object) -> LoadLimits:
        """The limits the settings give (ASSISTANT_LOAD_TIMEOUT_S, …); defaults for the rest."""
        defaults = cls()
        return cls(
            **{
                name: getattr(settings, setting, getattr(defaults, name))
                for name, setting in _LIMIT_SETTINGS.items()
            }
        )


# Each limit and the name of the setting that overrides it.
_LIMIT_SETTINGS = {
    "seconds": "load_timeout_s",
    "memory_mb": "load_memory_mb",
    "pdf_pages": "pdf_max_pages",
    "docx_xml_mb": "docx_max_xml_mb",
    "html_depth": "html_max_depth",
    "html_elements": "html_max_elements",
}


Loader = Callable[[Path, bytes, LoadLimits], LoadedText]


CELL_SEPARATOR = " | "


def wide(ch: str) -> bool:
    """A Chinese character or full-width mark: text around it needs no spaces."""
    return unicodedata.east_asian_width(ch) in "WF"


def joined(left: str, right: str) -> str:
    """Two pieces of one wrapped line: no space between Chinese characters, one between words."""
    if not left or not right:
        return left + right
    return left + right if wide(left[-1]) or wide(right[0]) else f"{left} {right}"


def table_row(cells: list[str]) -> str:
    """One table row as a line; a cell wrapped over several lines is joined back together."""
    texts = []
    for cell in cells:
        text = ""
        for piece in cell.splitlines():
            text = joined(text, piece.strip())
        if text:
            texts.append(text)
    return CELL_SEPARATOR.join(texts)
