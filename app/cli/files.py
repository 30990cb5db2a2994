"""``sage files list | upload | get | rm``: a session's files (its workspace)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import typer
from rich.table import Table

from app.cli.remote import DEFAULT_URL, KeyOpt, UrlOpt, call, console, request

files_app = typer.Typer(
    help="A session's files: what you hand the agent and what it made.", no_args_is_help=True
)


def _base(session_id: str) -> str:
    return f"/api/v1/sessions/{quote(session_id, safe='')}/files"


def _file(session_id: str, path: str) -> str:
    return _base(session_id) + "/" + "/".join(quote(p, safe="") for p in path.split("/"))


@files_app.command("list")
def list_(session_id: str, url: UrlOpt = DEFAULT_URL, api_key: KeyOpt = None) -> None:
    """The files in SESSION_ID's workspace."""
    listing: Any = request(url, api_key, "GET", _base(session_id))
    table = Table("path", "size", "type")
    for item in listing["items"]:
        table.add_row(item["path"], str(item["size"]), item["media_type"])
    console.print(table)
    mb = listing["max_bytes"] // (1024 * 1024)
    console.print(f"[dim]{listing['total_bytes']} bytes of {mb} MB[/]")


@files_app.command()
def upload(
    session_id: str,
    paths: Annotated[list[Path], typer.Argument(exists=True, dir_okay=False, readable=True)],
    folder: Annotated[str, typer.Option(help="Folder of the workspace to put them in.")] = "",
    url: UrlOpt = DEFAULT_URL,
    api_key: KeyOpt = None,
) -> None:
    """Upload local files into SESSION_ID's workspace."""
    handles = [path.open("rb") for path in paths]
    try:
        parts = [
            ("files", (path.name, handle)) for path, handle in zip(paths, handles, strict=True)
        ]
        stored: Any = request(
            url, api_key, "POST", _base(session_id), files=parts, data={"folder": folder}
        )
    finally:
        for handle in handles:
            handle.close()
    for item in stored:
        console.print(f"uploaded {item['path']} ({item['size']} bytes)")


@files_app.command()
def get(
    session_id: str,
    path: str,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Where to save it.")] = None,
    url: UrlOpt = DEFAULT_URL,
    api_key: KeyOpt = None,
) -> None:
    """Download PATH from SESSION_ID's workspace (to its name here, or --out)."""
    target = out or Path(path.rsplit("/", 1)[-1])
    partial = target.with_name(target.name + ".part")
    with partial.open("wb") as handle:
        try:
            size = call(url, api_key, lambda c: c.download(_file(session_id, path), handle))
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    partial.replace(target)
    console.print(f"saved {target} ({size} bytes)")


@files_app.command()
def rm(session_id: str, path: str, url: UrlOpt = DEFAULT_URL, api_key: KeyOpt = None) -> None:
    """Delete PATH (a file, or a folder with what it holds) from SESSION_ID's workspace."""
    request(url, api_key, "DELETE", _file(session_id, path))
    console.print(f"deleted {path}")
