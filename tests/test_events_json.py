"""An event's JSON is made once and shared by its readers (``as_json``)."""

from __future__ import annotations

import json

from sagents.events import MessageDelta, RunFinished, parse_event, parse_stored, stamp


def _stamped(delta: str = "hi") -> MessageDelta:
    return stamp(MessageDelta(message_id="m", delta=delta), 3, "ses", "run", "t" * 32, "a", None)


def test_as_json_is_the_events_dump_made_once() -> None:
    event = _stamped()
    text = event.as_json()
    assert text == event.model_dump_json()
    assert event.as_json() is text  # the same object: dumped once, then shared
    assert parse_event(text) == event


def test_stamping_drops_a_dump_made_before_it() -> None:
    event = MessageDelta(message_id="m", delta="hi")
    early = event.as_json()
    stamp(event, 7, "ses", "run", "", None, None)
    assert event.as_json() != early
    assert json.loads(event.as_json())["seq"] == 7


def test_a_copy_does_not_keep_the_originals_text() -> None:
    event = _stamped()
    event.as_json()
    copy = event.model_copy(update={"delta": "other"})
    assert json.loads(copy.as_json())["delta"] == "other"


def test_the_cache_is_no_field() -> None:
    event = _stamped()
    event.as_json()
    assert event == MessageDelta.model_validate(event.model_dump())  # fields only
    assert "_sage_json" not in event.model_dump()
    assert "_sage_json" not in repr(event)


def test_an_event_read_from_the_log_keeps_its_stored_text() -> None:
    stored = '{"type": "run.finished", "seq": 9, "run_id": "r", "answer": "ok"}'
    event = parse_stored(stored)
    assert isinstance(event, RunFinished) and event.answer == "ok"
    assert event.as_json() is stored  # a replay sends what was stored, not a new dump
