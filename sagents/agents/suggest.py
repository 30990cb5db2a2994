"""QuerySuggestAgent: three follow-up questions the user might ask next.

Safe default when the model answers badly: no suggestions (a notice says so);
suggestions are a convenience and never worth failing a run for.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from pydantic import BaseModel, Field

from sagents.agents.deciding import Decision, decide
from sagents.agents.prompts import user_turn
from sagents.context.session_context import SessionContext
from sagents.events import EventBase, Suggestions

PROMPT = """Suggest exactly three short follow-up questions the user is likely to
ask next, in the user's language, each answerable by an assistant. The answer
they just got: {answer}"""


class FollowUps(BaseModel):
    questions: list[str] = Field(min_length=1, max_length=5)


class QuerySuggestAgent:
    name = "suggest"
    role = "suggest"

    async def run(self, ctx: SessionContext) -> AsyncIterator[EventBase]:
        out: Decision[FollowUps] = Decision()
        async for event in decide(
            ctx,
            role=self.role,
            messages=user_turn(ctx, PROMPT.format(answer=(ctx.answer or "")[:4000])),
            schema=FollowUps,
            fallback=FollowUps.model_construct(questions=[]),
            fallback_note="No follow-up questions this time",
            out=out,
        ):
            yield event
        questions = [q.strip() for q in (out.value.questions if out.value else []) if q.strip()]
        ctx.notes.suggestions = questions[:3]
        if ctx.notes.suggestions:
            yield Suggestions(questions=ctx.notes.suggestions)
