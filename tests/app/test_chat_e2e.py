"""A real chat over real HTTP: uvicorn, SSE, the openai SDK, the mock LLM."""

from __future__ import annotations

import httpx2

from sagents.events import RunFinished, RunStarted, ToolCalled, ToolResult
from sagents.testing import MockLLMServer, ScriptedToolCall, Turn
from sagents.tools import ToolManager, tool
from tests.app.conftest import StartServer, chat


@tool
def multiply(a: int, b: int) -> int:
    """Multiply two integers.

    Args:
        a: First factor.
        b: Second factor.
    """
    return a * b


async def test_chat_with_one_tool_call(start_server: StartServer, mock_llm: MockLLMServer) -> None:
    tools = ToolManager()
    tools.add(multiply)
    url = start_server(
        [
            Turn(tool_calls=[ScriptedToolCall(name="multiply", arguments={"a": 17, "b": 23})]),
            Turn(text="17 times 23 is 391."),
        ],
        tools=tools,
    )
    async with httpx2.AsyncClient(base_url=url, timeout=10) as http:
        events = await chat(http, message="What is 17 * 23?")
        kinds = [e.type for e in events]
        assert isinstance(events[0], RunStarted) and events[0].session_id and events[0].run_id
        assert kinds[1] == "agent.started"
        order = [
            "run.started",
            "agent.started",
            "route.decided",
            "agent.finished",
            "agent.started",
            "tool.called",
            "tool.result",
            "message.completed",
            "agent.finished",
            "run.finished",
        ]
        remaining = iter(kinds)
        assert all(k in remaining for k in order), kinds  # an ordered subsequence
        assert kinds.count("run.finished") == 1 and kinds[-1] == "run.finished"
        called = next(e for e in events if isinstance(e, ToolCalled))
        assert called.arguments == {"a": 17, "b": 23}
        result = next(e for e in events if isinstance(e, ToolResult))
        assert result.ok and result.content == "391"
        final = events[-1]
        assert isinstance(final, RunFinished) and final.answer == "17 times 23 is 391."
        assert final.usage.output_tokens > 0

        sid = events[0].session_id
        messages = (await http.get(f"/api/v1/sessions/{sid}/messages")).json()
        assert [m["role"] for m in messages] == ["user", "assistant", "tool", "assistant"]
        assert messages[1]["tool_calls"][0]["function"]["name"] == "multiply"
        assert messages[2]["content"] == "391"
        assert messages[3]["content"] == "17 times 23 is 391."

        detail = (await http.get(f"/api/v1/sessions/{sid}")).json()
        assert detail["status"] == "completed"
        assert detail["runs"][0]["status"] == "finished"
        listing = (await http.get("/api/v1/sessions")).json()
        assert listing["total"] == 1 and listing["items"][0]["id"] == sid

    # The real openai SDK sent the tool schema and, on the second call, the result.
    second = mock_llm.requests[1]
    assert second["tools"][0]["function"]["name"] == "multiply"
    assert second["messages"][-1] == {
        "role": "tool",
        "content": "391",
        "tool_call_id": second["messages"][-2]["tool_calls"][0]["id"],
        "name": "multiply",
    }


async def test_no_llm_configured_fails_the_run_with_what_to_set(start_server: StartServer) -> None:
    url = start_server(llm_base_url=None, llm_api_key=None, llm_model=None)
    async with httpx2.AsyncClient(base_url=url, timeout=10) as http:
        health = (await http.get("/healthz")).json()
        assert health == {"status": "ok", "llm_configured": False}
        events = await chat(http, message="hello")
    final = events[-1]
    assert final.type == "run.failed"
    assert "SAGE_LLM_BASE_URL" in final.message and "SAGE_LLM_MODEL" in final.message  # type: ignore[attr-defined]


async def test_openapi_documents_the_api(start_server: StartServer) -> None:
    url = start_server()
    async with httpx2.AsyncClient(base_url=url, timeout=10) as http:
        spec = (await http.get("/openapi.json")).json()
    paths = spec["paths"]
    for path in [
        "/api/v1/chat",
        "/api/v1/sessions",
        "/api/v1/sessions/{session_id}",
        "/api/v1/sessions/{session_id}/messages",
        "/api/v1/sessions/{session_id}/cancel",
        "/api/v1/sessions/{session_id}/runs/{run_id}/events",
        "/healthz",
    ]:
        assert path in paths
