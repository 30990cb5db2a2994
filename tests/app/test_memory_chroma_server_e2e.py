"""Two Sage servers on one Chroma server (``SAGE_CHROMA_URL``): a memory
extracted from a chat on A is listed, searched and forgotten through B's
HTTP API, and the forget is seen on A; neither keeps an embedded store."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx2

from tests.app.conftest import StartServer, chat
from tests.app.test_memory_e2e import LEARN, wait_for_memories


async def test_memories_live_on_the_chroma_server(
    tmp_path: Path, start_server: StartServer, chroma_url: str
) -> None:
    user = f"erin-{uuid.uuid4().hex[:8]}"  # the run's one server is shared by its tests
    keys = {"key-erin": user}
    a_url = start_server(LEARN, api_keys=keys, memory_extract=True, chroma_url=chroma_url)
    b_url = start_server(api_keys=keys, chroma_url=chroma_url)
    auth = {"Authorization": "Bearer key-erin"}
    a = httpx2.AsyncClient(base_url=a_url, timeout=10, headers=auth)
    b = httpx2.AsyncClient(base_url=b_url, timeout=10, headers=auth)
    async with a, b:
        events = await chat(a, message="Please use metric units.")
        assert events[-1].type == "run.finished"
        [learned] = await wait_for_memories(a)

        assert [m["id"] for m in (await b.get("/api/v1/memory")).json()] == [learned["id"]]
        found = await b.post("/api/v1/memory/search", json={"query": "units", "k": 3})
        assert [h["id"] for h in found.json()] == [learned["id"]]
        assert (await b.delete(f"/api/v1/memory/{learned['id']}")).status_code == 204
        assert (await a.get("/api/v1/memory")).json() == []
    embedded = [tmp_path / f"data{i}" / "chroma" for i in (0, 1)]
    assert not any(p.exists() for p in embedded)  # no embedded store beside the server
