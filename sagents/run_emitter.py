"""How a run publishes: the one emitter that stamps each event once, and
what a client may be told of a failure."""

from __future__ import annotations

import logging
from collections.abc import Callable

from sagents.event_base import E
from sagents.events import EventBase, stamp
from sagents.llm.errors import LLMError

log = logging.getLogger("sagents.sagent")
"""The run's logger: a failure is logged where runs log."""


class RunEmitter:
    """The run's one publisher: stamps each event once (``events.stamp``)
    with the run's coordinates, a gap-free ``seq`` and, when the event does
    not name one, the agent now running (the innermost of ``agents``, the
    run's ``RunControl.open_agents``, which the flow executor keeps)."""

    __slots__ = ("_fields_sets", "_publish", "agents", "run_id", "seq", "session_id", "trace_id")

    def __init__(
        self,
        publish: Callable[[EventBase], None],
        session_id: str,
        run_id: str,
        trace_id: str = "",
    ) -> None:
        self._publish = publish
        self.session_id = session_id
        self.run_id = run_id
        self.trace_id = trace_id
        self.seq = 0
        self.agents: list[tuple[str, str, float]] = []
        self._fields_sets: dict[type[EventBase], set[str]] = {}
        """Per event kind, the last ``model_fields_set`` seen: see ``stamped``."""

    def __call__(
        self, event: EventBase, /, *, agent: str | None = None, parent_call_id: str | None = None
    ) -> None:
        self.send(self.stamped(event, agent=agent, parent_call_id=parent_call_id))

    def stamped(
        self, event: E, /, *, agent: str | None = None, parent_call_id: str | None = None
    ) -> E:
        """``event`` stamped as the next one, not yet published (``send`` it
        before stamping another)."""
        if agent is None and self.agents:
            agent = self.agents[-1][0]
        # The run's channel keeps every event for replay, so an event's own
        # memory counts per token: a stamped delta held 820 bytes, 216 of
        # them its ``model_fields_set`` (a set of the three names the agent
        # passed), the same for every delta of the run. Events of a kind
        # share one set when it is equal. Pydantic never changes it in place
        # on a frozen model (``model_copy`` copies it before updating it).
        fields_set = event.__pydantic_fields_set__
        kind = type(event)
        shared = self._fields_sets.get(kind)
        if shared is not None and shared == fields_set:
            object.__setattr__(event, "__pydantic_fields_set__", shared)
        else:
            self._fields_sets[kind] = fields_set
        return stamp(
            event, self.seq + 1, self.session_id, self.run_id, self.trace_id, agent, parent_call_id
        )

    def send(self, event: EventBase) -> None:
        """Publish an event ``stamped`` last."""
        self.seq += 1
        self._publish(event)


def describe_failure(exc: Exception, run_id: str) -> tuple[str, str]:
    """What a client may see of a failure: our own errors in full, nothing
    of an unexpected one but its type name and where to look."""
    if isinstance(exc, LLMError):
        return type(exc).__name__, str(exc)
    log.exception("run %s failed", run_id)
    return (
        "InternalError",
        f"internal error ({type(exc).__name__}); see the server log for run {run_id}",
    )
