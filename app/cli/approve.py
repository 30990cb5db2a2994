"""``sage chat`` asks the person at the terminal about a tool call that
needs approval (``approval.requested``): y approves it, n rejects it (with
an optional reason the model reads), e edits its arguments (a JSON object,
asked again when the server finds it does not fit the tool)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from app.cli.remote import err
from app.client import SageAPIError, SageClient
from sagents.events import ApprovalRequested, InputRequested

PROMPT = "approve? [y]es / [n]o / [e]dit: "
Asking = ApprovalRequested | InputRequested
Ask = Callable[[Asking], dict[str, Any]]


def ask(event: Asking) -> dict[str, Any]:
    """The decision, read from the terminal (blocking: run it in a thread)."""
    while True:
        answer = input(PROMPT).strip().lower()
        if answer in ("y", "yes"):
            return {"decision": "approve"}
        if answer in ("n", "no"):
            reason = input("reason (optional): ").strip()
            return {"decision": "reject", **({"reason": reason} if reason else {})}
        if answer in ("e", "edit"):
            text = input("arguments (a JSON object): ")
            try:
                arguments = json.loads(text)
            except ValueError as exc:
                err.print(f"not JSON: {exc}", markup=False, highlight=False)
                continue
            if not isinstance(arguments, dict):
                err.print("the arguments must be a JSON object", markup=False)
                continue
            return {"decision": "edit", "arguments": arguments}
        err.print("answer y, n or e", markup=False)


async def decide_remote(client: SageClient, event: Asking, ask: Ask = ask) -> None:
    """Ask until the server takes a decision (a 422 on an edit asks again);
    another refusal (decided elsewhere, the run ended) is shown and ends it."""
    while True:
        body = await asyncio.to_thread(ask, event)
        try:
            await client.decide(event.session_id, event.run_id, event.call_id, body)
            return
        except SageAPIError as exc:
            err.print(str(exc), style="red", markup=False, highlight=False)
            if exc.status != 422:
                return
