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
from typing import Any

from sagents.context.tokens import REPLY_PRIMING, TokenCounters, message_tokens, tools_tokens
from sagents.llm.types import UsageReport

THREAD_ABOVE_BYTES = 64 * 1024
"""Requests larger than this are counted in a worker thread, off the loop."""


def count_usage(
    counters: TokenCounters,
    model: str,
    messages: list[dict[str, Any]],
    tools: list[dict[str, Any]] | None,
    output: list[str],
) -> UsageReport:
    counter = counters.for_model(model)
    prompt = sum(message_tokens(counter, message) for message in messages)
    prompt += tools_tokens(counter, tools) + REPLY_PRIMING
    return UsageReport(model, prompt, counter.count("".join(output)), estimated=True)


async def estimate_usage(
    counters: TokenCounters,
    model: str,
    messages: list[dict[str, Any]],
    tools: list[dict[str, Any]] | None,
    output: list[str],
    request_bytes: int,
) -> UsageReport:
    """``count_usage``, in a thread when the request is large."""
    if request_bytes > THREAD_ABOVE_BYTES:
        return await asyncio.to_thread(count_usage, counters, model, messages, tools, output)
    return count_usage(counters, model, messages, tools, output)
