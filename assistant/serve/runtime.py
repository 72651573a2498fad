"""The services every edge uses, built once from Settings: embeddings, index, retriever, assistant."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cached_property

from assistant.answer.pipeline import Assistant
from assistant.config import Settings
from assistant.eligibility.rules import RuleBook, read_rule_files
from assistant.search.embeddings import PolicyEmbeddings, make_embeddings
from assistant.search.index import IndexStore, ServedIndex
from assistant.search.retrieval import Retriever
from assistant.text.vocabulary import vocabulary

log = logging.getLogger(__name__)


def limit_threads() -> None:
    """Keep numpy's BLAS to one thread: on two cores it only competes with the embedder.

    Measured on a 2-core machine: query embedding plus scoring took 53 ms with default
    threading and 18 ms with BLAS limited to one thread.
    """
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")


@dataclass
class Services:
    """Lazily built, then reused: the embedder loads once, the index opens once."""

    settings: Settings

    @cached_property
    def embeddings(self) -> PolicyEmbeddings:
        return make_embeddings(self.settings)

    @cached_property
    def store(self) -> IndexStore:
        return IndexStore(self.settings, self.embeddings)

    @cached_property
    def index(self) -> ServedIndex:
        return self.store.open()

    @cached_property
    def retriever(self) -> Retriever:
        return Retriever(self.index, self.embeddings, vocabulary(), self.settings.candidates)

    @cached_property
    def rulebook(self) -> RuleBook:
        """The eligibility rules whose quotes the served index holds (the rest are logged)."""
        rules, errors = read_rule_files(self.settings.rules_folder)
        return RuleBook.build(rules, errors, self.index.chunks)

    @cached_property
    def assistant(self) -> Assistant:
        llm = None
        if self.settings.answerer == "llm":
            from assistant.answer.model import LLMAnswerer

            llm = LLMAnswerer(self.settings)
        return Assistant(
            self.index, self.retriever, vocabulary(), self.settings.top_k, llm, self.rulebook
        )

    def successor(self) -> Services:
        """Services over the index version now serving, sharing this one's loaded embedder.

        Built beside the current services and swapped in when ready, so no question waits
        for an index to open and none is answered from a half-switched state.
        """
        fresh = Services(self.settings)
        fresh.__dict__["embeddings"] = self.embeddings
        return fresh

    def served_version(self) -> str | None:
        """The version these services opened, or None before they opened one."""
        index = self.__dict__.get("index")
        return index.manifest.version if index is not None else None

    def reload(self) -> None:
        """Forget the opened index, so the next use opens the version now serving."""
        for name in ("index", "retriever", "rulebook", "assistant"):
            self.__dict__.pop(name, None)
