"""The one object every agent of a run reads and writes.

Agents never talk to each other; they leave what the next one needs here
(messages, the answer, flags, scratch state) and report progress as events.
Besides the run's identity and its services, it holds three small parts
(``sagents.context.parts``): the flow's notes, the run's control state and
the prompt's parts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sagents.context.history import HistoryPreparer, llm_messages
from sagents.context.messages import MessageManager
from sagents.context.parts import FlowNotes, PromptParts, RunControl
from sagents.context.tasks import TaskManager
from sagents.context.workflows import WorkflowManager
from sagents.events import TokenUsage
from sagents.llm.types import ChatModel
from sagents.request import RunOptions
from sagents.settings import Settings
from sagents.skills.manager import SkillManager
from sagents.store.protocol import Store
from sagents.store.records import MessageRecord, RunRecord, SessionRecord
from sagents.tools.proxy import ToolProxy

if TYPE_CHECKING:
    from sagents.observability.run_telemetry import RunTelemetry
    from sagents.runs.approvals import ApprovalGate


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
    skills: SkillManager | None = None
    history: HistoryPreparer | None = None
    """Fits the history into the model's window; None sends all of it."""
    notes: FlowNotes = field(init=False)
    """What the default flow's agents leave for the ones after them."""
    control: RunControl = field(default_factory=RunControl)
    prompt: PromptParts = field(default_factory=PromptParts)
    state: dict[str, Any] = field(default_factory=dict)
    """Scratch space for flow conditions and custom agents (counters, flags)."""

    telemetry: RunTelemetry | None = None
    """The run's spans and metrics; None when telemetry is off (no cost then)."""
    approvals: ApprovalGate | None = None
    """Where calls of tools that need approval wait; None runs them unasked
    (a bare context in a test)."""

    def __post_init__(self) -> None:
        self.notes = FlowNotes(
            deep_thinking=bool(self.options.deep_thinking),
            multi_agent=bool(self.options.multi_agent),
        )
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
