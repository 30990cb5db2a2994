"""Talking to language models: the provider-neutral contract, the OpenAI-compatible
client, and structured (JSON) output on top of any ``ChatModel``."""

from sagents.llm.capabilities import Capabilities
from sagents.llm.errors import (
    LLMError,
    LLMNotConfigured,
    LLMOutputInvalid,
    LLMParameterUnsupported,
    LLMRequestRejected,
    LLMStreamBroken,
    LLMTimeout,
    LLMUnavailable,
)
from sagents.llm.openai_model import OpenAIChatModel
from sagents.llm.structured import collect_text, complete_json, complete_json_with_usage
from sagents.llm.types import (
    ChatMessageDict,
    ChatModel,
    LLMChunk,
    LLMRequest,
    ReasoningDelta,
    StreamEnd,
    TextDelta,
    ToolCallDelta,
    UsageReport,
)

__all__ = [
    "Capabilities",
    "ChatMessageDict",
    "ChatModel",
    "LLMChunk",
    "LLMError",
    "LLMNotConfigured",
    "LLMOutputInvalid",
    "LLMParameterUnsupported",
    "LLMRequest",
    "LLMRequestRejected",
    "LLMStreamBroken",
    "LLMTimeout",
    "LLMUnavailable",
    "OpenAIChatModel",
    "ReasoningDelta",
    "StreamEnd",
    "TextDelta",
    "ToolCallDelta",
    "UsageReport",
    "collect_text",
    "complete_json",
    "complete_json_with_usage",
]
