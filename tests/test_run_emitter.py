"""The run's emitter stamps events; what it keeps of each costs memory per token."""

from __future__ import annotations

from sagents.events import EventBase, MessageDelta, RunFinished
from sagents.run_emitter import RunEmitter


def _emitted(*events: EventBase) -> list[EventBase]:
    out: list[EventBase] = []
    emit = RunEmitter(out.append, "ses", "run", "t" * 32)
    for event in events:
        emit(event)
    return out


def test_the_deltas_of_a_run_share_one_fields_set() -> None:
    # The channel keeps every event of a run; a set of its own per delta
    # was a quarter of what a kept delta cost.
    first, second, third = _emitted(
        MessageDelta(message_id="m", delta="a"),
        MessageDelta(message_id="m", delta="b"),
        MessageDelta(message_id="m", delta="c"),
    )
    assert first.model_fields_set is second.model_fields_set is third.model_fields_set
    assert second.model_fields_set == {"message_id", "delta"}


def test_only_equal_sets_are_shared() -> None:
    plain, with_kind, finished = _emitted(
        MessageDelta(message_id="m", delta="a"),
        MessageDelta(message_id="m", delta="b", kind="analysis"),
        RunFinished(answer="ab"),
    )
    assert plain.model_fields_set == {"message_id", "delta"}
    assert with_kind.model_fields_set == {"message_id", "delta", "kind"}
    assert finished.model_fields_set == {"answer"}


def test_a_copy_with_updates_leaves_the_shared_set_alone() -> None:
    first, second = _emitted(
        MessageDelta(message_id="m", delta="a"), MessageDelta(message_id="m", delta="b")
    )
    copy = first.model_copy(update={"agent": "other"})
    assert "agent" in copy.model_fields_set
    assert second.model_fields_set == {"message_id", "delta"}
    assert second.model_dump(exclude_unset=True) == {"message_id": "m", "delta": "b"}
