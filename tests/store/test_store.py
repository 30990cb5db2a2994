"""The Store protocol's behaviour, on SQLite and PostgreSQL alike: round
trips, ordering, owner isolation, paging, cascades and start-up recovery."""

from __future__ import annotations

import pytest

from sagents.store import (
    MessageRecord,
    RunRecord,
    RunStatus,
    SessionRecord,
    SessionStatus,
    Store,
    TaskRecord,
)
from tests.store.conftest import INTEGRITY_ERRORS, StoreFactory


async def _session(
    store: Store,
    sid: str,
    user: str = "alice",
    *,
    title: str = "",
    status: SessionStatus = SessionStatus.IDLE,
    updated_at: float = 0.0,
) -> None:
    await store.create_session(
        SessionRecord(id=sid, user_id=user, title=title, status=status, updated_at=updated_at)
    )


async def test_session_round_trip_keeps_every_field(store: Store) -> None:
    record = SessionRecord(
        id="ses_1",
        user_id="alice",
        title="Café ☕ plans",
        status=SessionStatus.COMPLETED,
        created_at=1000.25,
        updated_at=2000.5,
    )
    await store.create_session(record)
    loaded = await store.get_session("alice", "ses_1")
    assert loaded == record
    assert isinstance(loaded.status, SessionStatus)
    assert await store.get_session("alice", "ses_missing") is None


async def test_owner_isolation_for_get_and_delete(store: Store) -> None:
    await _session(store, "ses_a", "alice")
    await store.add_messages([MessageRecord(id="m1", session_id="ses_a", role="user")])

    assert await store.get_session("bob", "ses_a") is None
    assert await store.delete_session("bob", "ses_a") is False
    assert await store.get_session("alice", "ses_a") is not None
    assert len(await store.list_messages("ses_a")) == 1
    assert (await store.list_sessions("bob")) == ([], 0)

    assert await store.delete_session("alice", "ses_a") is True
    assert await store.get_session("alice", "ses_a") is None
    assert await store.delete_session("alice", "ses_a") is False


async def test_list_sessions_pages_newest_first_with_total(store: Store) -> None:
    for i in range(5):
        await _session(store, f"ses_{i}", "alice", updated_at=100.0 + i)
    await _session(store, "ses_bob", "bob", updated_at=999.0)

    page, total = await store.list_sessions("alice", limit=2)
    assert [s.id for s in page] == ["ses_4", "ses_3"]
    assert total == 5

    page, total = await store.list_sessions("alice", limit=2, offset=2)
    assert [s.id for s in page] == ["ses_2", "ses_1"]
    assert total == 5

    page, total = await store.list_sessions("alice", limit=2, offset=4)
    assert [s.id for s in page] == ["ses_0"]

    page, total = await store.list_sessions("alice", limit=2, offset=50)
    assert page == []
    assert total == 5


async def test_update_session_changes_fields_and_bumps_updated_at(store: Store) -> None:
    await _session(store, "ses_old", title="first", updated_at=1.0)
    await _session(store, "ses_new", updated_at=2.0)

    await store.update_session("ses_old", status=SessionStatus.RUNNING)
    loaded = await store.get_session("alice", "ses_old")
    assert loaded is not None
    assert loaded.status is SessionStatus.RUNNING
    assert loaded.title == "first"  # untouched when not given
    assert loaded.updated_at > 2.0
    page, _ = await store.list_sessions("alice")
    assert [s.id for s in page] == ["ses_old", "ses_new"]

    await store.update_session("ses_old", title="renamed")
    loaded = await store.get_session("alice", "ses_old")
    assert loaded is not None
    assert (loaded.title, loaded.status) == ("renamed", SessionStatus.RUNNING)


