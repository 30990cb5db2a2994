"""Agents as tools over real HTTP: a parent agent calls a sub-agent, whose
events arrive nested under the parent's call; cancelling the run stops the
sub-agent where it waits."""

from __future__ import annotations

import asyncio
import threading

import httpx2
from ag_ui.core import EventType

from sagents.agents.agent_tool import AgentToolSpec
from sagents.events import (
    AgentFinished,
    AgentStarted,
    MessageCompleted,
    RunCancelled,
    RunFinished,
    ToolCalled,
    ToolResult,
)
from sagents.testing import MockLLMServer, ScriptedToolCall, Turn
from sagents.tools import ToolManager, tool
from tests.app.agui_client import SIMPLE_ROUTE, agui_events, check_order, run_input
from tests.app.conftest import SIMPLE, StartServer, chat, sse_events


@tool
def multiply(a: int, b: int) -> int:
    """Multiply two integers."""
    return a * b


@tool
def shout(text: str) -> str:
    """Not the researcher's."""
    return text.upper()


RESEARCHER = AgentToolSpec(
    name="researcher",
    description="Works out a sub-question and answers it.",
    instructions="You are a careful researcher. Use tools to compute.",
    tools=("multiply", "researcher"),
    role="researcher",
)


def call(role: str, name: str, **arguments: object) -> Turn:
    return Turn(role=role, tool_calls=[ScriptedToolCall(name=name, arguments=arguments)])


async def test_sub_agent_events_arrive_nested(
    start_server: StartServer, mock_llm: MockLLMServer
) -> None:
    tools = ToolManager()
    tools.add(multiply)
    tools.add(shout)
    tools.add(RESEARCHER.tool())
    turns = [
        call("simple", "researcher", task="6*7?"),
        call("researcher", "multiply", a=6, b=7),
        Turn(role="researcher", text="It is 42."),
        Turn(role="simple", text="The researcher says 42."),
    ]
    url = start_server(turns, tools=tools)
    async with httpx2.AsyncClient(base_url=url, timeout=60) as http:
        listed = {t["name"]: t["source"] for t in (await http.get("/api/v1/tools")).json()}
        assert listed["researcher"] == "agent"
        events = await chat(http, message="what is 6*7?")

    types = [e.type for e in events]
    parent = next(e for e in events if isinstance(e, ToolCalled) and e.tool == "researcher")
    parent_result = next(e for e in events if isinstance(e, ToolResult) and e.tool == "researcher")
    assert parent.parent_call_id is None and parent_result.parent_call_id is None
    assert parent_result.ok and parent_result.content == "It is 42."
    inside = events[events.index(parent) + 1 : events.index(parent_result)]
    order = ["agent.started", "tool.called", "tool.result", "message.completed", "agent.finished"]
    remaining = iter(e.type for e in inside)
    assert all(kind in remaining for kind in order), types  # an ordered subsequence
    assert inside[0].type == "agent.started" and inside[-1].type == "agent.finished"
    assert inside and all(e.parent_call_id == parent.call_id for e in inside)
    assert all(e.agent == "researcher" for e in inside)
    started = next(e for e in inside if isinstance(e, AgentStarted))
    assert started.node == "agent_tool:researcher"
    nested_result = next(e for e in inside if isinstance(e, ToolResult))
    assert nested_result.tool == "multiply" and nested_result.content == "42"
    said = next(e for e in inside if isinstance(e, MessageCompleted))
    assert said.content == "It is 42." and said.kind == "execution"
    finished = next(e for e in inside if isinstance(e, AgentFinished))
    assert finished.status == "ok"
    assert isinstance(events[-1], RunFinished) and events[-1].answer == "The researcher says 42."

    # The sub-agent saw only its allow-list (never itself) and only its task.
    roles = zip(mock_llm.requests, mock_llm.roles, strict=True)
    researcher = [request for request, role in roles if role == "researcher"]
    assert [t["function"]["name"] for t in researcher[0]["tools"]] == ["multiply"]
    assert [m["role"] for m in researcher[0]["messages"]] == ["system", "user"]
    assert researcher[0]["messages"][1]["content"] == "6*7?"
    # The session's history holds the call and its answer, not the sub-agent's turns.
    async with httpx2.AsyncClient(base_url=url, timeout=60) as http:
        stored = (await http.get(f"/api/v1/sessions/{events[0].session_id}/messages")).json()
    assert [m["content"] for m in stored if m["role"] == "tool"] == ["It is 42."]
    assert "It is 42." not in [m["content"] for m in stored if m["role"] == "assistant"]


async def test_cancelling_the_run_stops_the_sub_agent(start_server: StartServer) -> None:
    stopped = threading.Event()

    @tool
    async def wait_forever() -> str:
        """Waits."""
        try:
            await asyncio.sleep(120)
        except asyncio.CancelledError:
            stopped.set()
            raise
        return "never"

    tools = ToolManager()
    tools.add(wait_forever)
    tools.add(
        AgentToolSpec(
            name="waiter",
            description="Waits.",
            instructions="Wait.",
            tools=("wait_forever",),
            role="waiter",
        ).tool()
    )
    turns = [
        call("simple", "waiter", task="wait"),
        call("waiter", "wait_forever"),
    ]
    url = start_server(turns, tools=tools)
    events = []
    async with httpx2.AsyncClient(base_url=url, timeout=60) as http:
        body = {**SIMPLE, "message": "wait"}
        async for event in sse_events(http, "POST", "/api/v1/chat", json=body):
            events.append(event)
            if isinstance(event, ToolCalled) and event.tool == "wait_forever":
                assert event.parent_call_id is not None
                await http.post(f"/api/v1/sessions/{event.session_id}/cancel")
    assert isinstance(events[-1], RunCancelled)
    assert await asyncio.to_thread(stopped.wait, 10)
    finished = [e for e in events if isinstance(e, AgentFinished) and e.agent == "waiter"]
    assert [e.status for e in finished] == ["cancelled"]


async def test_the_ag_ui_stream_stays_legal_with_a_sub_agent(start_server: StartServer) -> None:
    tools = ToolManager()
    tools.add(multiply)
    tools.add(RESEARCHER.tool())
    url = start_server(
        [
            SIMPLE_ROUTE,
            call("simple", "researcher", task="6*7?"),
            call("researcher", "multiply", a=6, b=7),
            Turn(role="researcher", text="It is 42."),
            Turn(role="simple", text="The researcher says 42."),
        ],
        tools=tools,
    )
    async with httpx2.AsyncClient(base_url=url, timeout=60) as http:
        events = await agui_events(http, run_input("what is 6*7?"))
    check_order(events)
    text = "".join(e.delta for e in events if e.type == EventType.TEXT_MESSAGE_CONTENT)
    assert text == "The researcher says 42."  # the sub-agent's words are a step, not the answer
    results = {e.tool_call_id: e.content for e in events if e.type == EventType.TOOL_CALL_RESULT}
    assert sorted(results.values()) == ["42", "It is 42."]
