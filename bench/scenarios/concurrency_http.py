"""Scenario 3b: 100 concurrent sessions of HTTP tool turns.

The ``concurrency`` workload (100 sessions × 4 tool turns, mock at 5 ms per
token) through the Sage service in its own process (``bench.server``), each
session continuing its conversation (``session_id`` from ``X-Session-Id``).
Baselines, phase by phase in the same run: the lean relay (``bench.relay``,
same HTTP stack in its own process, read by the same SSE client; it keeps no
sessions, so its turns carry no history), and the direct SDK and lean direct
clients in this process carrying their message lists. Phases alternate and
the median throughput of each side over the rounds is reported.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx2

from bench.env import BenchEnv
from bench.mock import answer_text
from bench.result import Metric, ScenarioResult, median
from bench.scenario import BenchError, Scenario
from bench.scenarios.concurrency import WORKLOAD, direct_session
from bench.scenarios.tool_turn import QUESTION, SIMPLE_PATH
from bench.sse_client import chat

TITLE = "Concurrency over HTTP (100 sessions × 4 tool turns, mock at 5 ms/token)"
SIDES = ("direct", "sage", "lean", "relay")


async def http_session(http: httpx2.AsyncClient, turns: int, expected: str) -> None:
    session_id: str | None = None
    for _ in range(turns):
        payload: dict[str, Any] = {"message": QUESTION, **SIMPLE_PATH}
        if session_id:
            payload["session_id"] = session_id
        trace = await chat(http, payload, parse=False)
        if trace.terminal != "run.finished" or trace.last.get("answer") != expected:
            raise BenchError(f"a concurrent HTTP turn ended with {trace.terminal}")
        session_id = trace.session_id or None


async def run(env: BenchEnv) -> ScenarioResult:
    sessions = env.size(100, 4)
    per_session = 4
    rounds = env.size(2, 1)
    result = ScenarioResult(
        "concurrency_http",
        TITLE,
        {
            "sessions": sessions,
            "turns": sessions * per_session,
            "token_delay_ms": WORKLOAD.delay_ms,
            "answer_tokens": WORKLOAD.tokens,
            "rounds": rounds,
        },
    )
    expected = answer_text(WORKLOAD.tokens)
    tps: dict[str, list[float]] = {side: [] for side in SIDES}
    limits = httpx2.Limits(max_connections=sessions + 50, max_keepalive_connections=sessions + 50)
    async with (
        env.server("concurrency_http", WORKLOAD) as server,
        env.relay("concurrency_http", WORKLOAD) as relay,
        env.direct() as direct,
        env.direct(lean=True) as lean,
        httpx2.AsyncClient(base_url=server.url, timeout=120, limits=limits) as sage_http,
        httpx2.AsyncClient(base_url=relay.url, timeout=120, limits=limits) as relay_http,
    ):
        session: dict[str, Callable[[], Awaitable[None]]] = {
            "sage": lambda: http_session(sage_http, per_session, expected),
            "relay": lambda: http_session(relay_http, per_session, expected),
            "direct": lambda: direct_session(direct, per_session, expected),
            "lean": lambda: direct_session(lean, per_session, expected),
        }
        for side in SIDES:  # warm up every path
            await session[side]()
        for _ in range(rounds):
            for side in SIDES:
                started = time.perf_counter()
                await asyncio.gather(*(session[side]() for _ in range(sessions)))
                tps[side].append(sessions * per_session / (time.perf_counter() - started))
    result.checks["every turn answered correctly"] = True
    sage = median(tps["sage"])
    result.add(
        Metric("throughput", sage, "turns/s", median(tps["direct"]), 0.8, True, better="higher")
    )
    for side, label in (("lean", "lean direct"), ("relay", "lean relay")):
        result.add(
            Metric(f"throughput, vs {label}", sage, "turns/s", median(tps[side]), versus=label)
        )
    return result


SCENARIO = Scenario("concurrency_http", TITLE, run)
