"""``sage verify``: an end-to-end self-test through the HTTP API — a chat, a
tool call (a bundled skill's script, so the sandbox is part of it), a
cancel and a resume — each reported with what happened and how long it
took; exit 1 when one fails.

Against the running server (the configured address and LLM) by default;
``--mock`` needs nothing: it starts the bundled mock LLM, scripted for these
steps, and a Sage server of its own on a scratch data directory, both on
loopback, and stops them afterwards.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import httpx2
import typer
from rich.markup import escape

from app.cli.address import resolve_url
from app.cli.remote import DEFAULT_URL, KeyOpt, UrlOpt, console, err
from app.client import SageAPIError, SageClient
from sagents.events import MessageDelta, RunCancelled, RunFailed, RunFinished, ToolResult

SIMPLE = {"deep_thinking": False, "multi_agent": False, "skill_selection": False}
"""The simple path, no router or skill-selection call: each step asks the
LLM exactly what it tests."""

CONVERT = {"name": "unit-convert", "script": "convert.py", "args": ["5", "km", "mi"]}
CHAT_Q = "Reply with the single word: ready."
TOOL_Q = (
    "Convert 5 km to miles by running the unit-convert skill's script "
    "(run_skill_script with name unit-convert, script convert.py, args 5 km mi)."
)
LONG_Q = "Count from 1 to 300, one number per line, nothing else."


@dataclass(frozen=True, slots=True)
class Step:
    name: str
    ok: bool
    detail: str
    seconds: float


async def _chat(client: SageClient, message: str, **options: Any) -> list[Any]:
    return [e async for e in client.chat({"message": message, **SIMPLE, **options})]


def _end(events: list[Any]) -> str:
    last = events[-1] if events else None
    if isinstance(last, RunFailed):
        return f"run.failed ({last.error_type}): {last.message}"
    return last.type if last is not None else "no events"


async def step_chat(client: SageClient, seen: dict[str, Any]) -> tuple[bool, str]:
    events = await _chat(client, CHAT_Q)
    seen["chat"] = events
    if isinstance(events[-1], RunFinished) and events[-1].answer.strip():
        return True, f"answered {events[-1].answer.strip()[:40]!r} in {len(events)} events"
    return False, f"the run ended with {_end(events)}"


async def step_tool(client: SageClient, seen: dict[str, Any]) -> tuple[bool, str]:
    events = await _chat(client, TOOL_Q)
    results = [e for e in events if isinstance(e, ToolResult)]
    if not results:
        return False, f"no tool was called (the model answered in text); {_end(events)}"
    good = [r for r in results if r.ok]
    if not good:
        return False, f"{results[0].tool} failed: {results[0].content[:160]}"
    try:  # a script's result: say what it printed
        shown = str(json.loads(good[0].content).get("stdout", good[0].content))
    except (ValueError, AttributeError):
        shown = good[0].content
    return True, f"{good[0].tool} → {' '.join(shown.split())[:60]}"


async def step_cancel(client: SageClient, seen: dict[str, Any]) -> tuple[bool, str]:
    events: list[Any] = []
    too_late = False
    async for event in client.chat({"message": LONG_Q, **SIMPLE}):
        events.append(event)
        if isinstance(event, MessageDelta) and not any(
            isinstance(e, MessageDelta) for e in events[:-1]
        ):
            try:
                await client.cancel(event.session_id)
            except SageAPIError as exc:
                if exc.status != 409:
                    raise
                too_late = True  # the answer was over before the cancel arrived
    if too_late:
        return False, "the answer ended before the cancel reached it (a short answer?)"
    if isinstance(events[-1], RunCancelled):
        return (
            True,
            f"run.cancelled after {sum(isinstance(e, MessageDelta) for e in events)} deltas",
        )
    return False, f"the run ended with {_end(events)} (it may have finished before the cancel)"


async def step_resume(client: SageClient, seen: dict[str, Any]) -> tuple[bool, str]:
    first = seen.get("chat") or []
    if len(first) < 2:
        return False, "no finished chat to resume"
    start = first[0]
    replay = [e async for e in client.events(start.session_id, start.run_id, after=start.seq)]
    wanted = [e.seq for e in first[1:]]
    if [e.seq for e in replay] == wanted:
        return True, f"{len(replay)} events after seq {start.seq} replayed, in order"
    return False, f"replayed seqs {[e.seq for e in replay][:8]}…, expected {wanted[:8]}…"


STEPS: list[tuple[str, Callable[[SageClient, dict[str, Any]], Awaitable[tuple[bool, str]]]]] = [
    ("chat", step_chat),
    ("tool call", step_tool),
    ("cancel", step_cancel),
    ("resume", step_resume),
]


async def run_steps(url: str, api_key: str | None, timeout_s: float) -> list[Step]:
    out: list[Step] = []
    seen: dict[str, Any] = {}
    async with SageClient(url, api_key, timeout=timeout_s) as client:
        for name, check in STEPS:
            started = time.monotonic()
            try:
                async with asyncio.timeout(timeout_s):
                    ok, detail = await check(client, seen)
            except TimeoutError:
                ok, detail = False, f"no end within {timeout_s:g} s"
            except SageAPIError as exc:
                ok, detail = False, str(exc)
            out.append(Step(name, ok, detail, time.monotonic() - started))
    return out


def mock_script() -> Any:
    """The turns the steps use, in order (the mock answers each request with the next)."""
    from sagents.testing import Script, ScriptedToolCall, Turn

    return Script(
        turns=[
            Turn(text="ready"),
            Turn(tool_calls=[ScriptedToolCall(name="run_skill_script", arguments=CONVERT)]),
            Turn(text="5 km is about 3.107 miles."),
            Turn(text="1\n" * 3000, faults={"token_delay_s": 0.005}),
        ]
    )


@asynccontextmanager
async def mock_server(folder: Path) -> AsyncIterator[str]:
    """The mock LLM and a Sage server on loopback for ``--mock``; yields Sage's URL."""
    from app.main import create_app
    from sagents.settings import Settings
    from sagents.testing import MockLLMServer, ServerThread

    llm = MockLLMServer(mock_script())
    llm.start()
    settings = Settings(
        _env_file=None,
        data_dir=folder / "data",
        llm_base_url=llm.base_url,
        llm_model="sage-mock",
        memory_extract=False,
        mcp_settings_path=None,
    )
    sage = ServerThread(create_app(settings))
    try:
        yield await asyncio.to_thread(sage.start)
    finally:
        await asyncio.to_thread(sage.stop)
        llm.stop()


