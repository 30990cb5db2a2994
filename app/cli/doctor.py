"""``sage doctor``: the resolved configuration, and a probe of the LLM endpoint."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from app.cli.backends import check_backends
from sagents.llm.openai_model import OpenAIChatModel
from sagents.llm.probe import Check, probe_endpoint
from sagents.settings import NOT_CONFIGURED_MESSAGE, Settings

MARKS = {"ok": "[green]ok[/]", "warn": "[yellow]note[/]", "fail": "[red]FAIL[/]"}


def run_doctor(console: Console, err: Console) -> None:
    settings = Settings()
    console.print_json(json.dumps(settings.masked(), default=str))
    backends = asyncio.run(check_backends(settings))
    for backend in backends:
        mark = "[green]ok[/]" if backend.ok else "[red]FAIL[/]"
        text = f"{escape(backend.role)}: {escape(backend.what)} {mark} {escape(backend.detail)}"
        console.print(text, soft_wrap=True)
    if not all(backend.ok for backend in backends):
        err.print("[red]A configured server does not answer (see above).[/]")
        raise typer.Exit(1)
    if not settings.llm_configured:
        err.print(f"[red]LLM: not configured.[/] {NOT_CONFIGURED_MESSAGE}")
        raise typer.Exit(1)
    checks, learned = asyncio.run(_probe(settings))
    table = Table(title=f"LLM at {settings.llm_base_url or 'https://api.openai.com/v1'}")
    table.add_column("check")
    table.add_column("")
    table.add_column("detail", overflow="fold")
    for check in checks:
        table.add_row(check.name, MARKS[check.status], check.detail)
    console.print(table)
    if learned:
        console.print("What Sage learned about this endpoint (kept while the process runs):")
        console.print_json(json.dumps(learned))
    if any(check.status == "fail" for check in checks):
        err.print("[red]LLM: not usable as configured.[/]")
        raise typer.Exit(1)
    console.print(f"[green]LLM: reachable at {settings.llm_base_url or 'api.openai.com'}[/]")


async def _probe(settings: Settings) -> tuple[list[Check], dict[str, Any]]:
    model = OpenAIChatModel(settings)
    try:
        checks = await probe_endpoint(model)
        return checks, model.capabilities.report()
    finally:
        await model.aclose()
