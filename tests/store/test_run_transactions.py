"""begin_run and end_run: each is one transaction, all or nothing."""

from __future__ import annotations

import pytest

from sagents.store.records import (
    MessageRecord,
    RunRecord,
    RunStatus,
    SessionRecord,
    SessionStatus,
)
from tests.store.conftest import INTEGRITY_ERRORS, StoreFactory


def message(mid: str, sid: str, role: str = "user", content: str = "hi") -> MessageRecord:
    return MessageRecord(id=mid, session_id=sid, role=role, content=content, run_id="r1")


async def test_begin_and_end_a_run(make_store: StoreFactory) -> None:
    async with make_store() as store:
        session = SessionRecord(id="s1", user_id="u1", title="t")
        await store.begin_run(
            RunRecord(id="r1", session_id="s1", input="hi"),
            message("m1", "s1"),
            new_session=session,
        )
        stored = await store.get_session("u1", "s1")
        assert stored is not None and stored.status is SessionStatus.RUNNING
        assert [m.id for m in await store.list_messages("s1")] == ["m1"]

        partial = message("m2", "s1", role="assistant", content="half an ans")
        await store.end_run(
            "r1",
            RunStatus.CANCELLED,
            session_id="s1",
            session_status=SessionStatus.INTERRUPTED,
            messages=[partial],
            input_tokens=3,
            output_tokens=4,
        )
        run = await store.get_run("s1", "r1")
        assert run is not None and run.status is RunStatus.CANCELLED and run.ended_at is not None
        assert (run.input_tokens, run.output_tokens) == (3, 4)
        stored = await store.get_session("u1", "s1")
        assert stored is not None and stored.status is SessionStatus.INTERRUPTED
        assert [m.id for m in await store.list_messages("s1")] == ["m1", "m2"]


async def test_begin_run_is_all_or_nothing(make_store: StoreFactory) -> None:
    async with make_store() as store:
        await store.begin_run(
            RunRecord(id="r1", session_id="s1", input="hi"),
            message("dup", "s1"),
            new_session=SessionRecord(id="s1", user_id="u1"),
        )
        await store.end_run(
            "r1", RunStatus.FINISHED, session_id="s1", session_status=SessionStatus.COMPLETED
        )
        with pytest.raises(INTEGRITY_ERRORS):
            # the message id repeats, so the whole start must roll back
            await store.begin_run(
                RunRecord(id="r2", session_id="s1", input="again"),
                message("dup", "s1"),
                new_session=None,
            )
        assert await store.get_run("s1", "r2") is None
        stored = await store.get_session("u1", "s1")
        assert stored is not None and stored.status is SessionStatus.COMPLETED
