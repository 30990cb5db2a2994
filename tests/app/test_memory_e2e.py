"""The memory API and ``sage memory`` against the real server: memories the
extractor stored are listed, searched and forgotten by their owner only."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx2
from typer.testing import CliRunner

from app.cli.main import app
from sagents.testing import Turn
from tests.app.conftest import StartServer, chat

KEYS = {"key-alice": "alice", "key-bob": "bob"}
LEARN = [
    Turn(role="simple", text="Noted, metric units from now on."),
    Turn(
        role="memory",
        json={"memories": [{"text": "Prefers metric units", "kind": "preference"}]},
    ),
]


async def wait_for_memories(http: httpx2.AsyncClient) -> list[dict[str, Any]]:
    """The extractor runs after the answer; give it a bounded while."""
    for _ in range(200):
        items: list[dict[str, Any]] = (await http.get("/api/v1/memory")).json()
        if items:
            return items
        await asyncio.sleep(0.1)
    raise AssertionError("no memory was extracted")


async def test_memory_api_is_per_user(start_server: StartServer) -> None:
    url = start_server(LEARN, api_keys=KEYS, memory_extract=True)
    alice = httpx2.AsyncClient(
        base_url=url, timeout=10, headers={"Authorization": "Bearer key-alice"}
    )
    bob = httpx2.AsyncClient(base_url=url, timeout=10, headers={"Authorization": "Bearer key-bob"})
    async with alice, bob:
        events = await chat(alice, message="Please use metric units.")
        assert events[-1].type == "run.finished"
        [item] = await wait_for_memories(alice)
        assert item["text"] == "Prefers metric units" and item["kind"] == "preference"
        assert item["source"].startswith("extracted:run_")

        found = await alice.post("/api/v1/memory/search", json={"query": "units", "k": 3})
        assert [h["id"] for h in found.json()] == [item["id"]]
        assert 0 <= found.json()[0]["distance"] < 2

        assert (await bob.get("/api/v1/memory")).json() == []
        bob_search = await bob.post("/api/v1/memory/search", json={"query": "metric units"})
        assert bob_search.json() == []
        stolen = await bob.delete(f"/api/v1/memory/{item['id']}")
        assert stolen.status_code == 404 and stolen.json()["error"]["type"] == "not_found"

        for body in ({}, {"query": ""}, {"query": "x", "k": 0}, {"query": "x", "extra": 1}):
            bad = await alice.post("/api/v1/memory/search", json=body)
            assert bad.status_code == 422 and bad.json()["error"]["type"] == "validation_error"

        assert (await alice.delete(f"/api/v1/memory/{item['id']}")).status_code == 204
        assert (await alice.get("/api/v1/memory")).json() == []
        assert (await alice.delete(f"/api/v1/memory/{item['id']}")).status_code == 404


def test_sage_memory_cli(start_server: StartServer) -> None:
    url = start_server(LEARN, memory_extract=True)
    runner = CliRunner(env={"COLUMNS": "200"})  # a wide terminal: no wrapped cells
    with httpx2.Client(base_url=url, timeout=10) as http:
        body = {"message": "Use metric.", "deep_thinking": False, "multi_agent": False}
        assert "run.finished" in http.post("/api/v1/chat", json=body).text
        deadline = time.monotonic() + 20
        while not (items := http.get("/api/v1/memory").json()):
            assert time.monotonic() < deadline, "no memory was extracted"
            time.sleep(0.1)
    memory_id = items[0]["id"]
    listing = runner.invoke(app, ["memory", "list", "--url", url])
    assert listing.exit_code == 0 and "Prefers metric units" in listing.output
    search = runner.invoke(app, ["memory", "search", "--url", url, "measurement system"])
    assert search.exit_code == 0 and memory_id in search.output
    forgot = runner.invoke(app, ["memory", "forget", "--url", url, memory_id])
    assert forgot.exit_code == 0 and memory_id in forgot.output
    again = runner.invoke(app, ["memory", "forget", "--url", url, memory_id])
    assert again.exit_code == 1 and "404" in again.output
