"""Images a tool returned, shown to a model that takes images.

A tool message is text (OpenAI-compatible servers take no images in one),
so the images of a round of tool calls follow the round's results as one
user message with ``image_url`` parts, in the next requests of the same run,
when the acting model is listed in ``SAGE_LLM_IMAGE_MODELS``. Later runs
have the text that describes each image (type and size), not the image:
the media are held in memory for the run only. Bounded: at most
``MAX_IMAGES`` images per request (the latest), each at most
``MAX_IMAGE_BYTES``; images are not counted in the token budget.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sagents.tools.media import Media

Message = dict[str, Any]
MAX_IMAGES = 8
MAX_IMAGE_BYTES = 5 * 1024 * 1024


def accepts_images(model: str, image_models: Iterable[str]) -> bool:
    """Whether ``model`` is listed (by its name or a prefix of it)."""
    return any(model == name or model.startswith(name) for name in image_models)


def with_media_parts(
    messages: list[Message], media: Mapping[str, tuple[str, tuple[Media, ...]]]
) -> list[Message]:
    """``messages`` with a user message of image parts after each round of
    tool results that returned images (``media``: call id → tool, media)."""
    wanted = _latest_images(messages, media)
    if not wanted:
        return messages
    out: list[Message] = []
    pending: list[tuple[str, str, Media]] = []
    for index, message in enumerate(messages):
        out.append(message)
        if message.get("role") != "tool":
            continue
        call_id = message.get("tool_call_id")
        pending += [(call_id, tool, image) for c, tool, image in wanted if c == call_id]
        following = messages[index + 1] if index + 1 < len(messages) else None
        if pending and (following is None or following.get("role") != "tool"):
            out.append(_images_message(pending))
            pending = []
    return out


def _latest_images(
    messages: list[Message], media: Mapping[str, tuple[str, tuple[Media, ...]]]
) -> list[tuple[str, str, Media]]:
    """(call id, tool, image) of the sent tool results, the newest ``MAX_IMAGES``."""
    found = []
    for message in messages:
        call_id = message.get("tool_call_id")
        if message.get("role") != "tool" or not isinstance(call_id, str) or call_id not in media:
            continue
        tool, parts = media[call_id]
        found += [
            (call_id, tool, part)
            for part in parts
            if part.kind == "image" and part.size <= MAX_IMAGE_BYTES
        ]
    return found[-MAX_IMAGES:]


def _images_message(images: list[tuple[str, str, Media]]) -> Message:
    calls = ", ".join(dict.fromkeys(f"{tool} ({call_id})" for call_id, tool, _ in images))
    parts: list[dict[str, Any]] = [
        {"type": "text", "text": f"The images returned by the tool call(s) above: {calls}."}
    ]
    parts += [{"type": "image_url", "image_url": {"url": m.data_url()}} for _, _, m in images]
    return {"role": "user", "content": parts}
