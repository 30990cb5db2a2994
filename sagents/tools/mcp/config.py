"""``mcp_setting.json``: the MCP servers to connect, in the Claude Desktop format.

``{"mcpServers": {"<name>": {...}}}`` where an entry is either a local command
(``command``, ``args``, ``env``, ``cwd``) spoken to over stdio, or a remote
server (``url``, ``transport``, ``headers``), and may be ``disabled`` and
give a tool-name ``prefix`` (Sage's own key). Files
written for Claude Desktop, Cursor or Cline load unchanged: keys we do not use
(``autoApprove``, ``alwaysAllow``, ``timeout``...) are ignored in the file,
and Cursor's ``type`` is accepted as another name for ``transport``. The HTTP
API takes the same fields but refuses unknown ones, since there a typo is a
client error worth reporting.

One broken entry never stops the others: ``load_mcp_settings`` returns the
valid entries and, separately, each broken one's name and reason.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from sagents.wire_types import Utf8Str

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
"""Server names appear in URLs, log file names and tool listings."""
PREFIX_PATTERN = re.compile(r"^[A-Za-z0-9_-]{0,32}$")
"""Prefixes become part of tool names, which allow only these characters."""


class Transport(StrEnum):
    STDIO = "stdio"
    SSE = "sse"
    STREAMABLE_HTTP = "streamable_http"


_TRANSPORT_SPELLINGS = {
    "stdio": Transport.STDIO,
    "sse": Transport.SSE,
    "streamable_http": Transport.STREAMABLE_HTTP,
    "streamable-http": Transport.STREAMABLE_HTTP,
    "streamablehttp": Transport.STREAMABLE_HTTP,
    "http": Transport.STREAMABLE_HTTP,
}


class McpServerEntry(BaseModel):
    """One ``mcpServers`` entry, validated and normalised.

    Flat rather than a union of two models: a union reports every failure
    twice (once per branch), which hides the one field that is actually wrong.
    After validation ``transport`` is always set.
    """

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    command: Utf8Str | None = None
    args: list[Utf8Str] = Field(default_factory=list)
    env: dict[Utf8Str, Utf8Str] = Field(default_factory=dict)
    cwd: Utf8Str | None = None
    url: Utf8Str | None = None
    transport: Transport | None = Field(
        default=None, validation_alias=AliasChoices("transport", "type")
    )
    headers: dict[Utf8Str, Utf8Str] = Field(default_factory=dict)
    disabled: bool = False
    prefix: str | None = Field(
        default=None,
        description="Put before each of the server's tool names (<prefix>_<tool>), so "
        "servers offering the same names coexist; '' for none. Default: the "
        "SAGE_MCP_TOOL_PREFIX setting.",
        json_schema_extra={"pattern": "^[A-Za-z0-9_-]{0,32}$"},
    )
    requires_approval: StrictBool | list[Utf8Str] = Field(
        default=False,
        description="Calls wait for a person's approval: true for every tool of the "
        "server, or a list of the server's own tool names (before any prefix). A Sage "
        "key: other MCP clients ignore it.",
    )

    def approval_needed(self, tool: str) -> bool:
        """Whether calls of the server's tool ``tool`` (its own name) need approval."""
        if isinstance(self.requires_approval, bool):
            return self.requires_approval
        return tool in self.requires_approval

    @field_validator("command")
    @classmethod
    def _command_not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must not be empty")
        return value

    @field_validator("prefix")
    @classmethod
    def _prefix_chars(cls, value: str | None) -> str | None:
        if value is not None and not PREFIX_PATTERN.fullmatch(value):
            raise ValueError("use at most 32 letters, digits, '_' or '-'")
        return value

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an http:// or https:// URL")
        return value

    @field_validator("transport", mode="before")
    @classmethod
    def _transport_spelling(cls, value: Any) -> Any:
        if isinstance(value, str):
            key = value.strip().lower()
            if key not in _TRANSPORT_SPELLINGS:
                raise ValueError("must be 'streamable_http', 'sse' or 'stdio'")
            return _TRANSPORT_SPELLINGS[key]
        return value

    @model_validator(mode="after")
    def _one_kind(self) -> McpServerEntry:
        if self.command is None and self.url is None:
            _fail("command", "either 'command' (a local server) or 'url' (a remote one) is needed")
        if self.command is not None and self.url is not None:
            _fail("url", "give 'command' or 'url', not both")
        if self.command is not None:
            if self.transport not in (None, Transport.STDIO):
                _fail("transport", "a 'command' server speaks stdio")
            if self.headers:
                _fail("headers", "headers apply to 'url' servers only")
            object.__setattr__(self, "transport", Transport.STDIO)
        else:
            if self.transport is Transport.STDIO:
                _fail("transport", "a 'url' server speaks 'streamable_http' or 'sse'")
            for name in ("args", "env", "cwd"):
                if getattr(self, name):
                    _fail(name, f"'{name}' applies to 'command' servers only")
            if self.transport is None:
                # The old SSE transport conventionally lives at /sse; anything
                # else gets the current standard.
                path = urlsplit(self.url or "").path.rstrip("/")
                sse = path.endswith("/sse")
                object.__setattr__(
                    self, "transport", Transport.SSE if sse else Transport.STREAMABLE_HTTP
                )
        return self

    @property
    def kind(self) -> Transport:
        assert self.transport is not None  # set by the validator
        return self.transport

    def to_json(self) -> dict[str, Any]:
        """The entry as it would be written in ``mcp_setting.json``."""
        return self.model_dump(mode="json", exclude_defaults=True, exclude={"transport"}) | (
            {} if self.kind is Transport.STDIO else {"transport": self.kind.value}
        )


