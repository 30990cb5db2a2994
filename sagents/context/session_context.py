"""The one object every agent of a run reads and writes.

Agents never talk to each other; they leave what the next one needs here
(messages, the answer, flags, scratch state) and report progress as events.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sagents.context.messages import MessageManager
from sagents.events import TokenUsage
from sagents.llm.types import ChatModel
from sagents.request import RunOptions
from sagents.settings import Settings
from sagents.store.protocol import Store
from sagents.store.records import MessageRecord, RunRecord, SessionRecord
from sagents.tools.proxy import ToolProxy


@dataclass
class SessionContext:
    session: SessionRecord
    run: RunRecord
    user_id: str
    user_input: str
    options: RunOptions
    settings: Settings
    llm: ChatModel
    tools: ToolProxy
    store: Store
    messages: MessageManager
    usage: TokenUsage = field(default_factory=TokenUsage)
    answer: str | None = None
    """The run's final answer, set by the last agent that answers."""
    cancel_requested: bool = False
    """Set as soon as a cancel is asked for, before the task sees it, so the
    flow executor can stop between nodes even if an agent never awaits."""
    open_agents: list[tuple[str, str, float]] = field(default_factory=list)
    """(agent, node, start time) of agents currently running, innermost last;
    used to close them with ``agent.finished`` when a run stops early."""
    state: dict[str, Any] = field(default_factory=dict)
    """Scratch space for flow conditions and agents (flags, counters)."""

    @property
    def session_id(self) -> str:
        return self.session.id

    @property
    def run_id(self) -> str:
        return self.run.id

    @property
    def max_loop_count(self) -> int:
        return self.options.max_loop_count or self.settings.max_loop_count

    async def commit(self, *messages: MessageRecord) -> None:
        """Persist completed messages now, so they survive a crash."""
        await self.store.add_messages(list(messages))
