"""The one event vocabulary of a Sage run.

Every step of a run is reported as one of these models. The same objects feed
the SSE encoder, the CLI renderer, logs and tests, so there is exactly one
place where a payload's shape is defined.

Every event derives from ``EventBase`` (``sagents.event_base``: the common
fields and ``stamp``, the one writer of them); the events of people in the
loop are in ``sagents.approval_events``. Both are re-exported here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, Field, TypeAdapter

from sagents.approval_events import ApprovalDecision as ApprovalDecision
from sagents.approval_events import ApprovalRequested as ApprovalRequested
from sagents.approval_events import ApprovalResolved as ApprovalResolved
from sagents.approval_events import InputRequested as InputRequested
from sagents.event_base import E as E
from sagents.event_base import Emit as Emit
from sagents.event_base import EventBase as EventBase
from sagents.event_base import keep_json
from sagents.event_base import stamp as stamp

if TYPE_CHECKING:
    from sagents.llm.types import UsageReport

MessageKind = Literal[
    "answer", "analysis", "plan", "execution", "observation", "stage_summary", "summary"
]
TaskStatus = Literal["pending", "running", "done", "failed", "skipped"]
AgentStatus = Literal["ok", "error", "cancelled"]


class RunStarted(EventBase):
    type: Literal["run.started"] = "run.started"
    input: str
    options: dict[str, Any] = Field(default_factory=dict)


class AgentStarted(EventBase):
    type: Literal["agent.started"] = "agent.started"
    node: str
    model: str | None = None


class AgentFinished(EventBase):
    type: Literal["agent.finished"] = "agent.finished"
    node: str
    status: AgentStatus = "ok"
    duration_ms: float = 0.0


class RouteDecided(EventBase):
    type: Literal["route.decided"] = "route.decided"
    deep_thinking: bool
    multi_agent: bool
    source: Literal["options", "router"]
    reason: str = ""


class WorkflowSelected(EventBase):
    type: Literal["workflow.selected"] = "workflow.selected"
    workflow: str


class MessageStarted(EventBase):
    type: Literal["message.started"] = "message.started"
    message_id: str
    kind: MessageKind = "answer"


class MessageDelta(EventBase):
    type: Literal["message.delta"] = "message.delta"
    message_id: str
    kind: MessageKind = "answer"
    delta: str


class MessageCompleted(EventBase):
    type: Literal["message.completed"] = "message.completed"
    message_id: str
    kind: MessageKind = "answer"
    content: str
    interrupted: bool = False


class ReasoningDelta(EventBase):
    type: Literal["reasoning.delta"] = "reasoning.delta"
    message_id: str
    delta: str


class ToolStarted(EventBase):
    """The model began emitting a tool call (its arguments may still stream)."""

    type: Literal["tool.started"] = "tool.started"
    call_id: str
    tool: str


class ToolArgsDelta(EventBase):
    type: Literal["tool.args.delta"] = "tool.args.delta"
    call_id: str
    delta: str


class ToolCalled(EventBase):
    """The call's arguments are complete and the tool is about to run."""

    type: Literal["tool.called"] = "tool.called"
    call_id: str
    tool: str
    arguments: Any


class ToolResult(EventBase):
    type: Literal["tool.result"] = "tool.result"
    call_id: str
    tool: str
    ok: bool
    content: str
    duration_ms: float = 0.0


class ToolProgress(EventBase):
    """A running tool call reported progress (an MCP server's
    ``notifications/progress``), at most a few per second per call."""

    type: Literal["tool.progress"] = "tool.progress"
    call_id: str
    tool: str
    progress: float
    total: float | None = None
    message: str | None = None


class FileCreated(EventBase):
    """A tool call left a new or changed file in the session's workspace
    (``GET /api/v1/sessions/{id}/files/{path}`` downloads it)."""

    type: Literal["file.created"] = "file.created"
    path: str
    size: int
    media_type: str
    call_id: str | None = None
    """The tool call that made it."""


class TaskCreated(EventBase):
    type: Literal["task.created"] = "task.created"
    task_id: str
    title: str
    description: str = ""
    depends_on: list[str] = Field(default_factory=list)
    status: TaskStatus = "pending"


