"""What the server holds while it runs, built once at start-up and shared by the API and the page.

    Services   embeddings, index, retriever, rules and assistant, opened lazily, then reused
               (the CLI and the evaluation use them too)
    Runtime    the services plus the server's own state: keys, limits, sessions, records,
               answer slots, background jobs (limits and sessions in the database every
               worker and replica shares, see assistant.serve.state); it answers a Question and records the exchange,
               and switches to a new index version without a restart

The routes receive the Runtime through a FastAPI dependency (assistant.serve.api.guards), the
page's handlers through the app's state; neither builds anything of its own.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import threading
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool

from assistant.answer.aspects import Home
from assistant.answer.pipeline import Assistant, Event
from assistant.config import Settings
from assistant.eligibility.profile import FactSpec, localize
from assistant.eligibility.rules import RuleBook, read_rule_files
from assistant.errors import AssistantError
from assistant.models import Answer, Message
from assistant.search.embeddings import PolicyEmbeddings, make_embeddings
from assistant.search.index import IndexStore, ServedIndex
from assistant.search.retrieval import Retriever
from assistant.search.similarity import SentenceSimilarity
from assistant.serve.access import (
    Buckets,
    Conversations,
    FailedAuth,
    Keys,
    Limit,
    RateLimiter,
    admit,
)
from assistant.serve.jobs import Jobs
from assistant.site import Site, load_site
from assistant.text.redaction import pseudonym
from assistant.text.vocabulary import Vocabulary, vocabulary

if TYPE_CHECKING:
    from assistant.serve.records import RecordStore
    from assistant.serve.state import SharedState

log = logging.getLogger(__name__)


def limit_threads() -> None:
    """Keep numpy's BLAS to one thread: on two cores it only competes with the embedder.

    Measured on a 2-core machine: query embedding plus scoring took 53 ms with default
    threading and 18 ms with BLAS limited to one thread.
    """
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")


def use_site(settings: Settings) -> Site:
    """The site file, read, with the facts of location worded for its place (one wording per
    process); its words reach the answer through the vocabulary (`Services.vocabulary`)."""
    site = load_site(settings.site_path)
    localize(
        {n: FactSpec(n, f.label, f.question, f.words) for n, f in site.location.items()},
        site.district.names,
    )
    return site


@dataclass
class Services:
    """Lazily built, then reused: the embedder loads once, the index opens once."""

    settings: Settings

    @cached_property
    def site(self) -> Site:
        """The deployment's own facts (the site file)."""
        return use_site(self.settings)

    @cached_property
    def vocabulary(self) -> Vocabulary:
        """The package's words and the site's own: documents and questions split alike."""
        return vocabulary(self.site.vocabulary)

    @cached_property
    def embeddings(self) -> PolicyEmbeddings:
        return make_embeddings(self.settings)

    @cached_property
    def similarity(self) -> SentenceSimilarity:
        """Sentences scored in meaning; its vectors outlive an index version."""
        return SentenceSimilarity(self.embeddings)

    @cached_property
    def store(self) -> IndexStore:
        return IndexStore(self.settings, self.embeddings, vocab=self.vocabulary)

    @cached_property
    def index(self) -> ServedIndex:
        return self.store.open()

    @cached_property
    def retriever(self) -> Retriever:
        return Retriever(self.index, self.embeddings, self.vocabulary, self.settings.candidates)

    @cached_property
    def rulebook(self) -> RuleBook:
        """The eligibility rules whose quotes the served index holds (the rest are logged)."""
        _ = self.site  # the facts the rules test are worded for this place
        rules, errors = read_rule_files(self.settings.rules_folder)
        return RuleBook.build(rules, errors, self.index.chunks)

    @cached_property
    def assistant(self) -> Assistant:
        llm = None
        if self.settings.answerer == "llm":
            from assistant.answer.model import LLMAnswerer

            llm = LLMAnswerer(self.settings)
        district = self.site.district
        return Assistant(
            self.index,
            self.retriever,
            self.vocabulary,
            self.settings.top_k,
            llm,
            self.rulebook,
            Home(frozenset({district.name} - {""}), district.city),
            self.site.scope.topics,
            self.similarity,
        )

    def successor(self) -> Services:
        """Services over the index version now serving, sharing this one's loaded embedder.

        Built beside the current services and swapped in when ready, so no question waits
        for an index to open and none is answered from a half-switched state.
        """
        fresh = Services(self.settings)
        fresh.__dict__["embeddings"] = self.embeddings
        fresh.__dict__["site"] = self.site
        fresh.__dict__["similarity"] = self.similarity
        return fresh

    def served_version(self) -> str | None:
        """The version these services opened, or None before they opened one."""
        index = self.__dict__.get("index")
        return index.manifest.version if index is not None else None

    def reload(self) -> None:
        """Forget the opened index, so the next use opens the version now serving."""
        for name in ("index", "retriever", "rulebook", "assistant"):
            self.__dict__.pop(name, None)


