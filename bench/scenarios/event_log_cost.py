"""Scenario: what the durable event log costs a tool turn (issue 12).

The in-process tool turn (``tool_turn``'s workload: a new session, the LLM
calls ``add``, a 50-token answer, 0 ms LLM latency) on two Runtimes side by
side over SQLite: one as shipped (the event log on) and one with
``event_log_enabled=False`` (``SAGE_EVENT_LOG_ENABLED=false``: events in
memory only, the journal keeping leases). Turns alternate between the two
(which goes first alternates too), so machine noise hits both alike.

Per turn, three figures:

- **wall time as the caller sees it**: ``run_stream`` from the request to
  the terminal event (what a client waits for);
- **until ended and durable**: on to ``RunRegistry.wait``, which returns
  only once the run's last events are written (with the log on, the run's
  one event-log transaction is inside this figure);
- **CPU**: ``time.process_time`` over the same span, every thread of this
  process (aiosqlite's SQLite thread included).

Wall-time ranges are the spread of the medians of five equal blocks of
turns. The load of this shared machine drifts more than the log costs, so
the scenario also reports the median of the paired differences (each
log-on turn minus the log-off turn next to it), which the drift cancels.
Then the store's work per turn on each Runtime, counted by
``bench.store_probe`` (counts, not times: the trace callback slows SQLite).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from bench.env import BenchEnv
from bench.mock import answer_text
from bench.result import Metric, ScenarioResult, median, ms, percentile
from bench.scenario import BenchError, Scenario
from bench.scenarios.tool_turn import WORKLOAD, check_sage_events, sage_turn
from bench.store_probe import StoreProbe
from bench.tools import add_tools
from sagents.runtime import Runtime
from sagents.sagent import SAgent

TITLE = "The durable event log on the in-process tool turn (log on vs SAGE_EVENT_LOG_ENABLED=false)"
SIDES = ("on", "off")
VERSUS = "log off"
BLOCKS = 5
SETTLE_S = 0.5


def block_range(values: Sequence[float], blocks: int = BLOCKS) -> tuple[float, float]:
    """The lowest and highest median of ``blocks`` equal runs of turns, in order."""
    size = max(1, len(values) // blocks)
    medians = [median(values[i : i + size]) for i in range(0, len(values), size)]
    return min(medians), max(medians)


async def timed_turn(rt: Runtime, sage: SAgent, expected: str) -> tuple[float, float, float]:
    """One turn: ``(seen, durable, cpu)`` in seconds."""
    cpu0 = time.process_time()
    started = time.perf_counter()
    events = await sage_turn(sage)
    seen = time.perf_counter() - started
    await rt.runs.wait(events[-1].run_id)
    durable = time.perf_counter() - started
    cpu = time.process_time() - cpu0
    check_sage_events(events, expected)
    return seen, durable, cpu


async def store_work(
    rt: Runtime, sage: SAgent, turns: int, expected: str
) -> tuple[int, int, int, bool]:
    """``(transactions, round trips, statements)`` the store ran over
    ``turns`` turns, and whether the last run's events are in the store."""
    probe = StoreProbe()
    await asyncio.sleep(SETTLE_S)  # the warm-up's writes are not counted
    if not await probe.attach(rt.store):
        raise BenchError(f"no aiosqlite connection reachable from {type(rt.store).__name__}")
    run_id = ""
    try:
        for _ in range(turns):
            events = await sage_turn(sage)
            check_sage_events(events, expected)
            run_id = events[-1].run_id
        await asyncio.sleep(SETTLE_S)  # the last flush is counted with its turn
        counts = probe.transactions, probe.round_trips, probe.statements
    finally:
        await probe.detach()
    return (*counts, await rt.store.event_bounds(run_id) is not None)


async def run(env: BenchEnv) -> ScenarioResult:
    turns = env.size(1000, 4)
    warmup = env.size(20, 1)
    counted = env.size(20, 3)
    result = ScenarioResult(
        "event_log_cost",
        TITLE,
        {
            "turns": turns,
            "warmup": warmup,
            "counted_turns": counted,
            "answer_tokens": WORKLOAD.tokens,
            "llm_latency_ms": 0,
        },
    )
    expected = answer_text(WORKLOAD.tokens)
    seen: dict[str, list[float]] = {side: [] for side in SIDES}
    durable: dict[str, list[float]] = {side: [] for side in SIDES}
    cpu: dict[str, list[float]] = {side: [] for side in SIDES}
    store: dict[str, tuple[int, int, int, bool]] = {}
    async with (
        env.runtime("event_log_on", WORKLOAD, add_tools()) as on,
        env.runtime("event_log_off", WORKLOAD, add_tools(), event_log_enabled=False) as off,
    ):
        runtimes = {"on": on, "off": off}
        agents = {side: SAgent(rt) for side, rt in runtimes.items()}
        for i in range(warmup + turns):
            for side in SIDES if i % 2 == 0 else SIDES[::-1]:
                figures = await timed_turn(runtimes[side], agents[side], expected)
                if i >= warmup:
                    seen[side].append(figures[0])
                    durable[side].append(figures[1])
                    cpu[side].append(figures[2])
        for side in SIDES:
            store[side] = await store_work(runtimes[side], agents[side], counted, expected)
    result.checks["every turn answered correctly"] = True
    result.checks["log on: the events are stored"] = store["on"][3]
    result.checks["log off: no event is stored"] = not store["off"][3]
    add = result.add
    add(
        Metric("p50 per turn", ms(median(seen["on"])), "ms", ms(median(seen["off"])), versus=VERSUS)
    )
    add(
        Metric(
            "p95 per turn",
            ms(percentile(seen["on"], 95)),
            "ms",
            ms(percentile(seen["off"], 95)),
            versus=VERSUS,
        )
    )
    add(
        Metric(
            "p50 until ended and durable",
            ms(median(durable["on"])),
            "ms",
            ms(median(durable["off"])),
            versus=VERSUS,
        )
    )
    add(
        Metric(
            "CPU per turn, p50", ms(median(cpu["on"])), "ms", ms(median(cpu["off"])), versus=VERSUS
        )
    )
    add(
        Metric(
            "store transactions per turn",
            store["on"][0] / counted,
            "count",
            store["off"][0] / counted,
            versus=VERSUS,
        )
    )
    add(
        Metric(
            "round trips to the SQLite thread per turn",
            store["on"][1] / counted,
            "count",
            store["off"][1] / counted,
            versus=VERSUS,
        )
    )
    for label, per_side in (("wall per turn", seen), ("CPU per turn", cpu)):
        diffs = [x - y for x, y in zip(per_side["on"], per_side["off"], strict=True)]
        add(Metric(f"{label}, on − off, median of paired turns", ms(median(diffs)), "ms"))
        result.notes.append(
            f"{label}, on − off over the {len(diffs)} pairs: p25 {ms(percentile(diffs, 25)):.2f}"
            f" ms, p75 {ms(percentile(diffs, 75)):.2f} ms"
        )
    for label, per_side in (("p50 per turn", seen), ("until durable", durable), ("CPU", cpu)):
        spans = ", ".join(
            "log {}: {:.1f}–{:.1f} ms".format(side, *(ms(v) for v in block_range(per_side[side])))
            for side in SIDES
        )
        result.notes.append(f"{label}, range of {BLOCKS} block medians: {spans}")
    result.notes.append(
        f"SQL statements per turn (an executemany of n rows is n): log on "
        f"{store['on'][2] / counted:.1f}, log off {store['off'][2] / counted:.1f}"
    )
    return result


SCENARIO = Scenario("event_log_cost", TITLE, run)
