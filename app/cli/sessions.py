"""``sage sessions list | show | cancel | export``."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from app.cli.remote import DEFAULT_URL, KeyOpt, UrlOpt, call, console
from app.client import SageClient

sessions_app = typer.Typer(help="List, inspect and cancel your sessions.", no_args_is_help=True)


def _when(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S")


@sessions_app.command("list")
def list_(
    limit: int = 20, offset: int = 0, url: UrlOpt = DEFAULT_URL, api_key: KeyOpt = None
) -> None:
    page: Any = call(url, api_key, lambda c: c.sessions(limit, offset))
    table = Table("id", "status", "updated", "title")
    for s in page["items"]:
        table.add_row(s["id"], s["status"], _when(s["updated_at"]), s["title"])
    console.print(table)
    console.print(f"[dim]{len(page['items'])} of {page['total']}[/]")


@sessions_app.command()
def show(session_id: str, url: UrlOpt = DEFAULT_URL, api_key: KeyOpt = None) -> None:
    detail: Any = call(url, api_key, lambda c: c.session(session_id))
    messages: Any = call(url, api_key, lambda c: c.messages(session_id))
    console.print(f"[bold]{detail['title']}[/] [dim]{detail['id']} · {detail['status']}[/]")
    for m in messages:
        label = m["role"] + (f"/{m['agent']}" if m.get("agent") else "")
        mark = " [yellow](interrupted)[/]" if m.get("interrupted") else ""
        body = m.get("content") or ""
        if m.get("tool_calls"):
            body += " ".join(f"⚙ {c['function']['name']}" for c in m["tool_calls"])
        console.print(f"[cyan]{label}[/]{mark}: {body}", highlight=False)


@sessions_app.command()
def cancel(session_id: str, url: UrlOpt = DEFAULT_URL, api_key: KeyOpt = None) -> None:
    result: Any = call(url, api_key, lambda c: c.cancel(session_id))
    console.print(f"cancel requested for run {result['run_id']}")


@sessions_app.command()
def export(
    session_id: str,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
    url: UrlOpt = DEFAULT_URL,
    api_key: KeyOpt = None,
) -> None:
    """Write the session as JSON lines (runs, events, messages, tasks; secrets redacted)."""

    async def go(client: SageClient) -> None:
        sink = output.open("wb") if output is not None else sys.stdout.buffer
        try:
            async for chunk in client.export(session_id):
                sink.write(chunk)
        finally:
            if output is not None:
                sink.close()
            else:
                sink.flush()

    call(url, api_key, go)