_END = object()  # the end of a streamed answer's events


@dataclass
class Question:
    """A question to answer, the conversation before it, and whose conversation it continues."""

    text: str
    history: list[Message]
    session_id: str | None  # as the client named it, echoed back
    owner: str | None = None  # the server-kept session it belongs to (see access.session_key)
    user: str | None = None  # the end user the app named (its records keep a keyed hash)
    history_lost: bool = False  # the server-kept session could not be read: asked on its own


@dataclass
class Runtime:
    """Everything the requests share, built once at start-up."""

    settings: Settings
    services: Services
    keys: Keys
    limiter: Buckets  # each key's budget: all of its app's users together
    sessions: Conversations
    records: RecordStore
    # Every answer takes one of these slots: extractive answers are CPU-bound, and more of
    # them at once than there are cores only makes each slower and the waiting unfair
    # (`llm_concurrency` with a model, whose answers mostly wait). Requests that arrive as
    # async handlers first wait in `queue` on the event loop, in order of arrival, rather
    # than each holding a worker thread blocked on a slot. Measured with 50 clients on two
    # cores: the slowest answer 2.4 s -> 1.1-1.3 s, served answers/s +8-15%.
    slots: threading.BoundedSemaphore = field(init=False)
    queue: asyncio.Semaphore = field(init=False)
    failures: FailedAuth = field(default_factory=FailedAuth)
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    jobs: Jobs = field(default_factory=Jobs)
    users: Buckets | None = None  # each end user's budget per key; None: from the settings
    state: SharedState | None = None  # the database the limits and sessions are kept in
    _users: Buckets = field(init=False)
    _producers: set[asyncio.Future[None]] = field(default_factory=set)
    _checked: float = 0.0
    _swapping: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        at_once = (
            self.settings.llm_concurrency
            if self.settings.answerer == "llm"
            else len(os.sched_getaffinity(0)) or 2  # the cores this process may use
        )
        self.slots = threading.BoundedSemaphore(at_once)
        self.queue = asyncio.Semaphore(at_once)
        self._users = self.users or RateLimiter(self.settings.user_rate_limit_per_minute)

    def admit(self, who: str, user: str | None) -> tuple[Limit, float, int] | None:
        """None when a chat of `who` for its end user `user` may go ahead (the tokens spent);
        else which limit refused it, the seconds to wait and that limit's requests a minute."""
        refused = admit(self.limiter, self._users, who, user)
        if refused is None:
            return None
        limit, wait = refused
        per_minute = (self.limiter if limit == "app" else self._users).per_minute
        return limit, wait, per_minute

    async def answer(self, question: Question, who: str) -> tuple[Answer, str]:
        """The answer to a question, in its turn, and the message id it was recorded under."""
        started = time.perf_counter()
        async with self.queue:
            answer = await run_in_threadpool(self._ask, question)
        return answer, await run_in_threadpool(self.record, question, answer, who, started)

    def _ask(self, question: Question) -> Answer:
        with self.slots:
            return self.services.assistant.ask(question.text, question.history)

    async def stream(self, question: Question, who: str) -> AsyncIterator[tuple[Event, str | None]]:
        """A streamed answer's events, each with the message id it was recorded under (set on
        the result event only).

        The answer is written by a producer task that holds an answer slot only while it
        works, and runs to its end (or stops early once the reader has gone) whatever the
        reader does. The slot is never held while waiting on a client: a reader that hangs
        up, stalls, or whose generator is never closed cannot keep it.
        """
        loop = asyncio.get_running_loop()
        channel: asyncio.Queue[Any] = asyncio.Queue()
        gone = threading.Event()
        assistant = self.services.assistant  # fails here, before the stream, with no index
        started = time.perf_counter()

        def put(item: Any) -> None:
            try:
                loop.call_soon_threadsafe(channel.put_nowait, item)
            except RuntimeError:  # the loop has closed: the server is shutting down
                gone.set()

        def produce() -> None:
            try:
                if gone.is_set():
                    return
                result = None
                with self.slots:
                    for event in assistant.stream(question.text, question.history):
                        if event.answer is not None:
                            result = event
                            break
                        put((event, None))
                        if gone.is_set():
                            return
                if result is not None and result.answer is not None:
                    # Recorded after the slot is given back, even if the reader has left.
                    put((result, self.record(question, result.answer, who, started)))
            except Exception as exc:
                put(exc)
            finally:
                put(_END)

        async def run() -> None:
            async with self.queue:
                await run_in_threadpool(produce)

        producer = asyncio.ensure_future(run())
        self._producers.add(producer)  # a reference, so the task is not collected mid-way
        producer.add_done_callback(self._producers.discard)
        try:
            while (item := await channel.get()) is not _END:
                if isinstance(item, Exception):
                    raise item
                yield item
        finally:
            gone.set()

    def record(self, question: Question, answer: Answer, who: str, started: float) -> str:
        """Keep the session, write the record; the new message id."""
        message_id = uuid.uuid4().hex
        if question.owner:
            self.sessions.add(question.owner, question.text, answer.answer)
        latency = (time.perf_counter() - started) * 1000
        try:
            self.records.add_exchange(
                message_id,
                question.text,
                answer,
                who,
                self.pseudonym(question.owner or question.session_id),
                latency,
                user_hash=self.pseudonym(question.user),
            )
        except AssistantError as exc:  # a record lost must not lose the answer
            log.error("could not record exchange %s: %s", message_id, exc.en)
        return message_id

    def pseudonym(self, value: str | None) -> str | None:
        """What records keep instead of a session or user id: a keyed hash, so staff can group
        a conversation's questions without holding the id (a phone number, an openid)."""
        return pseudonym(value, self.secret) if value else None

    def swap(self) -> None:
        """Open the version now serving beside the current one, then answer from it."""
        with self._swapping:
            fresh = self.services.successor()
            try:
                _ = fresh.assistant  # the index, its keyword index and rules, opened now
            except AssistantError as exc:
                log.error(
                    "the new index did not open; still serving %s: %s",
                    self.services.served_version(),
                    exc.en,
                )
                return
            previous, self.services = self.services.served_version(), fresh
            log.info("now serving index %s (was %s)", fresh.served_version(), previous)

    def served_index(self) -> ServedIndex | None:
        """The index being served, or None before the first ingest."""
        try:
            return self.services.index
        except AssistantError:
            return None

    def watch(self, every: float = 2.0) -> None:
        """Notice an ingest by another process (another worker, the CLI) and switch to it.

        At most every `every` seconds one request reads CURRENT; if it moved, the switch
        happens on a background thread while this and other requests use the old index.
        """
        now = time.monotonic()
        if now - self._checked < every:
            return
        self._checked = now
        try:
            current = self.services.store.current_version()
        except (AssistantError, OSError):
            return
        served = self.services.served_version()
        if current and served and current != served and not self._swapping.locked():
            threading.Thread(target=self.swap, name="swap", daemon=True).start()
