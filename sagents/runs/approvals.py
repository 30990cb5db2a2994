"""Human in the loop: a tool call waits for a person's decision.

A tool that needs approval (``ToolSpec.requires_approval``: ``@tool(
requires_approval=True)``, an MCP server's ``requires_approval`` key, or
``SAGE_SKILL_SCRIPTS_REQUIRE_APPROVAL`` for skill scripts) does not run when
the model calls it. The run records the pending call in the store (run and
session become ``waiting``), emits ``approval.requested`` and waits; a
decision taken through ``POST …/runs/{run_id}/approvals/{call_id}`` lets it
go on: ``approve`` runs the call, ``edit`` runs it with new arguments,
``reject`` gives the model the reason as the call's result.

The store is the source of truth. The decision is one conditional UPDATE
(the first decision wins, a second is refused), so it can be taken on any
replica: the waiting run is woken at once when the decision is taken in its
own process, and otherwise sees it at its next look at the store (every
``SAGE_APPROVAL_POLL_S``). No answer within ``SAGE_APPROVAL_TIMEOUT_S``
rejects the call (``by="timeout"``). While it waits, the run is alive: its
lease is renewed, and a cancel ends it at once.

When no process runs the waiting run any more (it was restarted, or died),
the decision resumes it: see ``sagents.resume``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Literal

from sagents.events import ApprovalRequested, ApprovalResolved, Emit, EventBase
from sagents.runs.local import SHUTDOWN_REASON
from sagents.runs.registry import SessionBusy
from sagents.settings import Settings
from sagents.skills.tools import SKILL_TOOL_NAMES
from sagents.store.protocol import Store
from sagents.store.records import ApprovalRecord, RunRecord, RunStatus, now
from sagents.tools.spec import ToolSpec

log = logging.getLogger(__name__)

Decision = Literal["approve", "reject", "edit"]
TIMEOUT_BY = "timeout"
TIMEOUT_REASON = "No one approved this call within {seconds:g} s, so it was not made."
REJECTED_RESULT = "Not called: the user rejected this call. Reason: {reason}"
"""The tool result the model reads for a rejected call."""
NO_REASON = "no reason given"
SKILL_SCRIPT_TOOL = SKILL_TOOL_NAMES[2]  # run_skill_script


def approval_reason(name: str, spec: ToolSpec | None, settings: Settings) -> str | None:
    """Why a call of ``name`` needs approval, or None when it does not."""
    if spec is not None and spec.requires_approval:
        where = f"MCP server {spec.origin!r}" if spec.origin else "its definition"
        return f"tool {name!r} requires approval ({where})"
    if name == SKILL_SCRIPT_TOOL and settings.skill_scripts_require_approval:
        return "skill scripts require approval (SAGE_SKILL_SCRIPTS_REQUIRE_APPROVAL)"
    return None


def rejection_text(approval: ApprovalRecord) -> str:
    return REJECTED_RESULT.format(reason=approval.decision_reason or NO_REASON)


async def refuse_if_waiting(store: Store, session_id: str) -> None:
    """A session whose run waits for an approval takes no new turn: the new
    one would interleave with the waiting run's history. A live waiting run
    holds the session's lock anyway; this covers one whose process stopped
    (the decision resumes it). Raises ``SessionBusy``."""
    for run in reversed(await store.list_runs(session_id)):
        if run.status is RunStatus.WAITING:
            raise SessionBusy(session_id, run.id)


async def suspend_waiting(store: Store, run_id: str, owner: str) -> None:
    """The server shuts down while the run waits for a decision: it stays
    ``waiting`` in the store, with no owner vouching for it, so the decision
    resumes it on whichever server receives it (``sagents.resume``)."""
    try:
        await asyncio.shield(store.release_waiting_run(run_id, owner))
    except Exception:
        log.exception("could not release waiting run %s", run_id)


class ApprovalGate:
    """Where runs wait for decisions, and where decisions are delivered.

    Owned by the Runtime. Holds only what is in flight in this process: the
    events that wake its waiting calls, and the tasks that adopt a waiting
    run whose owner is gone (``adopt``).
    """

    def __init__(self, store: Store, *, timeout_s: float, poll_s: float) -> None:
        self.store = store
        self.timeout_s = timeout_s
        self.poll_s = poll_s
        self._wakers: dict[tuple[str, str], asyncio.Event] = {}
        self._adopters: set[asyncio.Task[None]] = set()
        self._suspended: set[str] = set()
        self.flush: Callable[[], Awaitable[None]] | None = None
        """Writes the events logged so far (``RunJournal.flush``): called once
        a run starts waiting, so ``approval.requested`` is durable before the
        wait, which may outlive the process."""

    def waiting(self, run_id: str) -> bool:
        """Whether a call of ``run_id`` waits for a decision in this process:
        from the moment its request is stored until its decision is in."""
        return any(key[0] == run_id for key in self._wakers)

    def cancelling(self, run_id: str, reason: str | None) -> None:
        """A cancel of ``run_id`` was asked for (before its task sees it): a
        shutdown while it waits suspends it instead (``suspended``)."""
        if reason == SHUTDOWN_REASON and self.waiting(run_id):
            self._suspended.add(run_id)

    def suspended(self, run_id: str) -> bool:
        """Whether the cancel the run is handling is a suspension: it then
        stays ``waiting`` (``suspend_waiting``) and raises ``RunSuspended``."""
        if run_id in self._suspended:
            self._suspended.discard(run_id)
            return True
        return False

    async def wait(
        self,
        *,
        session_id: str,
        run_id: str,
        call_id: str,
        tool: str,
        arguments: Any,
        reason: str,
        emit: Emit | None,
        agent: str | None = None,
        announce: Callable[[float], EventBase] | None = None,
        parent_call_id: str | None = None,
    ) -> ApprovalRecord:
        """Wait for the decision on one call and return it (decided).

        ``announce(expires_at)`` builds the event that asks for it (default:
        ``approval.requested``; an MCP server's elicitation: ``input.requested``).
        A call already recorded (a resumed run waiting again) is not
        requested a second time: its first ``expires_at`` stands, and a
        decision already taken is returned at once.
        """
        key = (run_id, call_id)
        approval = await self.store.get_approval(run_id, call_id)
        try:
            if approval is None:
                approval = ApprovalRecord(
                    run_id=run_id,
                    call_id=call_id,
                    session_id=session_id,
                    tool=tool,
                    arguments=arguments,
                    reason=reason,
                    expires_at=now() + self.timeout_s,
                )
                await self.store.request_approval(approval)
                # Waiting from the moment the request is stored (``waiting``):
                # a shutdown during the flush below suspends the run, and a
                # decision taken here meanwhile wakes it.
                self._wakers.setdefault(key, asyncio.Event())
                if emit is not None:
                    asking = (
                        announce(approval.expires_at)
                        if announce is not None
                        else ApprovalRequested(
                            call_id=call_id,
                            tool=tool,
                            arguments=arguments,
                            reason=reason,
                            expires_at=approval.expires_at,
                        )
                    )
                    emit(asking, agent=agent, parent_call_id=parent_call_id)
                if self.flush is not None:
                    await self.flush()
            elif approval.pending:
                await self.store.request_approval(approval)  # waiting again (resumed)
                self._wakers.setdefault(key, asyncio.Event())
            decided = approval if not approval.pending else await self._decision(approval)
        finally:
            self._wakers.pop(key, None)  # the decision is in, or the wait was given up
        await self.store.settle_approvals(run_id, session_id)
        if emit is not None:
            emit(
                ApprovalResolved(
                    call_id=call_id,
                    decision=decided.decision,
                    by=decided.decided_by or "",
                    reason=decided.decision_reason,
                    arguments=decided.edited_arguments,
                ),
                agent=agent,
                parent_call_id=parent_call_id,
            )
        return decided

    async def _decision(self, approval: ApprovalRecord) -> ApprovalRecord:
        key = (approval.run_id, approval.call_id)
        woken = self._wakers.setdefault(key, asyncio.Event())
        try:
            while True:
                left = approval.expires_at - now()
                if left <= 0:
                    return await self.expire(approval)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(woken.wait(), min(self.poll_s, left))
                woken.clear()
                current = await self.store.get_approval(approval.run_id, approval.call_id)
                if current is not None and not current.pending:
                    return current
        finally:
            self._wakers.pop(key, None)

    async def expire(self, approval: ApprovalRecord) -> ApprovalRecord:
        """Reject on timeout, unless a decision won the race to the store;
        the decision that stands."""
        reason = TIMEOUT_REASON.format(seconds=self.timeout_s)
        decided = await self.store.decide_approval(
            approval.run_id, approval.call_id, "reject", by=TIMEOUT_BY, reason=reason
        )
        if decided is None:
            decided = await self.store.get_approval(approval.run_id, approval.call_id)
        else:
            self._wake(approval.run_id, approval.call_id)
        assert decided is not None and not decided.pending
        return decided

    def _wake(self, run_id: str, call_id: str) -> None:
        woken = self._wakers.get((run_id, call_id))
        if woken is not None:
            woken.set()

    async def decide(
        self,
        run_id: str,
        call_id: str,
        decision: Decision,
        *,
        by: str,
        arguments: Any = None,
        reason: str | None = None,
    ) -> ApprovalRecord | None:
        """Take a decision (None: already decided) and wake the call if it
        waits in this process; a waiting run elsewhere sees it in the store."""
        decided = await self.store.decide_approval(
            run_id, call_id, decision, by=by, arguments=arguments, reason=reason
        )
        if decided is not None:
            self._wake(run_id, call_id)
        return decided

    def adopt(
        self,
        run: RunRecord,
        owner: str,
        lease_until: Callable[[], float],
        resume: Callable[[], Coroutine[Any, Any, None]],
        *,
        for_s: float,
    ) -> None:
        """Make sure a decided waiting run goes on even if its owner is gone.

        Tries at once, then every ``poll_s`` for ``for_s`` (a lease: the
        longest a dead owner's lease can still stand): claim the run when
        nobody vouches for it and ``resume`` it here. A live owner renews its
        lease and sees the decision itself, and the run then leaves
        ``waiting``, which ends the attempts.
        """
        task = asyncio.create_task(
            self._adopt(run, owner, lease_until, resume, for_s), name=f"sage-adopt-{run.id}"
        )
        self._adopters.add(task)
        task.add_done_callback(self._adopters.discard)

    async def _adopt(
        self,
        run: RunRecord,
        owner: str,
        lease_until: Callable[[], float],
        resume: Callable[[], Coroutine[Any, Any, None]],
        for_s: float,
    ) -> None:
        deadline = now() + for_s + self.poll_s
        try:
            while True:
                if await self.store.claim_waiting_run(run.id, owner, lease_until()):
                    await resume()
                    return
                current = await self.store.get_run(run.session_id, run.id)
                if current is None or current.status is not RunStatus.WAITING:
                    return
                if now() > deadline:
                    log.warning("run %s waits, decided, and no process took it", run.id)
                    return
                await asyncio.sleep(self.poll_s)
        except Exception:
            log.exception("could not resume run %s after its decision", run.id)

    async def aclose(self) -> None:
        for task in list(self._adopters):
            task.cancel()
        for task in list(self._adopters):
            with contextlib.suppress(asyncio.CancelledError):
                await task
