"""The README's commands run as pasted.

Every ``bash`` block is read: each ``sage`` command in it must parse against
the real CLI (no shell pipes standing in for "or", no missing subcommand or
option), every other program must be one a reader has, and a ``curl`` that
sends a body must say it is JSON. Blocks between ``<!-- runnable -->``
markers are then run, line by line, with bash, against a live server and
the mock LLM; ``ses_…`` stands for the newest session's id prefix there.
"""

from __future__ import annotations

import os
import re
import shlex
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx2
import pytest
import typer

from app.cli.main import app
from sagents.testing import MockLLMServer
from sagents.testing.mock_server import default_script
from tests.app.conftest import StartServer

ROOT = Path(__file__).resolve().parents[3]
README = (ROOT / "README.md").read_text()

SAGE = {"sage", ".venv/bin/sage"}
OTHER_PROGRAMS = {
    "python3",
    ".venv/bin/python",
    "curl",
    "export",
    "vllm",
    "llama-server",
    "apt-get",
    "docker",
    "sudo",
}
SEPARATORS = {"|", "||", "&&", ";", "&"}
ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


def bash_blocks(text: str) -> list[tuple[bool, list[str]]]:
    """``(runnable, logical lines)`` of each bash block, continuations joined."""
    blocks = []
    pattern = r"(<!-- runnable -->\n)?```bash\n(.*?)```"
    for found in re.finditer(pattern, text, re.DOTALL):
        joined = found.group(2).replace("\\\n", " ")
        lines = [line for line in joined.splitlines() if line.strip()]
        blocks.append((found.group(1) is not None, lines))
    return blocks


def segments(line: str) -> list[list[str]]:
    """The simple commands of a shell line (comments dropped)."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    out: list[list[str]] = [[]]
    for token in lexer:
        if token in SEPARATORS:
            out.append([])
        else:
            out[-1].append(token)
    return [words for words in out if words]


def parse_sage(args: list[str]) -> dict[str, Any]:
    """Parse ``sage ARGS`` as the CLI would, without running it."""
    command: Any = typer.main.get_group(app)
    ctx = command.make_context("sage", list(args))
    while hasattr(command, "commands"):
        rest = [*getattr(ctx, "_protected_args", []), *ctx.args]
        name, command, rest = command.resolve_command(ctx, rest)
        ctx = command.make_context(name, rest, parent=ctx)
    return dict(ctx.params)


def readme_commands() -> list[tuple[str, list[str]]]:
    return [
        (line, words)
        for _, lines in bash_blocks(README)
        for line in lines
        for words in segments(line)
    ]


def test_the_readme_has_commands_and_a_runnable_block() -> None:
    assert len(readme_commands()) > 30
    assert any(runnable for runnable, _ in bash_blocks(README))


@pytest.mark.parametrize(("line", "words"), readme_commands())
def test_every_readme_command_parses(line: str, words: list[str]) -> None:
    while words and ASSIGNMENT.match(words[0]):
        words = words[1:]
    if not words:
        return
    program, args = words[0], words[1:]
    if program in SAGE:
        parse_sage(args)  # raises UsageError with the reason
        return
    assert program in OTHER_PROGRAMS, f"{program!r} is not a command a reader has: {line}"
    if program == "curl" and any(a in {"-d", "--data", "--data-raw"} for a in args):
        assert "Content-Type: application/json" in args, f"JSON sent without its type: {line}"


def test_a_pipe_of_alternatives_is_caught() -> None:
    # what the README used to say: `search` is no program a shell has
    old = 'sage memory list | search "coffee" | forget ID'
    failures = 0
    for words in segments(old):
        try:
            test_every_readme_command_parses(old, words)
        except AssertionError:
            failures += 1
    assert failures == 2


def sage_shim(folder: Path) -> None:
    """``.venv/bin/sage`` in a scratch folder: this checkout's CLI."""
    bin_dir = folder / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    shim = bin_dir / "sage"
    shim.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m app "$@"\n')
    shim.chmod(shim.stat().st_mode | stat.S_IXUSR)


def test_runnable_blocks_run(
    start_server: StartServer, mock_llm: MockLLMServer, tmp_path: Path
) -> None:
    mock_llm.set_script(default_script())
    url = start_server()
    sage_shim(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAGE_")} | {
        "SAGE_URL": url,
        "SAGE_DATA_DIR": str(tmp_path / "cli-data"),
        "PYTHONPATH": str(ROOT),
        "COLUMNS": "80",
    }
    ran = 0
    for runnable, lines in bash_blocks(README):
        if not runnable:
            continue
        for line in lines:
            if "ses_…" in line:
                newest = httpx2.get(f"{url}/api/v1/sessions").json()["items"][0]["id"]
                line = line.replace("ses_…", newest[:12])
            done = subprocess.run(
                ["bash", "-c", line],
                cwd=tmp_path,
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert done.returncode == 0, f"{line}\n{done.stdout}\n{done.stderr}"
            assert "Traceback" not in done.stderr, done.stderr
            if " chat " in line:
                # the bundled mock answers what the deciding agents ask, so the
                # demo shows no notices (fallbacks, a loop run to its limit)
                notices = [x for x in done.stdout.splitlines() if x.startswith("! ")]
                assert not notices, f"{line}: {notices}"
            ran += 1
    assert ran >= 5
