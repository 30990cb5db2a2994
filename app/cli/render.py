"""Render a run's events live in the terminal."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from sagents.events import (
    AgentFinished,
    AgentNotice,
    AgentStarted,
    ApprovalRequested,
    ApprovalResolved,
    EventBase,
    FileCreated,
    InputRequested,
    MessageCompleted,
    MessageDelta,
    ReasoningDelta,
    RunCancelled,
    RunFailed,
    RunFinished,
    RunStarted,
    ToolCalled,
    ToolResult,
)


class EventPrinter:
    """Streams answer text as it arrives; steps and tools as dim side notes."""

    def __init__(self, console: Console, *, verbose: bool = False) -> None:
        self.console = console
        self.verbose = verbose
        self._in_text = False

    def _break(self) -> None:
        if self._in_text:
            self.console.print()
            self._in_text = False

    def __call__(self, event: EventBase) -> None:
        c = self.console
        if isinstance(event, MessageDelta):
            c.print(escape(event.delta), end="", soft_wrap=True, highlight=False)
            self._in_text = True
        elif isinstance(event, ReasoningDelta) and self.verbose:
            c.print(f"[dim italic]{escape(event.delta)}[/]", end="")
        elif isinstance(event, MessageCompleted):
            self._break()
            if event.interrupted:
                c.print("[yellow](interrupted)[/]")
        elif isinstance(event, RunStarted):
            # soft_wrap: a narrow terminal wraps the line itself; Rich would
            # break it between the words, splitting "run" from its id
            c.print(f"[dim]session {event.session_id} · run {event.run_id}[/]", soft_wrap=True)
        elif isinstance(event, AgentStarted) and self.verbose:
            self._break()
            c.print(f"[dim]▸ {event.agent} ({event.model})[/]")
        elif isinstance(event, AgentFinished) and self.verbose:
            c.print(f"[dim]◂ {event.agent} {event.status} {event.duration_ms:.0f} ms[/]")
        elif isinstance(event, ToolCalled):
            self._break()
            c.print(f"[cyan]⚙ {escape(event.tool)}[/] [dim]{escape(str(event.arguments))}[/]")
        elif isinstance(event, ToolResult):
            colour = "green" if event.ok else "red"
            preview = event.content if len(event.content) < 200 else event.content[:200] + "…"
            c.print(f"[{colour}]  → {escape(preview)}[/] [dim]{event.duration_ms:.0f} ms[/]")
        elif isinstance(event, FileCreated):
            self._break()
            c.print(
                f"[cyan]📄 {escape(event.path)}[/] [dim]{event.size} bytes · GET "
                f"/api/v1/sessions/{event.session_id}/files/{escape(event.path)}[/]"
            )
        elif isinstance(event, ApprovalRequested):
            self._break()
            c.print(
                f"[yellow]⏸ {escape(event.tool)}[/] [dim]{escape(str(event.arguments))}[/] "
                f"[yellow]waits for your approval[/] [dim]({escape(event.reason)})[/]"
            )
        elif isinstance(event, InputRequested):
            self._break()
            c.print(
                f"[yellow]? {escape(event.server)} asks:[/] {escape(event.message)} "
                f"[dim](answer with e and a JSON object; y accepts, n declines)[/]"
            )
        elif isinstance(event, ApprovalResolved):
            said = {"approve": "approved", "reject": "rejected", "edit": "edited"}
            why = f": {escape(event.reason)}" if event.reason else ""
            c.print(f"[dim]  {said[event.decision]} by {escape(event.by)}{why}[/]")
        elif isinstance(event, AgentNotice):
            self._break()
            c.print(f"[yellow]! {escape(event.message)}[/]")
        elif isinstance(event, RunFinished):
            self._break()
            usage = event.usage
            c.print(f"[dim]done · {usage.input_tokens} in / {usage.output_tokens} out tokens[/]")
        elif isinstance(event, RunCancelled):
            self._break()
            c.print(f"[yellow]cancelled: {escape(event.reason)}[/]")
        elif isinstance(event, RunFailed):
            self._break()
            c.print(f"[red]failed ({event.error_type}): {escape(event.message)}[/]")
