"""Follow-up questions made standalone by rules, without a model or an index."""

from __future__ import annotations

import pytest

from assistant.answer.conversation import (
    Resolved,
    carried_subject,
    condense,
    resolve_history,
    without_markup,
)
from assistant.models import Message

# The subjects a fictional document set knows; the real Assistant reads them off the index.
KNOWN_SUBJECTS = ("有效高企", "科技小巨人", "专利权", "微贷通", "履约贷")

FIRST = "去年全区有效高企有多少家？"


def subject_words(text: str) -> list[str]:
    """The known subjects a text names, in order."""
    return [w for w in KNOWN_SUBJECTS if w in text]


def resolve(question: str, earlier: list[str]) -> str:
    return condense(question, earlier, subject_words).text


def test_the_first_question_stands_as_it_is() -> None:
    assert condense(FIRST, [], subject_words) == Resolved(FIRST)


def test_a_follow_up_without_a_subject_carries_the_previous_subject_without_time_or_asking() -> (
    None
):
    resolved = condense("那今年的目标呢？", [FIRST], subject_words)
    assert "有效高企" in resolved.text
    assert "今年的目标" in resolved.text
    for dropped in ("去年", "多少", "那今年"):
        assert dropped not in resolved.text
    assert resolved.focus == ()


def test_a_follow_up_asking_its_own_aspect_does_not_carry_the_aim_asked_before() -> None:
    aim = "今年全区有效高企目标是多少？"
    resolved = resolve("那去年实际做到多少？", [aim])
    assert "有效高企" in resolved and "目标" not in resolved
    # Asking nothing of its own, it asks what the earlier question asked.
    assert "目标" in resolve("那明年呢？", [aim])


def test_carried_subject_drops_asking_and_time_words() -> None:
    subject = carried_subject("2024年我们公司的履约贷能贷多少？")
    assert "履约贷" in subject
    for dropped in ("2024", "我们", "公司", "多少", "？"):
        assert dropped not in subject


@pytest.mark.parametrize(
    "follow_up",
    [
        pytest.param("那科技小巨人呢", id="no-question-mark"),
        pytest.param("那科技小巨人呢？", id="full-width-question-mark"),
        pytest.param("那科技小巨人呢?", id="ascii-question-mark"),
    ],
)
def test_that_x_with_a_new_subject_keeps_the_previous_question_and_focuses_on_x(
    follow_up: str,
) -> None:
    resolved = condense(follow_up, [FIRST], subject_words)
    assert "科技小巨人" in resolved.text
    assert "去年全区有效高企有多少家" in resolved.text  # what was asked, for the new subject
    assert resolved.focus == ("科技小巨人",)


def test_a_named_thing_in_place_of_another_replaces_it_in_the_previous_question() -> None:
    names = ("微贷通", "履约贷")
    resolved = condense("那履约贷呢？", ["微贷通最高能贷多少？"], subject_words, names)
    assert "履约贷" in resolved.text and "最高能贷多少" in resolved.text
    assert "微贷通" not in resolved.text  # asked beside it, it would pass for the subject
    # A subject that is no named thing of the documents keeps the previous question whole.
    assert "有效高企" in condense("那科技小巨人呢？", [FIRST], subject_words, names).text


def test_a_question_with_its_own_subject_starts_fresh() -> None:
    question = "专利权的期限是多久？"
    assert condense(question, [FIRST], subject_words) == Resolved(question)


def test_an_explicit_topic_change_starts_fresh_and_drops_the_prefix() -> None:
    assert condense("换个问题，专利权的期限是多久？", [FIRST], subject_words) == Resolved(
        "专利权的期限是多久？"
    )
    # Even a question that would otherwise lean back on the previous one.
    assert condense("换个话题：那微贷通呢？", [FIRST], subject_words) == Resolved("那微贷通呢？")


def test_resolve_history_chains_a_subject_over_three_turns() -> None:
    history = [
        Message("user", FIRST),
        Message("assistant", "截至去年底有效高企数达1164家[1]。"),
        Message("user", "那今年的目标呢？"),
        Message("assistant", "力争今年有效高企数达1210家[1]。"),
        Message("user", "那明年呢？"),
    ]
    first, second, third = resolve_history(history, resolve)
    assert first == FIRST
    assert "有效高企" in second and "去年" not in second
    # The third turn names neither the subject nor the aspect: both come through the second.
    assert "有效高企" in third and "目标" in third and "明年" in third
    assert "今年" not in third and "去年" not in third


def test_resolve_history_reads_only_user_turns() -> None:
    history = [
        Message("assistant", "您好，请问有什么可以帮您？"),
        Message("user", "  "),
        Message("user", FIRST),
    ]
    seen: list[tuple[str, list[str]]] = []

    def record(question: str, earlier: list[str]) -> str:
        seen.append((question, list(earlier)))
        return question

    assert resolve_history(history, record) == [FIRST]
    assert seen == [(FIRST, [])]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<script>alert(1)</script>高企奖励多少？", "高企奖励多少？"),
        ("<b>高企</b>奖励多少？", "高企 奖励多少？"),
        ("《某某<script>alert(1)</script>办法》", "《某某 办法》"),
        ("&lt;img src=x onerror=alert(1)&gt;高企", "高企"),
        ("<scr<script>ipt>alert(1)</script>高企", "scr 高企"),  # no tag can re-form
        ("<!-- 注释 -->高企<style>p{}</style>", "高企"),
        ("营收<5000万元，人数>100人", "营收 5000万元，人数 100人"),
        ("营收＜5000万元", "营收 5000万元"),
        ("R&D费用加计扣除比例？", "R&D费用加计扣除比例？"),
        ("去年全区有效高企有多少家？", "去年全区有效高企有多少家？"),
    ],
)
def test_markup_is_read_out_of_a_turn(text: str, expected: str) -> None:
    assert without_markup(text) == expected


def test_a_first_sentence_ending_in_呢_leans_back_though_another_follows() -> None:
    resolved = condense("履约贷的呢？也是按年算吗？", ["微贷通的期限多长？"], subject_words)
    assert "微贷通" in resolved.text and "履约贷" in resolved.text
    assert resolved.focus == ("履约贷",)
