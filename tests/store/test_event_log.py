"""The durable event log and run leases, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import time

from sagents.events import RunFailed, parse_event
from sagents.store import RunRecord, RunStatus, SessionRecord, SessionStatus, Store
from sagents.store.records import StoredEvent
from tests.store.conftest import StoreFactory


def ev(run_id: str, seq: int, kind: str = "message.delta") -> StoredEvent:
    return StoredEvent(run_id, seq, kind, f'{{"seq": {seq}}}')


async def running_run(store: Store, run_id: str, *, lease_until: float | None) -> None:
    sid = f"ses_{run_id}"
    await store.create_session(SessionRecord(id=sid, user_id="u", status=SessionStatus.RUNNING))
    await store.create_run(
        RunRecord(id=run_id, session_id=sid, input="x", owner="a", lease_until=lease_until)
    )


async def test_events_round_trip_in_seq_order_across_runs(store: Store) -> None:
    await store.append_events([ev("r1", 1), ev("r2", 1), ev("r1", 2)])
    await store.append_events([ev("r1", 3, "run.finished")])
    assert [e.seq for e in await store.read_events("r1")] == [1, 2, 3]
    assert await store.read_events("r1", after_seq=1, limit=1) == [ev("r1", 2)]
    assert await store.event_bounds("r1") == (1, 3)
    assert await store.event_bounds("r2") == (1, 1)
    assert await store.event_bounds("none") is None
    assert await store.read_events("none") == []


async def test_a_seq_written_twice_keeps_its_first_row(store: Store) -> None:
    await store.append_events([ev("r1", 1), ev("r1", 2)])
    await store.append_events([StoredEvent("r1", 2, "other", "{}"), ev("r1", 3)])
    assert [(e.seq, e.type) for e in await store.read_events("r1")] == [
        (1, "message.delta"),
        (2, "message.delta"),
        (3, "message.delta"),
    ]


async def test_a_seq_twice_in_one_append_keeps_its_first_row(store: Store) -> None:
    await store.append_events([ev("r1", 1), StoredEvent("r1", 1, "other", "{}"), ev("r1", 2)])
    assert [(e.seq, e.type) for e in await store.read_events("r1")] == [
        (1, "message.delta"),
        (2, "message.delta"),
    ]


async def test_floors_drop_a_runs_oldest_events_only(store: Store) -> None:
    await store.append_events([ev("r1", n) for n in range(1, 6)] + [ev("r2", 1)])
    await store.append_events([ev("r1", 6)], {"r1": 4})
    assert [e.seq for e in await store.read_events("r1")] == [4, 5, 6]
    assert await store.event_bounds("r2") == (1, 1)


async def test_deleting_a_session_deletes_its_runs_events(store: Store) -> None:
    await running_run(store, "r1", lease_until=None)
    await running_run(store, "r2", lease_until=None)
    await store.append_events([ev("r1", 1), ev("r2", 1)])
    assert await store.delete_session("someone else", "ses_r1") is False
    assert await store.event_bounds("r1") == (1, 1)
    assert await store.delete_session("u", "ses_r1") is True
    assert await store.event_bounds("r1") is None
    assert await store.event_bounds("r2") == (1, 1)


async def test_recovery_leaves_runs_with_a_live_lease_alone(make_store: StoreFactory) -> None:
    """What a second process (another replica, `sage chat --local` on the
    same file) does at start: only runs whose owner stopped renewing end."""
    async with make_store() as store:
        await running_run(store, "live", lease_until=time.time() + 60)
        await running_run(store, "dead", lease_until=time.time() - 1)
        await store.append_events([ev("dead", 1, "run.started"), ev("dead", 2)])
    async with make_store() as other:
        assert (other.recovered_runs, other.recovered_sessions) == (1, 1)
        live = await other.get_run("ses_live", "live")
        assert live is not None and live.status is RunStatus.RUNNING
        session = await other.get_session("u", "ses_live")
        assert session is not None and session.status is SessionStatus.RUNNING
        dead = await other.get_run("ses_dead", "dead")
        assert dead is not None and dead.status is RunStatus.INTERRUPTED
        assert dead.lease_until is None
        # The log of the dead run ends with a terminal event one past its last.
        [last] = await other.read_events("dead", after_seq=2)
        terminal = parse_event(last.data)
        assert isinstance(terminal, RunFailed) and terminal.seq == 3
        assert (terminal.error_type, terminal.run_id) == ("RunInterrupted", "dead")
        assert await other.recover() == 0  # nothing left


async def test_renewing_keeps_a_run_alive_and_skips_ended_ones(store: Store) -> None:
    await running_run(store, "r1", lease_until=time.time() - 1)
    await running_run(store, "r2", lease_until=time.time() - 1)
    await store.finish_run("r2", RunStatus.FINISHED)
    assert await store.renew_leases(["r1", "r2"], "b", time.time() + 60) == 1
    assert await store.recover() == 0
    run = await store.get_run("ses_r1", "r1")
    assert run is not None and run.owner == "b" and run.status is RunStatus.RUNNING
    ended = await store.get_run("ses_r2", "r2")
    assert ended is not None and ended.lease_until is None
