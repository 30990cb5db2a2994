"""Between MCP's shapes and ours: tool names, schemas, call results, resources
and prompts."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import mcp_types
import pydantic_core

from sagents.tools.media import Media, MediaKind, RichResult

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


def call_result(server: str, tool: str, result: mcp_types.CallToolResult) -> RichResult:
    """The call's content as tool-message text and media; raises on ``isError``.

    Text blocks are joined; an image or audio block becomes a ``Media`` part
    (described in the text: type and size); an embedded resource keeps its
    text (under its URI) or becomes a part when it is binary; a resource
    link is named with how to read it. A result with structured content but
    no text is rendered as JSON.
    """
    texts, media = _blocks(result.content)
    text = "\n".join(part for part in texts if part)
    if not text and result.structured_content is not None:
        text = pydantic_core.to_json(result.structured_content, fallback=str).decode()
    if result.is_error:
        raise McpToolError(f"MCP server {server!r}, tool {tool!r}: {text or 'failed'}")
    return RichResult(text, tuple(media))


def resource_result(result: mcp_types.ReadResourceResult) -> RichResult:
    """A read resource's contents: text as is (under its URI when several)."""
    texts: list[str] = []
    media: list[Media] = []
    several = len(result.contents) > 1
    for contents in result.contents:
        text, part = _contents(contents, header=several)
        texts.append(text)
        if part is not None:
            media.append(part)
    return RichResult("\n".join(texts) or "(empty resource)", tuple(media))


def prompt_result(result: mcp_types.GetPromptResult) -> RichResult:
    """A prompt's messages as ``[role] text`` paragraphs, media beside them."""
    paragraphs: list[str] = []
    media: list[Media] = []
    if result.description:
        paragraphs.append(f"({result.description})")
    for message in result.messages:
        texts, parts = _blocks([message.content])
        paragraphs.append(f"[{message.role}] " + "\n".join(texts))
        media += parts
    return RichResult("\n\n".join(paragraphs), tuple(media))


def _blocks(blocks: Sequence[Any]) -> tuple[list[str], list[Media]]:
    texts: list[str] = []
    media: list[Media] = []
    for block in blocks:
        part: Media | str | None = None
        if isinstance(block, mcp_types.TextContent):
            texts.append(block.text)
            continue
        if isinstance(block, mcp_types.ImageContent):
            part = Media.from_base64("image", block.mime_type, block.data)
        elif isinstance(block, mcp_types.AudioContent):
            part = Media.from_base64("audio", block.mime_type, block.data)
        elif isinstance(block, mcp_types.EmbeddedResource):
            text, part = _contents(block.resource, header=True)
            texts.append(text)
            if part is not None:
                media.append(part)
            continue
        elif isinstance(block, mcp_types.ResourceLink):
            about = " — ".join(x for x in (block.name, block.description) if x)
            texts.append(
                f"[resource link: {block.uri}{' (' + about + ')' if about else ''}; "
                "read it with mcp_read_resource]"
            )
            continue
        else:
            texts.append(f"[{getattr(block, 'type', 'content')}]")
            continue
        if isinstance(part, str):
            texts.append(part)
        else:
            texts.append(part.describe())
            media.append(part)
    return texts, media


def _contents(contents: Any, *, header: bool) -> tuple[str, Media | None]:
    """One resource's contents: (text, None) or (its description, the part)."""
    uri = str(contents.uri)
    mime = contents.mime_type or ""
    if isinstance(contents, mcp_types.TextResourceContents):
        if not header:
            return contents.text, None
        return f"[resource {uri}{' (' + mime + ')' if mime else ''}]\n{contents.text}", None
    kind: MediaKind = (
        "image" if mime.startswith("image/") else "audio" if mime.startswith("audio/") else "binary"
    )
    part = Media.from_base64(kind, mime, contents.blob, label=uri)
    if isinstance(part, str):
        return part, None
    return part.describe(), part
