"""The persistence contract. SQLite implements it by default, PostgreSQL
for several replicas (``SAGE_DATABASE_URL``); no agent notices which.

Every write a method makes is committed when the method returns (both
stores group the writes that wait at the same moment into one transaction,
``_writer``, without weakening that).

Every read that a client can trigger takes the ``user_id`` and returns
``None`` (not an error) for another user's rows, so the HTTP layer can answer
404 without learning that the row exists.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from sagents.store.records import (
    ApprovalRecord,
    MessageRecord,
    RunRecord,
    RunStatus,
    SessionRecord,
    SessionStatus,
    StoredEvent,
    TaskRecord,
)


class Store(Protocol):
    async def open(self) -> None:
        """Create the schema if needed and mark runs left ``running`` by a
        crash as ``interrupted`` (and their sessions too), giving each of
        their tool calls that has no result an "interrupted" one, so the
        history stays valid for the next request."""
        ...

    async def close(self) -> None: ...

    async def recover(self) -> int:
        """Mark runs whose lease has expired as ``interrupted``, as
        :meth:`open` does; the number marked. Called periodically, so a run
        whose process died is ended by whichever process notices first."""
        ...

    # sessions
    async def create_session(self, session: SessionRecord) -> None: ...

    async def get_session(self, user_id: str, session_id: str) -> SessionRecord | None: ...

    async def list_sessions(
        self, user_id: str, *, limit: int = 50, offset: int = 0
    ) -> tuple[list[SessionRecord], int]:
        """A page of the user's sessions, newest first, and the total count."""
        ...

    async def update_session(
        self, session_id: str, *, status: SessionStatus | None = None, title: str | None = None
    ) -> None: ...

    async def delete_session(self, user_id: str, session_id: str) -> bool:
        """Delete a session with its runs, messages and tasks; False if not the user's."""
        ...

    # runs
    async def create_run(self, run: RunRecord) -> None: ...

    async def finish_run(
        self,
        run_id: str,
        status: RunStatus,
        *,
        error: str | None = None,
        answer: str | None = None,
        input_tokens: int = 0,
        output_tokens: int = 0,
    ) -> None: ...

    async def get_run(self, session_id: str, run_id: str) -> RunRecord | None: ...

    async def list_runs(self, session_id: str) -> list[RunRecord]: ...

    async def begin_run(
        self, run: RunRecord, user_message: MessageRecord, *, new_session: SessionRecord | None
    ) -> None:
        """Start a run in one transaction: create the session (when new),
        create the run, mark the session running and commit the user's
        message. A crash leaves either all of it or none."""
        ...

    async def end_run(
        self,
        run_id: str,
        status: RunStatus,
        *,
        session_id: str,
        session_status: SessionStatus,
        messages: list[MessageRecord] | None = None,
        error: str | None = None,
        answer: str | None = None,
        input_tokens: int = 0,
        output_tokens: int = 0,
        events: Sequence[StoredEvent] = (),
        floors: dict[str, int] | None = None,
    ) -> None:
        """End a run in one transaction: commit its last ``messages`` (partial
        output of a stopped run), record how it ended, set the session's
        status and append ``events`` to the event log (with ``floors`` as in
        :meth:`append_events`): the run journal's pending events and the
        run's terminal event, so the end of a run is one commit, not two."""
        ...

    # messages
    async def add_messages(self, messages: list[MessageRecord]) -> None:
        """Commit completed messages durably (they survive a kill -9) before
        returning, all or none of them."""
        ...

    async def list_messages(self, session_id: str) -> list[MessageRecord]:
        """All messages of a session in the order they were added."""
        ...

    # the durable event log and run leases
    async def append_events(
        self, events: list[StoredEvent], floors: dict[str, int] | None = None
    ) -> None:
        """Append a batch of events (several runs' at once) in one
        transaction; a ``seq`` already stored keeps its first row. ``floors``
        maps a run to the first ``seq`` it keeps: older events are deleted
        (the run's log passed ``SAGE_RUN_LOG_MAX_BYTES``)."""
        ...

    async def read_events(
        self, run_id: str, after_seq: int = 0, limit: int = 1000
    ) -> list[StoredEvent]:
        """The run's stored events with ``seq > after_seq``, in order."""
        ...

    async def event_bounds(self, run_id: str) -> tuple[int, int] | None:
        """(first, last) stored ``seq`` of the run; None when none is stored."""
        ...

    async def renew_leases(self, run_ids: list[str], owner: str, until: float) -> int:
        """Extend the leases of ``owner``'s running runs to ``until``; how
        many were still running (and so renewed)."""
        ...

    # tasks
    async def upsert_task(self, task: TaskRecord) -> None: ...

    async def list_tasks(self, session_id: str) -> list[TaskRecord]: ...

    # approvals (tool calls waiting for a person; sagents/runs/approvals.py)
    async def request_approval(self, approval: ApprovalRecord) -> None:
        """Record a pending call and mark its run and session ``waiting``, in
        one transaction; a call already recorded keeps its first row."""
        ...

    async def decide_approval(
        self,
        run_id: str,
        call_id: str,
        decision: str,
        *,
        by: str,
        arguments: Any = None,
        reason: str | None = None,
    ) -> ApprovalRecord | None:
        """Take the decision unless one was taken; the decided row, or None
        when the call is unknown or was already decided (the first wins)."""
        ...

    async def get_approval(self, run_id: str, call_id: str) -> ApprovalRecord | None: ...

    async def list_approvals(
        self, run_id: str, *, pending_only: bool = False
    ) -> list[ApprovalRecord]:
        """The run's approvals in the order they were requested."""
        ...

    async def settle_approvals(self, run_id: str, session_id: str) -> bool:
        """Back to ``running`` (run and session) once no approval of the run
        is pending; whether the run changed."""
        ...

    async def claim_waiting_run(self, run_id: str, owner: str, until: float) -> bool:
        """Become the owner of a waiting run nobody vouches for (its lease
        expired or was released); False if it has a live owner or is not
        waiting. One claimant wins."""
        ...

    async def release_waiting_run(self, run_id: str, owner: str) -> None:
        """Stop vouching for a waiting run (shutdown): it stays ``waiting``."""
        ...
