"""The index on disk: a Chroma collection, a keyword index and a manifest, swapped atomically.

    index/CURRENT                       the version that serves (written last, atomically)
    index/STORE_ID                      this folder's name among a Chroma server's collections
    index/.ingest.lock                  held while an ingest runs: one at a time per folder
    index/chroma/                       the embedded Chroma store (unused with a Chroma server)
    index/versions/<v>/manifest.json    documents, their content hashes, embedder, segmenter
    index/versions/<v>/chunks.jsonl     every chunk with its tokens: the keyword index

An ingest builds a complete new version beside the serving one (a new collection and a new
version folder), reusing the vectors of unchanged documents, and only then replaces CURRENT.
A failure or an interrupt before that leaves the previous version serving untouched. The
version that served before stays for one more ingest, so processes that opened it (the other
workers of a server) keep answering until they open the new one; older ones are removed,
with their collections and, in the embedded store, the folders those kept their vectors in.
Files are loaded in a worker process under `LoadLimits` (`sandbox.py`): a file that is too
big, too slow or too hungry to load is reported like any file that does not load.

With a Chroma server (`ASSISTANT_CHROMA_URL`) only the vectors move to the server: CURRENT,
the manifests and the keyword index stay in this folder, and every process that serves or
ingests reads them here. Workers on one machine share the folder as it is. Workers on other
machines need the same folder: a shared volume (NFS, a mounted network disk) mounted as
`ASSISTANT_INDEX_DIR` on each, or a copy of it taken after every ingest (`versions/` first,
`CURRENT` last); a separate folder per machine would point at collections that another
machine's ingest removes. Ingest from one machine at a time: the lock is a file lock, which a
network file system may not honour. Collections are named `<prefix>-<store id>-<version>`, so
several index folders (staging and production, say) can share one server: an ingest only
removes collections its own folder made.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from assistant.config import Settings
from assistant.errors import (
    AssistantError,
    ConfigError,
    DocumentError,
    IndexNotBuiltError,
    IngestError,
    StoreUnavailableError,
)
from assistant.ingest.loading import LoadLimits, find_files
from assistant.ingest.sandbox import Sandbox
from assistant.ingest.segmenting import SEGMENTER_VERSION, SegmentOptions, segment
from assistant.models import Chunk, Document
from assistant.search.bm25 import BM25
from assistant.search.embeddings import ChromaEmbeddingFunction, PolicyEmbeddings
from assistant.text.vocabulary import Vocabulary, vocabulary

log = logging.getLogger(__name__)

_ADD_BATCH = 256
# Reused vectors come back as JSON from a server: a few thousand per request keeps each reply
# a few megabytes instead of one reply the size of the whole index.
_GET_BATCH = 2048
# A server that does not answer its heartbeat within this many seconds counts as unreachable
# (Chroma's own client would wait for the operating system's connect timeout, minutes).
_HEARTBEAT_TIMEOUT_S = 5.0
# Bumped whenever what is stored per chunk changes; an older index is then rebuilt in full.
INDEX_FORMAT = "2"


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


@dataclass
class IngestReport:
    """The outcome of an ingest, for the CLI summary."""

    version: str
    documents: int
    chunks: int
    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    errors: list[DocumentError] = field(default_factory=list)
    embedded_chunks: int = 0
    seconds: float = 0.0
    swapped: bool = False


class VectorCollection:
    """A Chroma collection whose lost server or vanished collection surfaces as
    StoreUnavailableError, which the edges show as a message (503 over HTTP)."""

    def __init__(self, collection: Any, where: str) -> None:
        self._collection = collection
        self._where = where

    @property
    def name(self) -> str:
        return str(self._collection.name)

    def query(self, **kwargs: Any) -> Any:
        with store_errors(self._where, self.name):
            return self._collection.query(**kwargs)

    def get(self, **kwargs: Any) -> Any:
        with store_errors(self._where, self.name):
            return self._collection.get(**kwargs)

    def add(self, **kwargs: Any) -> None:
        with store_errors(self._where, self.name):
            self._collection.add(**kwargs)

    def count(self) -> int:
        with store_errors(self._where, self.name):
            return int(self._collection.count())


@dataclass
class ServedIndex:
    """One loaded index version: everything a search needs, built once."""

    manifest: Manifest
    chunks: list[Chunk]
    keyword: BM25
    collection: VectorCollection
    by_id: dict[str, int]


def _segment_signature(opts: SegmentOptions) -> str:
    """Everything that decides chunks and their terms; an index built otherwise is rebuilt."""
    return (
        f"{INDEX_FORMAT}/{SEGMENTER_VERSION}/{vocabulary().signature}:"
        f"{opts.max_chars}/{opts.hard_max}/{opts.min_chars}/{opts.article_max}"
    )


@dataclass(frozen=True)
class FieldWeights:
    """How much a word counts in the keyword index by where it stands.

    The title and headings say what a passage is about, but they repeat across every
    passage of a document or section: counted fully they would drown the passage's own words.
    """

    text: float = 1.0
    section: float = 0.5
    title: float = 0.25


def keyword_terms(
    chunk: Chunk, vocab: Vocabulary, weights: FieldWeights = FieldWeights()
) -> dict[str, float]:
    """What the keyword index sees: weighted term frequencies of a chunk and its context."""
    terms: dict[str, float] = {}
    for text, weight in (
        (chunk.text, weights.text),
        (chunk.lead, weights.section),
        (chunk.section, weights.section),
        (f"{chunk.title} {chunk.doc_number}", weights.title),
    ):
        for token in vocab.tokens(text):
            terms[token] = terms.get(token, 0.0) + weight
    return terms


def embedding_text(chunk: Chunk) -> str:
    """What the dense model sees: the nearest heading that says what the passage is about.

    A district document's long descriptive title is the same for every passage and blurs
    them together; a law's article number says nothing, so its chapter and law name stand in.
    """
    path = chunk.section.split(" > ") if chunk.section else []
    if path and path[-1].startswith("第") and path[-1].endswith("条"):
        context = " ".join([chunk.title, *path[:-1]])
    else:
        context = path[-1] if path else chunk.title
    return f"{context}\n{chunk.lead}{chunk.text}" if chunk.lead else f"{context}\n{chunk.text}"


class IndexStore:
    """Reads and writes index versions under `settings.index_dir`."""

    def __init__(
        self,
        settings: Settings,
        embeddings: PolicyEmbeddings,
        options: SegmentOptions | None = None,
        limits: LoadLimits | None = None,
    ) -> None:
        self.settings = settings
        self.embeddings = embeddings
        self.options = options or SegmentOptions()
        self.limits = limits or LoadLimits.from_settings(settings)  # what loading a file may cost
        self.root = Path(settings.index_dir)
        self._client: Any = None

    # -- locations -----------------------------------------------------------------------

    @property
    def current_file(self) -> Path:
        return self.root / "CURRENT"

    def version_dir(self, version: str) -> Path:
        return self.root / "versions" / version

    def current_version(self) -> str | None:
        """The serving version, or None before the first ingest."""
        try:
            version = self.current_file.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        return version if (self.version_dir(version) / "manifest.json").is_file() else None

    @property
    def where(self) -> str:
        """The vector store, as a person would name it in a message."""
        return self.settings.chroma_url or str(self.root / "chroma")

    def store_id(self) -> str:
        """This folder's mark on the collections it makes, written at its first ingest."""
        path = self.root / "STORE_ID"
        if not path.is_file():
            self.root.mkdir(parents=True, exist_ok=True)
            _write_atomic(path, uuid.uuid4().hex[:8])
        return path.read_text(encoding="utf-8").strip()

    def client(self) -> Any:
        """The Chroma client: a server when `chroma_url` is set, else the embedded store."""
        if self._client is None:
            import chromadb
            from chromadb.config import Settings as ChromaSettings

            chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
            if self.settings.chroma_url:
                host, port, ssl = server_address(self.settings.chroma_url)
                self.check_server()
                try:
                    self._client = chromadb.HttpClient(
                        host=host, port=port, ssl=ssl, settings=chroma_settings
                    )
                except Exception as exc:  # the client checks the server's tenant on creation
                    raise unreachable(self.settings.chroma_url, exc) from exc
            else:
                (self.root / "chroma").mkdir(parents=True, exist_ok=True)
                self._client = chromadb.PersistentClient(
                    path=str(self.root / "chroma"), settings=chroma_settings
                )
        return self._client

    def check_server(self) -> None:
        """With a Chroma server configured, raise StoreUnavailableError unless it answers now."""
        url = self.settings.chroma_url
        if not url:
            return
        import httpx

        host, port, ssl = server_address(url)  # a malformed URL is a ConfigError
        host = f"[{host}]" if ":" in host else host  # an IPv6 address
        heartbeat = f"{'https' if ssl else 'http'}://{host}:{port}/api/v2/heartbeat"
        started = time.perf_counter()
        try:
            response = httpx.get(heartbeat, timeout=_HEARTBEAT_TIMEOUT_S)
            response.raise_for_status()
            response.json()
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("Chroma server %s did not answer its heartbeat: %s", url, exc)
            raise unreachable(url, exc) from exc
        log.debug(
            "Chroma server %s answered in %.0f ms", url, (time.perf_counter() - started) * 1000
        )

    def _collection(self, name: str, create: bool = False) -> VectorCollection:
        ef = ChromaEmbeddingFunction(self.embeddings)
        client = self.client()
        with store_errors(self.where, name):
            if create:
                found = client.create_collection(
                    name,
                    embedding_function=ef,  # type: ignore[arg-type]
                    configuration={"hnsw": {"space": "cosine"}},
                    metadata={"embedder": self.embeddings.name},
                )
            else:
                found = client.get_collection(name, embedding_function=ef)  # type: ignore[arg-type]
        return VectorCollection(found, self.where)

    def _has_collection(self, name: str) -> bool:
        try:
            self._collection(name)
        except StoreUnavailableError:
            self.check_server()  # an unreachable server is an error, not a missing collection
            return False
        return True

    # -- reading -------------------------------------------------------------------------

    def read_manifest(self, version: str) -> Manifest:
        path = self.version_dir(version) / "manifest.json"
        return Manifest.from_json(json.loads(path.read_text(encoding="utf-8")))

    def read_chunks(self, version: str) -> tuple[list[Chunk], list[dict[str, float]]]:
        chunks, tokens = [], []
        with open(self.version_dir(version) / "chunks.jsonl", encoding="utf-8") as fh:
            for line in fh:
                record = json.loads(line)
                tokens.append(record.pop("terms"))
                chunks.append(Chunk.from_record(record))
        return chunks, tokens

    def open(self) -> ServedIndex:
        """Load the serving version, or raise IndexNotBuiltError."""
        version = self.current_version()
        if version is None:
            raise IndexNotBuiltError(str(self.root))
        manifest = self.read_manifest(version)
        if manifest.embedder != self.embeddings.name:
            raise IngestError(
                f"索引由嵌入模型 {manifest.embedder} 建立，当前配置为 {self.embeddings.name}；"
                "请重新运行 `policy-assistant ingest`。",
                f"The index was built with {manifest.embedder!r} but {self.embeddings.name!r} "
                "is configured; run `policy-assistant ingest` again.",
            )
        chunks, tokens = self.read_chunks(version)
        started = time.perf_counter()
        keyword = BM25(tokens)
        log.info(
            "opened index %s: %d documents, %d chunks (keyword index %.2fs)",
            version,
            len(manifest.documents),
            len(chunks),
            time.perf_counter() - started,
        )
        return ServedIndex(
            manifest,
            chunks,
            keyword,
            self._collection(manifest.collection),
            {c.chunk_id: i for i, c in enumerate(chunks)},
        )

    # -- writing -------------------------------------------------------------------------

    def ingest(
        self,
        paths: Sequence[Path] | None = None,
        progress: Callable[[int, int], None] | None = None,
        staged: Mapping[Path, Path | None] | None = None,
    ) -> IngestReport:
        """Bring the index in line with the documents under `paths` (default: the corpus).

        Documents whose files lie under `paths` are added, replaced or removed to match them;
        documents ingested from elsewhere stay while their files exist. `progress(done, total)`
        is called as chunks are embedded. A second ingest of the same folder waits for the first.

        `staged` changes the files under `paths` for this ingest only: a path mapped to a
        file is read from that file (an upload waiting to be put in place) but recorded under
        the path; a path mapped to None counts as deleted. The caller moves the files once the
        new version serves.
        """
        with self._ingest_lock():
            return self._ingest(paths, progress, staged or {})

    @contextmanager
    def _ingest_lock(self) -> Iterator[None]:
        """Hold the folder's ingest lock: two ingests at once would each remove the other's
        half-built version as garbage."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".ingest.lock", "ab") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                log.info("waiting for another ingest of %s to finish", self.root)
                fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _ingest(
        self,
        paths: Sequence[Path] | None,
        progress: Callable[[int, int], None] | None,
        staged: Mapping[Path, Path | None],
    ) -> IngestReport:
        started = time.perf_counter()
        self.check_server()  # before minutes of embedding, not after
        roots = [Path(p) for p in (paths or [self.settings.corpus_dir])]
        old_version = self.current_version()
        old = self.read_manifest(old_version) if old_version else None
        compatible = bool(
            old
            and old.embedder == self.embeddings.name
            and old.segmenter == _segment_signature(self.options)
            # a reset or different Chroma server: nothing to reuse, all rebuilt
            and self._has_collection(old.collection)
        )

        report = IngestReport(version="", documents=0, chunks=0)
        loaded: dict[str, Document] = {}
        max_bytes = int(self.settings.max_file_mb * 1024 * 1024)
        stand_ins = {Path(path).resolve(): source for path, source in staged.items()}
        gone = {path for path, source in stand_ins.items() if source is None}
        files = [p for p in policy_files(self.settings, roots) if p.resolve() not in gone]
        found = {p.resolve() for p in files}
        files += sorted(
            path
            for path, source in stand_ins.items()
            if source is not None and path not in found and any(_is_under(path, r) for r in roots)
        )
        with Sandbox(self.limits) as sandbox:
            for path in files:
                source = stand_ins.get(path.resolve())
                try:
                    doc = sandbox.load(
                        source or path,
                        self.settings.corpus_dir,
                        max_bytes,
                        as_path=path if source else None,
                    )
                except DocumentError as exc:
                    log.warning("skipped %s", exc)
                    report.errors.append(exc)
                    continue
                if doc.doc_id in loaded:
                    report.errors.append(
                        DocumentError(
                            str(path),
                            f"与 {loaded[doc.doc_id].source_path} 的文档标识相同（{doc.doc_id}），未收录",
                            f"same document id {doc.doc_id!r} as {loaded[doc.doc_id].source_path}; "
                            "skipped",
                        )
                    )
                    continue
                loaded[doc.doc_id] = doc

        # Documents from elsewhere, or whose files failed to load this time, stay as they were.
        kept: dict[str, DocumentEntry] = {}
        failed = {Path(e.path).resolve() for e in report.errors}
        if old:
            for doc_id, entry in old.documents.items():
                if doc_id in loaded:
                    continue
                source = Path(entry.source_path).resolve()
                under = any(_is_under(source, r) for r in roots)
                if source in failed or (not under and source.is_file() and source not in gone):
                    kept[doc_id] = entry
                else:
                    report.removed.append(doc_id)

        if not loaded and not kept:
            raise IngestError(
                "没有可收录的文档：" + ("；".join(e.zh for e in report.errors) or "路径下没有文件"),
                "No document could be ingested: "
                + ("; ".join(e.en for e in report.errors) or "no files under the given paths"),
            )

        reuse_ids = set(kept)
        for doc_id, doc in loaded.items():
            previous = old.documents.get(doc_id) if old else None
            if compatible and previous and previous.content_hash == doc.content_hash:
                reuse_ids.add(doc_id)
                report.unchanged.append(doc_id)
            elif previous:
                report.replaced.append(doc_id)
            else:
                report.added.append(doc_id)
        if not compatible:
            reuse_ids -= set(kept)  # a new embedder or segmenter: everything is rebuilt
            report.unchanged.clear()

        if (
            old
            and compatible
            and old_version
            and not (report.added or report.replaced or report.removed)
        ):
            report.version = old_version
            report.documents = len(old.documents)
            report.chunks = old.chunk_count
            report.seconds = time.perf_counter() - started
            return report
        if kept and not compatible:
            raise IngestError(
                "嵌入模型或切分规则已变更，需同时重新收录以下来源："
                + "、".join(kept[d].source_path for d in kept),
                "The embedder or segmenter changed: ingest these sources again too: "
                + ", ".join(kept[d].source_path for d in kept),
            )

        version = time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
        report.version = version
        collection_name = f"{self.settings.collection_prefix}-{self.store_id()}-{version}"
        tmp_dir = self.root / "versions" / f".{version}.tmp"
        try:
            self._build(
                version,
                collection_name,
                tmp_dir,
                old,
                old_version,
                loaded,
                reuse_ids,
                kept,
                report,
                progress,
            )
        except BaseException as exc:
            self._discard(collection_name, tmp_dir)
            if isinstance(exc, AssistantError):
                raise
            if isinstance(exc, Exception):
                raise IngestError(
                    f"收录失败，原索引继续使用：{exc}",
                    f"Ingest failed; the previous index still serves: {exc}",
                ) from exc
            raise
        _write_atomic(self.current_file, version)
        self._collect_garbage(keep={version, old_version} if old_version else {version})
        report.swapped = True
        report.seconds = time.perf_counter() - started
        log.info(
            "ingest %s: %d documents, %d chunks, %d embedded, %.2fs",
            version,
            report.documents,
            report.chunks,
            report.embedded_chunks,
            report.seconds,
        )
        return report

    def _build(
        self,
        version: str,
        collection_name: str,
        tmp_dir: Path,
        old: Manifest | None,
        old_version: str | None,
        loaded: dict[str, Document],
        reuse_ids: set[str],
        kept: dict[str, DocumentEntry],
        report: IngestReport,
        progress: Callable[[int, int], None] | None,
    ) -> None:
        vocab = vocabulary()
        chunks: list[Chunk] = []
        tokens: list[dict[str, float]] = []
        vectors: list[np.ndarray] = []
        entries: dict[str, DocumentEntry] = {}

        if reuse_ids and old and old_version:
            old_chunks, old_tokens = self.read_chunks(old_version)
            reused = [
                (c, t) for c, t in zip(old_chunks, old_tokens, strict=True) if c.doc_id in reuse_ids
            ]
            if reused:
                previous = self._collection(old.collection)
                by_id: dict[str, Any] = {}
                for i in range(0, len(reused), _GET_BATCH):
                    got = previous.get(
                        ids=[c.chunk_id for c, _ in reused[i : i + _GET_BATCH]],
                        include=["embeddings"],
                    )
                    by_id.update(zip(got["ids"], got["embeddings"], strict=True))
                for c, t in reused:
                    chunks.append(c)
                    tokens.append(t)
                    vectors.append(np.asarray(by_id[c.chunk_id], dtype=np.float32))
            for doc_id in reuse_ids:
                entries[doc_id] = old.documents[doc_id]

        fresh: list[Chunk] = []
        for doc_id, doc in loaded.items():
            if doc_id in reuse_ids:
                entries[doc_id] = _entry(doc, old.documents[doc_id].chunks if old else 0)
                continue
            doc_chunks = segment(doc, self.options)
            entries[doc_id] = _entry(doc, len(doc_chunks))
            fresh.extend(doc_chunks)
        total = len(fresh)
        done = 0

        def step(n: int) -> None:
            nonlocal done
            done += n
            if progress:
                progress(done, total)

        if fresh:
            new_vectors = self.embeddings.embed_batches([embedding_text(c) for c in fresh], step)
            for c, v in zip(fresh, new_vectors, strict=True):
                chunks.append(c)
                tokens.append(keyword_terms(c, vocab))
                vectors.append(v)
        report.embedded_chunks = total

        collection = self._collection(collection_name, create=True)
        for i in range(0, len(chunks), _ADD_BATCH):
            part = chunks[i : i + _ADD_BATCH]
            collection.add(
                ids=[c.chunk_id for c in part],
                embeddings=np.stack(vectors[i : i + _ADD_BATCH]),
                documents=[c.text for c in part],
                metadatas=[_chroma_metadata(c) for c in part],
            )

        manifest = Manifest(
            version=version,
            created=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            embedder=self.embeddings.name,
            dim=self.embeddings.dim,
            segmenter=_segment_signature(self.options),
            collection=collection_name,
            documents=entries,
        )
        tmp_dir.mkdir(parents=True, exist_ok=True)
        with open(tmp_dir / "chunks.jsonl", "w", encoding="utf-8") as fh:
            for c, t in zip(chunks, tokens, strict=True):
                fh.write(json.dumps({**c.to_record(), "terms": t}, ensure_ascii=False) + "\n")
        (tmp_dir / "manifest.json").write_text(
            json.dumps(manifest.to_json(), ensure_ascii=False, indent=1), encoding="utf-8"
        )
        os.replace(tmp_dir, self.version_dir(version))
        report.documents = len(entries)
        report.chunks = len(chunks)

    def _discard(self, collection_name: str, tmp_dir: Path) -> None:
        shutil.rmtree(tmp_dir, ignore_errors=True)
        try:
            self.client().delete_collection(collection_name)
        except Exception:  # it may never have been created
            return
        self._sweep_segments()

    def _collect_garbage(self, keep: set[str]) -> None:
        """Remove the versions not in `keep`, and the collections this folder made for them."""
        wanted: set[str] = set()
        dropped: set[str] = set()  # named by a removed manifest, whatever their name's form
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
        prefix = f"{self.settings.collection_prefix}-"
        own = f"{prefix}{self.store_id()}-"
        # The embedded store belongs to this folder alone, collections from before marks too.
        embedded = not self.settings.chroma_url
        try:
            client = self.client()
            with store_errors(self.where, "*"):
                names = [c if isinstance(c, str) else c.name for c in client.list_collections()]
                for name in names:
                    mine = (
                        name in dropped
                        or name.startswith(own)
                        or (embedded and name.startswith(prefix))
                    )
                    if mine and name not in wanted:
                        client.delete_collection(name)
        except StoreUnavailableError as exc:
            # The new version serves already; the next ingest removes what is left.
            log.warning("old collections were not removed: %s", exc.en)
            return
        self._sweep_segments()

    def _sweep_segments(self) -> None:
        """Remove the embedded store's segment folders that no collection uses, and compact
        its database when more than half of it is free space.

        Deleting a collection drops its rows, but Chroma (up to at least 1.5) leaves the
        folder holding its vector index on disk: one more folder per ingest, for ever. Freed
        database pages are reused by the next ingest, so the file only needs compacting when
        the index has shrunk. Runs under the ingest lock, so no collection is being made.
        """
        if self.settings.chroma_url:
            return  # a server keeps its own files
        folder = self.root / "chroma"
        database = folder / "chroma.sqlite3"
        if not database.is_file():
            return
        try:
            # In a process of its own: Chroma links its own SQLite, and two copies in one
            # process do not see each other's file locks (closing our connection would drop
            # the locks Chroma holds on the same file).
            done = subprocess.run(
                [sys.executable, "-I", "-c", _STORE_UPKEEP, str(database)],
                capture_output=True,
                text=True,
                timeout=300,
                check=True,
            )
            state = json.loads(done.stdout)
        except (OSError, ValueError, subprocess.SubprocessError) as exc:
            log.warning("the vector store's unused folders were not removed: %s", exc)
            return
        used = set(state["segments"])
        removed = 0
        for path in folder.iterdir():
            if path.is_dir() and _is_uuid(path.name) and path.name not in used:
                shutil.rmtree(path, ignore_errors=True)
                removed += 1
        log.info(
            "vector store: %d unused segment folders removed; database %d of %d pages free%s",
            removed,
            state["free"],
            state["pages"],
            ", compacted" if state["compacted"] else "",
        )


# Reads the segments Chroma's database lists, and compacts the file when over half of it is
# free pages; prints what it found as JSON. Waits up to 5 s for readers to finish.
_STORE_UPKEEP = """
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=5, isolation_level=None)
segments = [row[0] for row in db.execute("SELECT id FROM segments")]
free = db.execute("PRAGMA freelist_count").fetchone()[0]
pages = db.execute("PRAGMA page_count").fetchone()[0]
compacted = False
if free * 2 > pages:
    try:
        db.execute("VACUUM")
        compacted = True
    except sqlite3.OperationalError:
        pass
