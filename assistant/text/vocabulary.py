"""Chinese text for matching: normalization, jieba tokens, and synonym expansion.

The lexicon, synonym table and stop words are data files in `assistant/text/data/`, so staff can
extend the vocabulary of their domain without touching code.
"""

from __future__ import annotations

import hashlib
import logging
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

import jieba

log = logging.getLogger(__name__)

_DATA = resources.files("assistant.text") / "data"
_HAN = re.compile(r"[\u3400-\u9fff]")
_WORD = re.compile(r"[0-9a-z]+(?:[.%&-][0-9a-z]+)*%?|[\u3400-\u9fff]+", re.I)
_ENGLISH_TERM = re.compile(r"^[\x00-\x7f]+$")


def _data_text(name: str) -> str:
    return (_DATA / name).read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def _converter():  # type: ignore[no-untyped-def]
    import opencc

    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Traditional Chinese to Simplified (OpenCC); Simplified text passes unchanged."""
    if not _HAN.search(text):
        return text
    return _converter().convert(text)


def normalize(text: str) -> str:
    """The form used for matching: Simplified, full-width folded (NFKC), lower case."""
    return unicodedata.normalize("NFKC", to_simplified(text)).lower()


def has_chinese(text: str) -> bool:
    """True when the text holds any Han character."""
    return bool(_HAN.search(text))


@dataclass(frozen=True)
class Vocabulary:
    """Domain lexicon, synonym groups and stop words, loaded once."""

    synonyms: tuple[tuple[str, ...], ...]
    stopwords: frozenset[str]
    tokenizer: jieba.Tokenizer
    signature: str = ""  # changes whenever the data files change: tokens must be rebuilt
    _english_terms: dict[str, frozenset[str]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # An English term's content words, worked out once: every question checks all groups.
        english = {
            t: _english_words(t, self.stopwords)
            for group in self.synonyms
            for t in group
            if _ENGLISH_TERM.match(t)
        }
        object.__setattr__(self, "_english_terms", english)

    def tokens(self, text: str) -> list[str]:
        """Search tokens of a text: jieba's fine-grained words, without stop words.

        Long words are also split into their dictionary parts (cut_for_search), so a query
        for 补贴 finds 高企补贴 and the reverse.
        """
        out: list[str] = []
        for piece in _WORD.findall(normalize(text)):
            if _HAN.match(piece):
                out.extend(
                    w
                    for w in self.tokenizer.cut_for_search(piece, HMM=True)
                    if w not in self.stopwords
                )
            elif piece not in self.stopwords:
                out.append(piece)
        return out

    def words(self, text: str) -> list[str]:
        """The words of a text as a reader splits them (jieba's precise mode), no stop words.

        Unlike `tokens`, a compound stays whole: 高新技术企业 is one word, not also 高新 and 企业.
        """
        out: list[str] = []
        for piece in _WORD.findall(normalize(text)):
            if _HAN.match(piece):
                out.extend(
                    w for w in self.tokenizer.lcut(piece, HMM=True) if w not in self.stopwords
                )
            elif piece not in self.stopwords:
                out.append(piece)
        return out

    def expansions(self, query: str) -> list[str]:
        """Synonyms of the terms a query mentions, not already in it."""
        extra: list[str] = []
        for _, others in self.synonym_matches(query):
            extra.extend(t for t in others if t not in extra)
        return extra

    def synonym_matches(self, query: str) -> list[tuple[list[str], list[str]]]:
        """For each synonym group the query touches: the terms it used, and the others."""
        q = normalize(query)
        words = _english_words(q, self.stopwords)
        out: list[tuple[list[str], list[str]]] = []
        for group in self.synonyms:
            used = [t for t in group if self._mentions(q, words, t)]
            if used:
                out.append((used, [t for t in group if t not in used]))
        return out

    def _mentions(self, query: str, words: frozenset[str], term: str) -> bool:
        needed = self._english_terms.get(term)
        if needed is not None:
            # English questions word their terms freely ("academician expert workstations"
            # for "academician workstation"): every content word present is enough.
            return bool(needed) and needed <= words
        return term in query


_ENGLISH_WORD = re.compile(r"[a-z0-9]+(?:[&'-][a-z0-9]+)*")


def _singular(word: str) -> str:
    if len(word) <= 3 or word.endswith("ss"):
        return word
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("xes", "ches", "shes", "sses")):
        return word[:-2]
    return word[:-1] if word.endswith("s") else word


def _english_words(text: str, stopwords: frozenset[str]) -> frozenset[str]:
    return frozenset(_singular(w) for w in _ENGLISH_WORD.findall(text) if w not in stopwords)


def _parse_synonyms(text: str) -> tuple[tuple[str, ...], ...]:
    groups = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            members = tuple(normalize(m.strip()) for m in line.split("|") if m.strip())
            if len(members) > 1:
                groups.append(members)
    return tuple(groups)


@lru_cache(maxsize=1)
def vocabulary() -> Vocabulary:
    """The process-wide vocabulary (jieba initialized once, with the domain lexicon)."""
    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    tokenizer.tmp_dir = None
    lexicon = Path(str(_DATA / "lexicon.txt"))
    tokenizer.load_userdict(str(lexicon))
    synonyms = _parse_synonyms(_data_text("synonyms.txt"))
    # Every Chinese synonym is also a word, so the tokenizer keeps it whole.
    for group in synonyms:
        for term in group:
            if has_chinese(term) and " " not in term:
                tokenizer.add_word(term, freq=1500)
    stop = frozenset(
        w
        for line in _data_text("stopwords.txt").splitlines()
        if not line.startswith("#")
        for w in line.split()
    )
    digest = hashlib.sha256(
        "\0".join(_data_text(n) for n in ("lexicon.txt", "synonyms.txt", "stopwords.txt")).encode()
    )
    return Vocabulary(
        synonyms=synonyms, stopwords=stop, tokenizer=tokenizer, signature=digest.hexdigest()[:12]
    )
