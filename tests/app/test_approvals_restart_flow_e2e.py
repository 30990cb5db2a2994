"""A multi-agent run whose first (or second) task's executor waits for an
approval, the server restarts, the decision goes to the new server: the run
continues at its place in the flow (the executor's tool loop, then the loop
body's observation, judge and stage summary for that task, the next task,
the summary), not with the simple agent's loop, under the same run id, its
loop count going on from the iterations before the restart."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2

from sagents.events import (
    AgentFinished,
    AgentNotice,
    AgentStarted,
    ApprovalRequested,
    EventBase,
    RunFinished,
    Suggestions,
    TaskUpdated,
    ToolResult,
)
from sagents.testing import MockLLMServer, Script, ScriptedToolCall, Turn
from tests.app.approval_tools import serve_with_pay
from tests.app.conftest import SIMPLE, sse_events
from tests.app.server_process import free_port, stop
from tests.app.test_approvals_restart_e2e import stored_events

PAY = ScriptedToolCall(name="pay", arguments={"to": "bob", "amount": 5}, id="call_p")
TWO_TASKS = {"tasks": [{"id": "1", "title": "Pay bob"}, {"id": "2", "title": "Report it"}]}
TWO_TASKS_PAY_SECOND = {
    "tasks": [{"id": "1", "title": "Find bob"}, {"id": "2", "title": "Pay bob"}]
}


def judged(task: str, result: str, all_done: bool) -> Turn:
    return Turn(
        role="judge",
        json={
            "tasks": [{"task_id": task, "status": "done", "result": result}],
            "all_done": all_done,
        },
    )


SCRIPT = Script(
    turns=[
        Turn(role="decompose", json=TWO_TASKS),
        Turn(role="planning", text="Pay bob 5."),
        Turn(role="executor", tool_calls=[PAY]),
        # After the restart:
        Turn(role="executor", text="Paid bob 5."),
        Turn(role="observation", text="Bob was paid."),
        judged("1", "paid 5 to bob", False),
        Turn(role="stage_summary", text="Bob is paid; the report is next."),
        Turn(role="planning", text="Write the report."),
        Turn(role="executor", text="Reported: bob got 5."),
        Turn(role="observation", text="Reported."),
        judged("2", "reported", True),
        Turn(role="stage_summary", text="All done."),
        Turn(role="summary", text="Bob was paid 5, and it is reported."),
        Turn(role="suggest", json={"questions": ["Pay alice too?"]}),
    ]
)


@dataclass(frozen=True)
class Resumed:
    """A multi-agent run that waited for ``pay``, across a restart."""

    requested: ApprovalRequested
    roles_after: list[str | None]
    """The LLM roles called after the restart, in order."""
    events: list[EventBase]
    """The run's events after ``approval.requested``, read from the new server."""
    detail: dict[str, Any]
    tasks: list[dict[str, Any]]
    paid: str
    """What ``pay`` wrote (once per call)."""


