"""Golden traces of the default flow, one per path, with the ScriptedLLM.

A trace is the ordered list of event types, with the agent named on
``agent.started`` / ``agent.finished``, runs of deltas collapsed and
``usage`` events left out (they follow every LLM call and add only noise).
A change to orchestration shows up here as a diff.
"""

from __future__ import annotations

from typing import Any

from sagents.agents.judge import MAX_ATTEMPTS
from sagents.events import (
    AgentNotice,
    RouteDecided,
    RunFinished,
    Suggestions,
    TaskUpdated,
    WorkflowSelected,
)
from sagents.request import RunRequest
from sagents.sagent import SAgent
from sagents.testing import ScriptedLLM, ScriptedToolCall, Turn
from tests.conftest import RuntimeFactory
from tests.flow.golden_trace import (
    ROUTE,
    STREAMED,
    loop_iteration,
    run,
    span,
    step,
    three_tasks,
    tools,
    trace,
)


async def test_simple_path(make_runtime: RuntimeFactory) -> None:
    rt = await make_runtime(ScriptedLLM([Turn(role="simple", text="Hello there.")]))
    events = await run(rt, message="hi", deep_thinking=False, multi_agent=False)
    assert trace(events) == ["run.started", *ROUTE, *span("simple", *STREAMED), "run.finished"]
    route = next(e for e in events if isinstance(e, RouteDecided))
    assert route.source == "options"


async def test_router_decides(make_runtime: RuntimeFactory) -> None:
    llm = ScriptedLLM(
        [
            Turn(
                role="router",
                json={"deep_thinking": False, "multi_agent": False, "reason": "small talk"},
            ),
            Turn(role="simple", text="Hi!"),
        ]
    )
    rt = await make_runtime(llm)
    events = await run(rt, message="hello")
    assert trace(events) == ["run.started", *ROUTE, *span("simple", *STREAMED), "run.finished"]
    route = next(e for e in events if isinstance(e, RouteDecided))
    assert (route.source, route.reason, route.multi_agent) == ("router", "small talk", False)
    assert [r.role for r in llm.requests] == ["router", "simple"]


async def test_deep_thinking_only(make_runtime: RuntimeFactory) -> None:
    llm = ScriptedLLM(
        [
            Turn(role="analysis", text="The user wants a haiku about rain."),
            Turn(role="simple", text="Soft rain on the roof."),
        ]
    )
    rt = await make_runtime(llm)
    events = await run(rt, message="haiku about rain", deep_thinking=True, multi_agent=False)
    assert trace(events) == [
        "run.started",
        *ROUTE,
        *span("analysis", *STREAMED),
        *span("simple", *STREAMED),
        "run.finished",
    ]
    # The analysis is in the context of the agent after it.
    simple_prompt = llm.requests_for("simple")[0].messages
    assert any("haiku about rain" in str(m["content"]) for m in simple_prompt)
    stored = await rt.store.list_messages(events[0].session_id)
    assert [m.kind for m in stored if m.role == "assistant"] == ["analysis", "answer"]


async def test_multi_agent_three_subtasks_one_retried(make_runtime: RuntimeFactory) -> None:
    script = [
        Turn(role="decompose", json=three_tasks()),
        *step(
            [
                Turn(
                    role="executor",
                    tool_calls=[ScriptedToolCall(name="add", arguments={"a": 1, "b": 2})],
                ),
                Turn(role="executor", text="A is 3."),
            ],
            {"tasks": [{"task_id": "1", "status": "done", "result": "A = 3"}]},
        ),
        *step(
            [Turn(role="executor", text="No data for B yet.")],
            {"tasks": [{"task_id": "2", "status": "continue", "result": "no data"}]},
        ),
        *step(
            [Turn(role="executor", text="B is 4.")],
            {"tasks": [{"task_id": "2", "status": "done", "result": "B = 4"}]},
        ),
        *step(
            [Turn(role="executor", text="A + B = 7.")],
            {"tasks": [{"task_id": "3", "status": "done", "result": "7"}], "all_done": True},
        ),
        Turn(role="summary", text="A is 3, B is 4, together 7."),
    ]
    llm = ScriptedLLM(script)
    rt = await make_runtime(llm, tools())
    events = await run(rt, message="A, B and their sum", deep_thinking=False, multi_agent=True)
    assert trace(events) == [
        "run.started",
        *ROUTE,
        *span("decompose", "task.created", "task.created", "task.created"),
        *loop_iteration(["running", "update"], tool_round=True),
        *loop_iteration(["running"]),  # task 2: "continue" changes nothing yet
        *loop_iteration(["update"]),  # task 2 retried (already running), then done
        *loop_iteration(["running", "update"]),
        *span("summary", *STREAMED),
        "run.finished",
    ]
    final = events[-1]
    assert isinstance(final, RunFinished) and final.answer == "A is 3, B is 4, together 7."
    tasks = await rt.store.list_tasks(events[0].session_id)
    assert [(t.title, t.status, t.result) for t in tasks] == [
        ("Find A", "done", "A = 3"),
        ("Find B", "done", "B = 4"),
        ("Combine A and B", "done", "7"),
    ]
    assert tasks[2].depends_on == [tasks[0].id, tasks[1].id]
    assert llm.remaining == 0
    # The executor's second call saw its tool call paired with the result.
    second = llm.requests_for("executor")[1].messages
    assert second[-1]["role"] == "tool" and second[-1]["content"] == "3"


