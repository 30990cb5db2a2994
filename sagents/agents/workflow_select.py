"""WorkflowSelectAgent: with more than five workflows on offer, picks the one
that fits (or none); with five or fewer, the flow skips it and all of them
guide the planner. Safe default when the model answers badly, or names a
workflow that was not offered: none, so no wrong recipe is followed."""

from __future__ import annotations

from collections.abc import AsyncIterator

from pydantic import BaseModel, Field

from sagents.agents.deciding import Decision, decide
from sagents.agents.prompts import user_turn
from sagents.context.session_context import SessionContext
from sagents.events import AgentNotice, EventBase, WorkflowSelected

PROMPT = """Choose the workflow that best fits the user's request, or null if none fits.
Workflows (name: description):
{workflows}"""


class WorkflowChoice(BaseModel):
    workflow: str | None = Field(description="The chosen workflow's name, or null.")
    reason: str = ""


class WorkflowSelectAgent:
    name = "workflow_select"
    role = "workflow_select"

    async def run(self, ctx: SessionContext) -> AsyncIterator[EventBase]:
        listing = "\n".join(f"- {w.name}: {w.description}" for w in ctx.workflows.available)
        out: Decision[WorkflowChoice] = Decision()
        async for event in decide(
            ctx,
            role=self.role,
            messages=user_turn(ctx, PROMPT.format(workflows=listing)),
            schema=WorkflowChoice,
            fallback=WorkflowChoice(workflow=None, reason="fallback"),
            fallback_note="No workflow was selected",
            out=out,
        ):
            yield event
        name = out.value.workflow if out.value else None
        if name is None:
            return
        chosen = ctx.workflows.get(name)
        if chosen is None:
            yield AgentNotice(
                code="unknown_workflow", message=f"The model chose '{name}', which was not offered."
            )
            return
        ctx.workflows.selected = chosen
        yield WorkflowSelected(workflow=chosen.name)