async def wait_restart_approve(
    tmp_path: Path, mock_llm: MockLLMServer, script: Script, **options: Any
) -> Resumed:
    """Run ``script`` as a multi-agent run (with ``options``) until it asks
    to ``pay``, stop the server (a clean shutdown lets go of the waiting
    run), start another on the same data, approve there, and read what the
    run did then."""
    mock_llm.set_script(script)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    data, pay_log = tmp_path / "data", tmp_path / "paid.txt"
    proc = serve_with_pay(tmp_path, data, port, mock_llm.base_url, pay_log)
    try:
        async with httpx2.AsyncClient(base_url=url, timeout=30) as http:
            body = {**SIMPLE, "multi_agent": True, "more_suggest": True, "message": "pay bob"}
            body.update(options)
            body["on_disconnect"] = "continue"
            async for event in sse_events(http, "POST", "/api/v1/chat", json=body):
                if isinstance(event, ApprovalRequested):
                    requested = event
                    break
    finally:
        stop(proc)  # a clean shutdown lets go of the waiting run
    assert requested.call_id == "call_p"
    assert not pay_log.exists()
    roles_before = len(mock_llm.roles)

    sid, rid = requested.session_id, requested.run_id
    proc = serve_with_pay(tmp_path, data, port, mock_llm.base_url, pay_log)
    try:
        async with httpx2.AsyncClient(base_url=url, timeout=30) as http:
            decided = await http.post(
                f"/api/v1/sessions/{sid}/runs/{rid}/approvals/call_p", json={"decision": "approve"}
            )
            assert decided.status_code == 200, decided.text
            events = await stored_events(http, sid, rid, requested.seq)
            detail = (await http.get(f"/api/v1/sessions/{sid}")).json()
            tasks = (await http.get(f"/api/v1/sessions/{sid}/tasks")).json()
    finally:
        stop(proc)
    roles_after = mock_llm.roles[roles_before:]
    return Resumed(requested, roles_after, events, detail, tasks, pay_log.read_text())


def paid_once_then_steps(resumed: Resumed) -> list[tuple[str, str | None]]:
    """Checks what every resumed run here shares (gap-free events after the
    request, the decided call first, ``pay`` run once), then returns the
    flow's steps after the restart: agents started, and executors finished."""
    requested, events = resumed.requested, resumed.events
    assert [e.seq for e in events] == list(range(requested.seq + 1, events[-1].seq + 1))
    assert [e.type for e in events[:2]] == ["tool.called", "approval.resolved"]
    assert [(e.ok, e.content) for e in events if isinstance(e, ToolResult)] == [
        (True, "paid 5 to bob")
    ]
    return [
        (e.type, e.agent)
        for e in events
        if isinstance(e, AgentStarted) or (isinstance(e, AgentFinished) and e.agent == "executor")
    ]


async def test_a_restart_while_an_executor_waits_continues_the_task_loop(
    tmp_path: Path, mock_llm: MockLLMServer
) -> None:
    resumed = await wait_restart_approve(tmp_path, mock_llm, SCRIPT)
    # The waiting executor finishes, then the flow goes on from its place.
    steps = paid_once_then_steps(resumed)
    events = resumed.events
    assert steps == [
        ("agent.finished", "executor"),
        ("agent.started", "observation"),
        ("agent.started", "judge"),
        ("agent.started", "stage_summary"),
        ("agent.started", "planning"),
        ("agent.started", "executor"),
        ("agent.finished", "executor"),
        ("agent.started", "observation"),
        ("agent.started", "judge"),
        ("agent.started", "stage_summary"),
        ("agent.started", "summary"),
        ("agent.started", "suggest"),
    ]
    assert resumed.roles_after == [
        "executor",
        "observation",
        "judge",
        "stage_summary",
        "planning",
        "executor",
        "observation",
        "judge",
        "stage_summary",
        "summary",
        "suggest",
    ]
    done = [(e.task_id.split(".")[-1], e.status) for e in events if isinstance(e, TaskUpdated)]
    assert done == [("1", "done"), ("2", "running"), ("2", "done")]
    assert [e.questions for e in events if isinstance(e, Suggestions)] == [["Pay alice too?"]]
    assert isinstance(events[-1], RunFinished)
    assert events[-1].answer == "Bob was paid 5, and it is reported."
    detail = resumed.detail
    assert (detail["status"], detail["runs"][0]["status"]) == ("completed", "finished")
    assert [(t["title"], t["status"]) for t in resumed.tasks] == [
        ("Pay bob", "done"),
        ("Report it", "done"),
    ]
    assert resumed.paid == "bob 5\n"  # run once, after the restart


