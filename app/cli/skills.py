"""``sage skills new | validate`` (local) and ``list | install`` (against a server)."""

from __future__ import annotations

import asyncio
import io
import tarfile
from pathlib import Path
from typing import Annotated, Any

import httpx2
import typer
from rich.table import Table

from app.cli.remote import DEFAULT_URL, KeyOpt, UrlOpt, console, err, request
from sagents.skills.format import SkillInvalid, validate_skill_dir
from sagents.skills.scaffold import scaffold_skill

skills_app = typer.Typer(help="Create, check, list and install skills.", no_args_is_help=True)


@skills_app.command()
def new(
    name: str,
    directory: Annotated[Path, typer.Option("--dir", help="Where to create it.")] = Path("."),
) -> None:
    """Scaffold a new skill folder NAME with SKILL.md and scripts/main.py."""
    try:
        folder = scaffold_skill(directory, name)
    except SkillInvalid as invalid:
        err.print(f"[red]invalid name:[/red] {invalid}")
        raise typer.Exit(2) from None
    except FileExistsError as exists:
        err.print(f"[red]{exists}[/red]")
        raise typer.Exit(1) from None
    console.print(f"created {folder}; edit SKILL.md, then run: sage skills validate {folder}")


@skills_app.command()
def validate(path: Path) -> None:
    """Check a skill folder and list every problem with its file and field."""
    problems = validate_skill_dir(path)
    if not problems:
        console.print(f"[green]ok[/green] {path}")
        return
    for problem in problems:
        typer.echo(f"{path}/{problem}", err=True)
    raise typer.Exit(1)


def _request(url: str, api_key: str | None, method: str, path: str, **kwargs: Any) -> Any:
    async def go() -> Any:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        async with httpx2.AsyncClient(base_url=url.rstrip("/"), headers=headers, timeout=60) as c:
            return await c.request(method, path, **kwargs)

    try:
        response: httpx2.Response = asyncio.run(go())
    except httpx2.HTTPError as error:
        err.print(f"[red]cannot reach {url}:[/red] {error}")
        raise typer.Exit(1) from None
    if response.status_code >= 400:
        try:
            body = response.json()["error"]
            err.print(f"[red]HTTP {response.status_code}:[/red] {body['message']}", markup=True)
            for detail in body.get("details") or []:
                err.print(f"  - {detail}", markup=False)
        except (ValueError, KeyError, TypeError):
            err.print(f"[red]HTTP {response.status_code}[/red]")
        raise typer.Exit(1)
    return response.json() if response.content else None


@skills_app.command("list")
def list_skills(url: UrlOpt = DEFAULT_URL, api_key: KeyOpt = None) -> None:
    """The skills the server shows you (bundled, installation and your own)."""
    body = request(url, api_key, "GET", "/api/v1/skills")
    table = Table("name", "origin", "description")
    for item in body["items"]:
        table.add_row(item["name"], item["origin"], item["description"])
    console.print(table)
    sandbox = body["sandbox"]
    state = "[green]available[/green]" if sandbox["available"] else "[red]unavailable[/red]"
    console.print(f"sandbox: {state} ({sandbox['detail']})")


def _pack(folder: Path) -> bytes:
    """A skill folder as .tar.gz bytes, the folder at the archive's root."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        archive.add(folder, arcname=folder.name)
    return buffer.getvalue()


@skills_app.command()
def install(path: Path, url: UrlOpt = DEFAULT_URL, api_key: KeyOpt = None) -> None:
    """Install a skill folder, .zip or .tar.gz as one of your skills."""
    if path.is_dir():
        problems = validate_skill_dir(path)
        if problems:
            for problem in problems:
                typer.echo(f"{path}/{problem}", err=True)
            raise typer.Exit(1)
        data, filename = _pack(path.resolve()), f"{path.resolve().name}.tar.gz"
    elif path.is_file():
        data, filename = path.read_bytes(), path.name
    else:
        err.print(f"[red]{path} does not exist[/red]")
        raise typer.Exit(1)
    body = request(url, api_key, "POST", "/api/v1/skills", files={"file": (filename, data)})
    console.print(f"installed [bold]{body['name']}[/bold] ({len(body['files'])} files)")
