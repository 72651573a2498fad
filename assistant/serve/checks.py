"""命中测试 for staff: why a question is answered as it is, and saved questions asked again
after every change of the documents.

A saved check is a question and what its answer must hold: some words ("300万元"), or a
statement that the documents do not say (an abstention). Staff save them for the questions
that matter; after every upload or removal through the library, once the new index serves,
the background job that made the change asks each of them again and keeps the result: passed
or not, the start of the answer, when, and whether it changed since the run before. So staff
see at once which answers a new document moved.

Both faces (the API's /v1/admin/explain and /v1/admin/checks…, the page's staff tab) call
these functions; every answer here takes an answer slot as a user's would.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from assistant.answer.explain import Explanation, explain
from assistant.answer.pipeline import Assistant
from assistant.errors import AssistantError, CheckError, UnavailableError, UnknownCheckError
from assistant.models import Answer, Message
from assistant.serve.runtime import Runtime
from assistant.text.redaction import described, fingerprint
from assistant.text.vocabulary import normalize

log = logging.getLogger(__name__)

MAX_CHECKS = 100  # saved checks; each runs after every document change
MAX_WORDS = 10  # words one check expects
MAX_WORD_CHARS = 50  # characters of one expected word
EXCERPT = 200  # characters of an answer kept with a check's result

# One run of the checks at a time in a process: a run after a change and one staff started
# would otherwise each read the other's half-written results as "the run before".
_running = threading.Lock()


@dataclass(frozen=True)
class Check:
    """A saved question, what its answer must hold, and the outcome of its last run."""

    id: int
    question: str
    expect: tuple[str, ...]
    abstain: bool
    created: str
    last: dict[str, Any] | None  # None before its first run

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Check:
        last = None
        if row.get("ran"):
            last = {
                "passed": bool(row["passed"]),
                "changed": bool(row["changed"]),
                "was_passed": row["was_passed"],
                "answer_excerpt": row["excerpt"] or "",
                "ran": row["ran"],
                "trigger": row["trigger"],
                "index_version": row["index_version"],
                "fingerprint": row["fingerprint"],
            }
        return cls(
            int(row["id"]),
            row["question"],
            tuple(row["expect"]),
            bool(row["abstain"]),
            row["created"],
            last,
        )

    def to_json(self) -> dict[str, Any]:
        """The public shape (`GET /v1/admin/checks`); the fingerprint stays inside."""
        last = {k: v for k, v in self.last.items() if k != "fingerprint"} if self.last else None
        return {
            "id": self.id,
            "question": self.question,
            "expect": list(self.expect),
            "abstain": self.abstain,
            "created": self.created,
            "last": last,
        }


def explain_question(
    runtime: Runtime, question: str, history: Sequence[Message] = ()
) -> Explanation:
    """Why the served index answers a question as it does (see assistant.answer.explain)."""
    assistant = runtime.services.assistant  # UnavailableError with no index, before a slot
    with runtime.slots:
        explanation = explain(assistant, question, history)
    log.info("explained %s: %s", described(question), explanation.verdict)
    return explanation


def words(expect: Sequence[str]) -> list[str]:
    """The expected words, trimmed, blanks and repeats dropped, within the caps."""
    kept = list(dict.fromkeys(w.strip() for w in expect if w.strip()))
    if len(kept) > MAX_WORDS:
        raise CheckError(
            f"每个测试问题最多 {MAX_WORDS} 个关键词。",
            f"A check expects {MAX_WORDS} words at most.",
        )
    if any(len(w) > MAX_WORD_CHARS for w in kept):
        raise CheckError(
            f"关键词过长（上限 {MAX_WORD_CHARS} 字）。",
            f"An expected word is too long (limit {MAX_WORD_CHARS} characters).",
        )
    return kept


def save(runtime: Runtime, question: str, expect: Sequence[str], abstain: bool = False) -> Check:
    """Save a check and run it once, so the first run after a change has one to compare with.

    Raises CheckError for an empty or too long question, too many or too long words, or when
    MAX_CHECKS are saved already. With no index served, the check is saved unrun.
    """
    text = question.strip()
    limit = runtime.settings.max_question_chars
    if not text:
        raise CheckError("请填写要测试的问题。", "The check has no question.")
    if len(text) > limit:
        raise CheckError(
            f"问题过长（上限 {limit} 字）。",
            f"The question is too long (limit {limit} characters).",
        )
    check_id = runtime.records.add_check(text, words(expect), abstain, MAX_CHECKS)
    try:
        run(runtime, "saved", only=check_id)
    except UnavailableError as exc:
        log.warning("check %d saved unrun: %s", check_id, exc.en)
    return find(runtime, check_id)


def saved(runtime: Runtime) -> list[Check]:
    """Every saved check with its last result, oldest first."""
    return [Check.from_row(r) for r in runtime.records.checks()]


def find(runtime: Runtime, check_id: int) -> Check:
    """One saved check; UnknownCheckError when there is none with this id."""
    for check in saved(runtime):
        if check.id == check_id:
            return check
    raise UnknownCheckError(check_id)


def delete(runtime: Runtime, check_id: int) -> None:
    """Forget a saved check; UnknownCheckError when there is none with this id."""
    if not runtime.records.remove_check(check_id):
        raise UnknownCheckError(check_id)


def passes(check: Check, answer: Answer) -> bool:
    """Whether an answer is what the check expects: answered or not as expected, and every
    expected word in its text (compared as the index compares: full-width folded, simplified)."""
    text = normalize(answer.answer)
    return answer.abstained == check.abstain and all(normalize(w) in text for w in check.expect)


def run(runtime: Runtime, trigger: str, only: int | None = None) -> list[Check]:
    """Ask the saved checks (or one) of the served index again and keep each one's result.

    `trigger` says what ran them ("saved", "manual", "add", "remove"). A check whose question
    cannot be answered now fails with the reason as its excerpt. Raises UnavailableError
    when no index is served.
    """
    assistant = runtime.services.assistant
    version = runtime.services.served_version()
    with _running:
        for check in saved(runtime):
            if only is None or check.id == only:
                result = outcome(runtime, assistant, check)
                runtime.records.record_check(
                    check.id, {**result, "trigger": trigger, "index_version": version}
                )
    return saved(runtime)


def outcome(runtime: Runtime, assistant: Assistant, check: Check) -> dict[str, Any]:
    """Ask one check's question; its result as the records keep it."""
    try:
        with runtime.slots:
            answer = assistant.ask(check.question)
        passed, text = passes(check, answer), answer.answer
    except AssistantError as exc:
        passed, text = False, f"（未能作答：{exc.zh}）"
    mark = fingerprint(text)
    before = check.last
    changed = before is not None and (before["passed"] != passed or before["fingerprint"] != mark)
    return {
        "ran": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "passed": passed,
        "was_passed": before["passed"] if before is not None else None,
        "excerpt": text if len(text) <= EXCERPT else text[:EXCERPT] + "…",
        "fingerprint": mark,
        "changed": changed,
    }


def serve_and_check(runtime: Runtime, trigger: str) -> Callable[[], None]:
    """What a library job does once its ingest is done: serve the new index, then run the
    saved checks against it (the job's `then`)."""

    def then() -> None:
        runtime.swap()
        after_change(runtime, trigger)

    return then


def after_change(runtime: Runtime, trigger: str) -> None:
    """Run the saved checks against the index a change made; never fails the change.

    When the new version did not open (the old one still serves) there is nothing new to
    check, and the results are left as they were.
    """
    try:
        serving = runtime.services.served_version()
        if serving is None or serving != runtime.services.store.current_version():
            log.warning("saved checks not run: the new index version is not serving")
            return
        results = run(runtime, trigger)
    except AssistantError as exc:
        log.error("saved checks not run after %s: %s", trigger, exc.en)
        return
    except Exception:  # the documents did change: a fault here must not fail the job
        log.exception("saved checks failed after %s", trigger)
        return
    ran = [c.last for c in results if c.last is not None]
    log.info(
        "saved checks after %s: %d of %d pass, %d changed",
        trigger,
        sum(r["passed"] for r in ran),
        len(ran),
        sum(r["changed"] for r in ran),
    )
