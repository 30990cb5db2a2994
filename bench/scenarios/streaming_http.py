"""Scenario 4: 1,000 concurrent streams over HTTP at one token every 200 ms.

1,000 sessions each stream a 100-token answer (no tools) at 200 ms per token:
5,000 tokens per second through the server once all streams run. They start
evenly over ``RAMP_S`` seconds (100 new streams a second), so every one of
them is streaming between the end of the ramp and the first stream's end.
The same load goes, phase after phase, to the Sage service in its own
process and to the lean relay (``bench.relay``: the same HTTP stack doing
nothing but relaying the LLM's stream), read by the same SSE client, so the
difference is what Sage's server costs over the least a Python service could
do. On this 2-core machine the earlier target (50 ms per token, 50,000
tokens/s through three processes) was beyond what any server could carry.

The client (``bench.stream_client``, a bare asyncio protocol: through
httpx2 the client alone needed more than a core at this rate) timestamps
every ``message.delta``; the *added latency* of token
``i`` is how late it arrives against a zero-overhead schedule:
``t_i - t_request - (i + 1) × 200 ms`` (lateness that builds up under load is
counted, not hidden by the burst that follows a stall), p50/p99 over every
token of every stream; the first token's alone shows the set-up cost. The
server's RSS is sampled while the streams run; the CPU time each process
(server, mock LLM, this client) spends per token comes from /proc. Then the
same at ``SWEEP`` streams (1,250 tokens/s at 250), to show where this
machine holds the latency target.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field

from bench.env import BenchEnv
from bench.mock import Workload
from bench.procs import Child, cpu_seconds, rss_kib
from bench.result import Metric, ScenarioResult, ms, percentile
from bench.scenario import Scenario
from bench.sse_client import ChatTrace
from bench.stream_client import stream_chat

TITLE = "1,000 concurrent streams over HTTP (one token every 200 ms: 5,000 tokens/s)"
DELAY_MS = 200.0
SWEEP = (250,)
"""Lower loads measured after the 1,000 streams, on the same server processes
(a quick run uses 3): where this machine holds the latency target."""
PAYLOAD = {
    "message": "Tell me a story.",
    "available_tools": [],
    "available_skills": [],
    "deep_thinking": False,
    "multi_agent": False,
}


@dataclass
class Phase:
    """What one server (Sage or the relay) did under the load."""

    tokens: int
    gaps: list[float] = field(default_factory=list)
    first: list[float] = field(default_factory=list)
    completed: int = 0
    errors: list[str] = field(default_factory=list)
    active: int = 0
    peak_active: int = 0
    idle_kib: int = 0
    peak_kib: int = 0
    cpu: dict[str, float] = field(default_factory=dict)

    def record(self, trace: ChatTrace) -> None:
        delay = DELAY_MS / 1000
        gaps = [t - trace.started - (i + 1) * delay for i, t in enumerate(trace.delta_times)]
        self.gaps += gaps
        self.first += gaps[:1]
        if trace.terminal == "run.finished" and len(trace.delta_times) == self.tokens:
            self.completed += 1
        else:
            self.errors.append(f"ended with {trace.terminal} after {len(trace.delta_times)}")

    def per_session_kib(self) -> float:
        return (self.peak_kib - self.idle_kib) / max(self.peak_active, 1)


async def load(url: str, sessions: int, ramp_s: float, phase: Phase) -> None:
    async def one(index: int) -> None:
        await asyncio.sleep(ramp_s * index / max(sessions, 1))
        phase.active += 1
        phase.peak_active = max(phase.peak_active, phase.active)
        try:
            trace = await stream_chat(url, PAYLOAD)
        except Exception as exc:
            phase.errors.append(f"{type(exc).__name__}: {exc}")
        else:
            phase.record(trace)
        finally:
            phase.active -= 1

    await asyncio.gather(*(one(i) for i in range(sessions)))


async def sample_rss(pid: int, out: list[int]) -> None:
    """The process's RSS (KiB) every 50 ms until cancelled."""
    while True:
        out.append(rss_kib(pid)[0])
        await asyncio.sleep(0.05)


