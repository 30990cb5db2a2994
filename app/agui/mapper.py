"""Sage's events as AG-UI events, in a legal order.

Sage's stream already nests properly (agents open and close, messages start
and complete, tool calls are called and answered), but AG-UI is stricter:
every START needs its END before the run ends, reasoning comes in blocks,
and a tool call must END before its RESULT. The mapper keeps what is open and
closes it where AG-UI needs it closed: before the terminal event, and a
reasoning block before anything else the agent says. docs/agui.md has the
table.
"""

from __future__ import annotations

import json
from typing import Any

from ag_ui.core import (
    BaseEvent,
    CustomEvent,
    ReasoningEndEvent,
    ReasoningMessageContentEvent,
    ReasoningMessageEndEvent,
    ReasoningMessageStartEvent,
    ReasoningStartEvent,
    RunErrorEvent,
    RunFinishedCancelledOutcome,
    RunFinishedEvent,
    RunFinishedSuccessOutcome,
    RunStartedEvent,
    StateDeltaEvent,
    StateSnapshotEvent,
    StepFinishedEvent,
    StepStartedEvent,
    TextMessageContentEvent,
    TextMessageEndEvent,
    TextMessageStartEvent,
    TokenUsage,
    ToolCallArgsEvent,
    ToolCallEndEvent,
    ToolCallResultEvent,
    ToolCallStartEvent,
)

from sagents.events import (
    AgentFinished,
    AgentStarted,
    EventBase,
    MessageCompleted,
    MessageDelta,
    MessageStarted,
    ReasoningDelta,
    RunCancelled,
    RunFailed,
    RunFinished,
    RunStarted,
    TaskCreated,
    TaskUpdated,
    ToolArgsDelta,
    ToolCalled,
    ToolResult,
    ToolStarted,
)

ANSWER_KINDS = frozenset({"answer", "summary"})
CUSTOM_TYPES = frozenset(
    {
        "route.decided",
        "workflow.selected",
        "skill.selected",
        "context.clamped",
        "memory.recalled",
        "tool.progress",
        "file.created",
        "approval.requested",
        "input.requested",
        "approval.resolved",
        "agent.notice",
        "usage",
        "suggestions",
    }
)
"""Sage events with no AG-UI counterpart: sent as CUSTOM, named ``sage.<type>``."""
STAMPS = frozenset({"type", "seq", "session_id", "run_id", "ts"})


