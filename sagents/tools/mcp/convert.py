"""Between MCP's shapes and ours: tool names, schemas and call results."""

from __future__ import annotations

import re
from typing import Any

import mcp_types
import pydantic_core

INVALID_NAME_CHARS = re.compile(r"[^A-Za-z0-9_-]")


class McpToolError(RuntimeError):
    """The server ran the call and reported a failure (``isError``, or a
    protocol error such as an unknown tool). The message is the server's."""


def tool_name(mcp_name: str) -> str | None:
    """The name the model sees for an MCP tool, or None if nothing is left.

    MCP allows dots and slashes (``files.read``) and 128 characters; the
    OpenAI function-name rule does not. Invalid characters become ``_`` and
    the name is cut to 64, so ``files.read`` is offered as ``files_read`` and
    the call goes back to the server under its real name.
    """
    cleaned = INVALID_NAME_CHARS.sub("_", mcp_name)[:64]
    return cleaned if cleaned.strip("_") else None


def parameters(tool: mcp_types.Tool) -> dict[str, Any] | None:
    """The tool's input schema as a function-calling ``parameters`` object.

    None when it is not an object schema (allowed by newer MCP revisions,
    not by function calling); such a tool is skipped and the skip reported.
    """
    schema = dict(tool.input_schema or {})
    schema.setdefault("type", "object")
    if schema.get("type") != "object":
        return None
    schema.setdefault("properties", {})
    return schema


def description(tool: mcp_types.Tool) -> str:
    title = tool.title or (tool.annotations.title if tool.annotations else None)
    text = (tool.description or "").strip()
    if title and title not in text:
        return f"{title}. {text}".strip() if text else title
    return text


def result_text(server: str, tool: str, result: mcp_types.CallToolResult) -> str:
    """The call's content as tool-message text; raises on ``isError``.

    Text blocks are joined; other blocks are described rather than inlined
    (a base64 image would only cost tokens the model cannot read). A result
    with structured content but no text blocks is rendered as JSON.
    """
    parts = [_block_text(block) for block in result.content]
    text = "\n".join(part for part in parts if part)
    if not text and result.structured_content is not None:
        text = pydantic_core.to_json(result.structured_content, fallback=str).decode()
    if result.is_error:
        raise McpToolError(f"MCP server {server!r}, tool {tool!r}: {text or 'failed'}")
    return text


def _block_text(block: Any) -> str:
    if isinstance(block, mcp_types.TextContent):
        return block.text
    if isinstance(block, mcp_types.ImageContent):
        return f"[image: {block.mime_type}]"
    if isinstance(block, mcp_types.AudioContent):
        return f"[audio: {block.mime_type}]"
    if isinstance(block, mcp_types.EmbeddedResource):
        resource = block.resource
        if isinstance(resource, mcp_types.TextResourceContents):
            return resource.text
        return f"[resource: {resource.uri}]"
    if isinstance(block, mcp_types.ResourceLink):
        return f"[resource link: {block.uri}]"
    return f"[{getattr(block, 'type', 'content')}]"
