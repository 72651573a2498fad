"""Okapi BM25 over weighted term frequencies, with weighted query terms (pure logic, no I/O).

A document is a mapping {term: frequency}; frequencies may be fractional, so words of a
heading can count less than words of the text (a simple form of BM25F).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence

import numpy as np


class BM25:
    """A BM25 index over pre-tokenized documents, scored through an inverted index."""

    def __init__(
        self, docs: Sequence[Mapping[str, float] | Sequence[str]], k1: float = 1.2, b: float = 0.75
    ) -> None:
        self.k1, self.b = k1, b
        self.size = len(docs)
        freqs = [d if isinstance(d, Mapping) else Counter(d) for d in docs]
        lengths = np.array([sum(f.values()) for f in freqs], dtype=np.float32)
        avg = float(lengths.mean()) if self.size else 0.0
        self._norm = k1 * (1 - b + b * lengths / avg) if avg else np.full(self.size, k1)
        postings: dict[str, tuple[list[int], list[float]]] = {}
        for i, doc in enumerate(freqs):
            for term, tf in doc.items():
                ids, tfs = postings.setdefault(term, ([], []))
                ids.append(i)
                tfs.append(tf)
        self._postings = {
            t: (np.array(ids), np.array(tfs, dtype=np.float32))
            for t, (ids, tfs) in postings.items()
        }
        self._idf = {
            t: math.log(1 + (self.size - len(ids) + 0.5) / (len(ids) + 0.5))
            for t, (ids, _) in self._postings.items()
        }

    def knows(self, term: str) -> bool:
        """True when some document holds the term."""
        return term in self._postings

    def idf(self, term: str) -> float:
        """How rare the term is across documents (0 for a term no document holds)."""
        return self._idf.get(term, 0.0)

    @property
    def max_idf(self) -> float:
        """The idf of a term held by a single document: the rarest a known term can be."""
        return math.log(1 + (self.size - 0.5) / 1.5) if self.size else 0.0

    def scores(self, query: Mapping[str, float]) -> np.ndarray:
        """BM25 score of every document for weighted query terms ({term: weight})."""
        out = np.zeros(self.size, dtype=np.float32)
        for term, weight in query.items():
            posting = self._postings.get(term)
            if posting is None:
                continue
            ids, tfs = posting
            out[ids] += weight * self._idf[term] * tfs * (self.k1 + 1) / (tfs + self._norm[ids])
        return out

    def top(self, query: Mapping[str, float], n: int) -> list[tuple[int, float]]:
        """The n best (document index, score) pairs with a positive score."""
        s = self.scores(query)
        n = min(n, int((s > 0).sum()))
        if n == 0:
            return []
        best = np.argpartition(-s, n - 1)[:n]
        best = best[np.argsort(-s[best], kind="stable")]
        return [(int(i), float(s[i])) for i in best]
