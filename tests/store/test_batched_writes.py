"""The stores' batch writer: concurrent writes share transactions, land in
the order they were submitted, fail alone, and an ended run's events commit
with its end (both backends)."""

from __future__ import annotations

import asyncio

from sagents.store import (
    MessageRecord,
    RunRecord,
    RunStatus,
    SessionRecord,
    SessionStatus,
    SQLiteStore,
)
from sagents.store.postgres import PostgresStore
from sagents.store.records import StoredEvent
from tests.store.conftest import INTEGRITY_ERRORS, StoreFactory


async def test_concurrent_writes_share_transactions_in_submission_order(
    store: SQLiteStore | PostgresStore,
) -> None:
    await store.create_session(SessionRecord(id="ses_1", user_id="alice"))
    before = store.write_batches
    count = 40
    writes = [
        store.add_messages([MessageRecord(id=f"m{i}", session_id="ses_1", role="user")])
        for i in range(count)
    ]
    await asyncio.gather(*writes)  # submitted in list order, all before the first batch ran
    batches = store.write_batches - before
    # The first write runs alone (the writer was idle); the ones submitted
    # meanwhile share the next transaction(s), not one each.
    assert 1 <= batches <= 3, batches
    ids = [m.id for m in await store.list_messages("ses_1")]
    assert ids == [f"m{i}" for i in range(count)]


async def test_a_failing_write_fails_alone_inside_a_shared_batch(
    store: SQLiteStore | PostgresStore,
) -> None:
    await store.create_session(SessionRecord(id="ses_1", user_id="alice"))
    await store.add_messages([MessageRecord(id="dup", session_id="ses_1", role="user")])
    before = store.write_batches
    results = await asyncio.gather(
        store.add_messages([MessageRecord(id="a", session_id="ses_1", role="user")]),
        store.add_messages(
            [
                MessageRecord(id="b", session_id="ses_1", role="user"),
                MessageRecord(id="dup", session_id="ses_1", role="user"),
            ]
        ),
        store.add_messages([MessageRecord(id="c", session_id="ses_1", role="user")]),
        return_exceptions=True,
    )
    assert results[0] is None and results[2] is None
    assert isinstance(results[1], INTEGRITY_ERRORS)
    assert store.write_batches - before <= 2  # "a" alone, then the other two together
    assert [m.id for m in await store.list_messages("ses_1")] == ["dup", "a", "c"]


async def test_end_run_commits_the_runs_events_with_its_end(
    store: SQLiteStore | PostgresStore,
) -> None:
    session = SessionRecord(id="ses_1", user_id="alice")
    run = RunRecord(id="run_1", session_id="ses_1", input="hi")
    await store.begin_run(
        run, MessageRecord(id="u1", session_id="ses_1", role="user"), new_session=session
    )
    await store.append_events([StoredEvent("run_1", n, "x", "{}") for n in (1, 2, 3)])
    before = store.write_batches
    await store.end_run(
        "run_1",
        RunStatus.FINISHED,
        session_id="ses_1",
        session_status=SessionStatus.COMPLETED,
        answer="done",
        events=[StoredEvent("run_1", 4, "run.finished", '{"answer": "done"}')],
        floors={"run_1": 2},
    )
    assert store.write_batches - before == 1
    ended = await store.get_run("ses_1", "run_1")
    assert ended is not None and ended.status is RunStatus.FINISHED
    assert [e.seq for e in await store.read_events("run_1")] == [2, 3, 4]
    assert await store.event_bounds("run_1") == (2, 4)


async def test_a_write_after_close_is_refused(make_store: StoreFactory) -> None:
    store = make_store()
    await store.open()
    await store.close()
    try:
        await store.create_session(SessionRecord(id="ses_1", user_id="alice"))
    except RuntimeError as exc:
        assert "not open" in str(exc)
    else:
        raise AssertionError("a closed store took a write")
