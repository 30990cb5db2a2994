"""``sage doctor``'s look at an LLM endpoint: what works, and what Sage learned.

Five small real calls, each bounded by the client's own timeouts: the model
list, a streamed answer, a tool call, a structured (JSON) answer and whether
usage came with them. Along the way the client learns what the endpoint
refuses (``Capabilities``), which the report shows too, so an operator sees
up front what Sage will do with their server (fall back to JSON mode,
estimate usage, …) instead of finding out from a failed run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, Field

from sagents.llm.errors import LLMError, LLMOutputInvalid
from sagents.llm.openai_model import OpenAIChatModel
from sagents.llm.structured import complete_json
from sagents.llm.types import LLMRequest, StreamEnd, TextDelta, ToolCallDelta

PROBE_ROLE = "simple"
"""The role whose model answers the probes (deciders use the fast model:
the structured probe asks as ``router``)."""

Status = Literal["ok", "warn", "fail"]

TIME_TOOL = {
    "type": "function",
    "function": {
        "name": "get_time",
        "description": "The current time in a time zone.",
        "parameters": {
            "type": "object",
            "properties": {"timezone": {"type": "string", "description": "e.g. UTC"}},
            "required": ["timezone"],
        },
    },
}


class ProbeAnswer(BaseModel):
    ok: bool = Field(description="Always true.")
    word: str = Field(description="The word 'ready'.")


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    status: Status
    detail: str


async def probe_endpoint(model: OpenAIChatModel) -> list[Check]:
    """Run the probes in order; a failure is reported, never raised."""
    checks = [await _models_listed(model)]
    checks.append(await _streaming(model))
    if checks[-1].status == "fail":
        return checks  # the rest would fail the same way
    checks.append(await _tool_calling(model))
    checks.append(await _structured(model))
    checks.append(_usage(model))
    return checks


async def _models_listed(model: OpenAIChatModel) -> Check:
    wanted = model.model_for(PROBE_ROLE)
    try:
        listed = [item.id async for item in model.sdk.models.list()]
    except Exception as exc:  # any SDK or transport error is the finding itself
        return Check("model listed", "warn", f"the model list is not available: {exc}")
    if wanted in listed:
        return Check("model listed", "ok", f"{wanted} is served ({len(listed)} models listed)")
    shown = ", ".join(listed[:8]) + (" …" if len(listed) > 8 else "")
    return Check("model listed", "warn", f"{wanted} is not in the list ({shown or 'empty'})")


async def _streaming(model: OpenAIChatModel) -> Check:
    request = LLMRequest(
        role=PROBE_ROLE,
        messages=[{"role": "user", "content": "Reply with the single word: ready"}],
        max_tokens=20,
    )
    pieces = 0
    text = ""
    try:
        async for chunk in model.stream(request):
            if isinstance(chunk, TextDelta):
                pieces += 1
                text += chunk.text
            elif isinstance(chunk, StreamEnd):
                break
    except LLMError as exc:
        return Check("streaming", "fail", str(exc))
    if not pieces:
        return Check("streaming", "warn", "the stream finished without any text")
    return Check("streaming", "ok", f"{pieces} text chunk(s): {text.strip()[:60]!r}")


async def _tool_calling(model: OpenAIChatModel) -> Check:
    request = LLMRequest(
        role=PROBE_ROLE,
        messages=[{"role": "user", "content": "What time is it in UTC? Use the get_time tool."}],
        tools=[TIME_TOOL],
    )
    calls: dict[int, str] = {}
    try:
        async for chunk in model.stream(request):
            if isinstance(chunk, ToolCallDelta) and chunk.name:
                calls[chunk.index] = chunk.name
    except LLMError as exc:
        return Check("tool calling", "fail", str(exc))
    if "get_time" in calls.values():
        return Check("tool calling", "ok", "the model called get_time")
    return Check(
        "tool calling",
        "warn",
        "no tool call came back: the model answered in text (does it support tools?)",
    )


async def _structured(model: OpenAIChatModel) -> Check:
    role = "router"
    try:
        await complete_json(
            model,
            role,
            [{"role": "user", "content": "Confirm you are ready."}],
            ProbeAnswer,
        )
    except LLMOutputInvalid as exc:
        return Check(
            "structured output",
            "warn",
            f"{exc} — deciding agents will take their safe defaults (agent.notice)",
        )
    except LLMError as exc:
        return Check("structured output", "fail", str(exc))
    name = model.model_for(role)
    learned = model.capabilities.of(name)
    mode = learned.structured or "?"
    how = {
        "json_schema": "strict json_schema response format",
        "json_object": "JSON mode (json_object) with the schema in the prompt",
        "prompt": "the schema in the prompt, parsed and repaired",
    }.get(mode, mode)
    detail = f"{name}: {how}"
    if learned.structured_reason:
        detail += f" — {learned.structured_reason}"
    return Check("structured output", "ok" if mode == "json_schema" else "warn", detail)


def _usage(model: OpenAIChatModel) -> Check:
    seen = model.capabilities.of(model.model_for(PROBE_ROLE)).usage
    if seen == "reported":
        return Check("usage reporting", "ok", "the endpoint reports token usage")
    return Check(
        "usage reporting",
        "warn",
        "the endpoint sent no usage; Sage counts tokens itself (marked estimated)",
    )
