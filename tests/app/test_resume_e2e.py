"""Resuming a dropped stream with Last-Event-ID gives exactly the missed events."""

from __future__ import annotations

import httpx2

from sagents.events import EventBase
from sagents.testing import Turn
from tests.app.conftest import SIMPLE, StartServer, sse_events


async def test_reconnect_gets_exactly_the_missed_events(start_server: StartServer) -> None:
    url = start_server(
        [Turn(text=" ".join(f"t{i}" for i in range(60)), faults={"token_delay_s": 0.005})]
    )
    async with httpx2.AsyncClient(base_url=url, timeout=10) as http:
        first: list[EventBase] = []
        payload = {**SIMPLE, "message": "stream", "on_disconnect": "continue"}
        async for event in sse_events(http, "POST", "/api/v1/chat", json=payload):
            first.append(event)
            if len(first) == 8:
                break
        sid, rid = first[0].session_id, first[0].run_id
        events_url = f"/api/v1/sessions/{sid}/runs/{rid}/events"
        rest = [
            e async for e in sse_events(http, "GET", events_url, headers={"Last-Event-ID": "8"})
        ]
        everything = [e async for e in sse_events(http, "GET", events_url)]

    assert [e.seq for e in first] == list(range(1, 9))
    assert rest[0].seq == 9
    assert [e.seq for e in rest] == list(range(9, 9 + len(rest)))  # no gap, no duplicate
    assert rest[-1].type == "run.finished"
    assert [e.model_dump() for e in first + rest] == [e.model_dump() for e in everything]


async def test_bad_last_event_ids(start_server: StartServer) -> None:
    url = start_server([Turn(text="short answer")])
    async with httpx2.AsyncClient(base_url=url, timeout=10) as http:
        events = [
            e
            async for e in sse_events(
                http, "POST", "/api/v1/chat", json={**SIMPLE, "message": "hi"}
            )
        ]
        sid, rid = events[0].session_id, events[0].run_id
        base = f"/api/v1/sessions/{sid}/runs/{rid}/events"
        for bad, status in [("abc", 400), ("-1", 400), ("99999", 400)]:
            response = await http.get(base, headers={"Last-Event-ID": bad})
            assert response.status_code == status, bad
            assert response.json()["error"]["type"] == "bad_last_event_id"
            assert bad in response.json()["error"]["message"]
        missing = await http.get(f"/api/v1/sessions/{sid}/runs/run_nope/events")
        assert missing.status_code == 404
