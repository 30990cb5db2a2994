"""``sage chat``: one question (``sage chat "…"``), or a conversation when no
message is given: each line is a turn of one session, the run streams as
in the one-shot form, Ctrl-C cancels the running answer and keeps the
conversation, Ctrl-D or ``/exit`` leaves. A line ending in ``\\`` goes on
on the next line; the arrow keys recall earlier lines, also those of
earlier conversations (kept in ``$XDG_STATE_HOME/sage/chat_history``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from app.cli.address import resolve_url
from app.cli.approve import ask, decide_remote
from app.cli.remote import DEFAULT_URL, KeyOpt, UrlOpt, call, console, err
from app.cli.render import EventPrinter
from app.cli.sessions import resolve
from app.client import SageAPIError, SageClient
from sagents.data_dir_lock import DataDirInUse
from sagents.events import ApprovalRequested, EventBase, InputRequested
from sagents.settings import Settings

SetCancel = Callable[[Callable[[], object]], None]
"""Registers what the first Ctrl-C should do."""

EXIT_WORDS = {"/exit", "/quit"}
INTERRUPTED = 130
"""128 + SIGINT, as shells report an interrupted command."""


def run_with_cancel(main: Callable[[SetCancel], Awaitable[None]]) -> bool:
    """Run ``main(set_cancel)``; True when it was interrupted. The first
    Ctrl-C calls the registered cancel callback (the run ends cleanly with
    ``run.cancelled``), a second one exits at once."""
    presses = 0

    async def runner() -> None:
        loop = asyncio.get_running_loop()
        cancel_cb: list[Callable[[], object]] = []

        def on_sigint() -> None:
            nonlocal presses
            presses += 1
            if presses > 1 or not cancel_cb:
                raise SystemExit(INTERRUPTED)
            err.print("\n[yellow]cancelling… (Ctrl-C again to quit)[/]")
            cancel_cb[0]()

        loop.add_signal_handler(signal.SIGINT, on_sigint)
        try:
            await main(cancel_cb.append)
        finally:
            loop.remove_signal_handler(signal.SIGINT)

    asyncio.run(runner())
    return presses > 0


async def remote_turn(
    server: str,
    api_key: str | None,
    payload: dict[str, Any],
    printer: EventPrinter,
    set_cancel: SetCancel,
) -> str | None:
    """One chat through the server; the session it ran in."""
    session_id: list[str] = []
    async with SageClient(server, api_key) as client:
        tasks: set[asyncio.Task[Any]] = set()

        def cancel() -> None:
            if session_id:
                tasks.add(asyncio.ensure_future(client.cancel(session_id[0])))

        set_cancel(cancel)
        try:
            async for event in client.chat(payload):
                session_id[:] = [event.session_id]
                printer(event)
                if isinstance(event, ApprovalRequested | InputRequested):
                    await decide_remote(client, event)
        except SageAPIError as exc:
            err.print(f"[red]{exc}[/]")
            raise typer.Exit(1) from None
        except Exception as exc:  # a connect error
            err.print(f"[red]cannot reach Sage at {server}: {exc}[/]\nStart it with `sage serve`.")
            raise typer.Exit(1) from None
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
    return session_id[0] if session_id else None


async def in_process_turn(
    payload: dict[str, Any], printer: EventPrinter, set_cancel: SetCancel
) -> None:
    """One chat in this process (``--local``), on the configured data directory."""
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
            if isinstance(event, ApprovalRequested | InputRequested):
                body = await asyncio.to_thread(ask, event)
                await runtime.approvals.decide(
                    info.run_id,
                    event.call_id,
                    body["decision"],
                    by=settings.local_user,
                    arguments=body.get("arguments"),
                    reason=body.get("reason"),
                )
    finally:
        await runtime.aclose()


HISTORY_LINES = 1000


def history_path() -> Path:
    """Where the conversation's input history is kept between runs:
    ``$XDG_STATE_HOME/sage/chat_history`` (``~/.local/state/sage/…``)."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "sage" / "chat_history"


