"""``sage sessions list | show | cancel``."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from app.client import SageAPIError, SageClient

sessions_app = typer.Typer(help="List, inspect and cancel your sessions.", no_args_is_help=True)
console = Console()
err = Console(stderr=True)

UrlOpt = Annotated[str, typer.Option("--url", envvar="SAGE_URL", help="Sage server URL.")]
KeyOpt = Annotated[
    str | None, typer.Option("--api-key", envvar="SAGE_CLIENT_API_KEY", help="Bearer key.")
]
T = TypeVar("T")


def _call(url: str, api_key: str | None, fn: Callable[[SageClient], Awaitable[T]]) -> T:
    async def go() -> T:
        async with SageClient(url, api_key) as client:
            return await fn(client)

    try:
        return asyncio.run(go())
    except SageAPIError as exc:
        err.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from None
    except OSError as exc:
        err.print(f"[red]cannot reach Sage at {url}: {exc}[/]\nStart it with `sage serve`.")
        raise typer.Exit(1) from None


def _when(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S")


@sessions_app.command("list")
def list_(
    limit: int = 20, offset: int = 0, url: UrlOpt = "http://127.0.0.1:8080", api_key: KeyOpt = None
) -> None:
    page: Any = _call(url, api_key, lambda c: c.sessions(limit, offset))
    table = Table("id", "status", "updated", "title")
    for s in page["items"]:
        table.add_row(s["id"], s["status"], _when(s["updated_at"]), s["title"])
    console.print(table)
    console.print(f"[dim]{len(page['items'])} of {page['total']}[/]")


@sessions_app.command()
def show(session_id: str, url: UrlOpt = "http://127.0.0.1:8080", api_key: KeyOpt = None) -> None:
    detail: Any = _call(url, api_key, lambda c: c.session(session_id))
    messages: Any = _call(url, api_key, lambda c: c.messages(session_id))
    console.print(f"[bold]{detail['title']}[/] [dim]{detail['id']} · {detail['status']}[/]")
    for m in messages:
        label = m["role"] + (f"/{m['agent']}" if m.get("agent") else "")
        mark = " [yellow](interrupted)[/]" if m.get("interrupted") else ""
        body = m.get("content") or ""
        if m.get("tool_calls"):
            body += " ".join(f"⚙ {c['function']['name']}" for c in m["tool_calls"])
        console.print(f"[cyan]{label}[/]{mark}: {body}", highlight=False)


@sessions_app.command()
def cancel(session_id: str, url: UrlOpt = "http://127.0.0.1:8080", api_key: KeyOpt = None) -> None:
    result: Any = _call(url, api_key, lambda c: c.cancel(session_id))
    console.print(f"cancel requested for run {result['run_id']}")
