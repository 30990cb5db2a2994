"""A client's messages as a Sage run.

OpenAI clients are stateless: every request carries the whole conversation.
Its earlier messages become a throwaway session (``app.ephemeral``), named
``[openai] …``, deleted when the run has ended.

With the ``X-Sage-Session-Id`` header the request continues that stored
session instead: only the last message is new, the history is Sage's own, and
the session is kept.
"""

from __future__ import annotations

from dataclasses import dataclass

from app import ephemeral
from app.openai_facade.profiles import Profile
from app.openai_facade.wire import ChatMessage, FacadeError
from sagents.request import RunRequest
from sagents.runtime import Runtime

SESSION_HEADER = "x-sage-session-id"
TITLE_PREFIX = "[openai] "
CLIENT_INSTRUCTIONS_KEY = "client_instructions"


@dataclass(frozen=True, slots=True)
class Turn:
    """What a request asks: the new message, the earlier ones, the client's
    system instructions."""

    message: str
    history: list[tuple[str, str]]
    instructions: str


def read_turn(messages: list[ChatMessage], max_message_bytes: int) -> Turn:
    """Split the client's messages; refuse what Sage cannot honour."""
    last = messages[-1]
    if last.role != "user":
        raise FacadeError(
            400, f"the last message must be from the user, not '{last.role}'", param="messages"
        )
    message = last.text()
    if not message.strip():
        raise FacadeError(400, "the last user message is empty", param="messages")
    if len(message.encode()) > max_message_bytes:
        raise FacadeError(
            413,
            f"the last message is {len(message.encode())} bytes; the limit is {max_message_bytes}",
            param="messages",
            code="message_too_large",
        )
    history: list[tuple[str, str]] = []
    instructions: list[str] = []
    for earlier in messages[:-1]:
        if earlier.role in ("tool", "function"):
            raise FacadeError(
                400,
                "tool messages are not supported: Sage runs its own tools",
                param="messages",
            )
        text = earlier.text()
        if earlier.role in ("system", "developer"):
            instructions.append(text)
        elif text:
            history.append((earlier.role, text))
    return Turn(message, history, "\n\n".join(i for i in instructions if i))


def run_request(turn: Turn, profile: Profile, session_id: str) -> RunRequest:
    """The client's instructions travel as ``system_context``: shown to the
    model as the client's, framed as data, like every request's context."""
    return RunRequest(
        message=turn.message,
        session_id=session_id,
        deep_thinking=profile.deep_thinking,
        multi_agent=profile.multi_agent,
        system_context={CLIENT_INSTRUCTIONS_KEY: turn.instructions} if turn.instructions else None,
    )


async def open_ephemeral_session(rt: Runtime, user: str, turn: Turn) -> str:
    """A throwaway session holding the client's earlier messages, for one run."""
    return await ephemeral.open_session(rt, user, TITLE_PREFIX + turn.message.strip(), turn.history)