async def test_run_round_trip_and_finish(store: Store) -> None:
    await _session(store, "ses_1")
    run = RunRecord(
        id="run_1",
        session_id="ses_1",
        input="plan a trip",
        options={"deep_thinking": True, "max_loop_count": 3, "nested": {"tools": ["a", "b"]}},
        started_at=50.0,
    )
    await store.create_run(run)
    assert await store.get_run("ses_1", "run_1") == run
    assert await store.get_run("ses_other", "run_1") is None

    await store.finish_run(
        "run_1", RunStatus.FINISHED, answer="done", input_tokens=12, output_tokens=34
    )
    finished = await store.get_run("ses_1", "run_1")
    assert finished is not None
    assert finished.status is RunStatus.FINISHED
    assert (finished.answer, finished.error) == ("done", None)
    assert (finished.input_tokens, finished.output_tokens) == (12, 34)
    assert finished.ended_at is not None and finished.ended_at >= finished.started_at
    assert finished.options == run.options


async def test_list_runs_in_start_order(store: Store) -> None:
    await _session(store, "ses_1")
    for rid, started in [("run_b", 20.0), ("run_a", 10.0), ("run_c", 30.0)]:
        await store.create_run(RunRecord(id=rid, session_id="ses_1", input="x", started_at=started))
    assert [r.id for r in await store.list_runs("ses_1")] == ["run_a", "run_b", "run_c"]
    assert await store.list_runs("ses_none") == []


