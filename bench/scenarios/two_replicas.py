"""Scenario: two replicas against one, on PostgreSQL and Redis (issue 12).

Sage in scale-out mode: ``bench.server`` processes with ``SAGE_DATABASE_URL``
on a fresh database of the machine's PostgreSQL and ``SAGE_REDIS_URL`` on
Redis (``bench.backends``), under the ``concurrency_http`` workload (100
sessions × 4 HTTP tool turns, the mock at 5 ms per token). Three sides, the
same workload, phases alternating over the rounds:

- **two replicas**: the bench client sends the turns round-robin over both
  processes (turn by turn, so a session's turns move between replicas and
  each continues a conversation the other one stored);
- **one replica**: the same settings, one process (the other idles);
- **SQLite**: the single-process default (SQLite, in-process registry),
  for context.

Per side: throughput (turns/s, median over the rounds), p50 and p99 turn
latency over every turn of every round, and the CPU the server process(es)
used per turn (/proc; PostgreSQL's and Redis's own CPU is not counted: other
work on this machine shares those servers).

On a 2-core machine the replicas share the cores with each other, the mock,
the bench client, PostgreSQL and Redis: two replicas cannot do more work
than one here. What the scenario measures is the cost of coordination (the
server database and Redis against SQLite, two processes against one), not
the gain of scale-out, which needs cores or machines of its own.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Sequence
from contextlib import AsyncExitStack
from typing import Any

import httpx2

from bench.backends import (
    Unavailable,
    backend_cpu,
    check_redis,
    cpu_growth,
    postgres_database,
    redis_url,
    runs_per_process,
)
from bench.env import BenchEnv
from bench.mock import answer_text
from bench.procs import Child, cpu_seconds
from bench.result import Metric, ScenarioResult, median, ms, percentile
from bench.scenario import BenchError, Scenario
from bench.scenarios.concurrency import WORKLOAD
from bench.scenarios.tool_turn import QUESTION, SIMPLE_PATH
from bench.sse_client import chat

TITLE = "Two replicas vs one on PostgreSQL + Redis (100 sessions × 4 HTTP tool turns, 5 ms/token)"
SIDES = ("two", "one", "sqlite")
LABELS = {"two": "two replicas", "one": "one replica", "sqlite": "SQLite"}


async def session(
    clients: Sequence[httpx2.AsyncClient],
    turn_numbers: itertools.count[int],
    turns: int,
    expected: str,
    latencies: list[float],
    served: list[int],
) -> None:
    """One conversation; each turn goes to the next client in the rotation
    (``served`` counts the turns each client took)."""
    session_id: str | None = None
    for _ in range(turns):
        index = next(turn_numbers) % len(clients)
        served[index] += 1
        http = clients[index]
        payload: dict[str, Any] = {"message": QUESTION, **SIMPLE_PATH}
        if session_id:
            payload["session_id"] = session_id
        trace = await chat(http, payload, parse=False)
        if trace.terminal != "run.finished" or trace.last.get("answer") != expected:
            raise BenchError(f"a turn ended with {trace.terminal} on {http.base_url}")
        latencies.append(trace.ended - trace.started)
        session_id = trace.session_id or None


async def run(env: BenchEnv) -> ScenarioResult:
    sessions = env.size(100, 4)
    per_session = 4
    rounds = env.size(3, 1)
    result = ScenarioResult(
        "two_replicas",
        TITLE,
        {
            "sessions": sessions,
            "turns": sessions * per_session,
            "token_delay_ms": WORKLOAD.delay_ms,
            "answer_tokens": WORKLOAD.tokens,
            "rounds": rounds,
        },
    )
    redis = redis_url()
    try:
        await check_redis(redis)
        async with postgres_database() as database:
            await measure(env, result, database, redis, sessions, per_session, rounds)
    except Unavailable as exc:
        result.skipped = str(exc)
    return result


async def measure(
    env: BenchEnv,
    result: ScenarioResult,
    database: str,
    redis: str,
    sessions: int,
    per_session: int,
    rounds: int,
) -> None:
    expected = answer_text(WORKLOAD.tokens)
    scale_out = {"SAGE_DATABASE_URL": database, "SAGE_REDIS_URL": redis}
    single = {"SAGE_DATABASE_URL": "", "SAGE_REDIS_URL": ""}
    tps: dict[str, list[float]] = {side: [] for side in SIDES}
    latencies: dict[str, list[float]] = {side: [] for side in SIDES}
    cpu: dict[str, float] = dict.fromkeys(SIDES, 0.0)
    db_cpu: dict[str, float] = dict.fromkeys(SIDES, 0.0)
    """PostgreSQL backends' CPU (SQLite's work is inside the server's)."""
    served: dict[str, list[int]] = {side: [0, 0] for side in SIDES}
    async with AsyncExitStack() as stack:
        # One at a time: the first applies the migrations.
        a = await stack.enter_async_context(env.server("replica_a", WORKLOAD, scale_out))
        b = await stack.enter_async_context(env.server("replica_b", WORKLOAD, scale_out))
        s = await stack.enter_async_context(env.server("sqlite", WORKLOAD, single))
        limits = httpx2.Limits(
            max_connections=sessions + 50, max_keepalive_connections=sessions + 50
        )

        def client(child: Child) -> httpx2.AsyncClient:
            return httpx2.AsyncClient(base_url=child.url, timeout=120, limits=limits)

        http_a = await stack.enter_async_context(client(a))
        http_b = await stack.enter_async_context(client(b))
        http_s = await stack.enter_async_context(client(s))
        clients = {"two": [http_a, http_b], "one": [http_a], "sqlite": [http_s]}
        pids = {"two": [a.pid, b.pid], "one": [a.pid], "sqlite": [s.pid]}

        async def phase(side: str, count: int, record: bool) -> None:
            numbers = itertools.count()
            times: list[float] = []
            counts = [0, 0]
            cpu0 = sum(cpu_seconds(pid) for pid in pids[side])
            db0 = await backend_cpu(database) if side != "sqlite" else {}
            started = time.perf_counter()
            await asyncio.gather(
                *(
                    session(clients[side], numbers, per_session, expected, times, counts)
                    for _ in range(count)
                )
            )
            elapsed = time.perf_counter() - started
            served[side] = [x + y for x, y in zip(served[side], counts, strict=True)]
            if record:
                cpu[side] += sum(cpu_seconds(pid) for pid in pids[side]) - cpu0
                if side != "sqlite":
                    db_cpu[side] += cpu_growth(db0, await backend_cpu(database))
                tps[side].append(count * per_session / elapsed)
                latencies[side] += times

        for side in SIDES:  # warm up every path (connections, pools, caches)
            await phase(side, min(sessions, 8), record=False)
        for r in range(rounds):
            for side in SIDES[r % len(SIDES) :] + SIDES[: r % len(SIDES)]:
                await phase(side, sessions, record=True)
        # Each replica ran, and recorded in the shared database, the turns
        # the rotation sent it (A: half of "two" and all of "one").
        ran = await runs_per_process(database)
        expected_runs = {a.pid: served["two"][0] + served["one"][0], b.pid: served["two"][1]}
        result.checks["each replica ran the turns sent to it"] = ran == expected_runs
        result.notes.append(f"runs per replica (A, B): {ran.get(a.pid, 0)}, {ran.get(b.pid, 0)}")
    turns = rounds * sessions * per_session
    report(result, tps, latencies, cpu, db_cpu, turns)


