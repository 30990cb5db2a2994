"""Scenario 1: one tool turn in process, through ``SAgent.run_stream``.

User message → the LLM calls ``add(2, 3)`` → the tool runs → the LLM streams
a 50-token answer; 0 ms LLM latency, so what is measured is Sage's own cost
per turn against the raw SDK doing the same two calls. Turns alternate
between Sage and direct so machine noise hits both alike; each turn is a
new session, so history length stays constant.
"""

from __future__ import annotations

import time
from typing import Any

from bench.env import BenchEnv
from bench.mock import Workload, answer_text
from bench.result import Metric, ScenarioResult, median, ms, percentile
from bench.scenario import BenchError, Scenario
from bench.tools import add_tools
from sagents.events import EventBase
from sagents.request import RunRequest
from sagents.sagent import SAgent

QUESTION = "What is 2 + 3?"
SIMPLE_PATH: dict[str, Any] = {
    "deep_thinking": False,
    "multi_agent": False,
    "available_tools": ["add"],
    "available_skills": [],
}
"""Both flags given: the router reports them without an LLM call, so the run
takes the simple path (SimpleAgent). Only ``add`` is offered and no skills,
so the run makes exactly the direct baseline's two LLM calls."""
WORKLOAD = Workload(tokens=50, delay_ms=0)
ROTATIONS = (("sage", "direct", "lean"), ("direct", "lean", "sage"), ("lean", "sage", "direct"))
LEAN_P50 = "p50 per turn, vs lean direct"
"""The same Sage figure against the bare-httpx2 baseline (bench.direct): what
orchestration alone costs, now that Sage no longer pays the SDK's parsing."""


async def sage_turn(sage: SAgent) -> list[EventBase]:
    return [e async for e in sage.run_stream(RunRequest(message=QUESTION, **SIMPLE_PATH), "bench")]


def check_sage_events(events: list[EventBase], answer: str) -> None:
    types = [e.type for e in events]
    if types[-1] != "run.finished" or "tool.result" not in types:
        raise BenchError(f"unexpected Sage run: {types}")
    result = next(e for e in events if e.type == "tool.result")
    if getattr(result, "content", None) != "5" or getattr(events[-1], "answer", None) != answer:
        raise BenchError("Sage's tool result or answer is wrong")


async def run(env: BenchEnv) -> ScenarioResult:
    turns = env.size(200, 4)
    warmup = env.size(20, 1)
    result = ScenarioResult(
        "tool_turn",
        TITLE,
        {"turns": turns, "warmup": warmup, "answer_tokens": WORKLOAD.tokens, "llm_latency_ms": 0},
    )
    expected = answer_text(WORKLOAD.tokens)
    times: dict[str, list[float]] = {"sage": [], "direct": [], "lean": []}
    async with (
        env.runtime("tool_turn", WORKLOAD, add_tools()) as rt,
        env.direct() as direct,
        env.direct(lean=True) as lean,
    ):
        sage = SAgent(rt)
        model = WORKLOAD.model()
        clients = {"direct": direct, "lean": lean}
        for i in range(warmup + turns):
            order = ROTATIONS[i % len(ROTATIONS)]  # noise hits every side alike
            for side in order:
                started = time.perf_counter()
                if side == "sage":
                    events = await sage_turn(sage)
                    elapsed = time.perf_counter() - started
                    check_sage_events(events, expected)
                else:
                    answer, _ = await clients[side].tool_turn(model, [], QUESTION)
                    elapsed = time.perf_counter() - started
                    if answer != expected:
                        raise BenchError(f"the {side} baseline got a wrong answer")
                if i >= warmup:
                    times[side].append(elapsed)
    result.checks["every turn answered correctly"] = True
    sage_s, direct_s, lean_s = times["sage"], times["direct"], times["lean"]
    result.add(Metric("p50 per turn", ms(median(sage_s)), "ms", ms(median(direct_s)), 1.10, True))
    result.add(
        Metric("p95 per turn", ms(percentile(sage_s, 95)), "ms", ms(percentile(direct_s, 95)))
    )
    result.add(Metric(LEAN_P50, ms(median(sage_s)), "ms", ms(median(lean_s))))
    return result


TITLE = "Tool turn in process (SAgent.run_stream, 2 LLM calls + add tool, 50-token answer)"
SCENARIO = Scenario("tool_turn", TITLE, run)
