"""``sage skills new | validate`` (local) and ``list | install`` (against a server)."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from app.cli.remote import DEFAULT_URL, JsonOpt, KeyOpt, UrlOpt, console, err, print_json, request
from sagents.skills.format import SkillInvalid, SkillProblem, validate_skill_dir
from sagents.skills.layout import find_skill_dirs
from sagents.skills.scaffold import scaffold_skill

skills_app = typer.Typer(help="Create, check, list and install skills.", no_args_is_help=True)


@skills_app.command()
def new(
    name: Annotated[str, typer.Argument(help="The skill's name: lower-case letters, digits, '-'.")],
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
def validate(
    path: Annotated[Path, typer.Argument(help="A skill folder, or a folder of skills.")],
) -> None:
    """Check a skill folder (or every skill under a folder) and list every
    problem with its file and field; warnings alone do not fail."""
    folders = find_skill_dirs(path) if path.is_dir() else [path]
    failed = False
    for folder in folders or [path]:
        failed |= _report(folder, validate_skill_dir(folder))
    if failed:
        raise typer.Exit(1)


def _report(folder: Path, problems: list[SkillProblem]) -> bool:
    """Print the problems of one folder; True when one is an error."""
    for problem in problems:
        typer.echo(f"{folder}/{problem}", err=True)
    if any(p.is_error for p in problems):
        return True
    console.print(f"[green]ok[/green] {folder}", highlight=False)
    return False


@skills_app.command("list")
def list_skills(
    as_json: JsonOpt = False, url: UrlOpt = DEFAULT_URL, api_key: KeyOpt = None
) -> None:
    """The skills the server shows you (bundled, installation and your own)."""
    body = request(url, api_key, "GET", "/api/v1/skills")
    if as_json:
        print_json(body)
        return
    table = Table("name", "origin", "description", "usable")
    for item in body["items"]:
        usable = "yes" if item.get("usable", True) else f"no: {item.get('unusable_reason')}"
        table.add_row(item["name"], item["origin"], item["description"], usable)
    console.print(table)
    sandbox = body["sandbox"]
    state = "[green]available[/green]" if sandbox["available"] else "[red]unavailable[/red]"
    console.print(f"sandbox: {state} ({sandbox['detail']})")


def _pack(base: Path, folders: list[Path]) -> bytes:
    """Skill folders as .tar.gz bytes, each at its path relative to ``base``'s parent."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for folder in folders:
            archive.add(folder, arcname=folder.relative_to(base.parent).as_posix())
    return buffer.getvalue()


@skills_app.command()
def install(
    path: Annotated[
        Path, typer.Argument(help="A skill folder, a folder of skills, .zip or .tar.gz.")
    ],
    url: UrlOpt = DEFAULT_URL,
    api_key: KeyOpt = None,
) -> None:
    """Install a skill folder, a folder of skills, a .zip or a .tar.gz as your skills.

    An archive or folder holding several skills installs each one that is
    valid; the exit code is 1 when any was refused.
    """
    if path.is_dir():
        base = path.resolve()
        folders = find_skill_dirs(base)
        if not folders:
            err.print(f"[red]no SKILL.md in {path}[/red]")
            raise typer.Exit(1)
        if any([_report(f, validate_skill_dir(f)) for f in folders]):
            raise typer.Exit(1)
        data, filename = _pack(base, folders), f"{base.name}.tar.gz"
    elif path.is_file():
        data, filename = path.read_bytes(), path.name
    else:
        err.print(f"[red]{path} does not exist[/red]")
        raise typer.Exit(1)
    body = request(url, api_key, "POST", "/api/v1/skills", files={"file": (filename, data)})
    if "items" not in body:  # one skill: its detail
        _installed(body)
        return
    for item in body["items"]:
        if item["ok"]:
            _installed(item["skill"])
            continue
        err.print(f"[red]refused[/red] {item['source'] or item['name']}:", highlight=False)
        for problem in item["problems"]:
            err.print(f"  - {_problem_text(problem)}", markup=False, highlight=False)
    if not all(item["ok"] for item in body["items"]):
        raise typer.Exit(1)


def _installed(skill: dict[str, Any]) -> None:
    console.print(
        f"installed [bold]{skill['name']}[/bold] ({len(skill['files'])} files)", highlight=False
    )
    for warning in skill.get("warnings") or []:
        console.print(f"  warning: {_problem_text(warning)}", markup=False, highlight=False)


def _problem_text(problem: dict[str, Any]) -> str:
    where = f"{problem['file']}: {problem['field']}" if problem.get("field") else problem["file"]
    return f"{where}: {problem['message']}"
