"""Why a question gets the answer it gets (命中测试): what staff are shown when they test one.

An explanation is put together from the Assistant's public steps, run one by one in the
order the pipeline runs them: the question resolved against the conversation, the passages
retrieved (with the fused score and each ranking's place), the reader's verdict on them, the
sentences it chose and the signals behind their scores (or why it abstained), the next best
candidates, and the answer the asker gets. It changes nothing and records nothing, so staff
can ask it anything while the server answers others.

    explanation = explain(services.assistant, "微贷通最高能贷多少？")
    explanation.to_json()
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from assistant.answer.conversation import without_markup
from assistant.answer.grounding import Assessment
from assistant.answer.pipeline import Assistant
from assistant.answer.support import Support
from assistant.eligibility.verdicts import INTENT as ELIGIBILITY_INTENT
from assistant.models import Answer, Citation, Hit, Message

EXCERPT = 120  # characters of a passage shown beside its scores
CANDIDATES = 5  # the next best sentences shown, chosen or not
# Answers that did not come from the reader's verdict, by their intent: the verdict is still
# shown (it is what the reader made of the passages), but the answer says why it is another.
ROUTES = {"clarify": "clarify", "document": "document_facts", ELIGIBILITY_INTENT: "eligibility"}
# The reader gives no reason of its own for a question outside the documents' field.
OUT_OF_SCOPE = (
    "问题不在已收录文件的范围内（文件中没有问题里的词，或问题与政策无关）",
    "the question is outside what the documents cover (none of its words are indexed, or "
    "it is not about policy)",
)


@dataclass(frozen=True)
class Passage:
    """One retrieved passage as staff see it: where it is from and how it ranked."""

    rank: int  # 1 = first
    chunk_id: str
    title: str
    doc_number: str
    section: str
    score: float  # the fused score the passages are ordered by
    ranks: dict[str, int]  # its place in each ranking before fusion ("bm25", "dense"), from 1
    excerpt: str

    def to_json(self) -> dict[str, Any]:
        return {
            "rank": self.rank,
            "chunk_id": self.chunk_id,
            "title": self.title,
            "doc_number": self.doc_number,
            "section": self.section,
            "score": round(self.score, 6),
            "ranks": dict(self.ranks),
            "excerpt": self.excerpt,
        }


@dataclass(frozen=True)
class Sentence:
    """A sentence the reader scored, with the signals behind its score."""

    passage: int  # the rank of the passage it is in (see Passage.rank)
    text: str
    signals: dict[str, float | bool | str]
    answers: bool  # holds all that was asked (only such sentences are answered with)

    def to_json(self) -> dict[str, Any]:
        return {
            "passage": self.passage,
            "text": self.text,
            "answers": self.answers,
            "signals": dict(self.signals),
        }


@dataclass(frozen=True)
class Explanation:
    """Everything staff are shown about one question."""

    question: str  # as asked, markup removed
    resolved: str  # as the conversation made it standalone (what was searched for)
    passages: tuple[Passage, ...]
    verdict: str  # the reader's: "answer", "abstain" or "out_of_scope"
    route: str  # what gave the answer: "reader", or "clarify", "document_facts", "eligibility"
    chosen: tuple[Sentence, ...]  # the sentences the answer quotes (when the verdict answers)
    reason_zh: str  # why the reader abstained ("" when it answers)
    reason_en: str
    candidates: tuple[Sentence, ...]  # the best scored sentences, chosen or not
    answer: Answer  # what the asker gets

    def to_json(self) -> dict[str, Any]:
        """The public shape (the HTTP API's `POST /v1/admin/explain`)."""
        return {
            "question": self.question,
            "resolved": self.resolved,
            "passages": [p.to_json() for p in self.passages],
            "verdict": self.verdict,
            "route": self.route,
            "chosen": [s.to_json() for s in self.chosen],
            "reason": {"zh": self.reason_zh, "en": self.reason_en},
            "candidates": [s.to_json() for s in self.candidates],
            "answer": self.answer.to_json(),
        }


def explain(assistant: Assistant, question: str, history: Sequence[Message] = ()) -> Explanation:
    """Run the pipeline's steps on a question and keep what each of them decided."""
    asked = without_markup(question)
    earlier = [Message(m.role, without_markup(m.content)) for m in history]
    resolved = assistant.resolve(asked, earlier)
    hits = assistant.search(resolved.text)
    _, assessment = assistant.assess(resolved.text, hits, resolved.focus)
    answer = assistant.ask(question, history)  # the answer the asker gets, model or not
    chosen = chosen_supports(assessment, answer.citations)
    ranked = assessment.candidates or assessment.supports  # abstentions keep them as supports
    reason = (assessment.reason_zh, assessment.reason_en)
    if assessment.verdict == "out_of_scope" and not any(reason):
        reason = OUT_OF_SCOPE
    return Explanation(
        question=asked,
        resolved=resolved.text,
        passages=tuple(passage(n, hit) for n, hit in enumerate(hits, 1)),
        verdict=assessment.verdict,
        route=ROUTES.get(answer.intent, "reader"),
        chosen=tuple(sentence(s) for s in chosen),
        reason_zh=reason[0],
        reason_en=reason[1],
        candidates=tuple(sentence(s) for s in ranked[:CANDIDATES]),
        answer=answer,
    )


def passage(rank: int, hit: Hit) -> Passage:
    """A hit as staff see it: its citation fields, its scores, its first words."""
    c = hit.chunk
    text = " ".join(c.text.split())
    return Passage(
        rank,
        c.chunk_id,
        c.title,
        c.doc_number,
        c.section,
        hit.score,
        dict(hit.ranks),
        text if len(text) <= EXCERPT else text[:EXCERPT] + "…",
    )


def sentence(support: Support) -> Sentence:
    """A scored sentence, with the signals the reader measured."""
    return Sentence(
        support.span.rank + 1, support.span.text, support.signals(), bool(support.answers)
    )


def chosen_supports(assessment: Assessment, citations: Sequence[Citation]) -> list[Support]:
    """The answering sentences the answer quotes: each citation's best scored sentence.

    The answer may quote a sentence cut to its clauses or grown to its whole article, so a
    sentence counts as chosen when a citation overlaps it. When no citation does (a model's
    answer cites whole passages), the reader's best answering sentence stands for it.
    """
    if assessment.verdict != "answer":
        return []
    picked: list[Support] = []
    for c in citations:
        match = next(
            (
                s
                for s in assessment.supports
                if s.span.chunk.chunk_id == c.chunk.chunk_id
                and s.span.doc_start < c.end
                and c.start < s.span.doc_end
            ),
            None,
        )
        if match is not None and all(match is not p for p in picked):
            picked.append(match)
    return picked or assessment.supports[:1]
