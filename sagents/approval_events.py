"""The events of people in the loop: a call waiting for a person's
approval, an MCP server's question to the person, and the decision."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from sagents.event_base import EventBase

ApprovalDecision = Literal["approve", "reject", "edit"]


class ApprovalRequested(EventBase):
    """A tool call that needs a person's approval is waiting for it; the run
    is ``waiting`` until ``POST …/runs/{run_id}/approvals/{call_id}`` decides
    (or ``expires_at`` passes, which rejects it)."""

    type: Literal["approval.requested"] = "approval.requested"
    call_id: str
    tool: str
    arguments: Any
    reason: str
    """Why approval is needed (which setting or flag asked for it)."""
    expires_at: float
    """Epoch seconds after which the call is rejected unanswered."""


class InputRequested(EventBase):
    """An MCP server asks the person for input while one of the run's tool
    calls runs (an elicitation). Answered through the same endpoint as an
    approval, with ``call_id``: ``edit`` with the answer as ``arguments``
    (checked against ``requested_schema``) accepts, ``approve`` accepts
    with no data, ``reject`` declines."""

    type: Literal["input.requested"] = "input.requested"
    call_id: str
    """The request's own id (``<tool call id>.input<n>``)."""
    tool: str
    """The tool whose call asked (``parent_call_id`` names the call)."""
    server: str
    message: str
    requested_schema: dict[str, Any] = Field(default_factory=dict)
    url: str | None = None
    """For a URL-mode request: where the person should go."""
    expires_at: float


class ApprovalResolved(EventBase):
    """The decision on an ``approval.requested`` call; the run goes on."""

    type: Literal["approval.resolved"] = "approval.resolved"
    call_id: str
    decision: ApprovalDecision
    by: str
    """Who decided: the user's id, or ``timeout``."""
    reason: str | None = None
    """A rejection's reason, which the model reads as the call's result."""
    arguments: Any = None
    """An ``edit``'s new arguments, which the call runs with."""