SECOND_TASK_WAITS = Script(
    turns=[
        Turn(role="decompose", json=TWO_TASKS_PAY_SECOND),
        Turn(role="planning", text="Look bob up."),
        Turn(role="executor", text="Bob is bob@example.org."),
        Turn(role="observation", text="Bob was found."),
        judged("1", "bob@example.org", False),
        Turn(role="stage_summary", text="Bob is found; paying him is next."),
        Turn(role="planning", text="Pay bob 5."),
        Turn(role="executor", tool_calls=[PAY]),
        # After the restart:
        Turn(role="executor", text="Paid bob 5."),
        Turn(role="observation", text="Bob was paid."),
        judged("2", "paid 5 to bob", True),
        Turn(role="stage_summary", text="All done."),
        Turn(role="summary", text="Bob was found and paid 5."),
        Turn(role="suggest", json={"questions": ["Pay alice too?"]}),
    ]
)


async def test_a_restart_while_the_second_tasks_executor_waits_finishes_the_loop(
    tmp_path: Path, mock_llm: MockLLMServer
) -> None:
    """The first task is done when the second task's executor waits: after
    the restart, the resumed run finishes that second task (its executor,
    observation, judge, stage summary) in the loop's second iteration, then
    leaves the loop for the summary; the first task is not planned or run
    again."""
    resumed = await wait_restart_approve(tmp_path, mock_llm, SECOND_TASK_WAITS)
    steps = paid_once_then_steps(resumed)
    events = resumed.events
    assert steps == [
        ("agent.finished", "executor"),
        ("agent.started", "observation"),
        ("agent.started", "judge"),
        ("agent.started", "stage_summary"),
        ("agent.started", "summary"),
        ("agent.started", "suggest"),
    ]
    assert resumed.roles_after == [
        "executor",
        "observation",
        "judge",
        "stage_summary",
        "summary",
        "suggest",
    ]
    done = [(e.task_id.split(".")[-1], e.status) for e in events if isinstance(e, TaskUpdated)]
    assert done == [("2", "done")]
    assert [e.questions for e in events if isinstance(e, Suggestions)] == [["Pay alice too?"]]
    assert isinstance(events[-1], RunFinished)
    assert events[-1].answer == "Bob was found and paid 5."
    detail = resumed.detail
    assert (detail["status"], detail["runs"][0]["status"]) == ("completed", "finished")
    assert [(t["title"], t["status"]) for t in resumed.tasks] == [
        ("Find bob", "done"),
        ("Pay bob", "done"),
    ]
    assert resumed.paid == "bob 5\n"  # run once, after the restart


async def test_the_loop_count_goes_on_after_the_restart(
    tmp_path: Path, mock_llm: MockLLMServer
) -> None:
    """With ``max_loop_count`` 2, the second task's executor waits in the
    loop's second iteration; after the restart the judge sends that task
    round again, and the loop stops at its limit (the iteration before the
    restart counts) rather than planning a third time."""
    turns = SECOND_TASK_WAITS.turns
    [*before, executor, observation, _judge, stage] = turns[:12]
    again = Turn(role="judge", json={"tasks": [{"task_id": "2", "status": "continue"}]})
    script = Script(
        turns=[
            *before,
            executor,
            observation,
            again,
            stage,
            Turn(role="summary", text="Bob was found; paying him is not confirmed."),
            Turn(role="suggest", json={"questions": ["Try again?"]}),
        ]
    )
    resumed = await wait_restart_approve(tmp_path, mock_llm, script, max_loop_count=2)
    assert resumed.roles_after == [
        "executor",
        "observation",
        "judge",
        "stage_summary",
        "summary",
        "suggest",
    ]
    notices = [e.code for e in resumed.events if isinstance(e, AgentNotice)]
    assert notices == ["max_loop_count", "cut_short"]
    assert [(t["title"], t["status"]) for t in resumed.tasks] == [
        ("Find bob", "done"),
        ("Pay bob", "skipped"),
    ]
    assert isinstance(resumed.events[-1], RunFinished)
    assert resumed.paid == "bob 5\n"
