"""Chinese text for matching: normalization, jieba tokens, and synonym expansion.

The lexicon, synonym table, everyday wordings of statutory terms and stop words are data files
in `assistant/text/data/`, so staff can extend the vocabulary of their domain without touching
code. The synonym table and the wordings are checked when they load: a malformed line stops
the load with an error naming the file and the line. The words of the deployment's own place
(its district, its parks) are not there but in the site file's `vocabulary` section, which
`vocabulary(site_words)` adds: each site has a vocabulary of its own.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

import jieba

from assistant.errors import ConfigError
from assistant.site import SiteVocabulary

log = logging.getLogger(__name__)

_DATA = resources.files("assistant.text") / "data"
_HAN = re.compile(r"[\u3400-\u9fff]")
_WORD = re.compile(r"[0-9a-z]+(?:[.%&-][0-9a-z]+)*%?|[\u3400-\u9fff]+", re.I)
_ENGLISH_TERM = re.compile(r"^[\x00-\x7f]+$")
# Directional complements ("拿出来", "交上去"): joined to a verb in speech, never in a statute.
_COMPLEMENT = re.compile(r"([\u3400-\u9fff]+?)([出进上下回过开起][来去])")
SPOKEN_COMPOUND = 10  # jieba counts below this: a verb and complement listed, not a word used
GAP = "*"  # in an everyday wording: a few words of the question may stand here
MAX_GAP = 6  # characters a gap may span, never across punctuation
_GAP_TEXT = rf"[^\s，。？！；：、,.?!;:]{{0,{MAX_GAP}}}?"


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
class Wording:
    """Statutory terms and the everyday phrases enterprises say them in (a line of wordings.txt).

    One way only: a question in everyday words is also about the statutory terms, but a
    question in statutory words gains nothing from the everyday ones, which no document uses.
    A phrase may hold gaps (`GAP`), each standing for up to `MAX_GAP` characters of the
    question, so "没*签*合同" is found in "一直没跟他签劳动合同".
    """

    statutory: tuple[str, ...]
    phrases: tuple[str, ...]
    _patterns: tuple[re.Pattern[str], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        patterns = tuple(
            re.compile(_GAP_TEXT.join(re.escape(part) for part in phrase.split(GAP)))
            for phrase in self.phrases
        )
        object.__setattr__(self, "_patterns", patterns)

    def said_in(self, query: str) -> list[str]:
        """The spans of a (normalized) question that say this in everyday words."""
        spans: list[str] = []
        for pattern in self._patterns:
            found = pattern.search(query)
            if found and found.group(0) not in spans:
                spans.append(found.group(0))
        return spans


NO_SITE_WORDS = SiteVocabulary()


@dataclass(frozen=True)
class Vocabulary:
    """Domain lexicon, synonym groups, everyday wordings and stop words, loaded once."""

    synonyms: tuple[tuple[str, ...], ...]
    stopwords: frozenset[str]
    tokenizer: jieba.Tokenizer
    signature: str = ""  # changes whenever the data that splits text changes: tokens are rebuilt
    site_words: SiteVocabulary = NO_SITE_WORDS  # the deployment's own words, places, synonyms
    wordings: tuple[Wording, ...] = ()
    terms_of_art: frozenset[str] = frozenset()  # the lexicon's, synonym table's and site's words
    _english_terms: dict[str, frozenset[str]] = field(init=False, repr=False, compare=False)
    _english_order: dict[str, tuple[str, ...]] = field(init=False, repr=False, compare=False)
    # The laws' own terms the wordings stand for (个人所得税, 解除劳动合同), all of them.
    statutory: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # An English term's content words, worked out once: every question checks all groups.
        english = {
            t: stem_words(t, self.stopwords)
            for group in self.synonyms
            for t in group
            if _ENGLISH_TERM.match(t)
        }
        object.__setattr__(self, "_english_terms", english)
        # With its small words: "apply for" is said only where "for" follows "apply".
        order = {t: _stem_sequence(t) for t in english}
        object.__setattr__(self, "_english_order", order)
        statutory = frozenset(t for w in self.wordings for t in w.statutory)
        object.__setattr__(self, "statutory", statutory)

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

    def everyday(self, word: str) -> float:
        """How common a word is in everyday Chinese, as the share of its weight it loses:
        0 for a term of art (加计扣除, 折旧), up to EVERYDAY_DISCOUNT for the commonest words
        (公司, 之前, 开始), by jieba's general word frequencies."""
        if word in self.terms_of_art:
            return 0.0  # their counts are ours, not everyday speech's
        self.tokenizer.check_initialized()
        freq = self.tokenizer.FREQ.get(word, 0)
        rarity = math.log(self.tokenizer.total / (freq + 1))
        share = (EVERYDAY_RARE - rarity) / (EVERYDAY_RARE - EVERYDAY_COMMON)
        return EVERYDAY_DISCOUNT * min(1.0, max(0.0, share))

    def words(self, text: str) -> list[str]:
        """The words of a text as a reader splits them (jieba's precise mode), no stop words.

        Unlike `tokens`, a compound stays whole: 高新技术企业 is one word, not also 高新 and 企业.
        """
        out: list[str] = []
        for piece in _WORD.findall(normalize(text)):
            if _HAN.match(piece):
                out.extend(
                    w
                    for word in self.tokenizer.lcut(piece, HMM=True)
                    for w in self._complement_apart(word)
                    if w not in self.stopwords
                )
            elif piece not in self.stopwords:
                out.append(piece)
        return out

    def _complement_apart(self, word: str) -> tuple[str, ...]:
        """A verb and the direction it is joined to by the tokenizer's guess ("公开出来",
        "卖出去"), as two words: the documents write the verb alone (公开)."""
        m = _COMPLEMENT.fullmatch(word)
        if m is None or self.tokenizer.FREQ.get(word, 0) >= SPOKEN_COMPOUND:
            return (word,)
        return (m.group(1), m.group(2))

    def expansions(self, query: str) -> list[str]:
        """Synonyms of the terms a query mentions, not already in it."""
        extra: list[str] = []
        for _, others in self.synonym_matches(query):
            extra.extend(t for t in others if t not in extra)
        return extra

    def synonym_matches(self, query: str) -> list[tuple[list[str], list[str]]]:
        """For each synonym group the query touches: the terms it used, and the others.

        An everyday wording the query uses counts as a group too: the spans of the query that
        say it (as the query writes them), and the statutory terms they stand for.
        """
        q = normalize(query)
        words = stem_words(q, self.stopwords)
        out: list[tuple[list[str], list[str]]] = []
        for group in self.synonyms:
            used = [t for t in group if self._mentions(q, words, t)]
            if used:
                out.append((used, [t for t in group if t not in used]))
        for wording in self.wordings:
            spans = wording.said_in(q)
            if spans:
                out.append((spans, list(wording.statutory)))
        return out

    def statutory_terms(self, query: str) -> list[str]:
        """The statutory terms a question says in everyday words, and does not write itself."""
        q = normalize(query)
        out: list[str] = []
        for wording in self.wordings:
            if wording.said_in(q):
                out.extend(t for t in wording.statutory if t not in q and t not in out)
        return out

    def _phrasal(self, term: str) -> bool:
        """True for a verb with its particle or its asking word ("apply for", "who owns"), and
        for a law's name: said only together, as "applies to" is no "apply for" and "its own"
        no "who owns"."""
        order = self._english_order.get(term, ())
        words = self._english_terms[term]
        # A law's name too: "our company … the law" names no company law.
        return len(order) > 1 and (
            order[-1] not in words or order[0] not in words or order[-1] == "law"
        )

    def _mentions(self, query: str, words: frozenset[str], term: str) -> bool:
        needed = self._english_terms.get(term)
        if needed is not None:
            # English questions word their terms freely ("academician expert workstations"
            # for "academician workstation"): every content word present is enough. A verb
            # and its particle are said together: "applies to" is no "apply for".
            if self._phrasal(term):
                return _in_order(self._english_order[term], _stem_sequence(query))
            return bool(needed) and needed <= words
        return term in query


