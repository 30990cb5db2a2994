"""Untrusted text inside a prompt's frame can never close that frame.

Client context, recalled memories and a conversation transcript are shown to
models inside tags (``<client_context>…</client_context>``) and labelled as
data. A value holding the closing tag would end the frame early, and what
followed it would read as the operator's own instructions. So inside a
frame no ``<`` or ``>`` is left as it came: JSON is written with ``\\u003c``
and ``\\u003e`` escapes (the very same JSON value; a model reads them, and a
parser gives the text back unchanged), plain text with ``&lt;`` and ``&gt;``.
Only the frame's own tags, written here, are real.
"""

from __future__ import annotations

import json
from typing import Any


def framed(tag: str, body: str) -> str:
    """``body`` (already made inert) between ``<tag>`` and ``</tag>``."""
    return f"<{tag}>\n{body}\n</{tag}>"


def inert_json(value: Any) -> str:
    """``value`` as indented JSON in which no ``<``, ``>`` or ``&`` appears."""
    text = json.dumps(value, ensure_ascii=False, indent=1)
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def inert_text(text: str) -> str:
    """``text`` with its angle brackets (and ampersands) as character references."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
