"""Agents as tools: an agent with its own instructions, tool allow-list and
model role, offered to other agents as one tool (``AgentToolSpec``).

The calling agent sends a task; the sub-agent answers it in its own tool
loop (the same ``tool_loop`` every agent uses) over a context of its own:
its conversation starts from the task alone and is never stored in the
session (the session's history keeps the parent's call and the sub-agent's
final answer as its result, so it stays a valid call/result sequence); it
sees the parent's tools narrowed to its allow-list, never itself; its token
usage counts in the run's. Its events go out as they happen, each with the
parent call's id in ``parent_call_id``, between the parent's ``tool.called``
and ``tool.result``. It runs inside the parent's tool call, so cancelling
the run (or the call's timeout) cancels it where it waits.

Registered like any tool (``runtime.tools.add(spec.tool())``) under
``ToolSource.AGENT``: above built-in MCP servers and local functions, below
MCP servers the user configured.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import Field

from sagents.agents.streaming import Outcome, tool_loop
from sagents.context.messages import MessageManager
from sagents.context.parts import PromptParts, RunControl
from sagents.context.session_context import SessionContext
from sagents.events import AgentFinished, AgentStarted, Emit, EventBase
from sagents.observability.traced_llm import TracedChatModel
from sagents.store.records import MessageRecord
from sagents.tools.call_scope import current_call
from sagents.tools.decorator import tool
from sagents.tools.manager import ToolManager
from sagents.tools.proxy import ToolProxy
from sagents.tools.spec import ToolSource, ToolSpec

MAX_DEPTH = 3
"""Agents calling agents calling agents: deeper calls are refused."""
_DEPTH = "agent_tool_depth"


class AgentToolError(RuntimeError):
    """The sub-agent cannot run; the message is written for the calling model."""


@dataclass(frozen=True)
class AgentToolSpec:
    name: str
    description: str
    instructions: str
    """The sub-agent's system prompt."""
    tools: tuple[str, ...] | None = None
    """Tool names it may use (of those its caller may); None: all of them."""
    role: str = "simple"
    """The model role it asks for (``SAGE_LLM_ROLE_MODELS``)."""
    max_rounds: int = 8
    timeout_s: float | None = None

    def tool(self) -> ToolSpec:
        """The ToolSpec the calling agents see: one ``task`` argument."""
        spec = self

        async def run_agent(
            task: Annotated[str, Field(description="What to do, with everything needed.")],
        ) -> str:
            return await spec._run(task)

        built = tool(name=self.name, description=self.description, timeout_s=self.timeout_s)(
            run_agent
        )
        return dataclasses.replace(built, source=ToolSource.AGENT)

    async def _run(self, task: str) -> str:
        scope = current_call()
        if scope is None or scope.context is None or scope.emit is None:
            raise AgentToolError(f"agent {self.name!r} runs only as a tool of a Sage run")
        parent = scope.context
        depth = int(parent.state.get(_DEPTH, 0)) + 1
        if depth > MAX_DEPTH:
            raise AgentToolError(f"agents may call agents at most {MAX_DEPTH} levels deep")
        emit = _nested(scope.emit, scope.call_id, self.name)
        node = f"agent_tool:{self.name}"
        model = parent.settings.model_for(self.role)
        telemetry = parent.telemetry
        llm = parent.llm
        if telemetry is not None:
            telemetry = telemetry.sub_agent(self.name, node, model)
            if isinstance(llm, TracedChatModel):  # its calls go under its own span
                llm = TracedChatModel(llm.inner, telemetry)
        child = _SubAgentContext(
            **_fields(parent),
            overrides={
                "messages": MessageManager(parent.session_id, []),
                "tools": self._tools(parent),
                "state": {_DEPTH: depth},
                "control": RunControl(emit=emit),
                # the run's skills, but neither the user's memories nor the
                # parent's tool media: the sub-agent sees only its task
                "prompt": PromptParts(
                    skill_view=parent.prompt.skill_view,
                    skill_prompt=parent.prompt.skill_prompt,
                ),
                "history": None,
                "answer": None,
                "telemetry": telemetry,
                "llm": llm,
            },
        )
        child.messages.add_user(task, run_id=parent.run_id)
        system = {"role": "system", "content": self.instructions}
        emit(AgentStarted(agent=self.name, node=node, model=model))
        started = time.perf_counter()
        status = "error"
        out = Outcome()
        try:
            async for event in tool_loop(
                child,
                agent=self.name,
                role=self.role,
                kind="execution",
                build_messages=lambda: child.llm_messages(system, role=self.role),
                max_rounds=self.max_rounds,
                out=out,
            ):
                emit(event)
            status = "ok"
        except BaseException as error:
            status = "cancelled" if _is_cancel(error) else "error"
            if telemetry is not None:
                telemetry.agent_finished(error)
            raise
        else:
            if telemetry is not None:
                telemetry.agent_finished()
        finally:
            elapsed = (time.perf_counter() - started) * 1000
            emit(AgentFinished(agent=self.name, node=node, status=status, duration_ms=elapsed))
        if not out.finished:
            return (out.text + "\n\n" if out.text else "") + (
                f"[stopped: {self.name} reached its limit of {self.max_rounds} rounds]"
            )
        return out.text

    def _tools(self, parent: SessionContext) -> ToolProxy:
        manager = ToolManager(max_result_chars=parent.settings.tool_max_result_chars)
        for name in parent.tools.names:
            if name == self.name or (self.tools is not None and name not in self.tools):
                continue
            spec = parent.tools.get(name)
            if spec is not None:
                manager.add(spec)
        return manager.proxy()


class _SubAgentContext(SessionContext):
    """A sub-agent's context: its messages are its own and never stored."""

    def __init__(self, overrides: dict[str, Any], **values: Any) -> None:
        super().__init__(**{**values, **overrides})

    async def commit(self, *messages: MessageRecord) -> None:
        return None


def _fields(ctx: SessionContext) -> dict[str, Any]:
    return {f.name: getattr(ctx, f.name) for f in dataclasses.fields(ctx) if f.init}


def _nested(emit: Emit, call_id: str, agent: str) -> Emit:
    """``emit`` naming the call the events belong to (the innermost agent's
    call, when agents nest: it is the first to say) and the sub-agent that
    made them; the run's emitter writes both into the event, once."""

    def nested(
        event: EventBase, /, *, agent: str | None = agent, parent_call_id: str | None = call_id
    ) -> None:
        emit(event, agent=agent, parent_call_id=parent_call_id)

    return nested


def _is_cancel(error: BaseException) -> bool:
    return isinstance(error, asyncio.CancelledError)
