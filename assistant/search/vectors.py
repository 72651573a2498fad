"""The vector store: Chroma, embedded under the index folder or a server reached over HTTP.

    index/chroma/                       the embedded Chroma store (unused with a Chroma server)

Each index version has a collection of its own, named `<prefix>-<store id>-<version>`, so
several index folders (staging and production, say) can share one server: an ingest only
removes collections its own folder made. In the embedded store, removing a collection also
removes the folder Chroma kept its vectors in, and the database is compacted when it shrinks.

With a Chroma server (`ASSISTANT_CHROMA_URL`) only the vectors move to the server: CURRENT,
the manifests and the keyword index stay in the index folder, and every process that serves
or ingests reads them there. Workers on one machine share the folder as it is. Workers on
other machines need the same folder: a shared volume (NFS, a mounted network disk) mounted as
`ASSISTANT_INDEX_DIR` on each, or a copy of it taken after every ingest (`versions/` first,
`CURRENT` last); a separate folder per machine would point at collections that another
machine's ingest removes. Ingest from one machine at a time: the lock is a file lock, which a
network file system may not honour. A server that does not answer is StoreUnavailableError.
"""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from assistant.config import Settings
from assistant.errors import ConfigError, StoreUnavailableError
from assistant.models import Chunk
from assistant.search.embeddings import ChromaEmbeddingFunction, PolicyEmbeddings

log = logging.getLogger(__name__)

_ADD_BATCH = 256
# Reused vectors come back as JSON from a server: a few thousand per request keeps each reply
# a few megabytes instead of one reply the size of the whole index.
_GET_BATCH = 2048
# A server that does not answer its heartbeat within this many seconds counts as unreachable
# (Chroma's own client would wait for the operating system's connect timeout, minutes).
_HEARTBEAT_TIMEOUT_S = 5.0


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


class VectorStore:
    """The Chroma collections of one index folder, embedded in it or on a server."""

    def __init__(self, settings: Settings, root: Path, embeddings: PolicyEmbeddings) -> None:
        self.settings = settings
        self.embeddings = embeddings
        self.folder = root / "chroma"  # the embedded store
        self._client: Any = None

    @property
    def where(self) -> str:
        """The vector store, as a person would name it in a message."""
        return self.settings.chroma_url or str(self.folder)

    def collection_name(self, store_id: str, version: str) -> str:
        """The collection of an index folder's version."""
        return f"{self.settings.collection_prefix}-{store_id}-{version}"

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
                self.folder.mkdir(parents=True, exist_ok=True)
                self._client = chromadb.PersistentClient(
                    path=str(self.folder), settings=chroma_settings
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

    # -- collections ---------------------------------------------------------------------

    def collection(self, name: str, create: bool = False) -> VectorCollection:
        """An existing collection, or a new empty one when `create`."""
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

    def has(self, name: str) -> bool:
        """Whether the collection exists; StoreUnavailableError when the server is away."""
        try:
            self.collection(name)
        except StoreUnavailableError:
            self.check_server()  # an unreachable server is an error, not a missing collection
            return False
        return True

    def vectors_of(self, name: str, ids: Sequence[str]) -> dict[str, Any]:
        """The stored vectors of the given chunks of a collection, by chunk id."""
        collection = self.collection(name)
        by_id: dict[str, Any] = {}
        for i in range(0, len(ids), _GET_BATCH):
            got = collection.get(ids=list(ids[i : i + _GET_BATCH]), include=["embeddings"])
            by_id.update(zip(got["ids"], got["embeddings"], strict=True))
        return by_id

    def fill(self, name: str, chunks: Sequence[Chunk], vectors: Sequence[np.ndarray]) -> None:
        """Create a collection holding the chunks with their vectors."""
        collection = self.collection(name, create=True)
        for i in range(0, len(chunks), _ADD_BATCH):
            part = chunks[i : i + _ADD_BATCH]
            collection.add(
                ids=[c.chunk_id for c in part],
                embeddings=np.stack(vectors[i : i + _ADD_BATCH]),
                documents=[c.text for c in part],
                metadatas=[chroma_metadata(c) for c in part],
            )

    def discard(self, name: str) -> None:
        """Remove what a failed build left of its collection, if it got that far."""
        try:
            self.client().delete_collection(name)
        except Exception:  # it may never have been created
            return
        self.sweep_segments()

    def remove_unused(self, store_id: str, wanted: set[str], dropped: set[str]) -> None:
        """Remove this folder's collections but the `wanted` ones, and the `dropped` ones
        (named by removed manifests, whatever their name's form); a store that cannot be
        reached now is left for the next ingest."""
        prefix = f"{self.settings.collection_prefix}-"
        own = f"{prefix}{store_id}-"
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
        self.sweep_segments()

    def sweep_segments(self) -> None:
        """Remove the embedded store's segment folders that no collection uses, and compact
        its database when more than half of it is free space.

        Deleting a collection drops its rows, but Chroma (up to at least 1.5) leaves the
        folder holding its vector index on disk: one more folder per ingest, for ever. Freed
        database pages are reused by the next ingest, so the file only needs compacting when
        the index has shrunk. Runs under the ingest lock, so no collection is being made.
        """
        if self.settings.chroma_url:
            return  # a server keeps its own files
        database = self.folder / "chroma.sqlite3"
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
        for path in self.folder.iterdir():
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


def chroma_metadata(c: Chunk) -> dict[str, str | int]:
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
