"""Scenario: what one simple tool turn asks of the store.

The in-process tool turn (``tool_turn``'s workload: a new session, the LLM
calls ``add``, a 50-token answer) with ``bench.store_probe`` attached to the
Runtime's store: round trips to the SQLite thread, SQL statements and
transactions per turn. Counts, not times: the trace callback slows SQLite,
so nothing here is timed. Then the same over HTTP: ``POST /api/v1/chat``
to ``bench.server``, whose bench-only routes attach the probe inside the
server process. After the last turn the probe waits briefly
before reading, so writes a store defers (a batching writer's last flush)
are counted with the turns that made them.
"""

from __future__ import annotations

import asyncio

import httpx2

from bench.env import BenchEnv
from bench.mock import answer_text
from bench.result import Metric, ScenarioResult
from bench.scenario import BenchError, Scenario
from bench.scenarios.tool_turn import QUESTION, SIMPLE_PATH, WORKLOAD, check_sage_events, sage_turn
from bench.sse_client import chat
from bench.store_probe import StoreProbe
from bench.tools import add_tools
from sagents.sagent import SAgent

TITLE = "Store round trips per simple tool turn (in process, SQLite, counted not timed)"
SETTLE_S = 0.5


async def run(env: BenchEnv) -> ScenarioResult:
    turns = env.size(20, 3)
    result = ScenarioResult("store_trips", TITLE, {"turns": turns, "settle_s": SETTLE_S})
    expected = answer_text(WORKLOAD.tokens)
    probe = StoreProbe()
    async with env.runtime("store_trips", WORKLOAD, add_tools()) as rt:
        sage = SAgent(rt)
        check_sage_events(await sage_turn(sage), expected)  # warm up outside the count
        await asyncio.sleep(SETTLE_S)
        if not await probe.attach(rt.store):
            raise BenchError(f"no aiosqlite connection reachable from {type(rt.store).__name__}")
        try:
            for _ in range(turns):
                check_sage_events(await sage_turn(sage), expected)
            await asyncio.sleep(SETTLE_S)
        finally:
            counted = (probe.round_trips, probe.statements, probe.transactions)
            connections = len(probe.connections)
            await probe.detach()
    http_counts = await over_http(env, turns, expected)
    result.checks["every turn answered correctly"] = True
    result.notes.append(
        f"in process: {connections} connection(s) counted; over {turns} turns "
        f"{counted[0]} round trips, {counted[1]} statements, {counted[2]} transactions"
    )
    for label, (trips, statements, transactions) in (
        ("", counted),
        ("over HTTP: ", http_counts),
    ):
        result.add(
            Metric(
                f"{label}round trips to the SQLite thread per turn", trips / turns, "count", limit=5
            )
        )
        result.add(Metric(f"{label}SQL statements per turn", statements / turns, "count"))
        result.add(Metric(f"{label}transactions (commits) per turn", transactions / turns, "count"))
    return result


async def over_http(env: BenchEnv, turns: int, expected: str) -> tuple[int, int, int]:
    """The same count inside ``bench.server``'s process, turns sent over HTTP."""
    payload = {"message": QUESTION, **SIMPLE_PATH}

    async def turn(http: httpx2.AsyncClient) -> None:
        trace = await chat(http, payload)
        if trace.terminal != "run.finished" or trace.last.get("answer") != expected:
            raise BenchError(f"unexpected Sage run over HTTP: {trace.types[-3:]}")

    async with (
        env.server("store_trips", WORKLOAD) as server,
        httpx2.AsyncClient(base_url=server.url, timeout=60) as http,
    ):
        await turn(http)
        await asyncio.sleep(SETTLE_S)
        started = await http.post("/bench/store-probe/start")
        if started.status_code != 200:
            raise BenchError(f"the server's store probe did not attach: {started.text}")
        for _ in range(turns):
            await turn(http)
        await asyncio.sleep(SETTLE_S)
        counts = (await http.post("/bench/store-probe/stop")).json()
    return counts["round_trips"], counts["statements"], counts["transactions"]


SCENARIO = Scenario("store_trips", TITLE, run)
