"""``sage eval golden``: golden traces of the shipped scenarios, no LLM needed."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from app.cli.remote import console, err

eval_app = typer.Typer(help="Evaluations that need no LLM.", no_args_is_help=True)


@eval_app.command()
def golden(
    update: Annotated[
        bool, typer.Option("--update", help="Rewrite the golden files with this run's traces.")
    ] = False,
    only: Annotated[
        list[str] | None, typer.Option("--only", help="Run only this scenario (repeatable).")
    ] = None,
) -> None:
    """Run each shipped scenario with the scripted LLM and compare its event
    order with its golden trace; a change prints a diff and exits 1."""
    from sagents.evals.golden import check

    try:
        outcomes = asyncio.run(check(update=update, only=only))
    except ValueError as exc:
        err.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from None
    changed = 0
    for outcome in outcomes:
        if update:
            console.print(f"updated  {outcome.scenario}")
        elif outcome.ok:
            console.print(f"ok       {outcome.scenario}")
        elif outcome.expected is None:
            changed += 1
            console.print(f"[red]missing[/]  {outcome.scenario}: no golden file (run --update)")
        else:
            changed += 1
            console.print(f"[red]changed[/]  {outcome.scenario}")
            console.print(outcome.diff(), highlight=False, markup=False, end="")
    if changed:
        err.print(f"[red]{changed} of {len(outcomes)} traces changed[/]; if deliberate: --update")
        raise typer.Exit(1)
