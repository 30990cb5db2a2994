"""Scenario 4: cancel latency, mid-stream, mid-tool and mid-MCP-call, in process.

A third of the runs are cancelled after the 10th streamed token of a slow
answer, a third while a slow async tool is running, a third while a slow
tool on a real MCP server (``bench.mcp_slow``, over stdio) is running.
Measured: time from the cancel request (``SAgent.cancel``) to the
``run.cancelled`` event reaching the reader. Both tools record whether they
were interrupted or ran to completion (the MCP server in a log file, since
it is another process), which proves the work really stopped. The baseline
cancels an asyncio task doing the same with the raw SDK, the local tool
called by hand, and the MCP tool called through the mcp SDK's own client.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from pathlib import Path
from typing import Any

from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client

from bench import mcp_slow
from bench.direct import DirectClient
from bench.env import BenchEnv
from bench.mock import Workload
from bench.result import Metric, ScenarioResult, median, ms, percentile
from bench.scenario import BenchError, Scenario
from bench.tools import SlowToolProbe, slow_add_tool
from sagents.request import RunRequest
from sagents.sagent import SAgent
from sagents.tools import ToolManager

TITLE = "Cancel mid-stream, mid-tool and mid-MCP-call (cancel request → run.cancelled)"
MCP_TOOL = "slow_add_mcp"
MCP_SERVER = Path(mcp_slow.__file__)
STREAM = Workload(tokens=400, delay_ms=5)
CANCEL_AFTER_TOKENS = 10
REQUEST: dict[str, Any] = {
    "message": "Go.",
    "deep_thinking": False,
    "multi_agent": False,
    "available_skills": [],
}


async def mcp_call_started(log: Path, before: int) -> None:
    """Until the MCP server has logged one more started call than ``before``.

    Polled: the news is in a file written by another process, which no
    asyncio.Event of ours can carry.
    """
    while mcp_slow.tally(log)["started"] <= before:  # noqa: ASYNC110
        await asyncio.sleep(0.002)


async def sage_cancel(
    sage: SAgent, probe: SlowToolProbe | None, mcp_log: Path | None = None
) -> float:
    """One run cancelled mid-stream (no probe, no log), mid-tool (probe) or
    mid-MCP-call (log); returns seconds."""
    deltas = 0
    cancel_at = 0.0
    last: Any = None
    tools = ["slow_add"] if probe is not None else [MCP_TOOL] if mcp_log is not None else []
    request = RunRequest(**REQUEST, available_tools=tools)
    started = mcp_slow.tally(mcp_log)["started"] if mcp_log is not None else 0
    async for event in sage.run_stream(request, "bench"):
        last = event
        trigger = False
        if probe is None and mcp_log is None and event.type == "message.delta":
            deltas += 1
            trigger = deltas == CANCEL_AFTER_TOKENS
        elif probe is not None and event.type == "tool.called":
            await probe.running.wait()
            probe.running.clear()
            trigger = True
        elif mcp_log is not None and event.type == "tool.called":
            await mcp_call_started(mcp_log, started)
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


async def direct_mcp_cancel(client: Client, log: Path) -> float:
    """The MCP tool called through the mcp SDK's client, that call cancelled."""
    before = mcp_slow.tally(log)["started"]
    task = asyncio.create_task(client.call_tool(MCP_TOOL, {"a": 2, "b": 3}))
    await mcp_call_started(log, before)
    cancel_at = time.perf_counter()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return time.perf_counter() - cancel_at


def mcp_settings(workdir: Path, log: Path) -> Path:
    """An mcp_setting.json naming the slow server, logging to ``log``."""
    path = workdir / f"mcp-{log.stem}.json"
    entry = {"command": sys.executable, "args": [str(MCP_SERVER), str(log)]}
    path.write_text(json.dumps({"mcpServers": {"slow": entry}}), encoding="utf-8")
    return path