def readline_module() -> Any:
    import readline

    return readline


def _load_history() -> Path | None:
    """Line editing and the arrow keys' history for input(), with earlier
    conversations' lines; None where readline is missing (input() still works)."""
    try:
        readline = readline_module()
    except ImportError:
        return None
    path = history_path()
    readline.set_history_length(HISTORY_LINES)
    with contextlib.suppress(OSError):  # none yet
        readline.read_history_file(path)
    return path


def read_message() -> str | None:
    """One message from the prompt (continued while lines end in ``\\``);
    None for an empty line. Raises EOFError on Ctrl-D."""
    lines: list[str] = []
    prompt = "you› "
    while True:
        line = input(prompt)
        if line.endswith("\\"):
            lines.append(line[:-1])
            prompt = "...  "
            continue
        lines.append(line)
        text = "\n".join(lines).strip()
        return text or None


def conversation(
    server: str, api_key: str | None, options: dict[str, Any], printer: EventPrinter
) -> None:
    """The interactive form: a turn per message, all in one session."""
    history = _load_history()
    console.print(
        "[dim]Sage chat: a message per line (end a line with \\ to go on), "
        "Ctrl-C cancels an answer, Ctrl-D or /exit leaves.[/]"
    )
    session_id = options.get("session_id")
    try:
        _converse(server, api_key, options, printer, session_id)
    finally:
        if history is not None:
            with contextlib.suppress(OSError):  # a read-only home: no history kept
                history.parent.mkdir(parents=True, exist_ok=True)
                readline_module().write_history_file(history)


def _converse(
    server: str,
    api_key: str | None,
    options: dict[str, Any],
    printer: EventPrinter,
    session_id: str | None,
) -> None:
    while True:
        try:
            message = read_message()
        except EOFError:
            console.print()
            return
        except KeyboardInterrupt:  # at the prompt: drop the line, stay
            console.print()
            continue
        if message is None:
            continue
        if message in EXIT_WORDS:
            return
        payload = {**options, "message": message}
        if session_id:
            payload["session_id"] = session_id
        session_id = _turn(server, api_key, payload, printer) or session_id


def _turn(
    server: str, api_key: str | None, payload: dict[str, Any], printer: EventPrinter
) -> str | None:
    """One turn of the conversation; the session it ran in."""
    found: list[str | None] = []

    async def turn(set_cancel: SetCancel) -> None:
        found.append(await remote_turn(server, api_key, payload, printer, set_cancel))

    try:
        run_with_cancel(turn)
    except typer.Exit:  # said why (a busy session, no server): the conversation goes on
        return None
    return found[0] if found else None


def chat(
    message: Annotated[
        str | None, typer.Argument(help="Your question; none for a conversation.")
    ] = None,
    session: Annotated[
        str | None, typer.Option(help="Continue this session (its id or a unique prefix).")
    ] = None,
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
    """Ask a question and watch the run stream (Ctrl-C cancels it, exit 130);
    without a message, a conversation: a turn per line, Ctrl-D or /exit leaves."""
    printer = EventPrinter(console, verbose=verbose)
    options: dict[str, Any] = {}
    if session:
        options["session_id"] = (
            session if local else call(url, api_key, lambda c: resolve(c, session))
        )
    if deep is not None:
        options["deep_thinking"] = deep
    if multi is not None:
        options["multi_agent"] = multi
    if message is None:
        if local:
            err.print("a conversation needs the server: give a message with --local")
            raise typer.Exit(2)
        conversation(resolve_url(url), api_key, options, printer)
        return
    payload = {**options, "message": message}
    if local:
        interrupted = run_with_cancel(lambda cb: in_process_turn(payload, printer, cb))
    else:
        server = resolve_url(url)

        async def one(set_cancel: SetCancel) -> None:
            await remote_turn(server, api_key, payload, printer, set_cancel)

        interrupted = run_with_cancel(one)
    if interrupted:
        # the run was cancelled cleanly, but the user interrupted: a script
        # calling `sage chat` must be able to tell
        raise typer.Exit(INTERRUPTED)
