"""Structured output: ask any ``ChatModel`` for JSON that validates against a
pydantic schema.

OpenAI-compatible servers differ in what they accept: OpenAI and vLLM take a
strict ``json_schema`` response format, DeepSeek and older llama.cpp only
``json_object`` (refusing ``json_schema`` with 400, 422 or even 500), and
some take ``response_format`` but ignore it. Rather than configuring this per
provider, the first call finds out by stepping down (``json_schema`` →
``json_object`` → prompt-and-parse) and the model's ``Capabilities`` remember
what worked per model, so later calls go straight there. Every mode also
states the schema in the prompt, and an invalid answer is repaired once.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any

import openai
from pydantic import BaseModel, ValidationError

from sagents.llm.capabilities import STRUCTURED_MODES, StructuredMode
from sagents.llm.errors import LLMOutputInvalid, LLMParameterUnsupported, LLMRequestRejected
from sagents.llm.features import RESPONSE_FORMAT, named_parameters
from sagents.llm.types import (
    ChatMessageDict,
    ChatModel,
    LLMRequest,
    T,
    TextDelta,
    UsageReport,
)

MODES = STRUCTURED_MODES

_THINK = re.compile(r"<think>.*?</think>", re.DOTALL)
_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.DOTALL)
_NAME_UNSAFE = re.compile(r"[^a-zA-Z0-9_-]")
_MAX_ERRORS_SHOWN = 8


MAX_ANSWER_CHARS = 100_000
"""A structured answer is a small JSON document (a route, a task list, a
verdict). One longer than this is not read on: the stream is closed and the
answer counts as invalid, so a model that talks without end costs bounded
memory and the caller's fallback applies."""


async def collect_text(
    model: ChatModel, request: LLMRequest, *, max_chars: int = MAX_ANSWER_CHARS
) -> tuple[str, list[UsageReport]]:
    """Run one request to the end and return its text and usage reports.

    The stream is consumed to its end, so the model's generator finishes (and
    closes its HTTP response) without the caller having to close it. Past
    ``max_chars`` of text the stream is closed and ``LLMOutputInvalid`` raised.
    """
    parts: list[str] = []
    usage: list[UsageReport] = []
    size = 0
    stream = model.stream(request)
    try:
        async for chunk in stream:
            if isinstance(chunk, TextDelta):
                size += len(chunk.text)
                if size > max_chars:
                    raise LLMOutputInvalid(
                        f"The model's answer passed {max_chars} characters; it was not read on."
                    )
                parts.append(chunk.text)
            elif isinstance(chunk, UsageReport):
                usage.append(chunk)
    finally:
        close = getattr(stream, "aclose", None)
        if close is not None:
            await close()
    return "".join(parts), usage


async def complete_json(
    model: ChatModel,
    role: str,
    messages: list[ChatMessageDict],
    schema: type[T],
    *,
    max_repairs: int = 1,
) -> T:
    """Ask ``model`` (as ``role``) for an instance of ``schema``.

    Raises ``LLMOutputInvalid`` when the answer still does not validate after
    ``max_repairs`` repair attempts, and the usual ``LLMError``s otherwise.
    """
    result, _ = await complete_json_with_usage(
        model, role, messages, schema, max_repairs=max_repairs
    )
    return result


async def complete_json_with_usage(
    model: ChatModel,
    role: str,
    messages: list[ChatMessageDict],
    schema: type[T],
    *,
    max_repairs: int = 1,
) -> tuple[T, list[UsageReport]]:
    """Like ``complete_json``, also returning the usage of every call it made
    (fallbacks and repairs included), so agents can report what it cost."""
    usage: list[UsageReport] = []
    request, text = await _first_answer(model, role, messages, schema, usage)
    conversation = list(request.messages)
    for repair in range(max_repairs + 1):
        try:
            return schema.model_validate_json(extract_json(text)), usage
        except ValidationError as exc:
            problem = describe_validation_error(exc)
        if repair == max_repairs:
            break
        # Show the model its own answer and what is wrong with it: a targeted
        # correction succeeds far more often than asking the same question again.
        conversation += [
            {"role": "assistant", "content": text},
            {
                "role": "user",
                "content": (
                    f"That answer is not valid: {problem}\n"
                    "Reply again with the corrected JSON only, matching the schema."
                ),
            },
        ]
        repaired = LLMRequest(
            role=role, messages=conversation, response_format=request.response_format
        )
        text, used = await collect_text(model, repaired)
        usage += used
    raise LLMOutputInvalid(
        f"The model's answer for {schema.__name__} did not validate after "
        f"{max_repairs} repair attempt(s): {problem}"
    )