class AguiMapper:
    """One run's mapping. ``thread_id`` and ``run_id`` are the client's."""

    def __init__(self, thread_id: str, run_id: str) -> None:
        self.thread_id = thread_id
        self.run_id = run_id
        self.steps: list[str] = []  # open steps, by name
        self.texts: set[str] = set()  # open text messages
        self.reasoning: str | None = None  # the message id of the open reasoning block
        self.tools: dict[str, bool] = {}  # call id → ended
        self.tasks: list[dict[str, Any]] = []
        self.task_index: dict[str, int] = {}

    def map(self, event: EventBase) -> list[BaseEvent]:
        out: list[BaseEvent] = []
        if self.reasoning is not None and not self._continues_reasoning(event):
            out += self._close_reasoning()
        out += self._map(event)
        ts = int(event.ts * 1000) if event.ts else None
        for mapped in out:
            if mapped.timestamp is None:
                mapped.timestamp = ts
        return out

    def _map(self, event: EventBase) -> list[BaseEvent]:  # one branch per event type
        match event:
            case RunStarted():
                return [
                    RunStartedEvent(
                        thread_id=self.thread_id,
                        run_id=self.run_id,
                        metadata={"sage": {"session_id": event.session_id, "run_id": event.run_id}},
                    )
                ]
            case AgentStarted():
                name = event.agent or event.node
                self.steps.append(name)
                return [
                    StepStartedEvent(
                        step_name=name, metadata={"node": event.node, "model": event.model}
                    )
                ]
            case AgentFinished():
                name = event.agent or event.node
                if name not in self.steps:
                    return []
                self.steps.remove(name)
                meta = {"status": event.status, "duration_ms": event.duration_ms}
                return [StepFinishedEvent(step_name=name, metadata=meta)]
            case MessageStarted() | MessageDelta() | MessageCompleted() if (
                event.kind not in ANSWER_KINDS
            ):
                return self._thinking(event)
            case MessageStarted():
                return self._open_text(event.message_id)
            case MessageDelta():
                return [
                    *self._open_text(event.message_id),
                    TextMessageContentEvent(message_id=event.message_id, delta=event.delta),
                ]
            case MessageCompleted():
                if event.message_id not in self.texts:
                    return []  # never opened: nothing was streamed (its content is in RUN_FINISHED)
                self.texts.discard(event.message_id)
                return [TextMessageEndEvent(message_id=event.message_id)]
            case ReasoningDelta():
                return [
                    *self._open_reasoning(event.message_id),
                    ReasoningMessageContentEvent(
                        message_id=self._reasoning_id(event.message_id), delta=event.delta
                    ),
                ]
            case ToolStarted():
                return self._open_tool(event.call_id, event.tool)
            case ToolArgsDelta():
                if event.call_id not in self.tools or self.tools[event.call_id]:
                    return []
                return [ToolCallArgsEvent(tool_call_id=event.call_id, delta=event.delta)]
            case ToolCalled():
                out = []
                if event.call_id not in self.tools:
                    out += self._open_tool(event.call_id, event.tool)
                    out.append(
                        ToolCallArgsEvent(
                            tool_call_id=event.call_id, delta=json.dumps(event.arguments)
                        )
                    )
                return out + self._end_tool(event.call_id)
            case ToolResult():
                out = (
                    []
                    if event.call_id in self.tools
                    else self._open_tool(event.call_id, event.tool)
                )
                return [
                    *out,
                    *self._end_tool(event.call_id),
                    ToolCallResultEvent(
                        message_id=f"{event.call_id}-result",
                        tool_call_id=event.call_id,
                        content=event.content,
                        role="tool",
                        metadata={"ok": event.ok, "duration_ms": event.duration_ms},
                    ),
                ]
            case TaskCreated():
                return [self._task_created(event)]
            case TaskUpdated():
                return [self._task_updated(event)]
            case RunFinished():
                usage = TokenUsage(
                    input_tokens=event.usage.input_tokens,
                    output_tokens=event.usage.output_tokens,
                    total_tokens=event.usage.input_tokens + event.usage.output_tokens,
                )
                return [
                    *self._close_all(),
                    RunFinishedEvent(
                        thread_id=self.thread_id,
                        run_id=self.run_id,
                        result={"answer": event.answer},
                        outcome=RunFinishedSuccessOutcome(),
                        usage=[usage],
                    ),
                ]
            case RunCancelled():
                return [
                    *self._close_all(),
                    RunFinishedEvent(
                        thread_id=self.thread_id,
                        run_id=self.run_id,
                        outcome=RunFinishedCancelledOutcome(),
                        metadata={"reason": event.reason},
                    ),
                ]
            case RunFailed():
                return [
                    *self._close_all(),
                    RunErrorEvent(message=event.message, code=event.error_type),
                ]
            case _ if event.type in CUSTOM_TYPES:
                value = {k: v for k, v in event.model_dump().items() if k not in STAMPS}
                return [CustomEvent(name=f"sage.{event.type}", value=value)]
            case _:
                return []

    def _continues_reasoning(self, event: EventBase) -> bool:
        """Is ``event`` more of the open reasoning block (same message, still thinking)?"""
        if isinstance(event, ReasoningDelta):
            return event.message_id == self.reasoning
        if isinstance(event, MessageStarted | MessageDelta | MessageCompleted):
            return event.message_id == self.reasoning and event.kind not in ANSWER_KINDS
        return False

    # text

    def _open_text(self, message_id: str) -> list[BaseEvent]:
        if message_id in self.texts:
            return []
        self.texts.add(message_id)
        return [TextMessageStartEvent(message_id=message_id, role="assistant")]

    # reasoning: model reasoning and the agents' intermediate messages

    @staticmethod
    def _reasoning_id(message_id: str) -> str:
        return f"{message_id}-reasoning"

    def _open_reasoning(self, message_id: str) -> list[BaseEvent]:
        if self.reasoning == message_id:
            return []
        self.reasoning = message_id
        rid = self._reasoning_id(message_id)
        return [ReasoningStartEvent(message_id=rid), ReasoningMessageStartEvent(message_id=rid)]

    def _close_reasoning(self) -> list[BaseEvent]:
        if self.reasoning is None:
            return []
        rid = self._reasoning_id(self.reasoning)
        self.reasoning = None
        return [ReasoningMessageEndEvent(message_id=rid), ReasoningEndEvent(message_id=rid)]

    def _thinking(self, event: MessageStarted | MessageDelta | MessageCompleted) -> list[BaseEvent]:
        """An intermediate message (analysis, plan, observation…) is the agents'
        thinking: a reasoning block, labelled with its kind."""
        if isinstance(event, MessageCompleted):
            return []  # the next event closes the block
        out = self._open_reasoning(event.message_id)
        if out and isinstance(out[-1], ReasoningMessageStartEvent):
            out[-1].metadata = {"kind": event.kind}
        if isinstance(event, MessageDelta):
            out.append(
                ReasoningMessageContentEvent(
                    message_id=self._reasoning_id(event.message_id), delta=event.delta
                )
            )
        return out

    # tools

    def _open_tool(self, call_id: str, tool: str) -> list[BaseEvent]:
        if call_id in self.tools:
            return []
        self.tools[call_id] = False
        return [ToolCallStartEvent(tool_call_id=call_id, tool_call_name=tool)]

    def _end_tool(self, call_id: str) -> list[BaseEvent]:
        if self.tools.get(call_id, True):
            return []
        self.tools[call_id] = True
        return [ToolCallEndEvent(tool_call_id=call_id)]

    # the task board, as shared state: {"tasks": [...]}

    def _task_created(self, event: TaskCreated) -> BaseEvent:
        task = {
            "id": event.task_id,
            "title": event.title,
            "description": event.description,
            "depends_on": event.depends_on,
            "status": event.status,
            "result": "",
        }
        self.task_index[event.task_id] = len(self.tasks)
        self.tasks.append(task)
        if len(self.tasks) == 1:
            return StateSnapshotEvent(snapshot={"tasks": [dict(task)]})
        return StateDeltaEvent(delta=[{"op": "add", "path": "/tasks/-", "value": dict(task)}])

    def _task_updated(self, event: TaskUpdated) -> BaseEvent:
        index = self.task_index.get(event.task_id)
        if index is None:  # an update for a task this stream never saw: say all of it
            self.task_index[event.task_id] = len(self.tasks)
            self.tasks.append(
                {
                    "id": event.task_id,
                    "title": event.title,
                    "description": "",
                    "depends_on": [],
                    "status": event.status,
                    "result": event.result,
                }
            )
            return StateSnapshotEvent(snapshot={"tasks": [dict(t) for t in self.tasks]})
        task = self.tasks[index]
        ops: list[dict[str, Any]] = []
        for field in ("status", "result", "title"):
            value = getattr(event, field)
            if value and value != task[field]:
                task[field] = value
                ops.append({"op": "replace", "path": f"/tasks/{index}/{field}", "value": value})
        return StateDeltaEvent(delta=ops)

    # the end

    def _close_all(self) -> list[BaseEvent]:
        out = self._close_reasoning()
        out += [TextMessageEndEvent(message_id=m) for m in sorted(self.texts)]
        self.texts.clear()
        for call_id, ended in self.tools.items():
            if not ended:
                out.append(ToolCallEndEvent(tool_call_id=call_id))
                self.tools[call_id] = True
        out += [
            StepFinishedEvent(step_name=name, metadata={"status": "closed"})
            for name in reversed(self.steps)
        ]
        self.steps.clear()
        return out
