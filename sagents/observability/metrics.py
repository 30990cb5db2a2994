"""The instruments Sage records: the GenAI client metrics and its own run
and tool counters.

Built from a ``Meter`` (the Runtime's ``MeterProvider``; a no-op meter when
metrics are off, whose instruments cost a method call). Names follow the
conventions: dotted, lower case, unit in UCUM (``s``, ``{token}``, ``{run}``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from opentelemetry.metrics import CallbackOptions, Meter, Observation

from sagents.observability import semconv as sc


class Metrics:
    """Every instrument, created once per Runtime."""

    def __init__(self, meter: Meter) -> None:
        self._meter = meter
        self.token_usage = meter.create_histogram(
            "gen_ai.client.token.usage",
            unit="{token}",
            description="Input and output tokens per LLM call.",
            explicit_bucket_boundaries_advisory=list(sc.TOKEN_BUCKETS),
        )
        self.operation_duration = meter.create_histogram(
            "gen_ai.client.operation.duration",
            unit="s",
            description="Duration of each LLM call, to its last chunk.",
            explicit_bucket_boundaries_advisory=list(sc.DURATION_BUCKETS),
        )
        self.runs_started = meter.create_counter(
            "sage.runs.started", unit="{run}", description="Runs accepted."
        )
        self.runs_ended = meter.create_counter(
            "sage.runs.ended",
            unit="{run}",
            description="Runs ended, by sage.run.status: finished, failed or cancelled.",
        )
        self.runs_active = meter.create_up_down_counter(
            "sage.runs.active", unit="{run}", description="Runs executing now."
        )
        self.run_duration = meter.create_histogram(
            "sage.run.duration",
            unit="s",
            description="From the run's start to its terminal event, by sage.run.status.",
            explicit_bucket_boundaries_advisory=list(sc.DURATION_BUCKETS),
        )
        self.cancel_latency = meter.create_histogram(
            "sage.run.cancel.duration",
            unit="s",
            description="From the cancel request to the run's run.cancelled event.",
            explicit_bucket_boundaries_advisory=list(sc.DURATION_BUCKETS),
        )
        self.tool_calls = meter.create_counter(
            "sage.tool.calls", unit="{call}", description="Tool calls, by gen_ai.tool.name."
        )
        self.tool_errors = meter.create_counter(
            "sage.tool.errors",
            unit="{call}",
            description="Tool calls that ended with ok=false, by gen_ai.tool.name.",
        )
        self.tool_duration = meter.create_histogram(
            "sage.tool.duration",
            unit="s",
            description="Duration of each tool call, by gen_ai.tool.name.",
            explicit_bucket_boundaries_advisory=list(sc.DURATION_BUCKETS),
        )

    def watch_mcp(self, servers: Callable[[], Iterable[tuple[str, str]]]) -> None:
        """``sage.mcp.server.status``: per server, 1 for its current status and
        0 for the others (``sage.mcp.server``, ``sage.mcp.status``), read when
        metrics are collected; ``servers`` gives (name, status) pairs."""
        statuses = ("idle", "connecting", "connected", "error", "disabled")

        def observe(options: CallbackOptions) -> Iterable[Observation]:
            for name, status in servers():
                for each in statuses:
                    attributes = {"sage.mcp.server": name, "sage.mcp.status": each}
                    yield Observation(1 if each == status else 0, attributes)

        self._meter.create_observable_gauge(
            "sage.mcp.server.status",
            callbacks=[observe],
            unit="1",
            description="1 for the status each MCP server is in, 0 for the others.",
        )
