"""An AG-UI client for the tests: the run input, the events read and
validated against the ag-ui-protocol package's models, and the check that
they come in a legal order (every start closed, state patches that apply)."""

from __future__ import annotations

import copy
from typing import Any

import httpx2
from ag_ui.core import Event, EventType
from pydantic import TypeAdapter

from sagents.testing import Turn
from sagents.tools import tool

EVENT = TypeAdapter(Event)
SIMPLE_ROUTE = Turn(
    role="router", json={"deep_thinking": False, "multi_agent": False, "reason": "one step"}
)


@tool
def word_count(text: str) -> int:
    """Count the words in a text."""
    return len(text.split())


def run_input(message: str, *, thread: str = "thread-1", **extra: Any) -> dict[str, Any]:
    return {
        "threadId": thread,
        "runId": "agui-run-1",
        "state": {},
        "messages": [
            *extra.pop("history", []),
            {"id": "m-last", "role": "user", "content": message},
        ],
        "tools": [],
        "context": [],
        "forwardedProps": {},
        **extra,
    }


async def agui_events(
    http: httpx2.AsyncClient, body: dict[str, Any], *, stop_after: str | None = None
) -> list[Any]:
    """The run's AG-UI events, each validated by the package's models."""
    events = []
    async with http.stream("POST", "/api/v1/agui", json=body) as response:
        assert response.status_code == 200, await response.aread()
        assert response.headers["content-type"].startswith("text/event-stream")
        async for frame in httpx2.EventSource(response, max_event_size=None):
            event = EVENT.validate_json(frame.data)  # raises on anything the protocol rejects
            events.append(event)
            if stop_after is not None and event.type == stop_after:
                break
    return events


def apply_patch(state: Any, ops: list[Any]) -> Any:
    """RFC 6902 add/replace, the operations the task board uses."""
    state = copy.deepcopy(state)
    for op in ops:
        parts = [p.replace("~1", "/").replace("~0", "~") for p in op.path.split("/")[1:]]
        target = state
        for part in parts[:-1]:
            target = target[int(part)] if isinstance(target, list) else target[part]
        last = parts[-1]
        if op.op == "add" and isinstance(target, list):
            target.insert(len(target) if last == "-" else int(last), op.value)
        elif op.op in ("add", "replace"):
            if isinstance(target, list):
                target[int(last)] = op.value
            else:
                target[last] = op.value
        else:
            raise AssertionError(f"unexpected patch op {op.op}")
    return state


def check_order(events: list[Any]) -> Any:
    """Assert AG-UI's ordering rules; return the final shared state."""
    types = [e.type for e in events]
    assert types[0] == EventType.RUN_STARTED
    terminal = {EventType.RUN_FINISHED, EventType.RUN_ERROR}
    assert types[-1] in terminal and sum(t in terminal for t in types) == 1
    texts: set[str] = set()
    reasoning: set[str] = set()
    reasoning_messages: set[str] = set()
    steps: list[str] = []
    tools: dict[str, str] = {}
    state: Any = None
    for e in events:
        t = e.type
        if t == EventType.TEXT_MESSAGE_START:
            assert e.message_id not in texts
            texts.add(e.message_id)
        elif t == EventType.TEXT_MESSAGE_CONTENT:
            assert e.message_id in texts
        elif t == EventType.TEXT_MESSAGE_END:
            texts.remove(e.message_id)
        elif t == EventType.REASONING_START:
            reasoning.add(e.message_id)
        elif t == EventType.REASONING_MESSAGE_START:
            assert e.message_id in reasoning
            reasoning_messages.add(e.message_id)
        elif t == EventType.REASONING_MESSAGE_CONTENT:
            assert e.message_id in reasoning_messages
        elif t == EventType.REASONING_MESSAGE_END:
            reasoning_messages.remove(e.message_id)
        elif t == EventType.REASONING_END:
            assert e.message_id not in reasoning_messages
            reasoning.remove(e.message_id)
        elif t == EventType.STEP_STARTED:
            steps.append(e.step_name)
        elif t == EventType.STEP_FINISHED:
            steps.remove(e.step_name)
        elif t == EventType.TOOL_CALL_START:
            assert e.tool_call_id not in tools
            tools[e.tool_call_id] = "open"
        elif t == EventType.TOOL_CALL_ARGS:
            assert tools[e.tool_call_id] == "open"
        elif t == EventType.TOOL_CALL_END:
            assert tools[e.tool_call_id] == "open"
            tools[e.tool_call_id] = "ended"
        elif t == EventType.TOOL_CALL_RESULT:
            assert tools[e.tool_call_id] == "ended"  # a result only after its END
            tools[e.tool_call_id] = "answered"
        elif t == EventType.STATE_SNAPSHOT:
            state = e.snapshot
        elif t == EventType.STATE_DELTA:
            assert state is not None, "a delta before any snapshot"
            state = apply_patch(state, e.delta)
    assert not texts and not reasoning and not reasoning_messages and not steps
    assert all(s != "open" for s in tools.values())
    return state
