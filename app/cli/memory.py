"""``sage memory list | search | forget``: the caller's long-term memory."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import typer
from rich.table import Table

from app.cli.remote import DEFAULT_URL, JsonOpt, KeyOpt, UrlOpt, console, print_json, request

memory_app = typer.Typer(help="See and edit what Sage remembers about you.", no_args_is_help=True)


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
def list_(as_json: JsonOpt = False, url: UrlOpt = DEFAULT_URL, api_key: KeyOpt = None) -> None:
    """Everything Sage remembers about you."""
    items = request(url, api_key, "GET", "/api/v1/memory")
    if as_json:
        print_json(items)
        return
    console.print(_table(items))
    console.print(f"[dim]{len(items)} memories[/]")


@memory_app.command()
def search(
    query: Annotated[str, typer.Argument(help="What to look for, in your words.")],
    k: Annotated[int, typer.Option(help="How many memories.")] = 5,
    as_json: JsonOpt = False,
    url: UrlOpt = DEFAULT_URL,
    api_key: KeyOpt = None,
) -> None:
    """The memories nearest to QUERY."""
    items = request(url, api_key, "POST", "/api/v1/memory/search", json={"query": query, "k": k})
    if as_json:
        print_json(items)
        return
    console.print(_table(items, distance=True))


@memory_app.command()
def forget(
    memory_id: Annotated[str, typer.Argument(help="A memory id (mem_…) from sage memory list.")],
    url: UrlOpt = DEFAULT_URL,
    api_key: KeyOpt = None,
) -> None:
    """Delete one memory by id."""
    request(url, api_key, "DELETE", f"/api/v1/memory/{memory_id}")
    console.print(f"forgot {memory_id}")
