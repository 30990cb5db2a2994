"""Turning whatever a tool returned into the text of a tool message."""

from __future__ import annotations

from typing import Any

import pydantic_core


def result_to_text(value: Any) -> str:
    """Render a tool's return value for the model.

    Strings pass through untouched (a tool that already formats its answer
    knows best). Everything else becomes compact JSON via pydantic, so models,
    dataclasses, dicts, lists and numbers read the same way whichever source
    produced them; non-ASCII stays as UTF-8 rather than ``\\u`` escapes, which
    costs fewer tokens. ``None`` becomes ``"null"``, not an empty string: some
    OpenAI-compatible servers reject empty tool messages, and an explicit
    ``null`` tells the model the call did return. Objects pydantic cannot
    serialise fall back to ``str()`` instead of failing a call that succeeded;
    bytes are decoded as UTF-8, or described when they are binary.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, bytes | bytearray | memoryview):
        # Raw bytes are text in some encoding or binary; either way JSON
        # quoting adds nothing, and binary data is nothing a model can read.
        data = bytes(value)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return f"[binary result: {len(data)} bytes, not shown]"
    try:
        return pydantic_core.to_json(value, fallback=str).decode()
    except pydantic_core.PydanticSerializationError:
        # Bytes that are not UTF-8 somewhere inside: pydantic refuses them as
        # text; base64 keeps the call a success that says what it returned.
        return pydantic_core.to_json(value, fallback=str, bytes_mode="base64").decode()


def truncate(text: str, limit: int | None) -> str:
    """Cut ``text`` to ``limit`` characters and say so.

    The note matters: without it the model cannot know the result is partial
    and may reason from a half-read answer as if it were complete.
    """
    if limit is None or len(text) <= limit:
        return text
    return f"{text[:limit]}\n[truncated: {limit} of {len(text)} characters shown]"
