"""Scenario 3a: 100 concurrent sessions, 400 tool turns, in process.

The mock streams at 5 ms per token, so a turn takes ~0.3 s of "LLM time" and
the question is how many turns per second Sage sustains while 100 sessions
stream at once, against the raw SDK and the lean client doing the same.
Each session runs its turns one after another in the same conversation
(Sage continues the session; the baselines carry their message lists).
The phases alternate, and the median throughput of each side is reported.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bench.direct import DirectClient
from bench.env import BenchEnv
from bench.mock import Workload, answer_text
from bench.result import Metric, ScenarioResult, median
from bench.scenario import BenchError, Scenario
from bench.scenarios.tool_turn import QUESTION, SIMPLE_PATH
from bench.tools import add_tools
from sagents.request import RunRequest
from sagents.sagent import SAgent

TITLE = "Concurrency in process (100 sessions × 4 tool turns, mock at 5 ms/token)"
WORKLOAD = Workload(tokens=50, delay_ms=5)


async def sage_session(sage: SAgent, turns: int, expected: str) -> None:
    session_id: str | None = None
    for _ in range(turns):
        last: Any = None
        async for event in sage.run_stream(
            RunRequest(message=QUESTION, session_id=session_id, **SIMPLE_PATH), "bench"
        ):
            session_id = event.session_id
            last = event
        if last is None or last.type != "run.finished" or last.answer != expected:
            raise BenchError(f"a concurrent Sage turn ended with {getattr(last, 'type', None)}")


async def direct_session(direct: DirectClient, turns: int, expected: str) -> None:
    history: list[dict[str, Any]] = []
    for _ in range(turns):
        answer, new = await direct.tool_turn(WORKLOAD.model(), history, QUESTION)
        if answer != expected:
            raise BenchError("a concurrent direct turn got a wrong answer")
        history += new


async def run(env: BenchEnv) -> ScenarioResult:
    sessions = env.size(100, 4)
    per_session = 4
    rounds = env.size(2, 1)
    result = ScenarioResult(
        "concurrency",
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
    tps: dict[str, list[float]] = {"direct": [], "sage": [], "lean": []}
    async with (
        env.runtime("concurrency", WORKLOAD, add_tools()) as rt,
        env.direct() as direct,
        env.direct(lean=True) as lean,
    ):
        sage = SAgent(rt)
        clients = {"direct": direct, "lean": lean}
        await sage_session(sage, 1, expected)  # warm up every path
        for client in clients.values():
            await direct_session(client, 1, expected)
        for _ in range(rounds):
            for side in tps:
                started = time.perf_counter()
                if side == "sage":
                    jobs = [sage_session(sage, per_session, expected) for _ in range(sessions)]
                else:
                    client = clients[side]
                    jobs = [direct_session(client, per_session, expected) for _ in range(sessions)]
                await asyncio.gather(*jobs)
                tps[side].append(sessions * per_session / (time.perf_counter() - started))
    result.checks["every turn answered correctly"] = True
    sage_tps = median(tps["sage"])
    result.add(
        Metric(
            "throughput",
            sage_tps,
            "turns/s",
            median(tps["direct"]),
            0.8,
            on_ratio=True,
            better="higher",
        )
    )
    result.add(
        Metric(
            "throughput, vs lean direct",
            sage_tps,
            "turns/s",
            median(tps["lean"]),
            better="higher",
            versus="lean direct",
        )
    )
    return result


SCENARIO = Scenario("concurrency", TITLE, run)
