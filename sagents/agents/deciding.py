"""Asking the LLM for a decision as validated JSON, with a visible fallback.

A model that answers badly must never crash a run: ``complete_json`` repairs
invalid output once; if that fails too, the agent uses its documented safe
default and this helper says so in an ``agent.notice``. Transport failures
(the LLM unreachable) are not decisions gone wrong and still fail the run.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from sagents.context.session_context import SessionContext
from sagents.events import AgentNotice, EventBase, UsageReported
from sagents.llm.errors import LLMOutputInvalid
from sagents.llm.structured import complete_json_with_usage

T = TypeVar("T", bound=BaseModel)


@dataclass
class Decision(Generic[T]):
    value: T | None = None
    fell_back: bool = False


async def decide(
    ctx: SessionContext,
    *,
    role: str,
    messages: list[dict[str, Any]],
    schema: type[T],
    fallback: T,
    fallback_note: str,
    out: Decision[T],
) -> AsyncIterator[EventBase]:
    """Fill ``out.value`` with the model's decision, or with ``fallback``."""
    try:
        value, usage = await complete_json_with_usage(ctx.llm, role, messages, schema)
    except LLMOutputInvalid as exc:
        out.value = fallback
        out.fell_back = True
        yield AgentNotice(
            code="decision_fallback",
            message=f"{fallback_note} (the model's answer was not valid: {str(exc)[:300]})",
        )
        return
    for report in usage:
        ctx.usage.add(report.input_tokens, report.output_tokens, estimated=report.estimated)
        yield UsageReported.of(report)
    out.value = value
