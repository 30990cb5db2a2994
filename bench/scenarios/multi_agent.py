"""Scenario 6: the multi-agent path, framework time against LLM time.

One request with ``multi_agent`` on: the decomposer splits it into three
subtasks, and each runs through plan → execute → observe → judge → stage
summary before the final summary: 17 LLM calls, each a real streamed HTTP
call to the mock (0 ms latency, 20-token answers). Every call is timed
where Sage makes it (a ``ChatModel`` wrapper handed to ``Runtime.create``,
the same door a user's own model would use). The baseline is the sum of the
run's LLM call times, which is what making the same calls by hand, one
after another, would take; the difference is what the framework adds: the
flow, the agents' prompts and JSON decisions, the task store, the events.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

from bench.env import BenchEnv
from bench.mock import SUBTASKS, Workload
from bench.result import Metric, ScenarioResult, median, ms
from bench.scenario import BenchError, Scenario
from sagents.llm import ChatModel, LLMChunk, LLMRequest, OpenAIChatModel
from sagents.request import RunRequest
from sagents.runtime import Runtime
from sagents.sagent import SAgent

TITLE = "Multi-agent path (decompose → 3 subtasks → summary): framework time vs LLM time"
WORKLOAD = Workload(tokens=20, delay_ms=0)
EXPECTED_CALLS = 1 + 5 * SUBTASKS + 1


class TimedModel:
    """A ChatModel that times every call of the model it wraps."""

    def __init__(self, inner: ChatModel) -> None:
        self.inner = inner
        self.capabilities = inner.capabilities
        self.calls: list[tuple[str, float]] = []

    def model_for(self, role: str) -> str:
        return self.inner.model_for(role)

    async def stream(self, request: LLMRequest) -> AsyncIterator[LLMChunk]:
        started = time.perf_counter()
        try:
            async for chunk in self.inner.stream(request):
                yield chunk
        finally:
            self.calls.append((request.role, time.perf_counter() - started))

    async def aclose(self) -> None:
        await self.inner.aclose()


async def one_run(sage: SAgent, llm: TimedModel, key: int) -> tuple[float, float]:
    """One multi-agent run: (wall seconds, seconds inside LLM calls)."""
    llm.calls.clear()
    request = RunRequest(
        message=f"Work out parts 1, 2 and 3, then combine them (run-key-{key}).",
        deep_thinking=False,
        multi_agent=True,
        available_tools=[],
        available_skills=[],
    )
    started = time.perf_counter()
    events = [e async for e in sage.run_stream(request, "bench")]
    wall = time.perf_counter() - started
    types = [e.type for e in events]
    done = [e for e in events if e.type == "task.updated" and getattr(e, "status", "") == "done"]
    if types[-1] != "run.finished" or len(done) != SUBTASKS:
        raise BenchError(f"the multi-agent run went wrong: {len(done)} tasks done, {types[-1]}")
    if len(llm.calls) != EXPECTED_CALLS:
        roles = [role for role, _ in llm.calls]
        raise BenchError(f"expected {EXPECTED_CALLS} LLM calls, saw {len(roles)}: {roles}")
    return wall, sum(seconds for _, seconds in llm.calls)


async def run(env: BenchEnv) -> ScenarioResult:
    runs = env.size(40, 2)
    warmup = env.size(5, 1)
    result = ScenarioResult(
        "multi_agent",
        TITLE,
        {"runs": runs, "llm_calls_per_run": EXPECTED_CALLS, "answer_tokens": WORKLOAD.tokens},
    )
    settings = env.settings("multi_agent", WORKLOAD)
    llm = TimedModel(OpenAIChatModel(settings))
    rt = await Runtime.create(settings, llm=llm)
    walls: list[float] = []
    llm_times: list[float] = []
    try:
        sage = SAgent(rt)
        for i in range(warmup + runs):
            wall, in_llm = await one_run(sage, llm, i)
            if i >= warmup:
                walls.append(wall)
                llm_times.append(in_llm)
    finally:
        await rt.aclose()
    framework = [w - t for w, t in zip(walls, llm_times, strict=True)]
    result.checks["every run finished its three subtasks"] = True
    result.add(Metric("p50 per run", ms(median(walls)), "ms", ms(median(llm_times))))
    result.add(Metric("p50 framework time per run", ms(median(framework)), "ms"))
    result.add(
        Metric("p50 framework time per LLM call", ms(median(framework)) / EXPECTED_CALLS, "ms")
    )
    return result


SCENARIO = Scenario("multi_agent", TITLE, run)
