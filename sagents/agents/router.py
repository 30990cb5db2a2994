"""TaskRouterAgent: decides deep_thinking and multi_agent when the request leaves them open.

Flags given in the request, or set by the operator (``SAGE_DEFAULT_DEEP_THINKING``,
``SAGE_DEFAULT_MULTI_AGENT``; the run's options arrive resolved), are a
decision already made and are never second-guessed: the agent then reports
them (``source: options``) without an LLM call. Safe default when the model
answers badly: the simple path (both false), which is the cheapest and always
produces an answer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from pydantic import BaseModel, Field

from sagents.agents.deciding import Decision, decide
from sagents.agents.prompts import user_turn
from sagents.context.session_context import SessionContext
from sagents.events import EventBase, RouteDecided

PROMPT = """You route a user's request inside an assistant. Decide two things:
- deep_thinking: true when the request needs careful analysis before acting
  (ambiguous, many-sided, or high-stakes); false for plain questions.
- multi_agent: true when it needs several distinct steps or tool uses that are
  best planned and carried out one at a time; false when one answer (with at
  most a couple of tool calls) will do.
Greetings, small talk and simple questions need neither. Give a one-sentence reason."""


class RouteDecision(BaseModel):
    deep_thinking: bool = Field(description="Analyse the request before acting.")
    multi_agent: bool = Field(description="Decompose into subtasks and work through them.")
    reason: str = Field(default="", description="One sentence.")


FALLBACK = RouteDecision(deep_thinking=False, multi_agent=False, reason="fallback: simple path")


class TaskRouterAgent:
    name = "router"
    role = "router"

    async def run(self, ctx: SessionContext) -> AsyncIterator[EventBase]:
        given_deep, given_multi = ctx.options.deep_thinking, ctx.options.multi_agent
        if given_deep is not None and given_multi is not None:
            ctx.notes.deep_thinking, ctx.notes.multi_agent = given_deep, given_multi
            yield RouteDecided(
                deep_thinking=given_deep,
                multi_agent=given_multi,
                source="options",
                reason=_who_decided(ctx),
            )
            return
        out: Decision[RouteDecision] = Decision()
        async for event in decide(
            ctx,
            role=self.role,
            messages=user_turn(ctx, PROMPT),
            schema=RouteDecision,
            fallback=FALLBACK,
            fallback_note="Routing fell back to the simple path",
            out=out,
        ):
            yield event
        decision = out.value or FALLBACK
        ctx.notes.deep_thinking = given_deep if given_deep is not None else decision.deep_thinking
        ctx.notes.multi_agent = given_multi if given_multi is not None else decision.multi_agent
        yield RouteDecided(
            deep_thinking=ctx.notes.deep_thinking,
            multi_agent=ctx.notes.multi_agent,
            source="router",
            reason=decision.reason,
        )


def _who_decided(ctx: SessionContext) -> str:
    """Whether the request or the operator's defaults set the flags (the
    run record keeps the request's own options)."""
    asked = [name for name in ("deep_thinking", "multi_agent") if name in ctx.run.options]
    if len(asked) == 2:
        return "given in the request"
    if not asked:
        return "the operator's defaults (SAGE_DEFAULT_DEEP_THINKING, SAGE_DEFAULT_MULTI_AGENT)"
    return f"{asked[0]} given in the request, the other by the operator's default"
