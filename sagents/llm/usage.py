"""Token usage when the provider reports none.

Some servers never report usage on a stream (llama-cpp-python's,
https://github.com/abetlen/llama-cpp-python/issues/1082), others only when
asked. When a stream ends without a report, Sage counts the request and the
answer with the tokenizer it ships (``sagents.context.tokens``: exact for
OpenAI models, a deliberate over-estimate for others) and marks the report
``estimated``, so runs never show "0 tokens" and the totals say what they are.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from sagents.context.tokens import REPLY_PRIMING, TokenCounters, message_tokens, tools_tokens
from sagents.llm.types import LLMChunk, ReasoningDelta, TextDelta, ToolCallDelta, UsageReport

THREAD_ABOVE_BYTES = 64 * 1024
"""Requests larger than this are counted in a worker thread, off the loop."""

SAMPLE_CHARS = 256 * 1024
"""How much of the output is kept for counting. A model may stream far more
(reasoning is read to its end past the display cap: 100 MB in the caps test),
and holding it all only to count it made memory grow with the answer; past
the sample, tokens are the sample's count scaled by length."""

HELD_BATCHES = 32
"""Batches of parts held as they came before they are sampled: most
providers report usage at the end of the stream, and then the sample is never
needed. Each batch is one network read's worth, so what is held stays small."""


class OutputSample:
    """The start of a call's output (text, reasoning, tool arguments) and its
    full length: bounded memory, whatever the model sends.

    The stream hands over whole batches of parts (``hold``: one list append
    per network read) and they are only taken apart when the sample is needed
    or too many are held; sampling each part as it streamed was work on every
    token for a count a provider that reports usage never needs."""

    def __init__(self, limit: int = SAMPLE_CHARS) -> None:
        self._limit = limit
        self.parts: list[str] = []
        self.kept = 0
        self.total = 0
        self._held: list[list[LLMChunk]] = []

    def hold(self, parts: list[LLMChunk]) -> None:
        """Keep a batch of streamed parts for sampling later (``settle``)."""
        held = self._held
        held.append(parts)
        if len(held) >= HELD_BATCHES:
            self.settle()

    def settle(self) -> None:
        """Sample the held batches' text, reasoning and tool arguments."""
        held, self._held = self._held, []
        for parts in held:
            for part in parts:
                kind = type(part)
                if kind is TextDelta or kind is ReasoningDelta:
                    self.add(part.text)  # type: ignore[union-attr]
                elif kind is ToolCallDelta:
                    self.add(part.arguments)  # type: ignore[union-attr]

    def add(self, text: str) -> None:
        self.total += len(text)
        room = self._limit - self.kept
        if room > 0:
            piece = text[:room]
            self.parts.append(piece)
            self.kept += len(piece)

    def tokens(self, count: Callable[[str], int]) -> int:
        self.settle()
        sampled = count("".join(self.parts))
        if self.total <= self.kept or self.kept == 0:
            return sampled
        return round(sampled * self.total / self.kept)


def count_usage(
    counters: TokenCounters,
    model: str,
    messages: list[dict[str, Any]],
    tools: list[dict[str, Any]] | None,
    output: OutputSample,
) -> UsageReport:
    counter = counters.for_model(model)
    prompt = sum(message_tokens(counter, message) for message in messages)
    prompt += tools_tokens(counter, tools) + REPLY_PRIMING
    return UsageReport(model, prompt, output.tokens(counter.count), estimated=True)


async def estimate_usage(
    counters: TokenCounters,
    model: str,
    messages: list[dict[str, Any]],
    tools: list[dict[str, Any]] | None,
    output: OutputSample,
    request_bytes: int,
) -> UsageReport:
    """``count_usage``, in a thread when the request or the output is large."""
    output.settle()
    if request_bytes > THREAD_ABOVE_BYTES or output.kept > THREAD_ABOVE_BYTES:
        return await asyncio.to_thread(count_usage, counters, model, messages, tools, output)
    return count_usage(counters, model, messages, tools, output)
