"""The rows a store keeps. Plain dataclasses: they live inside the library;
pydantic models are reserved for the edges (HTTP, config, LLM JSON)."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


def new_id(prefix: str) -> str:
    """A short, sortable-enough, unguessable id such as ``ses_3f2a…``."""
    return f"{prefix}_{uuid.uuid4().hex}"


def now() -> float:
    return time.time()


class SessionStatus(StrEnum):
    IDLE = "idle"
    RUNNING = "running"
    WAITING = "waiting"
    """Its run waits for a person's decision on a tool call."""
    INTERRUPTED = "interrupted"
    COMPLETED = "completed"
    ERROR = "error"


class RunStatus(StrEnum):
    RUNNING = "running"
    WAITING = "waiting"
    """Waits for a person's decision on a tool call (``ApprovalRecord``).
    Recovery leaves a waiting run alone: a decision resumes it, on whichever
    process receives it, even after the process that ran it stopped."""
    FINISHED = "finished"
    CANCELLED = "cancelled"
    FAILED = "failed"
    INTERRUPTED = "interrupted"
    """Left ``running`` by a crashed process; set at the next start-up."""


@dataclass(slots=True)
class SessionRecord:
    id: str
    user_id: str
    title: str = ""
    status: SessionStatus = SessionStatus.IDLE
    created_at: float = field(default_factory=now)
    updated_at: float = field(default_factory=now)


@dataclass(slots=True)
class RunRecord:
    id: str
    session_id: str
    input: str
    status: RunStatus = RunStatus.RUNNING
    options: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    answer: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    started_at: float = field(default_factory=now)
    ended_at: float | None = None
    owner: str | None = None
    """The process executing the run (``Runtime.instance_id``)."""
    lease_until: float | None = None
    """Until when ``owner`` vouches for the run; renewed while it runs, cleared
    when it ends. Recovery interrupts a running run only once this passed."""


@dataclass(slots=True)
class MessageRecord:
    """One chat message: the OpenAI chat shape plus where it came from.

    ``interrupted`` marks partial output saved when a run was cancelled, and
    tool results synthesised for calls that never completed: "cancelled" ones
    when a run was cancelled, and ones of ``kind`` ``"recovered"`` written by
    start-up recovery after a crash.
    """

    id: str
    session_id: str
    role: str
    content: str | None = None
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: str | None = None
    name: str | None = None
    run_id: str | None = None
    agent: str | None = None
    kind: str | None = None
    interrupted: bool = False
    created_at: float = field(default_factory=now)
    completed_at: float | None = None

    def to_openai(self) -> dict[str, Any]:
        """The message as the OpenAI chat API expects it (no Sage fields)."""
        out: dict[str, Any] = {"role": self.role, "content": self.content}
        if self.tool_calls:
            out["tool_calls"] = self.tool_calls
        if self.tool_call_id is not None:
            out["tool_call_id"] = self.tool_call_id
        if self.name is not None and self.role == "tool":
            out["name"] = self.name
        return out


@dataclass(slots=True)
class TaskRecord:
    id: str
    session_id: str
    title: str
    description: str = ""
    status: str = "pending"
    depends_on: list[str] = field(default_factory=list)
    result: str = ""
    run_id: str | None = None
    created_at: float = field(default_factory=now)
    updated_at: float = field(default_factory=now)


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """One event of a run's durable log: its ``seq`` and its JSON as sent."""

    run_id: str
    seq: int
    type: str
    data: str


@dataclass(slots=True)
class ApprovalRecord:
    """A tool call waiting for (or given) a person's decision.

    Kept in the store, not in memory, so the wait survives a restart and any
    replica can take the decision; ``decision`` is None while it waits.
    """

    run_id: str
    call_id: str
    session_id: str
    tool: str
    arguments: Any
    reason: str
    requested_at: float = field(default_factory=now)
    expires_at: float = 0.0
    decision: str | None = None
    """``approve``, ``reject`` or ``edit``; None while pending."""
    decided_by: str | None = None
    decided_at: float | None = None
    edited_arguments: Any = None
    """The arguments an ``edit`` runs the call with."""
    decision_reason: str | None = None
    """A rejection's reason: the model reads it as the call's result."""

    @property
    def pending(self) -> bool:
        return self.decision is None
