"""What every CLI command that talks to a running Sage server shares: the
``--url`` / ``--api-key`` options and one way to call the server and turn
its errors into a message (with the fields the server named) and an exit."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import httpx2
import typer
from rich.console import Console

from app.cli.address import resolve_url
from app.client import SageAPIError, SageClient

DEFAULT_URL = None
"""``--url``'s default: unset, so the configured address is used
(``app/cli/address.py``: SAGE_URL, else SAGE_HOST/SAGE_PORT)."""
UrlOpt = Annotated[
    str | None,
    typer.Option(
        "--url",
        help="Sage server URL [default: SAGE_URL, else http://SAGE_HOST:SAGE_PORT, "
        "i.e. http://127.0.0.1:8080].",
        show_default=False,
    ),
]
KeyOpt = Annotated[
    str | None, typer.Option("--api-key", envvar="SAGE_CLIENT_API_KEY", help="Bearer key.")
]
console = Console()
err = Console(stderr=True)
T = TypeVar("T")


def call(url: str | None, api_key: str | None, fn: Callable[[SageClient], Awaitable[T]]) -> T:
    """Run ``fn`` against the server; on failure print why and exit 1."""
    url = resolve_url(url)

    async def go() -> T:
        async with SageClient(url, api_key) as client:
            return await fn(client)

    try:
        return asyncio.run(go())
    except SageAPIError as exc:
        err.print(f"[red]{exc}[/]")
        error = exc.body.get("error", {}) if isinstance(exc.body, dict) else {}
        for detail in error.get("details") or [] if isinstance(error, dict) else []:
            if isinstance(detail, dict) and "field" in detail:
                err.print(
                    f"  {detail.get('field')}: {detail.get('problem') or detail.get('message')}"
                )
        raise typer.Exit(1) from None
    except (OSError, httpx2.TransportError) as exc:
        err.print(f"[red]cannot reach Sage at {url}: {exc}[/]\nStart it with `sage serve`.")
        raise typer.Exit(1) from None


def request(url: str | None, api_key: str | None, method: str, path: str, **kwargs: Any) -> Any:
    """One JSON request to the server, with ``call``'s error handling."""
    return call(url, api_key, lambda client: client.request(method, path, **kwargs))


JsonOpt = Annotated[
    bool,
    typer.Option("--json", help="Print the server's answer as JSON: every field, full values."),
]


def print_json(data: Any) -> None:
    """Plain JSON on stdout (no colour, no wrapping), for scripts and ``jq``."""
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


def short(text: str | None, limit: int = 60) -> str:
    """One line of at most ``limit`` characters, so a long value (a
    traceback, an MCP server's stderr) cannot turn a table row into a page;
    the full value is in ``--json``."""
    line = " ".join((text or "").split())
    return line if len(line) <= limit else line[: limit - 1] + "…"
