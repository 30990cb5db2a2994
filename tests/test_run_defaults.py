"""Operator defaults for run options: set once in settings, they spare a
small local model the router and skill-selection calls on every request; a
request's own value still wins, and SAGE_SYSTEM_PROMPT replaces the opening."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sagents.agents.prompts import BASE_PROMPT
from sagents.events import EventBase, RouteDecided, RunFinished, Suggestions
from sagents.request import RunOptions, RunRequest
from sagents.sagent import SAgent
from sagents.testing import ScriptedLLM, Turn
from tests.conftest import BUNDLED_SKILLS, RuntimeFactory, make_settings


async def run(rt: Any, **request: Any) -> list[EventBase]:
    return [e async for e in SAgent(rt).run_stream(RunRequest(**request), "u1")]


def route(events: list[EventBase]) -> RouteDecided:
    return next(e for e in events if isinstance(e, RouteDecided))


async def test_default_route_skips_the_router_call(
    make_runtime: RuntimeFactory, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path, default_deep_thinking=False, default_multi_agent=False)
    llm = ScriptedLLM([Turn(role="simple", text="Hi!")])
    events = await run(await make_runtime(llm, settings=settings), message="hello")

    assert isinstance(events[-1], RunFinished) and events[-1].answer == "Hi!"
    assert [r.role for r in llm.requests] == ["simple"]  # no router call
    decided = route(events)
    assert (decided.deep_thinking, decided.multi_agent, decided.source) == (False, False, "options")
    assert "SAGE_DEFAULT_DEEP_THINKING" in decided.reason


async def test_a_request_overrides_the_default(
    make_runtime: RuntimeFactory, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path, default_deep_thinking=True, default_multi_agent=False)
    llm = ScriptedLLM([Turn(role="simple", text="Quick answer.")])
    events = await run(
        await make_runtime(llm, settings=settings),
        message="hello",
        deep_thinking=False,
        multi_agent=False,
    )
    assert [r.role for r in llm.requests] == ["simple"]  # no analysis either
    assert route(events).reason == "given in the request"


async def test_one_default_leaves_the_other_to_the_router(
    make_runtime: RuntimeFactory, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path, default_multi_agent=False)
    llm = ScriptedLLM(
        [
            Turn(role="router", json={"deep_thinking": False, "multi_agent": True, "reason": "r"}),
            Turn(role="simple", text="Done."),
        ]
    )
    events = await run(await make_runtime(llm, settings=settings), message="hello")
    decided = route(events)
    assert (decided.source, decided.multi_agent) == ("router", False)  # the default held
    assert [r.role for r in llm.requests] == ["router", "simple"]


async def test_suggestion_and_summary_defaults(
    make_runtime: RuntimeFactory, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path, default_more_suggest=True, default_force_summary=True)
    llm = ScriptedLLM(
        [
            Turn(role="simple", text="Paris."),
            Turn(role="summary", text="It is Paris."),
            Turn(role="suggest", json={"questions": ["And Italy?"]}),
        ]
    )
    rt = await make_runtime(llm, settings=settings)
    events = await run(
        rt,
        message="capital of France?",
        deep_thinking=False,
        multi_agent=False,
    )
    assert any(isinstance(e, Suggestions) for e in events)
    assert [r.role for r in llm.requests] == ["simple", "summary", "suggest"]

    llm.set_script([Turn(role="simple", text="Rome.")])
    quiet = await run(
        rt,
        message="and Italy?",
        deep_thinking=False,
        multi_agent=False,
        more_suggest=False,
        force_summary=False,
    )
    assert isinstance(quiet[-1], RunFinished) and quiet[-1].answer == "Rome."


async def test_skill_selection_off_keeps_the_skills_but_skips_the_call(
    make_runtime: RuntimeFactory, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path, skills_bundled_dir=BUNDLED_SKILLS, skill_selection=False)
    llm = ScriptedLLM([Turn(role="simple", text="Answered.")])
    rt = await make_runtime(llm, settings=settings)
    events = await run(rt, message="hello", deep_thinking=False, multi_agent=False)

    assert isinstance(events[-1], RunFinished)
    assert [r.role for r in llm.requests] == ["simple"]  # no skill_select call
    tools = {t["function"]["name"] for t in llm.requests[0].tools or []}
    assert "load_skill" in tools
    assert "You have skills" in llm.requests[0].messages[0]["content"]

    llm.set_script(
        [
            Turn(role="skill_select", json={"use_skill": False, "reason": "none fits"}),
            Turn(role="simple", text="Answered."),
        ]
    )
    await run(rt, message="hello", deep_thinking=False, multi_agent=False, skill_selection=True)
    assert [r.role for r in llm.requests[1:]] == ["skill_select", "simple"]


async def test_system_prompt_replaces_the_built_in_opening(
    make_runtime: RuntimeFactory, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path, system_prompt="You are Ada, a terse lab assistant.")
    llm = ScriptedLLM([Turn(role="simple", text="Yes.")])
    await run(
        await make_runtime(llm, settings=settings),
        message="ok?",
        deep_thinking=False,
        multi_agent=False,
    )
    system = llm.requests[0].messages[0]["content"]
    assert system.startswith("You are Ada, a terse lab assistant.")
    assert BASE_PROMPT not in system


def test_resolution_fills_only_what_the_request_left_out(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path, default_multi_agent=True, default_more_suggest=True, max_loop_count=7
    )
    resolved = RunOptions(more_suggest=False).resolved(settings)
    assert resolved.deep_thinking is None  # no default: the router decides
    assert resolved.multi_agent is True
    assert resolved.more_suggest is False
    assert resolved.max_loop_count == 7
    assert resolved.skill_selection is True
    assert resolved.force_summary is False
