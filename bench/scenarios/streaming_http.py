"""Scenario 3b: 1,000 concurrent streaming sessions over HTTP at 20 ms per token.

All sessions start within half a second against the Sage service in its own
process; each streams a 50-token answer (no tools). The client timestamps
every ``message.delta``; the *added latency* of token ``i`` is how late it
arrives against a zero-overhead schedule: ``t_i - t_request - (i + 1) × 20 ms``
(so lateness that builds up under load is counted, not hidden by the burst
that follows a stall). The same is measured for 1,000 direct
SDK streams in this process, which shows what the machine and the mock
alone add. The server's RSS is sampled while the sessions stream, and the
CPU time each process (Sage server, mock LLM, this client) spends per token
is reported for both phases: on a small machine it says who the bottleneck is.

Then a sweep at lower concurrency (``SWEEP``) finds where this machine
holds the target: the p99 added latency of Sage and of the lean baseline
(bare httpx2, ``bench.direct.LeanDirectClient``) at each level.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass, field

import httpx2

from bench.direct import DirectClient
from bench.env import BenchEnv
from bench.mock import Workload
from bench.procs import cpu_seconds, rss_kib
from bench.result import Metric, ScenarioResult, ms, percentile
from bench.scenario import Scenario
from bench.sse_client import ChatTrace, chat

TITLE = "1,000 concurrent streaming sessions over HTTP (50 tokens at 20 ms/token)"
WORKLOAD = Workload(tokens=50, delay_ms=20)
RAMP_S = 0.5
SWEEP = (100, 200, 400)
"""Concurrency levels of the sweep (a quick run uses 5 sessions)."""
PAYLOAD = {
    "message": "Tell me a story.",
    "available_tools": [],
    "available_skills": [],
    "deep_thinking": False,
    "multi_agent": False,
}


@dataclass
class Phase:
    """What one side (Sage or direct) did under load."""

    gaps: list[float] = field(default_factory=list)
    completed: int = 0
    errors: list[str] = field(default_factory=list)
    active: int = 0
    peak_active: int = 0

    def started(self) -> None:
        self.active += 1
        self.peak_active = max(self.peak_active, self.active)

    def record(self, sent: float, times: list[float]) -> None:
        self.active -= 1
        delay = WORKLOAD.delay_ms / 1000
        self.gaps += [t - sent - (i + 1) * delay for i, t in enumerate(times)]


async def _staggered(index: int, count: int) -> None:
    await asyncio.sleep(RAMP_S * index / max(count, 1))


async def sage_phase(http: httpx2.AsyncClient, sessions: int, phase: Phase) -> Phase:

    async def one(index: int) -> None:
        await _staggered(index, sessions)
        phase.started()
        trace = ChatTrace(started=0.0)
        try:
            trace = await chat(http, PAYLOAD, parse=False)
        except Exception as exc:
            phase.errors.append(f"{type(exc).__name__}: {exc}")
            phase.active -= 1
            return
        phase.record(trace.started, trace.delta_times)
        if trace.terminal == "run.finished" and len(trace.delta_times) == WORKLOAD.tokens:
            phase.completed += 1
        else:
            phase.errors.append(f"ended with {trace.terminal} after {len(trace.delta_times)}")

    await asyncio.gather(*(one(i) for i in range(sessions)))
    return phase


async def direct_phase(direct: DirectClient, sessions: int) -> Phase:
    phase = Phase()
    messages = [{"role": "user", "content": PAYLOAD["message"]}]

    async def one(index: int) -> None:
        await _staggered(index, sessions)
        phase.started()
        times: list[float] = []
        sent = time.perf_counter()
        try:
            await direct.stream(
                WORKLOAD.model(), messages, on_token=lambda _: times.append(time.perf_counter())
            )
        except Exception as exc:
            phase.errors.append(f"{type(exc).__name__}: {exc}")
            phase.active -= 1
            return
        phase.record(sent, times)
        phase.completed += len(times) == WORKLOAD.tokens

    await asyncio.gather(*(one(i) for i in range(sessions)))
    return phase


def cpu_of(pids: dict[str, int | None]) -> dict[str, float]:
    return {name: cpu_seconds(pid) for name, pid in pids.items() if pid is not None}


def cpu_spent(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {name: after[name] - before[name] for name in before}


async def sample_rss(pid: int, out: list[int]) -> None:
    """The process's RSS (KiB) every 50 ms until cancelled."""
    while True:
        out.append(rss_kib(pid)[0])
        await asyncio.sleep(0.05)