class McpServerRegistration(McpServerEntry):
    """``POST /api/v1/mcp/servers``: a name plus one entry's fields, nothing else."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: str = Field(json_schema_extra={"pattern": NAME_PATTERN.pattern})

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        if not NAME_PATTERN.fullmatch(value):
            raise ValueError(
                "use 1-64 letters, digits, '_', '-' or '.', starting with a letter or digit"
            )
        return value

    def entry(self) -> McpServerEntry:
        return McpServerEntry.model_validate(self.model_dump(exclude={"name"}))


def _fail(field_name: str, message: str) -> None:
    # The field travels in the error's context, so an API error can name it
    # even though the check spans several fields.
    raise PydanticCustomError(
        "mcp_entry", "{field}: {message}", {"field": field_name, "message": message}
    )


def error_fields(error: ValidationError) -> list[tuple[str, str]]:
    """``(field, problem)`` for each error, naming the field for cross-field checks too."""
    out: list[tuple[str, str]] = []
    for item in error.errors(include_url=False, include_input=False):
        ctx = item.get("ctx") or {}
        location = ".".join(str(part) for part in item["loc"])
        if item["type"] == "mcp_entry":
            out.append((location or str(ctx.get("field", "")), str(ctx.get("message", ""))))
        else:
            message = item["msg"].removeprefix("Value error, ")
            out.append((location or "(entry)", message))
    return out


def describe(error: ValidationError) -> str:
    return "; ".join(f"{where}: {problem}" for where, problem in error_fields(error))


@dataclass
class LoadedSettings:
    """What a settings file yielded: good entries, broken ones, a file-level problem."""

    servers: dict[str, McpServerEntry] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    file_error: str | None = None


def parse_mcp_settings(data: Any, *, strict: bool = False) -> LoadedSettings:
    """Validate a decoded ``{"mcpServers": {...}}`` document entry by entry.

    ``strict`` refuses unknown keys in entries (the persisted registry, which
    only Sage writes); the user's file is lenient.
    """
    loaded = LoadedSettings()
    if not isinstance(data, dict):
        loaded.file_error = "the top level must be a JSON object with an 'mcpServers' object"
        return loaded
    servers = data.get("mcpServers", {})
    if not isinstance(servers, dict):
        loaded.file_error = "'mcpServers' must be an object mapping names to servers"
        return loaded
    model = McpServerRegistration if strict else McpServerEntry
    for name, raw in servers.items():
        if not NAME_PATTERN.fullmatch(name):
            loaded.errors[name[:80]] = (
                "invalid name: use 1-64 letters, digits, '_', '-' or '.', "
                "starting with a letter or digit"
            )
            continue
        if not isinstance(raw, dict):
            loaded.errors[name] = "the entry must be a JSON object"
            continue
        try:
            validated = model.model_validate({**raw, "name": name} if strict else raw)
        except ValidationError as error:
            loaded.errors[name] = describe(error)
            continue
        entry = validated.entry() if isinstance(validated, McpServerRegistration) else validated
        loaded.servers[name] = entry
    return loaded


def load_mcp_settings(path: Path) -> LoadedSettings:
    """Read and validate a settings file; a missing file is simply empty.

    Blocking (file I/O): call it through ``asyncio.to_thread`` on the loop.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return LoadedSettings()
    except OSError as error:
        return LoadedSettings(file_error=f"cannot read {path}: {error.strerror or error}")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        return LoadedSettings(file_error=f"{path} is not valid JSON: {error}")
    return parse_mcp_settings(data)
