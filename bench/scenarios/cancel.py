"""Scenario 4: cancel latency, mid-stream and mid-tool, in process.

Half the runs are cancelled after the 10th streamed token of a slow answer,
half while a slow async tool is running. Measured: time from the cancel
request (``SAgent.cancel``) to the ``run.cancelled`` event reaching the
reader. The tool records whether it was interrupted or ran to completion,
which proves the work really stopped. The baseline cancels an asyncio task
doing the same with the raw SDK and the tool called by hand.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from bench.direct import DirectClient
from bench.env import BenchEnv
from bench.mock import Workload
from bench.result import Metric, ScenarioResult, median, ms, percentile
from bench.scenario import BenchError, Scenario
from bench.tools import SlowToolProbe, slow_add_tool
from sagents.request import RunRequest
from sagents.sagent import SAgent
from sagents.tools import ToolManager

TITLE = "Cancel mid-stream and mid-tool (cancel request → run.cancelled)"
STREAM = Workload(tokens=400, delay_ms=5)
CANCEL_AFTER_TOKENS = 10
REQUEST: dict[str, Any] = {
    "message": "Go.",
    "deep_thinking": False,
    "multi_agent": False,
    "available_skills": [],
}


async def sage_cancel(sage: SAgent, probe: SlowToolProbe | None) -> float:
    """One run cancelled mid-stream (no probe) or mid-tool; returns seconds."""
    deltas = 0
    cancel_at = 0.0
    last: Any = None
    tools = [] if probe is None else ["slow_add"]
    request = RunRequest(**REQUEST, available_tools=tools)
    async for event in sage.run_stream(request, "bench"):
        last = event
        trigger = False
        if probe is None and event.type == "message.delta":
            deltas += 1
            trigger = deltas == CANCEL_AFTER_TOKENS
        elif probe is not None and event.type == "tool.called":
            await probe.running.wait()
            probe.running.clear()
            trigger = True
        if trigger:
            cancel_at = time.perf_counter()
            sage.cancel(event.run_id)
    if last is None or last.type != "run.cancelled" or not cancel_at:
        raise BenchError(f"a cancelled Sage run ended with {getattr(last, 'type', None)}")
    return time.perf_counter() - cancel_at


async def direct_cancel(direct: DirectClient, probe: SlowToolProbe | None) -> float:
    reached = asyncio.Event()
    tokens = 0

    def on_token(_: str) -> None:
        nonlocal tokens
        tokens += 1
        if tokens == CANCEL_AFTER_TOKENS:
            reached.set()

    async def work() -> None:
        messages = [{"role": "user", "content": REQUEST["message"]}]
        if probe is None:
            await direct.stream(STREAM.model(), messages, on_token=on_token)
            return
        tool = slow_add_tool(probe).openai_tool()
        await direct.stream(STREAM.model(), messages, [tool])
        probe.started += 1
        reached.set()
        try:
            await asyncio.sleep(30)  # the slow tool, called by hand
        except asyncio.CancelledError:
            probe.cancelled += 1
            raise
        probe.finished += 1

    task = asyncio.create_task(work())
    await reached.wait()
    cancel_at = time.perf_counter()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return time.perf_counter() - cancel_at


async def run(env: BenchEnv) -> ScenarioResult:
    per_kind = env.size(50, 2)
    result = ScenarioResult(
        "cancel",
        TITLE,
        {
            "runs": 2 * per_kind,
            "mid_stream": per_kind,
            "mid_tool": per_kind,
            "token_delay_ms": STREAM.delay_ms,
            "cancel_after_tokens": CANCEL_AFTER_TOKENS,
        },
    )
    sage_probe = SlowToolProbe()
    direct_probe = SlowToolProbe()
    tools = ToolManager()
    tools.add(slow_add_tool(sage_probe))
    sage_s: list[float] = []
    direct_s: list[float] = []
    async with (
        env.runtime("cancel-stream", STREAM) as stream_rt,
        env.runtime("cancel-tool", STREAM, tools) as tool_rt,
        env.direct() as direct,
    ):
        stream_sage, tool_sage = SAgent(stream_rt), SAgent(tool_rt)
        for _ in range(per_kind):
            sage_s.append(await sage_cancel(stream_sage, None))
            direct_s.append(await direct_cancel(direct, None))
            sage_s.append(await sage_cancel(tool_sage, sage_probe))
            direct_s.append(await direct_cancel(direct, direct_probe))
        await asyncio.sleep(0.1)  # a tool that escaped the cancel would finish or fail now
    stopped = (
        sage_probe.started == per_kind
        and sage_probe.cancelled == per_kind
        and sage_probe.finished == 0
    )
    result.checks["every run ended with run.cancelled"] = True
    result.checks["the tool really stopped (interrupted, never finished)"] = stopped
    result.notes.append(
        f"slow tool: started {sage_probe.started}, interrupted {sage_probe.cancelled}, "
        f"finished {sage_probe.finished}"
    )
    result.add(Metric("p50 cancel → run.cancelled", ms(median(sage_s)), "ms", ms(median(direct_s))))
    result.add(
        Metric(
            "p99 cancel → run.cancelled",
            ms(percentile(sage_s, 99)),
            "ms",
            ms(percentile(direct_s, 99)),
            100,
        )
    )
    return result


SCENARIO = Scenario("cancel", TITLE, run)
