"""The shipped scenarios a golden trace is kept for: one per path through
the default flow, each with the scripted LLM's turns.

A scenario is data (request, turns, settings) plus, for the cancel path,
when to cancel; ``golden.py`` runs them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sagents.testing import ScriptedToolCall, Turn
from sagents.testing.script import Faults
from sagents.tools import ToolManager, tool

BUNDLED_SKILLS = Path(__file__).resolve().parents[2] / "skill_workspace"
"""The skills that ship with Sage (a source checkout's ``skill_workspace``)."""


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    request: dict[str, Any]
    turns: list[Turn]
    settings: dict[str, Any] = field(default_factory=dict)
    cancel_at_agent: str | None = None
    """Cancel the run when this agent starts (the cancel path)."""


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def scenario_tools() -> ToolManager:
    manager = ToolManager()
    manager.add(add)
    return manager


SIMPLE = {"deep_thinking": False, "multi_agent": False}


def _loop_step(executor: list[Turn], verdict: dict[str, Any]) -> list[Turn]:
    return [
        Turn(role="planning", text="Plan the step."),
        *executor,
        Turn(role="observation", text="Observed."),
        Turn(role="judge", json=verdict),
        Turn(role="stage_summary", text="Progress noted."),
    ]


SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "simple_answer",
        "The simple path: the router takes the given flags, one answer.",
        {"message": "Say hello.", **SIMPLE},
        [Turn(role="simple", text="Hello!")],
    ),
    Scenario(
        "tool_call",
        "The simple agent calls a local tool, then answers.",
        {"message": "What is 2 + 3?", **SIMPLE},
        [
            Turn(
                role="simple", tool_calls=[ScriptedToolCall(name="add", arguments={"a": 2, "b": 3})]
            ),
            Turn(role="simple", text="2 + 3 = 5."),
        ],
    ),
    Scenario(
        "skill",
        "The skill selector picks a bundled skill; the agent loads it and answers.",
        {"message": "Convert 3 miles to km.", **SIMPLE},
        [
            Turn(
                role="skill_select",
                json={"use_skill": True, "skill": "unit-convert", "reason": "units"},
            ),
            Turn(
                role="simple",
                tool_calls=[
                    ScriptedToolCall(name="load_skill", arguments={"name": "unit-convert"})
                ],
            ),
            Turn(role="simple", text="3 miles is about 4.83 km."),
        ],
        {"skills_bundled_dir": BUNDLED_SKILLS},
    ),
    Scenario(
        "deep_thinking",
        "Deep thinking on the single-agent path: analysis, then the answer.",
        {"message": "Why is the sky blue?", "deep_thinking": True, "multi_agent": False},
        [
            Turn(role="analysis", text="Rayleigh scattering is the key."),
            Turn(role="simple", text="Shorter wavelengths scatter more."),
        ],
    ),
    Scenario(
        "multi_agent_retry",
        "Multi-agent: two tasks, a tool call, one task sent round again by the judge.",
        {"message": "Find A, then B.", "deep_thinking": False, "multi_agent": True},
        [
            Turn(
                role="decompose",
                json={
                    "tasks": [
                        {"id": "1", "title": "Find A"},
                        {"id": "2", "title": "Find B", "depends_on": ["1"]},
                    ]
                },
            ),
            *_loop_step(
                [
                    Turn(
                        role="executor",
                        tool_calls=[ScriptedToolCall(name="add", arguments={"a": 1, "b": 2})],
                    ),
                    Turn(role="executor", text="A is 3."),
                ],
                {"tasks": [{"task_id": "1", "status": "done", "result": "A = 3"}]},
            ),
            *_loop_step(
                [Turn(role="executor", text="No data for B yet.")],
                {"tasks": [{"task_id": "2", "status": "continue", "result": "no data"}]},
            ),
            *_loop_step(
                [Turn(role="executor", text="B is 4.")],
                {
                    "tasks": [{"task_id": "2", "status": "done", "result": "B = 4"}],
                    "all_done": True,
                },
            ),
            Turn(role="summary", text="A is 3 and B is 4."),
        ],
    ),
    Scenario(
        "clamp",
        "A message too long for the model's window is shortened (context.clamped).",
        {"message": "word " * 3000, **SIMPLE},
        [Turn(role="simple", text="That was long.")],
        {"llm_context_window": 1024},
    ),
    Scenario(
        "cancel",
        "The run is cancelled while the model has not answered yet.",
        {"message": "Take your time.", **SIMPLE},
        [Turn(role="simple", text="Too late.", faults=Faults(first_token_delay_s=60))],
        cancel_at_agent="simple",
    ),
    Scenario(
        "failure",
        "The model is unavailable: the run fails with the error.",
        {"message": "Anyone there?", **SIMPLE},
        [Turn(role="simple", text="never", faults=Faults(http_status=503, fail_times=10))],
        {"llm_max_retries": 0},
    ),
)
