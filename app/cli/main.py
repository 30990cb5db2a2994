"""The ``sage`` command."""

from __future__ import annotations

import asyncio
import enum
import ipaddress
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from app.cli.evals import eval_app
from app.cli.mcp import mcp_app
from app.cli.memory import memory_app
from app.cli.remote import DEFAULT_URL, KeyOpt, UrlOpt
from app.cli.render import EventPrinter
from app.cli.sessions import sessions_app
from app.cli.skills import skills_app
from app.client import SageAPIError, SageClient
from sagents.data_dir_lock import DataDirInUse, DataDirLock
from sagents.events import EventBase
from sagents.settings import Settings

app = typer.Typer(help="Sage: streaming multi-agent orchestration.", no_args_is_help=True)
app.add_typer(sessions_app, name="sessions")
app.add_typer(memory_app, name="memory")
app.add_typer(skills_app, name="skills")
app.add_typer(mcp_app, name="mcp")
app.add_typer(eval_app, name="eval")
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
    host: Annotated[str | None, typer.Option(help="Bind address (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8080).")] = None,
) -> None:
    """Start the HTTP service (limits: the SAGE_HTTP_* settings, see app/server.py)."""
    import uvicorn

    from app.main import create_app
    from app.server import uvicorn_config

    settings = Settings()
    bind = host or settings.host
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
    lock = _lock_data_dir(settings)
    from sagents.observability.logs import configure_logging
    from sagents.observability.redact import Redactor

    # Run ids on every line, secrets out; the Runtime adds the MCP servers'.
    configure_logging(settings.log_format, Redactor.from_settings(settings))
    config = uvicorn_config(
        create_app(settings, data_dir_lock=lock), settings, bind, port or settings.port
    )
    uvicorn.Server(config).run()


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


SetCancel = Callable[[Callable[[], object]], None]
"""Registers what the first Ctrl-C should do."""


def _run_with_cancel(main: Callable[[SetCancel], Awaitable[None]]) -> None:
    """Run ``main(set_cancel)``: the first Ctrl-C calls the registered
    cancel callback (the run ends cleanly with ``run.cancelled``), a second
    one exits at once."""

    async def runner() -> None:
        loop = asyncio.get_running_loop()
        cancel_cb: list[Callable[[], object]] = []
        presses = 0

        def on_sigint() -> None:
            nonlocal presses
            presses += 1
            if presses > 1 or not cancel_cb:
                raise SystemExit(130)
            err.print("\n[yellow]cancelling… (Ctrl-C again to quit)[/]")
            cancel_cb[0]()

        loop.add_signal_handler(signal.SIGINT, on_sigint)
        await main(cancel_cb.append)

    asyncio.run(runner())


@app.command()
def chat(
    message: Annotated[str, typer.Argument(help="Your question.")],
    session: Annotated[str | None, typer.Option(help="Continue this session.")] = None,
    local: Annotated[bool, typer.Option("--local", help="Run in-process, no server.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show agent steps.")] = False,
    deep: Annotated[
        bool | None, typer.Option("--deep/--no-deep", help="Force deep thinking on or off.")
    ] = None,
    multi: Annotated[
        bool | None, typer.Option("--multi/--no-multi", help="Force the multi-agent path.")
    ] = None,
    url: UrlOpt = DEFAULT_URL,
    api_key: KeyOpt = None,
) -> None:
    """Ask a question and watch the run stream. Ctrl-C cancels the run."""
    printer = EventPrinter(console, verbose=verbose)
    payload: dict[str, Any] = {"message": message}
    if session:
        payload["session_id"] = session
    if deep is not None:
        payload["deep_thinking"] = deep
    if multi is not None:
        payload["multi_agent"] = multi

    async def remote(set_cancel: SetCancel) -> None:
        async with SageClient(url, api_key) as client:
            session_id: list[str] = []
            tasks: set[asyncio.Task[Any]] = set()

            def cancel() -> None:
                if session_id:
                    task = asyncio.ensure_future(client.cancel(session_id[0]))
                    tasks.add(task)

            set_cancel(cancel)
            try:
                async for event in client.chat(payload):
                    session_id[:] = [event.session_id]
                    printer(event)
            except SageAPIError as exc:
                err.print(f"[red]{exc}[/]")
                raise typer.Exit(1) from None
            except Exception as exc:  # a connect error
                err.print(f"[red]cannot reach Sage at {url}: {exc}[/]\nStart it with `sage serve`.")
                raise typer.Exit(1) from None

    async def in_process(set_cancel: SetCancel) -> None:
        from sagents.request import RunRequest
        from sagents.runtime import Runtime
        from sagents.sagent import SAgent

        settings = Settings()
        try:
            runtime = await Runtime.create(settings)
        except DataDirInUse as exc:
            err.print(str(exc), style="red", markup=False, highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None
        try:
            agent = SAgent(runtime)
            request = RunRequest.model_validate(payload)
            info = await agent.start(request, settings.local_user)
            set_cancel(lambda: agent.cancel(info.run_id, "cancelled from the terminal"))
            events: AsyncIterator[EventBase] = runtime.runs.subscribe(info.run_id)
            async for event in events:
                printer(event)
        finally:
            await runtime.aclose()

    _run_with_cancel(in_process if local else remote)


@app.command()
def doctor() -> None:
    """Show the resolved configuration (secrets masked) and probe the LLM: model
    listed, streaming, tool calling, structured output, usage reporting."""
    from app.cli.doctor import run_doctor

    run_doctor(console, err)


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
