"""A ``RunAgentInput`` as a Sage turn.

The input's messages are the conversation. When ``thread_id`` names one of
the caller's Sage sessions, the run continues it (only the last user message
is new; Sage has the rest). Otherwise the earlier messages become a
throwaway session (``app.ephemeral``) deleted when the run ends. ``context``
entries reach the model as ``system_context`` (data, framed as the
client's), as do system and developer messages. Frontend ``tools`` are not
offered to the model: Sage's agents call Sage's tools.
"""

from __future__ import annotations

from ag_ui.core import (
    AssistantMessage,
    DeveloperMessage,
    RunAgentInput,
    SystemMessage,
    TextPart,
    UserMessage,
)

from app.errors import ApiError
from app.openai_facade.conversation import Turn

CLIENT_INSTRUCTIONS_KEY = "client_instructions"
MAX_CONTEXT_ENTRIES = 50


def _text(content: object) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if not isinstance(part, TextPart):
                kind = getattr(part, "type", type(part).__name__)
                raise ApiError(
                    422,
                    "validation_error",
                    f"message part '{kind}' is not supported; Sage takes text only",
                )
            parts.append(part.text)
        return "".join(parts)
    return ""


def read_turn(body: RunAgentInput, max_message_bytes: int) -> Turn:
    """The last user message, the earlier user/assistant ones, the instructions."""
    if not body.messages or not isinstance(body.messages[-1], UserMessage):
        raise ApiError(422, "validation_error", "the last message must be the user's")
    message = _text(body.messages[-1].content)
    if not message.strip():
        raise ApiError(422, "validation_error", "the last user message is empty")
    size = len(message.encode())
    if size > max_message_bytes:
        raise ApiError(
            413, "payload_too_large", f"message is {size} bytes; the limit is {max_message_bytes}"
        )
    history: list[tuple[str, str]] = []
    instructions: list[str] = []
    for earlier in body.messages[:-1]:
        if isinstance(earlier, SystemMessage | DeveloperMessage):
            instructions.append(earlier.content)
        elif isinstance(earlier, UserMessage | AssistantMessage):
            text = _text(earlier.content)
            if text:
                history.append((earlier.role, text))
        # Tool, reasoning and activity messages belong to the client's own
        # rendering of earlier runs; Sage's runs keep their own record.
    return Turn(message, history, "\n\n".join(i for i in instructions if i))


def system_context(body: RunAgentInput, turn: Turn) -> dict[str, str] | None:
    context = {
        f"context_{i}_{c.description[:60]}": c.value for i, c in enumerate(body.context or [])
    }
    if len(context) > MAX_CONTEXT_ENTRIES:
        raise ApiError(422, "validation_error", f"at most {MAX_CONTEXT_ENTRIES} context entries")
    if turn.instructions:
        context[CLIENT_INSTRUCTIONS_KEY] = turn.instructions
    return context or None
