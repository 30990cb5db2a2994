"""The agent contract: read the SessionContext, write back into it, yield events."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Protocol

from sagents.events import EventBase

if TYPE_CHECKING:
    from sagents.context.session_context import SessionContext


class Agent(Protocol):
    name: str
    """Unique within a catalog; also the ``agent`` field of its events."""
    role: str
    """The LLM role, mapped to a model by configuration."""

    def run(self, ctx: SessionContext) -> AsyncIterator[EventBase]: ...
