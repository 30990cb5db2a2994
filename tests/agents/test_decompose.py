"""TaskDecomposeAgent: bad dependency plans are sent back once, then dropped."""

from __future__ import annotations

from typing import Any

from sagents.agents.decompose import Subtask, dependency_problem
from sagents.events import AgentNotice, EventBase
from sagents.request import RunRequest
from sagents.sagent import SAgent
from sagents.testing import ScriptedLLM, Turn
from tests.conftest import RuntimeFactory

CYCLE = {
    "tasks": [
        {"id": "a", "title": "A", "depends_on": ["b"]},
        {"id": "b", "title": "B", "depends_on": ["a"]},
    ]
}
FIXED = {"tasks": [{"id": "a", "title": "A"}, {"id": "b", "title": "B", "depends_on": ["a"]}]}


def tasks(*specs: tuple[str, list[str]]) -> list[Subtask]:
    return [Subtask(id=i, title=i, depends_on=d) for i, d in specs]


def test_dependency_problems_are_named() -> None:
    assert dependency_problem(tasks(("a", []), ("b", ["a"]))) is None
    assert "cycle" in (dependency_problem(tasks(("a", ["b"]), ("b", ["a"]))) or "")
    assert "cycle" in (dependency_problem(tasks(("a", ["a"]))) or "")
    assert "unknown" in (dependency_problem(tasks(("a", ["zz"]))) or "")
    assert "unique" in (dependency_problem(tasks(("a", []), ("a", []))) or "")


def rest_of_run() -> list[Turn]:
    """Enough turns for the loop to finish both tasks and summarise."""
    turns: list[Turn] = []
    for task_id in ("a", "b"):
        turns += [
            Turn(role="planning", text="plan"),
            Turn(role="executor", text="done"),
            Turn(role="observation", text="ok"),
            Turn(role="judge", json={"tasks": [{"task_id": task_id, "status": "done"}]}),
            Turn(role="stage_summary", text="progress"),
        ]
    return [*turns, Turn(role="summary", text="All done.")]


async def run(
    make_runtime: RuntimeFactory, plans: list[dict[str, Any]]
) -> tuple[Any, list[EventBase], ScriptedLLM]:
    llm = ScriptedLLM([*(Turn(role="decompose", json=p) for p in plans), *rest_of_run()])
    rt = await make_runtime(llm)
    request = RunRequest(message="do A and B", deep_thinking=False, multi_agent=True)
    events = [e async for e in SAgent(rt).run_stream(request, "u1")]
    return rt, events, llm


async def test_a_cycle_is_sent_back_and_the_fix_is_used(make_runtime: RuntimeFactory) -> None:
    rt, events, llm = await run(make_runtime, [CYCLE, FIXED])
    retry = llm.requests_for("decompose")[1].messages
    assert "cycle" in retry[-1]["content"]  # the problem was named to the model
    stored = await rt.store.list_tasks(events[0].session_id)
    assert [(t.title, len(t.depends_on)) for t in stored] == [("A", 0), ("B", 1)]
    assert not any(isinstance(e, AgentNotice) for e in events)


async def test_a_cycle_twice_drops_the_dependencies(make_runtime: RuntimeFactory) -> None:
    rt, events, _ = await run(make_runtime, [CYCLE, CYCLE])
    notices = [e for e in events if isinstance(e, AgentNotice)]
    assert [n.code for n in notices] == ["dependencies_dropped"]
    stored = await rt.store.list_tasks(events[0].session_id)
    assert [(t.title, t.depends_on, t.status) for t in stored] == [
        ("A", [], "done"),
        ("B", [], "done"),
    ]
    assert events[-1].type == "run.finished"
