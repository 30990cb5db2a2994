"""The run registry shared by replicas, on Redis (redis-py's asyncio client).

A run still executes, and its live channel still lives, in the process that
accepted it (everything of ``LocalRunRegistry``). Redis adds what replicas
must agree on:

- The per-session lock: ``sage:session:<id>`` holds the running run's id,
  set with ``NX`` and a time to live of the run lease. The owner extends it
  every third of the lease while the run goes on and deletes it when the run
  ends (both only while the key still holds its run id: a compare-and-set in
  a Lua script, so a replica never extends or frees another run's lock). A
  replica that dies stops extending; the lock expires with the lease, when
  recovery (any replica's, see ``RunJournal``) marks the run interrupted.
- Cancels: ``request_cancel`` publishes on ``sage:cancel``; every replica
  listens and the one that runs the run cancels it. Pub/sub is enough: a
  cancel is only meaningful while the owner is alive and subscribed, and a
  dead owner's run is ended by recovery anyway.
- Live fan-out: readers on another replica follow a run through the durable
  event log in the store (``sagents.runs.replay``): replay, then what the
  owner writes next, in ``seq`` order with no gap and no duplicate, because
  the log is the one sequence every replica reads. After each write the
  owner publishes the run ids on ``sage:flushed``, which wakes those readers
  at once; a lost message only costs them a poll interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

import redis.asyncio as aioredis

from sagents.runs.journal import RunJournal
from sagents.runs.local import LocalRunRegistry, _Run
from sagents.runs.registry import SessionBusy
from sagents.store.records import RunStatus

log = logging.getLogger(__name__)

CANCEL_CHANNEL = "sage:cancel"
FLUSHED_CHANNEL = "sage:flushed"

_EXTEND = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


REDIS_POOL_SIZE = 64
"""Most connections to Redis one process opens (one is the pub/sub
listener's). Every command is short (no blocking reads), so a few dozen
serve hundreds of concurrent runs."""
REDIS_POOL_WAIT_S = 30.0
"""How long a command waits for a free connection before failing."""


def session_key(session_id: str) -> str:
    return f"sage:session:{session_id}"


class RedisRunRegistry(LocalRunRegistry):
    def __init__(
        self,
        url: str,
        *,
        lease_s: float = 30.0,
        retention_s: float = 900.0,
        max_run_bytes: int | None = None,
        max_total_bytes: int | None = None,
        journal: RunJournal | None = None,
    ) -> None:
        super().__init__(
            retention_s,
            max_run_bytes=max_run_bytes,
            max_total_bytes=max_total_bytes,
            journal=journal,
        )
        self.url = url
        self.lease_ms = int(lease_s * 1000)
        self._redis: aioredis.Redis | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._readers: dict[str, set[asyncio.Event]] = {}
        """Runs read from the stored log here → their waiting readers."""
        if journal is not None:
            journal.on_flushed = self._announce

    @property
    def redis(self) -> aioredis.Redis:
        if self._redis is None:
            raise RuntimeError("the Redis run registry is not open")
        return self._redis

    async def open(self) -> None:
        """Connect (failing at once if Redis does not answer), then listen
        for cancels and keep the locks of this process's runs alive."""
        # A blocking pool: at its bound a command waits for a connection.
        # redis-py's default pool raises "Too many connections" instead, which
        # a burst of chats on one replica (over 100 at once) turned into 500s.
        pool = aioredis.BlockingConnectionPool.from_url(
            self.url,
            decode_responses=True,
            max_connections=REDIS_POOL_SIZE,
            timeout=REDIS_POOL_WAIT_S,
        )
        client = aioredis.Redis.from_pool(pool)  # the client owns the pool: closes it
        try:
            await client.ping()
        except Exception:
            await client.aclose()
            raise
        self._redis = client
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(CANCEL_CHANNEL, FLUSHED_CHANNEL)
        self._tasks = [
            asyncio.create_task(self._listen(pubsub), name="sage-redis-cancels"),
            asyncio.create_task(self._heartbeat(), name="sage-redis-locks"),
        ]

    # the session lock

    async def reserve(self, session_id: str, run_id: str) -> None:
        await super().reserve(session_id, run_id)
        key = session_key(session_id)
        for _ in range(2):
            if await self.redis.set(key, run_id, nx=True, px=self.lease_ms):
                return
            holder = await self._holder(session_id)
            if holder is not None:
                raise SessionBusy(session_id, holder)
        raise SessionBusy(session_id, "unknown")

    async def find_active(self, session_id: str) -> str | None:
        local = await super().find_active(session_id)
        if local is not None:
            return local
        return await self._holder(session_id)

    async def _holder(self, session_id: str) -> str | None:
        """The run holding the session's lock, freeing a stale lock first.

        The lock and the run's lease in the store are renewed on separate
        timers, so a dead owner's run can be marked interrupted (by its
        store lease) while its lock has up to one lease left. A lock whose
        run the store says has ended is stale and is deleted (compare-and-
        delete, so a new holder is never freed). A run the store does not
        have yet is one being started: its lock stands.
        """
        key = session_key(session_id)
        holder = await self.redis.get(key)
        if not holder or self.journal is None:
            return str(holder) if holder else None
        run = await self.journal.store.get_run(session_id, str(holder))
        if run is None or run.status in (RunStatus.RUNNING, RunStatus.WAITING):
            return str(holder)
        await self.redis.eval(_RELEASE, 1, key, str(holder))
        return None

    async def _ended(self, run: _Run) -> None:
        await self.redis.eval(_RELEASE, 1, session_key(run.session_id), run.run_id)

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self.lease_ms / 3000)
            for session_id, run_id in list(self._active_by_session.items()):
                try:
                    await self.redis.eval(
                        _EXTEND, 1, session_key(session_id), run_id, self.lease_ms
                    )
                except Exception as exc:
                    log.warning("could not extend the lock of session %s: %r", session_id, exc)

    # cancels

    async def request_cancel(self, run_id: str, reason: str) -> bool:
        if self.cancel(run_id, reason):
            return True
        message = json.dumps({"run_id": run_id, "reason": reason})
        receivers = await self.redis.publish(CANCEL_CHANNEL, message)
        return bool(receivers)

    async def _listen(self, pubsub: Any) -> None:
        while True:
            try:
                async for message in pubsub.listen():
                    if message.get("channel") == FLUSHED_CHANNEL:
                        self._on_flushed(message.get("data"))
                    else:
                        self._on_cancel(message.get("data"))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a dropped connection: resubscribe
                log.warning("Redis cancel listener: %r; reconnecting", exc)
                await asyncio.sleep(1.0)
                with contextlib.suppress(Exception):
                    await pubsub.subscribe(CANCEL_CHANNEL, FLUSHED_CHANNEL)

    # live fan-out to readers of the stored log

    async def _announce(self, run_ids: set[str]) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            for run_id in run_ids:
                pipe.publish(FLUSHED_CHANNEL, run_id)
            await pipe.execute()

    def _on_flushed(self, data: Any) -> None:
        for reader in self._readers.get(str(data), ()):
            reader.set()

    async def wait_for_events(self, run_id: str, at_most_s: float) -> None:
        woken = asyncio.Event()
        readers = self._readers.setdefault(run_id, set())
        readers.add(woken)
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(woken.wait(), at_most_s)
        finally:
            readers.discard(woken)
            if not readers:
                self._readers.pop(run_id, None)

    def _on_cancel(self, data: Any) -> None:
        try:
            request = json.loads(data)
            run_id, reason = str(request["run_id"]), str(request["reason"])
        except (TypeError, ValueError, KeyError):
            log.warning("ignored a malformed cancel message on %s", CANCEL_CHANNEL)
            return
        self.cancel(run_id, reason)  # False unless the run is ours

    async def aclose(self) -> None:
        await super().aclose()  # cancels this process's runs (and frees their locks)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        if self._redis is not None:
            client, self._redis = self._redis, None
            await client.aclose()
