"""Okapi BM25 over weighted term frequencies, with weighted query terms (pure logic, no I/O).

A document is a mapping {term: frequency}; frequencies may be fractional, so words of a
heading can count less than words of the text (a simple form of BM25F).

A document may also have parts (the items of a list, the paragraphs of an article), and then
scores as well as its best part would on its own. Length normalization discounts a long
document, so an answer that is one item of eight ranked low although the question names that
item's very words; its part, being short, does not suffer the discount.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence

import numpy as np

Postings = dict[str, tuple[np.ndarray, np.ndarray]]


def _inverted(docs: Sequence[Mapping[str, float]]) -> Postings:
    """For each term, the documents holding it and its frequency in each."""
    postings: dict[str, tuple[list[int], list[float]]] = {}
    for i, doc in enumerate(docs):
        for term, tf in doc.items():
            ids, tfs = postings.setdefault(term, ([], []))
            ids.append(i)
            tfs.append(tf)
    return {
        t: (np.array(ids), np.array(tfs, dtype=np.float32)) for t, (ids, tfs) in postings.items()
    }


def _lengths(docs: Sequence[Mapping[str, float]]) -> np.ndarray:
    return np.array([sum(d.values()) for d in docs], dtype=np.float32)


class BM25:
    """A BM25 index over pre-tokenized documents, scored through an inverted index."""

    def __init__(
        self,
        docs: Sequence[Mapping[str, float] | Sequence[str]],
        k1: float = 1.2,
        b: float = 0.75,
        parts: Sequence[tuple[int, Mapping[str, float]]] = (),
    ) -> None:
        """`parts` are (document index, terms) pairs; they share the documents' idf and
        average length, so a part's score compares with a document's."""
        self.k1, self.b = k1, b
        self.size = len(docs)
        freqs = [d if isinstance(d, Mapping) else Counter(d) for d in docs]
        lengths = _lengths(freqs)
        self._avg = float(lengths.mean()) if self.size else 0.0
        self._norm = self._normalizer(lengths)
        self._postings = _inverted(freqs)
        self._idf = {
            t: math.log(1 + (self.size - len(ids) + 0.5) / (len(ids) + 0.5))
            for t, (ids, _) in self._postings.items()
        }
        self._owner = np.array([owner for owner, _ in parts], dtype=np.int64)
        self._part_norm = self._normalizer(_lengths([terms for _, terms in parts]))
        self._part_postings = _inverted([terms for _, terms in parts])

    def _normalizer(self, lengths: np.ndarray) -> np.ndarray:
        if not self._avg:
            return np.full(len(lengths), self.k1, dtype=np.float32)
        return self.k1 * (1 - self.b + self.b * lengths / self._avg)

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

    def _score(
        self, postings: Postings, norm: np.ndarray, query: Mapping[str, float]
    ) -> np.ndarray:
        out = np.zeros(len(norm), dtype=np.float32)
        for term, weight in query.items():
            posting = postings.get(term)
            if posting is None:
                continue
            ids, tfs = posting
            # .get: a part cut apart from its document may hold a word the document does not
            idf = self._idf.get(term, 0.0)
            out[ids] += weight * idf * tfs * (self.k1 + 1) / (tfs + norm[ids])
        return out

    def scores(self, query: Mapping[str, float]) -> np.ndarray:
        """BM25 score of every document for weighted query terms ({term: weight}): its own, or
        its best part's when that is higher."""
        out = self._score(self._postings, self._norm, query)
        if len(self._owner):
            np.maximum.at(
                out, self._owner, self._score(self._part_postings, self._part_norm, query)
            )
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
