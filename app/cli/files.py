"""``sage files list | upload | get | rm``: a session's files (its workspace)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

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
)
from app.cli.sessions import SessionArg, resolve
from app.client import SageClient

files_app = typer.Typer(
    help="A session's files: what you hand the agent and what it made.", no_args_is_help=True
)


def _base(session_id: str) -> str:
    return f"/api/v1/sessions/{quote(session_id, safe='')}/files"


def _file(session_id: str, path: str) -> str:
    return _base(session_id) + "/" + "/".join(quote(p, safe="") for p in path.split("/"))


PathArg = Annotated[str, typer.Argument(help="A file's path in the workspace (a/b.txt).")]


def _on_session(
    url: str | None, api_key: str | None, given: str, method: str, path: str = "", **kw: Any
) -> Any:
    """One request about a session given by its id or a unique prefix."""

    async def go(client: SageClient) -> Any:
        full = await resolve(client, given)
        target = _file(full, path) if path else _base(full)
        return await client.request(method, target, **kw)

    return call(url, api_key, go)


@files_app.command("list")
def list_(
    session_id: SessionArg,
    as_json: JsonOpt = False,
    url: UrlOpt = DEFAULT_URL,
    api_key: KeyOpt = None,
) -> None:
    """The files in SESSION_ID's workspace."""
    listing: Any = _on_session(url, api_key, session_id, "GET")
    if as_json:
        print_json(listing)
        return
    table = Table("path", "size", "type")
    for item in listing["items"]:
        table.add_row(item["path"], str(item["size"]), item["media_type"])
    console.print(table)
    mb = listing["max_bytes"] // (1024 * 1024)
    console.print(f"[dim]{listing['total_bytes']} bytes of {mb} MB[/]")


@files_app.command()
def upload(
    session_id: SessionArg,
    paths: Annotated[
        list[Path],
        typer.Argument(help="Local files to send."),
    ],
    folder: Annotated[str, typer.Option(help="Folder of the workspace to put them in.")] = "",
    url: UrlOpt = DEFAULT_URL,
    api_key: KeyOpt = None,
) -> None:
    """Upload local files into SESSION_ID's workspace."""
    # Checked here rather than by typer's ``exists=True``, so that the
    # command line parses (and --help works) before the files are looked at.
    for path in paths:
        if not path.is_file():
            err.print(f"{path}: no such file (give files, not folders)")
            raise typer.Exit(2)
    handles = [path.open("rb") for path in paths]
    try:
        parts = [
            ("files", (path.name, handle)) for path, handle in zip(paths, handles, strict=True)
        ]
        stored: Any = _on_session(
            url, api_key, session_id, "POST", files=parts, data={"folder": folder}
        )
    finally:
        for handle in handles:
            handle.close()
    for item in stored:
        console.print(f"uploaded {item['path']} ({item['size']} bytes)")


@files_app.command()
def get(
    session_id: SessionArg,
    path: PathArg,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Where to save it.")] = None,
    url: UrlOpt = DEFAULT_URL,
    api_key: KeyOpt = None,
) -> None:
    """Download PATH from SESSION_ID's workspace (to its name here, or --out)."""
    target = out or Path(path.rsplit("/", 1)[-1])
    partial = target.with_name(target.name + ".part")
    with partial.open("wb") as handle:
        try:

            async def fetch(client: SageClient) -> int:
                full = await resolve(client, session_id)
                return await client.download(_file(full, path), handle)

            size = call(url, api_key, fetch)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    partial.replace(target)
    console.print(f"saved {target} ({size} bytes)")


@files_app.command()
def rm(
    session_id: SessionArg, path: PathArg, url: UrlOpt = DEFAULT_URL, api_key: KeyOpt = None
) -> None:
    """Delete PATH (a file, or a folder with what it holds) from SESSION_ID's workspace."""
    _on_session(url, api_key, session_id, "DELETE", path)
    console.print(f"deleted {path}")
