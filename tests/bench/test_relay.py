"""The lean relay baseline (``bench.relay``) runs in its own process as the
bench starts it and turns bad request bodies into a 400 with a JSON body
naming what was wrong (its relaying is exercised by the smoke test's
``tool_turn_http`` and ``streaming_http`` against the bench mock)."""

from __future__ import annotations

import httpx2

from bench.procs import Child


async def test_bad_bodies_get_a_400_naming_the_problem() -> None:
    env = {"SAGE_LLM_BASE_URL": "http://127.0.0.1:9/v1", "SAGE_LLM_MODEL": "bench"}
    with Child("bench.relay", "URL", env) as relay:
        url = await relay.start("/healthz")
        async with httpx2.AsyncClient(base_url=url, timeout=10) as http:
            not_json = await http.post("/api/v1/chat", content=b"{nope")
            no_message = await http.post("/api/v1/chat", json={"message": 3})
    assert not_json.status_code == 400 and "JSON" in not_json.json()["error"]
    assert no_message.status_code == 400 and "message" in no_message.json()["error"]