db.close()
print(json.dumps({"segments": segments, "free": free, "pages": pages, "compacted": compacted}))
"""


def _is_uuid(name: str) -> bool:
    try:
        uuid.UUID(name)
    except ValueError:
        return False
    return True


def _chroma_metadata(c: Chunk) -> dict[str, str | int]:
    """What the vector store keeps beside a vector; Chroma takes no None, so a page only
    appears for files that have pages."""
    meta: dict[str, str | int] = {
        "doc_id": c.doc_id,
        "title": c.title,
        "doc_number": c.doc_number,
        "section": c.section,
        "start": c.start,
        "end": c.end,
    }
    if c.page is not None:
        meta["page"] = c.page
    return meta


def _entry(doc: Document, chunks: int) -> DocumentEntry:
    return DocumentEntry(
        doc_id=doc.doc_id,
        title=doc.title,
        doc_number=doc.doc_number,
        source_path=str(Path(doc.source_path).resolve()),
        content_hash=doc.content_hash,
        chunks=chunks,
        metadata=doc.metadata,
    )


def policy_files(settings: Settings, roots: Sequence[Path]) -> Iterator[Path]:
    """The files under `roots` to ingest as documents: all but the eligibility rules."""
    rules = settings.rules_folder.resolve()
    for path in find_files(roots):
        if not _is_under(path.resolve(), rules):  # checked against the index once built
            yield path


def _is_under(path: Path, root: Path) -> bool:
    root = root.resolve()
    return path == root or root in path.parents


def server_address(url: str) -> tuple[str, int, bool]:
    """Host, port and TLS of a Chroma server URL, or ConfigError naming the setting."""
    from urllib.parse import urlparse

    parsed = urlparse(url)
    try:
        port = parsed.port
    except ValueError:
        port = -1
    # Chroma's client takes a host and a port: a path (a proxy's prefix) would be dropped.
    if (
        parsed.scheme not in ("http", "https")
        or not parsed.hostname
        or port == -1
        or parsed.path not in ("", "/")
        or parsed.query
    ):
        raise ConfigError(
            f"ASSISTANT_CHROMA_URL 的值 {url!r} 不是有效地址，应形如 http://10.0.0.5:8000（不带路径）。",
            f"ASSISTANT_CHROMA_URL {url!r} is not a valid address; expected e.g. "
            "http://10.0.0.5:8000 (without a path).",
        )
    return (
        parsed.hostname,
        port or (443 if parsed.scheme == "https" else 8000),
        parsed.scheme == "https",
    )


def unreachable(url: str, exc: BaseException) -> StoreUnavailableError:
    """The error for a Chroma server that does not answer."""
    reason = str(exc) or type(exc).__name__
    return StoreUnavailableError(
        f"无法连接 Chroma 服务器 {url}（ASSISTANT_CHROMA_URL）：{reason}。"
        "请确认服务器已启动（chroma run --path … --host … --port …）且地址、端口正确。",
        f"Cannot reach the Chroma server at {url} (ASSISTANT_CHROMA_URL): {reason}. "
        "Check that it is running (chroma run --path … --host … --port …) and that the "
        "address and port are right.",
    )


@contextmanager
def store_errors(where: str, collection: str) -> Iterator[None]:
    """Turn a lost server or a missing collection into StoreUnavailableError."""
    import httpx
    from chromadb.errors import NotFoundError

    try:
        yield
    except httpx.TransportError as exc:
        raise unreachable(where, exc) from exc
    except NotFoundError as exc:
        raise StoreUnavailableError(
            f"向量库 {where} 中没有集合 {collection}：它已被更新的收录替换，或向量库已被清空或更换。"
            "请重启服务以读取当前版本；如仍出现，请重新运行 `policy-assistant ingest`。",
            f"The vector store at {where} has no collection {collection!r}: a newer ingest "
            "replaced it, or the store was emptied or changed. Restart the server to read the "
            "current version; if this persists, run `policy-assistant ingest` again.",
        ) from exc


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:6]}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