async def test_more_than_five_workflows_selects_one(make_runtime: RuntimeFactory) -> None:
    workflows = [
        {"name": f"wf{i}", "description": f"workflow {i}", "steps": ["a"]} for i in range(7)
    ]
    llm = ScriptedLLM(
        [
            Turn(role="workflow_select", json={"workflow": "wf4", "reason": "fits"}),
            Turn(role="simple", text="Done the wf4 way."),
        ]
    )
    rt = await make_runtime(llm)
    events = await run(
        rt, message="do it", deep_thinking=False, multi_agent=False, available_workflows=workflows
    )
    assert trace(events) == [
        "run.started",
        *span("workflow_select", "workflow.selected"),
        *ROUTE,
        *span("simple", *STREAMED),
        "run.finished",
    ]
    assert next(e for e in events if isinstance(e, WorkflowSelected)).workflow == "wf4"


async def test_five_workflows_all_guide_the_planner(make_runtime: RuntimeFactory) -> None:
    workflows = [{"name": f"wf{i}", "description": f"recipe {i}"} for i in range(5)]
    llm = ScriptedLLM(
        [
            Turn(role="decompose", json={"tasks": []}),
            *step(
                [Turn(role="executor", text="done")],
                {"tasks": [{"task_id": "1", "status": "done"}]},
            ),
            Turn(role="summary", text="All done."),
        ]
    )
    rt = await make_runtime(llm)
    events = await run(
        rt, message="job", deep_thinking=False, multi_agent=True, available_workflows=workflows
    )
    assert "agent.started:workflow_select" not in trace(events)
    plan_prompt = str(llm.requests_for("planning")[0].messages)
    assert all(f"recipe {i}" in plan_prompt for i in range(5))
    # Zero subtasks → one task for the whole request.
    tasks = await rt.store.list_tasks(events[0].session_id)
    assert [(t.title, t.status) for t in tasks] == [("job", "done")]


async def test_more_suggest(make_runtime: RuntimeFactory) -> None:
    questions = ["What about Lyon?", "How big is Paris?", "Best season to visit?"]
    llm = ScriptedLLM(
        [Turn(role="simple", text="Paris."), Turn(role="suggest", json={"questions": questions})]
    )
    rt = await make_runtime(llm)
    events = await run(
        rt, message="capital?", deep_thinking=False, multi_agent=False, more_suggest=True
    )
    assert trace(events) == [
        "run.started",
        *ROUTE,
        *span("simple", *STREAMED),
        *span("suggest", "suggestions"),
        "run.finished",
    ]
    assert next(e for e in events if isinstance(e, Suggestions)).questions == questions


async def test_force_summary(make_runtime: RuntimeFactory) -> None:
    llm = ScriptedLLM(
        [Turn(role="simple", text="A long rambling answer: 42."), Turn(role="summary", text="42.")]
    )
    rt = await make_runtime(llm)
    events = await run(rt, message="q", deep_thinking=False, multi_agent=False, force_summary=True)
    assert trace(events) == [
        "run.started",
        *ROUTE,
        *span("simple", *STREAMED),
        *span("summary", *STREAMED),
        "run.finished",
    ]
    final = events[-1]
    assert isinstance(final, RunFinished) and final.answer == "42."
    assert "A long rambling answer: 42." in str(llm.requests_for("summary")[0].messages)


async def test_max_loop_count_reached(make_runtime: RuntimeFactory) -> None:
    keep_going = {"tasks": [{"task_id": "1", "status": "continue"}]}
    llm = ScriptedLLM(
        [
            Turn(
                role="decompose",
                json={"tasks": [{"id": "1", "title": "Endless"}, {"id": "2", "title": "Next"}]},
            ),
            *step([Turn(role="executor", text="trying")], keep_going),
            *step([Turn(role="executor", text="trying again")], keep_going),
            Turn(role="summary", text="Cut short: only partial progress."),
        ]
    )
    rt = await make_runtime(llm)
    events = await run(rt, message="x", deep_thinking=False, multi_agent=True, max_loop_count=2)
    kinds = trace(events)
    assert kinds.count("agent.started:planning") == 2
    notices = [e.code for e in events if isinstance(e, AgentNotice)]
    assert notices == ["max_loop_count", "cut_short"]
    assert kinds[-10:] == [
        "agent.notice",  # the loop's bound
        *span("summary", "task.updated", "task.updated", "agent.notice", *STREAMED),
        "run.finished",
    ]
    tasks = await rt.store.list_tasks(events[0].session_id)
    assert [t.status for t in tasks] == ["skipped", "skipped"]
    assert "max_loop_count" in tasks[0].result
    assert "cut short" in str(llm.requests_for("summary")[0].messages)
    assert isinstance(events[-1], RunFinished)


