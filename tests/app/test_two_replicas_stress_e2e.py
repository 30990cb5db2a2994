"""200 concurrent chats over two `sage serve` replicas on one PostgreSQL and
one Redis, with cancels sent to either replica and clients that hang up.

Every run must end with exactly one terminal event (its stored event log,
numbered 1..n with no gap, ends with it, and the run record agrees), every
finished run's answer is kept, and afterwards nothing is left behind: no
session still running or locked in Redis, no open client connection,
PostgreSQL and Redis connections within the pools, each replica still
serving, and no task destroyed while pending.
Bounds are generous and nothing is timed: the machine is a loaded 2-core
one. The random choices use a fixed seed, so a failure replays.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
from dataclasses import dataclass, field
from pathlib import Path

import httpx2
import psutil
import redis.asyncio as aioredis

from sagents.events import TERMINAL_TYPES, EventBase
from sagents.runs.redis_registry import REDIS_POOL_SIZE, session_key
from sagents.testing import MockLLMServer, Script, Turn
from tests.app.conftest import SIMPLE, sse_events
from tests.app.server_process import free_port, spawn, wait_ready

REDIS_URL = os.environ.get("SAGE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
SEED = 20261202
CHATS = 200
POOL = 5
ANSWER = " ".join(f"w{i}" for i in range(30))
ACTIONS = ("read", "read", "cancel", "hang_up_cancel", "hang_up_continue")
"""What a client does: read to the end; cancel through a replica picked at
random after a few tokens; or close the stream after a few tokens, with
``on_disconnect`` cancel or continue."""

STATUS_OF = {"run.finished": "finished", "run.cancelled": "cancelled"}


@dataclass
class Chat:
    index: int
    action: str
    replica: int
    cancel_via: int
    after_deltas: int
    events: list[EventBase] = field(default_factory=list)
    cancel_status: int | None = None
    end: EventBase | None = None
    """The stored terminal event."""

    @property
    def session_id(self) -> str:
        return self.events[0].session_id

    @property
    def run_id(self) -> str:
        return self.events[0].run_id


def plan(rng: random.Random) -> list[Chat]:
    return [
        Chat(
            index=i,
            action=rng.choice(ACTIONS),
            replica=rng.randrange(2),
            cancel_via=rng.randrange(2),
            after_deltas=rng.randint(1, 12),
        )
        for i in range(CHATS)
    ]


async def run_chat(chat: Chat, clients: list[httpx2.AsyncClient]) -> None:
    http = clients[chat.replica]
    on_disconnect = "continue" if chat.action == "hang_up_continue" else "cancel"
    payload = {**SIMPLE, "message": f"chat {chat.index}", "on_disconnect": on_disconnect}
    deltas = 0
    async for event in sse_events(http, "POST", "/api/v1/chat", json=payload):
        chat.events.append(event)
        deltas += event.type == "message.delta"
        if deltas == chat.after_deltas and chat.action.startswith("hang_up"):
            return  # leaving the block closes the stream: the client hung up
        # Once: the events after the cancel (its run.cancelled among them)
        # leave the count where it was, and a second cancel would get 409.
        if deltas == chat.after_deltas and chat.action == "cancel" and chat.cancel_status is None:
            via = clients[chat.cancel_via]
            cancel = await via.post(f"/api/v1/sessions/{chat.session_id}/cancel")
            chat.cancel_status = cancel.status_code  # 409 once the run had ended


async def ended(http: httpx2.AsyncClient, chat: Chat) -> dict[str, object]:
    """The session once its run has ended (hung-up runs end after the client)."""
    for _ in range(600):
        detail: dict[str, object] = (await http.get(f"/api/v1/sessions/{chat.session_id}")).json()
        if detail["active_run_id"] is None:
            return detail
        await asyncio.sleep(0.2)
    raise AssertionError(f"chat {chat.index}'s run {chat.run_id} never ended")


async def check_run(chat: Chat, clients: list[httpx2.AsyncClient]) -> str:
    """One run's record, stored event log and messages agree; its end."""
    http = clients[(chat.replica + 1) % 2]  # read back on the other replica
    detail = await ended(http, chat)
    [run] = [r for r in detail["runs"] if r["id"] == chat.run_id]  # type: ignore[attr-defined]
    path = f"/api/v1/sessions/{chat.session_id}/runs/{chat.run_id}/events"
    stored = [e async for e in sse_events(http, "GET", path)]
    terminal = [e.type for e in stored if e.type in TERMINAL_TYPES]
    assert len(terminal) == 1 and stored[-1].type == terminal[0], (chat, terminal)
    assert [e.seq for e in stored] == list(range(1, len(stored) + 1)), chat
    assert [(e.seq, e.type) for e in chat.events] == [
        (e.seq, e.type) for e in stored[: len(chat.events)]
    ], chat  # what the client saw is what was stored
    assert run["status"] == STATUS_OF[terminal[0]], (chat, run)
    chat.end = stored[-1]
    if terminal[0] == "run.finished":
        assert run["answer"] == ANSWER, (chat, run)
        messages = (await http.get(f"/api/v1/sessions/{chat.session_id}/messages")).json()
        answers = [m["content"] for m in messages if m["role"] == "assistant"]
        assert answers == [ANSWER], (chat, messages)  # no completed message lost
    return terminal[0]


