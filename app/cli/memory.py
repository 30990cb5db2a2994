"""``sage memory list | search | forget``: the caller's long-term memory."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.table import Table

from app.client import SageAPIError

memory_app = typer.Typer(help="See and edit what Sage remembers about you.", no_args_is_help=True)
console = Console()
err = Console(stderr=True)

UrlOpt = Annotated[str, typer.Option("--url", envvar="SAGE_URL", help="Sage server URL.")]
KeyOpt = Annotated[
    str | None, typer.Option("--api-key", envvar="SAGE_CLIENT_API_KEY", help="Bearer key.")
]
DEFAULT_URL = "http://127.0.0.1:8080"


def _request(url: str, api_key: str | None, method: str, path: str, **kwargs: Any) -> Any:
    async def go() -> Any:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        async with httpx.AsyncClient(base_url=url.rstrip("/"), headers=headers) as http:
            response = await http.request(method, path, **kwargs)
        if response.status_code >= 400:
            try:
                body: Any = response.json()
            except ValueError:
                body = response.text
            raise SageAPIError(response.status_code, body)
        return response.json() if response.content else None

    try:
        return asyncio.run(go())
    except SageAPIError as exc:
        err.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from None
    except OSError as exc:
        err.print(f"[red]cannot reach Sage at {url}: {exc}[/]\nStart it with `sage serve`.")
        raise typer.Exit(1) from None


def _table(items: list[dict[str, Any]], *, distance: bool = False) -> Table:
    table = Table()
    table.add_column("id", no_wrap=True)
    for name in ("kind", "created", "text", *(["distance"] if distance else [])):
        table.add_column(name)
    for m in items:
        when = dt.datetime.fromtimestamp(m["created_at"]).strftime("%Y-%m-%d %H:%M")
        extra = [f"{m['distance']:.3f}"] if distance else []
        table.add_row(m["id"], m["kind"], when, m["text"], *extra)
    return table


@memory_app.command("list")
def list_(url: UrlOpt = DEFAULT_URL, api_key: KeyOpt = None) -> None:
    """Everything Sage remembers about you."""
    items = _request(url, api_key, "GET", "/api/v1/memory")
    console.print(_table(items))
    console.print(f"[dim]{len(items)} memories[/]")


@memory_app.command()
def search(query: str, k: int = 5, url: UrlOpt = DEFAULT_URL, api_key: KeyOpt = None) -> None:
    """The memories nearest to QUERY."""
    items = _request(url, api_key, "POST", "/api/v1/memory/search", json={"query": query, "k": k})
    console.print(_table(items, distance=True))


@memory_app.command()
def forget(memory_id: str, url: UrlOpt = DEFAULT_URL, api_key: KeyOpt = None) -> None:
    """Delete one memory by id."""
    _request(url, api_key, "DELETE", f"/api/v1/memory/{memory_id}")
    console.print(f"forgot {memory_id}")