def report(
    result: ScenarioResult,
    tps: dict[str, list[float]],
    latencies: dict[str, list[float]],
    cpu: dict[str, float],
    db_cpu: dict[str, float],
    turns: int,
) -> None:
    result.checks["every turn answered correctly"] = True
    result.checks["every turn timed"] = all(len(latencies[s]) == turns for s in SIDES)
    for side, base in (("two", "one"), ("one", "sqlite")):
        versus = LABELS[base]
        prefix = f"{LABELS[side]} vs {versus}: "
        result.add(
            Metric(
                prefix + "throughput",
                median(tps[side]),
                "turns/s",
                median(tps[base]),
                better="higher",
                versus=versus,
            )
        )
        for pct in (50, 99):
            result.add(
                Metric(
                    prefix + f"p{pct} per turn",
                    ms(percentile(latencies[side], pct)),
                    "ms",
                    ms(percentile(latencies[base], pct)),
                    versus=versus,
                )
            )
        result.add(
            Metric(
                prefix + "server CPU per turn",
                ms(cpu[side] / turns),
                "ms",
                ms(cpu[base] / turns),
                versus=versus,
            )
        )
        result.add(
            Metric(
                prefix + "server + PostgreSQL CPU per turn",
                ms((cpu[side] + db_cpu[side]) / turns),
                "ms",
                ms((cpu[base] + db_cpu[base]) / turns),
                versus=versus,
            )
        )
    spans = ", ".join(f"{LABELS[side]} {min(tps[side]):.1f}–{max(tps[side]):.1f}" for side in SIDES)
    result.notes.append(f"throughput range over the rounds (turns/s): {spans}")


SCENARIO = Scenario("two_replicas", TITLE, run)
