"""The vocabulary of the default flow's golden traces: a run's events as a
trace (event types, the agent on ``agent.started`` / ``agent.finished``, runs
of deltas collapsed, ``usage`` left out), the spans agents make in it, and
the scripted turns of one step of the task loop."""

from __future__ import annotations

from typing import Any

from sagents.events import EventBase
from sagents.request import RunRequest
from sagents.sagent import SAgent
from sagents.testing import Turn
from sagents.tools import ToolManager, tool


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def trace(events: list[EventBase]) -> list[str]:
    out: list[str] = []
    for e in events:
        if e.type == "usage":
            continue
        label = f"{e.type}:{e.agent}" if e.type in ("agent.started", "agent.finished") else e.type
        if label.endswith(".delta") and out and out[-1] == label:
            continue
        out.append(label)
    return out


def span(agent: str, *inner: str) -> list[str]:
    return [f"agent.started:{agent}", *inner, f"agent.finished:{agent}"]


STREAMED = ("message.started", "message.delta", "message.completed")
ROUTE = span("router", "route.decided")


async def run(rt: Any, **request: Any) -> list[EventBase]:
    return [e async for e in SAgent(rt).run_stream(RunRequest(**request), "u1")]


def tools() -> ToolManager:
    manager = ToolManager()
    manager.add(add)
    return manager


def loop_iteration(judged: list[str], *, tool_round: bool = False) -> list[str]:
    executor = (
        ["tool.started", "tool.args.delta", "tool.called", "tool.result", *STREAMED]
        if tool_round
        else list(STREAMED)
    )
    return [
        *span("planning", *(["task.updated"] if "running" in judged else []), *STREAMED),
        *span("executor", *executor),
        *span("observation", *STREAMED),
        *span("judge", *(["task.updated"] * judged.count("update"))),
        *span("stage_summary", *STREAMED),
    ]


def three_tasks() -> dict[str, Any]:
    return {
        "tasks": [
            {"id": "1", "title": "Find A"},
            {"id": "2", "title": "Find B", "depends_on": ["1"]},
            {"id": "3", "title": "Combine A and B", "depends_on": ["1", "2"]},
        ]
    }


def step(executor: list[Turn], verdict: dict[str, Any]) -> list[Turn]:
    return [
        Turn(role="planning", text="Plan the step."),
        *executor,
        Turn(role="observation", text="Observed."),
        Turn(role="judge", json=verdict),
        Turn(role="stage_summary", text="Progress noted."),
    ]
