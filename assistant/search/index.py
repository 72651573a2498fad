"""The index: versions of a Chroma collection, a keyword index and a manifest, swapped atomically.

An ingest builds a complete new version beside the serving one (a new collection and a new
version folder), reusing the vectors of unchanged documents, and only then replaces CURRENT.
A failure or an interrupt before that leaves the previous version serving untouched. The
version that served before stays for one more ingest, so processes that opened it (the other
workers of a server) keep answering until they open the new one; older ones are removed,
with their collections and, in the embedded store, the folders those kept their vectors in.
Files are loaded in a worker process under `LoadLimits` (`sandbox.py`): a file that is too
big, too slow or too hungry to load is reported like any file that does not load.

Beside it: `versions.py` (the folder: CURRENT, manifests, keyword index, the ingest lock),
`vectors.py` (Chroma, embedded or a server), `scanning.py` (the files an ingest reads) and
`plan.py` (what an ingest changes, pure). `IndexStore` here joins them: it scans, asks the
plan, builds the new version and swaps it in.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from assistant.config import Settings
from assistant.errors import AssistantError, DocumentError, IndexNotBuiltError, IngestError
from assistant.ingest.loading import LoadLimits
from assistant.ingest.segmenting import SEGMENTER_VERSION, SegmentOptions, segment
from assistant.models import Chunk, Document
from assistant.search.bm25 import BM25
from assistant.search.embeddings import PolicyEmbeddings
from assistant.search.plan import IngestPlan, plan_ingest, reusable
from assistant.search.scanning import policy_files, scan_files
from assistant.search.vectors import VectorCollection, VectorStore
from assistant.search.versions import (
    INDEX_FORMAT,
    DocumentEntry,
    Manifest,
    VersionFolder,
    new_version,
)
from assistant.site import load_site
from assistant.text.items import is_item
from assistant.text.vocabulary import Vocabulary, vocabulary

__all__ = [
    "DocumentEntry",
    "FieldWeights",
    "IndexStore",
    "IngestReport",
    "Manifest",
    "ServedIndex",
    "VectorCollection",
    "embedding_text",
    "keyword_parts",
    "keyword_terms",
    "policy_files",
]

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]


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


@dataclass
class ServedIndex:
    """One loaded index version: everything a search needs, built once."""

    manifest: Manifest
    chunks: list[Chunk]
    keyword: BM25
    collection: VectorCollection
    by_id: dict[str, int]


@dataclass(frozen=True)
class Build:
    """What building one new version needs."""

    version: str
    collection: str
    previous: Manifest | None  # the serving version, whose vectors unchanged documents reuse
    loaded: Mapping[str, Document]
    plan: IngestPlan
    progress: Progress | None = None


@dataclass(frozen=True)
class Built:
    """What a build made: its documents, its chunks, and how many of those were embedded."""

    documents: int
    chunks: int
    embedded: int


def _segment_signature(opts: SegmentOptions, vocab: Vocabulary) -> str:
    """Everything that decides chunks and their terms (the vocabulary with the site's own
    words among them); an index built otherwise is rebuilt."""
    return (
        f"{INDEX_FORMAT}/{SEGMENTER_VERSION}/{vocab.signature}:"
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


def _weighted(vocab: Vocabulary, pieces: Sequence[tuple[str, float]]) -> dict[str, float]:
    terms: dict[str, float] = {}
    for text, weight in pieces:
        for token in vocab.tokens(text):
            terms[token] = terms.get(token, 0.0) + weight
    return terms


def _context(chunk: Chunk, weights: FieldWeights) -> list[tuple[str, float]]:
    """What surrounds a passage: the sentence that opens its list, its section, its document."""
    return [
        (chunk.lead, weights.section),
        (chunk.section, weights.section),
        (f"{chunk.title} {chunk.doc_number}", weights.title),
    ]


def keyword_terms(
    chunk: Chunk, vocab: Vocabulary, weights: FieldWeights = FieldWeights()
) -> dict[str, float]:
    """What the keyword index sees: weighted term frequencies of a chunk and its context."""
    return _weighted(vocab, [(chunk.text, weights.text), *_context(chunk, weights)])


def keyword_parts(
    chunk: Chunk, vocab: Vocabulary, weights: FieldWeights = FieldWeights()
) -> list[dict[str, float]]:
    """The parts of a passage that answer on their own, each with the passage's context: an
    item of a list with the sentence that introduces it ("下列收入为免税收入：" + "（二）…"),
    and every other paragraph. A passage of one paragraph has none."""
    lines = [line for line in chunk.text.splitlines() if line.strip()]
    if len(lines) < 2:
        return []
    context = _context(chunk, weights)
    parts = []
    stem = ""
    for line in lines:
        item = is_item(line)
        if not item:
            stem = line if line.rstrip().endswith(("：", ":")) else ""
        text = f"{stem}{line}" if item else line
        parts.append(_weighted(vocab, [(text, weights.text), *context]))
    return parts


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
        vocab: Vocabulary | None = None,
    ) -> None:
        """`vocab` splits the documents into keyword terms: by default the package's words and
        those of the settings' site file."""
        self.settings = settings
        self.embeddings = embeddings
        self.options = options or SegmentOptions()
        self.vocab = vocab or vocabulary(load_site(settings.site_path).vocabulary)
        self.limits = limits or LoadLimits.from_settings(settings)  # what loading a file may cost
        self.root = Path(settings.index_dir)
        self.versions = VersionFolder(self.root, settings.database_url)
        self.vectors = VectorStore(settings, self.root, embeddings)

    # -- reading -------------------------------------------------------------------------

    def current_version(self) -> str | None:
        """The serving version, or None before the first ingest."""
        return self.versions.current_version()

    def version_dir(self, version: str) -> Path:
        """Where a complete version lies."""
        return self.versions.version_dir(version)

    def read_manifest(self, version: str) -> Manifest:
        """The manifest of a complete version."""
        return self.versions.read_manifest(version)

    def read_chunks(
        self, version: str
    ) -> tuple[list[Chunk], list[dict[str, float]], list[list[dict[str, float]]]]:
        """The chunks of a complete version, with their keyword terms and those of their parts."""
        return self.versions.read_chunks(version)

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
        chunks, tokens, parts = self.read_chunks(version)
        started = time.perf_counter()
        keyword = BM25(tokens, parts=[(i, p) for i, ps in enumerate(parts) for p in ps])
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
            self.vectors.collection(manifest.collection),
            {c.chunk_id: i for i, c in enumerate(chunks)},
        )

    # -- writing -------------------------------------------------------------------------

    def ingest(
        self,
        paths: Sequence[Path] | None = None,
        progress: Progress | None = None,
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
        with self.versions.lock():
            return self._ingest(paths, progress, staged or {})

    def _ingest(
        self,
        paths: Sequence[Path] | None,
        progress: Progress | None,
        staged: Mapping[Path, Path | None],
    ) -> IngestReport:
        started = time.perf_counter()
        self.vectors.check_server()  # before minutes of embedding, not after
        roots = [Path(p) for p in (paths or [self.settings.corpus_dir])]
        old_version = self.current_version()
        old = self.read_manifest(old_version) if old_version else None
        compatible = bool(
            old
            and reusable(old, self.embeddings.name, _segment_signature(self.options, self.vocab))
            # a reset or different Chroma server: nothing to reuse, all rebuilt
            and self.vectors.has(old.collection)
        )
        scan = scan_files(self.settings, self.limits, roots, staged, old)
        plan = plan_ingest(old, scan, compatible=compatible)
        report = IngestReport(
            version="",
            documents=0,
            chunks=0,
            added=plan.added,
            replaced=plan.replaced,
            unchanged=plan.unchanged,
            removed=plan.removed,
            errors=list(scan.errors),
        )
        if old and old_version and plan.up_to_date:
            report.version = old_version
            report.documents = len(old.documents)
            report.chunks = old.chunk_count
            report.seconds = time.perf_counter() - started
            return report

        version = new_version()
        report.version = version
        job = Build(
            version=version,
            collection=self.vectors.collection_name(self.versions.store_id(), version),
            previous=old,
            loaded=scan.loaded,
            plan=plan,
            progress=progress,
        )
        built = self._build_or_discard(job)
        report.documents, report.chunks = built.documents, built.chunks
        report.embedded_chunks = built.embedded
        self.versions.publish(version)
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

    def _build_or_discard(self, job: Build) -> Built:
        """Build a version; on any failure or interrupt remove what it made, so the serving
        version stays as it was and nothing of the new one is left behind."""
        try:
            return self._build(job)
        except BaseException as exc:
            self.versions.discard(job.version)
            self.vectors.discard(job.collection)
            if isinstance(exc, AssistantError):
                raise
            if isinstance(exc, Exception):
                raise IngestError(
                    f"收录失败，原索引继续使用：{exc}",
                    f"Ingest failed; the previous index still serves: {exc}",
                ) from exc
            raise

    def _build(self, job: Build) -> Built:
        """Write a complete new version beside the serving one: its collection, then its folder."""
        chunks, tokens, parts, vectors = self._reused(job)
        entries: dict[str, DocumentEntry] = {}
        if job.previous:
            for doc_id in job.plan.reuse:
                entries[doc_id] = job.previous.documents[doc_id]
        fresh: list[Chunk] = []
        for doc_id, doc in job.loaded.items():
            if doc_id in job.plan.reuse:
                entries[doc_id] = _entry(
                    doc, job.previous.documents[doc_id].chunks if job.previous else 0
                )
                continue
            doc_chunks = segment(doc, self.options)
            entries[doc_id] = _entry(doc, len(doc_chunks))
            fresh.extend(doc_chunks)

        if fresh:
            vocab = self.vocab
            embedded = self.embeddings.embed_batches(
                [embedding_text(c) for c in fresh], _counter(len(fresh), job.progress)
            )
            for c, v in zip(fresh, embedded, strict=True):
                chunks.append(c)
                tokens.append(keyword_terms(c, vocab))
                parts.append(keyword_parts(c, vocab))
                vectors.append(v)

        self.vectors.fill(job.collection, chunks, vectors)
        manifest = Manifest(
            version=job.version,
            created=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            embedder=self.embeddings.name,
            dim=self.embeddings.dim,
            segmenter=_segment_signature(self.options, self.vocab),
            collection=job.collection,
            documents=entries,
        )
        self.versions.write(manifest, chunks, tokens, parts)
        return Built(documents=len(entries), chunks=len(chunks), embedded=len(fresh))

    def _reused(
        self, job: Build
    ) -> tuple[list[Chunk], list[dict[str, float]], list[list[dict[str, float]]], list[np.ndarray]]:
        """The chunks, terms, parts and vectors of the documents the new version copies
        unchanged."""
        chunks: list[Chunk] = []
        tokens: list[dict[str, float]] = []
        parts: list[list[dict[str, float]]] = []
        vectors: list[np.ndarray] = []
        if not (job.plan.reuse and job.previous):
            return chunks, tokens, parts, vectors
        old = zip(*self.read_chunks(job.previous.version), strict=True)
        reused = [(c, t, p) for c, t, p in old if c.doc_id in job.plan.reuse]
        if reused:
            by_id = self.vectors.vectors_of(
                job.previous.collection, [c.chunk_id for c, _, _ in reused]
            )
            for c, t, p in reused:
                chunks.append(c)
                tokens.append(t)
                parts.append(p)
                vectors.append(np.asarray(by_id[c.chunk_id], dtype=np.float32))
        return chunks, tokens, parts, vectors

    def _collect_garbage(self, keep: set[str]) -> None:
        """Remove the versions not in `keep`, and the collections this folder made for them."""
        wanted, dropped = self.versions.remove_all_but(keep)
        self.vectors.remove_unused(self.versions.store_id(), wanted, dropped)


def _counter(total: int, progress: Progress | None) -> Callable[[int], None]:
    """Turn the embedder's "n more done" into `progress(done, total)`."""
    done = 0

    def step(n: int) -> None:
        nonlocal done
        done += n
        if progress:
            progress(done, total)

    return step


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
