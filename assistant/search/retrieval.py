"""Hybrid retrieval: dense (Chroma) and keyword (BM25) rankings, fused, expanded, de-duplicated."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from assistant.ingest.lifecycle import NOT_CURRENT_WEIGHT, QUOTED_WEIGHT, standings
from assistant.models import Hit
from assistant.search.embeddings import PolicyEmbeddings
from assistant.search.index import ServedIndex
from assistant.text.intent import read_intent
from assistant.text.vocabulary import Vocabulary, has_chinese, normalize

log = logging.getLogger(__name__)

Mode = Literal["bm25", "dense", "hybrid"]
MODES: tuple[Mode, ...] = ("bm25", "dense", "hybrid")


@dataclass(frozen=True)
class FusionWeights:
    """How the rankings combine, and how much synonym expansions count."""

    method: Literal["convex", "rrf"] = "convex"
    keyword: float = 0.6  # convex: share of the keyword score; the rest is dense
    rrf_k: int = 60
    expansion: float = 0.6
    duplicate_overlap: float = 0.85
    answer_kind: float = 0.2  # boost for a passage holding the kind of answer asked for
    rerank_depth: int = 20


def convex_fusion(
    keyword: dict[int, float], dense: dict[int, float], keyword_share: float
) -> list[tuple[int, float]]:
    """Combine normalized scores of the candidates of both rankings (best first).

    Keyword scores are divided by the best one; dense similarities are stretched over the
    candidates' own range, since cosine similarities of one model crowd into a narrow band.
    A candidate missing from one ranking gets that ranking's floor (0).
    """
    top_kw = max(keyword.values(), default=0.0)
    lo, hi = min(dense.values(), default=0.0), max(dense.values(), default=0.0)
    span = hi - lo or 1.0
    share = keyword_share if top_kw > 0 else 0.0
    scores = {}
    for item in keyword.keys() | dense.keys():
        kw = keyword.get(item, 0.0) / top_kw if top_kw > 0 else 0.0
        dn = (dense[item] - lo) / span if item in dense else 0.0
        scores[item] = share * kw + (1 - share) * dn
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))


def reciprocal_rank_fusion(
    rankings: Sequence[tuple[Sequence[int], float]], k: int = 60
) -> list[tuple[int, float]]:
    """Fuse ranked lists of ids, each with a weight, into one ranking (best first)."""
    scores: dict[int, float] = {}
    for ranking, weight in rankings:
        for rank, item in enumerate(ranking):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank + 1)
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))


def shingles(text: str, n: int = 2) -> set[str]:
    """Character n-grams of a text, for near-duplicate detection."""
    return {text[i : i + n] for i in range(max(1, len(text) - n + 1))}


def collapse_duplicates(
    ranked: list[int],
    texts: Sequence[str],
    threshold: float,
    limit: int | None = None,
    current: Sequence[bool] | None = None,
) -> list[int]:
    """Drop items whose text nearly repeats a better-ranked one; at most `limit` kept.

    Similarity is the overlap coefficient of character bigrams, so a passage that is
    contained in another (a repeated sentence, a re-issued clause) counts as a duplicate.
    With `current` (per item: is its document in force), a passage in force is never dropped
    for repeating one that is not: the clause of a superseded version that a question quotes
    comes first, and the clause in force that replaced it still follows.
    Whether an item is kept depends only on the items before it, so stopping at `limit`
    gives the first `limit` of the whole result without comparing the rest of the pool.
    """
    kept: list[int] = []
    seen: list[tuple[set[str], bool]] = []
    for item in ranked:
        if limit is not None and len(kept) >= limit:
            break
        grams = shingles(texts[item])
        in_force = current is None or current[item]
        if any(
            len(grams & g) / max(1, min(len(grams), len(g))) >= threshold
            for g, g_in_force in seen
            if g_in_force or not in_force
        ):
            continue
        kept.append(item)
        seen.append((grams, in_force))
    return kept


_NOT_WORD = re.compile(r"[\W_]+")


def quotes(query: str, text: str, share: float = 0.9) -> bool:
    """Whether a question quotes a passage: nearly all its character pairs are in the text.

    Both are compared in matching form without punctuation or spaces; a question shorter
    than eight characters quotes nothing.
    """
    asked = _NOT_WORD.sub("", query)
    if len(asked) < 8:
        return False
    grams = shingles(asked)
    found = shingles(_NOT_WORD.sub("", text))
    return len(grams & found) >= share * len(grams)


class Retriever:
    """Searches one served index. Built once; `search` is safe to call repeatedly."""

    def __init__(
        self,
        index: ServedIndex,
        embeddings: PolicyEmbeddings,
        vocab: Vocabulary,
        candidates: int = 60,
        weights: FusionWeights | None = None,
    ) -> None:
        self.index = index
        self.embeddings = embeddings
        self.vocab = vocab
        self.candidates = candidates
        self.weights = weights or FusionWeights()
        self._texts = [normalize(c.text) for c in index.chunks]
        standing = standings(index.manifest.documents)
        # Documents not in force still answer when nothing current does, but rank lower.
        self._doc_weight = {
            d: 1.0 if s.current else NOT_CURRENT_WEIGHT for d, s in standing.items()
        }
        self._current = [self._doc_weight.get(c.doc_id, 1.0) == 1.0 for c in index.chunks]
        self._written: dict[str, bool] = {}

    def written(self, term: str) -> bool:
        """Whether the documents use a word or phrase: a term of the keyword index, or text
        some passage holds as written (an everyday phrase spans several index terms)."""
        found = self._written.get(term)
        if found is None:
            found = self.index.keyword.knows(term) or (
                has_chinese(term) and any(term in t for t in self._texts)
            )
            if len(self._written) < 10_000:
                self._written[term] = found
        return found

    def keyword_query(self, query: str) -> dict[str, float]:
        """Weighted BM25 terms: the query's own tokens, then its synonyms at a lower weight."""
        terms: dict[str, float] = {}
        for token in self.vocab.tokens(query):
            terms[token] = 1.0
        for used, others in self.vocab.synonym_matches(query):
            # When the documents never use the asker's words (开除, 没签合同), the terms they
            # stand for carry full weight: they are all the documents can be found by.
            weight = self.weights.expansion if any(self.written(t) for t in used) else 1.0
            for phrase in others:
                for token in self.vocab.tokens(phrase):
                    terms[token] = max(terms.get(token, 0.0), weight)
        return {t: w for t, w in terms.items() if self.index.keyword.knows(t)}

    def dense_query(self, query: str) -> str:
        """What the dense model is asked: the question, then the statutory terms it says in
        everyday words, so a question about 开除 lands near the articles on 解除劳动合同."""
        extra = self.vocab.statutory_terms(query)
        return f"{query} {' '.join(extra)}" if extra else query

    def keyword_ranking(self, query: str, n: int) -> dict[int, float]:
        """The n best chunks by BM25, with their scores."""
        return dict(self.index.keyword.top(self.keyword_query(query), n))

    def dense_ranking(self, query: str, n: int) -> dict[int, float]:
        """The n nearest chunks in the vector store, with their cosine similarity."""
        vector = self.embeddings.query_vector(query)
        n = min(n, len(self.index.chunks))
        result = self.index.collection.query(
            query_embeddings=[vector], n_results=n, include=["distances"]
        )
        return {
            self.index.by_id[cid]: 1.0 - float(dist)
            for cid, dist in zip(result["ids"][0], result["distances"][0], strict=True)
            if cid in self.index.by_id
        }

    def search(self, query: str, k: int = 5, mode: Mode = "hybrid") -> list[Hit]:
        """The k best chunks for a question."""
        started = time.perf_counter()
        query = query.strip()
        if not query:
            return []
        # The pool does not grow with k: the dense scores are stretched over the pool, so a
        # pool that changed with k would change the order of the first results.
        n = max(self.candidates, k)
        scored: dict[str, dict[int, float]] = {}
        if mode in ("bm25", "hybrid"):
            scored["bm25"] = self.keyword_ranking(query, n)
        if mode in ("dense", "hybrid"):
            scored["dense"] = self.dense_ranking(self.dense_query(query), n)
        fused = self.prefer_answer_kind(query, self.fuse(scored))
        fused = self.prefer_current(fused, normalize(query))
        order = collapse_duplicates(
            [i for i, _ in fused],
            self._texts,
            self.weights.duplicate_overlap,
            limit=k,
            current=self._current,
        )
        score = dict(fused)
        positions = {m: {item: pos + 1 for pos, item in enumerate(r)} for m, r in scored.items()}
        hits = [
            Hit(
                self.index.chunks[i],
                float(score[i]),
                {m: p[i] for m, p in positions.items() if i in p},
            )
            for i in order
        ]
        log.debug(
            "search of %d characters (%s): %d hits in %.1f ms",
            len(query),
            mode,
            len(hits),
            (time.perf_counter() - started) * 1000,
        )
        return hits

    def prefer_current(
        self, fused: list[tuple[int, float]], query: str = ""
    ) -> list[tuple[int, float]]:
        """Scores of passages from documents not in force scaled down, then re-ranked.

        A passage the question quotes keeps nearly all its score: a document out of force
        ranks below current ones of similar score, but is never hidden from its own words.
        """
        if all(self._current):
            return fused
        weighted = [(i, s * self._weight(i, query)) for i, s in fused]
        return sorted(weighted, key=lambda p: -p[1])

    def _weight(self, item: int, query: str) -> float:
        """The share of its score a passage keeps: all when in force, most when quoted."""
        if self._current[item]:
            return 1.0
        return QUOTED_WEIGHT if quotes(query, self._texts[item]) else NOT_CURRENT_WEIGHT

    def prefer_answer_kind(
        self, query: str, fused: list[tuple[int, float]]
    ) -> list[tuple[int, float]]:
        """Lift the best candidates that hold the kind of answer asked for (a figure, a target…)."""
        intent = read_intent(query)
        if not intent.kinds or not fused:
            return fused
        depth = self.weights.rerank_depth
        head = [
            (
                item,
                score
                * (1 + self.weights.answer_kind * intent.matches(self.index.chunks[item].text)),
            )
            for item, score in fused[:depth]
        ]
        head.sort(key=lambda kv: (-kv[1], kv[0]))
        return head + fused[depth:]

    def fuse(self, scored: dict[str, dict[int, float]]) -> list[tuple[int, float]]:
        """One ranking from the keyword and dense candidates.

        An English question weighs its keyword side like a Chinese one: it reaches the
        keyword index through the glossary's Chinese terms, which find the clause that the
        dense model, matching English to Chinese, often ranks far down."""
        keyword, dense = scored.get("bm25", {}), scored.get("dense", {})
        if not dense or not keyword:
            # One side only, or nothing to match on the keyword side (a question with no
            # word the documents use): the other ranking stands alone.
            only = dense or keyword
            return sorted(only.items(), key=lambda kv: (-kv[1], kv[0]))
        share = self.weights.keyword
        if self.weights.method == "rrf":
            ranked = [
                (sorted(r, key=lambda i: -r[i]), w)
                for r, w in ((keyword, share), (dense, 1 - share))
            ]
            return reciprocal_rank_fusion(ranked, self.weights.rrf_k)
        return convex_fusion(keyword, dense, share)
