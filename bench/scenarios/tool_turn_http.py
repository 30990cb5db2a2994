"""Scenario 2: the tool turn over HTTP.

``POST /api/v1/chat`` to the Sage service running in its own process
(``bench.server``), an SSE client reading and decoding every event, against
three baselines: the lean relay (``bench.relay``: the same HTTP stack in its
own process, relaying the same two LLM calls and calling ``add`` by hand,
read by the same SSE client), and the direct SDK and lean direct clients in
this process. Turns rotate between the four so machine noise hits each alike.
The CPU each server process used over the scenario, per turn, comes from /proc.
"""

from __future__ import annotations

import time

import httpx2

from bench.env import BenchEnv
from bench.mock import answer_text
from bench.procs import cpu_seconds
from bench.result import Metric, ScenarioResult, median, ms, percentile
from bench.scenario import BenchError, Scenario
from bench.scenarios.tool_turn import LEAN_P50, QUESTION, SIMPLE_PATH, WORKLOAD
from bench.sse_client import chat

TITLE = "Tool turn over HTTP (POST /api/v1/chat, server in its own process, SSE client)"
SIDES = ("sage", "relay", "direct", "lean")
RELAY_P50 = "p50 per turn, vs lean relay"


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
    times: dict[str, list[float]] = {side: [] for side in SIDES}
    cpu: dict[str, float] = {}
    async with (
        env.server("tool_turn_http", WORKLOAD) as server,
        env.relay("tool_turn_http", WORKLOAD) as relay,
        env.direct() as direct,
        env.direct(lean=True) as lean,
        httpx2.AsyncClient(base_url=server.url, timeout=60) as sage_http,
        httpx2.AsyncClient(base_url=relay.url, timeout=60) as relay_http,
    ):
        https = {"sage": sage_http, "relay": relay_http}
        clients = {"direct": direct, "lean": lean}
        pids = {"sage": server.pid, "relay": relay.pid}
        for i in range(warmup + turns):
            if i == warmup:
                cpu = {side: cpu_seconds(pid) for side, pid in pids.items()}
            k = i % len(SIDES)
            for side in SIDES[k:] + SIDES[:k]:  # rotate the order every turn
                started = time.perf_counter()
                if side in https:
                    trace = await chat(https[side], payload)
                    elapsed = trace.ended - started
                    if trace.terminal != "run.finished" or trace.last.get("answer") != expected:
                        raise BenchError(f"unexpected {side} run over HTTP: {trace.types[-3:]}")
                    if "tool.result" not in trace.types:
                        raise BenchError(f"the {side} run over HTTP called no tool")
                else:
                    answer, _ = await clients[side].tool_turn(WORKLOAD.model(), [], QUESTION)
                    elapsed = time.perf_counter() - started
                    if answer != expected:
                        raise BenchError(f"the {side} baseline got a wrong answer")
                if i >= warmup:
                    times[side].append(elapsed)
        cpu = {side: cpu_seconds(pid) - cpu[side] for side, pid in pids.items()}
    result.checks["every turn answered correctly"] = True
    sage_s = times["sage"]
    p50 = ms(median(sage_s))
    result.add(Metric("p50 per turn", p50, "ms", ms(median(times["direct"])), 1.5, True))
    result.add(
        Metric(
            "p95 per turn", ms(percentile(sage_s, 95)), "ms", ms(percentile(times["direct"], 95))
        )
    )
    result.add(Metric(LEAN_P50, p50, "ms", ms(median(times["lean"])), versus="lean direct"))
    result.add(Metric(RELAY_P50, p50, "ms", ms(median(times["relay"])), versus="relay"))
    result.add(
        Metric(
            "server CPU per turn, vs lean relay",
            ms(cpu["sage"] / turns),
            "ms",
            ms(cpu["relay"] / turns),
            versus="relay",
        )
    )
    return result


SCENARIO = Scenario("tool_turn_http", TITLE, run)
