"""AG-UI over real HTTP: every event validates against the ag-ui-protocol
package's models, in a legal order, for a tool run, a multi-agent run (the
task board as state), a cancelled run and a failed one."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx2
import pytest
from ag_ui.core import EventType

from sagents.testing import MockLLMServer, ScriptedToolCall, Turn
from sagents.tools import ToolManager, tool
from tests.app.agui_client import (
    EVENT,
    SIMPLE_ROUTE,
    agui_events,
    check_order,
    run_input,
    word_count,
)
from tests.app.conftest import StartServer


async def test_tool_run_in_a_legal_order(
    start_server: StartServer, mock_llm: MockLLMServer
) -> None:
    tools = ToolManager()
    tools.add(word_count)
    url = start_server(
        [
            SIMPLE_ROUTE,
            Turn(
                role="simple",
                reasoning="Let me count.",
                text="Counting. ",
                tool_calls=[ScriptedToolCall(name="word_count", arguments={"text": "a b c"})],
            ),
            Turn(role="simple", text="There are 3 words."),
        ],
        tools=tools,
    )
    async with httpx2.AsyncClient(base_url=url, timeout=10) as http:
        history = [
            {"id": "m1", "role": "system", "content": "Be brief."},
            {"id": "m2", "role": "user", "content": "Hi"},
            {"id": "m3", "role": "assistant", "content": "Hello."},
        ]
        body = run_input(
            "How many words in 'a b c'?",
            history=history,
            context=[{"description": "page", "value": "word tools"}],
        )
        events = await agui_events(http, body)
        check_order(events)
        assert (await http.get("/api/v1/sessions")).json()["total"] == 0  # stateless thread
    types = [e.type for e in events]
    started, finished = events[0], events[-1]
    assert (started.thread_id, started.run_id) == ("thread-1", "agui-run-1")
    assert started.metadata["sage"]["run_id"].startswith("run_")
    assert finished.type == EventType.RUN_FINISHED and finished.outcome.type == "success"
    assert finished.result == {"answer": "There are 3 words."}
    assert finished.usage[0].total_tokens > 0
    steps = [e.step_name for e in events if e.type == EventType.STEP_STARTED]
    assert steps == ["router", "simple"]
    text = "".join(e.delta for e in events if e.type == EventType.TEXT_MESSAGE_CONTENT)
    assert text == "Counting. There are 3 words."
    call = next(e for e in events if e.type == EventType.TOOL_CALL_START)
    assert call.tool_call_name == "word_count"
    args = "".join(e.delta for e in events if e.type == EventType.TOOL_CALL_ARGS)
    assert args == '{"text": "a b c"}'
    result = next(e for e in events if e.type == EventType.TOOL_CALL_RESULT)
    assert result.content == "3" and result.tool_call_id == call.tool_call_id
    assert (
        "".join(e.delta for e in events if e.type == EventType.REASONING_MESSAGE_CONTENT)
        == "Let me count."
    )
    custom = {e.name: e.value for e in events if e.type == EventType.CUSTOM}
    assert custom["sage.route.decided"]["reason"] == "one step"
    assert custom["sage.usage"]["input_tokens"] > 0
    assert types.index(EventType.TOOL_CALL_END) < types.index(EventType.TOOL_CALL_RESULT)
    # The client's history and context reached the model.
    sent = mock_llm.requests[1]["messages"]
    assert [(m["role"], m["content"]) for m in sent[1:4]] == [
        ("user", "Hi"),
        ("assistant", "Hello."),
        ("user", "How many words in 'a b c'?"),
    ]
    assert "Be brief." in sent[0]["content"] and "word tools" in sent[0]["content"]


def step(task_id: str, result: str, all_done: bool = False) -> list[Turn]:
    return [
        Turn(role="planning", text=f"Plan for {task_id}."),
        Turn(role="executor", text=f"Did {task_id}."),
        Turn(role="observation", text="Looks right."),
        Turn(
            role="judge",
            json={
                "tasks": [{"task_id": task_id, "status": "done", "result": result}],
                "all_done": all_done,
            },
        ),
        Turn(role="stage_summary", text=f"Task {task_id} done."),
    ]


async def test_multi_agent_task_board_as_state(start_server: StartServer) -> None:
    url = start_server(
        [
            Turn(role="router", json={"deep_thinking": True, "multi_agent": True, "reason": "two"}),
            Turn(role="analysis", text="Two steps."),
            Turn(
                role="decompose",
                json={
                    "tasks": [
                        {"id": "1", "title": "Count"},
                        {"id": "2", "title": "Report", "depends_on": ["1"]},
                    ]
                },
            ),
            *step("1", "3 words"),
            *step("2", "reported", all_done=True),
            Turn(role="summary", text="The text has 3 words."),
        ]
    )
    async with httpx2.AsyncClient(base_url=url, timeout=10) as http:
        events = await agui_events(http, run_input("count and report"))
    state = check_order(events)
    assert [(t["title"], t["status"], t["result"]) for t in state["tasks"]] == [
        ("Count", "done", "3 words"),
        ("Report", "done", "reported"),
    ]
    types = [e.type for e in events]
    assert types.count(EventType.STATE_SNAPSHOT) == 1
    deltas = [e for e in events if e.type == EventType.STATE_DELTA]
    statuses = [op.value for d in deltas for op in d.delta if op.path.endswith("/status")]
    assert statuses == ["running", "done", "running", "done"]  # each change, as it happened
    # Intermediate messages are the agents' thinking; the summary is the answer.
    thinking = [e.metadata["kind"] for e in events if e.type == EventType.REASONING_MESSAGE_START]
    assert thinking[:3] == ["analysis", "plan", "execution"]
    text = "".join(e.delta for e in events if e.type == EventType.TEXT_MESSAGE_CONTENT)
    assert text == "The text has 3 words."
    steps = [e.step_name for e in events if e.type == EventType.STEP_STARTED]
    assert steps[:4] == ["router", "analysis", "decompose", "planning"]


async def test_cancelled_run_closes_everything(start_server: StartServer) -> None:
    @tool
    async def slow_lookup(query: str) -> str:
        """Look something up, slowly."""
        await asyncio.sleep(10)
        return "found"

    tools = ToolManager()
    tools.add(slow_lookup)
    url = start_server(
        [
            SIMPLE_ROUTE,
            Turn(
                role="simple",
                text="Looking. ",
                tool_calls=[ScriptedToolCall(name="slow_lookup", arguments={"query": "x"})],
            ),
        ],
        tools=tools,
    )
    events: list[Any] = []
    async with httpx2.AsyncClient(base_url=url, timeout=10) as http:
        async with http.stream("POST", "/api/v1/agui", json=run_input("look")) as response:
            sid = response.headers["x-session-id"]
            async for frame in httpx2.EventSource(response, max_event_size=None):
                events.append(EVENT.validate_json(frame.data))
                if events[-1].type == EventType.TOOL_CALL_END:
                    cancel = await http.post(f"/api/v1/sessions/{sid}/cancel")
                    assert cancel.status_code == 202
        check_order(events)
        finished = events[-1]
        assert finished.type == EventType.RUN_FINISHED
        assert finished.outcome.type == "cancelled"
        assert finished.metadata == {"reason": "cancelled by the user"}
        for _ in range(100):  # the throwaway session goes once the run has stopped
            if (await http.get("/api/v1/sessions")).json()["total"] == 0:
                break
            await asyncio.sleep(0.02)
        else:
            raise AssertionError("the throwaway session was not deleted")


async def test_failed_run_is_run_error(start_server: StartServer) -> None:
    url = start_server([Turn(text="x", faults={"http_status": 400, "fail_times": 9})])
    async with httpx2.AsyncClient(base_url=url, timeout=10) as http:
        events = await agui_events(http, run_input("fail"))
    check_order(events)
    error = events[-1]
    assert error.type == EventType.RUN_ERROR and "HTTP 400" in error.message
    assert error.code == "LLMRequestRejected"


async def test_thread_naming_a_session_continues_it(
    start_server: StartServer, mock_llm: MockLLMServer
) -> None:
    url = start_server(
        [Turn(role="simple", text="Paris."), SIMPLE_ROUTE, Turn(role="simple", text="2 million.")]
    )
    async with httpx2.AsyncClient(base_url=url, timeout=10) as http:
        first = await http.post(
            "/api/v1/chat",
            json={"message": "Capital of France?", "deep_thinking": False, "multi_agent": False},
        )
        sid = first.headers["x-session-id"]
        events = await agui_events(http, run_input("Population?", thread=sid))
        check_order(events)
        assert events[-1].result == {"answer": "2 million."}
        detail = (await http.get(f"/api/v1/sessions/{sid}")).json()
        assert len(detail["runs"]) == 2  # the session is kept
    sent = [(m["role"], m["content"]) for m in mock_llm.requests[-1]["messages"][1:]]
    assert sent == [
        ("user", "Capital of France?"),
        ("assistant", "Paris."),
        ("user", "Population?"),
    ]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"threadId": "t", "runId": "r", "messages": []}, "last message must be the user's"),
        ({"threadId": "t", "messages": [{"id": "1", "role": "user", "content": "x"}]}, "runId"),
        (
            {
                "threadId": "t",
                "runId": "r",
                "messages": [{"id": "1", "role": "assistant", "content": "x"}],
            },
            "last message must be the user's",
        ),
        (
            {
                "threadId": "t",
                "runId": "r",
                "messages": [{"id": "1", "role": "user", "content": " "}],
            },
            "empty",
        ),
    ],
)
async def test_bad_input_is_a_clear_4xx(
    start_server: StartServer, body: dict[str, Any], words: str
) -> None:
    url = start_server()
    async with httpx2.AsyncClient(base_url=url, timeout=10) as http:
        response = await http.post("/api/v1/agui", json=body)
        assert response.status_code == 422
        assert words in response.text
        assert (await http.get("/api/v1/sessions")).json()["total"] == 0


async def test_disconnect_cancels_the_run(
    start_server: StartServer, mock_llm: MockLLMServer
) -> None:
    url = start_server(
        [SIMPLE_ROUTE, Turn(role="simple", text="tick " * 500, faults={"token_delay_s": 0.02})]
    )
    async with httpx2.AsyncClient(base_url=url, timeout=10) as http:
        await agui_events(http, run_input("talk"), stop_after=EventType.TEXT_MESSAGE_CONTENT)
        for _ in range(100):  # far sooner than the 10 s the answer would take
            gone = (await http.get("/api/v1/sessions")).json()["total"] == 0
            if gone and mock_llm.disconnects >= 1:
                break
            await asyncio.sleep(0.02)
        else:
            raise AssertionError("the run was not cancelled when the client left")


async def test_cancel_while_tool_arguments_stream(start_server: StartServer) -> None:
    """Cancelled before the call's arguments are complete: Sage never reports
    the call as called, so the mapper itself must END it before the run ends."""
    tools = ToolManager()
    tools.add(word_count)
    long_args = {"text": "word " * 400}  # 125 fragments at 0.02 s: seconds of arguments
    url = start_server(
        [
            SIMPLE_ROUTE,
            Turn(
                role="simple",
                tool_calls=[ScriptedToolCall(name="word_count", arguments=long_args)],
                faults={"token_delay_s": 0.02},
            ),
        ],
        tools=tools,
    )
    events: list[Any] = []
    async with (
        httpx2.AsyncClient(base_url=url, timeout=10) as http,
        http.stream("POST", "/api/v1/agui", json=run_input("count")) as response,
    ):
        sid = response.headers["x-session-id"]
        cancelled = False
        async for frame in httpx2.EventSource(response, max_event_size=None):
            events.append(EVENT.validate_json(frame.data))
            if events[-1].type == EventType.TOOL_CALL_ARGS and not cancelled:
                cancelled = True
                await http.post(f"/api/v1/sessions/{sid}/cancel")
    check_order(events)
    types = [e.type for e in events]
    assert EventType.TOOL_CALL_RESULT not in types
    assert types.index(EventType.TOOL_CALL_END) > types.index(EventType.TOOL_CALL_ARGS)
    assert events[-1].outcome.type == "cancelled"
