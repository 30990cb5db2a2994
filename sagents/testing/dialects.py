"""How each OpenAI-compatible server really speaks, for the mock LLM.

"OpenAI-compatible" servers differ in ways that break clients: the status
and body they answer to a ``response_format`` they do not support, whether
they send token usage, how tool-call arguments arrive, where reasoning goes,
how ``finish_reason`` is spelled, and what else travels on the stream. A
``Dialect`` describes one server's documented behaviour; ``MockLLMServer``
(and ``sage mock-llm --dialect``) speaks it, so Sage is tested against what
users will actually point it at. Every behaviour below cites where it was
documented or reported.

A dialect is data: rendering (``sagents.testing.openai_wire``) and request
checks (``Dialect.refusal``) read it; nothing else in the mock knows which
server it imitates.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

UsagePolicy = Literal["always", "on_request", "never"]
ToolCallStyle = Literal["pieces", "whole", "together"]
ReasoningStyle = Literal["reasoning_content", "reasoning", "think_tags"]

ErrorBody = Callable[[int, str, str | None], dict[str, Any]]
"""``(status, message, param)`` → the JSON error body the server sends."""


@dataclass(frozen=True, slots=True)
class Refusal:
    """An error answer the server gives instead of a completion."""

    status: int
    message: str
    param: str | None = None


Check = Callable[[dict[str, Any]], Refusal | None]
"""Looks at a request body; returns the server's refusal, or ``None``."""


@dataclass(frozen=True, slots=True)
class Dialect:
    name: str
    server: str
    """The server (and version range) whose behaviour this is."""
    error_body: ErrorBody
    usage: UsagePolicy = "on_request"
    usage_on_finish_chunk: bool = False
    """Usage rides on the chunk carrying ``finish_reason`` (no usage-only chunk)."""
    tool_calls: ToolCallStyle = "pieces"
    tool_call_index: bool = True
    """Whether streamed tool calls carry their ``index``."""
    reasoning: ReasoningStyle = "reasoning_content"
    finish_reasons: dict[str, str] = field(default_factory=dict)
    """Spelling map applied to the scripted finish reason (``tool_calls`` → ``stop``)."""
    keep_alive_comments: int = 0
    """SSE comment lines (``: keep-alive``) sent before the first chunk."""
    checks: tuple[Check, ...] = ()

    def refusal(self, body: dict[str, Any]) -> Refusal | None:
        """The server's own refusal of this request, if it refuses it."""
        for check in self.checks:
            refused = check(body)
            if refused is not None:
                return refused
        return None

    def finish_reason(self, scripted: str) -> str:
        return self.finish_reasons.get(scripted, scripted)


# --- error bodies --------------------------------------------------------------


def openai_error(status: int, message: str, param: str | None) -> dict[str, Any]:
    """``{"error": {message, type, param, code}}``, as the OpenAI API answers."""
    kind = "invalid_request_error" if status < 500 else "server_error"
    return {"error": {"message": message, "type": kind, "param": param, "code": None}}


def vllm_error(status: int, message: str, param: str | None) -> dict[str, Any]:
    # vLLM answers a flat object, not nested under "error":
    # {"object":"error","message":…,"type":"BadRequestError","param":null,"code":400}
    # https://github.com/langchain4j/langchain4j/issues/3475
    kind = "BadRequestError" if status < 500 else "InternalServerError"
    return {"object": "error", "message": message, "type": kind, "param": param, "code": status}


def llamacpp_error(status: int, message: str, param: str | None) -> dict[str, Any]:
    # {"error": {"code": 500, "message": …, "type": "server_error"}}
    # https://github.com/ggml-org/llama.cpp/issues/9522
    kind = "server_error" if status >= 500 else "invalid_request_error"
    return {"error": {"code": status, "message": message, "type": kind}}


def deepseek_error(status: int, message: str, param: str | None) -> dict[str, Any]:
    # {"error": {"message": …, "type": "invalid_request_error", "param": null,
    #  "code": "invalid_request_error"}}: https://github.com/llm-exe/llm-exe/issues/662
    kind = "invalid_request_error"
    return {"error": {"message": message, "type": kind, "param": param, "code": kind}}


# --- request checks ------------------------------------------------------------


def _response_format_type(body: dict[str, Any]) -> str | None:
    fmt = body.get("response_format")
    kind = fmt.get("type") if isinstance(fmt, dict) else None
    return kind if isinstance(kind, str) else None


def _strict_tool(body: dict[str, Any]) -> int | None:
    """The index of the first tool declared ``strict: true``."""
    tools = body.get("tools")
    if not isinstance(tools, list):
        return None
    for index, tool in enumerate(tools):
        fn = tool.get("function") if isinstance(tool, dict) else None
        if isinstance(fn, dict) and fn.get("strict") is True:
            return index
    return None


def openai_parallel_without_tools(body: dict[str, Any]) -> Refusal | None:
    # OpenAI refuses parallel_tool_calls on a request without tools (HTTP 400,
    # param "parallel_tool_calls"): https://github.com/openai/swarm/issues/30
    if "parallel_tool_calls" in body and not body.get("tools"):
        return Refusal(
            400,
            "Invalid value for 'parallel_tool_calls': 'parallel_tool_calls' is only allowed "
            "when 'tools' are specified.",
            "parallel_tool_calls",
        )
    return None


def llamacpp_json_schema(body: dict[str, Any]) -> Refusal | None:
    # llama-server answered HTTP 500 to a json_schema response_format
    # (https://github.com/ggml-org/llama.cpp/issues/9522), and so does
    # llama-cpp-python's server, 0.3.23 (https://github.com/ggml-org/llama.cpp/issues/23463).
    if _response_format_type(body) == "json_schema":
        return Refusal(
            500, 'response_format type must be one of "text" or "json_object", but got: json_schema'
        )
    return None


