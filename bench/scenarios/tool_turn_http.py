"""Scenario 2: the tool turn over HTTP.

``POST /api/v1/chat`` to the Sage service running in its own process
(``bench.server``), an SSE client reading and decoding every event, against
the direct baseline in this process. Turns alternate between the two.
"""

from __future__ import annotations

import time

import httpx2

from bench.env import BenchEnv
from bench.mock import answer_text
from bench.result import Metric, ScenarioResult, median, ms, percentile
from bench.scenario import BenchError, Scenario
from bench.scenarios.tool_turn import QUESTION, SIMPLE_PATH, WORKLOAD
from bench.sse_client import chat

TITLE = "Tool turn over HTTP (POST /api/v1/chat, server in its own process, SSE client)"


async def run(env: BenchEnv) -> ScenarioResult:
    turns = env.size(200, 4)
    warmup = env.size(20, 1)
    result = ScenarioResult(
        "tool_turn_http",
        TITLE,
        {"turns": turns, "warmup": warmup, "answer_tokens": WORKLOAD.tokens, "llm_latency_ms": 0},
    )
    expected = answer_text(WORKLOAD.tokens)
    payload = {"message": QUESTION, **SIMPLE_PATH}
    sage_s: list[float] = []
    direct_s: list[float] = []
    async with (
        env.server("tool_turn_http", WORKLOAD) as server,
        env.direct() as direct,
        httpx2.AsyncClient(base_url=server.url, timeout=60) as http,
    ):
        for i in range(warmup + turns):
            order = (True, False) if i % 2 else (False, True)
            for use_sage in order:
                started = time.perf_counter()
                if use_sage:
                    trace = await chat(http, payload)
                    elapsed = trace.ended - started
                    if trace.terminal != "run.finished" or trace.last.get("answer") != expected:
                        raise BenchError(f"unexpected Sage run over HTTP: {trace.types[-3:]}")
                    if "tool.result" not in trace.types:
                        raise BenchError("the Sage run over HTTP called no tool")
                else:
                    answer, _ = await direct.tool_turn(WORKLOAD.model(), [], QUESTION)
                    elapsed = time.perf_counter() - started
                    if answer != expected:
                        raise BenchError("the direct baseline got a wrong answer")
                if i >= warmup:
                    (sage_s if use_sage else direct_s).append(elapsed)
    result.checks["every turn answered correctly"] = True
    result.add(Metric("p50 per turn", ms(median(sage_s)), "ms", ms(median(direct_s)), 1.5, True))
    result.add(
        Metric("p95 per turn", ms(percentile(sage_s, 95)), "ms", ms(percentile(direct_s, 95)))
    )
    return result


SCENARIO = Scenario("tool_turn_http", TITLE, run)
