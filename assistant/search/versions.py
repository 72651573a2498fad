"""The index folder's versions: which one serves, their manifests and keyword index, the lock.

    index/CURRENT                       the version that serves (written last, atomically)
    index/STORE_ID                      this folder's name among a Chroma server's collections
    index/.ingest.lock                  held while an ingest runs: one at a time per folder
                                        (with PostgreSQL, an advisory lock there instead:
                                        one at a time across replicas, see assistant.locks)
    index/versions/<v>/manifest.json    documents, their content hashes, embedder, segmenter
    index/versions/<v>/chunks.jsonl     every chunk with its tokens: the keyword index
    index/versions/.<v>.tmp/            a version being written; renamed to <v> when complete

A version folder appears whole or not at all (written under a temporary name, then renamed),
and CURRENT names it only after that, so a reader never sees half a version.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from assistant.locks import exclusive
from assistant.models import Chunk

log = logging.getLogger(__name__)

# Bumped whenever what is stored per chunk changes; an older index is then rebuilt in full.
INDEX_FORMAT = "3"


@dataclass
class DocumentEntry:
    """What the manifest records of one document."""

    doc_id: str
    title: str
    doc_number: str
    source_path: str
    content_hash: str
    chunks: int
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass
class Manifest:
    """The description of one index version."""

    version: str
    created: str
    embedder: str
    dim: int
    segmenter: str
    collection: str
    documents: dict[str, DocumentEntry]

    @property
    def chunk_count(self) -> int:
        return sum(d.chunks for d in self.documents.values())

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["documents"] = {k: asdict(v) for k, v in self.documents.items()}
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Manifest:
        docs = {k: DocumentEntry(**v) for k, v in data.pop("documents").items()}
        return cls(documents=docs, **data)


def new_version() -> str:
    """A fresh version name: sortable by time, unique across processes."""
    return time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]


class VersionFolder:
    """The versions under one index folder, and the file that says which one serves.

    `database_url` (ASSISTANT_DATABASE_URL) decides where the ingest lock lives: in the
    PostgreSQL database that every replica shares, or beside the folder."""

    def __init__(self, root: Path, database_url: str | None = None) -> None:
        self.root = root
        self.database_url = database_url

    @property
    def current_file(self) -> Path:
        return self.root / "CURRENT"

    def version_dir(self, version: str) -> Path:
        """Where a complete version lies."""
        return self.root / "versions" / version

    def staging_dir(self, version: str) -> Path:
        """Where a version is written before it is complete."""
        return self.root / "versions" / f".{version}.tmp"

    def current_version(self) -> str | None:
        """The serving version, or None before the first ingest."""
        try:
            version = self.current_file.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        return version if (self.version_dir(version) / "manifest.json").is_file() else None

    def store_id(self) -> str:
        """This folder's mark on the collections it makes, written at its first ingest."""
        path = self.root / "STORE_ID"
        if not path.is_file():
            self.root.mkdir(parents=True, exist_ok=True)
            write_atomic(path, uuid.uuid4().hex[:8])
        return path.read_text(encoding="utf-8").strip()

    # -- reading -------------------------------------------------------------------------

    def read_manifest(self, version: str) -> Manifest:
        """The manifest of a complete version."""
        path = self.version_dir(version) / "manifest.json"
        return Manifest.from_json(json.loads(path.read_text(encoding="utf-8")))

    def read_chunks(
        self, version: str
    ) -> tuple[list[Chunk], list[dict[str, float]], list[list[dict[str, float]]]]:
        """The chunks of a complete version, with the weighted terms the keyword index counts:
        of each chunk, and of each of its parts (see `keyword_parts`)."""
        chunks, tokens, parts = [], [], []
        with open(self.version_dir(version) / "chunks.jsonl", encoding="utf-8") as fh:
            for line in fh:
                record = json.loads(line)
                tokens.append(record.pop("terms"))
                parts.append(record.pop("parts", []))
                chunks.append(Chunk.from_record(record))
        return chunks, tokens, parts

    # -- writing -------------------------------------------------------------------------

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the ingest lock, waiting for another ingest to finish: two ingests at once
        would each remove the other's half-built version as garbage."""
        self.root.mkdir(parents=True, exist_ok=True)
        with exclusive("ingest", self.root / ".ingest.lock", self.database_url):
            yield

    def write(
        self,
        manifest: Manifest,
        chunks: Sequence[Chunk],
        tokens: Sequence[dict[str, float]],
        parts: Sequence[Sequence[dict[str, float]]],
    ) -> None:
        """Write a complete version: in its staging folder first, then renamed into place."""
        staging = self.staging_dir(manifest.version)
        staging.mkdir(parents=True, exist_ok=True)
        with open(staging / "chunks.jsonl", "w", encoding="utf-8") as fh:
            for c, t, p in zip(chunks, tokens, parts, strict=True):
                record = {**c.to_record(), "terms": t, **({"parts": p} if p else {})}
                fh.write(json.dumps(record, ensure_ascii=False) + "\n")
        (staging / "manifest.json").write_text(
            json.dumps(manifest.to_json(), ensure_ascii=False, indent=1), encoding="utf-8"
        )
        os.replace(staging, self.version_dir(manifest.version))

    def discard(self, version: str) -> None:
        """Remove what a failed build left of a version in its staging folder."""
        shutil.rmtree(self.staging_dir(version), ignore_errors=True)

    def publish(self, version: str) -> None:
        """Make a complete version the serving one."""
        write_atomic(self.current_file, version)

    def remove_all_but(self, keep: set[str]) -> tuple[set[str], set[str]]:
        """Remove the version folders not in `keep`, complete or half-built.

        Returns the collections named by the manifests of the versions kept and of those
        removed, so the vector store can drop the latter whatever their names' form.
        """
        wanted: set[str] = set()
        dropped: set[str] = set()
        versions = self.root / "versions"
        for path in sorted(versions.iterdir()) if versions.is_dir() else []:
            name = path.name.lstrip(".").removesuffix(".tmp")
            try:
                manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
                (wanted if name in keep else dropped).add(str(manifest["collection"]))
            except (OSError, ValueError, KeyError):
                pass  # a half-built version: its collection carries this folder's mark
            if name not in keep:
                shutil.rmtree(path, ignore_errors=True)
        return wanted, dropped


def write_atomic(path: Path, text: str) -> None:
    """Replace a small text file so that a reader sees the old text or the new, never part."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:6]}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
