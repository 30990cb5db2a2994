"""The tool turn (scenario ``tool_turn``) with tracing off and with an OTLP
exporter configured, turns alternating between the two runtimes.

With nothing configured Sage creates no spans at all (``Observability``
is disabled); configured, each turn records its run, agent, chat, tool and
history spans and the metrics, and the SDK's batch processor sends them
over OTLP/HTTP to a receiver on loopback (a thread here that reads and
drops each request), off the event loop. The ratio is the price of tracing
per turn; the untraced side is the baseline.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from bench.env import BenchEnv
from bench.mock import answer_text
from bench.result import Metric, ScenarioResult, median, ms, percentile
from bench.scenario import BenchError, Scenario
from bench.scenarios.tool_turn import WORKLOAD, check_sage_events, sage_turn
from bench.tools import add_tools
from sagents.observability import Observability
from sagents.runtime import Runtime
from sagents.sagent import SAgent


class _Drop(BaseHTTPRequestHandler):
    received = 0

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", "0")))
        type(self).received += 1
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def otlp_receiver() -> Iterator[tuple[str, type[_Drop]]]:
    handler = type("Drop", (_Drop,), {"received": 0})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()


async def run(env: BenchEnv) -> ScenarioResult:
    turns = env.size(200, 4)
    warmup = env.size(20, 1)
    result = ScenarioResult(
        "tool_turn_traced",
        TITLE,
        {"turns": turns, "warmup": warmup, "answer_tokens": WORKLOAD.tokens, "llm_latency_ms": 0},
    )
    expected = answer_text(WORKLOAD.tokens)
    times: dict[str, list[float]] = {"off": [], "traced": []}
    with otlp_receiver() as (url, received):
        plain_settings = env.settings("tool_turn_off", WORKLOAD)
        traced_settings = env.settings("tool_turn_traced", WORKLOAD)
        obs = Observability.from_environment(traced_settings, {"OTEL_EXPORTER_OTLP_ENDPOINT": url})
        if not obs.tracing:
            raise BenchError("the OTLP exporter was not configured")
        plain = await Runtime.create(plain_settings, tools=add_tools())
        traced = await Runtime.create(traced_settings, tools=add_tools(), observability=obs)
        try:
            if plain.observability.enabled:
                raise BenchError("tracing is on without OTEL_* variables (check the environment)")
            agents = {"off": SAgent(plain), "traced": SAgent(traced)}
            for i in range(warmup + turns):
                for side in ("off", "traced") if i % 2 else ("traced", "off"):
                    started = time.perf_counter()
                    events = await sage_turn(agents[side])
                    elapsed = time.perf_counter() - started
                    check_sage_events(events, expected)
                    if i >= warmup:
                        times[side].append(elapsed)
        finally:
            await plain.aclose()
            await traced.aclose()  # flushes the last spans to the receiver
        if received.received == 0:
            raise BenchError("no OTLP request reached the receiver")
    result.checks["every turn answered correctly"] = True
    result.checks["spans reached the OTLP receiver"] = True
    off, on = times["off"], times["traced"]
    result.add(Metric("p50 per turn, tracing off", ms(median(off)), "ms"))
    result.add(Metric("p50 per turn, OTLP exporter on", ms(median(on)), "ms", ms(median(off))))
    p95_on, p95_off = ms(percentile(on, 95)), ms(percentile(off, 95))
    result.add(Metric("p95 per turn, OTLP exporter on", p95_on, "ms", p95_off))
    return result


TITLE = "Tool turn with tracing off vs an OTLP/HTTP exporter configured (ratio: traced / off)"
SCENARIO = Scenario("tool_turn_traced", TITLE, run)