async def measure(env: BenchEnv, server: Child, sessions: int, ramp_s: float, tokens: int) -> Phase:
    """Warm the server up, then put the whole load on it, watching RSS and CPU."""
    phase = Phase(tokens)
    # warm up: lazy imports, the first SQLite pages
    await asyncio.gather(*(stream_chat(server.url, PAYLOAD) for _ in range(5)))
    phase.idle_kib = rss_kib(server.pid)[0]
    pids = {"server": server.pid, "mock": env.mock_pid, "client": os.getpid()}
    before = {name: cpu_seconds(pid) for name, pid in pids.items() if pid is not None}
    samples: list[int] = []
    sampler = asyncio.create_task(sample_rss(server.pid, samples))
    try:
        await load(server.url, sessions, ramp_s, phase)
    finally:
        sampler.cancel()
    phase.cpu = {name: cpu_seconds(pids[name]) - spent for name, spent in before.items()}
    phase.peak_kib = max([*samples, rss_kib(server.pid)[0]])
    return phase


async def run(env: BenchEnv) -> ScenarioResult:
    sessions = env.size(1000, 10)
    workload = Workload(tokens=env.size(100, 5), delay_ms=DELAY_MS)
    ramp_s = 10.0 if not env.quick else 0.5
    result = ScenarioResult(
        "streaming_http",
        TITLE,
        {
            "sessions": sessions,
            "tokens": workload.tokens,
            "token_delay_ms": DELAY_MS,
            "ramp_s": ramp_s,
        },
    )
    sweep = SWEEP if not env.quick else (3,)
    async with env.server("streaming_http", workload) as server:
        sage = await measure(env, server, sessions, ramp_s, workload.tokens)
        sage_sweep = [await measure(env, server, n, ramp_s, workload.tokens) for n in sweep]
    async with env.relay("streaming_http", workload) as relay_server:
        relay = await measure(env, relay_server, sessions, ramp_s, workload.tokens)
        relay_sweep = [await measure(env, relay_server, n, ramp_s, workload.tokens) for n in sweep]
    result.checks["every session completed"] = sage.completed == sessions
    result.checks["no errors"] = not sage.errors
    result.checks["the relay completed every session"] = relay.completed == sessions
    for side, phase in (("Sage", sage), ("relay", relay)):
        if phase.errors:
            result.notes.append(f"{len(phase.errors)} {side} errors, first: {phase.errors[0]}")

    def vs_relay(
        name: str,
        value: float,
        unit: str,
        base: float,
        limit: float | None = None,
        on_ratio: bool = False,
    ) -> None:
        result.add(Metric(name, value, unit, base, limit, on_ratio, versus="relay"))

    vs_relay("completed", sage.completed, "sessions", relay.completed)
    vs_relay("errors", len(sage.errors), "count", len(relay.errors), limit=0)
    vs_relay("peak active sessions", sage.peak_active, "sessions", relay.peak_active)
    for pct in (50, 99):
        vs_relay(
            f"p{pct} added latency per token",
            ms(percentile(sage.gaps, pct)),
            "ms",
            ms(percentile(relay.gaps, pct)),
            limit=50 if pct == 99 else None,
        )
    vs_relay(
        "p99 added latency, first token",
        ms(percentile(sage.first, 99)),
        "ms",
        ms(percentile(relay.first, 99)),
    )
    vs_relay("server RSS idle", sage.idle_kib / 1024, "MiB", relay.idle_kib / 1024)
    vs_relay("server RSS peak", sage.peak_kib / 1024, "MiB", relay.peak_kib / 1024)
    vs_relay(
        "RSS per active session",
        sage.per_session_kib(),
        "KiB",
        relay.per_session_kib(),
        limit=150,
    )
    tokens = sessions * workload.tokens
    for part, label in (("server", "server"), ("mock", "mock LLM"), ("client", "bench client")):
        if part in sage.cpu:
            vs_relay(
                f"CPU per token: {label}",
                sage.cpu[part] / tokens * 1e6,
                "µs",
                relay.cpu[part] / tokens * 1e6,
                limit=2 if part == "server" else None,
                on_ratio=part == "server",
            )
    for n, sage_n, relay_n in zip(sweep, sage_sweep, relay_sweep, strict=True):
        result.checks[f"{n} streams: every session completed"] = sage_n.completed == n
        for side, phase in (("Sage", sage_n), ("relay", relay_n)):
            if phase.errors:
                result.notes.append(f"{n} streams: {len(phase.errors)} {side} errors")
        vs_relay(
            f"{n} streams: p99 added latency per token",
            ms(percentile(sage_n.gaps, 99)),
            "ms",
            ms(percentile(relay_n.gaps, 99)),
        )
        vs_relay(
            f"{n} streams: CPU per token: server",
            sage_n.cpu["server"] / (n * workload.tokens) * 1e6,
            "µs",
            relay_n.cpu["server"] / (n * workload.tokens) * 1e6,
        )
    return result


SCENARIO = Scenario("streaming_http", TITLE, run)
