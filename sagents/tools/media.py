"""Images and audio a tool returned: kept as parts next to the result's text.

A tool result is text for the tool message; what a model cannot read as text
(an MCP server's image, audio, binary resource) travels beside it as
``Media`` in a ``RichResult``. The text always describes each part (type and
size), so a model that takes no images, and every later turn, still knows
what came back; a model that takes images also gets them as image parts in
its next request of the run (``sagents/context/media_parts.py``).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Literal

MediaKind = Literal["image", "audio", "binary"]


@dataclass(frozen=True, slots=True)
class Media:
    kind: MediaKind
    mime_type: str
    data: bytes
    label: str = ""
    """Where it came from (a resource URI), for the description."""

    @property
    def size(self) -> int:
        return len(self.data)

    def describe(self) -> str:
        what = {"image": "image", "audio": "audio", "binary": "binary data"}[self.kind]
        source = f" {self.label}" if self.label else ""
        return f"[{what}{source}: {self.mime_type}, {self.size:,} bytes]"

    def data_url(self) -> str:
        return f"data:{self.mime_type};base64,{base64.b64encode(self.data).decode()}"

    @classmethod
    def from_base64(
        cls, kind: MediaKind, mime_type: str, data: str, label: str = ""
    ) -> Media | str:
        """The decoded part, or a description of why it could not be decoded."""
        try:
            raw = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            return f"[{kind} {mime_type}{' ' + label if label else ''}: not valid base64, dropped]"
        return cls(kind, mime_type or "application/octet-stream", raw, label)


@dataclass(frozen=True, slots=True)
class RichResult:
    """A tool's return value: the text for the tool message and its media."""

    text: str
    media: tuple[Media, ...] = field(default_factory=tuple)