async def test_a_task_the_judge_keeps_sending_back_fails_after_its_attempts(
    make_runtime: RuntimeFactory,
) -> None:
    """ "continue" retries a task with a new plan, at most ``MAX_ATTEMPTS``
    times per task; then it is failed and the loop goes on with the rest. The
    count is the task's own: a task retried before does not shorten the next
    one's budget. The loop's own bound (10) is never reached."""
    assert MAX_ATTEMPTS == 3

    def verdict(task_id: str, status: str, result: str = "") -> dict[str, Any]:
        return {"tasks": [{"task_id": task_id, "status": status, "result": result}]}

    def attempt(text: str, judged: dict[str, Any]) -> list[Turn]:
        return step([Turn(role="executor", text=text)], judged)

    llm = ScriptedLLM(
        [
            Turn(
                role="decompose",
                json={"tasks": [{"id": "1", "title": "Retried"}, {"id": "2", "title": "Stubborn"}]},
            ),
            *attempt("first try", verdict("1", "continue")),
            *attempt("second try", verdict("1", "continue")),
            *attempt("third try", verdict("1", "done", "made it")),
            *attempt("no luck", verdict("2", "continue")),
            *attempt("still none", verdict("2", "continue")),
            *attempt("nothing", verdict("2", "continue", "no source answers")),
            Turn(role="summary", text="One done, one not."),
        ]
    )
    rt = await make_runtime(llm)
    events = await run(rt, message="x", deep_thinking=False, multi_agent=True, max_loop_count=10)
    assert trace(events).count("agent.started:planning") == 6
    assert llm.remaining == 0
    assert isinstance(events[-1], RunFinished)
    assert "max_loop_count" not in [e.code for e in events if isinstance(e, AgentNotice)]
    tasks = await rt.store.list_tasks(events[0].session_id)
    assert [(t.status, t.result) for t in tasks] == [
        ("done", "made it"),
        ("failed", "failed after 3 attempts: no source answers"),
    ]


async def test_decider_answering_garbage_twice_falls_back(make_runtime: RuntimeFactory) -> None:
    llm = ScriptedLLM(
        [
            Turn(role="router", text="I think maybe yes?"),
            Turn(role="router", text="{not json"),
            Turn(role="simple", text="Answer anyway."),
        ]
    )
    rt = await make_runtime(llm)
    events = await run(rt, message="hmm")
    assert trace(events) == [
        "run.started",
        *span("router", "agent.notice", "route.decided"),
        *span("simple", *STREAMED),
        "run.finished",
    ]
    notice = next(e for e in events if isinstance(e, AgentNotice))
    assert notice.code == "decision_fallback" and "simple path" in notice.message
    route = next(e for e in events if isinstance(e, RouteDecided))
    assert (route.deep_thinking, route.multi_agent) == (False, False)


async def test_cancel_inside_the_loop(make_runtime: RuntimeFactory) -> None:
    llm = ScriptedLLM(
        [
            Turn(role="decompose", json={"tasks": [{"id": "1", "title": "Slow"}]}),
            Turn(role="planning", text="Plan."),
            Turn(role="executor", text="working " * 200, faults={"token_delay_s": 0.01}),
        ]
    )
    rt = await make_runtime(llm)
    agent = SAgent(rt)
    info = await agent.start(RunRequest(message="x", deep_thinking=False, multi_agent=True), "u1")
    events = []
    async for event in rt.runs.subscribe(info.run_id):
        events.append(event)
        if event.type == "message.delta" and event.agent == "executor":
            agent.cancel(info.run_id, "stop")
    kinds = trace(events)
    assert kinds[-4:] == [
        "message.delta",
        "message.completed",
        "agent.finished:executor",
        "run.cancelled",
    ]
    assert [e for e in events if e.type == "agent.finished"][-1].status == "cancelled"  # type: ignore[attr-defined]
    tasks = await rt.store.list_tasks(info.session_id)
    assert [t.status for t in tasks] == ["running"]  # left as it was; the run is cancelled
    updated = [e for e in events if isinstance(e, TaskUpdated)]
    assert [u.status for u in updated] == ["running"]
