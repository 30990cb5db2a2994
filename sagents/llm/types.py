"""What flows between Sage and a language model, independent of any provider.

A model is anything that implements ``ChatModel``: the OpenAI-compatible client
in ``sagents.llm.openai_model`` and ``sagents.testing.ScriptedLLM`` both do.
Chunks are plain slotted dataclasses because a run creates one per streamed
token; they never cross a process boundary, so pydantic validation would be
pure overhead here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel

from sagents.llm.capabilities import Capabilities

ChatMessageDict = dict[str, Any]
"""One message in the OpenAI chat format (``role``, ``content``, ``tool_calls``…)."""

T = TypeVar("T", bound=BaseModel)


@dataclass(slots=True)
class TextDelta:
    text: str


@dataclass(slots=True)
class ReasoningDelta:
    """A provider's ``reasoning_content`` (DeepSeek, vLLM reasoning parsers, …)."""

    text: str


@dataclass(slots=True)
class ToolCallDelta:
    """A fragment of one tool call; ``index`` ties the fragments of a call together.

    ``id`` and ``name`` arrive on the first fragment of a call (and may be
    ``None`` on the rest); ``arguments`` is the next slice of the JSON text.
    """

    index: int
    id: str | None = None
    name: str | None = None
    arguments: str = ""


@dataclass(slots=True)
class UsageReport:
    model: str
    input_tokens: int
    output_tokens: int
    estimated: bool = False
    """Counted by Sage because the provider reported no usage."""


@dataclass(slots=True)
class StreamEnd:
    finish_reason: str | None
    model: str


LLMChunk = TextDelta | ReasoningDelta | ToolCallDelta | UsageReport | StreamEnd


@dataclass(slots=True)
class LLMRequest:
    """One chat completion request.

    ``role`` is the agent role (``simple``, ``router``, ``judge``…); the model
    maps it to a concrete model name, so agents never name models themselves.
    """

    role: str
    messages: list[ChatMessageDict]
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | None = None
    response_format: dict[str, Any] | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class ChatModel(Protocol):
    """The interface every agent uses to talk to an LLM."""

    capabilities: Capabilities
    """What this client learned about its endpoint's models while running
    (structured-output mode, refused parameters). It lives on the client
    (not in a global) so two runtimes never share it."""

    def model_for(self, role: str) -> str:
        """The concrete model name used for ``role``."""
        ...

    def stream(self, request: LLMRequest) -> AsyncIterator[LLMChunk]:
        """Stream one completion. Ends with a ``StreamEnd`` chunk.

        Raises an ``LLMError`` subclass on failure. Cancelling the consuming
        task closes the underlying HTTP stream.
        """
        ...

    async def aclose(self) -> None: ...
