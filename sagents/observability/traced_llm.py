"""A ``ChatModel`` that records each call as a GenAI ``chat {model}`` span.

Wraps the Runtime's model for one run (``SAgent``), so every agent's call,
streamed or structured, is traced without the agents knowing; the memory
extractor wraps it the same way for each background job. It adds one
generator layer per chunk, and exists only when telemetry is on.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from opentelemetry.context import Context
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer

from sagents.llm.types import (
    ChatModel,
    LLMChunk,
    LLMRequest,
    StreamEnd,
    TextDelta,
    ToolCallDelta,
    UsageReport,
)
from sagents.observability import semconv as sc
from sagents.observability.setup import Observability

if TYPE_CHECKING:
    from sagents.llm.capabilities import Capabilities


class SpanParent(Protocol):
    """Where a call's span goes and what it may record: a run's
    ``RunTelemetry``, or a :class:`JobSpans` for work outside a run."""

    @property
    def obs(self) -> Observability: ...

    @property
    def tracer(self) -> Tracer: ...

    @property
    def parent(self) -> Context: ...

    @property
    def redact(self) -> Callable[[str], str]: ...


@dataclass(frozen=True, slots=True)
class JobSpans:
    """A :class:`SpanParent` for one background job (memory extraction):
    its calls become children of the job's span."""

    obs: Observability
    tracer: Tracer
    parent: Context
    redact: Callable[[str], str]


class TracedChatModel:
    """``inner`` with a span and the GenAI metrics around each call."""

    def __init__(self, inner: ChatModel, telemetry: SpanParent) -> None:
        self.inner = inner
        self.capabilities: Capabilities = inner.capabilities
        self._telemetry = telemetry

    def model_for(self, role: str) -> str:
        return self.inner.model_for(role)

    async def aclose(self) -> None:
        """The wrapped model belongs to the Runtime, which closes it."""

    async def stream(self, request: LLMRequest) -> AsyncIterator[LLMChunk]:
        telemetry = self._telemetry
        obs = telemetry.obs
        model = self.inner.model_for(request.role)
        attributes: dict[str, Any] = {
            sc.OPERATION: sc.OP_CHAT,
            sc.PROVIDER: obs.provider_name,
            sc.REQUEST_MODEL: model,
            sc.ROLE: request.role,
        }
        if obs.server_address:
            attributes[sc.SERVER_ADDRESS] = obs.server_address
            attributes[sc.SERVER_PORT] = obs.server_port or 0
        if request.max_tokens is not None:
            attributes[sc.REQUEST_MAX_TOKENS] = request.max_tokens
        if request.temperature is not None:
            attributes[sc.REQUEST_TEMPERATURE] = request.temperature
        capture = obs.capture_content
        if capture:
            attributes[sc.INPUT_MESSAGES] = telemetry.redact(
                json.dumps(input_messages(request.messages), ensure_ascii=False)
            )
        span = telemetry.tracer.start_span(
            f"{sc.OP_CHAT} {model}",
            context=telemetry.parent,
            kind=SpanKind.CLIENT,
            attributes=attributes,
        )
        started = time.perf_counter()
        labels: dict[str, Any] = {
            sc.OPERATION: sc.OP_CHAT,
            sc.PROVIDER: obs.provider_name,
            sc.REQUEST_MODEL: model,
        }
        text: list[str] = []
        calls: dict[int, dict[str, Any]] = {}
        usage: UsageReport | None = None
        end: StreamEnd | None = None
        error: BaseException | None = None
        stream = self.inner.stream(request)
        try:
            async for chunk in stream:
                if isinstance(chunk, UsageReport):
                    usage = chunk
                elif isinstance(chunk, StreamEnd):
                    end = chunk
                elif capture and isinstance(chunk, TextDelta):
                    text.append(chunk.text)
                elif capture and isinstance(chunk, ToolCallDelta):
                    call = calls.setdefault(chunk.index, {"id": "", "name": "", "arguments": ""})
                    call["id"] = chunk.id or call["id"]
                    call["name"] = chunk.name or call["name"]
                    call["arguments"] += chunk.arguments
                yield chunk
        except GeneratorExit:
            # The reader closed the stream: after StreamEnd that is the normal
            # end (it stops reading there); before it, a cap was hit.
            if end is None:
                error = GeneratorExit()
            raise
        except BaseException as exc:
            error = exc
            raise
        finally:
            close = getattr(stream, "aclose", None)
            if close is not None:
                await close()
            if end is not None:
                span.set_attribute(sc.RESPONSE_MODEL, end.model or model)
                labels[sc.RESPONSE_MODEL] = end.model or model
                if end.finish_reason:
                    span.set_attribute(sc.FINISH_REASONS, [end.finish_reason])
            if usage is not None:
                span.set_attribute(sc.INPUT_TOKENS, usage.input_tokens)
                span.set_attribute(sc.OUTPUT_TOKENS, usage.output_tokens)
                if usage.estimated:
                    span.set_attribute(sc.TOKENS_ESTIMATED, True)
                for kind, count in (("input", usage.input_tokens), ("output", usage.output_tokens)):
                    obs.metrics.token_usage.record(count, labels | {sc.TOKEN_TYPE: kind})
            if capture and (text or calls):
                answer = output_messages("".join(text), calls, end.finish_reason if end else None)
                span.set_attribute(
                    sc.OUTPUT_MESSAGES,
                    telemetry.redact(json.dumps(answer, ensure_ascii=False)),
                )
            if error is not None:
                kind_name = type(error).__name__
                if kind_name == "GeneratorExit":
                    kind_name = "closed"  # the caller stopped reading (a cap was hit)
                else:
                    description = telemetry.redact(str(error))[:200] or kind_name
                    span.set_status(Status(StatusCode.ERROR, description))
                span.set_attribute(sc.ERROR_TYPE, _error_type(kind_name))
                labels[sc.ERROR_TYPE] = _error_type(kind_name)
            span.end()
            obs.metrics.operation_duration.record(time.perf_counter() - started, labels)


def _error_type(name: str) -> str:
    return "cancelled" if name == "CancelledError" else name


def input_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """OpenAI chat messages in the conventions' shape: role and typed parts."""
    out: list[dict[str, Any]] = []
    for message in messages:
        parts: list[dict[str, Any]] = []
        content = message.get("content")
        if isinstance(content, str) and content:
            parts.append({"type": "text", "content": content})
        elif isinstance(content, list):
            for part in content:
                if isinstance(part, dict) and part.get("type") == "text":
                    parts.append({"type": "text", "content": part.get("text", "")})
                elif isinstance(part, dict):
                    parts.append({"type": str(part.get("type", "unknown"))})
        for call in message.get("tool_calls") or []:
            fn = call.get("function", {})
            parts.append(
                {
                    "type": "tool_call",
                    "id": call.get("id"),
                    "name": fn.get("name"),
                    "arguments": fn.get("arguments"),
                }
            )
        if message.get("role") == "tool":
            parts = [
                {
                    "type": "tool_call_response",
                    "id": message.get("tool_call_id"),
                    "response": content if isinstance(content, str) else "",
                }
            ]
        out.append({"role": message.get("role"), "parts": parts})
    return out


def output_messages(
    text: str, calls: dict[int, dict[str, Any]], finish_reason: str | None
) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = [{"type": "text", "content": text}] if text else []
    for index in sorted(calls):
        call = calls[index]
        parts.append({"type": "tool_call", **call})
    return [{"role": "assistant", "parts": parts, "finish_reason": finish_reason or ""}]
