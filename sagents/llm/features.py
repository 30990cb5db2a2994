"""The optional parts of a chat completion request, and recognising a refusal
of one of them.

Sage sends what helps when the endpoint takes it: ``stream_options`` (so the
provider reports usage), ``parallel_tool_calls`` (Sage runs a turn's calls
concurrently), ``strict`` tool schemas (constrained decoding where the server
has it) and an explicit ``tool_choice``. Servers that do not know one of them
answer 400, 422, 500 or 501 with a body naming it; ``named_parameters`` reads
that, so the client can drop the parameter, remember it
(``Capabilities.refuse``) and send the request again at once.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sagents.llm.capabilities import Capabilities
from sagents.llm.strict import StrictTools, strict_tools
from sagents.llm.types import LLMRequest

UNSUPPORTED_STATUSES = frozenset({400, 422, 500, 501})
"""Statuses servers use for "I do not support that": 400 and 422 (validation),
500 (llama.cpp, https://github.com/ggml-org/llama.cpp/issues/9522) and 501."""

RESPONSE_FORMAT = "response_format"

KEYWORDS: dict[str, tuple[str, ...]] = {
    "stream_options": ("stream_options", "include_usage"),
    "parallel_tool_calls": ("parallel_tool_calls", "parallel tool calls"),
    "strict_tools": ("strict",),
    # vLLM words it '"auto" tool choice requires --enable-auto-tool-choice':
    # https://github.com/langchain4j/langchain4j/issues/3475
    "tool_choice": ("tool_choice", "tool choice"),
    # llama.cpp: 'response_format type must be one of …' (issue 9522 above);
    # DeepSeek: 'This response_format type is unavailable now'
    # (https://github.com/llm-exe/llm-exe/issues/662) and 'deepseek-reasoner
    # does not support Json Output.' (https://github.com/gomate-community/TrustRAG/issues/140)
    RESPONSE_FORMAT: (
        "response_format",
        "response format",
        "json_schema",
        "json_object",
        "json output",
        "json mode",
        "structured output",
    ),
}


def named_parameters(status: int, body: bytes | str, sent: Iterable[str]) -> list[str]:
    """Which of the parameters ``sent`` an error answer says are unsupported.

    Only a status servers use for that counts, and only when the body names
    the parameter (in its message or its ``param`` field): a 400 for a
    context that is too long must not cost Sage a feature.
    """
    if status not in UNSUPPORTED_STATUSES:
        return []
    text = (body.decode("utf-8", "replace") if isinstance(body, bytes) else body).lower()
    return [name for name in sent if any(word in text for word in KEYWORDS.get(name, ()))]


def request_body(
    request: LLMRequest,
    model: str,
    capabilities: Capabilities,
    strict: StrictTools | None = None,
) -> tuple[bytes, list[str]]:
    """The JSON body for ``request`` and the optional parameters it carries.
    ``strict`` remembers the strict form of tools seen before (a client
    keeps one for all its calls); without it each tool is converted anew."""
    body: dict[str, Any] = {"model": model, "messages": request.messages, "stream": True}
    sent: list[str] = []
    if capabilities.allows(model, "stream_options"):
        body["stream_options"] = {"include_usage": True}
        sent.append("stream_options")
    if request.tools:
        tools = request.tools
        if capabilities.allows(model, "strict_tools"):
            tools = strict_tools(tools) if strict is None else strict.tools(tools)
            if tools is not request.tools:
                sent.append("strict_tools")
        body["tools"] = tools
        if capabilities.allows(model, "tool_choice"):
            body["tool_choice"] = request.tool_choice or "auto"
            sent.append("tool_choice")
        if capabilities.allows(model, "parallel_tool_calls"):
            # Only with tools: OpenAI refuses it otherwise (400, param
            # parallel_tool_calls): https://github.com/openai/swarm/issues/30
            body["parallel_tool_calls"] = True
            sent.append("parallel_tool_calls")
    if request.response_format is not None:
        body["response_format"] = request.response_format
        sent.append(RESPONSE_FORMAT)
    if request.temperature is not None:
        body["temperature"] = request.temperature
    if request.max_tokens is not None:
        body["max_tokens"] = request.max_tokens
    if request.extra:
        body.update(request.extra)
    encoded = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    return encoded, sent