async def run(env: BenchEnv) -> ScenarioResult:
    sessions = env.size(1000, 10)
    result = ScenarioResult(
        "streaming_http",
        TITLE,
        {
            "sessions": sessions,
            "tokens": WORKLOAD.tokens,
            "token_delay_ms": WORKLOAD.delay_ms,
            "ramp_s": RAMP_S,
        },
    )
    limits = httpx2.Limits(max_connections=sessions + 100, max_keepalive_connections=sessions + 100)

    def client() -> httpx2.AsyncClient:
        # A fresh client for every phase: a connection left idle through the
        # other side's phase can be closed by the server's keep-alive timeout
        # just as it is reused, which is the client's race to retry, not a
        # Sage error.
        return httpx2.AsyncClient(base_url=server.url, timeout=120, limits=limits)

    async with (
        env.server("streaming_http", WORKLOAD) as server,
        env.direct() as direct,
    ):
        async with client() as http:  # warm up: lazy imports, the first SQLite pages
            await asyncio.gather(*(chat(http, PAYLOAD, parse=False) for _ in range(5)))
        await direct_phase(direct, 5)
        idle_kib = rss_kib(server.pid)[0]
        pids = {"server": server.pid, "mock": env.mock_pid, "client": os.getpid()}
        before = cpu_of(pids)
        base = await direct_phase(direct, sessions)
        base_cpu = cpu_spent(before, cpu_of(pids))
        sage = Phase()
        samples: list[int] = []
        sampler = asyncio.create_task(sample_rss(server.pid, samples))
        before = cpu_of(pids)
        try:
            async with client() as http:
                await sage_phase(http, sessions, sage)
        finally:
            sampler.cancel()
        sage_cpu = cpu_spent(before, cpu_of(pids))
        peak_kib = max([*samples, rss_kib(server.pid)[0]])
        sweep = []
        for n in SWEEP if not env.quick else (5,):
            async with env.direct(lean=True) as lean, client() as http:
                sweep.append((n, await sage_phase(http, n, Phase()), await direct_phase(lean, n)))
    result.checks["every session completed"] = sage.completed == sessions
    result.checks["no errors"] = not sage.errors
    if sage.errors:
        result.notes.append(f"first Sage error: {sage.errors[0]}")
    if base.errors:
        result.notes.append(f"first direct error: {base.errors[0]}")
    result.add(Metric("completed", sage.completed, "sessions", base.completed))
    result.add(Metric("errors", len(sage.errors), "count", len(base.errors), 0))
    result.add(
        Metric(
            "p50 added latency per token",
            ms(percentile(sage.gaps, 50)),
            "ms",
            ms(percentile(base.gaps, 50)),
        )
    )
    result.add(
        Metric(
            "p99 added latency per token",
            ms(percentile(sage.gaps, 99)),
            "ms",
            ms(percentile(base.gaps, 99)),
            20,
        )
    )
    result.add(Metric("peak active sessions", sage.peak_active, "sessions", base.peak_active))
    result.add(Metric("server RSS idle", idle_kib / 1024, "MiB"))
    result.add(Metric("server RSS peak", peak_kib / 1024, "MiB"))
    per_session = (peak_kib - idle_kib) / max(sage.peak_active, 1)
    result.add(Metric("RSS per active session", per_session, "KiB", None, 200))
    tokens = sessions * WORKLOAD.tokens
    for part, label in (
        ("server", "Sage server"),
        ("mock", "mock LLM"),
        ("client", "bench client"),
    ):
        if part in sage_cpu:
            result.add(
                Metric(
                    f"CPU per token: {label}",
                    sage_cpu[part] / tokens * 1e6,
                    "µs",
                    # The server idles through the direct phase: no baseline.
                    None if part == "server" else base_cpu[part] / tokens * 1e6,
                )
            )
    for n, sage_n, lean_n in sweep:
        result.checks[f"{n} streams: every session completed"] = sage_n.completed == n
        for side, phase in (("Sage", sage_n), ("lean direct", lean_n)):
            if phase.errors:
                result.notes.append(
                    f"{n} streams: {len(phase.errors)} {side} errors, first: {phase.errors[0]}"
                )
        result.add(
            Metric(
                f"{n} streams: p99 added latency per token, vs lean direct",
                ms(percentile(sage_n.gaps, 99)),
                "ms",
                ms(percentile(lean_n.gaps, 99)),
            )
        )
    return result


SCENARIO = Scenario("streaming_http", TITLE, run)
