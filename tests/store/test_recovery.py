"""Start-up recovery leaves a history the LLM accepts: every tool call of a
crashed run gets a result, once, in the same transaction that marks it."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from sagents.store import (
    INTERRUPTED_TOOL_RESULT,
    RECOVERED_KIND,
    MessageRecord,
    RunRecord,
    RunStatus,
    SessionRecord,
    SessionStatus,
    SQLiteStore,
    Store,
)
from sagents.testing.strict import tool_pairing_violation
from tests.store.conftest import StoreFactory


def call(call_id: str, name: str) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": "{}"}}


def message(mid: str, sid: str, run: str, role: str, **fields: Any) -> MessageRecord:
    return MessageRecord(id=mid, session_id=sid, run_id=run, role=role, **fields)


async def crashed_session(store: Store) -> None:
    """What a kill -9 during the second tool round of a run leaves: an
    earlier finished run, a first round answered, then two concurrent calls
    of which one ("b") returned before the process died."""
    await store.create_session(SessionRecord(id="s1", user_id="u", status=SessionStatus.RUNNING))
    await store.create_run(RunRecord(id="r0", session_id="s1", input="before"))
    await store.finish_run("r0", RunStatus.FINISHED, answer="ok")
    await store.create_run(RunRecord(id="r1", session_id="s1", input="go"))
    await store.add_messages(
        [
            message("m0", "s1", "r0", "user", content="before"),
            message("m1", "s1", "r0", "assistant", content="ok"),
            message("m2", "s1", "r1", "user", content="go"),
            message("m3", "s1", "r1", "assistant", tool_calls=[call("x", "first")], agent="simple"),
            message("m4", "s1", "r1", "tool", content="1", tool_call_id="x", name="first"),
            message(
                "m5",
                "s1",
                "r1",
                "assistant",
                content="Two at once.",
                tool_calls=[call("a", "slow"), call("b", "fast")],
                agent="simple",
            ),
            message("m6", "s1", "r1", "tool", content="2", tool_call_id="b", name="fast"),
        ]
    )


async def test_each_unanswered_call_gets_one_interrupted_result(make_store: StoreFactory) -> None:
    async with make_store() as store:
        await crashed_session(store)
        before = [m.to_openai() for m in await store.list_messages("s1")]
    assert tool_pairing_violation(before) is not None  # what OpenAI would reject

    async with make_store() as store:
        assert (store.recovered_runs, store.recovered_tool_results) == (1, 1)
        messages = await store.list_messages("s1")
        run = await store.get_run("s1", "r1")
        finished = await store.get_run("s1", "r0")
    assert [m.id for m in messages[:7]] == ["m0", "m1", "m2", "m3", "m4", "m5", "m6"]
    [added] = messages[7:]
    assert (added.role, added.tool_call_id, added.name) == ("tool", "a", "slow")
    assert added.content == INTERRUPTED_TOOL_RESULT
    assert added.interrupted and added.kind == RECOVERED_KIND
    assert (added.run_id, added.agent) == ("r1", "simple")
    assert tool_pairing_violation([m.to_openai() for m in messages]) is None
    assert run is not None and run.status is RunStatus.INTERRUPTED
    assert finished is not None and finished.status is RunStatus.FINISHED

    async with make_store() as store:  # idempotent: nothing left to do
        assert (store.recovered_runs, store.recovered_tool_results) == (0, 0)
        assert len(await store.list_messages("s1")) == 8


async def test_only_runs_left_running_are_touched(make_store: StoreFactory) -> None:
    """A run that ended (here: failed) is what its process recorded; recovery
    does not rewrite it. History preparation covers such rows if they exist."""
    async with make_store() as store:
        await store.create_session(SessionRecord(id="s2", user_id="u"))
        await store.create_run(RunRecord(id="r2", session_id="s2", input="x"))
        await store.add_messages(
            [message("n1", "s2", "r2", "assistant", tool_calls=[call("c", "t")])]
        )
        await store.finish_run("r2", RunStatus.FAILED, error="boom")
    async with make_store() as store:
        assert store.recovered_tool_results == 0
        assert [m.id for m in await store.list_messages("s2")] == ["n1"]


async def test_recovery_is_all_or_nothing(db_path: Path) -> None:
    """A failure inside recovery (here a trigger, standing in for a disk
    error or a kill) leaves neither results nor status changes behind, so
    the next start does the whole recovery again."""
    async with SQLiteStore(db_path) as store:
        await crashed_session(store)
    with closing(sqlite3.connect(db_path)) as conn:
        conn.execute(
            "CREATE TRIGGER refuse BEFORE UPDATE ON sessions BEGIN SELECT RAISE(ABORT, 'no'); END"
        )
        conn.commit()
    with pytest.raises(sqlite3.IntegrityError):
        await SQLiteStore(db_path).open()
    with closing(sqlite3.connect(db_path)) as conn:
        assert conn.execute("SELECT COUNT(*) FROM messages").fetchone()[0] == 7
        assert conn.execute("SELECT status FROM runs WHERE id = 'r1'").fetchone()[0] == "running"
        conn.execute("DROP TRIGGER refuse")
        conn.commit()
    async with SQLiteStore(db_path) as store:
        assert (store.recovered_runs, store.recovered_tool_results) == (1, 1)


async def test_an_unreadable_tool_calls_column_does_not_stop_the_start(db_path: Path) -> None:
    async with SQLiteStore(db_path) as store:
        await store.create_session(SessionRecord(id="s3", user_id="u"))
        await store.create_run(RunRecord(id="r3", session_id="s3", input="x"))
        await store.add_messages(
            [
                message("k1", "s3", "r3", "assistant", tool_calls=[call("ok", "t")]),
                message("k2", "s3", "r3", "assistant", tool_calls=[call("bad", "t")]),
            ]
        )
    with closing(sqlite3.connect(db_path)) as conn:
        conn.execute("UPDATE messages SET tool_calls = '[{\"id\": ' WHERE id = 'k2'")
        conn.commit()
    async with SQLiteStore(db_path) as store:
        assert (store.recovered_runs, store.recovered_tool_results) == (1, 1)
    with closing(sqlite3.connect(db_path)) as conn:
        rows = conn.execute(
            "SELECT tool_call_id FROM messages WHERE session_id = 's3' ORDER BY seq"
        )
        assert [r[0] for r in rows] == [None, None, "ok"]