class TaskUpdated(EventBase):
    type: Literal["task.updated"] = "task.updated"
    task_id: str
    title: str = ""
    status: TaskStatus
    result: str = ""


class SkillSelected(EventBase):
    type: Literal["skill.selected"] = "skill.selected"
    skill: str
    level: int


class ContextClamped(EventBase):
    type: Literal["context.clamped"] = "context.clamped"
    kept: int
    dropped: int
    token_budget: int
    tokens: int = 0


class MemoryRecalled(EventBase):
    type: Literal["memory.recalled"] = "memory.recalled"
    count: int


class UsageReported(EventBase):
    """Token usage of one LLM call, attributed to the agent that made it."""

    type: Literal["usage"] = "usage"
    model: str
    input_tokens: int = 0
    output_tokens: int = 0
    estimated: bool = False
    """Counted by Sage with its tokenizer: the provider reported no usage."""

    @classmethod
    def of(cls, report: UsageReport) -> UsageReported:
        return cls(
            model=report.model,
            input_tokens=report.input_tokens,
            output_tokens=report.output_tokens,
            estimated=report.estimated,
        )


class Suggestions(EventBase):
    type: Literal["suggestions"] = "suggestions"
    questions: list[str]


class AgentNotice(EventBase):
    """Something an agent wants the user to know that is not an answer:
    a fallback after invalid LLM output, a limit that was hit, a dropped
    dependency. Keeps such decisions visible instead of silent."""

    type: Literal["agent.notice"] = "agent.notice"
    code: str
    message: str


class TokenUsage(BaseModel):
    input_tokens: int = 0
    output_tokens: int = 0
    estimated: bool = False
    """Some of it was counted by Sage because the provider reported none."""

    def add(self, input_tokens: int, output_tokens: int, *, estimated: bool = False) -> None:
        self.input_tokens += input_tokens
        self.output_tokens += output_tokens
        self.estimated = self.estimated or estimated


class RunFinished(EventBase):
    type: Literal["run.finished"] = "run.finished"
    answer: str
    usage: TokenUsage = Field(default_factory=TokenUsage)


class RunCancelled(EventBase):
    type: Literal["run.cancelled"] = "run.cancelled"
    reason: str = "cancelled"


class RunFailed(EventBase):
    type: Literal["run.failed"] = "run.failed"
    error_type: str
    message: str


Event = Annotated[
    RunStarted
    | AgentStarted
    | AgentFinished
    | RouteDecided
    | WorkflowSelected
    | MessageStarted
    | MessageDelta
    | MessageCompleted
    | ReasoningDelta
    | ToolStarted
    | ToolArgsDelta
    | ToolCalled
    | ToolResult
    | ToolProgress
    | FileCreated
    | ApprovalRequested
    | InputRequested
    | ApprovalResolved
    | TaskCreated
    | TaskUpdated
    | SkillSelected
    | ContextClamped
    | MemoryRecalled
    | UsageReported
    | Suggestions
    | AgentNotice
    | RunFinished
    | RunCancelled
    | RunFailed,
    Field(discriminator="type"),
]
"""Any event; parse one with ``parse_event``."""

TerminalEvent = RunFinished | RunCancelled | RunFailed
TERMINAL_TYPES = frozenset({"run.finished", "run.cancelled", "run.failed"})

_EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)


def parse_event(data: str | bytes | dict[str, Any]) -> Event:
    """Parse an event from its JSON form (an SSE ``data:`` line) or a dict."""
    if isinstance(data, dict):
        return _EVENT_ADAPTER.validate_python(data)
    return _EVENT_ADAPTER.validate_json(data)


def parse_stored(data: str) -> Event:
    """An event read back from the event log, whose text it keeps as its
    :meth:`~EventBase.as_json`: a replay sends what was stored, undumped."""
    event = _EVENT_ADAPTER.validate_json(data)
    keep_json(event, data)
    return event


def is_terminal(event: EventBase) -> bool:
    return event.type in TERMINAL_TYPES
