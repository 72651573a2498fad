"""The answer pipeline: resolve the question → hybrid retrieve → read the enterprise's facts
→ draft (assess, extractive answer) → write (a model's answer, verified) as streamed events.

Built once per served index as one LangChain runnable over an `Inquiry`, the dataclass each
step returns with more filled in; its last step yields `Event`s. `Assistant.stream` runs it
and `Assistant.ask` keeps its last event, so every edge (CLI, HTTP, web page) runs the same
steps. The extractive answerer always works; a model, when configured, writes the answer
instead, and its answer is shown only if it passes verification — otherwise, and whenever the
model fails, the extractive answer stands in, with a note saying so. `Transcript` folds the
events into what a reader shows.
"""

from __future__ import annotations

import logging
import re
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import TYPE_CHECKING, Literal

from langchain_core.runnables import Runnable, RunnableGenerator, RunnableLambda

from assistant.answer import extractive
from assistant.answer.aspects import ATTRIBUTES, NOT_SUBJECTS, NOWHERE, Home
from assistant.answer.conversation import (
    Resolved,
    condense,
    leans_back,
    resolve_history,
    without_markup,
)
from assistant.answer.grounding import Assessment, assess
from assistant.answer.names import named_things, titles_mentioned
from assistant.answer.need import Need, read_need, times_apart
from assistant.answer.parts import question_parts
from assistant.answer.places import Gazetteer
from assistant.answer.references import References
from assistant.answer.verification import MARKER, Problem, verify
from assistant.eligibility import verdicts as eligibility
from assistant.eligibility.profile import Profile
from assistant.errors import AssistantError
from assistant.ingest import lifecycle
from assistant.models import Answer, Chunk, Citation, Hit, Message
from assistant.search.index import ServedIndex
from assistant.search.retrieval import Retriever
from assistant.search.similarity import SentenceSimilarity
from assistant.text.redaction import described
from assistant.text.vocabulary import Vocabulary, normalize

if TYPE_CHECKING:
    from assistant.answer.model import LLMAnswerer
    from assistant.eligibility.rules import RuleBook

log = logging.getLogger(__name__)

_SUBJECT_IDF_SHARE = 0.45
# A word no passage holds cannot be matched; it weighs little, so that a colloquial verb
# ("投了", "拿到") does not make every sentence look like a poor answer.
ATTRIBUTE_DOCUMENTS = 2  # documents searched for a line stating a contact asked for
UNKNOWN_WEIGHT = 1.0  # a subject word is at least this rare (share of the rarest idf)
_FULLWIDTH_MARKER = re.compile(r"[［【\[]\s*(\d{1,2})\s*[］】\]]")
CLARIFY = (
    "这个问题接着前面的话题，但当前对话里还没有前文。请说明您问的是哪一项，"
    "例如：“今年全区有效高企的目标是多少？”"
)
FALLBACK_NOTE = "模型回答未通过引用核验，已改为直接摘录文件原文作答。"
FAILURE_NOTE = "模型暂时不可用，已改为直接摘录文件原文作答。"


def _tally(problems: Sequence[Problem]) -> str:
    counts = Counter(p.kind for p in problems)
    return ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items()))


EventKind = Literal["delta", "replace", "result"]


@dataclass(frozen=True)
class Event:
    """One piece of a streamed answer: text as it comes, a replacement, or the final result."""

    kind: EventKind
    text: str = ""
    answer: Answer | None = None  # set on the result only


@dataclass
class Transcript:
    """What a reader of a stream shows: the text so far, and the final answer once it comes.

    Give it each event of `Assistant.stream` with `add`: `text` is then what to show, and
    `answer` the final `Answer` once the result has arrived.
    """

    text: str = ""
    answer: Answer | None = None
    replaced: bool = False  # the streamed text was replaced (a model's answer was overruled)

    def add(self, event: Event) -> None:
        """Fold in one event: a delta extends the text, a replacement swaps it, a result ends it."""
        if event.kind == "delta":
            self.text += event.text
        elif event.kind == "replace":
            self.text = event.text
            self.replaced = True
        else:
            self.answer = event.answer


