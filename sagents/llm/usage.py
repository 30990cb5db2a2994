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
from sagents.llm.types import UsageReport

THREAD_ABOVE_BYTES = 64 * 1024
"""Requests larger than this are counted in a worker thread, off the loop."""

SAMPLE_CHARS = 256 * 1024
"""How much of the output is kept for counting. A model may stream far more
(reasoning is read to its end past the display cap: 100 MB in the caps test),
and holding it all only to count it made memory grow with the answer; past
the sample, tokens are the sample's count scaled by length."""


class OutputSample:
    """The start of a call's output (text, reasoning, tool arguments) and its
    full length: bounded memory, whatever the model sends."""

    def __init__(self, limit: int = SAMPLE_CHARS) -> None:
        self._limit = limit
        self.parts: list[str] = []
        self.kept = 0
        self.total = 0

    def add(self, text: str) -> None:
        self.total += len(text)
        room = self._limit - self.kept
        if room > 0:
            piece = text[:room]
            self.parts.append(piece)
            self.kept += len(piece)

    def tokens(self, count: Callable[[str], int]) -> int:
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
    if request_bytes > THREAD_ABOVE_BYTES or output.kept > THREAD_ABOVE_BYTES:
        return await asyncio.to_thread(count_usage, counters, model, messages, tools, output)
    return count_usage(counters, model, messages, tools, output)
