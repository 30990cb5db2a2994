"""``sage mcp list | add | remove | enable | disable | refresh | tools``: MCP
servers, through the HTTP API.

Like ``sage sessions``, these talk to a running server, so what they show is
what the service really has connected, not what a config file says.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
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
    short,
)

mcp_app = typer.Typer(
    help="List, register, enable, disable, refresh and remove MCP servers.",
    no_args_is_help=True,
)


NameArg = Annotated[str, typer.Argument(help="The server's name (as in sage mcp list).")]


def _pairs(values: list[str] | None, what: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for value in values or []:
        key, sep, item = value.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"{what} must look like KEY=VALUE, got {value!r}")
        out[key] = item
    return out


@mcp_app.command("list")
def list_(as_json: JsonOpt = False, url: UrlOpt = DEFAULT_URL, api_key: KeyOpt = None) -> None:
    """Servers with their status, tool count, prefix, name clashes and last error."""
    data: Any = call(url, api_key, lambda c: c.mcp_servers())
    if as_json:
        print_json(data)
        return
    if data.get("config_error"):
        err.print(f"[red]mcp_setting.json: {data['config_error']}[/]")
    table = Table("name", "origin", "transport", "status", "tools", "prefix", "last error")
    for s in data["servers"]:
        count = str(s["tool_count"])
        if s.get("shadowed"):
            count += f" ({len(s['shadowed'])} shadowed)"
        table.add_row(
            s["name"],
            s["origin"],
            s["transport"] or "-",
            s["status"],
            count,
            s.get("prefix") or "",
            short(s["last_error"]),
        )
    console.print(table)
    if any(len(s["last_error"] or "") > len(short(s["last_error"])) for s in data["servers"]):
        console.print("[dim]errors are shortened: sage mcp list --json has them whole[/]")
    for s in data["servers"]:
        _print_clashes(s)


def _print_clashes(server: dict[str, Any]) -> None:
    """Which of its tools another server holds, and which it holds for itself."""
    for clash in server.get("shadowed") or []:
        err.print(
            f"[yellow]{server['name']}: tool {clash['tool']!r} is shadowed by MCP server "
            f"{clash['server']!r}[/]"
        )
    for clash in server.get("shadows") or []:
        console.print(
            f"{server['name']}: holds {clash['tool']!r}, which MCP server {clash['server']!r} "
            "offers too"
        )
    if server.get("shadowed"):
        err.print(
            f'[yellow]  give one of them a prefix: "prefix" in its entry, or '
            f"sage mcp add {server['name']} --prefix NAME …[/]"
        )


@mcp_app.command()
def add(
    name: Annotated[str, typer.Argument(help="A name for the server (its tools' source).")],
    command: Annotated[
        list[str] | None, typer.Argument(help="Command and arguments of a stdio server.")
    ] = None,
    server_url: Annotated[
        str | None, typer.Option("--server-url", help="URL of a remote server.")
    ] = None,
    transport: Annotated[
        str | None, typer.Option(help="Remote transport: streamable_http or sse.")
    ] = None,
    env: Annotated[list[str] | None, typer.Option(help="KEY=VALUE for the command.")] = None,
    header: Annotated[list[str] | None, typer.Option(help="KEY=VALUE HTTP header.")] = None,
    cwd: Annotated[str | None, typer.Option(help="Working directory for the command.")] = None,
    prefix: Annotated[
        str | None,
        typer.Option(
            help="Offer its tools as PREFIX_<tool> ('' for none), so clashing names coexist."
        ),
    ] = None,
    url: UrlOpt = DEFAULT_URL,
    api_key: KeyOpt = None,
) -> None:
    """Register a server: ``sage mcp add time -- mcp-server-time`` or
    ``sage mcp add docs --server-url https://host/mcp``."""
    body: dict[str, Any] = {"name": name}
    if command:
        body |= {"command": command[0], "args": command[1:]}
    if server_url:
        body["url"] = server_url
    if transport:
        body["transport"] = transport
    if env:
        body["env"] = _pairs(env, "--env")
    if header:
        body["headers"] = _pairs(header, "--header")
    if cwd:
        body["cwd"] = cwd
    if prefix is not None:
        body["prefix"] = prefix
    server: Any = call(url, api_key, lambda c: c.add_mcp_server(body))
    _report(server, "registered")


def _report(server: dict[str, Any], done: str) -> None:
    """One server after a change: its tools, or why it has none."""
    name = server["name"]
    if server["status"] == "connected":
        console.print(f"{done} {name}: {server['tool_count']} tools: {', '.join(server['tools'])}")
        _print_clashes(server)
    elif server["status"] == "disabled":
        console.print(f"{name} is disabled")
    else:
        err.print(f"[yellow]{done} {name}, but it is {server['status']}: {server['last_error']}[/]")


@mcp_app.command()
def remove(name: NameArg, url: UrlOpt = DEFAULT_URL, api_key: KeyOpt = None) -> None:
    """Unregister a server added with ``sage mcp add``."""
    call(url, api_key, lambda c: c.remove_mcp_server(name))
    console.print(f"removed {name}")


@mcp_app.command()
def enable(name: NameArg, url: UrlOpt = DEFAULT_URL, api_key: KeyOpt = None) -> None:
    """Enable a server (also one from mcp_setting.json) and connect it."""
    server: Any = call(url, api_key, lambda c: c.set_mcp_disabled(name, False))
    _report(server, "enabled")


@mcp_app.command()
def disable(name: NameArg, url: UrlOpt = DEFAULT_URL, api_key: KeyOpt = None) -> None:
    """Disable a server: it is disconnected and its tools withdrawn (kept across restarts)."""
    server: Any = call(url, api_key, lambda c: c.set_mcp_disabled(name, True))
    _report(server, "disabled")


@mcp_app.command()
def refresh(name: NameArg, url: UrlOpt = DEFAULT_URL, api_key: KeyOpt = None) -> None:
    """Reconnect a server if needed and list its tools again."""
    server: Any = call(url, api_key, lambda c: c.refresh_mcp_server(name))
    _report(server, "refreshed")


@mcp_app.command()
def tools(as_json: JsonOpt = False, url: UrlOpt = DEFAULT_URL, api_key: KeyOpt = None) -> None:
    """Every tool, its source, and what it shadows."""
    data: Any = call(url, api_key, lambda c: c.tools())
    if as_json:
        print_json(data)
        return
    table = Table("name", "source", "server", "shadows", "description")
    for t in data:
        shadows = ", ".join(
            s["source"] + (f" ({s['server']})" if s.get("server") else "") for s in t["shadows"]
        )
        table.add_row(t["name"], t["source"], t["server"] or "", shadows, short(t["description"]))
    console.print(table)
