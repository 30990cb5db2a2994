"""How a scripted turn becomes stream chunks and usage numbers.

Both the in-process ``ScriptedLLM`` and the mock HTTP server stream exactly
these chunks, so a test sees the same token boundaries either way.
"""

from __future__ import annotations

import re
from typing import Any

from sagents.llm.types import ReasoningDelta, TextDelta, ToolCallDelta
from sagents.testing.script import Turn

_TOKEN = re.compile(r"\s*\S+\s*")
ARGUMENT_SLICE = 16
"""Characters of tool-call arguments per fragment, so argument streaming is
exercised the way real providers split it."""

ContentChunk = TextDelta | ReasoningDelta | ToolCallDelta


def split_tokens(text: str) -> list[str]:
    """A word plus the whitespace after it; leading whitespace joins the first word.

    Joining the pieces gives back ``text`` exactly.
    """
    tokens: list[str] = _TOKEN.findall(text)
    if not tokens and text:  # whitespace only
        return [text]
    return tokens


def render_turn(turn: Turn, first_call_number: int) -> list[ContentChunk]:
    """Reasoning first, then the answer text, then tool calls, as real models do."""
    chunks: list[ContentChunk] = [ReasoningDelta(token) for token in split_tokens(turn.reasoning)]
    chunks += [TextDelta(token) for token in split_tokens(turn.content())]
    for index, call in enumerate(turn.tool_calls):
        call_id = call.id or f"call_{first_call_number + index}"
        chunks.append(ToolCallDelta(index=index, id=call_id, name=call.name, arguments=""))
        arguments = call.arguments_json()
        for start in range(0, len(arguments), ARGUMENT_SLICE):
            chunks.append(
                ToolCallDelta(index=index, arguments=arguments[start : start + ARGUMENT_SLICE])
            )
    return chunks


def turn_usage(turn: Turn, messages: Any) -> tuple[int, int]:
    """``(input_tokens, output_tokens)``: the scripted numbers, or a word count.

    Counting words keeps usage deterministic and roughly proportional to
    what was sent, which is all usage-accounting tests need.
    """
    if turn.usage is not None:
        return turn.usage.input_tokens, turn.usage.output_tokens
    output = len(split_tokens(turn.reasoning)) + len(split_tokens(turn.content()))
    output += sum(len(call.arguments_json()) // 4 + 1 for call in turn.tool_calls)
    return count_message_tokens(messages), output


def count_message_tokens(messages: Any) -> int:
    """Words in the text parts of OpenAI-format messages; tolerant of any shape."""
    if not isinstance(messages, list):
        return 0
    total = 0
    for message in messages:
        if not isinstance(message, dict):
            continue
        content = message.get("content")
        if isinstance(content, str):
            total += len(content.split())
        elif isinstance(content, list):
            for part in content:
                if isinstance(part, dict) and isinstance(part.get("text"), str):
                    total += len(part["text"].split())
    return total
