"""``sage sessions list | show | cancel | export``.

Ids are shown whole (a cut id cannot be pasted back) and may be given as
any unique prefix, as git takes commit ids: ``sage sessions show ses_4bd``.
"""

from __future__ import annotations

import datetime as dt
import re
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.table import Table

from app.cli.remote import (
    DEFAULT_URL,
    JsonOpt,
    KeyOpt,
    UrlOpt,
    call,
    console,
    err,
    print_json,
)
from app.client import SageAPIError, SageClient

sessions_app = typer.Typer(help="List, inspect and cancel your sessions.", no_args_is_help=True)

SessionArg = Annotated[
    str, typer.Argument(help="A session id, or any unique prefix of one (e.g. ses_4bd).")
]
PAGE = 200
"""The API's largest page, so that a prefix is looked up in few requests."""
MAX_SCAN = 10_000
"""Sessions looked through for a prefix before giving up (a user with more
can still give the full id)."""


ID_CHARS = re.compile(r"[A-Za-z0-9_-]{1,100}")
"""What an id (or prefix) is made of: nothing that could change the URL path."""


def _when(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts).strftime("%m-%d %H:%M")


async def resolve(client: SageClient, given: str) -> str:
    """The one session id starting with ``given``: a full id is used as is;
    none or several matching is an error saying which."""
    if not ID_CHARS.fullmatch(given):
        err.print(f"{given!r} is not a session id: ids are letters, digits and '_'")
        raise typer.Exit(2)
    try:
        await client.session(given)
        return given
    except SageAPIError as exc:
        if exc.status != 404:
            raise
    matches: list[str] = []
    offset = 0
    while offset < MAX_SCAN:
        page: Any = await client.sessions(PAGE, offset)
        matches += [s["id"] for s in page["items"] if s["id"].startswith(given)]
        offset += PAGE
        if offset >= page["total"] or len(matches) > 1:
            break
    if len(matches) == 1:
        return matches[0]
    if not matches:
        err.print(f"no session has the id or id prefix {given!r} (sage sessions list shows them)")
    else:
        err.print(f"{given!r} is the start of several sessions ({', '.join(matches)}): give more")
    raise typer.Exit(1)


@sessions_app.command("list")
def list_(
    limit: Annotated[int, typer.Option(help="How many, newest first.")] = 20,
    offset: Annotated[int, typer.Option(help="How many to skip.")] = 0,
    as_json: JsonOpt = False,
    url: UrlOpt = DEFAULT_URL,
    api_key: KeyOpt = None,
) -> None:
    """Your sessions, newest first: full id, status, last update, title."""
    page: Any = call(url, api_key, lambda c: c.sessions(limit, offset))
    if as_json:
        print_json(page)
        return
    rows = [(s["id"], s["status"], _when(s["updated_at"]), s["title"]) for s in page["items"]]
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for n, name in enumerate(("id", "status", "updated")):
        # whole, always: only the title gives way to a narrow terminal
        width = max([len(name), *(len(row[n]) for row in rows)])
        table.add_column(name, no_wrap=True, min_width=width)
    table.add_column("title", no_wrap=True, overflow="ellipsis")
    for row in rows:
        table.add_row(*row)
    console.print(table)
    console.print(f"[dim]{len(page['items'])} of {page['total']}[/]")


@sessions_app.command()
def show(
    session_id: SessionArg,
    as_json: JsonOpt = False,
    url: UrlOpt = DEFAULT_URL,
    api_key: KeyOpt = None,
) -> None:
    """One session: its title, status and every message (tool calls marked ⚙)."""

    async def fetch(c: SageClient) -> tuple[Any, Any]:
        full = await resolve(c, session_id)
        return await c.session(full), await c.messages(full)

    detail, messages = call(url, api_key, fetch)
    if as_json:
        print_json({**detail, "messages": messages})
        return
    console.print(f"[bold]{detail['title']}[/] [dim]{detail['id']} · {detail['status']}[/]")
    for m in messages:
        label = m["role"] + (f"/{m['agent']}" if m.get("agent") else "")
        mark = " [yellow](interrupted)[/]" if m.get("interrupted") else ""
        body = m.get("content") or ""
        if m.get("tool_calls"):
            body += " ".join(f"⚙ {c['function']['name']}" for c in m["tool_calls"])
        console.print(f"[cyan]{label}[/]{mark}: {body}", highlight=False)


@sessions_app.command()
def cancel(session_id: SessionArg, url: UrlOpt = DEFAULT_URL, api_key: KeyOpt = None) -> None:
    """Cancel the session's running run (it ends with run.cancelled)."""

    async def go(c: SageClient) -> Any:
        return await c.cancel(await resolve(c, session_id))

    result: Any = call(url, api_key, go)
    console.print(f"cancel requested for run {result['run_id']}")


@sessions_app.command()
def export(
    session_id: SessionArg,
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
            async for chunk in client.export(await resolve(client, session_id)):
                sink.write(chunk)
        finally:
            if output is not None:
                sink.close()
            else:
                sink.flush()

    call(url, api_key, go)
