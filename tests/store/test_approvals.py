"""Approvals in the store, on SQLite and PostgreSQL: a pending call makes its
run and session ``waiting``, the first decision wins, the run goes back to
``running`` when none is pending, recovery leaves a waiting run alone, a
waiting run nobody vouches for can be claimed once, and it all survives a
reopen."""

from __future__ import annotations

import asyncio
import time

from sagents.store.records import (
    ApprovalRecord,
    MessageRecord,
    RunRecord,
    RunStatus,
    SessionRecord,
    SessionStatus,
)
from tests.store.conftest import StoreFactory


async def waiting_run(store: object, *, lease_until: float | None = None) -> RunRecord:
    session = SessionRecord(id="s1", user_id="alice")
    run = RunRecord(id="r1", session_id="s1", input="pay", owner="a", lease_until=lease_until)
    user = MessageRecord(id="m1", session_id="s1", role="user", content="pay", run_id="r1")
    await store.begin_run(run, user, new_session=session)  # type: ignore[attr-defined]
    return run


def approval(call_id: str = "c1", **extra: object) -> ApprovalRecord:
    values: dict[str, object] = {
        "run_id": "r1",
        "call_id": call_id,
        "session_id": "s1",
        "tool": "send",
        "arguments": {"to": "bob", "amount": 5},
        "reason": "tool 'send' requires approval",
        "expires_at": time.time() + 60,
    }
    values.update(extra)
    return ApprovalRecord(**values)  # type: ignore[arg-type]


async def statuses(store: object) -> tuple[RunStatus, SessionStatus]:
    run = await store.get_run("s1", "r1")  # type: ignore[attr-defined]
    session = await store.get_session("alice", "s1")  # type: ignore[attr-defined]
    assert run is not None and session is not None
    return run.status, session.status


async def test_request_decide_and_settle(make_store: StoreFactory) -> None:
    async with make_store() as store:
        await waiting_run(store, lease_until=time.time() + 60)
        await store.request_approval(approval("c1"))
        await store.request_approval(approval("c2", arguments={"ü": [1, None]}))
        await store.request_approval(approval("c1", reason="again"))  # first row stands
        assert await statuses(store) == (RunStatus.WAITING, SessionStatus.WAITING)
        pending = await store.list_approvals("r1", pending_only=True)
        assert [(a.call_id, a.reason) for a in pending] == [
            ("c1", "tool 'send' requires approval"),
            ("c2", "tool 'send' requires approval"),
        ]
        assert pending[1].arguments == {"ü": [1, None]}

        decided = await store.decide_approval("r1", "c1", "reject", by="alice", reason="no")
        assert decided is not None and (decided.decision, decided.decided_by) == ("reject", "alice")
        assert decided.decision_reason == "no" and decided.decided_at is not None
        assert await store.decide_approval("r1", "c1", "approve", by="bob") is None
        assert await store.decide_approval("r1", "nope", "approve", by="bob") is None
        # One still pending: the run still waits.
        assert not await store.settle_approvals("r1", "s1")
        assert await statuses(store) == (RunStatus.WAITING, SessionStatus.WAITING)

        edited = await store.decide_approval(
            "r1", "c2", "edit", by="alice", arguments={"to": "carol", "amount": 1}
        )
        assert edited is not None and edited.edited_arguments == {"to": "carol", "amount": 1}
        assert await store.settle_approvals("r1", "s1")
        assert await statuses(store) == (RunStatus.RUNNING, SessionStatus.RUNNING)
        assert await store.list_approvals("r1", pending_only=True) == []
        assert len(await store.list_approvals("r1")) == 2

    async with make_store() as reopened:  # durable
        got = await reopened.get_approval("r1", "c1")
        assert got is not None and got.decision == "reject" and got.arguments["amount"] == 5


async def test_two_decisions_racing_one_wins(make_store: StoreFactory) -> None:
    async with make_store() as store:
        await waiting_run(store)
        await store.request_approval(approval())
        results = await asyncio.gather(
            *(store.decide_approval("r1", "c1", "approve", by=f"u{i}") for i in range(8))
        )
        assert sum(r is not None for r in results) == 1


async def test_recovery_leaves_a_waiting_run_and_one_claimant_takes_it(
    make_store: StoreFactory,
) -> None:
    async with make_store() as store:
        await waiting_run(store, lease_until=time.time() - 1)  # its owner died
        await store.request_approval(approval())
        assert await store.recover() == 0
        assert await statuses(store) == (RunStatus.WAITING, SessionStatus.WAITING)
        cleared = await store.get_run("s1", "r1")
        assert cleared is not None and cleared.lease_until is None  # claimable at once
        until = time.time() + 30
        claims = await asyncio.gather(
            store.claim_waiting_run("r1", "b", until), store.claim_waiting_run("r1", "c", until)
        )
        assert sorted(claims) == [False, True]
        # Claimed, its lease is live again: nobody else takes it.
        assert not await store.claim_waiting_run("r1", "d", until)
        run = await store.get_run("s1", "r1")
        assert run is not None and run.owner in ("b", "c")
        # The owner renews it while it waits, and lets go at shutdown.
        assert await store.renew_leases(["r1"], run.owner, until + 5) == 1
        await store.release_waiting_run("r1", run.owner)
        assert await store.claim_waiting_run("r1", "e", until)


async def test_a_live_owner_keeps_its_waiting_run(make_store: StoreFactory) -> None:
    async with make_store() as store:
        await waiting_run(store, lease_until=time.time() + 60)
        await store.request_approval(approval())
        assert not await store.claim_waiting_run("r1", "b", time.time() + 30)
        await store.release_waiting_run("r1", "someone-else")  # not its owner: no effect
        assert not await store.claim_waiting_run("r1", "b", time.time() + 30)


async def test_deleting_the_session_deletes_its_approvals(make_store: StoreFactory) -> None:
    async with make_store() as store:
        await waiting_run(store)
        await store.request_approval(approval())
        assert await store.delete_session("alice", "s1")
        assert await store.get_approval("r1", "c1") is None
