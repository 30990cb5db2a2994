"""The one event vocabulary of a Sage run.

Every step of a run is reported as one of these models. The same objects feed
the SSE encoder, the CLI renderer, logs and tests, so there is exactly one
place where a payload's shape is defined.

Agents create events without stamps; the run (``sagents.sagent``) stamps each
one with ``seq``, ``session_id``, ``run_id`` and ``ts`` as it is published, so
an agent never needs to know which run it is part of to report progress.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any, Literal, Protocol, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

if TYPE_CHECKING:
    from sagents.llm.types import UsageReport

MessageKind = Literal[
    "answer", "analysis", "plan", "execution", "observation", "stage_summary", "summary"
]
TaskStatus = Literal["pending", "running", "done", "failed", "skipped"]
AgentStatus = Literal["ok", "error", "cancelled"]


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
        repr read fields only); :func:`stamp` and :meth:`model_copy` drop it."""
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
    event.__dict__[_JSON] = data
    return event


def is_terminal(event: EventBase) -> bool:
    return event.type in TERMINAL_TYPES
