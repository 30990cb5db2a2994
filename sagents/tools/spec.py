"""What a tool is, independent of where it comes from.

A ``ToolSpec`` is the one shape every tool takes once registered: local Python
functions (via ``@tool``), built-in MCP servers and user-configured MCP servers
all reduce to a name, a JSON schema and an ``invoke`` coroutine. The manager and
the proxy only ever see this shape, so adding a new source means producing
ToolSpecs, nothing more.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

# OpenAI-compatible servers reject any other function name with a 400 on the
# *whole* request, so a bad name is refused when the spec is built, not when a
# run is already streaming.
_NAME_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class ToolSource(StrEnum):
    """Where a tool came from; decides which one wins when two share a name."""

    BUILTIN = "builtin"
    LOCAL = "local"
    BUILTIN_MCP = "builtin_mcp"
    AGENT = "agent"
    MCP = "mcp"

    @property
    def precedence(self) -> int:
        """Higher wins a name clash.

        MCP servers the user configured beat agents registered as tools
        (``AgentToolSpec``), which beat the MCP servers Sage ships, which beat
        in-process functions, which beat Sage's built-in tools
        (``execute_python``, ``read_file``…): the most specific, most
        deliberate choice wins.
        """
        match self:
            case ToolSource.MCP:
                return 3
            case ToolSource.AGENT:
                return 2
            case ToolSource.BUILTIN_MCP:
                return 1
            case ToolSource.LOCAL:
                return 0
            case ToolSource.BUILTIN:
                return -1


class ToolArgumentError(ValueError):
    """The arguments do not fit the tool's schema.

    ``invoke`` raises this (rather than letting a validation error escape) so
    the proxy can tell "the model sent bad arguments" apart from "the tool ran
    and failed", even when the tool itself validates data internally. The
    message is written for the model to read and correct its call.
    """


@dataclass(frozen=True, eq=False)
class ToolSpec:
    """A callable tool as the LLM sees it, plus how to run it.

    Frozen because the manager and every session proxy share one instance; use
    ``dataclasses.replace`` to derive a variant (for example another source).
    """

    name: str
    description: str
    parameters: dict[str, Any]
    """JSON schema of the arguments; always an object schema."""
    source: ToolSource
    invoke: Callable[[dict[str, Any]], Awaitable[Any]]
    """Runs the tool with already JSON-decoded arguments and returns the raw
    result; the proxy turns it into text. Raises ``ToolArgumentError`` for
    arguments that do not fit ``parameters``."""
    timeout_s: float | None = None
    """Upper bound for one call; the caller's timeout applies if smaller."""
    max_result_chars: int | None = None
    """Longer result text is cut, so one chatty tool cannot flood the context.
    None means the manager's default cap (``Settings.tool_max_result_chars``)."""
    origin: str | None = None
    """Where within its source the tool lives: the MCP server's name for MCP
    tools, None for local functions. Shown by ``GET /api/v1/tools``."""
    requires_approval: bool = False
    """A person must approve each call before it runs (``approval.requested``;
    ``sagents.runs.approvals``): for tools whose effects cannot be taken back
    (sending, paying, deleting)."""
    _openai: dict[str, Any] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not _NAME_PATTERN.fullmatch(self.name):
            raise ValueError(
                f"invalid tool name {self.name!r}: use 1-64 letters, digits, '_' or '-'"
            )
        if self.parameters.get("type") != "object":
            raise ValueError(f"tool {self.name!r}: parameters must be a JSON object schema")
        if self.timeout_s is not None and self.timeout_s <= 0:
            raise ValueError(f"tool {self.name!r}: timeout_s must be positive")
        if self.max_result_chars is not None and self.max_result_chars <= 0:
            raise ValueError(f"tool {self.name!r}: max_result_chars must be positive")
        function = {
            "name": self.name,
            "description": self.description,
            "parameters": self.parameters,
        }
        object.__setattr__(self, "_openai", {"type": "function", "function": function})

    def openai_tool(self) -> dict[str, Any]:
        """The entry for the ``tools`` list of a chat completion request.

        Built once: it is requested on every LLM call. The dict is shared, so
        callers must not mutate it.
        """
        return self._openai
