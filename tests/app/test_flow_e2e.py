"""The multi-agent path over real HTTP with the mock LLM, the tasks endpoint,
and the flow endpoint serving the very graph the executor walks."""

from __future__ import annotations

import httpx2

from sagents.events import RunFinished, TaskCreated
from sagents.flow import (
    AgentNode,
    FlowNode,
    IfNode,
    LoopNode,
    SequenceNode,
    default_flow,
    to_mermaid,
)
from sagents.testing import MockLLMServer, ScriptedToolCall, Turn
from sagents.tools import ToolManager, tool
from tests.app.conftest import StartServer, chat


@tool
def word_count(text: str) -> int:
    """Count the words in a text."""
    return len(text.split())


def step(executor: list[Turn], task_id: str, result: str, all_done: bool = False) -> list[Turn]:
    return [
        Turn(role="planning", text=f"Plan for {task_id}."),
        *executor,
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


def agent_node_ids(node: FlowNode) -> set[str]:
    if isinstance(node, AgentNode):
        return {node.node_id}
    if isinstance(node, SequenceNode):
        return set().union(*(agent_node_ids(s) for s in node.steps))
    if isinstance(node, IfNode):
        other = agent_node_ids(node.otherwise) if node.otherwise else set()
        return agent_node_ids(node.then) | other
    assert isinstance(node, LoopNode)
    return agent_node_ids(node.body)


async def test_multi_agent_over_http(start_server: StartServer, mock_llm: MockLLMServer) -> None:
    tools = ToolManager()
    tools.add(word_count)
    url = start_server(
        [
            Turn(
                role="router",
                json={"deep_thinking": True, "multi_agent": True, "reason": "two parts"},
            ),
            Turn(role="analysis", text="Count words, then report."),
            Turn(
                role="decompose",
                json={
                    "tasks": [
                        {"id": "1", "title": "Count the words"},
                        {"id": "2", "title": "Report", "depends_on": ["1"]},
                    ]
                },
            ),
            *step(
                [
                    Turn(
                        role="executor",
                        tool_calls=[
                            ScriptedToolCall(name="word_count", arguments={"text": "a b c"})
                        ],
                    ),
                    Turn(role="executor", text="There are 3 words."),
                ],
                "1",
                "3 words",
            ),
            *step([Turn(role="executor", text="Report: 3 words.")], "2", "reported", all_done=True),
            Turn(role="summary", text="The text has 3 words."),
            Turn(
                role="suggest",
                json={"questions": ["Count letters?", "Longest word?", "Any numbers?"]},
            ),
        ],
        tools=tools,
    )
    async with httpx2.AsyncClient(base_url=url, timeout=10) as http:
        events = await chat(
            http,
            message="How many words in 'a b c'?",
            deep_thinking=None,
            multi_agent=None,
            more_suggest=True,
        )
        final = events[-1]
        assert isinstance(final, RunFinished) and final.answer == "The text has 3 words."
        assert sum(isinstance(e, TaskCreated) for e in events) == 2
        assert any(e.type == "suggestions" for e in events)
        sid = events[0].session_id
        tasks = (await http.get(f"/api/v1/sessions/{sid}/tasks")).json()
        assert [(t["title"], t["status"], t["result"]) for t in tasks] == [
            ("Count the words", "done", "3 words"),
            ("Report", "done", "reported"),
        ]
        assert (await http.get("/api/v1/sessions/ses_nope/tasks")).status_code == 404

        flow = (await http.get("/api/v1/flow")).json()
    # The roles the server asked for, in order, are the flow's path.
    assert mock_llm.roles[:4] == ["router", "analysis", "decompose", "planning"]
    # Every agent node the executor visited is in the graph the API serves.
    visited = {e.node for e in events if e.type == "agent.started"}  # type: ignore[attr-defined]
    served = default_flow().model_validate(flow["graph"])
    assert visited <= agent_node_ids(served.root)
    assert flow["graph"] == default_flow().model_dump(mode="json", by_alias=True)
    assert flow["mermaid"] == to_mermaid(default_flow())