_ENGLISH_WORD = re.compile(r"[a-z0-9]+(?:[&'-][a-z0-9]+)*")


def _stem(word: str) -> str:
    """An English word without its inflection, so "withheld tax" and "royalties" meet the
    glossary's "withholding" and "royalty": the same stem for each form of a word."""
    if len(word) <= 3 or word.endswith("ss"):
        return word
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith(("xes", "ches", "shes", "sses")):
        word = word[:-2]
    elif word.endswith("s"):
        word = word[:-1]
    elif word.endswith("ing") and len(word) >= 6:
        return word[:-3]  # filing → fil, as file → fil
    elif word.endswith("ed") and len(word) >= 5:
        return word[:-2]  # agreed → agre, as agree → agre
    return word[:-1] if word.endswith("e") and len(word) > 3 else word


def _stem_sequence(text: str) -> tuple[str, ...]:
    """The stems of a text's English words, small words too, in order."""
    return tuple(_stem(w) for w in _ENGLISH_WORD.findall(text))


def _in_order(phrase: tuple[str, ...], said: tuple[str, ...]) -> bool:
    """True when the phrase's stems stand next to each other in what was said."""
    n = len(phrase)
    return n > 0 and any(said[i : i + n] == phrase for i in range(len(said) - n + 1))


def stem_words(text: str, stopwords: frozenset[str] = frozenset()) -> frozenset[str]:
    """The stems of a text's English words (see `_stem`), its stopwords left out."""
    return frozenset(_stem(w) for w in _ENGLISH_WORD.findall(text) if w not in stopwords)


def _lines(text: str) -> list[tuple[int, str]]:
    """The numbered lines of a data file that are neither blank nor comments, in matching form."""
    out = []
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if line and not line.startswith("#"):
            out.append((n, normalize(line)))
    return out


def _malformed(source: str, n: int, line: str, zh: str, en: str) -> ConfigError:
    return ConfigError(
        f"词表文件 {source} 第 {n} 行格式错误：{zh}（{line}）",
        f"Vocabulary file {source}, line {n} is malformed: {en} ({line!r})",
    )