def verify(
    mock: Annotated[
        bool,
        typer.Option("--mock", help="Test against the bundled mock LLM, on a server of its own."),
    ] = False,
    timeout: Annotated[float, typer.Option(help="Seconds allowed for each step.")] = 120.0,
    url: UrlOpt = DEFAULT_URL,
    api_key: KeyOpt = None,
) -> None:
    """End-to-end self-test through the API: a chat, a tool call (a skill script
    in the sandbox), a cancel and a resume, each with its result; exit 1 on a
    failure. Uses the running server and its LLM, or --mock."""

    async def main() -> tuple[str, list[Step]]:
        if not mock:
            server = resolve_url(url)
            return server, await run_steps(server, api_key, timeout)
        with tempfile.TemporaryDirectory(prefix="sage-verify-") as folder:
            async with mock_server(Path(folder)) as server:
                return f"{server} (mock)", await run_steps(server, None, timeout)

    try:
        where, steps = asyncio.run(main())
    except (OSError, httpx2.TransportError) as exc:
        err.print(f"[red]cannot reach Sage: {exc}[/]\nStart it with `sage serve`, or use --mock.")
        raise typer.Exit(1) from None
    console.print(f"[dim]verifying {escape(where)}[/]")
    for s in steps:
        mark = "[green]✓[/]" if s.ok else "[red]✗[/]"
        line = f"{mark} {s.name.ljust(9)} {escape(s.detail)} [dim]({s.seconds:.1f} s)[/]"
        console.print(line, highlight=False)
    if not all(s.ok for s in steps):
        raise typer.Exit(1)
