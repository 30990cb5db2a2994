"""The run log keeps about SAGE_RUN_LOG_MAX_BYTES per run: a resume that
needs a dropped event gets 410 naming what is kept, a later one works, and
the messages endpoint still has the whole answer."""

from __future__ import annotations

import asyncio

import httpx2

from app.sse import frames
from sagents.events import AgentNotice, RunFinished
from sagents.runs.channel import EventChannel
from sagents.testing import Turn
from tests.app.conftest import SIMPLE, StartServer, sse_events

WORDS = 3000  # ~3,000 message.delta events: well over 64 KiB of run log


async def test_a_resume_past_the_run_log_cap_gets_410_and_the_rest_still_works(
    start_server: StartServer,
) -> None:
    text = " ".join(f"w{i}" for i in range(WORDS))
    url = start_server([Turn(text=text)], run_log_max_bytes=65_536)
    async with httpx2.AsyncClient(base_url=url, timeout=30) as http:
        payload = {**SIMPLE, "message": "long", "on_disconnect": "continue"}
        async for started in sse_events(http, "POST", "/api/v1/chat", json=payload):
            sid, rid = started.session_id, started.run_id
            break  # the run goes on without a reader
        for _ in range(400):
            session = (await http.get(f"/api/v1/sessions/{sid}")).json()
            if session.get("status") == "completed":
                break
            await asyncio.sleep(0.05)
        events_url = f"/api/v1/sessions/{sid}/runs/{rid}/events"

        gone = await http.get(events_url)
        [detail] = gone.json()["error"]["details"]
        kept_from = detail["first_kept_seq"]
        rest = [
            e
            async for e in sse_events(
                http, "GET", events_url, headers={"Last-Event-ID": str(kept_from - 1)}
            )
        ]
        too_early = await http.get(events_url, headers={"Last-Event-ID": str(kept_from - 2)})
        messages = (await http.get(f"/api/v1/sessions/{sid}/messages")).json()

    assert gone.status_code == 410
    assert gone.json()["error"]["type"] == "events_dropped"
    assert kept_from > 100
    assert f"Last-Event-ID {kept_from - 1}" in gone.json()["error"]["message"]
    assert too_early.status_code == 410
    assert [e.seq for e in rest] == list(range(kept_from, kept_from + len(rest)))
    assert isinstance(rest[-1], RunFinished) and rest[-1].answer == text
    assert sum(len(e.model_dump_json()) for e in rest) < 65_536  # what was kept
    assert messages[-1]["content"] == text


async def test_a_stream_whose_reader_fell_behind_ends_without_cancelling_the_run() -> None:
    channel = EventChannel(max_bytes=65_536)
    closed: list[bool] = []
    stream = frames(channel.batches(), closed.append)
    channel.publish(AgentNotice(code="n", message="first", seq=1))
    assert b"id: 1" in await anext(stream)
    for seq in range(2, 200):  # the client does not read meanwhile
        channel.publish(AgentNotice(code="n", message="x" * 1000, seq=seq))
    tail = [chunk async for chunk in stream]
    assert tail == [tail[0]] and tail[0].startswith(b": events 2")  # a comment, then the end
    assert closed == [True]  # "completed": on_disconnect=cancel does not fire
