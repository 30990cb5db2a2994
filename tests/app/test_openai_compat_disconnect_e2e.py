"""The OpenAI-compatible facade when its client hangs up: the run stops
(its LLM stream is dropped), a throwaway session is deleted, a stored
session's run is cancelled with what it said kept."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx2
import openai
import pytest

from sagents.testing import MockLLMServer, Turn
from tests.app.conftest import StartServer
from tests.app.test_openai_compat_e2e import ROUTE_SIMPLE, sessions_of
from tests.conftest import CANCEL_BOUND_S

SLOW_ANSWER = Turn(role="simple", text="tick " * 500, faults={"token_delay_s": 0.02})
"""10 s of streaming: a cancel that works ends it long before."""


async def wait_until(check: Any, what: str) -> None:
    deadline = time.monotonic() + CANCEL_BOUND_S
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {CANCEL_BOUND_S} s: {what}")
        await asyncio.sleep(0.02)


async def test_disconnect_mid_stream_cancels_the_run(
    start_server: StartServer, mock_llm: MockLLMServer
) -> None:
    url = start_server([ROUTE_SIMPLE, SLOW_ANSWER])
    async with openai.AsyncOpenAI(base_url=f"{url}/v1", api_key="x") as client:
        stream = await client.chat.completions.create(
            model="sage", messages=[{"role": "user", "content": "talk"}], stream=True
        )
        seen = ""
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                seen += chunk.choices[0].delta.content
                if seen.count("tick") >= 3:
                    break
        await stream.close()  # the client hangs up mid-answer

    async def llm_call_dropped() -> bool:
        return mock_llm.disconnects >= 1

    async def session_deleted() -> bool:
        return await asyncio.to_thread(sessions_of, url) == []

    # The run stopped (its LLM stream was dropped) and its throwaway session is gone.
    await wait_until(llm_call_dropped, "the LLM call was dropped")
    await wait_until(session_deleted, "the session was deleted")


@pytest.mark.parametrize("stream", [True, False])
async def test_disconnect_cancels_a_stored_sessions_run(
    start_server: StartServer, stream: bool
) -> None:
    url = start_server([Turn(role="simple", text="ok"), ROUTE_SIMPLE, SLOW_ANSWER])
    async with httpx2.AsyncClient(base_url=url, timeout=10) as http:
        first = await http.post(
            "/api/v1/chat", json={"message": "hi", "deep_thinking": False, "multi_agent": False}
        )
        sid = first.headers["x-session-id"]
        body = {
            "model": "sage",
            "messages": [{"role": "user", "content": "talk"}],
            "stream": stream,
        }
        headers = {"X-Sage-Session-Id": sid}
        if stream:
            async with http.stream(
                "POST", "/v1/chat/completions", json=body, headers=headers
            ) as response:
                async for line in response.aiter_lines():
                    if "tick" in line:
                        break  # hang up once the answer is streaming
        else:
            with pytest.raises(httpx2.ReadTimeout):  # gives up waiting for the whole answer
                await http.post(
                    "/v1/chat/completions",
                    json=body,
                    headers=headers,
                    timeout=httpx2.Timeout(10, read=1.0),
                )

        async def run_cancelled() -> bool:
            runs = (await http.get(f"/api/v1/sessions/{sid}")).json()["runs"]
            return bool(len(runs) == 2 and runs[1]["status"] == "cancelled")

        await wait_until(run_cancelled, "the run was cancelled")
        assert len((await http.get(f"/api/v1/sessions/{sid}/messages")).json()) >= 3  # kept
