"""Two Sage servers on one Chroma server (``SAGE_CHROMA_URL``): a memory
extracted from a chat on A is listed, searched and forgotten through B's
HTTP API, and the forget is seen on A; neither keeps an embedded store. A
Chroma server that goes away makes the memory API answer 503."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx2

from sagents.testing import Turn
from tests.app.conftest import StartServer, chat
from tests.app.server_process import free_port
from tests.app.test_memory_e2e import LEARN, wait_for_memories
from tests.chroma_server import start_chroma, wait_heartbeat


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


async def test_a_chroma_server_that_goes_away_is_a_503(
    tmp_path: Path, start_server: StartServer
) -> None:
    """Down before the first call or after it: the memory API answers 503
    with a JSON body that names no address, and chats go on without memory."""
    port = free_port()
    url = start_server(
        [Turn(role="simple", text="Still here.")], chroma_url=f"http://127.0.0.1:{port}"
    )
    async with httpx2.AsyncClient(base_url=url, timeout=60) as http:
        before = await http.get("/api/v1/memory")  # nothing listens there yet
        assert before.status_code == 503, before.text
        assert before.json()["error"]["type"] == "memory_unavailable"
        chroma = start_chroma(tmp_path / "chroma-data", port)
        try:
            wait_heartbeat(f"http://127.0.0.1:{port}", chroma, tmp_path / "chroma-data")
            assert (await http.get("/api/v1/memory")).json() == []
        finally:
            chroma.terminate()
            chroma.wait(10)
        for method, path, body in [
            ("GET", "/api/v1/memory", None),
            ("POST", "/api/v1/memory/search", {"query": "units"}),
            ("DELETE", "/api/v1/memory/mem_1", None),
        ]:
            answer = await http.request(method, path, json=body)
            assert answer.status_code == 503, answer.text
            assert answer.json()["error"]["type"] == "memory_unavailable"
            assert str(port) not in answer.text
        events = await chat(http, message="hello")
        assert events[-1].type == "run.finished"
