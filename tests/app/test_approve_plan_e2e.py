"""``approve_plan``: a multi-agent run pauses after decomposition with its
task list; an edit replaces the list (and one that cannot run is refused
with 422), a rejection skips every task and the summary says so."""

from __future__ import annotations

from typing import Any

import httpx2

from sagents.agents.decompose import PLAN_CALL
from sagents.events import ApprovalRequested, EventBase, RunFinished, TaskCreated, TaskUpdated
from sagents.testing import MockLLMServer, Turn
from tests.app.conftest import SIMPLE, StartServer, sse_events

MULTI = {**SIMPLE, "multi_agent": True, "approve_plan": True}
DECOMPOSE = Turn(
    role="decompose",
    json={"tasks": [{"id": "1", "title": "Count"}, {"id": "2", "title": "Report"}]},
)


def one_task(task_id: str, answer: str) -> list[Turn]:
    return [
        Turn(role="planning", text=f"Plan for {task_id}."),
        Turn(role="executor", text=answer),
        Turn(role="observation", text="Looks right."),
        Turn(
            role="judge",
            json={
                "tasks": [{"task_id": task_id, "status": "done", "result": answer}],
                "all_done": True,
            },
        ),
        Turn(role="stage_summary", text="Done."),
    ]


async def run_deciding(
    http: httpx2.AsyncClient, decisions: list[dict[str, Any]]
) -> tuple[list[EventBase], list[httpx2.Response]]:
    events: list[EventBase] = []
    answers: list[httpx2.Response] = []
    body = {**MULTI, "message": "count and report"}
    async for event in sse_events(http, "POST", "/api/v1/chat", json=body):
        events.append(event)
        if isinstance(event, ApprovalRequested):
            path = f"/api/v1/sessions/{event.session_id}/runs/{event.run_id}/approvals/{PLAN_CALL}"
            for decision in decisions:
                answers.append(await http.post(path, json=decision))
    return events, answers


async def test_an_edited_plan_runs_instead(
    start_server: StartServer, mock_llm: MockLLMServer
) -> None:
    url = start_server(
        [DECOMPOSE, *one_task("1", "Counted and reported."), Turn(role="summary", text="All done.")]
    )
    cyclic = {"tasks": [{"id": "a", "title": "A", "depends_on": ["a"]}]}
    untitled = {"tasks": [{"id": "a"}]}
    edited = {"tasks": [{"id": "1", "title": "Count and report"}]}
    async with httpx2.AsyncClient(base_url=url, timeout=30) as http:
        events, answers = await run_deciding(
            http,
            [
                {"decision": "edit", "arguments": cyclic},
                {"decision": "edit", "arguments": untitled},
                {"decision": "edit", "arguments": edited},
            ],
        )
    requested = next(e for e in events if isinstance(e, ApprovalRequested))
    assert requested.tool == PLAN_CALL and requested.agent == "decompose"
    assert [t["title"] for t in requested.arguments["tasks"]] == ["Count", "Report"]
    assert [a.status_code for a in answers] == [422, 422, 200]
    assert "cycle" in answers[0].json()["error"]["message"]
    assert answers[1].json()["error"]["details"][0]["field"] == "arguments.tasks.0.title"
    created = [e.title for e in events if isinstance(e, TaskCreated)]
    assert created == ["Count and report"]  # no task was created before the decision
    assert isinstance(events[-1], RunFinished) and events[-1].answer == "All done."


async def test_a_rejected_plan_runs_no_task(
    start_server: StartServer, mock_llm: MockLLMServer
) -> None:
    url = start_server([DECOMPOSE, Turn(role="summary", text="Nothing was done.")])
    async with httpx2.AsyncClient(base_url=url, timeout=30) as http:
        events, answers = await run_deciding(
            http, [{"decision": "reject", "reason": "wrong approach"}]
        )
    assert [a.status_code for a in answers] == [200]
    skipped = [e for e in events if isinstance(e, TaskUpdated)]
    assert [(e.status, e.result) for e in skipped] == [
        ("skipped", "not run: the plan was rejected (wrong approach)")
    ] * 2
    assert "executor" not in mock_llm.roles
    assert isinstance(events[-1], RunFinished) and events[-1].answer == "Nothing was done."
