"""What a running tool call knows about the run that made it.

``ToolSpec.invoke`` takes only the arguments, so a tool that needs its run
(an MCP call reporting progress as events, the MCP resource tools checking
which servers this run may use) reads the ``CallScope`` the run set around
the call (``sagents.agents.streaming.run_tool_calls``). It is a context
variable, so concurrent calls of one run, and calls of other runs, each see
their own; outside a run there is none and such tools act for no run in
particular (no events; every server).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sagents.context.session_context import SessionContext
    from sagents.events import Emit
    from sagents.runs.approvals import ApprovalGate
    from sagents.tools.proxy import ToolProxy


@dataclass(frozen=True, slots=True)
class CallScope:
    call_id: str
    tool: str
    """The name the model called."""
    tools: ToolProxy
    """The run's view of the tools: its allow-list."""
    emit: Emit | None = None
    """Publishes an event in the run's stream at once."""
    agent: str | None = None
    """The agent that made the call; its events are attributed to it."""
    session_id: str | None = None
    """The run's session (the built-in file tools work in its workspace)."""
    user_id: str | None = None
    """Who the run acts for (the built-in memory tools use their memory)."""
    context: SessionContext | None = None
    """The calling agent's context (an agent run as a tool starts from it)."""
    approvals: ApprovalGate | None = None
    """Where the call waits when its MCP server asks the person for input."""


_CURRENT: ContextVar[CallScope | None] = ContextVar("sage_tool_call", default=None)


def current_call() -> CallScope | None:
    """The call running in this task, if a run made it."""
    return _CURRENT.get()


@contextmanager
def in_call(scope: CallScope) -> Iterator[None]:
    token = _CURRENT.set(scope)
    try:
        yield
    finally:
        _CURRENT.reset(token)
