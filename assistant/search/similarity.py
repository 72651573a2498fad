"""How close a sentence is to a question in meaning, with the index's own embedding model.

Sentences are embedded as passages the first time a question needs them and kept by their
text (least recently used first out), so a sentence shared by many questions, or by the
versions of an index, is embedded once. Questions are embedded as queries (the embeddings keep the last few, which search shares).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from assistant.search.embeddings import PolicyEmbeddings


class _Kept:
    """A bounded map from text to vector, least recently used first out; thread-safe."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._items: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, text: str) -> np.ndarray | None:
        with self._lock:
            vector = self._items.get(text)
            if vector is not None:
                self._items.move_to_end(text)
            return vector

    def put(self, text: str, vector: np.ndarray) -> None:
        with self._lock:
            self._items[text] = vector
            self._items.move_to_end(text)
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)


class SentenceSimilarity:
    """Cosine similarity of a question and sentences, each vector computed once."""

    def __init__(self, embeddings: PolicyEmbeddings, capacity: int = 20_000) -> None:
        self.embeddings = embeddings
        self._sentences = _Kept(capacity)

    def sentence_vectors(self, texts: Sequence[str]) -> np.ndarray:
        known = {t: v for t in texts if (v := self._sentences.get(t)) is not None}
        missing = list(dict.fromkeys(t for t in texts if t not in known))
        if missing:
            for text, vector in zip(missing, self.embeddings.embed_batches(missing), strict=True):
                self._sentences.put(text, vector)
                known[text] = vector
        if not texts:
            return np.zeros((0, self.embeddings.dim), dtype=np.float32)
        return np.stack([known[t] for t in texts])

    def scores(self, question: str, texts: Sequence[str]) -> list[float]:
        """The cosine of the question with each text (vectors are normalized)."""
        if not texts:
            return []
        q = self.embeddings.query_vector(question)
        return [float(x) for x in self.sentence_vectors(texts) @ q]
