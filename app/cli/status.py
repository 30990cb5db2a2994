"""``sage status``: the running server, one line per part (✓/✗), from
``GET /api/v1/status``; exit 1 when the server cannot be reached or a part
is not well."""

from __future__ import annotations

from typing import Any

import typer
from rich.markup import escape

from app.cli.address import resolve_url
from app.cli.remote import DEFAULT_URL, JsonOpt, KeyOpt, UrlOpt, call, console, print_json

PARTS = ("store", "registry", "llm", "mcp", "skills", "memory")


def status(as_json: JsonOpt = False, url: UrlOpt = DEFAULT_URL, api_key: KeyOpt = None) -> None:
    """Is the server up, and each of its parts well: store, run registry, LLM
    configuration, MCP servers, skills and sandbox, memory; your active runs."""
    server = resolve_url(url)
    body: Any = call(server, api_key, lambda c: c.request("GET", "/api/v1/status"))
    if as_json:
        print_json(body)
        return
    console.print(
        f"[green]✓[/] server    {escape(server)} · Sage {escape(body['version'])} · "
        f"{body['active_runs']} active run(s)",
        highlight=False,
    )
    for name in PARTS:
        part = body[name]
        mark = "[green]✓[/]" if part["ok"] else "[red]✗[/]"
        console.print(f"{mark} {name.ljust(9)} {escape(part['detail'])}", highlight=False)
    if not all(body[name]["ok"] for name in PARTS):
        raise typer.Exit(1)
