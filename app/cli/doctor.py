"""``sage doctor``: a short verdict per part Sage needs — the LLM (reachable,
model listed, streaming, tool calling, structured output), the store and the
run registry (and whether PostgreSQL / Redis answer), MCP servers, the skill
sandbox, the data directory, the memory model — each failure with its
fix on the next line; exit 1 when any part fails. ``--verbose`` adds the
resolved configuration (secrets masked)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape

from app.cli.backends import Backend, check_backends
from app.cli.remote import short
from app.cli.verdicts import (
    Verdict,
    data_dir_verdicts,
    llm_verdicts,
    mcp_verdicts,
    memory_verdict,
    sandbox_verdict,
)
from sagents.settings import Settings

MARKS = {"ok": "[green]✓[/]", "warn": "[yellow]![/]", "fail": "[red]✗[/]"}


def run_doctor(console: Console, verbose: bool) -> None:
    settings = Settings()
    if verbose:
        console.print_json(json.dumps(settings.masked(), default=str))
    verdicts, learned = asyncio.run(_gather(settings))
    width = max(len(v.name) for v in verdicts)
    room = max(20, console.width - width - 4)
    for verdict in verdicts:
        # one line each: details are cut to the terminal (--verbose: whole)
        detail = verdict.detail if verbose else short(verdict.detail, room)
        console.print(
            f"{MARKS[verdict.status]} {verdict.name.ljust(width)}  {escape(detail)}",
            highlight=False,
        )
        if verdict.fix and verdict.status != "ok":
            console.print(f"  [bold]fix:[/] {escape(verdict.fix)}", highlight=False)
    if learned and verbose:
        console.print("What Sage learned about this endpoint (kept while the process runs):")
        console.print_json(json.dumps(learned))
    failed = [v.name for v in verdicts if v.status == "fail"]
    if failed:
        console.print(f"[red]{len(failed)} problem(s): {', '.join(failed)}[/]")
        raise typer.Exit(1)
    where = settings.llm_base_url or "https://api.openai.com/v1"
    console.print(f"[green]all good: LLM reachable at {where}[/]")


async def _gather(settings: Settings) -> tuple[list[Verdict], dict[str, Any]]:
    """Everything at once: the LLM probes, MCP starts and the sandbox probe
    each wait on something else; the data-directory and memory checks are
    quick, blocking ones run in threads."""
    llm, backends, mcp, sandbox, data, memory = await asyncio.gather(
        llm_verdicts(settings),
        check_backends(settings),
        mcp_verdicts(settings),
        sandbox_verdict(settings),
        asyncio.to_thread(data_dir_verdicts, settings),
        asyncio.to_thread(memory_verdict, settings),
    )
    stores = [_backend_verdict(b) for b in backends]
    return [*llm[0], *stores, *mcp, sandbox, *data, memory], llm[1]


BACKEND_FIXES = {
    "store": "start PostgreSQL, or check SAGE_DATABASE_URL (unset it for the embedded SQLite)",
    "run registry": "start Redis, or check SAGE_REDIS_URL (unset it for one process)",
}


def _backend_verdict(backend: Backend) -> Verdict:
    """Where state lives (credentials never shown) and whether it answers."""
    detail = f"{backend.what}: {backend.detail}" if backend.detail else backend.what
    if backend.ok:
        return Verdict(backend.role, "ok", detail)
    return Verdict(backend.role, "fail", detail, BACKEND_FIXES.get(backend.role))