def deepseek_json_schema(body: dict[str, Any]) -> Refusal | None:
    # DeepSeek takes only "text" and "json_object"; json_schema gets HTTP 400
    # "This response_format type is unavailable now":
    # https://github.com/llm-exe/llm-exe/issues/662 (an older build answered
    # 422 naming response_format.type: https://github.com/browser-use/browser-use/pull/215)
    if _response_format_type(body) == "json_schema":
        return Refusal(400, "This response_format type is unavailable now")
    return None


def deepseek_strict_tools(body: dict[str, Any]) -> Refusal | None:
    # DeepSeek refuses strict function schemas outside its beta endpoint:
    # "Invalid value: 'true'. The value 'true' isn't supported yet. For now,
    # please use 'false' for this setting." (param tools[0].function.strict)
    # https://github.com/Zoo-Code-Org/Zoo-Code/issues/1036
    index = _strict_tool(body)
    if index is not None:
        return Refusal(
            400,
            "Invalid value: 'true'. The value 'true' isn't supported yet. "
            "For now, please use 'false' for this setting.",
            f"tools[{index}].function.strict",
        )
    return None


# --- the dialects ----------------------------------------------------------------

OPENAI = Dialect(
    name="openai",
    server="OpenAI's chat completions API",
    error_body=openai_error,
    # Usage only with stream_options.include_usage, in an extra chunk with
    # empty choices before [DONE]: https://github.com/ollama/ollama/issues/4448
    # (quoting OpenAI's stream_options documentation).
    usage="on_request",
    tool_calls="pieces",
    # OpenAI itself streams no reasoning on chat completions; a scripted turn
    # with reasoning is sent as the widespread reasoning_content field.
    reasoning="reasoning_content",
    checks=(openai_parallel_without_tools,),
)

VLLM = Dialect(
    name="vllm",
    server="vLLM's OpenAI-compatible server (--reasoning-parser, --enable-auto-tool-choice)",
    error_body=vllm_error,
    # "You have to set stream_options in order to return usage info in stream
    # mode": https://github.com/vllm-project/vllm/issues/7299
    usage="on_request",
    tool_calls="pieces",
    # vLLM renamed reasoning_content to reasoning (the old name still works):
    # https://docs.vllm.ai/en/v0.11.2/features/reasoning_outputs/
    reasoning="reasoning",
)

LLAMACPP = Dialect(
    name="llamacpp",
    server="llama.cpp's servers at their least compatible: llama-server before the "
    "json_schema fix, llama-cpp-python's server (python -m llama_cpp.server)",
    error_body=llamacpp_error,
    # llama-cpp-python's server sends no usage when streaming, asked or not:
    # https://github.com/abetlen/llama-cpp-python/issues/1082
    usage="never",
    # llama-server streams tool-call arguments as partial JSON (with --jinja):
    # https://github.com/ggml-org/llama.cpp/pull/12379
    tool_calls="pieces",
    reasoning="reasoning_content",
    checks=(llamacpp_json_schema,),
)

OLLAMA = Dialect(
    name="ollama",
    server="Ollama's /v1 endpoint, serving Qwen3",
    error_body=openai_error,
    # stream_options.include_usage is honoured since v0.5.2:
    # https://github.com/ogx-ai/ogx/pull/5011
    usage="on_request",
    # Each tool call arrives whole, in one chunk (all of a turn's calls in the
    # same one): https://github.com/ollama/ollama/issues/11633,
    # https://github.com/ollama/ollama/issues/13581
    tool_calls="together",
    # Streamed tool calls carried no index: https://github.com/ollama/ollama/issues/7881
    tool_call_index=False,
    # Qwen3's thinking arrives inside the content as <think>…</think>:
    # https://github.com/bold84/cot_proxy/issues/3
    reasoning="think_tags",
    # Streamed tool calls ended with finish_reason "stop" until
    # https://github.com/ollama/ollama/pull/7963 (where gpt-4o is also seen
    # doing it), so clients must not rely on "tool_calls".
    finish_reasons={"tool_calls": "stop"},
)

DEEPSEEK = Dialect(
    name="deepseek",
    server="DeepSeek's API (deepseek-chat, deepseek-reasoner)",
    error_body=deepseek_error,
    # Usage is always sent, on the last chunk (the one with finish_reason),
    # with no usage-only chunk; include_usage only adds null usage fields:
    # https://api-docs.deepseek.com/api/create-chat-completion/ (quoted in
    # https://github.com/moona3k/macparakeet/pull/1087)
    usage="always",
    usage_on_finish_chunk=True,
    tool_calls="pieces",
    # deepseek-reasoner streams its chain of thought as reasoning_content:
    # https://github.com/karthink/gptel/pull/592
    reasoning="reasoning_content",
    # While a request waits for capacity the stream carries ": keep-alive"
    # comments: https://api-docs.deepseek.com/quick_start/rate_limit
    keep_alive_comments=2,
    checks=(deepseek_json_schema, deepseek_strict_tools),
)

DIALECTS: dict[str, Dialect] = {d.name: d for d in (OPENAI, VLLM, LLAMACPP, OLLAMA, DEEPSEEK)}
DIALECT_NAMES = tuple(DIALECTS)


def get_dialect(name: str | Dialect) -> Dialect:
    """A dialect by name (``openai``, ``vllm``, ``llamacpp``, ``ollama``, ``deepseek``)."""
    if isinstance(name, Dialect):
        return name
    try:
        return DIALECTS[name]
    except KeyError:
        raise ValueError(
            f"unknown dialect {name!r}; choose one of {', '.join(DIALECT_NAMES)}"
        ) from None