async def test_message_round_trip_keeps_every_field(store: Store) -> None:
    await _session(store, "ses_1")
    calls = [{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]
    messages = [
        MessageRecord(
            id="m_assistant",
            session_id="ses_1",
            role="assistant",
            content=None,
            tool_calls=calls,
            run_id="run_1",
            agent="SimpleAgent",
            kind="answer",
            interrupted=True,
            created_at=10.5,
            completed_at=11.5,
        ),
        MessageRecord(
            id="m_tool",
            session_id="ses_1",
            role="tool",
            content="résultat",
            tool_call_id="call_1",
            name="f",
            created_at=12.0,
        ),
        MessageRecord(id="m_empty_calls", session_id="ses_1", role="assistant", tool_calls=[]),
    ]
    await store.add_messages(messages)
    loaded = await store.list_messages("ses_1")
    assert loaded == messages
    assert loaded[0].interrupted is True and loaded[1].interrupted is False
    assert loaded[1].tool_calls is None and loaded[2].tool_calls == []
    assert [m.to_openai() for m in loaded] == [m.to_openai() for m in messages]


async def test_messages_keep_insertion_order_not_timestamp_order(store: Store) -> None:
    await _session(store, "ses_1")
    await _session(store, "ses_2")
    # Clock stepping backwards must not reorder history.
    await store.add_messages(
        [MessageRecord(id="m1", session_id="ses_1", role="user", created_at=9.0)]
    )
    await store.add_messages([MessageRecord(id="x1", session_id="ses_2", role="user")])
    await store.add_messages(
        [
            MessageRecord(id="m2", session_id="ses_1", role="assistant", created_at=5.0),
            MessageRecord(id="m3", session_id="ses_1", role="user", created_at=1.0),
        ]
    )
    assert [m.id for m in await store.list_messages("ses_1")] == ["m1", "m2", "m3"]
    assert [m.id for m in await store.list_messages("ses_2")] == ["x1"]
    await store.add_messages([])  # a no-op, not an error
    assert len(await store.list_messages("ses_1")) == 3


async def test_batch_with_duplicate_id_writes_nothing(store: Store) -> None:
    await _session(store, "ses_1")
    await store.add_messages([MessageRecord(id="m1", session_id="ses_1", role="user")])
    with pytest.raises(INTEGRITY_ERRORS):
        await store.add_messages(
            [
                MessageRecord(id="m2", session_id="ses_1", role="assistant"),
                MessageRecord(id="m1", session_id="ses_1", role="user"),
            ]
        )
    assert [m.id for m in await store.list_messages("ses_1")] == ["m1"]
    # The failed transaction was rolled back, so later writes commit normally.
    await store.add_messages([MessageRecord(id="m3", session_id="ses_1", role="user")])
    assert [m.id for m in await store.list_messages("ses_1")] == ["m1", "m3"]


async def test_task_upsert_round_trip_keeps_created_at_and_order(store: Store) -> None:
    await _session(store, "ses_1")
    first = TaskRecord(
        id="t1",
        session_id="ses_1",
        title="collect data",
        description="find sources",
        depends_on=[],
        created_at=100.0,
        updated_at=100.0,
    )
    second = TaskRecord(id="t2", session_id="ses_1", title="write", depends_on=["t1"])
    await store.upsert_task(first)
    await store.upsert_task(second)
    assert await store.list_tasks("ses_1") == [first, second]

    updated = TaskRecord(
        id="t1",
        session_id="ses_1",
        title="collect data",
        description="find sources",
        status="done",
        result="3 sources",
        run_id="run_9",
        created_at=500.0,
        updated_at=600.0,
    )
    await store.upsert_task(updated)
    tasks = await store.list_tasks("ses_1")
    assert [t.id for t in tasks] == ["t1", "t2"]
    assert (tasks[0].status, tasks[0].result, tasks[0].run_id) == ("done", "3 sources", "run_9")
    assert (tasks[0].created_at, tasks[0].updated_at) == (100.0, 600.0)
    assert tasks[1].depends_on == ["t1"]


async def test_task_ids_are_scoped_per_session(store: Store) -> None:
    await _session(store, "ses_1")
    await _session(store, "ses_2")
    await store.upsert_task(TaskRecord(id="t1", session_id="ses_1", title="one"))
    await store.upsert_task(TaskRecord(id="t1", session_id="ses_2", title="two"))
    assert [t.title for t in await store.list_tasks("ses_1")] == ["one"]
    assert [t.title for t in await store.list_tasks("ses_2")] == ["two"]


async def test_delete_cascades_to_runs_messages_and_tasks(store: Store) -> None:
    for sid in ("ses_gone", "ses_kept"):
        await _session(store, sid)
        await store.create_run(RunRecord(id=f"run_{sid}", session_id=sid, input="x"))
        await store.add_messages(
            [
                MessageRecord(id=f"m1_{sid}", session_id=sid, role="user"),
                MessageRecord(id=f"m2_{sid}", session_id=sid, role="assistant"),
            ]
        )
        await store.upsert_task(TaskRecord(id="t1", session_id=sid, title="t"))

    assert await store.delete_session("alice", "ses_gone") is True

    assert await store.list_runs("ses_gone") == []
    assert await store.list_messages("ses_gone") == []
    assert await store.list_tasks("ses_gone") == []
    assert await store.list_runs("ses_kept") != []
    assert await store.list_messages("ses_kept") != []
    assert await store.list_tasks("ses_kept") != []


async def test_rows_need_an_existing_session(store: Store) -> None:
    with pytest.raises(INTEGRITY_ERRORS):
        await store.create_run(RunRecord(id="run_1", session_id="ses_none", input="x"))
    with pytest.raises(INTEGRITY_ERRORS):
        await store.add_messages([MessageRecord(id="m1", session_id="ses_none", role="user")])


async def test_reopen_keeps_data_and_recovers_left_running(make_store: StoreFactory) -> None:
    async with make_store() as store:
        await _session(store, "ses_run", status=SessionStatus.RUNNING)
        await _session(store, "ses_idle", status=SessionStatus.COMPLETED, updated_at=5.0)
        await store.create_run(RunRecord(id="run_live", session_id="ses_run", input="x"))
        await store.create_run(RunRecord(id="run_done", session_id="ses_idle", input="y"))
        await store.finish_run("run_done", RunStatus.FINISHED, answer="ok")
        assert store.recovered_runs == 0

    async with make_store() as store:
        assert (store.recovered_runs, store.recovered_sessions) == (1, 1)
        live = await store.get_run("ses_run", "run_live")
        assert live is not None and live.status is RunStatus.INTERRUPTED
        assert live.error is not None and "interrupted" in live.error
        done = await store.get_run("ses_idle", "run_done")
        assert done is not None and (done.status, done.answer) == (RunStatus.FINISHED, "ok")
        session = await store.get_session("alice", "ses_run")
        assert session is not None and session.status is SessionStatus.INTERRUPTED
        idle = await store.get_session("alice", "ses_idle")
        assert idle is not None and (idle.status, idle.updated_at) == (SessionStatus.COMPLETED, 5.0)

    async with make_store() as store:
        assert (store.recovered_runs, store.recovered_sessions) == (0, 0)
