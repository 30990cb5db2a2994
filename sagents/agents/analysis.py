"""TaskAnalysisAgent: thinks the request through before anything acts on it.

The analysis is streamed (``kind: analysis``) so the user sees the reasoning,
and kept in the context, where every later agent's prompt includes it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from sagents.agents.prompts import user_turn
from sagents.agents.streaming import Outcome, stream_message
from sagents.context.session_context import SessionContext
from sagents.events import EventBase

PROMPT = """Analyse the user's current request before anyone acts on it. Cover, briefly:
1. Intent: what the user actually wants, including implicit needs.
2. What is needed: information, tools or skills that will help (only ones listed as available).
3. Approach: the steps you would take, and the risks or ambiguities to watch.
Do not answer the request itself. Write in the user's language."""


class TaskAnalysisAgent:
    name = "analysis"
    role = "analysis"

    async def run(self, ctx: SessionContext) -> AsyncIterator[EventBase]:
        tools = ", ".join(ctx.tools.names) or "none"
        out = Outcome()
        async for event in stream_message(
            ctx,
            agent=self.name,
            role=self.role,
            kind="analysis",
            messages=user_turn(ctx, f"{PROMPT}\nAvailable tools: {tools}."),
            out=out,
        ):
            yield event
        ctx.notes.analysis = out.text
