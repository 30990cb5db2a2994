"""Sage's steps as text, for ``reasoning_content``.

OpenAI-compatible clients (Open WebUI, LibreChat, the SDKs) show
``reasoning_content`` as the model's thinking. Sage has more than thinking:
agents starting and finishing, the route, tool calls with their arguments
and results, tasks. Written as short lines there, a chat client shows the
agents at work without knowing anything about Sage. The answer itself (the
``answer`` and ``summary`` messages) goes to ``content``.
"""

from __future__ import annotations

from sagents.events import (
    AgentFinished,
    AgentNotice,
    AgentStarted,
    ContextClamped,
    EventBase,
    MemoryRecalled,
    MessageCompleted,
    MessageDelta,
    MessageStarted,
    ReasoningDelta,
    RouteDecided,
    SkillSelected,
    Suggestions,
    TaskCreated,
    TaskUpdated,
    ToolArgsDelta,
    ToolCalled,
    ToolResult,
    ToolStarted,
    WorkflowSelected,
)

ANSWER_KINDS = frozenset({"answer", "summary"})
RESULT_PREVIEW_CHARS = 500
"""A tool result is quoted up to this long; the whole of it is the model's business."""


def _ms(value: float) -> str:
    return f"{value:.0f} ms" if value < 1000 else f"{value / 1000:.1f} s"


def answer_delta(event: EventBase) -> str:
    """The part of the answer an event carries ('' for anything else)."""
    if isinstance(event, MessageDelta) and event.kind in ANSWER_KINDS:
        return event.delta
    return ""


class ReasoningText:
    """Turns one run's events into reasoning text, keeping the task titles
    (updates may name the task by id only)."""

    def __init__(self) -> None:
        self.task_titles: dict[str, str] = {}

    def __call__(self, event: EventBase) -> str:
        match event:
            case AgentStarted():
                return f"▶ {event.agent or event.node}\n"
            case AgentFinished():
                status = "done" if event.status == "ok" else event.status
                return f"  {event.agent or event.node}: {status} in {_ms(event.duration_ms)}\n"
            case RouteDecided():
                path = ("deep thinking + " if event.deep_thinking else "") + (
                    "multi-agent" if event.multi_agent else "single agent"
                )
                reason = f": {event.reason}" if event.reason else ""
                return f"  route: {path} ({event.source}{reason})\n"
            case WorkflowSelected():
                return f"  workflow: {event.workflow}\n"
            case MessageStarted() if event.kind not in ANSWER_KINDS:
                return f"  [{event.kind}] "
            case MessageDelta() if event.kind not in ANSWER_KINDS:
                return event.delta
            case MessageCompleted() if event.kind not in ANSWER_KINDS:
                return "\n"
            case ReasoningDelta():
                return event.delta
            case ToolStarted():
                return f"  tool {event.tool}("
            case ToolArgsDelta():
                return event.delta
            case ToolCalled():
                return ")\n"
            case ToolResult():
                content = event.content
                if len(content) > RESULT_PREVIEW_CHARS:
                    content = content[:RESULT_PREVIEW_CHARS] + "…"
                outcome = "ok" if event.ok else "failed"
                return f"  → {event.tool} {outcome} in {_ms(event.duration_ms)}: {content}\n"
            case TaskCreated():
                self.task_titles[event.task_id] = event.title
                return f"  task created: {event.title}\n"
            case TaskUpdated():
                title = event.title or self.task_titles.get(event.task_id, event.task_id)
                return f"  task {event.status}: {title}\n"
            case SkillSelected():
                return f"  skill loaded: {event.skill} (level {event.level})\n"
            case ContextClamped():
                return f"  context clamped: kept {event.kept}, dropped {event.dropped} messages\n"
            case MemoryRecalled():
                return f"  recalled {event.count} memories\n"
            case AgentNotice():
                return f"  notice: {event.message}\n"
            case Suggestions():
                return "  suggestions: " + " | ".join(event.questions) + "\n"
            case _:
                return ""
