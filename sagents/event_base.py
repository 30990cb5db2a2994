"""What every event is: its common fields, the one place they are stamped,
and the emitter agents publish through (``sagents.events`` has the kinds).

Agents create events without stamps; the run (``sagents.sagent``) stamps each
one with ``seq``, ``session_id``, ``run_id`` and ``ts`` as it is published, so
an agent never needs to know which run it is part of to report progress.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, Protocol, Self, TypeVar

from pydantic import BaseModel, ConfigDict


class EventBase(BaseModel):
    """Fields every event carries.

    An agent builds an event with what it knows; the run's emitter gives it
    its coordinates (``seq``, ``session_id``, ``run_id``, ``trace_id``,
    ``ts``, the agent and, for a sub-agent, ``parent_call_id``) exactly once, through
    :func:`stamp`, before anyone else sees it. Events are frozen: nothing
    changes one after it is published, so every reader sees the same thing.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str
    seq: int = 0
    session_id: str = ""
    run_id: str = ""
    trace_id: str = ""
    """The run's trace id (32 hex digits): the same in logs, spans and exports."""
    ts: float = 0.0
    agent: str | None = None
    parent_call_id: str | None = None
    """Set on the events of an agent run as a tool (``AgentToolSpec``): the
    call id of the tool call it answers, so clients can nest them under it."""

    def as_json(self) -> str:
        """The event as JSON, dumped once and shared by every reader that
        sends it unchanged (the run's SSE streams, the event log). Kept in
        the instance dict under a key that is no field (dumps, equality and
        repr read fields only); :func:`stamp` and :meth:`model_copy` drop it.

        pydantic's dump even for the deltas (~51 of a tool turn's ~65
        events): a hand-written one for their fixed shape (the strings
        escaped by ``json.encoder.encode_basestring``, the run's coordinates
        escaped once per run, pydantic kept for what it writes differently:
        lone surrogates, exponent ``ts``) gave the same bytes but took 1.78 µs
        against pydantic's 1.28 µs (best of 40 alternating samples of 20,000
        dumps, 3 runs alike); escaping alone, with no guard, took ~1.05 µs."""
        fields = self.__dict__
        text: str | bool | None = fields.get(_JSON)
        if type(text) is str:
            return text
        dumped = self.model_dump_json()
        if text is None:
            fields[_JSON] = dumped
        return dumped

    def drop_json(self) -> None:
        """Let go of the kept text once the last reader that needed it (the
        event log's writer) has it: the channel keeps events for replay, and
        their text cost ~350 bytes each. A reader after that (a stream that
        fell behind, a replay) dumps again without keeping the text."""
        self.__dict__[_JSON] = False

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        copy = super().model_copy(update=update, deep=deep)
        copy.__dict__.pop(_JSON, None)
        return copy


_JSON = "_sage_json"
"""Where :meth:`EventBase.as_json` keeps the text (see there)."""


E = TypeVar("E", bound=EventBase)


def stamp(
    event: E,
    seq: int,
    session_id: str,
    run_id: str,
    trace_id: str,
    agent: str | None,
    parent_call_id: str | None,
) -> E:
    """Give a new event its coordinates, once, as it is published.

    Written into the instance dict rather than through ``model_copy``: the
    values are ours and already typed, and on a loaded 2-core machine a
    ``model_copy(update=...)`` of a delta took 4.8 µs against 0.5 µs for
    this, on every streamed token (the event itself costs 2.5 µs to build).
    It is the only place that writes to an event; ``EventBase`` is frozen
    against everything else.
    """
    fields = event.__dict__
    fields.pop(_JSON, None)  # dumped before its stamps (a test, a log line)
    fields["seq"] = seq
    fields["session_id"] = session_id
    fields["run_id"] = run_id
    fields["trace_id"] = trace_id
    fields["ts"] = time.time()
    if fields["agent"] is None:
        fields["agent"] = agent
    if fields["parent_call_id"] is None:
        fields["parent_call_id"] = parent_call_id
    return event


class Emit(Protocol):
    """Publishes an event of the run. ``agent`` and ``parent_call_id`` say
    who made it when the event does not (a sub-agent's events pass through
    its parent's emitter with the call they answer)."""

    def __call__(
        self, event: EventBase, /, *, agent: str | None = None, parent_call_id: str | None = None
    ) -> None: ...


def keep_json(event: EventBase, text: str) -> None:
    """Let ``event`` share ``text`` as its :meth:`~EventBase.as_json`: the
    JSON it was read from (the event log), sent again undumped."""
    event.__dict__[_JSON] = text