@dataclass(frozen=True)
class Inquiry:
    """One question on its way through the steps; each step returns it with more filled in."""

    question: str  # as asked (markup removed by the first step)
    history: tuple[Message, ...] = ()
    resolved: str = ""  # the question made standalone
    focus: tuple[str, ...] = ()  # a follow-up's new subject, which outweighs the carried words
    hits: tuple[Hit, ...] = ()
    parts: tuple[str, ...] = ()  # a question asking several things, one standalone part each
    part_hits: tuple[tuple[Hit, ...], ...] = ()  # what each part retrieved
    reading: eligibility.Reading | None = None  # the enterprise's facts, when rules are loaded
    draft: Answer | None = None  # the extractive answer (or the verdicts, or a request)
    answerable: bool = False  # the documents hold an answer a model may word


class Assistant:
    """Answers questions over one served index; safe to reuse for many questions."""

    def __init__(
        self,
        index: ServedIndex,
        retriever: Retriever,
        vocab: Vocabulary,
        top_k: int = 5,
        llm: LLMAnswerer | None = None,
        rules: RuleBook | None = None,
        home: Home = NOWHERE,
        topics: str = "",
        similarity: SentenceSimilarity | None = None,
    ) -> None:
        """`home` is the deployment's own place and `topics` its words on what may be asked
        (both from the site file); what the documents are is read from the index."""
        self.index = index
        self.similarity = similarity
        self.home = home
        self.rules = rules
        self.retriever = retriever
        self.vocab = vocab
        self.top_k = top_k
        self.llm = llm
        entries = index.manifest.documents.values()
        self.titles = [d.title for d in entries]
        # Laws are issued by the national legislature: their office to ask is the competent
        # department, not the issuer. Local documents name the office to ask.
        self.issuers = {
            d.doc_id: d.metadata.get("issuer", "")
            for d in entries
            if d.metadata.get("kind") != "法律"
        }
        self.doc_years = {
            d.doc_id: int(d.metadata["date"][:4])
            for d in entries
            if str(d.metadata.get("date", ""))[:4].isdigit()
        }
        held = [
            (d.title, d.doc_number, d.metadata.get("issuer", ""), d.metadata.get("kind", ""))
            for d in entries
        ]
        self.indexed = extractive.indexed_text(held, brief=True)  # said when abstaining
        self.scope = extractive.scope_message(extractive.indexed_text(held), topics)
        self.gazetteer = Gazetteer.of(
            (d.doc_id, str(d.metadata.get("issuer", "")), d.title) for d in entries
        )
        # Titles and issuers count as indexed text: a place or a name may be only there.
        self._corpus = "\n".join(
            [
                *(normalize(c.text) for c in index.chunks),
                *(normalize(f"{d.title} {d.metadata.get('issuer', '')}") for d in entries),
            ]
        )
        self.standing = lifecycle.standings(index.manifest.documents)
        self._titles = {d.doc_id: d.title for d in entries}
        # The titles an answer may name: the indexed documents' and those their text names.
        self.mentioned = titles_mentioned(c.text for c in index.chunks)
        self.names = named_things(c.text for c in index.chunks)
        self.references = References(index.chunks)
        self._chunks_of: dict[str, list[Chunk]] = {}
        for c in index.chunks:
            self._chunks_of.setdefault(c.doc_id, []).append(c)
        self.named = frozenset((*self.titles, *self.mentioned))
        self.chain: Runnable[Inquiry, Event] = (
            RunnableLambda(self._resolve)
            | RunnableLambda(self._retrieve)
            | RunnableLambda(self._read)
            | RunnableLambda(self._draft)
            | RunnableGenerator(self._write)
        )

    # -- the steps ---------------------------------------------------------------------

    def subject_words(self, question: str) -> list[str]:
        """The words of a question that name a subject of its own (not an aspect or a time)."""
        keyword = self.index.keyword
        floor = _SUBJECT_IDF_SHARE * keyword.max_idf
        out = []
        for word in self.vocab.words(times_apart(question)):
            if len(word) < 2 or word in NOT_SUBJECTS or word[:1].isdigit():
                continue
            groups = [
                (used, others) for used, others in self.vocab.synonym_matches(word) if word in used
            ]
            if any(g[0] in NOT_SUBJECTS for _, others in groups for g in [others[:1]] if g):
                continue  # a synonym of an aspect ("打算" for 力争)
            forms = [word, *(o for _, others in groups for o in others)]
            if any(keyword.idf(t) >= floor for f in forms for t in self.vocab.tokens(f)):
                out.append(word)
        return out

    def resolve(self, question: str, history: Sequence[Message]) -> Resolved:
        """The question made standalone; a model rewrites it when configured, else rules do."""
        if self.llm is not None and any(m.role == "user" for m in history):
            try:
                return Resolved(self.llm.condense(question, history).strip() or question)
            except AssistantError as exc:
                log.warning("condensing with the model failed, using rules: %s", exc.en)
        earlier = resolve_history(history, lambda q, e: self._condense(q, e).text)
        return self._condense(question, earlier)

    def _condense(self, question: str, earlier: list[str]) -> Resolved:
        return condense(question, earlier, self.subject_words, self.names)

    def need(self, question: str, focus: Sequence[str] = ()) -> Need:
        """What a question needs from the documents, its words weighed by the served index."""
        keyword = self.index.keyword
        return read_need(
            question,
            self.vocab,
            lambda w: (
                max((keyword.idf(t) for t in self.vocab.tokens(w)), default=0.0) if w else 0.0
            ),
            UNKNOWN_WEIGHT,
            focus,
            self.gazetteer.named_in(normalize(question)),
            self.names,
            self._corpus_has,
        )

    def assess(
        self, question: str, hits: Sequence[Hit], focus: Sequence[str] = ()
    ) -> tuple[Need, Assessment]:
        """The question's need, and whether the retrieved hits answer it."""
        need = self.need(question, focus)
        return need, assess(
            need,
            hits,
            self.titles,
            self._corpus_has,
            self.doc_years,
            self.mentioned,
            self.home,
            self.indexed,
            self.gazetteer,
            None if self.similarity is None else partial(self.similarity.scores, question),
            self.references.of,
        )

    def _corpus_has(self, word: str) -> bool:
        return normalize(word) in self._corpus

    def _resolve(self, inquiry: Inquiry) -> Inquiry:
        # Markup is read out before anything else, so no step can echo it into an answer.
        question = without_markup(inquiry.question)
        history = tuple(Message(m.role, without_markup(m.content)) for m in inquiry.history)
        resolved = self.resolve(question, history)
        return replace(
            inquiry,
            question=question,
            history=history,
            resolved=resolved.text,
            focus=resolved.focus,
        )

    def search(self, question: str) -> list[Hit]:
        """The passages to read a question against: the best by search, and, when it asks for
        a contact, an address or a deadline, the lines of their documents that state one.

        A contact line ("联系部门：区科委产业科，电话：…") shares no word with the measures it
        closes, so the search never ranks it; the question's document does hold it.
        """
        hits = self.retriever.search(question, k=self.top_k)
        # Read as the need reads attributes, without weighing every word a second time.
        asked = normalize(question)
        wanted = [a for a in ATTRIBUTES if a.locates and a.asks.search(asked)]
        if not hits or not wanted:
            return hits
        have = {h.chunk.chunk_id for h in hits}
        docs = list(dict.fromkeys(h.chunk.doc_id for h in hits))[:ATTRIBUTE_DOCUMENTS]
        extra = [
            Hit(chunk, hits[-1].score)
            for doc in docs
            for chunk in self._chunks_of.get(doc, ())
            if chunk.chunk_id not in have
            and any(a.holds.search(normalize(chunk.text)) for a in wanted)
        ]
        return [*hits, *extra[:ATTRIBUTE_DOCUMENTS]]

    def _retrieve(self, inquiry: Inquiry) -> Inquiry:
        # A follow-up made standalone joins two questions' words: it is read as one.
        parts = self.parts(inquiry.resolved) if inquiry.resolved == inquiry.question else []
        if len(parts) < 2:
            return replace(inquiry, hits=tuple(self.search(inquiry.resolved)))
        # Each part finds its own passages (区里的目标 and 法律上的规定 lie in other documents);
        # a model is shown them all.
        part_hits = tuple(tuple(self.search(p)) for p in parts)
        merged = {h.chunk.chunk_id: h for hits in part_hits for h in hits}
        return replace(
            inquiry, hits=tuple(merged.values()), parts=tuple(parts), part_hits=part_hits
        )

    def parts(self, question: str) -> list[str]:
        """The parts of a question asking several things (one part when it asks one)."""
        return question_parts(
            question,
            lambda text: [
                *(names[0] for names in self.need(text).places),
                *self.subject_words(text),
            ],
        )

    def _read(self, inquiry: Inquiry) -> Inquiry:
        if self.rules is None or not self.rules.rules:
            return inquiry  # no rules, no verdicts to give: the facts are not needed
        return replace(inquiry, reading=self.reading(inquiry.question, inquiry.history))

    def _draft(self, inquiry: Inquiry) -> Inquiry:
        draft, answerable = self.draft(inquiry)
        return replace(inquiry, draft=draft, answerable=answerable)

    def reading(self, question: str, history: Sequence[Message]) -> eligibility.Reading:
        """The enterprise's facts so far, and whether this turn asks what it qualifies for.

        A model, when configured, reads the facts (its reading is validated against the
        profile's schema); the vocabulary reads them otherwise, or when the model fails.
        """
        reading = eligibility.conversation_profile(
            question, history, self.rules.rules if self.rules else ()
        )
        if reading.asks and self.llm is not None:
            try:
                return replace(reading, profile=self.llm.extract_profile(question, history))
            except AssistantError as exc:
                log.warning("reading the profile with the model failed, using rules: %s", exc.en)
        return reading

    def check(self, profile: Profile, question: str = "", topic: str = "") -> Answer:
        """The verdicts of the rules a question is about, as a cited chat answer."""
        assert self.rules is not None
        rules = eligibility.about(self.rules.rules, topic or question)
        verdicts = eligibility.evaluate(profile, rules)
        return eligibility.chat_answer(
            profile,
            verdicts,
            self.rules.citation,
            question,
            topical=len(rules) < len(self.rules.rules),
        )

    def draft(self, inquiry: Inquiry) -> tuple[Answer, bool]:
        """The extractive answer, and whether the documents hold an answer a model may word."""
        question, hits = inquiry.resolved, inquiry.hits
        reading = inquiry.reading
        if reading is not None and reading.asks and self.need(question).unheard:
            # "员工个人所得税这块有什么优惠": a tax of a law no indexed text holds is not
            # answered with the verdicts of rules on another; the documents say they lack it.
            reading = None
        if reading is not None and reading.asks:
            if not reading.named:
                # About the company, but naming no rule: the documents may answer it outright,
                # part by part when it asks several things.
                answer, answerable = self._from_documents(inquiry)
                if answerable:
                    return answer, True
            return self.check(reading.profile, inquiry.question, reading.topic), False
        if not inquiry.history and leans_back(question) and not self.subject_words(question):
            return Answer(CLARIFY, (), abstained=True, intent="clarify", question=question), False
        if hits and extractive.asks_document_facts(normalize(question)):
            doc_id = hits[0].chunk.doc_id
            facts = extractive.document_facts(
                normalize(question),
                [c for c in self.index.chunks if c.doc_id == doc_id],
                self.index.manifest.documents[doc_id].metadata,
            )
            if facts is not None:
                return facts, False
        return self._from_documents(inquiry)

    def _from_documents(self, inquiry: Inquiry) -> tuple[Answer, bool]:
        """The reader's answer (each part's, for a question in parts), and whether any part
        of it is answered."""
        question = inquiry.resolved
        if inquiry.parts:
            readings = [
                self.assess(part, part_hits)
                for part, part_hits in zip(inquiry.parts, inquiry.part_hits, strict=True)
            ]
            answer = extractive.answer_parts(question, readings, self.issuers, self.scope)
            return answer, any(a.verdict == "answer" for _, a in readings)
        need, assessment = self.assess(question, inquiry.hits, inquiry.focus)
        answer = extractive.answer(need, assessment, self.issuers, self.scope)
        return answer, assessment.verdict == "answer"

    def noted(self, answer: Answer) -> Answer:
        """The answer with a note for each cited document that is not in force."""
        extra = lifecycle.notes(
            [c.chunk.doc_id for c in answer.citations], self.standing, self._titles
        )
        return replace(answer, notes=(*answer.notes, *extra)) if extra else answer

    def _write(self, inquiries: Iterator[Inquiry]) -> Iterator[Event]:
        for inquiry in inquiries:
            yield from self._events(inquiry)

    def _events(self, inquiry: Inquiry) -> Iterator[Event]:
        """The answer to a drafted inquiry as events: the draft at once, or the model's
        answer as it is written, replaced when it fails or fails verification, then the result.
        """
        draft = inquiry.draft
        if draft is None:
            raise ValueError("an inquiry is written only once it is drafted")
        if self.llm is None or not inquiry.answerable:
            yield Event("delta", draft.answer)
            yield Event("result", answer=self.noted(draft))
            return
        pieces: list[str] = []
        try:
            for piece in self.llm.stream(
                inquiry.resolved, [h.chunk for h in inquiry.hits], inquiry.history
            ):
                pieces.append(piece)
                yield Event("delta", piece)
        except AssistantError as exc:
            log.warning("model failed mid-stream, answering extractively: %s", exc.en)
            result = replace(draft, notes=(FAILURE_NOTE,))
            yield Event("replace", result.answer)
            yield Event("result", answer=self.noted(result))
            return
        streamed = "".join(pieces)
        result = self.checked(streamed, inquiry.hits, draft)
        if result.mode != "llm" or not result.answer.startswith(streamed.strip()):
            # Rejected, or its markers renumbered: the client must show the final text.
            yield Event("replace", result.answer)
        elif extractive.NOTE not in streamed:
            yield Event("delta", "\n" + extractive.NOTE)
        yield Event("result", answer=self.noted(result))

    def checked(self, text: str, hits: Sequence[Hit], fallback: Answer) -> Answer:
        """A model's answer with its citations, if it verifies; else the fallback, noted."""
        text = _FULLWIDTH_MARKER.sub(r"[\1]", text)
        cited = [int(n) for n in dict.fromkeys(MARKER.findall(text))]
        chunks = [h.chunk for h in hits]
        problems = verify(
            text, [chunks[n - 1] for n in cited if 1 <= n <= len(chunks)], len(chunks), self.named
        )
        if problems or not cited:
            # The kinds only: a figure the model wrote may be one the asker typed (a phone).
            log.warning("model answer rejected: %s", _tally(problems) or "no citation")
            return replace(fallback, notes=(FALLBACK_NOTE,))
        # Renumber the markers in order of first use, so citations read [1], [2], …
        order = {n: i for i, n in enumerate(cited, 1)}
        body = MARKER.sub(lambda m: f"[{order[int(m.group(1))]}]", text).strip()
        citations = tuple(
            Citation(
                order[n], chunks[n - 1], chunks[n - 1].text, chunks[n - 1].start, chunks[n - 1].end
            )
            for n in cited
        )
        if extractive.NOTE not in body:
            body = f"{body}\n{extractive.NOTE}"
        return replace(fallback, answer=body, citations=citations, mode="llm")

    # -- the public calls --------------------------------------------------------------

    def ask(self, question: str, history: Sequence[Message] = ()) -> Answer:
        """Answer one question in the light of the conversation so far: the stream's result."""
        started = time.perf_counter()
        *_, last = self.stream(question, history)
        if last.answer is None:
            raise ValueError("a stream ends with its result")
        result = last.answer
        # The question may hold personal data: its length and fingerprint identify it in logs.
        log.info(
            "ask %s → %s%s in %.0f ms",
            described(question),
            result.mode,
            " (abstained)" if result.abstained else "",
            (time.perf_counter() - started) * 1000,
        )
        return result

    def stream(self, question: str, history: Sequence[Message] = ()) -> Iterator[Event]:
        """The answer as it is written: deltas, possibly a replacement, then the result."""
        yield from self.chain.stream(Inquiry(question, tuple(history)))