def _members(part: str) -> list[str]:
    return [m.strip() for m in part.split("|")]


def parse_synonyms(text: str, source: str = "synonyms.txt") -> tuple[tuple[str, ...], ...]:
    """Synonym groups, one a line, members separated by "|"; a malformed line is a ConfigError."""
    groups = []
    for n, line in _lines(text):
        members = _members(line)
        if any(not m for m in members):
            raise _malformed(source, n, line, "有空的词项", "a member is empty")
        if len(members) < 2:
            raise _malformed(
                source,
                n,
                line,
                "一组至少要有两个词，用“|”分隔",
                "a group needs two members or more",
            )
        groups.append(tuple(members))
    return tuple(groups)


def parse_wordings(text: str, source: str = "wordings.txt") -> tuple[Wording, ...]:
    """Everyday wordings, one a line: `statutory | … = everyday | …`; a malformed line is a
    ConfigError naming the file and the line."""
    wordings = []
    for n, line in _lines(text):
        if line.count("=") != 1:
            raise _malformed(
                source,
                n,
                line,
                "应写作“法条用语 | … = 日常说法 | …”，只有一个“=”",
                "expected `statutory | … = everyday | …` with exactly one '='",
            )
        left, right = line.split("=")
        statutory, phrases = _members(left), _members(right)
        if any(not m for m in (*statutory, *phrases)):
            raise _malformed(source, n, line, "有空的词项", "a term is empty")
        if any(GAP in t for t in statutory):
            raise _malformed(
                source,
                n,
                line,
                f"法条用语照文件原文写，不用“{GAP}”",
                f"statutory terms are written as the documents write them, without '{GAP}'",
            )
        for phrase in phrases:
            parts = phrase.split(GAP)
            if any(not p.strip() for p in parts) or any(p != p.strip() for p in parts):
                raise _malformed(
                    source,
                    n,
                    line,
                    f"“{GAP}”只能夹在两段文字之间：{phrase}",
                    f"'{GAP}' stands only between two words: {phrase!r}",
                )
        repeated = {t for t in (*statutory, *phrases) if (*statutory, *phrases).count(t) > 1}
        if repeated:
            raise _malformed(
                source, n, line, f"词项重复：{'、'.join(sorted(repeated))}", "a term is repeated"
            )
        wordings.append(Wording(tuple(statutory), tuple(phrases)))
    return tuple(wordings)


def lexicon_words() -> tuple[str, ...]:
    """The domain lexicon's words (lexicon.txt: a word, its frequency, its part of speech)."""
    return tuple(
        line.split()[0]
        for line in _data_text("lexicon.txt").splitlines()
        if line.strip() and not line.startswith("#")
    )


# General rarity (log of jieba's total count over the word's): 7 for 公司, 12 and over for
# terms of art. Between the two, a word loses up to half its weight as a subject word.
EVERYDAY_COMMON = 7.0
EVERYDAY_RARE = 12.0
EVERYDAY_DISCOUNT = 0.5
SITE_WORD_FREQ = 2000  # as the lexicon's own place names


def vocabulary(site_words: SiteVocabulary | None = None) -> Vocabulary:
    """The vocabulary of the package's data files and a site's own words (jieba initialized
    once for each, then reused: two sites in one process keep a vocabulary each)."""
    return _vocabulary(site_words or NO_SITE_WORDS)


@lru_cache(maxsize=4)
def _vocabulary(site_words: SiteVocabulary) -> Vocabulary:
    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    tokenizer.tmp_dir = None
    lexicon = Path(str(_DATA / "lexicon.txt"))
    tokenizer.load_userdict(str(lexicon))
    local_words = tuple(normalize(w) for w in site_words.words)
    for word in local_words:
        tokenizer.add_word(word, freq=SITE_WORD_FREQ)
    local_synonyms = tuple(tuple(normalize(t) for t in g) for g in site_words.synonyms)
    synonyms = parse_synonyms(_data_text("synonyms.txt"), "synonyms.txt") + local_synonyms
    wordings = parse_wordings(_data_text("wordings.txt"), "wordings.txt")
    # Every Chinese synonym is also a word, so the tokenizer keeps it whole. Everyday wordings
    # are not: they are found in questions as written, and must not change how documents split.
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
    split_by = [_data_text(n) for n in ("lexicon.txt", "synonyms.txt", "stopwords.txt")]
    if local_words or local_synonyms:
        split_by.append(json.dumps([local_words, local_synonyms], ensure_ascii=False))
    digest = hashlib.sha256("\0".join(split_by).encode())
    return Vocabulary(
        synonyms=synonyms,
        stopwords=stop,
        tokenizer=tokenizer,
        terms_of_art=frozenset(
            (*lexicon_words(), *local_words, *(t for g in synonyms for t in g if has_chinese(t)))
        ),
        signature=digest.hexdigest()[:12],
        wordings=wordings,
        site_words=site_words,
    )