async def settle(log: Path, calls: int) -> dict[str, int]:
    """The server's tally once every call has ended (or after 5 s): the
    cancelled lines are written by the server as it tears each call down."""
    tally = mcp_slow.tally(log)
    for _ in range(250):
        if tally["cancelled"] + tally["finished"] >= calls:
            break
        await asyncio.sleep(0.02)
        tally = mcp_slow.tally(log)
    return tally


async def run(env: BenchEnv) -> ScenarioResult:
    per_kind = env.size(50, 2)
    result = ScenarioResult(
        "cancel",
        TITLE,
        {
            "runs": 3 * per_kind,
            "mid_stream": per_kind,
            "mid_tool": per_kind,
            "mid_mcp_call": per_kind,
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
    mcp_sage_s: list[float] = []
    mcp_direct_s: list[float] = []
    sage_log = env.workdir / "mcp-sage.log"
    direct_log = env.workdir / "mcp-direct.log"
    direct_server = StdioServerParameters(
        command=sys.executable, args=[str(MCP_SERVER), str(direct_log)]
    )
    async with (
        env.runtime("cancel-stream", STREAM) as stream_rt,
        env.runtime("cancel-tool", STREAM, tools) as tool_rt,
        env.runtime(
            "cancel-mcp",
            STREAM,
            mcp_settings_path=mcp_settings(env.workdir, sage_log),
            mcp_startup_wait_s=30.0,
        ) as mcp_rt,
        env.direct() as direct,
        Client(stdio_client(direct_server)) as mcp_client,
    ):
        if mcp_rt.tools.get(MCP_TOOL) is None:
            raise BenchError(f"the MCP server did not come up: no tool {MCP_TOOL!r}")
        stream_sage, tool_sage, mcp_sage = SAgent(stream_rt), SAgent(tool_rt), SAgent(mcp_rt)
        for _ in range(per_kind):
            sage_s.append(await sage_cancel(stream_sage, None))
            direct_s.append(await direct_cancel(direct, None))
            sage_s.append(await sage_cancel(tool_sage, sage_probe))
            direct_s.append(await direct_cancel(direct, direct_probe))
            mcp_sage_s.append(await sage_cancel(mcp_sage, None, sage_log))
            mcp_direct_s.append(await direct_mcp_cancel(mcp_client, direct_log))
        await asyncio.sleep(0.1)  # a tool that escaped the cancel would finish or fail now
        on_server = await settle(sage_log, per_kind)
    stopped = (
        sage_probe.started == per_kind
        and sage_probe.cancelled == per_kind
        and sage_probe.finished == 0
    )
    result.checks["every run ended with run.cancelled"] = True
    result.checks["the tool really stopped (interrupted, never finished)"] = stopped
    result.checks["the MCP tool really stopped on its server"] = on_server == {
        "started": per_kind,
        "cancelled": per_kind,
        "finished": 0,
    }
    result.notes.append(
        f"slow tool: started {sage_probe.started}, interrupted {sage_probe.cancelled}, "
        f"finished {sage_probe.finished}"
    )
    result.notes.append(
        f"slow MCP tool (as its server logged): started {on_server['started']}, "
        f"cancelled {on_server['cancelled']}, finished {on_server['finished']}"
    )
    sage_all, direct_all = sage_s + mcp_sage_s, direct_s + mcp_direct_s
    result.add(
        Metric("p50 cancel → run.cancelled", ms(median(sage_all)), "ms", ms(median(direct_all)))
    )
    result.add(
        Metric(
            "p99 cancel → run.cancelled",
            ms(percentile(sage_all, 99)),
            "ms",
            ms(percentile(direct_all, 99)),
            100,
        )
    )
    result.add(
        Metric(
            "mid-MCP-call p99 cancel → run.cancelled",
            ms(percentile(mcp_sage_s, 99)),
            "ms",
            ms(percentile(mcp_direct_s, 99)),
        )
    )
    return result


SCENARIO = Scenario("cancel", TITLE, run)
