"""The ``sage`` command."""

from __future__ import annotations

import enum
import ipaddress
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from app.cli.address import bind_address
from app.cli.chat import chat
from app.cli.evals import eval_app
from app.cli.files import files_app
from app.cli.mcp import mcp_app
from app.cli.memory import memory_app
from app.cli.sessions import sessions_app
from app.cli.skills import skills_app
from app.cli.status import status
from app.cli.verify import verify
from sagents.data_dir_lock import DataDirInUse, DataDirLock
from sagents.settings import Settings
from sagents.tools.manager import ToolManager

app = typer.Typer(help="Sage: streaming multi-agent orchestration.", no_args_is_help=True)
app.add_typer(sessions_app, name="sessions")
app.add_typer(memory_app, name="memory")
app.add_typer(skills_app, name="skills")
app.add_typer(mcp_app, name="mcp")
app.add_typer(eval_app, name="eval")
app.add_typer(files_app, name="files")
app.command()(status)
app.command()(chat)
app.command()(verify)
console = Console()
err = Console(stderr=True)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@app.command()
def serve(
    host: Annotated[
        str | None, typer.Option(help="Bind address [default: from SAGE_URL, else SAGE_HOST].")
    ] = None,
    port: Annotated[
        int | None, typer.Option(help="Port [default: from SAGE_URL, else SAGE_PORT, 8080].")
    ] = None,
    tools: Annotated[
        list[str] | None,
        typer.Option(
            "--tools",
            help="A Python module whose @tool functions the service offers (repeatable; "
            "added to SAGE_TOOLS). Modules in the working directory are found too.",
        ),
    ] = None,
) -> None:
    """Start the HTTP service on SAGE_URL's host and port (else SAGE_HOST/SAGE_PORT,
    127.0.0.1:8080); the CLI's other commands connect to the same address.
    Limits: the SAGE_HTTP_* settings, see app/server.py."""
    from app.main import create_app
    from app.server import run_server, uvicorn_config

    settings = Settings()
    bind, port = bind_address(settings, host, port)
    if not settings.api_keys and not is_loopback(bind):
        err.print(
            f"[red]Refusing to bind {bind}: no API keys are configured, so anyone who can reach "
            "this address would act as the local user.[/]\nSet SAGE_API_KEYS (e.g. "
            "'KEY:alice,KEY2:bob') or bind 127.0.0.1."
        )
        raise typer.Exit(2)
    if not settings.llm_configured:
        from sagents.settings import NOT_CONFIGURED_MESSAGE

        err.print(f"[yellow]{NOT_CONFIGURED_MESSAGE}[/]")
    # Taken here, not in the app's start-up, so that a second server on the
    # same data directory ends with one clear line instead of uvicorn's
    # lifespan traceback; the Runtime built at start-up owns it from then on.
    manager = _load_tools([*settings.tools, *(tools or [])])
    # On PostgreSQL the data is shared by design: no lock (the run leases
    # keep replicas off each other's live runs).
    lock = _lock_data_dir(settings) if settings.database_url is None else None
    from sagents.observability.logs import configure_logging
    from sagents.observability.redact import Redactor

    # Run ids on every line, secrets out; the Runtime adds the MCP servers'.
    configure_logging(settings.log_format, Redactor.from_settings(settings))
    config = uvicorn_config(
        create_app(settings, tools=manager, data_dir_lock=lock), settings, bind, port
    )
    run_server(config)


def _load_tools(modules: list[str]) -> ToolManager:
    """The user's tool modules and the ``sage.tools`` entry points, imported
    before the server starts; a module that cannot be loaded ends the
    command with one message naming it (exit 1), not a traceback."""
    from sagents.tools.modules import ToolModuleError, load_tools

    # As ``python -m`` and uvicorn do: a module beside the user is importable.
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    manager = ToolManager()
    try:
        for spec in load_tools(modules):
            manager.add(spec)
    except ToolModuleError as exc:
        err.print(str(exc), style="red", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    return manager


def _lock_data_dir(settings: Settings) -> DataDirLock:
    """The data directory's lock, or why it cannot be had and exit 1."""
    try:
        return DataDirLock.acquire(settings.data_dir)
    except DataDirInUse as exc:
        message = str(exc)
    except OSError as exc:  # e.g. no permission to create the directory
        message = f"cannot use the data directory {settings.data_dir}: {exc}"
    err.print(message, style="red", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(1)


class MockDialect(enum.StrEnum):
    """``sage mock-llm --dialect``: the servers the mock imitates
    (``sagents.testing.dialects`` says what each does)."""

    openai = "openai"
    vllm = "vllm"
    llamacpp = "llamacpp"
    ollama = "ollama"
    deepseek = "deepseek"


@app.command()
def doctor(
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Also show the resolved configuration.")
    ] = False,
) -> None:
    """Check each part Sage needs and say how to fix what fails: the LLM (reachable,
    model listed, streaming, tool calling, structured output), MCP servers, the
    skill sandbox, the data directory, the memory model. Exits 1 on a failure."""
    from app.cli.doctor import run_doctor

    run_doctor(console, verbose)


@app.command("mock-llm")
def mock_llm(
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8765,
    script: Annotated[Path | None, typer.Option(help="JSON script of turns.")] = None,
    host: Annotated[str, typer.Option(help="Bind address.")] = "127.0.0.1",
    dialect: Annotated[
        MockDialect, typer.Option(help="Which server to imitate (errors, usage, tool calls…).")
    ] = MockDialect.openai,
) -> None:
    """Serve the scripted mock OpenAI-compatible LLM (for tests and demos)."""
    from sagents.testing.mock_server import run_mock_llm

    run_mock_llm(script, host, port, dialect.value)


@app.command()
def flow() -> None:
    """Print the default flow as Mermaid."""
    from sagents.flow import default_flow, to_mermaid

    console.print(to_mermaid(default_flow()), end="", highlight=False, markup=False)


def main() -> None:
    app()
