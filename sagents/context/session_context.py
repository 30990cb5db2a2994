"""The one object every agent of a run reads and writes.

Agents never talk to each other; they leave what the next one needs here
(messages, the answer, flags, scratch state) and report progress as events.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sagents.context.history import HistoryPreparer, llm_messages
from sagents.context.messages import MessageManager
from sagents.context.tasks import TaskManager
from sagents.context.workflows import WorkflowManager
from sagents.events import EventBase, TokenUsage
from sagents.llm.types import ChatModel
from sagents.request import RunOptions
from sagents.settings import Settings
from sagents.skills.manager import SkillManager
from sagents.skills.view import SkillView
from sagents.store.protocol import Store
from sagents.store.records import MessageRecord, RunRecord, SessionRecord
from sagents.tools.media import Media
from sagents.tools.proxy import ToolProxy

if TYPE_CHECKING:
    from sagents.observability.run_telemetry import RunTelemetry


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
    tasks: TaskManager
    workflows: WorkflowManager = field(default_factory=WorkflowManager)
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
    """Scratch space for flow conditions and custom agents (counters, flags)."""

    # What the agents of the default flow leave for the ones after them.
    deep_thinking: bool | None = None
    multi_agent: bool | None = None
    analysis: str = ""
    plan: str = ""
    execution: str = ""
    observation: str = ""
    stage_summaries: list[str] = field(default_factory=list)
    suggestions: list[str] = field(default_factory=list)
    skills: SkillManager | None = None
    skill_view: SkillView | None = None
    """The skills this run may use (the user's, within ``available_skills``)."""
    skill_prompt: str = ""
    """Skill list (level 1) and a preloaded skill body (level 2), for the prompt."""
    loop_cut_short: bool = False
    """The plan–execute loop hit ``max_loop_count`` with tasks still open."""

    # History preparation and recalled memories (sagents.context.history).
    history: HistoryPreparer | None = None
    """Fits the history into the model's window; None sends all of it."""
    memory_section: str = ""
    """Recalled user memories, appended to every agent's system prompt."""
    emit: Callable[[EventBase], None] | None = None
    """Publishes an event at once, for events raised outside an agent's
    generator (``context.clamped`` while messages are prepared)."""
    clamp_reported: tuple[int, int] = (0, 0)
    telemetry: RunTelemetry | None = None
    """The run's spans and metrics; None when telemetry is off (no cost then)."""
    tool_media: dict[str, tuple[str, tuple[Media, ...]]] = field(default_factory=dict)
    """Images and audio this run's tool calls returned: call id → (tool,
    media). Held for the run only; shown to image-taking models
    (``context/media_parts.py``)."""

    def __post_init__(self) -> None:
        if self.deep_thinking is None:
            self.deep_thinking = self.options.deep_thinking
        if self.multi_agent is None:
            self.multi_agent = self.options.multi_agent
        if not self.workflows.available and self.options.available_workflows:
            self.workflows = WorkflowManager(self.options.available_workflows)

    @property
    def session_id(self) -> str:
        return self.session.id

    @property
    def run_id(self) -> str:
        return self.run.id

    @property
    def max_loop_count(self) -> int:
        return self.options.max_loop_count or self.settings.max_loop_count

    def llm_messages(
        self, system: dict[str, Any], *, role: str | None = None
    ) -> list[dict[str, Any]]:
        """The system prompt and the history that fits
        ``role``'s model: what an agent that continues the conversation sends."""
        telemetry = self.telemetry
        if telemetry is None:
            return llm_messages(self, system, role)
        with telemetry.step("prepare_history", **{"sage.llm.role": role or "simple"}) as span:
            messages = llm_messages(self, system, role)
            span.set_attribute("sage.history.messages", len(messages))
            return messages

    async def commit(self, *messages: MessageRecord) -> None:
        """Persist completed messages now, so they survive a crash."""
        if self.telemetry is None:
            await self.store.add_messages(list(messages))
            return
        with self.telemetry.step("store.add_messages", **{"sage.store.messages": len(messages)}):
            await self.store.add_messages(list(messages))
