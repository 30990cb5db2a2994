"""Golden traces: the order of events each shipped scenario produces, kept
as JSON lines and compared on every run (``sage eval golden``).

A trace line is one event reduced to what orchestration decides: its type,
the agent, and the field that says which branch was taken (the tool
called, the notice's code, the task's status, the message kind, how the
run ended). Consecutive deltas of one message are one line; ``usage`` is
left out (it follows every LLM call and says nothing about order). Ids,
times and text are not part of it, so a trace changes only when the flow
does. A changed trace is shown as a unified diff; ``--update`` rewrites the
files after a deliberate change.

Each scenario runs against the ScriptedLLM in a throwaway data directory,
with memory and extraction off, so no network and no model is needed.
"""

from __future__ import annotations

import asyncio
import difflib
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sagents.evals.scenarios import SCENARIOS, Scenario, scenario_tools
from sagents.events import EventBase
from sagents.flow.nodes import Flow
from sagents.request import RunRequest
from sagents.runtime import Runtime
from sagents.sagent import SAgent
from sagents.settings import Settings
from sagents.testing import ScriptedLLM

GOLDEN_DIR = Path(__file__).parent / "golden"
DETAIL = {
    "tool.started": "tool",
    "tool.called": "tool",
    "tool.result": "tool",
    "agent.notice": "code",
    "task.updated": "status",
    "task.created": "status",
    "message.started": "kind",
    "message.completed": "kind",
    "skill.selected": "skill",
    "route.decided": "source",
    "agent.finished": "status",
}
"""The field a line keeps for each event type, besides type and agent."""
COLLAPSED = frozenset({"message.delta", "reasoning.delta", "tool.args.delta"})
CANCEL_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Outcome:
    scenario: str
    expected: list[str] | None
    """None when the scenario has no golden file yet."""
    actual: list[str]

    @property
    def ok(self) -> bool:
        return self.expected == self.actual

    def diff(self) -> str:
        return "".join(
            difflib.unified_diff(
                [line + "\n" for line in self.expected or []],
                [line + "\n" for line in self.actual],
                fromfile=f"golden/{self.scenario}.jsonl",
                tofile=f"{self.scenario} (this run)",
            )
        )


def trace_lines(events: list[EventBase]) -> list[str]:
    """The golden-trace lines of a run's events."""
    lines: list[str] = []
    for event in events:
        if event.type == "usage":
            continue
        line: dict[str, Any] = {"type": event.type}
        if event.agent:
            line["agent"] = event.agent
        field = DETAIL.get(event.type)
        if field is not None:
            line[field] = getattr(event, field)
        text = json.dumps(line)
        if event.type in COLLAPSED and lines and lines[-1] == text:
            continue
        lines.append(text)
    return lines


async def run_scenario(scenario: Scenario, flow: Flow | None = None) -> list[EventBase]:
    """Run one scenario in a throwaway data directory; its events."""
    with tempfile.TemporaryDirectory(prefix="sage-golden-") as scratch:
        data = Path(scratch)
        values: dict[str, Any] = {
            "data_dir": data,
            "llm_base_url": "http://127.0.0.1:9/v1",
            "llm_model": "golden-model",
            "memory_enabled": False,
            "memory_extract": False,
            "skills_bundled_dir": data / "no-skills",
            "skill_deps_install": False,
            "mcp_settings_path": data / "no-mcp.json",
            "llm_retry_base_delay_s": 0.0,
            # Said here so SAGE_* variables of the shell cannot change the path.
            "default_more_suggest": False,
            "default_force_summary": False,
            "skill_selection": True,
            "llm_context_window": 32_768,
            **scenario.settings,
        }
        settings = Settings(_env_file=None, **values)
        llm = ScriptedLLM(scenario.turns)
        rt = await Runtime.create(settings, llm=llm, tools=scenario_tools())
        try:
            agent = SAgent(rt, flow)
            request = RunRequest(**scenario.request)
            if scenario.cancel_at_agent is None:
                return [e async for e in agent.run_stream(request, "golden")]
            return await _cancelled(agent, rt, request, scenario.cancel_at_agent)
        finally:
            await rt.aclose()


async def _cancelled(agent: SAgent, rt: Runtime, request: RunRequest, at: str) -> list[EventBase]:
    info = await agent.start(request, "golden")
    events: list[EventBase] = []

    async def follow() -> None:
        async for event in rt.runs.subscribe(info.run_id):
            events.append(event)
            if event.type == "agent.started" and event.agent == at:
                agent.cancel(info.run_id, "golden cancel")

    await asyncio.wait_for(follow(), CANCEL_TIMEOUT_S)
    return events


def read_golden(name: str, directory: Path = GOLDEN_DIR) -> list[str] | None:
    path = directory / f"{name}.jsonl"
    if not path.is_file():
        return None
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def write_golden(name: str, lines: list[str], directory: Path = GOLDEN_DIR) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{name}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")


async def check(
    *,
    update: bool = False,
    only: list[str] | None = None,
    flow: Flow | None = None,
    directory: Path = GOLDEN_DIR,
) -> list[Outcome]:
    """Run the scenarios (``only`` some, by name) and compare each with its
    golden file; with ``update``, write what ran instead."""
    unknown = set(only or ()) - {s.name for s in SCENARIOS}
    if unknown:
        raise ValueError(f"unknown scenarios: {', '.join(sorted(unknown))}")
    outcomes: list[Outcome] = []
    for scenario in SCENARIOS:
        if only and scenario.name not in only:
            continue
        actual = trace_lines(await run_scenario(scenario, flow))
        if update:
            write_golden(scenario.name, actual, directory)
        outcomes.append(Outcome(scenario.name, read_golden(scenario.name, directory), actual))
    return outcomes
