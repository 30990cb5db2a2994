"""Scenario: one streamed LLM call through Sage's client, nothing else.

``OpenAIChatModel.stream`` (what the openai SDK client would send, taken
from it once by ``sagents.llm.route``; the raw stream read by
``sagents.llm.wire``) against the same call made with the
SDK's own ``chat.completions.create`` and with a bare httpx2 stream. No
agents, events or store: what the LLM layer alone costs per call, so a
change to the transport shows up here rather than lost in a whole turn.
Calls alternate between the three so machine noise hits each alike.
"""

from __future__ import annotations

import time
from typing import Any

from bench.direct import SYSTEM
from bench.env import BenchEnv
from bench.mock import Workload, answer_text
from bench.result import Metric, ScenarioResult, median, ms
from bench.scenario import BenchError, Scenario
from sagents.llm import LLMRequest, OpenAIChatModel, TextDelta

WORKLOAD = Workload(tokens=50, delay_ms=0)
MESSAGES: list[dict[str, Any]] = [SYSTEM, {"role": "user", "content": "Say fifty words."}]
ROTATIONS = (("sage", "direct", "lean"), ("direct", "lean", "sage"), ("lean", "sage", "direct"))


async def sage_call(model: OpenAIChatModel) -> str:
    request = LLMRequest(role="simple", messages=MESSAGES)
    return "".join([c.text async for c in model.stream(request) if isinstance(c, TextDelta)])


async def run(env: BenchEnv) -> ScenarioResult:
    calls = env.size(300, 4)
    warmup = env.size(30, 1)
    result = ScenarioResult(
        "llm_call",
        TITLE,
        {"calls": calls, "warmup": warmup, "answer_tokens": WORKLOAD.tokens},
    )
    expected = answer_text(WORKLOAD.tokens)
    times: dict[str, list[float]] = {"sage": [], "direct": [], "lean": []}
    model = OpenAIChatModel(env.settings("llm_call", WORKLOAD))
    try:
        async with env.direct() as direct, env.direct(lean=True) as lean:
            clients = {"direct": direct, "lean": lean}
            for i in range(warmup + calls):
                for side in ROTATIONS[i % len(ROTATIONS)]:
                    started = time.perf_counter()
                    if side == "sage":
                        text = await sage_call(model)
                    else:
                        text, _ = await clients[side].stream(WORKLOAD.model(), MESSAGES)
                    elapsed = time.perf_counter() - started
                    if text != expected:
                        raise BenchError(f"the {side} call got a wrong answer")
                    if i >= warmup:
                        times[side].append(elapsed)
    finally:
        await model.aclose()
    result.checks["every call answered correctly"] = True
    sage_s = times["sage"]
    result.add(Metric("p50 per call", ms(median(sage_s)), "ms", ms(median(times["direct"]))))
    result.add(Metric(LEAN, ms(median(sage_s)), "ms", ms(median(times["lean"]))))
    return result


LEAN = "p50 per call, vs lean direct"
TITLE = "One streamed LLM call through Sage's client (50 tokens, no agents, events or store)"
SCENARIO = Scenario("llm_call", TITLE, run)