async def _first_answer(
    model: ChatModel,
    role: str,
    messages: list[ChatMessageDict],
    schema: type[T],
    usage: list[UsageReport],
) -> tuple[LLMRequest, str]:
    """Ask in the best mode the model accepts, learning it on first use.

    A refusal of the response format (its status and body naming it) moves
    to the next mode at once. An answer with no JSON in it at all under a
    JSON response format means the server ignored the format
    (https://github.com/ggml-org/llama.cpp/issues/24096): the next mode is
    learned and the repair is asked in it. A broken JSON answer is the
    model's slip, repaired in the same mode.
    """
    name = model.model_for(role)
    capabilities = model.capabilities
    known = capabilities.structured_mode(name)
    modes = MODES[MODES.index(known) :] if known in MODES else MODES
    instructed = with_instruction(messages, json_instruction(json_schema_of(schema)))
    for position, mode in enumerate(modes):
        request = LLMRequest(
            role=role, messages=instructed, response_format=response_format(mode, schema)
        )
        try:
            text, used = await collect_text(model, request)
        except LLMRequestRejected as exc:
            if mode == MODES[-1] or not rejects_response_format(exc):
                raise
            capabilities.learn_structured(
                name, modes[position + 1], f"{mode} output was refused ({exc})"
            )
            continue
        usage += used
        if mode != MODES[-1] and ignores_format(text):
            weaker = modes[position + 1]
            capabilities.learn_structured(
                name, weaker, f"an answer ignored the {mode} response format"
            )
            return LLMRequest(
                role=role, messages=instructed, response_format=response_format(weaker, schema)
            ), text
        capabilities.learn_structured(name, mode)
        return request, text
    raise AssertionError("unreachable: the last mode either answers or raises")


def response_format(mode: StructuredMode, schema: type[BaseModel]) -> dict[str, Any] | None:
    if mode == "json_schema":
        strict, body = strict_schema_of(schema)
        return {
            "type": "json_schema",
            "json_schema": {
                "name": _NAME_UNSAFE.sub("_", schema.__name__)[:64] or "answer",
                "schema": body,
                "strict": strict,
            },
        }
    if mode == "json_object":
        return {"type": "json_object"}
    return None


@lru_cache(maxsize=256)
def json_schema_of(schema: type[BaseModel]) -> dict[str, Any]:
    """The schema as pydantic writes it (cached: generating it costs ~1 ms)."""
    return schema.model_json_schema()


@lru_cache(maxsize=256)
def strict_schema_of(schema: type[BaseModel]) -> tuple[bool, dict[str, Any]]:
    """``(strict, schema)`` for a ``json_schema`` response format.

    Strict mode (constrained decoding on OpenAI, vLLM) needs every property
    required and no extra ones; the openai SDK's ``pydantic_function_tool``
    writes that form of a pydantic model. Fields with defaults become required,
    which only means the model always writes them. A model the SDK cannot
    convert is sent non-strict.
    """
    try:
        tool = openai.pydantic_function_tool(schema)
    except Exception:
        return False, json_schema_of(schema)
    parameters = tool["function"].get("parameters")
    if not isinstance(parameters, dict):
        return False, json_schema_of(schema)
    return True, dict(parameters)


def json_instruction(json_schema: dict[str, Any]) -> str:
    """Sent in every mode: servers that accept ``response_format`` but ignore
    it still get told, and OpenAI's ``json_object`` mode requires the word JSON
    in the prompt."""
    return (
        "Answer with JSON only: one JSON value that validates against the JSON schema "
        "below. No prose, no code fences.\nSchema: "
        + json.dumps(json_schema, separators=(",", ":"), ensure_ascii=False)
    )


def with_instruction(messages: list[ChatMessageDict], instruction: str) -> list[ChatMessageDict]:
    """Add ``instruction`` to the leading system message (or start with one).

    Not appended at the end: many chat templates (Mistral, Gemma, some Llama
    builds) reject a system message anywhere but first, and the server would
    answer 400, which would read as "response_format not supported".
    """
    first = messages[0] if messages else None
    if (
        first is not None
        and first.get("role") == "system"
        and isinstance(first.get("content"), str)
    ):
        return [{**first, "content": f"{first['content']}\n\n{instruction}"}, *messages[1:]]
    return [{"role": "system", "content": instruction}, *messages]


def rejects_response_format(exc: LLMRequestRejected) -> bool:
    """Whether a refusal is the server saying it does not support the
    response format: the client names it (``LLMParameterUnsupported``), or
    the status and message do (for other ``ChatModel``s)."""
    if isinstance(exc, LLMParameterUnsupported):
        return RESPONSE_FORMAT in exc.parameters
    return bool(named_parameters(exc.status_code or 0, str(exc), [RESPONSE_FORMAT]))


def ignores_format(text: str) -> bool:
    """Whether an answer shows no attempt at JSON (prose, not broken JSON)."""
    return extract_json(text)[:1] not in ("{", "[")


def extract_json(text: str) -> str:
    """The JSON inside a model's answer: drops ``<think>`` blocks that reasoning
    models put in the content, code fences, and prose around one object."""
    candidate = _THINK.sub("", text).strip()
    fenced = _FENCE.search(candidate)
    if fenced:
        candidate = fenced.group(1).strip()
    if candidate[:1] not in ("{", "["):
        start, end = candidate.find("{"), candidate.rfind("}")
        if 0 <= start < end:
            candidate = candidate[start : end + 1]
    return candidate


def describe_validation_error(exc: ValidationError) -> str:
    """A short, model-readable account of what failed (no documentation URLs)."""
    errors = exc.errors(include_url=False)
    described = [
        f"{'.'.join(str(part) for part in error['loc']) or '(root)'}: {error['msg']}"
        for error in errors[:_MAX_ERRORS_SHOWN]
    ]
    if len(errors) > _MAX_ERRORS_SHOWN:
        described.append(f"and {len(errors) - _MAX_ERRORS_SHOWN} more")
    return "; ".join(described)