def connections(proc: psutil.Process, port: int, *, remote: bool) -> int:
    """The process's established TCP connections to ``port`` (``remote``)
    or accepted on it."""
    found = 0
    for conn in proc.net_connections(kind="tcp"):
        end = conn.raddr if remote else conn.laddr
        found += conn.status == psutil.CONN_ESTABLISHED and bool(end) and end.port == port
    return found


async def sample_active_runs(http: httpx2.AsyncClient, seen: list[int]) -> None:
    """Runs in progress on both replicas, sampled: a figure for the report."""
    while True:
        seen.append((await http.get("/api/v1/status")).json()["active_runs"])
        await asyncio.sleep(0.2)


async def no_client_left(server: psutil.Process, port: int) -> None:
    """The server closes every client connection once its clients are gone
    (a stream it kept open would be a leaked response task)."""
    for _ in range(300):
        if connections(server, port, remote=False) == 0:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"server on {port} still holds client connections")


async def test_two_hundred_chats_with_cancels_and_hang_ups(
    tmp_path: Path, mock_llm: MockLLMServer, pg_url: str
) -> None:
    turn = Turn(text=ANSWER, faults={"token_delay_s": 0.05})
    mock_llm.set_script(Script(turns=[turn], cycle=True))
    shared = {
        "SAGE_DATABASE_URL": pg_url,
        "SAGE_REDIS_URL": REDIS_URL,
        "SAGE_DATABASE_POOL_SIZE": str(POOL),
    }
    ports = free_port(), free_port()
    procs = []
    for name, port in zip("ab", ports, strict=True):
        (tmp_path / name).mkdir()
        log = tmp_path / f"{name}.log"
        procs.append(spawn(tmp_path / name, port, mock_llm.base_url, log=log, **shared))
    try:
        urls = [f"http://127.0.0.1:{port}" for port in ports]
        for url, proc in zip(urls, procs, strict=True):
            wait_ready(url, proc, timeout_s=90)
        limits = httpx2.Limits(max_connections=CHATS + 10, max_keepalive_connections=0)
        timeout = httpx2.Timeout(120)
        clients = [httpx2.AsyncClient(base_url=u, timeout=timeout, limits=limits) for u in urls]
        async with clients[0], clients[1]:
            chats = plan(random.Random(SEED))
            peak_seen: list[int] = []
            peak = asyncio.create_task(sample_active_runs(clients[0], peak_seen))
            await asyncio.wait_for(asyncio.gather(*(run_chat(c, clients) for c in chats)), 600)
            peak.cancel()
            print(f"at most {max(peak_seen, default=0)} runs at once")
            ends = await asyncio.wait_for(
                asyncio.gather(*(check_run(c, clients) for c in chats)), 600
            )

            by_action: dict[str, list[str]] = {}
            for chat, end in zip(chats, ends, strict=True):
                by_action.setdefault(chat.action, []).append(end)
            print({a: {e: ends.count(e) for e in set(ends)} for a, ends in by_action.items()})
            assert set(by_action["read"]) == {"run.finished"}
            assert set(by_action["hang_up_continue"]) == {"run.finished"}
            assert set(by_action["hang_up_cancel"]) == {"run.cancelled"}
            # Most cancels land mid-run (the others find the run ended: 409),
            # sent to the replica running it and to the other one alike.
            cancelled = [
                c
                for c, e in zip(chats, ends, strict=True)
                if c.action == "cancel" and e != "run.finished"
            ]
            assert {c.cancel_via == c.replica for c in cancelled} == {True, False}
            odd = [
                (c.index, c.replica, c.cancel_via, c.cancel_status, getattr(c.end, "reason", None))
                for c in cancelled
                if c.cancel_status != 202
            ]
            assert not odd, odd  # cancelled, but not by this client's cancel: why

            for http in clients:
                status = (await http.get("/api/v1/status")).json()
                assert status["active_runs"] == 0, status
                assert status["registry"]["detail"] == "RedisRunRegistry"
            locks = [session_key(c.session_id) for c in chats]
            async with aioredis.Redis.from_url(REDIS_URL) as redis:
                assert await redis.exists(*locks) == 0  # every session lock was freed

        # Nothing left behind: no client connection held open by a server,
        # PostgreSQL within each replica's pool, both still serving.
        servers = [psutil.Process(p.pid) for p in procs]
        for server, port in zip(servers, ports, strict=True):
            await no_client_left(server, port)
            assert connections(server, 5432, remote=True) <= POOL
            assert connections(server, 6379, remote=True) <= REDIS_POOL_SIZE
        async with httpx2.AsyncClient(timeout=60) as http:
            for url in urls:
                body = {**SIMPLE, "message": "after the storm"}
                after = [e async for e in sse_events(http, "POST", f"{url}/api/v1/chat", json=body)]
                assert after[-1].type == "run.finished"
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        codes = [proc.wait(30) for proc in procs]
    logs = [(tmp_path / f"{name}.log").read_text(errors="replace") for name in "ab"]
    for log in logs:
        assert "Task was destroyed but it is pending" not in log, log[-4000:]
        assert "never retrieved" not in log, log[-4000:]
    # uvicorn ends a clean shutdown by re-raising the signal it caught.
    assert set(codes) <= {0, -signal.SIGTERM}, logs
    assert all("Application shutdown complete" in log for log in logs), logs
