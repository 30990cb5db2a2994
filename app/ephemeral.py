"""Throwaway sessions for stateless protocols (OpenAI chat completions, AG-UI).

Their clients send the whole conversation with every request, while a Sage
run reads its history from a session in the store. So a request's earlier
messages are written into a fresh session of the caller's, the run continues
it, and the session is deleted once the run has ended, however it ended:
nothing of a stateless request outlives it. While the run goes the session
shows in the user's list (title prefixed, e.g. ``[openai] …``); a process
killed mid-request leaves it there, interrupted like any run a crash stops,
to be deleted like any other session.
"""

from __future__ import annotations

import anyio

from sagents.runs.registry import RunInfo
from sagents.runtime import Runtime
from sagents.store.records import MessageRecord, SessionRecord, new_id

TITLE_CHARS = 70
CLEANUP_WAIT_S = 30.0
"""How long the end of a request waits for its cancelled run to stop before
deleting the session (a cancel takes milliseconds)."""


async def open_session(rt: Runtime, user: str, title: str, history: list[tuple[str, str]]) -> str:
    """A new session of ``user`` holding ``history`` as ``(role, text)`` messages."""
    session = SessionRecord(id=new_id("ses"), user_id=user, title=title[:TITLE_CHARS])
    await rt.store.create_session(session)
    if history:
        await rt.store.add_messages(
            [
                MessageRecord(id=new_id("msg"), session_id=session.id, role=role, content=text)
                for role, text in history
            ]
        )
    return session.id


async def end_request(
    rt: Runtime, info: RunInfo, completed: bool, user: str, throwaway: str | None
) -> None:
    """Cancel the run if the client left before its end, then delete the
    throwaway session, if there is one.

    Shielded: this runs while the request itself is being cancelled (the
    client went away), and the session must not be left behind.
    """
    if not completed:
        rt.runs.cancel(info.run_id, "the client disconnected")
    if throwaway is None:
        return
    with anyio.CancelScope(shield=True), anyio.move_on_after(CLEANUP_WAIT_S):
        await rt.runs.wait(info.run_id)
        await rt.store.delete_session(user, throwaway)
