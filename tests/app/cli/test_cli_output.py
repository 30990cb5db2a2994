"""What the CLI prints, as a user sees it in an 80-column terminal: whole ids
(and unique prefixes accepted), ``--json`` on every list/show command,
help on every command, long errors kept to one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx2
import typer

from app.cli.main import app
from sagents.testing import Turn
from tests.app.conftest import SIMPLE, StartServer


def sage(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAGE_")}
    env |= {"COLUMNS": "80", "SAGE_DATA_DIR": str(cwd / "cli-data")}
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def two_sessions(url: str) -> list[str]:
    for question in ("A question long enough to need cutting at eighty columns?", "Second"):
        with httpx2.stream(
            "POST", f"{url}/api/v1/chat", json={"message": question, **SIMPLE}, timeout=30
        ) as response:
            response.read()
    return [s["id"] for s in httpx2.get(f"{url}/api/v1/sessions").json()["items"]]


def test_ids_whole_at_80_columns_and_prefixes(start_server: StartServer, tmp_path: Path) -> None:
    url = start_server([Turn(text="An answer.")] * 2 + [Turn(text="Continued.")])
    ids = two_sessions(url)
    listing = sage("sessions", "list", "--url", url, cwd=tmp_path)
    assert listing.returncode == 0, listing.stderr
    assert all(session_id in listing.stdout for session_id in ids), listing.stdout
    assert max(len(line) for line in listing.stdout.splitlines()) <= 80

    prefix = next(
        session_id[: n + 1]
        for n in range(4, 36)
        for session_id in ids[:1]
        if not ids[1].startswith(session_id[: n + 1])
    )
    shown = sage("sessions", "show", prefix, "--url", url, cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert ids[0] in shown.stdout and "An answer." in shown.stdout

    more = sage(
        "chat", "--session", prefix, "--no-deep", "--no-multi", "more", "--url", url, cwd=tmp_path
    )
    assert more.returncode == 0 and "Continued." in more.stdout, more.stderr
    detail = httpx2.get(f"{url}/api/v1/sessions/{ids[0]}").json()
    assert len(detail["runs"]) == 2  # the prefix continued that session

    ambiguous = sage("sessions", "show", "ses_", "--url", url, cwd=tmp_path)
    assert ambiguous.returncode == 1
    assert "several sessions" in ambiguous.stderr
    missing = sage("sessions", "show", "ses_nothing", "--url", url, cwd=tmp_path)
    assert missing.returncode == 1 and "no session" in missing.stderr
    bad = sage("sessions", "show", "../healthz", "--url", url, cwd=tmp_path)
    assert bad.returncode == 2 and "not a session id" in bad.stderr


def test_json_output(start_server: StartServer, tmp_path: Path) -> None:
    url = start_server([Turn(text="An answer.")] * 2)
    ids = two_sessions(url)
    listing = sage("sessions", "list", "--json", "--url", url, cwd=tmp_path)
    assert [s["id"] for s in json.loads(listing.stdout)["items"]] == ids
    shown = sage("sessions", "show", ids[0], "--json", "--url", url, cwd=tmp_path)
    detail = json.loads(shown.stdout)
    assert detail["id"] == ids[0] and detail["messages"][-1]["content"] == "An answer."
    servers = sage("mcp", "list", "--json", "--url", url, cwd=tmp_path)
    assert "servers" in json.loads(servers.stdout)


def test_a_long_mcp_error_stays_on_one_line(start_server: StartServer, tmp_path: Path) -> None:
    url = start_server([Turn(text="ok")], allow_mcp_commands=True)
    noisy = "import sys; sys.stderr.write('a long complaint ' * 300); sys.exit(3)"
    httpx2.post(
        f"{url}/api/v1/mcp/servers",
        json={"name": "noisy", "command": sys.executable, "args": ["-c", noisy]},
        timeout=60,
    )
    listing = sage("mcp", "list", "--url", url, cwd=tmp_path)
    assert listing.returncode == 0, listing.stderr
    rows = [line for line in listing.stdout.splitlines() if "noisy" in line or "│" in line]
    assert len(listing.stdout.splitlines()) <= 10, listing.stdout
    assert rows and "--json" in listing.stdout
    full = json.loads(sage("mcp", "list", "--json", "--url", url, cwd=tmp_path).stdout)
    assert len(full["servers"][0]["last_error"]) > 60


def _commands(group: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    """Every leaf command under ``group`` (typer's own click: duck-typed)."""
    out: list[tuple[tuple[str, ...], Any]] = []
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            out += _commands(command, (*path, name))
        else:
            out.append(((*path, name), command))
    return out


def test_every_command_has_help_and_lists_have_json() -> None:
    commands = _commands(typer.main.get_group(app))
    assert len(commands) > 20
    for path, command in commands:
        assert (command.help or "").strip(), f"sage {' '.join(path)} has no help"
        for param in command.params:
            if "Argument" in type(param).__name__:
                assert getattr(param, "help", None), f"sage {' '.join(path)} {param.name}: no help"
        if path[-1] in {"list", "show", "search", "tools"}:
            names = {opt for p in command.params for opt in getattr(p, "opts", [])}
            assert "--json" in names, f"sage {' '.join(path)} has no --json"
