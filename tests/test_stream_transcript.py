"""A reader of a streamed answer shows the deltas as they come, a replacement in their place,
and the final answer once the result arrives (pure: no index, no model)."""

from __future__ import annotations

from assistant.answer.pipeline import Event, Transcript
from assistant.models import Answer

FINAL = Answer("奖励88万元[1]。", ())


def read(*events: Event) -> Transcript:
    transcript = Transcript()
    for event in events:
        transcript.add(event)
    return transcript


def test_deltas_add_up_to_the_text() -> None:
    transcript = read(Event("delta", "奖励"), Event("delta", "88万元"))
    assert transcript.text == "奖励88万元"
    assert transcript.answer is None and not transcript.replaced


def test_a_replacement_takes_the_place_of_what_was_streamed() -> None:
    transcript = read(
        Event("delta", "奖励"), Event("delta", "99万元"), Event("replace", "奖励88万元")
    )
    assert transcript.text == "奖励88万元" and transcript.replaced


def test_deltas_after_a_replacement_extend_it() -> None:
    transcript = read(Event("delta", "甲"), Event("replace", "乙"), Event("delta", "丙"))
    assert transcript.text == "乙丙"


def test_the_result_gives_the_answer_and_leaves_the_shown_text() -> None:
    transcript = read(Event("delta", FINAL.answer), Event("result", answer=FINAL))
    assert transcript.answer == FINAL
    assert transcript.text == FINAL.answer


def test_an_empty_stream_shows_nothing() -> None:
    transcript = Transcript()
    assert (transcript.text, transcript.answer, transcript.replaced) == ("", None, False)
